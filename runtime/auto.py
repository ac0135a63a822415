"""``family: auto``: budgeted model selection over scikit-learn families.

``auto_select`` spends at most ``budget_s`` seconds of wall time, the final refit included:

1. **Defaults.** Every candidate family with its default parameters, cheapest first (naive Bayes
   and linear models, then knn and trees, svm, forests, gradient boosting — scikit-learn's, XGBoost and
   LightGBM — and mlp), each scored by
   cross-validation. A strong, cheap baseline is in hand within the first seconds. Each family's
   defaults may take at most a quarter of the time left (the first always runs); on large data
   (more than 2,000 training rows per fold) a family is first timed on 250 and 1,000 rows and
   skipped when its predicted cost is over that share.
2. **Search.** Optuna TPE (multivariate, seeded), one study per family over
   ``models.default_space``, for the best ``top_k`` families of step 1; each study starts from its
   family's default result. Trials are scheduled by time: the next goes to the family with the
   least search time relative to its share (the leader gets the largest), so cheap families get
   many trials and expensive ones a few. Identical proposals are answered from a cache; the search
   ends early when the score cannot improve (a perfect accuracy, say) or every family's space is
   exhausted.
3. **Refit** of the best configuration on all of ``X``, ``y`` through ``make_pipeline``.

A candidate whose library is not installed (XGBoost, LightGBM: the ``gbm`` extra) stops the selection
before it starts (ConfigError AIS420): leaving it out would change the choice without a word.

Time is checked before every cross-validation fold against a deadline that keeps back the
predicted refit time, so the budget is overrun by at most one fold fit plus any error in that
prediction; a configuration predicted to overrun is skipped. When no candidate finishes within the
budget, the cheapest one is fitted unscored (one more fit). Ties keep the earlier (cheaper)
configuration. OpenMP and BLAS run one thread (see ``search.quiet``). Support vector classifiers
are searched without probability calibration when the metric does not need probabilities (the
labels are the same, five times faster); the refit restores the family default (calibrated
probabilities). Results depend on the machine's speed: the same seed and budget give the same
choice only when the same trials fit in the budget.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aispec.runtime import models
from aispec.runtime.errors import ConfigError
from aispec.runtime.search import Choice, Distribution, Float, Int, _encode, _plain, get_scorer, quiet, suggest
from aispec.schemas.vocabulary import FAMILIES, auto_candidates

__all__ = ["AutoResult", "auto_select", "default_candidates"]

# Rows of the two probe fits that time an unmeasured family on large data, and how each family's
# fit and predict times grow with the training rows (exponents; kernels and neighbours grow fastest).
_PROBE_ROWS = (250, 1000)
_GROWTH = {
    "svm": (2.0, 1.0), "one_class_svm": (2.0, 1.0), "knn": (1.0, 1.0), "local_outlier_factor": (2.0, 1.0),
    "agglomerative": (2.0, 0.0), "dbscan": (2.0, 0.0), "gaussian_mixture": (1.0, 0.0), "kmeans": (1.0, 0.0),
    "naive_bayes": (1.0, 0.0), "linear": (1.0, 0.0), "ridge": (1.0, 0.0), "lasso": (1.0, 0.0),
    "elastic_net": (1.0, 0.0), "logistic_regression": (1.0, 0.0), "mlp": (1.0, 0.0),
}
# Metrics whose best possible value is known: reaching it ends the search.
_CEILING = {name: 1.0 for name in (
    "accuracy", "balanced_accuracy", "precision", "recall", "f1", "precision_macro", "recall_macro", "f1_macro",
    "f1_weighted", "f1_micro", "roc_auc", "roc_auc_ovr", "average_precision", "mcc", "cohen_kappa", "r2",
    "explained_variance", "adjusted_rand", "nmi")}
_FLOOR = {name: 0.0 for name in ("log_loss", "brier", "mse", "rmse", "mae", "mape", "median_ae", "smape")}
# The most of the remaining budget one family's defaults may take (the first always runs).
_DEFAULT_SHARE = 0.25
# Metrics that need predict_proba (svm is then searched with calibrated probabilities).
_NEEDS_PROBA = frozenset({"log_loss", "brier", "roc_auc_ovr"})


def default_candidates(task: str) -> list[str]:
    """The families ``auto`` chooses among when the spec names none: the vocabulary's list (the
    same the compiler writes into the resolved spec; see ``vocabulary.auto_candidates``)."""
    return auto_candidates(task)


@dataclass(slots=True)
class AutoResult:
    """The outcome of ``auto_select``.

    ``estimator`` is the fitted pipeline ``make_pipeline(best estimator)`` refit on all rows
    (its model step is the chosen estimator); ``params`` are the chosen family's parameters as
    ``models.make_estimator`` takes them. ``leaderboard`` lists every completed evaluation, best
    first: ``{family, params, score, score_std, duration_s, phase}`` (phase ``default`` or
    ``search``). ``score`` is the best cross-validated score (None when no evaluation completed
    within the budget and the first candidate was fitted unscored).
    """

    family: str
    params: dict[str, Any]
    estimator: Any
    leaderboard: list[dict[str, Any]]
    elapsed_s: float
    score: float | None = None
    scoring: str = ""
    greater_is_better: bool = True
    n_trials: int = 0
    n_failed: int = 0
    budget_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict without the estimator (for metrics.json and the report)."""
        return {
            "family": self.family, "params": _plain(self.params), "score": _plain(self.score),
            "scoring": self.scoring, "greater_is_better": self.greater_is_better, "n_trials": self.n_trials,
            "n_failed": self.n_failed, "budget_s": self.budget_s, "elapsed_s": round(self.elapsed_s, 3),
            "leaderboard": [_plain(r) for r in self.leaderboard], "notes": list(self.notes),
        }


