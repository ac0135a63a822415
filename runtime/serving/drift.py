"""Data drift over a sliding window of served rows, against the training reference in ``serving.json``.

The service records every row it scores (``O(features)``: one write into numpy ring buffers); a
report compares the last ``window`` rows with the reference:

* PSI (population stability index) for numeric columns over the reference's decile bins plus a
  "missing" bin, and for categorical / boolean columns over the reference's categories plus
  "other" (a value never seen in training) and "missing". Proportions are floored at 1e-4.
  ``PSI = sum((live - ref) * ln(live / ref))``; 0.1-0.2 is a moderate, above 0.2 a large shift.
* KS (two-sample Kolmogorov-Smirnov statistic ``D`` and its asymptotic p-value) for numeric
  columns, against the reference sample.

``method`` (``monitoring.drift.method``) picks which numeric statistic counts: ``psi``, ``ks`` or
``both``; categorical columns always use PSI (KS needs an order). A feature is *drifted* when a
counted statistic exceeds ``threshold`` and the window holds at least ``min_rows`` rows
(``min(window, 200)`` by default: PSI on fewer rows is mostly noise). Text columns are not tracked.

Not thread-safe: the service calls it from its event loop only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypedDict

import numpy as np
from numpy.typing import NDArray

from .contract import ColumnContract

__all__ = ["DriftMonitor", "FeatureDrift", "ks_2samp", "psi"]

EPS = 1e-4


class FeatureDrift(TypedDict):
    type: str
    rows: int
    psi: float | None
    ks: float | None
    ks_p_value: float | None
    drifted: bool


def psi(reference: NDArray[Any], live: NDArray[Any]) -> float:
    """Population stability index of two count vectors over the same bins."""
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(live, dtype=np.float64)
    if ref.sum() <= 0 or cur.sum() <= 0:
        return 0.0
    p = np.maximum(ref / ref.sum(), EPS)
    q = np.maximum(cur / cur.sum(), EPS)
    return float(np.sum((q - p) * np.log(q / p)))


def _kolmogorov_sf(x: float) -> float:
    """P(K > x) for the Kolmogorov distribution (asymptotic series)."""
    if x <= 0:
        return 1.0
    if x < 0.2:
        return 1.0
    total = 0.0
    for k in range(1, 101):
        term = 2.0 * (-1) ** (k - 1) * math.exp(-2.0 * k * k * x * x)
        total += term
        if abs(term) < 1e-12:
            break
    return min(1.0, max(0.0, total))


def ks_2samp(a: NDArray[Any], b: NDArray[Any]) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and asymptotic p-value (like ``scipy.stats.ks_2samp``, mode asymp)."""
    x = np.sort(np.asarray(a, dtype=np.float64))
    y = np.sort(np.asarray(b, dtype=np.float64))
    n, m = x.size, y.size
    if n == 0 or m == 0:
        return 0.0, 1.0
    points = np.concatenate([x, y])
    cdf_x = np.searchsorted(x, points, side="right") / n
    cdf_y = np.searchsorted(y, points, side="right") / m
    d = float(np.max(np.abs(cdf_x - cdf_y)))
    en = math.sqrt(n * m / (n + m))
    return d, _kolmogorov_sf((en + 0.12 + 0.11 / en) * d)


