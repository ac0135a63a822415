"""Rolling-origin evaluation of forecasters, never shuffled.

- :func:`test_origins`: the test split is forecast from origins ``n_train, n_train + horizon, ...``: each
  forecast reads the real observations before its origin (as a client posts them to the service) and
  covers the next ``horizon`` steps, so every test step is forecast exactly once (the last window may be
  shorter).
- :func:`backtest`: model selection on the training part only: ``folds`` origins, the last one
  ``horizon`` steps before the end of the training part, each ``horizon`` steps apart; at each origin
  the forecaster is fitted on everything before it and scored on the next ``horizon`` steps; the score
  is the mean over the folds (MASE scaled per fold by that fold's own training values).
- :func:`search` (``model.search``) and :func:`auto` (``family: auto``) score candidates by
  :func:`backtest`; the test split is never seen by either.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import ConfigError
from .forecasters import Forecast, Forecaster

__all__ = ["auto", "backtest", "histories", "scored", "search", "test_origins"]

Make = Callable[[dict[str, Any] | None], Forecaster]


def test_origins(n_train: int, n: int, horizon: int) -> list[int]:
    return list(range(n_train, n, horizon))


def histories(values: NDArray[np.float64], origins: Sequence[int], context: int) -> NDArray[np.float64]:
    """(len(origins), context): the ``context`` observations before each origin."""
    if origins and min(origins) < context:
        raise ConfigError(f"a forecast needs the last {context} observations, and an origin has only "
                          f"{min(origins)} before it", hint="use a shorter context or lags, or a longer series")
    return np.stack([values[o - context:o] for o in origins]) if origins else np.zeros((0, context))


def scored(values: NDArray[np.float64], origins: Sequence[int], forecast: Forecast,
           horizon: int) -> tuple[NDArray[np.float64], NDArray[np.float64], list[tuple[int, int, int]]]:
    """Truth and forecast of every step inside the series, flattened, and each value's (row, origin, step)."""
    truth: list[float] = []
    predicted: list[float] = []
    where: list[tuple[int, int, int]] = []
    for row, origin in enumerate(origins):
        steps = min(horizon, len(values) - origin)
        truth += values[origin:origin + steps].tolist()
        predicted += forecast.mean[row, :steps].tolist()
        where += [(row, origin, j + 1) for j in range(steps)]
    return np.asarray(truth), np.asarray(predicted), where


def _score(scoring: str, truth: NDArray[np.float64], predicted: NDArray[np.float64], scale: float) -> float:
    from ..metrics import compute

    return float(compute("forecasting", [scoring], y_true=truth, y_pred=predicted, mase_scale=scale)[scoring])


def backtest(make: Make, params: dict[str, Any] | None, values: NDArray[np.float64], *, folds: int, scoring: str,
             season: int) -> tuple[float, list[float]]:
    """Mean and per-fold score of ``make(params)`` over ``folds`` rolling origins in ``values`` (the
    training part). ConfigError when not one fold has enough history before it."""
    from ..metrics import mase_scale

    probe = make(params)
    horizon = probe.horizon
    origins = [len(values) - k * horizon for k in range(folds, 0, -1)]
    origins = [o for o in origins if o >= max(probe.min_train(), probe.context)]
    if not origins:
        raise ConfigError(f"the training part ({len(values)} steps) is too short for a backtest of a {horizon}-step "
                          f"forecast (a fit needs {probe.min_train()} steps before the first origin)",
                          hint="use fewer folds, a shorter horizon, or a longer series")
    scores: list[float] = []
    for origin in origins:
        forecaster = make(params)
        forecaster.fit(values[:origin])
        forecast = forecaster.forecast(histories(values, [origin], forecaster.context))
        truth, predicted, _ = scored(values[:origin + horizon], [origin], forecast, horizon)
        scores.append(_score(scoring, truth, predicted, mase_scale(values[:origin], season)))
    if not all(math.isfinite(s) for s in scores):
        raise ValueError(f"the {scoring} score is not a finite number: {scores}")
    return float(np.mean(scores)), scores