def _take(data: Any, index: Any) -> Any:
    if data is None:
        return None
    if hasattr(data, "iloc"):
        return data.iloc[index]
    import numpy as np

    if isinstance(data, list):
        return [data[i] for i in index]
    return np.asarray(data)[index]


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _cost_factor(family: str, params: dict[str, Any], base: dict[str, Any]) -> float:
    """How much more a configuration costs than the one measured, from its size parameters."""
    factor = 1.0
    record = FAMILIES.get(family)
    for name in record.scales_with if record is not None else ():  # the family record says what costs
        if isinstance(params.get(name), int) and isinstance(base.get(name), int) and base[name] > 0:
            factor *= params[name] / base[name]
    return factor


def _in_space(dist: Distribution, value: Any) -> Any:
    """The point of ``dist`` nearest a default value (to seed the sampler with the defaults)."""
    if isinstance(dist, Choice):
        return value if value in dist.options else dist.options[0]
    if not isinstance(value, int | float) or isinstance(value, bool):
        value = dist.low
    value = min(max(value, dist.low), dist.high)
    return round(value) if isinstance(dist, Int) else float(value)


def _inner(estimator: Any) -> Any:
    """The estimator inside a wrapper (the SVC in the calibrated svm)."""
    inner = getattr(estimator, "estimator", None)
    return estimator if inner is None else inner


