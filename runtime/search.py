"""Hyper-parameter search with Optuna over a spec's ``model.search``.

``Int``, ``Float`` and ``Choice`` describe a space; ``search(...)`` runs grid, random or
Bayesian (TPE) search with a cross-validated score per trial and returns a ``SearchResult``.

Scores are in the metric's own units (``rmse`` is reported as 3.2, not -3.2); the study
maximises when ``greater_is_better`` and minimises otherwise. Metric names are the vocabulary's
(``accuracy``, ``f1_macro``, ``roc_auc``, ``log_loss``, ``r2``, ``rmse``, ``silhouette``, ...);
any scikit-learn scorer name (``neg_mean_squared_error``) is accepted as well, in its own units.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from aispec.runtime.errors import ConfigError

__all__ = [
    "Choice",
    "Distribution",
    "Float",
    "Int",
    "SearchResult",
    "get_scorer",
    "grid_size",
    "grid_values",
    "quiet",
    "search",
    "suggest",
]

METHODS = ("grid", "random", "bayesian")


# ------------------------------------------------------------------------------ distributions


@dataclass(frozen=True, slots=True)
class Int:
    """An integer in ``[low, high]`` (both included), sampled on a log scale when ``log``."""

    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ConfigError(f"int({self.low}, {self.high}): low is above high")
        if self.log and self.low < 1:
            raise ConfigError(f"int({self.low}, {self.high}, log): a log scale needs low >= 1")


@dataclass(frozen=True, slots=True)
class Float:
    """A real number in ``[low, high]``, sampled on a log scale when ``log``."""

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ConfigError(f"float({self.low}, {self.high}): low is above high")
        if self.log and self.low <= 0:
            raise ConfigError(f"float({self.low}, {self.high}, log): a log scale needs low > 0")


@dataclass(frozen=True, slots=True, init=False)
class Choice:
    """One of ``options`` (any values: numbers, strings, None, tuples)."""

    options: tuple[Any, ...]

    def __init__(self, *options: Any) -> None:
        if not options:
            raise ConfigError("choice() needs at least one option")
        object.__setattr__(self, "options", tuple(options))


Distribution: TypeAlias = Int | Float | Choice

_PRIMITIVE = (type(None), bool, int, float, str)


def _encode(options: Sequence[Any]) -> tuple[list[Any], Callable[[Any], Any]]:
    """Optuna stores None/bool/int/float/str: other options (tuples) go by their repr."""
    if all(isinstance(o, _PRIMITIVE) for o in options):
        return list(options), lambda v: v
    keys = [repr(o) for o in options]
    table = dict(zip(keys, options, strict=True))
    return keys, lambda v: table[v]


def grid_values(dist: Distribution, *, name: str = "?") -> list[Any]:
    """The values a grid takes for ``dist``: a Choice's options; an Int's whole range when it has at
    most 10 values, else 10 evenly spaced integers (log-spaced for ``log``); a Float: ConfigError."""
    if isinstance(dist, Choice):
        return list(dist.options)
    if isinstance(dist, Int):
        if dist.high - dist.low + 1 <= 10:
            return list(range(dist.low, dist.high + 1))
        import numpy as np

        points = (np.geomspace(dist.low, dist.high, 10) if dist.log else np.linspace(dist.low, dist.high, 10))
        return sorted({round(float(p)) for p in points})
    raise ConfigError(f"grid search cannot enumerate the continuous range '{name}' "
                      f"({dist.low}..{dist.high})",
                      hint="use a choice(...) or an int(...) range for grid search, or method: random / bayesian")


def grid_size(space: Mapping[str, Distribution]) -> int:
    """How many points a grid search over ``space`` has."""
    return math.prod(len(grid_values(d, name=n)) for n, d in space.items())


# ------------------------------------------------------------------------------------- scorers

# vocabulary metric -> (scikit-learn scorer name, sign that turns it into the metric's own units)
_SKLEARN: dict[str, tuple[str, int]] = {
    "accuracy": ("accuracy", 1), "balanced_accuracy": ("balanced_accuracy", 1),
    "precision_macro": ("precision_macro", 1), "recall_macro": ("recall_macro", 1),
    "f1_macro": ("f1_macro", 1), "f1_weighted": ("f1_weighted", 1), "f1_micro": ("f1_micro", 1),
    "roc_auc_ovr": ("roc_auc_ovr", 1), "log_loss": ("neg_log_loss", -1), "mcc": ("matthews_corrcoef", 1),
    "r2": ("r2", 1), "mse": ("neg_mean_squared_error", -1), "rmse": ("neg_root_mean_squared_error", -1),
    "mae": ("neg_mean_absolute_error", -1), "mape": ("neg_mean_absolute_percentage_error", -1),
    "median_ae": ("neg_median_absolute_error", -1), "explained_variance": ("explained_variance", 1),
}
# binary metrics: they need the positive class when the labels are not 0/1
_BINARY = ("precision", "recall", "f1", "average_precision", "brier")
_CLUSTER = ("silhouette", "calinski_harabasz", "davies_bouldin", "adjusted_rand", "nmi")
_ANOMALY = ("roc_auc", "average_precision", "anomaly_rate", "precision_at_contamination")

Scorer: TypeAlias = Callable[[Any, Any, Any], float]


def _unique(y: Any) -> list[Any]:
    import numpy as np

    return list(np.unique(np.asarray(y))) if y is not None else []


def _is_outlier_detector(est: Any) -> bool:
    from sklearn.base import is_outlier_detector  # type: ignore[import-untyped]

    return bool(is_outlier_detector(est))


def _anomaly_truth(y: Any) -> Any:
    """Labels of an anomaly task as booleans: -1 (scikit-learn's outlier) or 1/True is an anomaly."""
    import numpy as np

    arr = np.asarray(y)
    values = set(np.unique(arr).tolist())
    if values <= {-1, 1}:
        return arr == -1
    return arr.astype(bool)


def _anomaly_scorer(name: str) -> Scorer:
    def score(est: Any, X: Any, y: Any) -> float:
        import numpy as np
        from sklearn.metrics import average_precision_score, roc_auc_score  # type: ignore[import-untyped]

        if name == "anomaly_rate":
            return float(np.mean(np.asarray(est.predict(X)) == -1))
        if y is None:
            raise ConfigError(f"{name} needs labels for an anomaly_detection task", hint="set problem.target")
        truth = _anomaly_truth(y)
        if name == "precision_at_contamination":
            from sklearn.metrics import precision_score

            flags = np.asarray(est.predict(X)) == -1  # the rows the detector flags (threshold: contamination)
            return float(precision_score(truth, flags, zero_division=0))
        outlying = -np.asarray(est.decision_function(X), dtype=float)  # higher: more anomalous
        if name == "roc_auc":
            return float(roc_auc_score(truth, outlying))
        return float(average_precision_score(truth, outlying))

    return score


def _cluster_scorer(name: str) -> Scorer:
    def score(est: Any, X: Any, y: Any) -> float:
        import numpy as np
        from sklearn import metrics as m  # type: ignore[import-untyped]

        labels = est.predict(X) if hasattr(est, "predict") else est.fit_predict(X)
        labels = np.asarray(labels)
        if name in ("adjusted_rand", "nmi"):
            if y is None:
                raise ConfigError(f"{name} compares clusters with known labels", hint="set problem.target")
            fn = m.adjusted_rand_score if name == "adjusted_rand" else m.normalized_mutual_info_score
            return float(fn(np.asarray(y), labels))
        features = X
        steps = getattr(est, "steps", None)
        if steps is not None and len(steps) > 1:
            features = est[:-1].transform(X)
        n = len(set(labels.tolist()))
        if not 2 <= n < len(labels):
            raise ValueError(f"{name} needs between 2 and n-1 clusters; the model found {n}")
        fns = {"silhouette": m.silhouette_score, "calinski_harabasz": m.calinski_harabasz_score,
               "davies_bouldin": m.davies_bouldin_score}
        return float(fns[name](features, labels))

    return score


def _forecast_scorer(name: str) -> Scorer:
    def score(est: Any, X: Any, y: Any) -> float:
        import numpy as np

        truth = np.asarray(y, dtype=float)
        pred = np.asarray(est.predict(X), dtype=float)
        if name == "smape":
            denom = np.abs(truth) + np.abs(pred)
            ratio = np.divide(2 * np.abs(pred - truth), denom, out=np.zeros_like(denom), where=denom > 0)
            return float(100 * ratio.mean())
        # mase: MAE over the MAE of the one-step naive forecast on the same rows
        naive = float(np.mean(np.abs(np.diff(truth)))) if len(truth) > 1 else 0.0
        mae = float(np.mean(np.abs(pred - truth)))
        return mae / naive if naive > 0 else float("inf")

    return score


def _signed(scorer: Any, sign: int) -> Scorer:
    if sign == 1:
        return scorer  # type: ignore[no-any-return]

    def score(est: Any, X: Any, y: Any) -> float:
        return -float(scorer(est, X, y))

    return score


def get_scorer(scoring: str, *, y: Any = None, positive_class: Any = None) -> Scorer:
    """A scorer ``(estimator, X, y) -> float`` for ``scoring``, in the metric's own units.

    ``y`` (the training labels) decides binary against multiclass: ``roc_auc`` on more than two
    classes is ``roc_auc_ovr``. Binary metrics (precision, recall, f1, average_precision, brier)
    need ``positive_class`` unless the labels are 0/1 or -1/1 or booleans. Anomaly detectors are
    scored by ``-decision_function`` (higher: more anomalous) with -1 or 1/True as the anomaly.
    Clustering metrics score the model's clusters on the preprocessed rows; a model without
    ``predict`` (dbscan, agglomerative) is fitted again on each held-out fold.
    """
    from sklearn import metrics as m

    if scoring in _CLUSTER:
        return _cluster_scorer(scoring)
    if scoring in ("smape", "mase"):
        return _forecast_scorer(scoring)
    if scoring in ("anomaly_rate", "precision_at_contamination"):
        return _anomaly_scorer(scoring)

    classes = _unique(y)
    supervised: Scorer | None = None
    if scoring in _SKLEARN:
        name, sign = _SKLEARN[scoring]
        supervised = _signed(m.get_scorer(name), sign)
    elif scoring == "cohen_kappa":
        supervised = m.make_scorer(m.cohen_kappa_score)
    elif scoring == "roc_auc":
        supervised = m.get_scorer("roc_auc_ovr" if len(classes) > 2 else "roc_auc")
    elif scoring in _BINARY:
        if len(classes) > 2:
            raise ConfigError(f"{scoring} is a binary metric and the target has {len(classes)} classes",
                              hint=f"use {scoring}_macro or another multiclass metric"
                              if scoring in ("precision", "recall", "f1") else "use a multiclass metric")
        pos = positive_class
        if pos is None:
            if classes and not set(classes) <= {0, 1, -1}:
                raise ConfigError(f"{scoring} needs to know the positive class of the labels "
                                  f"{', '.join(map(str, classes))}",
                                  hint="set problem.positive_class")
            pos = 1
        if scoring == "brier":
            supervised = _signed(m.make_scorer(m.brier_score_loss, response_method="predict_proba", pos_label=pos),
                                 1)
        elif scoring == "average_precision":
            supervised = m.make_scorer(m.average_precision_score, response_method=("decision_function",
                                                                                  "predict_proba"),
                                       pos_label=pos)
        else:
            fns = {"precision": m.precision_score, "recall": m.recall_score, "f1": m.f1_score}
            supervised = m.make_scorer(fns[scoring], pos_label=pos, zero_division=0)
    else:
        try:
            supervised = m.get_scorer(scoring)
        except ValueError:
            raise ConfigError(f"unknown scoring metric '{scoring}'",
                              hint=f"metrics: {', '.join(sorted([*_SKLEARN, *_BINARY, *_CLUSTER, *_ANOMALY]))}"
                              ) from None
    if scoring in _ANOMALY:
        anomaly = _anomaly_scorer(scoring)
        base = supervised

        def either(est: Any, X: Any, y: Any) -> float:
            return anomaly(est, X, y) if _is_outlier_detector(est) else float(base(est, X, y))

        return either
    return supervised


# -------------------------------------------------------------------------------------- result


def _plain(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, tuples to lists, NaN/inf to None."""
    import numpy as np

    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


@dataclass(slots=True)
class SearchResult:
    """What a search found.

    ``trials``: one dict per trial, in order: ``number``, ``params``, ``score`` (mean over the
    folds, None when the trial failed), ``score_std``, ``duration_s``, ``state`` (``complete`` or
    ``failed``) and ``error`` (the message of a failed trial, else None).
    """

    best_params: dict[str, Any]
    best_score: float
    trials: list[dict[str, Any]]
    n_trials: int
    elapsed_s: float
    method: str
    scoring: str = ""
    greater_is_better: bool = True
    n_failed: int = 0
    grid_size: int | None = None
    validation: str | None = None  # what scored the trials when not cross-validation (a network's validation split)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (for metrics.json and the report)."""
        out = {
            "method": self.method, "scoring": self.scoring, "greater_is_better": self.greater_is_better,
            "best_params": _plain(self.best_params), "best_score": _plain(self.best_score),
            "n_trials": self.n_trials, "n_failed": self.n_failed, "grid_size": self.grid_size,
            "elapsed_s": round(self.elapsed_s, 4), "trials": [_plain(t) for t in self.trials],
        }
        if self.validation is not None:
            out["validation"] = self.validation
        return out


# -------------------------------------------------------------------------------------- search


@contextmanager
def quiet(verbose: bool = False) -> Iterator[None]:
    """Optuna's INFO logging, its experimental warnings and scikit-learn's convergence and
    fit-failure warnings off (unless ``verbose``), restored afterwards; OpenMP and BLAS limited to
    one thread (like ``n_jobs=1``: on the small data of a search, extra threads buy little, and on
    a busy machine OpenMP's spinning threads slowed HistGradientBoosting fits by 10-50x)."""
    import optuna
    from sklearn.exceptions import ConvergenceWarning, FitFailedWarning  # type: ignore[import-untyped]
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    before = optuna.logging.get_verbosity()
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        if not verbose:
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", FitFailedWarning)
            # Optuna's notices about its own deprecated internals (e.g. TPE's independent sampling)
            warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
        try:
            yield
        finally:
            optuna.logging.set_verbosity(before)


def _sampler(method: str, space: Mapping[str, Distribution], seed: int) -> Any:
    import optuna

    if method == "grid":
        grid = {name: _encode(grid_values(dist, name=name))[0] for name, dist in space.items()}
        return optuna.samplers.GridSampler(grid, seed=seed)
    if method == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if method == "bayesian":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(3, len(space) * 2)),
                                          multivariate=True)
    raise ConfigError(f"unknown search method '{method}'", hint=f"method: {', '.join(METHODS)}")


