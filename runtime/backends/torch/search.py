"""Optuna search for a network: each trial trains on the training split and is scored on the validation
split (the spec's ``data.split.validation``; without one, the first fold of the cross-validation the
scikit-learn search would use), reporting the primary metric after every epoch so that ``MedianPruner``
stops a trial that falls below the median of the earlier trials at the same epoch.

Samplers, the space's encoding and the best-trial rule are the scikit-learn search's
(:mod:`aispec.runtime.search`): the best trial is the first complete one with the best score.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ...errors import ConfigError
from ...trial_store import TrialStore, search_stamp

__all__ = ["search_networks"]

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
    Returns a ``search.SearchResult`` whose trials are ``complete``, ``pruned`` (with the epoch) or ``failed``.
    ``request.runner`` (an ``aispec.runtime.trials.TrialRunner``) runs the trials; default: this process."""
    import numpy as np

    from ...search import SearchResult, get_scorer, grid_size, quiet
    from ...trials import LocalRunner, Study, best_record

    if request.trials < 1:
        raise ConfigError(f"search needs at least one trial, not {request.trials}")
    X_fit, y_fit, X_val, y_val, where = _validation_rows(X, y, request.validation, request.cv)
    grid = request.method == "grid"
    size = grid_size(request.space) if grid else None
    scorer = get_scorer(request.scoring, y=y_fit, positive_class=request.positive_class)
    reported = f"val_{request.scoring}"
    store = TrialStore(getattr(request, "checkpoint_dir", None),
                       lambda: search_stamp(request.space, request.method, request.trials, request.seed,
                                            request.scoring, X_fit, y_fit, X_val, y_val))
    done = store.load() if getattr(request, "resume", False) else []
    finished: list[dict[str, Any]] = list(done)

    def evaluate(params: dict[str, Any], record: dict[str, Any], report: Callable[[float, int], None]) -> float:
        record.update(pruned_at=None, per_epoch=[])

        def on_epoch(epoch: int, logs: Mapping[str, float]) -> None:
            value = logs.get(reported)
            if value is None or not np.isfinite(value):
                return
            record["per_epoch"].append(float(value))
            record["pruned_at"] = epoch + 1  # kept only when the report below prunes the trial
            report(float(value), epoch)
            record["pruned_at"] = None

        estimator = make(dict(params))
        fit(estimator, X_fit, y_fit, (X_val, y_val), on_epoch)
        score = float(scorer(estimator, X_val, y_val))
        if not np.isfinite(score):
            raise ValueError(f"the {request.scoring} score is not a finite number: {score}")
        record["score_std"] = 0.0
        return score

    started = time.perf_counter()
    before = float(store.elapsed()) if done else 0.0

    def keep(trial: dict[str, Any]) -> None:  # after every trial: what --resume starts from
        finished.append(trial)
        store.save(finished, before + time.perf_counter() - started)

    n_trials = min(request.trials, size) if size is not None else request.trials
    timeout = None if request.timeout_s is None else max(0.0, request.timeout_s - before)
    study = Study(space=request.space, method=request.method, seed=request.seed, n_trials=n_trials,
                  timeout_s=timeout, greater_is_better=request.greater_is_better, prune=True,
                  fatal_config_errors=True)
    with quiet():
        records = (getattr(request, "runner", None) or LocalRunner()).run(study, evaluate, restored=done,
                                                                          on_finished=keep)
    elapsed = before + time.perf_counter() - started
    best = best_record(records, request.greater_is_better)
    if best is None:
        first = next((r["error"] for r in records if r["error"]), "every trial was pruned")
        raise ConfigError(f"no search trial completed ({len(records)} tried); the first error: {first}",
                          hint="check the model parameters and the search space")
    return SearchResult(best_params=dict(best["params"]), best_score=float(best["score"]), trials=records,
                        n_trials=len(records), elapsed_s=elapsed, method=request.method, scoring=request.scoring,
                        greater_is_better=request.greater_is_better,
                        n_failed=sum(1 for r in records if r["state"] == "failed"), grid_size=size, validation=where)