class _Selector:
    def __init__(self, *, task: str, make_pipeline: Callable[[Any], Any], X: Any, y: Any, splits: list[Any],
                 scorer: Callable[[Any, Any, Any], float], scoring: str, greater_is_better: bool, seed: int,
                 deadline: float, n_rows: int, needs_proba: bool) -> None:
        self.task, self.make_pipeline, self.X, self.y = task, make_pipeline, X, y
        self.splits, self.scorer, self.scoring = splits, scorer, scoring
        self.greater, self.seed, self.deadline, self.n_rows = greater_is_better, seed, deadline, n_rows
        self.needs_proba = needs_proba
        self.records: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self.fold_times: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        self.cache: dict[Any, dict[str, Any] | None] = {}
        self.n_failed = 0
        self.n_skipped = 0
        self.too_slow: set[str] = set()
        self.first_error: str | None = None
        fold = [len(train) for train, _ in splits]
        self.train_fraction = (sum(fold) / len(fold)) / max(n_rows, 1)

    # -- time ------------------------------------------------------------------------------
    def _fast(self, family: str, params: dict[str, Any]) -> dict[str, Any]:
        """Search-time parameters: svm classifiers without calibration unless probabilities count."""
        if family == "svm" and models.variant(family, self.task) == "classifier" and not self.needs_proba:
            return {**params, "probability": False}
        return params

    def predicted_fold(self, family: str, params: dict[str, Any]) -> float | None:
        seen = self.fold_times.get(family)
        if not seen:
            return None
        return statistics.median(t * _cost_factor(family, params, base) for t, base in seen)

    def refit_reserve(self) -> float:
        if self.best is None:
            return 0.0
        fold = float(self.best["fold_s"])
        scale = 1.0 / max(self.train_fraction, 0.1)
        calibrate = 5.0 if self.best["family"] == "svm" and not self.needs_proba \
            and models.variant("svm", self.task) == "classifier" else 1.0
        return fold * scale * calibrate * 1.2 + 0.05

    def remaining(self) -> float:
        return self.deadline - self.refit_reserve() - time.perf_counter()

    # -- evaluation ------------------------------------------------------------------------
    def better(self, a: float, b: float) -> bool:
        return a > b if self.greater else a < b

    def perfect(self) -> bool:
        if self.best is None:
            return False
        score = self.best["score"]
        if self.greater and self.scoring in _CEILING:
            return bool(score >= _CEILING[self.scoring] - 1e-12)
        if not self.greater and self.scoring in _FLOOR:
            return bool(score <= _FLOOR[self.scoring] + 1e-12)
        return False

    def evaluate(self, family: str, params: dict[str, Any], phase: str,
                 limit_s: float | None = None) -> dict[str, Any] | None:
        """Cross-validate one configuration within the deadline (and within ``limit_s`` seconds
        when given); None when skipped, abandoned for time or failed."""
        from sklearn.base import clone  # type: ignore[import-untyped]

        key = (family, _freeze(params))
        if key in self.cache:
            return self.cache[key]
        predicted = self.predicted_fold(family, params)
        if predicted is not None and predicted * len(self.splits) > self.remaining():
            self.n_skipped += 1
            return None
        started = time.perf_counter()
        try:
            estimator = models.make_estimator(family, task=self.task, params=self._fast(family, params),
                                              seed=self.seed)
            pipeline = self.make_pipeline(estimator)
        except Exception as exc:
            self._fail(key, exc)
            return None
        if predicted is None:  # a family not measured yet: on large data, time a small sample first
            predicted = self._probe(family, pipeline)
            if predicted is not None and (predicted > self.remaining() or (
                    limit_s is not None and predicted * len(self.splits) > limit_s)):
                self.fold_times.setdefault(family, []).append((predicted, self._sizes(family, params)))
                self.too_slow.add(family)
                self.n_skipped += 1
                return None
        scores: list[float] = []
        fold_s: list[float] = []
        for train, test in self.splits:
            guess = max(fold_s) if fold_s else predicted
            if guess is not None and guess > self.remaining():
                self.n_skipped += 1
                return None  # out of time: not cached, it may fit a later, larger budget
            t0 = time.perf_counter()
            try:
                fitted = clone(pipeline).fit(_take(self.X, train), _take(self.y, train))
                score = float(self.scorer(fitted, _take(self.X, test), _take(self.y, test)))
                if not math.isfinite(score):
                    raise ValueError(f"the {self.scoring} score is not a finite number")
            except Exception as exc:
                self._fail(key, exc)
                return None
            scores.append(score)
            fold_s.append(time.perf_counter() - t0)
            left = len(self.splits) - len(fold_s)
            if limit_s is not None and left and sum(fold_s) + left * max(fold_s) > limit_s:
                # too slow for its share of the budget: remember the cost, give up on it
                self.fold_times.setdefault(family, []).append((max(fold_s), self._sizes(family, params)))
                self.too_slow.add(family)
                self.n_skipped += 1
                return None
        mean = statistics.fmean(scores)
        record: dict[str, Any] = {"family": family, "params": dict(params), "score": mean,
                  "score_std": statistics.pstdev(scores) if len(scores) > 1 else 0.0,
                  "duration_s": time.perf_counter() - started, "phase": phase,
                  "fold_s": statistics.fmean(fold_s)}
        self.fold_times.setdefault(family, []).append((record["fold_s"], self._sizes(family, params)))
        self.records.append(record)
        self.cache[key] = record
        if self.best is None or self.better(mean, self.best["score"]):
            self.best = record
        return record

    def _probe(self, family: str, pipeline: Any) -> float | None:
        """Predicted seconds of one fold of an unmeasured family on large data, from fits on
        ``_PROBE_ROWS`` training rows: ``c + a * n**e`` through both timings, with ``e`` the
        family's growth (``_GROWTH``); None when the data is small or a probe fit fails."""
        import numpy as np
        from sklearn.base import clone

        train, test = self.splits[0]
        small, large = _PROBE_ROWS
        if len(train) <= 2 * large:
            return None
        rng = np.random.RandomState(self.seed)
        held = np.sort(rng.choice(test, min(len(test), large), replace=False))
        timings: list[tuple[float, float]] = []
        for rows in (small, large):
            part = np.sort(rng.choice(train, rows, replace=False))
            try:
                t0 = time.perf_counter()
                fitted = clone(pipeline).fit(_take(self.X, part), _take(self.y, part))
                t1 = time.perf_counter()
                self.scorer(fitted, _take(self.X, held), _take(self.y, held))
                timings.append((t1 - t0, time.perf_counter() - t1))
            except Exception:
                return None
        fit_exp, predict_exp = _GROWTH.get(family, (1.1, 0.0))
        (fit1, _), (fit2, score2) = timings
        slope = max(fit2 - fit1, 0.0) / (large ** fit_exp - small ** fit_exp)
        fit = max(fit1 - slope * small ** fit_exp, 0.0) + slope * len(train) ** fit_exp
        score = score2 * (len(test) / len(held)) * (len(train) / large) ** predict_exp
        return float(fit + score)

    def _sizes(self, family: str, params: dict[str, Any]) -> dict[str, Any]:
        sizes = dict(params)
        defaults = _inner(models.make_estimator(family, task=self.task, params={}, seed=self.seed)).get_params()
        record = FAMILIES.get(family)
        for name in record.scales_with if record is not None else ():
            sizes.setdefault(name, defaults.get(name))
        return sizes

    def _fail(self, key: Any, exc: Exception) -> None:
        self.n_failed += 1
        if self.first_error is None:
            self.first_error = f"{key[0]}: {type(exc).__name__}: {exc}"
        self.cache[key] = None