class DriftMonitor:
    """Ring buffers of the last ``window`` rows and the reference to compare them with."""

    def __init__(self, columns: Sequence[ColumnContract], *, method: str = "psi", threshold: float = 0.2,
                 window: int = 1000, min_rows: int | None = None) -> None:
        if window < 1:
            raise ValueError("the drift window must hold at least one row")
        self.method = method
        self.threshold = float(threshold)
        self.window = int(window)
        self.min_rows = int(min_rows) if min_rows is not None else min(self.window, 200)
        self.numeric: list[str] = []
        self.categorical: list[str] = []
        self._edges: list[NDArray[np.float64]] = []
        self._ref_num: list[NDArray[np.float64]] = []  # counts per bin + missing
        self._samples: list[NDArray[np.float64]] = []
        self._codes: list[dict[str, int]] = []
        self._ref_cat: list[NDArray[np.float64]] = []  # counts per category + other + missing
        for column in columns:
            ref = column["reference"]
            if ref is None:
                continue
            if ref["kind"] == "numeric":
                self.numeric.append(column["name"])
                edges = np.asarray(ref["edges"], dtype=np.float64)
                self._edges.append(edges[1:-1].copy())
                self._ref_num.append(np.asarray([*ref["counts"], ref["missing"]], dtype=np.float64))
                self._samples.append(np.sort(np.asarray(ref["sample"], dtype=np.float64)))
            else:
                self.categorical.append(column["name"])
                cats = list(ref["frequencies"])
                self._codes.append({c: i for i, c in enumerate(cats)})
                self._ref_cat.append(np.asarray([*ref["frequencies"].values(), 0, ref["missing"]],
                                                dtype=np.float64))
        self._num = np.full((self.window, len(self.numeric)), np.nan)
        self._cat = np.zeros((self.window, len(self.categorical)), dtype=np.int32)
        self._pos = 0
        self.seen = 0  # rows recorded since start

    # ------------------------------------------------------------------ recording

    def code(self, index: int, text: str) -> int:
        """The bin of categorical column ``index`` for ``text`` ("" = missing)."""
        codes = self._codes[index]
        if text == "":
            return len(codes) + 1
        return codes.get(text, len(codes))

    def code_map(self, index: int) -> dict[str, int]:
        """Known values of categorical column ``index`` -> bin (look-ups miss for "other" and "")."""
        return self._codes[index]

    def update(self, numeric: Sequence[float], codes: Sequence[int]) -> None:
        """Record one row: numeric values (NaN = missing) and categorical bins, in column order."""
        pos = self._pos
        if self.numeric:
            self._num[pos] = numeric
        if self.categorical:
            self._cat[pos] = codes
        self._pos = pos + 1 if pos + 1 < self.window else 0
        self.seen += 1

    def update_many(self, numeric: NDArray[Any] | None, codes: NDArray[Any] | None, n: int) -> None:
        """Record ``n`` rows: ``numeric`` ``(n, n_numeric)``, ``codes`` ``(n, n_categorical)``."""
        if n <= 0:
            return
        if n > self.window:  # only the last `window` rows matter
            numeric = numeric[-self.window:] if numeric is not None else None
            codes = codes[-self.window:] if codes is not None else None
            self.seen += n - self.window
            n = self.window
        first = min(n, self.window - self._pos)
        for buffer, data in ((self._num, numeric), (self._cat, codes)):
            if data is None or buffer.shape[1] == 0:
                continue
            buffer[self._pos:self._pos + first] = data[:first]
            if n > first:
                buffer[:n - first] = data[first:n]
        self._pos = (self._pos + n) % self.window
        self.seen += n

    # ------------------------------------------------------------------- reporting

    @property
    def rows(self) -> int:
        return min(self.seen, self.window)

    def _flag(self, scores: Sequence[float | None]) -> bool:
        return self.rows >= self.min_rows and any(s is not None and s > self.threshold for s in scores)

    def features(self) -> dict[str, FeatureDrift]:
        """Drift of every tracked feature over the current window."""
        rows = self.rows
        out: dict[str, FeatureDrift] = {}
        use_psi = self.method in ("psi", "both")
        use_ks = self.method in ("ks", "both")
        for j, name in enumerate(self.numeric):
            values = self._num[:rows, j]
            present = values[~np.isnan(values)]
            p_value: float | None = None
            psi_value: float | None = None
            ks_value: float | None = None
            if rows:
                edges = self._edges[j]
                counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=edges.size + 1)
                live = np.append(counts.astype(np.float64), float(rows - present.size))
                psi_value = psi(self._ref_num[j], live) if use_psi else None
                if use_ks:
                    ks_value, p_value = ks_2samp(self._samples[j], present)
            counted = [psi_value if use_psi else None, ks_value if use_ks else None]
            out[name] = FeatureDrift(type="numeric", rows=rows, psi=_round(psi_value), ks=_round(ks_value),
                                     ks_p_value=_round(p_value), drifted=self._flag(counted))
        for j, name in enumerate(self.categorical):
            value: float | None = None
            if rows:
                ref = self._ref_cat[j]
                live = np.bincount(self._cat[:rows, j], minlength=ref.size).astype(np.float64)
                value = psi(ref, live)
            out[name] = FeatureDrift(type="categorical", rows=rows, psi=_round(value), ks=None, ks_p_value=None,
                                     drifted=self._flag([value]))
        return out

    def report(self) -> dict[str, Any]:
        """``/v1/monitoring``'s drift section."""
        features = self.features()
        return {
            "enabled": True, "method": self.method, "threshold": self.threshold, "window": self.window,
            "rows": self.rows, "seen": self.seen, "min_rows": self.min_rows,
            "enough_rows": self.rows >= self.min_rows,
            "drifted": [name for name, f in features.items() if f["drifted"]],
            "features": features,
        }


def _round(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 6)
