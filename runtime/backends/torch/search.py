"""Optuna search for a network: each trial trains on the training split and is scored on the validation
split (the spec's ``data.split.validation``; without one, the first fold of the cross-validation the
scikit-learn search would use), reporting the primary metric after every epoch so that ``MedianPruner``
stops a trial that falls below the median of the earlier trials at the same epoch.

Samplers, the space's encoding and the best-trial rule are the scikit-learn search's
(:mod:`aispec.runtime.search`): the best trial is the first complete one with the best score.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ...errors import ConfigError

__all__ = ["search_networks"]

STORE = "search.json"


class _Store:
    """``checkpoints/search.json``: every finished trial, written after each one, so that ``--resume`` keeps
    the trials an interrupted search had done (Optuna is handed them back) and runs only the rest."""

    def __init__(self, folder: Path | None, stamp: str) -> None:
        self.path = Path(folder) / STORE if folder is not None else None
        self.stamp = stamp

    def load(self) -> list[dict[str, Any]]:
        if self.path is None or not self.path.exists():
            return []
        saved = json.loads(self.path.read_text(encoding="utf-8"))
        return list(saved["trials"]) if saved.get("fingerprint") == self.stamp else []

    def save(self, trials: list[dict[str, Any]], elapsed: float) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"fingerprint": self.stamp, "elapsed_s": elapsed, "trials": trials},
                                  default=str), encoding="utf-8")
        os.replace(tmp, self.path)


def _frozen(trial: Any, record: Mapping[str, Any]) -> dict[str, Any]:
    """A finished Optuna trial as JSON: what ``optuna.trial.create_trial`` needs, and our record of it."""
    from optuna.distributions import distribution_to_json

    return {"record": dict(record), "params": trial.params, "state": trial.state.name, "value": trial.value,
            "distributions": {k: distribution_to_json(d) for k, d in trial.distributions.items()},
            "intermediate": {str(k): v for k, v in trial.intermediate_values.items()}}


def _restored(saved: Mapping[str, Any]) -> Any:
    import optuna
    from optuna.distributions import json_to_distribution

    return optuna.trial.create_trial(
        params=saved["params"], state=optuna.trial.TrialState[saved["state"]], value=saved["value"],
        distributions={k: json_to_distribution(d) for k, d in saved["distributions"].items()},
        intermediate_values={int(k): v for k, v in saved["intermediate"].items()})


def _digest(values: Any) -> Any:
    """The row hashes of a frame or a sequence of labels; a column of images (arrays) by their pixels."""
    import hashlib

    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]

    if not hasattr(values, "columns"):
        return pd.util.hash_pandas_object(pd.Series(list(map(str, values))), index=False).to_numpy()
    plain = [c for c in values.columns if not any(isinstance(v, np.ndarray) for v in values[c].head(1))]
    parts = [pd.util.hash_pandas_object(values[plain], index=False).to_numpy()] if plain else []
    for column in values.columns:
        if column not in plain:  # arrays are unhashable for pandas: one digest of every array's bytes
            digest = hashlib.sha256(b"".join(np.ascontiguousarray(v).tobytes() for v in values[column]))
            parts.append(np.frombuffer(digest.digest(), dtype=np.uint64))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


def _stamp(request: Any, *frames: Any) -> str:
    from .loop import fingerprint

    data = [_digest(f) for f in frames]
    return fingerprint(sorted((k, repr(v)) for k, v in request.space.items()), request.method, request.trials,
                       request.seed, request.scoring, *data)


def _validation_rows(X: Any, y: Any, validation: Any, cv: Any) -> tuple[Any, Any, Any, Any, str]:
    """(X_train, y_train, X_val, y_val, what the validation rows are)."""
    import numpy as np

    if validation is not None and validation[0] is not None and len(validation[0]):
        return X, y, validation[0], validation[1], "the validation split"
    pairs = cv.split(X, y) if hasattr(cv, "split") else iter(cv)
    train, held = next(iter(pairs))
    train, held = np.asarray(train), np.asarray(held)
    y_arr = y.iloc if hasattr(y, "iloc") else np.asarray(y)
    return (X.iloc[train], y_arr[train], X.iloc[held], y_arr[held],
            "the first cross-validation fold of the training split (data.split.validation is 0)")


def search_networks(make: Callable[[dict[str, Any]], Any], X: Any, y: Any, request: Any,
                    fit: Callable[[Any, Any, Any, Any, Callable[[int, Mapping[str, float]], None]], Any]) -> Any:
    """Search ``request.space``; ``fit(estimator, X, y, validation, on_epoch)`` trains one trial's estimator.
    Returns a ``search.SearchResult`` whose trials are ``complete``, ``pruned`` (with the epoch) or ``failed``."""
    import numpy as np
    import optuna

    from ...search import SearchResult, _sampler, get_scorer, grid_size, quiet, suggest

    if request.trials < 1:
        raise ConfigError(f"search needs at least one trial, not {request.trials}")
    X_fit, y_fit, X_val, y_val, where = _validation_rows(X, y, request.validation, request.cv)
    grid = request.method == "grid"
    size = grid_size(request.space) if grid else None
    scorer = get_scorer(request.scoring, y=y_fit, positive_class=request.positive_class)
    reported = f"val_{request.scoring}"
    records: list[dict[str, Any]] = []
    fatal: list[ConfigError] = []
    store = _Store(getattr(request, "checkpoint_dir", None), _stamp(request, X_fit, y_fit, X_val, y_val))
    done = store.load() if getattr(request, "resume", False) else []
    finished: list[dict[str, Any]] = []

    def objective(trial: Any) -> float:
        started = time.perf_counter()
        params = suggest(trial, request.space, grid=grid)
        record: dict[str, Any] = {"number": trial.number, "params": params, "score": None, "score_std": None,
                                  "duration_s": 0.0, "state": "failed", "error": None, "pruned_at": None,
                                  "per_epoch": []}
        records.append(record)

        def on_epoch(epoch: int, logs: Mapping[str, float]) -> None:
            value = logs.get(reported)
            if value is None or not np.isfinite(value):
                return
            trial.report(float(value), epoch)
            record["per_epoch"].append(float(value))
            if trial.should_prune():
                record["pruned_at"] = epoch + 1
                raise optuna.TrialPruned(f"{request.scoring} {value:.4g} after epoch {epoch + 1}")

        try:
            estimator = make(dict(params))
            fit(estimator, X_fit, y_fit, (X_val, y_val), on_epoch)
            score = float(scorer(estimator, X_val, y_val))
            if not np.isfinite(score):
                raise ValueError(f"the {request.scoring} score is not a finite number: {score}")
        except optuna.TrialPruned:
            record.update(state="pruned", duration_s=time.perf_counter() - started)
            raise
        except ConfigError as exc:  # a setting no trial can use: stop, the run reports it with the spec line
            fatal.append(exc)
            trial.study.stop()
            raise
        except Exception as exc:
            record.update(error=f"{type(exc).__name__}: {exc}", duration_s=time.perf_counter() - started)
            raise
        record.update(score=score, score_std=0.0, state="complete", duration_s=time.perf_counter() - started)
        return score

    started = time.perf_counter()
    before = 0.0

    def keep(study: Any, trial: Any) -> None:  # after every trial: what --resume starts from
        if records and records[-1]["number"] == trial.number and not fatal:
            finished.append(_frozen(trial, records[-1]))
            store.save(finished, before + time.perf_counter() - started)

    with quiet():
        study = optuna.create_study(direction="maximize" if request.greater_is_better else "minimize",
                                    sampler=_sampler(request.method, request.space, request.seed),
                                    pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2))
        for saved in done:  # --resume: the trials an interrupted search finished count, and are not rerun
            study.add_trial(_restored(saved))
            records.append(dict(saved["record"]))
            finished.append(saved)
        if done and store.path is not None:
            before = float(json.loads(store.path.read_text(encoding="utf-8")).get("elapsed_s", 0.0))
        n_trials = min(request.trials, size) if size is not None else request.trials
        remaining = n_trials - len(done)
        timeout = None if request.timeout_s is None else max(0.0, request.timeout_s - before)
        if remaining > 0 and (timeout is None or timeout > 0):
            study.optimize(objective, n_trials=remaining, timeout=timeout, catch=(Exception,),
                           callbacks=[keep], gc_after_trial=False, show_progress_bar=False)
    if fatal:
        raise fatal[0]
    elapsed = before + time.perf_counter() - started
    complete = [r for r in records if r["state"] == "complete"]
    if not complete:
        first = next((r["error"] for r in records if r["error"]), "every trial was pruned")
        raise ConfigError(f"no search trial completed ({len(records)} tried); the first error: {first}",
                          hint="check the model parameters and the search space")
    best = complete[0]
    for record in complete[1:]:
        better = record["score"] > best["score"] if request.greater_is_better else record["score"] < best["score"]
        if better:
            best = record
    return SearchResult(best_params=dict(best["params"]), best_score=float(best["score"]), trials=records,
                        n_trials=len(records), elapsed_s=elapsed, method=request.method, scoring=request.scoring,
                        greater_is_better=request.greater_is_better,
                        n_failed=sum(1 for r in records if r["state"] == "failed"), grid_size=size, validation=where)