def _default_point(family: str, task: str, space: dict[str, Distribution], seed: int) -> dict[str, Any]:
    defaults = _inner(models.make_estimator(family, task=task, params={}, seed=seed)).get_params()
    return {name: _in_space(dist, defaults.get(name)) for name, dist in space.items()}


# Time shares of the families in the search step, by their current rank (best first).
_SHARES = (1.0, 0.7, 0.5, 0.4, 0.3)


def _search(sel: _Selector, families: list[str], *, seed: int, patience: int = 25) -> None:
    """Per-family TPE over ``models.default_space``, families scheduled by time until the deadline.

    Each family has its own seeded TPE study, seeded with its defaults' result. The next trial goes
    to the family with the least search time spent relative to its share (``_SHARES`` by current
    rank), so cheap families get many trials, expensive ones a few, and the leader the most. A
    family leaves the rotation when ``patience`` proposals in a row bring nothing new (a repeated
    point, a failure, a skip for time) or when even its cheapest known fit no longer fits.
    """
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    def distribution(dist: Distribution) -> Any:
        if isinstance(dist, Int):
            return IntDistribution(dist.low, dist.high, log=dist.log)
        if isinstance(dist, Float):
            return FloatDistribution(dist.low, dist.high, log=dist.log)
        return CategoricalDistribution(_encode(dist.options)[0])

    spaces = {f: models.default_space(f, sel.task) for f in families}
    studies: dict[str, Any] = {}
    for i, family in enumerate(families):
        sampler = optuna.samplers.TPESampler(seed=seed + i, multivariate=True, n_startup_trials=4,
                                             constant_liar=False)
        study = optuna.create_study(direction="maximize" if sel.greater else "minimize", sampler=sampler)
        for done in sel.records:  # the defaults seed the sampler
            if done["family"] != family or done["params"]:
                continue
            point = _default_point(family, sel.task, spaces[family], sel.seed)
            params: dict[str, Any] = {}
            for name, dist in spaces[family].items():
                value = point[name]
                if isinstance(dist, Choice):
                    value = _encode(dist.options)[0][dist.options.index(value)]
                params[name] = value
            study.add_trial(optuna.trial.create_trial(
                params=params, distributions={n: distribution(d) for n, d in spaces[family].items()},
                value=done["score"]))
        studies[family] = study

    spent = dict.fromkeys(families, 0.0)
    idle = dict.fromkeys(families, 0)
    active = list(families)

    def best_of(family: str) -> float:
        scores = [float(r["score"]) for r in sel.records if r["family"] == family]
        if not scores:
            return -math.inf if sel.greater else math.inf
        return max(scores) if sel.greater else min(scores)

    while active and sel.remaining() > 0 and not sel.perfect():
        ranked = sorted(active, key=best_of, reverse=sel.greater)
        share = {f: _SHARES[min(i, len(_SHARES) - 1)] for i, f in enumerate(ranked)}
        family = min(ranked, key=lambda f: spent[f] / share[f])
        cheapest = min((t * len(sel.splits) for t, _ in sel.fold_times.get(family, [])), default=0.0)
        if cheapest > sel.remaining():
            active.remove(family)
            continue
        started = time.perf_counter()
        study = studies[family]
        trial = study.ask()
        params = suggest(trial, spaces[family])
        key = (family, _freeze(params))
        cached = key in sel.cache
        record = sel.evaluate(family, params, "search")
        spent[family] += time.perf_counter() - started
        if record is None:  # failed (cached as None) or skipped for time
            state = optuna.trial.TrialState.FAIL if key in sel.cache else optuna.trial.TrialState.PRUNED
            study.tell(trial, state=state)
        else:
            study.tell(trial, record["score"])
        idle[family] = idle[family] + 1 if record is None or cached else 0
        if idle[family] >= patience:
            active.remove(family)