def suggest(trial: Any, space: Mapping[str, Distribution], *, grid: bool = False, prefix: str = "") -> dict[str, Any]:
    """Sample ``space`` in an Optuna trial (names optionally prefixed); values decoded."""
    params: dict[str, Any] = {}
    for name, dist in space.items():
        key = prefix + name
        if grid:
            values, decode = _encode(grid_values(dist, name=name))
            params[name] = decode(trial.suggest_categorical(key, values))
        elif isinstance(dist, Int):
            params[name] = trial.suggest_int(key, dist.low, dist.high, log=dist.log)
        elif isinstance(dist, Float):
            params[name] = trial.suggest_float(key, dist.low, dist.high, log=dist.log)
        else:
            values, decode = _encode(dist.options)
            params[name] = decode(trial.suggest_categorical(key, values))
    return params


def _folds_key(cv: Any) -> str:
    """What decides the folds of a search, for its store's fingerprint: a splitter (or a fold count) by its
    settings, folds given as a list of row indices by their indices (``repr`` would shorten long arrays)."""
    import hashlib

    import numpy as np

    if not isinstance(cv, (list, tuple)):
        return repr(cv)
    digest = hashlib.sha256()
    for train, test in cv:
        digest.update(np.asarray(train, dtype=np.int64).tobytes() + b"|" + np.asarray(test, dtype=np.int64).tobytes())
    return digest.hexdigest()