def search(make: Make, space: Mapping[str, Any], values: NDArray[np.float64], *, method: str, trials: int,
           timeout_s: float | None, folds: int, scoring: str, greater_is_better: bool, seed: int,
           season: int) -> Any:
    """``model.search`` for a forecaster: Optuna over ``space`` (as ``runtime.search``), each trial scored by
    :func:`backtest`; a ``search.SearchResult``."""
    import optuna

    from ..search import SearchResult, _sampler, grid_size, quiet, suggest

    grid = method == "grid"
    size = grid_size(space) if grid else None
    records: list[dict[str, Any]] = []

    def objective(trial: Any) -> float:
        started = time.perf_counter()
        params = suggest(trial, space, grid=grid)
        record: dict[str, Any] = {"number": trial.number, "params": params, "score": None, "score_std": None,
                                  "duration_s": 0.0, "state": "failed", "error": None}
        records.append(record)
        try:
            score, per_fold = backtest(make, dict(params), values, folds=folds, scoring=scoring, season=season)
        except Exception as exc:
            record.update(error=f"{type(exc).__name__}: {exc}", duration_s=time.perf_counter() - started)
            raise
        record.update(score=score, score_std=float(np.std(per_fold)), state="complete",
                      duration_s=time.perf_counter() - started)
        return score

    started = time.perf_counter()
    with quiet():
        study = optuna.create_study(direction="maximize" if greater_is_better else "minimize",
                                    sampler=_sampler(method, space, seed))
        study.optimize(objective, n_trials=min(trials, size) if size is not None else trials, timeout=timeout_s,
                       catch=(Exception,), gc_after_trial=False, show_progress_bar=False)
    complete = [r for r in records if r["state"] == "complete"]
    if not complete:
        first = records[0]["error"] if records else "no trial ran"
        raise ConfigError(f"every one of the {len(records)} search trials failed; the first: {first}",
                          hint="check the model parameters and the search space")
    pick = max if greater_is_better else min
    best = pick(complete, key=lambda r: r["score"])
    return SearchResult(best_params=dict(best["params"]), best_score=float(best["score"]), trials=records,
                        n_trials=len(records), elapsed_s=time.perf_counter() - started, method=method,
                        scoring=scoring, greater_is_better=greater_is_better, n_failed=len(records) - len(complete),
                        grid_size=size)


def auto(make_for: Callable[[str], Make], candidates: Sequence[str], values: NDArray[np.float64], *, budget_s: float,
         folds: int, scoring: str, greater_is_better: bool, season: int) -> Any:
    """``family: auto`` for forecasting: each candidate's defaults backtested, cheapest first (the order
    given), until the budget is spent (the first always runs); the best is refitted on the whole training
    part. An ``auto.AutoResult``."""
    from ..auto import AutoResult

    started = time.perf_counter()
    board: list[dict[str, Any]] = []
    notes: list[str] = []
    failed = 0
    for i, family in enumerate(candidates):
        if i and time.perf_counter() - started > budget_s:
            notes.append(f"budget of {budget_s:g} s spent: {', '.join(candidates[i:])} not tried")
            break
        t0 = time.perf_counter()
        try:
            score, per_fold = backtest(make_for(family), None, values, folds=folds, scoring=scoring, season=season)
        except Exception as exc:
            failed += 1
            notes.append(f"{family}: {type(exc).__name__}: {exc}")
            continue
        board.append({"family": family, "params": {}, "score": score, "score_std": float(np.std(per_fold)),
                      "duration_s": round(time.perf_counter() - t0, 4), "phase": "default"})
    if not board:
        raise ConfigError("no forecasting family could be backtested: " + "; ".join(notes[:3]))
    board.sort(key=lambda r: -r["score"] if greater_is_better else r["score"])
    best = board[0]["family"]
    estimator = make_for(best)(None).fit(values)
    return AutoResult(family=best, params={}, estimator=estimator, leaderboard=board,
                      elapsed_s=time.perf_counter() - started, score=board[0]["score"], scoring=scoring,
                      greater_is_better=greater_is_better, n_trials=len(board) + failed, n_failed=failed,
                      budget_s=budget_s, notes=notes)
