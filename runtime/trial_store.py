"""``checkpoints/search.json``: the trials a search has finished, written after each one, so that ``--resume``
keeps what an interrupted search had done (its runner hands them back to Optuna) and runs only the rest.

One store for every search — a network's (``backends/torch/search.py``, also Keras's) and the
cross-validated scikit-learn one (``search.py``) — stamped with a fingerprint of what the search is
(space, method, trials, seed, metric, the rows it reads): a store written for another search, or for other
data, is not used.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["STORE", "TrialStore", "data_digest", "fingerprint", "search_stamp"]

STORE = "search.json"


class TrialStore:
    """The finished trials of one search in ``folder/search.json`` (no folder: nothing is kept)."""

    def __init__(self, folder: Path | None, stamp: Callable[[], str]) -> None:
        self.path = Path(folder) / STORE if folder is not None else None
        self._make_stamp = stamp  # called once, and only with a folder: it hashes every row searched
        self._stamp: str | None = None

    @property
    def stamp(self) -> str:
        if self._stamp is None:
            self._stamp = self._make_stamp()
        return self._stamp

    def _saved(self) -> dict[str, Any] | None:
        if self.path is None or not self.path.exists():
            return None
        saved: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        return saved if saved.get("fingerprint") == self.stamp else None

    def load(self) -> list[dict[str, Any]]:
        """The finished trials of this very search, or none (no store, or one of another search)."""
        saved = self._saved()
        return list(saved["trials"]) if saved is not None else []

    def elapsed(self) -> float:
        """The search time the saved trials took (a resumed search's time budget counts it)."""
        saved = self._saved()
        return float(saved.get("elapsed_s", 0.0)) if saved is not None else 0.0

    def save(self, trials: list[dict[str, Any]], elapsed: float) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"fingerprint": self.stamp, "elapsed_s": elapsed, "trials": trials},
                                  default=str), encoding="utf-8")
        os.replace(tmp, self.path)  # never half a file: an interruption leaves the previous one


def fingerprint(*parts: Any) -> str:
    """A digest of what a run trains (numbers as text, arrays by their bytes)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.tobytes() if hasattr(part, "tobytes") else repr(part).encode()
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:32]


def data_digest(values: Any) -> Any:
    """The row hashes of a frame or a sequence of labels; a column of images (arrays) by their pixels."""
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    if not hasattr(values, "columns"):
        return pd.util.hash_pandas_object(pd.Series(list(map(str, values))), index=False).to_numpy()
    plain = [c for c in values.columns if not any(isinstance(v, np.ndarray) for v in values[c].head(1))]
    parts = [pd.util.hash_pandas_object(values[plain], index=False).to_numpy()] if plain else []
    for column in values.columns:
        if column not in plain:  # arrays are unhashable for pandas: one digest of every array's bytes
            digest = hashlib.sha256(b"".join(np.ascontiguousarray(v).tobytes() for v in values[column]))
            parts.append(np.frombuffer(digest.digest(), dtype=np.uint64))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


def search_stamp(space: Mapping[str, Any], method: str, trials: int, seed: int, scoring: str, *frames: Any,
                 extra: tuple[Any, ...] = ()) -> str:
    """The fingerprint of one search: its space, method, trials, seed and metric, ``extra`` (what else decides
    its scores, e.g. the folds) and the rows of ``frames``."""
    data = [data_digest(f) for f in frames]
    return fingerprint(sorted((k, repr(v)) for k, v in space.items()), method, trials, seed, scoring, *extra, *data)