def search(make_pipeline: Callable[[dict[str, Any]], Any], space: Mapping[str, Distribution], X: Any, y: Any, *,
           method: str, trials: int, timeout_s: float | None, cv: Any, scoring: str, greater_is_better: bool,
           seed: int, positive_class: Any = None, verbose: bool = False, n_jobs: int = 1,
           runner: Any = None, checkpoint_dir: Path | None = None, resume: bool = False) -> SearchResult:
    """Search ``space`` for the parameters of ``make_pipeline(params)`` with the best CV score.

    - ``method``: ``grid`` (Optuna's GridSampler over every Choice and Int, see ``grid_values``;
      a Float is a ConfigError; at most ``trials`` of the ``grid_size(space)`` points are tried,
      so pass ``trials >= grid_size`` for the full grid), ``random`` (RandomSampler(seed)) or
      ``bayesian`` (multivariate TPESampler(seed)).
    - each trial: ``cross_val_score(make_pipeline(params), X, y, cv=cv, scoring=...)``, the mean
      over the folds. A trial whose pipeline cannot be built, fitted or scored is recorded as
      ``failed`` with its error and the search goes on; when every trial failed: ConfigError with
      the first error.
    - stops after ``trials`` trials or once ``timeout_s`` seconds have passed (checked between
      trials: a running trial finishes).
    - deterministic for a seed when the pipeline and ``cv`` are (an int ``cv`` is unshuffled).
    - ``positive_class`` (extension): the positive label for binary metrics.
    - ``n_jobs`` (``hardware.cpus``): folds of a trial cross-validated in parallel processes.
    - ``runner`` (an ``aispec.runtime.trials.TrialRunner``): where the trials run; default this process,
      one after another (``hardware.distributed`` gives a cluster's).
    - ``checkpoint_dir``: every finished trial is kept in its ``search.json`` (``trial_store``); with
      ``resume`` (``--resume``) the trials an interrupted search finished there are kept, not rerun, and
      the time budget counts the time they took.
    """
    import numpy as np
    from sklearn.model_selection import cross_val_score  # type: ignore[import-untyped]

    from .trial_store import TrialStore, search_stamp
    from .trials import LocalRunner, Study, best_record

    if trials < 1:
        raise ConfigError(f"search needs at least one trial, not {trials}")
    if method not in METHODS:
        raise ConfigError(f"unknown search method '{method}'", hint=f"method: {', '.join(METHODS)}")
    grid = method == "grid"
    size = grid_size(space) if grid else None
    scorer = get_scorer(scoring, y=y, positive_class=positive_class)

    def evaluate(params: dict[str, Any], record: dict[str, Any], report: Callable[[float, int], None]) -> float:
        pipeline = make_pipeline(dict(params))
        scores = np.asarray(cross_val_score(pipeline, X, y, cv=cv, scoring=scorer, error_score="raise",
                                            n_jobs=n_jobs), dtype=float)
        if not np.all(np.isfinite(scores)):
            raise ValueError(f"the {scoring} score is not a finite number: {scores.tolist()}")
        record["score_std"] = float(scores.std())
        return float(scores.mean())

    store = TrialStore(checkpoint_dir, lambda: search_stamp(space, method, trials, seed, scoring, X, y,
                                                            extra=(_folds_key(cv), positive_class)))
    done = store.load() if resume else []
    finished: list[dict[str, Any]] = list(done)
    before = store.elapsed() if done else 0.0
    started = time.perf_counter()

    def keep(trial: dict[str, Any]) -> None:  # after every trial: what --resume starts from
        finished.append(trial)
        store.save(finished, before + time.perf_counter() - started)

    remaining_s = None if timeout_s is None else max(0.0, timeout_s - before)
    study = Study(space=space, method=method, seed=seed, n_trials=trials, timeout_s=remaining_s,
                  greater_is_better=greater_is_better)
    with quiet(verbose):
        records = (runner or LocalRunner()).run(study, evaluate, restored=done, on_finished=keep)
    elapsed = before + time.perf_counter() - started

    failed = sum(1 for r in records if r["state"] != "complete")
    best = best_record(records, greater_is_better)
    if best is None:
        first = records[0]["error"] if records else "no trial ran"
        raise ConfigError(f"every one of the {len(records)} search trials failed; the first: {first}",
                          hint="check the model parameters and the search space")
    return SearchResult(best_params=dict(best["params"]), best_score=float(best["score"]), trials=records,
                        n_trials=len(records), elapsed_s=elapsed, method=method, scoring=scoring,
                        greater_is_better=greater_is_better, n_failed=failed, grid_size=size)
