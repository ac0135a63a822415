"""``model.search`` for Keras networks: Optuna over the space, each trial scored on the validation split.

A network trains once per trial (not once per fold: refitting a network k times per trial buys little
on top of early stopping, and costs k times the time), on the training rows, and is scored with the
primary metric on the validation split (``data.split.validation``). Without a validation split the
trial holds out the first fold of the cross-validation the spec describes (``model.search.cv`` /
``data.split.folds``, following the split's groups and time order) and scores on it. The sampler
(grid / random / TPE, seeded), the scorers, the recorded trials and the best-trial rule (the first
trial with the best score) are those of ``aispec.runtime.search``.

Pruning: after each epoch a trial reports its validation loss to Optuna's
``MedianPruner`` (from the fourth trial on, after 5 epochs); a trial whose loss is worse than the
median of the earlier trials at the same epoch stops there and is recorded as ``pruned``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...api import SearchRequest
from ...errors import ConfigError
from ...search import SearchResult, _sampler, get_scorer, grid_size, quiet, suggest

__all__ = ["KerasSearchResult", "search_on_validation"]


@dataclass(slots=True)
class KerasSearchResult(SearchResult):
    """A search result that says how trials were scored (``validation``, shown in the report)."""

    validation: str = ""
    n_pruned: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {**SearchResult.to_dict(self), "validation": self.validation, "n_pruned": self.n_pruned}


def _holdout(X: Any, y: Any, cv: Any) -> tuple[Any, Any, Any, Any, str]:
    """The first fold of ``cv`` as (X_train, y_train, X_val, y_val, description)."""
    import numpy as np

    pairs = cv if isinstance(cv, list) else list(cv.split(X, y, None))
    train_idx, val_idx = pairs[0]
    take = (lambda v, i: v.iloc[i]) if hasattr(X, "iloc") else (lambda v, i: np.asarray(v)[i])
    y_take = (lambda v, i: v.iloc[i]) if hasattr(y, "iloc") else (lambda v, i: np.asarray(v)[i])
    name = type(cv).__name__ if not isinstance(cv, list) else "the group folds"
    return (take(X, train_idx), y_take(y, train_idx), take(X, val_idx), y_take(y, val_idx),
            f"one hold-out fold of {name} ({len(val_idx)} training rows, no validation split)")


def search_on_validation(make: Callable[[dict[str, Any]], Any], X: Any, y: Any,
                         request: SearchRequest) -> KerasSearchResult:
    """Search ``request.space`` (see the module docstring)."""
    import numpy as np
    import optuna

    from .callbacks import PruneTrial

    if request.trials < 1:
        raise ConfigError(f"search needs at least one trial, not {request.trials}")
    if request.validation is not None:
        X_fit, y_fit = X, y
        X_val, y_val = request.validation
        how = f"the validation split ({len(X_val)} rows), one fit per trial"
    else:
        X_fit, y_fit, X_val, y_val, how = _holdout(X, y, request.cv)
    grid = request.method == "grid"
    size = grid_size(request.space) if grid else None
    scorer = get_scorer(request.scoring, y=y_fit, positive_class=request.positive_class)
    records: list[dict[str, Any]] = []

    def objective(trial: Any) -> float:
        started = time.perf_counter()
        params = suggest(trial, request.space, grid=grid)
        record: dict[str, Any] = {"number": trial.number, "params": params, "score": None, "score_std": None,
                                  "duration_s": 0.0, "state": "failed", "error": None}
        records.append(record)
        try:
            pipeline = make(dict(params))
            # the validation loss, pointed the study's way: negated when the study maximises its metric
            pruning = PruneTrial(trial, "val_loss", -1.0 if request.greater_is_better else 1.0)
            pipeline.fit(X_fit, y_fit, validation=(X_val, y_val), callbacks=[pruning])
            if pruning.pruned_at is not None:
                record.update(state="pruned", duration_s=time.perf_counter() - started,
                              error=f"pruned after epoch {pruning.pruned_at}")
                raise optuna.TrialPruned()
            score = float(scorer(pipeline, X_val, y_val))
            if not np.isfinite(score):
                raise ValueError(f"the {request.scoring} score is not a finite number: {score}")
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
            record["duration_s"] = time.perf_counter() - started
            raise
        record.update(score=score, state="complete", duration_s=time.perf_counter() - started)
        return score

    started = time.perf_counter()
    with quiet():
        study = optuna.create_study(direction="maximize" if request.greater_is_better else "minimize",
                                    sampler=_sampler(request.method, request.space, request.seed),
                                    pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=5))
        n_trials = min(request.trials, size) if size is not None else request.trials
        study.optimize(objective, n_trials=n_trials, timeout=request.timeout_s, catch=(Exception,),
                       gc_after_trial=False, show_progress_bar=False)
    elapsed = time.perf_counter() - started

    complete = [r for r in records if r["state"] == "complete"]
    if not complete:
        first = next((r["error"] for r in records if r["state"] == "failed"), None) or "every trial was pruned"
        raise ConfigError(f"none of the {len(records)} search trials completed; the first error: {first}",
                          hint="check the model parameters and the search space")
    best = complete[0]
    for record in complete[1:]:  # the first trial with the best score, as aispec.runtime.search picks it
        better = record["score"] > best["score"] if request.greater_is_better else record["score"] < best["score"]
        if better:
            best = record
    return KerasSearchResult(best_params=dict(best["params"]), best_score=float(best["score"]), trials=records,
                             n_trials=len(records), elapsed_s=elapsed, method=request.method,
                             scoring=request.scoring, greater_is_better=request.greater_is_better,
                             n_failed=sum(1 for r in records if r["state"] == "failed"), grid_size=size,
                             validation=how, n_pruned=sum(1 for r in records if r["state"] == "pruned"))