def auto_select(*, task: str, candidates: Sequence[str], make_pipeline: Callable[[Any], Any], X: Any, y: Any,
                budget_s: float, cv: Any, scoring: str, greater_is_better: bool, seed: int,
                positive_class: Any = None, top_k: int = 3, verbose: bool = False, n_jobs: int = 1) -> AutoResult:
    """Choose a family and its parameters for ``task`` within ``budget_s`` seconds (see the module
    docstring); return the best configuration refit on all of ``X``, ``y``.

    ``candidates``: family names (empty: ``default_candidates(task)``); each must be a
    scikit-learn family of the task (ConfigError otherwise). ``make_pipeline(estimator)`` wraps an
    estimator in the project's preprocessing. ``cv``: anything scikit-learn's ``check_cv`` takes.
    ``scoring``/``greater_is_better``: as in ``search.search``. Extensions: ``positive_class``
    (binary metrics), ``top_k`` (families the search step tunes), ``verbose`` (Optuna logging),
    ``n_jobs`` (``hardware.cpus``: threads of the final refit; the selection itself runs one thread so
    that its timings predict the budget).
    An anomaly task without labels cannot be scored: the first candidate is fitted with its
    defaults (noted in ``notes``).
    """
    from sklearn.model_selection import check_cv  # type: ignore[import-untyped]

    started = time.perf_counter()
    if budget_s <= 0:
        raise ConfigError(f"the auto budget must be positive, not {budget_s}")
    families = list(dict.fromkeys(candidates)) or default_candidates(task)
    for family in families:
        models.variant(family, task)  # ConfigError for a family that cannot serve the task
    # a candidate whose library is missing stops the run (AIS420): skipping it would change the choice silently
    models.require(families)
    if not families:
        raise ConfigError(f"no scikit-learn family fits task '{task}'")
    families.sort(key=lambda f: FAMILIES[f].cost if f in FAMILIES else 3)  # the family records' costs
    notes: list[str] = []

    def refit(family: str, params: dict[str, Any]) -> Any:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        estimator = models.make_estimator(family, task=task, params=params, seed=seed)
        if n_jobs > 1 and models.parallel_estimator(estimator):
            estimator.set_params(n_jobs=n_jobs)
        with threadpool_limits(limits=n_jobs):
            return make_pipeline(estimator).fit(X, y)

    if task == "anomaly_detection" and y is None:
        notes.append("no labels to score anomaly detectors: fitted the first candidate with its defaults")
        return AutoResult(family=families[0], params={}, estimator=refit(families[0], {}), leaderboard=[],
                          elapsed_s=time.perf_counter() - started, scoring=scoring,
                          greater_is_better=greater_is_better, budget_s=budget_s, notes=notes)

    scorer = get_scorer(scoring, y=y, positive_class=positive_class)
    classification = task in models.CLASSIFICATION
    splitter = check_cv(cv, y, classifier=classification)
    splits = list(splitter.split(X, y)) if y is not None else list(splitter.split(X))
    n_classes = len(set(y)) if classification and y is not None else 0
    needs_proba = scoring in _NEEDS_PROBA or (scoring == "roc_auc" and n_classes > 2)
    sel = _Selector(task=task, make_pipeline=make_pipeline, X=X, y=y, splits=splits, scorer=scorer,
                    scoring=scoring, greater_is_better=greater_is_better, seed=seed, deadline=started + budget_s,
                    n_rows=len(X), needs_proba=needs_proba)

    with quiet(verbose):
        for family in families:  # 1. defaults, cheapest first, each within a share of what is left
            if sel.remaining() <= 0 or sel.perfect():
                break
            share = None if sel.best is None else _DEFAULT_SHARE * sel.remaining()
            sel.evaluate(family, {}, "default", limit_s=share)
        ranked: list[str] = []
        for record in sorted(sel.records, key=lambda r: r["score"], reverse=greater_is_better):
            if record["family"] not in ranked:
                ranked.append(record["family"])
        tunable = [f for f in ranked if models.default_space(f, task)][:max(top_k, 1)]
        if tunable and sel.remaining() > 0 and not sel.perfect():  # 2. search
            _search(sel, tunable, seed=seed)

        best = sel.best
        if best is None:
            if sel.first_error is not None and sel.n_failed and not sel.n_skipped:
                raise ConfigError(f"auto: every candidate failed; the first: {sel.first_error}",
                                  hint="check the data and the candidates")
            known = {f: min(t for t, _ in sel.fold_times[f]) for f in families if sel.fold_times.get(f)}
            unknown = [f for f in families if f not in known]
            cheapest = unknown[0] if unknown else min(known, key=lambda f: known[f])
            notes.append(f"no candidate finished cross-validation within {budget_s:g} s: "
                         f"fitted {cheapest} with its defaults, unscored")
            family, params, score = cheapest, {}, None
        else:
            family, params, score = best["family"], dict(best["params"]), best["score"]
        fitted = refit(family, params)  # 3. refit on everything

    leaderboard = [{k: v for k, v in r.items() if k != "fold_s"}
                   for r in sorted(sel.records, key=lambda r: r["score"], reverse=greater_is_better)]
    if sel.too_slow:
        notes.append(f"too slow for the budget at their defaults: {', '.join(sorted(sel.too_slow))}")
    if sel.n_skipped:
        notes.append(f"{sel.n_skipped} configurations skipped: predicted to overrun the budget")
    return AutoResult(family=family, params=params, estimator=fitted, leaderboard=leaderboard,
                      elapsed_s=time.perf_counter() - started, score=score, scoring=scoring,
                      greater_is_better=greater_is_better, n_trials=len(sel.records) + sel.n_failed,
                      n_failed=sel.n_failed, budget_s=budget_s, notes=notes)
