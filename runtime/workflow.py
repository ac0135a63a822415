"""The steps a generated project's ``train.py`` runs, for every tabular task.

``train`` / ``train_auto`` → ``evaluate`` → ``export`` → ``measure_service`` (``deployment.target:
rest``) → ``check_gates`` → ``document``. Each step takes what the one before returned, so a generated
project can replace any of them with its own code.

Tasks differ in what "fit" and "predict" mean:

- supervised (classification, regression): fit on the training split's features and target;
- clustering: fit on the features; the target, when the spec names one, is used only to score
  the clusters against it (adjusted Rand, NMI);
- anomaly detection: fit on the features; the target, when present, says which rows are anomalies,
  for the search's scoring and the evaluation only. Scores are "higher = more anomalous".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aispec.schemas.vocabulary import CLASSIFICATION, METRICS, task_info

from . import metrics as metric_fns
from .errors import ConfigError, ExportError
from .split import Split


def _kind(task: str) -> str:
    """What fitting and predicting mean for ``task``: supervised, clustering or anomaly (the task table)."""
    return task_info(task).kind


def _augment(task: str, X: Any, y: Any, augmentation: Mapping[str, Any] | None, seed: int,
             report: Any, *, per_epoch: bool = False) -> tuple[Any, Any, dict[str, Any] | None]:
    """The final fit's training rows with ``data.augmentation`` of the task's modality applied (images:
    ``runtime.images.augment``), recorded in the row ledger; model selection never sees the copies.

    ``per_epoch`` (back ends that declare ``epoch_augmentation``): the rows stay as they are and the
    image settings are returned for the back end, which draws fresh copies every epoch (as many per
    epoch as the static copies would be); otherwise the third value is None."""
    settings = dict(augmentation or {})
    if task_info(task).modality != "image" or not settings.get("image"):
        return X, y, None
    if per_epoch:
        from .images.augment import copies_count, describe, is_active

        factor = float(settings.get("factor", 1.0))
        extra = copies_count(len(X), factor)
        if not is_active(settings["image"]) or extra <= 0:
            return X, y, None
        if report is not None:
            report.record("augmentation", len(X), len(X) + extra, describe(settings["image"], factor) +
                          ": altered copies of training images drawn afresh every epoch, for the final fit only",
                          part="train")
        return X, y, {"image": dict(settings["image"]), "factor": factor}
    from .images.augment import augment_rows, describe

    factor = float(settings.get("factor", 1.0))
    X_out, y_out = augment_rows(X, y, settings["image"], factor=factor, seed=seed)
    if report is not None and X_out is not X:
        report.record("augmentation", len(X), len(X_out), describe(settings["image"], factor) +
                      ": altered copies of training images, for the final fit only", part="train")
    return X_out, y_out, None
def _series(task: str) -> bool:
    """Whether ``task`` forecasts a series (its steps are ``runtime.series.workflow``'s)."""
    return task_info(task).modality == "series"


@dataclass(frozen=True)
class SearchSettings:
    """``model.search`` of the spec: the space and how to explore it."""

    space: Mapping[str, Any]
    method: str = "bayesian"
    trials: int = 30
    timeout_s: float | None = None
    folds: int = 5


@dataclass
class Trained:
    """A fitted pipeline and how it came to be.

    ``positive_class``: the class binary metrics measure (classification, as canonical label text),
    or the label that marks an anomaly (anomaly detection, decided once from the training labels and
    used for search, evaluation and the report alike). ``validation``: how model selection scored
    candidates (the cross-validation splitter, named for the report), None when nothing was selected.
    """

    pipeline: Any
    family: str
    params: dict[str, Any]
    task: str
    target: str | None
    features: list[str]
    positive_class: Any = None
    fit_seconds: float = 0.0
    search: Any = None  # search.SearchResult
    auto: Any = None  # auto.AutoResult
    notes: list[str] = field(default_factory=list)
    validation: str | None = None
    scoring: str | None = None  # the primary metric (what selection optimised and the learning curve plots)
    split_rules: dict[str, Any] = field(default_factory=dict)  # data.split: groups and time order
    backend: str = "sklearn"  # the back end that fitted it (and exports it)
    pruning: Any = None  # deployment.optimize.prune: the back end's report (None when not asked)
    distributed: dict[str, Any] | None = None  # hardware.distributed: the cluster that ran it (None: this process)


@dataclass
class Evaluation:
    """Results on the test split (and a few on the training split)."""

    metrics: dict[str, float]
    train_metrics: dict[str, float] = field(default_factory=dict)
    per_class: dict[str, Any] = field(default_factory=dict)
    per_group: dict[str, Any] = field(default_factory=dict)
    fairness: dict[str, float] = field(default_factory=dict)
    plots: dict[str, bytes] = field(default_factory=dict)
    split_sizes: dict[str, int] = field(default_factory=dict)
    positive_class: dict[str, Any] | None = None  # {"label": ..., "source": "spec" | "last label"}: binary metrics
    notes: dict[str, str] = field(default_factory=dict)  # metric -> why it has no value (nan)
    predictions: Any = None  # the test rows' truth, prediction and scores (saved as predictions.csv)
    scored_on: str = "test"  # "test", or "train" for a family that labels only the rows it was fitted on
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)  # reference models on the same rows
    forecast: dict[str, Any] | None = None  # forecasting: origins, horizon, season, MASE scale, ...


@dataclass
class Exported:
    """The ONNX export (or why there is none) and the serving-side measurements.

    ``latency`` holds the figures the ``p50/p95/p99_latency_ms`` gates read: one row per request over
    HTTP through the generated service when ``measure_service`` ran (``latency_source == "http"``),
    else one onnxruntime call per row in process (``"in_process"``). ``model_latency`` always holds the
    in-process figures (also in ``operational`` as ``model_p50/p95/p99_latency_ms``).
    """

    onnx: Any = None  # export.OnnxReport
    latency: dict[str, float] = field(default_factory=dict)
    skipped: str | None = None
    operational: dict[str, float] = field(default_factory=dict)
    quantization: Any = None  # quantize.QuantizationReport (deployment.optimize.quantize), None when not asked
    model_latency: dict[str, float] = field(default_factory=dict)
    latency_source: str = "in_process"  # "http" once measure_service replaced `latency`
    directory: Path | None = None  # the artifacts folder the model was written to


# --------------------------------------------------------------------------- training


def _xy(frame: Any, features: Sequence[str], target: str | None) -> tuple[Any, Any]:
    X = frame[list(features)]
    y = frame[target] if target is not None and target in frame.columns else None
    return X, y


def _fit_labels(task: str, y: Any, positive_class: Any) -> Any:
    """The labels a fit / search sees: the target (supervised), anomaly flags, or nothing."""
    kind = _kind(task)
    if kind == "supervised":
        return y
    if kind == "anomaly" and y is not None:
        return metric_fns.anomaly_truth(y, positive_class)
    return y if kind == "clustering" else None


def _positive(task: str, positive_class: Any, y: Any) -> Any:
    """The spec's positive class in the labels' own form (canonical label text), or for anomaly
    detection the anomalous label: given, or decided here once from the training labels."""
    from aispec.schemas.labels import label_text

    kind = _kind(task)
    if kind == "anomaly" and y is not None:
        return metric_fns.anomaly_label(y, positive_class)
    if positive_class is None or task not in CLASSIFICATION:
        return positive_class
    return label_text(positive_class)


def _cv(task: str, folds: int, seed: int, y: Any, *, rows: Any = None,
        rules: Mapping[str, Any] | None = None) -> tuple[Any, str]:
    """Cross-validation folds that follow the hold-out split's rules, and their name for the report.

    A group split keeps each group's rows in one fold (``StratifiedGroupKFold`` for stratified
    classification, else ``GroupKFold``); a time-ordered split validates on later rows only
    (``TimeSeriesSplit``, rows in time order); otherwise ``StratifiedKFold`` for stratified
    classification, ``KFold`` for the rest (shuffled with ``seed``). Group folds are returned as a
    list of (train, test) index pairs, since the scorers that consume them do not take groups."""
    import numpy as np
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold  # type: ignore[import-untyped]

    from .split import cv_splitter

    rules = dict(rules or {})
    stratify = bool(rules.get("stratify", task in CLASSIFICATION)) and task in CLASSIFICATION and y is not None
    group = rules.get("group_column")
    if rules.get("time_ordered"):
        return cv_splitter(task=task, folds=folds, stratify=False, seed=seed, time_ordered=True), \
            f"TimeSeriesSplit({folds}): each fold validates on rows later than its training rows"
    if group and rows is not None and group in rows.columns:
        groups = rows[group].astype(object).where(rows[group].notna(), "<missing>").astype(str).to_numpy()
        n_groups = len(set(groups.tolist()))
        if n_groups < 2:
            raise ConfigError(f"cross-validation by group '{group}' needs at least 2 groups in the training split, "
                              f"found {n_groups}", hint="drop split.group_column or add groups")
        k = min(folds, n_groups)
        X_index = np.zeros(len(rows))
        if stratify:
            splitter: Any = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
            name = f"StratifiedGroupKFold({k}) by '{group}'"
            pairs = list(splitter.split(X_index, np.asarray(y), groups))
        else:
            splitter = GroupKFold(n_splits=k, shuffle=True, random_state=seed)
            name = f"GroupKFold({k}) by '{group}'"
            pairs = list(splitter.split(X_index, None, groups))
        return pairs, f"{name}: no group in both a training and a validation fold"
    splitter = cv_splitter(task=task, folds=folds, stratify=stratify, seed=seed, time_ordered=False)
    return splitter, f"{type(splitter).__name__}({folds}, shuffled)"


def _training_rows(splits: Split, outliers: Mapping[str, Any] | None, feature_types: Mapping[str, str],
                   report: Any = None) -> Any:
    """The training split, without outlier rows when `cleaning.outliers.action` is drop (the test
    split is never filtered: it must look like the data the model will meet)."""
    from . import preprocess

    if not outliers or outliers.get("method", "none") == "none" or outliers.get("action") != "drop":
        return splits.train
    numeric = [name for name, kind in feature_types.items() if kind == "numeric"]
    kept = preprocess.drop_outlier_rows(splits.train, columns=numeric, method=str(outliers["method"]),
                                        threshold=float(outliers.get("threshold", 1.5)))
    if report is not None:
        report.record("outliers", len(splits.train), len(kept),
                      f"cleaning.outliers: {outliers['method']} beyond {float(outliers.get('threshold', 1.5)):g}, "
                      "drop", part="train")
    return kept


def _cluster(distributed: Mapping[str, Any] | None, backend: str, build_pipeline: Any,
             locations: Mapping[str, str] | None, checkpoint_dir: Path | None,
             resume: bool) -> tuple[dict[str, Any] | None, Any, Any]:
    """``hardware.distributed``'s engine, connected: (where it runs, for the report; the search's trial runner;
    the final fit's loop runner for a back end the engine trains, else None). (None, None, None) without one."""
    from .distributed import engine_for
    from .registry import ENGINES

    engine = engine_for(distributed, modules=(getattr(build_pipeline, "__module__", "") or "",),
                        locations=locations)
    if engine is None:
        return None, None, None
    declared = ENGINES[engine.cluster.engine]
    loop_runner = None
    if backend in {b.value for b in declared.trains}:
        # checkpoints on the storage every worker reaches: the project's checkpoints/ on one machine (on a
        # cluster, a shared volume mounted there; see docs/scale.md)
        loop_runner = engine.loop_runner(storage=checkpoint_dir / "ray" if checkpoint_dir is not None else None,
                                         resume=resume, backend=backend)
    described = engine.describe()
    described["trains"] = loop_runner is not None
    return described, engine.trial_runner(), loop_runner


def _request(task: str, scoring: str, seed: int, positive_class: Any, cv: Any, *,
             space: Mapping[str, Any] | None = None, search: SearchSettings | None = None,
             cpus: int | None = None, validation: tuple[Any, Any] | None = None, accelerator: str = "auto",
             checkpoint_dir: Path | None = None, resume: bool = False, runner: Any = None) -> Any:
    from .api import SearchRequest

    return SearchRequest(space=dict(space or {}), method=search.method if search else "bayesian",
                         trials=search.trials if search else 0, timeout_s=search.timeout_s if search else None,
                         cv=cv, scoring=scoring,
                         greater_is_better=METRICS[scoring].higher_is_better if scoring in METRICS else True,
                         seed=seed, positive_class=True if _kind(task) == "anomaly" else positive_class,
                         n_jobs=cpus or 1, validation=validation, accelerator=accelerator,
                         checkpoint_dir=checkpoint_dir, resume=resume, runner=runner)


def _validation(splits: Split, features: Sequence[str], target: str | None, task: str,
                positive_class: Any) -> tuple[Any, Any] | None:
    """The validation split's rows and labels (as a fit sees them), or None when the spec holds none out."""
    if splits.validation is None or not len(splits.validation):
        return None
    X, y = _xy(splits.validation, features, target)
    return X, _fit_labels(task, y, positive_class)


def _augmentation(augmentation: Mapping[str, Any] | None, feature_types: Mapping[str, str] | None,
                  seed: int) -> Any:
    """``data.augmentation``'s text part (``text.augment.TextAugmentation``), or None when it asks for none."""
    if not augmentation or not augmentation.get("text"):
        return None
    from .text import augment

    return augment.from_spec(augmentation, feature_types or {}, seed)


def _augmented_rows(X: Any, y: Any, settings: Any, report: Any) -> tuple[Any, Any]:
    """The final fit's training rows with their perturbed copies (recorded in the data report)."""
    if settings is None:
        return X, y
    from .text import augment

    X_out, y_out, counts = augment.augment(X, y, settings)
    if report is not None:
        report.record("augmentation", len(X), len(X_out), f"{settings.describe()}: {counts.describe()}", part="train")
    return X_out, y_out


def train(build_pipeline: Callable[[dict[str, Any] | None], Any], splits: Split, *, features: Sequence[str],
          target: str | None, task: str, scoring: str, seed: int, search: SearchSettings | None = None,
          rebalance: str = "none", positive_class: Any = None, outliers: Mapping[str, Any] | None = None,
          feature_types: Mapping[str, str] | None = None, locations: Mapping[str, str] | None = None,
          report: Any = None, split_rules: Mapping[str, Any] | None = None, cpus: int | None = None,
          backend: str = "sklearn", training: Mapping[str, Any] | None = None, accelerator: str = "auto",
          checkpoint_dir: Path | None = None, resume: bool = False, prune: float = 0.0,
          augmentation: Mapping[str, Any] | None = None, distributed: Mapping[str, Any] | None = None) -> Trained:
    """Search the space (when given) with cross-validation on the training split, then fit.

    The folds follow ``split_rules`` (``data.split``: groups and time order, see :func:`_cv`), and
    ``rebalance`` (``cleaning.imbalance``) applies inside every training fold as it does to the
    final fit. ``report`` (``data.DataReport``) records the rows outliers and resampling remove or add.
    ``cpus`` (``hardware.cpus``): the search cross-validates that many folds at once, and the final fit
    uses that many threads; unset, one. ``backend`` (``model.backend``) fits, searches and exports (see
    ``aispec.runtime.registry``).

    For back ends with a training loop (capability ``training_options``): ``training`` is the spec's
    ``training`` section, ``accelerator`` ``hardware.accelerator``, ``checkpoint_dir`` where checkpoints
    go and ``resume`` whether to continue from the last one (``--resume``); the validation split (when
    the spec holds one out) is handed to the fit and the search, which back ends that use one
    (``validation_split``) use, and models fitted in boosting rounds (xgboost, lightgbm) stop early on
    when ``training`` sets ``early_stopping``. ``prune`` (``deployment.optimize.prune``): back ends that can prune
    (``prune``) prune the fitted model and keep it pruned only when it holds. ``augmentation``
    (``data.augmentation``) adds altered copies of training images to the final fit (the search
    cross-validates on the images as they are); its text part adds perturbed copies of training rows to
    every training fold of the search and to the final fit (``text.augment``).

    ``distributed`` (``hardware.distributed``): with an engine, the search's trials run on its cluster, and
    the final fit too for the back ends the engine trains (``registry.ENGINES``); see
    ``aispec.runtime.distributed``.
    """
    from .api import FitSettings
    from .registry import backend as get_backend

    if _series(task):
        from .series import workflow as series_flow

        # a network forecaster reads the training section, device, checkpoints and --resume from these
        fit = FitSettings(seed=seed, cpus=cpus, training=dict(training or {}), accelerator=accelerator,
                          checkpoint_dir=checkpoint_dir, resume=resume, scoring=scoring)
        return series_flow.train(build_pipeline, splits, task=task, target=target, scoring=scoring, seed=seed,  # type: ignore[no-any-return]
                                 search=search, backend=backend, settings=fit)
    engine = get_backend(backend)
    cluster, trial_runner, loop_runner = _cluster(distributed, backend, build_pipeline, locations, checkpoint_dir,
                                                  resume)
    text_augmentation = _augmentation(augmentation, feature_types, seed)
    rows = _training_rows(splits, outliers, feature_types or {}, report)
    X, y = _xy(rows, features, target)
    positive_class = _positive(task, positive_class, y)
    labels = _fit_labels(task, y, positive_class)
    # the validation split goes to the back end: back ends that declare `validation_split` and models fitted in
    # boosting rounds (early stopping) use it; for the others the check warns that it is held out for nothing
    held_out = _validation(splits, features, target, task, positive_class)
    result = None
    params: dict[str, Any] = {}
    validation = None
    if search is not None and search.space:
        if _kind(task) == "anomaly" and labels is None:
            raise ConfigError("a search for an anomaly detector needs labelled anomalies to score it",
                              where=(locations or {}).get("model.search"),
                              hint="set problem.target to a label column (used for evaluation only), or "
                                   "remove model.search")
        cv, validation = _cv(task, search.folds, seed, labels, rows=rows, rules=split_rules)
        make = engine.prepare(build_pipeline, task=task, rebalance=rebalance, seed=seed)
        if text_augmentation is not None:
            from .text.augment import wrap

            make = wrap(make, text_augmentation)
        result = engine.search(make, X, labels,
                               _request(task, scoring, seed, positive_class, cv, space=search.space, search=search,
                                        cpus=cpus, validation=held_out, accelerator=accelerator,
                                        checkpoint_dir=checkpoint_dir, resume=resume, runner=trial_runner))
        params = dict(result.best_params)
        validation = result.validation or validation
    pipeline = build_pipeline(params or None)
    # images: the final fit only (static copies, or fresh ones each epoch where the back end draws them)
    X, labels, per_epoch = _augment(task, X, labels, augmentation, seed, report,
                                    per_epoch=engine.info.can("epoch_augmentation"))
    settings = FitSettings(seed=seed, cpus=cpus, rebalance=rebalance, training=dict(training or {}),
                           accelerator=accelerator, checkpoint_dir=checkpoint_dir, resume=resume, validation=held_out,
                           scoring=scoring, positive_class=positive_class, augmentation=per_epoch,
                           loop_runner=loop_runner)
    X, labels = _augmented_rows(X, labels, text_augmentation, report)  # text: the folds above and the final fit
    start = time.perf_counter()
    pipeline = engine.fit(pipeline, X, labels if _kind(task) == "supervised" else None, settings=settings, task=task,
                          report=report)
    fit_seconds = time.perf_counter() - start
    if cluster is not None and hasattr(loop_runner, "trained"):  # scikit-learn: only some families train there
        cluster["trains"] = loop_runner.trained > 0
    pruning = None
    if prune > 0 and engine.info.can("prune") and _kind(task) == "supervised":
        X_test, y_test = _xy(splits.test, features, target)
        decide = (*held_out, "validation") if held_out is not None else (X_test, y_test, "test")
        pipeline, pruning = engine.prune(pipeline, prune, decide=decide, test=(X_test, y_test), metrics=[scoring],
                                         primary=scoring, positive_class=positive_class)
    family = engine.describe(pipeline).split("(")[0]
    return Trained(pipeline, family, params, task, target, list(features), positive_class, fit_seconds, result,
                   validation=validation, scoring=scoring, split_rules=dict(split_rules or {}), backend=backend,
                   pruning=pruning, distributed=cluster)


def train_auto(build_pipeline: Callable[[Any], Any], splits: Split, *, candidates: Sequence[str], budget_s: float,
               features: Sequence[str], target: str | None, task: str, scoring: str, folds: int, seed: int,
               positive_class: Any = None, outliers: Mapping[str, Any] | None = None,
               feature_types: Mapping[str, str] | None = None,
               locations: Mapping[str, str] | None = None, rebalance: str = "none", report: Any = None,
               split_rules: Mapping[str, Any] | None = None, cpus: int | None = None,
               backend: str = "sklearn", augmentation: Mapping[str, Any] | None = None) -> Trained:
    """`family: auto`: a budgeted selection over ``candidates`` (cross-validated on the training split,
    folds, resampling and text augmentation as in :func:`train`); with image augmentation, the chosen
    model is fitted again on the augmented training split."""
    from .preprocess import Resampled
    from .registry import backend as get_backend

    if _series(task):
        from .series import workflow as series_flow

        def make_for(family: str) -> Callable[[dict[str, Any] | None], Any]:
            return lambda params: build_pipeline(family, params)  # type: ignore[call-arg]

        return series_flow.train_auto(make_for, splits, candidates=candidates, budget_s=budget_s,  # type: ignore[no-any-return]
                                      task=task, target=target, scoring=scoring, folds=folds, backend=backend)
    engine = get_backend(backend)
    text_augmentation = _augmentation(augmentation, feature_types, seed)
    rows = _training_rows(splits, outliers, feature_types or {}, report)
    X, y = _xy(rows, features, target)
    positive_class = _positive(task, positive_class, y)
    labels = _fit_labels(task, y, positive_class)
    cv, validation = _cv(task, folds, seed, labels, rows=rows, rules=split_rules)
    make = engine.prepare(build_pipeline, task=task, rebalance=rebalance, seed=seed)
    if text_augmentation is not None:
        from .text.augment import wrap

        make = wrap(make, text_augmentation)
    start = time.perf_counter()
    result = engine.auto(make, X, labels, task=task, candidates=candidates, budget_s=budget_s,
                         request=_request(task, scoring, seed, positive_class, cv, cpus=cpus))
    elapsed = time.perf_counter() - start
    estimator = result.estimator
    if text_augmentation is not None:  # the selection refit on augmented rows: keep the estimator it fitted
        from .text.augment import Augmented

        assert isinstance(estimator, Augmented)
        if report is not None:
            report.record("augmentation", len(X), len(X) + estimator.counts_.copies,
                          f"{text_augmentation.describe()}: {estimator.counts_.describe()}", part="train")
        estimator = estimator.estimator_
        result.estimator = estimator
    if isinstance(estimator, Resampled):  # the selection refit on resampled rows: keep the fitted pipeline
        if report is not None:
            report.record(rebalance, estimator.rows_in_, estimator.rows_out_,
                          "cleaning.imbalance: classes balanced for the fit", part="train")
        estimator = estimator.pipeline_
        result.estimator = estimator
    X_aug, y_aug, _ = _augment(task, X, labels, augmentation, seed, report)
    if X_aug is not X:
        from sklearn.base import clone  # type: ignore[import-untyped]

        from .api import FitSettings

        estimator = engine.fit(clone(estimator), X_aug, y_aug if _kind(task) == "supervised" else None,
                               settings=FitSettings(seed=seed, cpus=cpus, rebalance=rebalance), task=task,
                               report=report)
        result.estimator = estimator
    return Trained(estimator, result.family, dict(result.params), task, target, list(features),
                   positive_class, elapsed, auto=result, validation=validation, scoring=scoring,
                   split_rules=dict(split_rules or {}), backend=backend)


# ------------------------------------------------------------------------- evaluation


def _quality(names: Sequence[str], task: str) -> list[str]:
    return [n for n in names if n in METRICS and METRICS[n].kind == "quality" and task in METRICS[n].tasks]


def _scores(pipeline: Any, X: Any) -> Any:
    if hasattr(pipeline, "predict_proba"):
        try:
            return pipeline.predict_proba(X)
        except (AttributeError, NotImplementedError):
            return None
    return None


def evaluate(trained: Trained, splits: Split, *, metrics: Sequence[str], sensitive: Sequence[str] = (),
             importance_repeats: int = 5, pii: Sequence[str] = ()) -> Evaluation:
    """Metrics, per-class and per-group results and plots on the test split, and the test rows'
    predictions (``Evaluation.predictions``, saved as ``predictions.csv``) from which every figure can
    be recomputed. A sensitive attribute that is also PII appears only as pseudonymous group names."""
    if _series(trained.task):
        from .series import workflow as series_flow

        return series_flow.evaluate(trained, splits, metrics=metrics)  # type: ignore[no-any-return]
    kind = _kind(trained.task)
    X_test, y_test = _xy(splits.test, trained.features, trained.target)
    X_train, y_train = _xy(splits.train, trained.features, trained.target)
    names = _quality(metrics, trained.task)
    evaluation = Evaluation(metrics={}, split_sizes=splits.sizes())
    if kind == "supervised":
        _evaluate_supervised(trained, evaluation, names, X_train, y_train, X_test, y_test, importance_repeats,
                             rows=splits.train)
    elif kind == "clustering":
        _evaluate_clustering(trained, evaluation, names, X_train, y_train, X_test, y_test)
    else:
        _evaluate_anomaly(trained, evaluation, names, X_test, y_test)
    evaluation.metrics["train_time_s"] = round(trained.fit_seconds, 4)
    present = [c for c in sensitive if c in splits.test.columns]
    groups = _groups(splits.test[present], private=set(pii)) if present else None
    if groups is not None and evaluation.predictions is not None:
        for column in groups.columns:
            evaluation.predictions[f"group:{column}"] = groups[column].to_numpy()
    if groups is not None and kind == "supervised" and y_test is not None:
        y_pred = evaluation.predictions["prediction"].to_numpy()
        evaluation.per_group = metric_fns.per_group(groups, y_test, y_pred, task=trained.task,
                                                    positive_class=trained.positive_class)
        if trained.task in CLASSIFICATION:
            fair = [n for n, m in METRICS.items() if m.kind == "fairness"]
            evaluation.fairness = metric_fns.fairness(groups, y_test, y_pred, fair,
                                                      positive_class=trained.positive_class)
            evaluation.metrics.update(evaluation.fairness)
    return evaluation


def _groups(frame: Any, *, private: set[str]) -> Any:
    """The sensitive columns of the test rows; a PII column's values replaced by ``group 1``, ``group 2``,
    ... (numbered by size), so fairness is measured without its values leaving the data."""
    out = frame.copy()
    for column in out.columns:
        if column in private:
            counts = out[column].astype(str).value_counts()
            names = {value: f"group {i + 1}" for i, value in enumerate(counts.index)}
            out[column] = out[column].astype(str).map(names)
    return out


def _predictions(index: Any, y_true: Any, y_pred: Any, scores: Any = None,
                 columns: Sequence[Any] | None = None) -> Any:
    """The test rows' truth, prediction and scores, one row per test row (``row`` = the source row)."""
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]

    from aispec.schemas.labels import label_text

    frame = pd.DataFrame({"row": list(index)})
    if y_true is not None:
        frame["truth"] = np.asarray(y_true, dtype=object)
    frame["prediction"] = np.asarray(y_pred, dtype=object)
    if scores is not None:
        matrix = np.asarray(scores, dtype=float)
        if matrix.ndim == 1:
            frame["score"] = matrix
        else:
            for j in range(matrix.shape[1]):
                name = label_text(columns[j]) if columns is not None and j < len(columns) else str(j)
                frame[f"score:{name}"] = matrix[:, j]
    return frame


def _evaluate_supervised(trained: Trained, ev: Evaluation, names: list[str], X_train: Any, y_train: Any,
                         X_test: Any, y_test: Any, repeats: int, rows: Any = None) -> None:
    from . import plots

    pipeline = trained.pipeline
    y_pred = pipeline.predict(X_test)
    classification = trained.task in CLASSIFICATION
    classes = list(pipeline.classes_) if classification and hasattr(pipeline, "classes_") else None
    y_score = _scores(pipeline, X_test) if classification else None
    score_kind = "probabilities"
    if classification and y_score is None and hasattr(pipeline, "decision_function"):
        y_score, score_kind = pipeline.decision_function(X_test), "decision"
    ev.metrics.update(metric_fns.compute(trained.task, names, y_true=y_test, y_pred=y_pred,
                                         y_score=y_score if score_kind == "probabilities" else None,
                                         labels=classes, positive_class=trained.positive_class, notes=ev.notes))
    ev.train_metrics = metric_fns.compute(
        trained.task, names, y_true=y_train, y_pred=pipeline.predict(X_train),
        y_score=_scores(pipeline, X_train) if classification else None, labels=classes,
        positive_class=trained.positive_class)
    ev.predictions = _predictions(X_test.index, y_test, y_pred, y_score, classes)
    if classification:
        if len(classes or []) == 2 or trained.positive_class is not None:
            label = trained.positive_class if trained.positive_class is not None else (classes or [None])[-1]
            ev.positive_class = {"label": label, "source": "spec" if trained.positive_class is not None
                                 else "the last label (problem.positive_class not set)"}
        shown = list(dict.fromkeys([*(classes or []), *metric_fns.labels_of(y_test, y_pred)]))
        ev.per_class = metric_fns.per_class(y_test, y_pred, classes or [])
        ev.plots["confusion_matrix"] = plots.confusion_matrix(y_test, y_pred, shown)
        if y_score is not None and score_kind == "probabilities" and classes is not None:
            ev.plots["roc_curve"] = plots.roc_curve(y_test, y_score, classes, positive_class=trained.positive_class)
            ev.plots["pr_curve"] = plots.pr_curve(y_test, y_score, classes, positive_class=trained.positive_class)
    else:
        ev.plots["residuals"] = plots.residuals(y_test, y_pred)
    if task_info(trained.task).modality == "image":
        # permuting the one image column says nothing; the report shows test images with their labels instead
        from .images.plots import examples

        ev.plots["examples"] = examples(X_test, y_test, y_pred)
    else:
        ev.plots["feature_importance"] = _importance_plot(pipeline, X_test, y_test, trained, repeats)
    # a learning curve refits the model 15 times: only where refitting is cheap (the back end says so)
    curve = _learning_curve(pipeline, X_train, y_train, trained, rows) if _cheap_refit(trained) else None
    if curve is not None:
        ev.plots["learning_curve"] = curve
    rounds = boosting_rounds(trained)  # a boosting model that stopped early: its validation curve
    if rounds is not None:
        ev.plots["boosting_rounds"] = plots.boosting_rounds(rounds["history"][rounds["monitor"]],
                                                            monitor=rounds["monitor"], best_round=rounds["rounds"],
                                                            ceiling=rounds["ceiling"])
    history = getattr(pipeline, "history_", None)  # a model trained in epochs keeps its per-epoch figures
    if isinstance(history, Mapping) and history.get("epochs"):
        ev.plots["training_curves"] = plots.training_curves(history["epochs"], best_epoch=history.get("best_epoch"))


def _cheap_refit(trained: Trained) -> bool:
    from .registry import backend as get_backend

    return bool(get_backend(trained.backend).info.can("cheap_refit"))


def _importance_plot(pipeline: Any, X: Any, y: Any, trained: Trained, repeats: int) -> bytes:
    from sklearn.inspection import permutation_importance  # type: ignore[import-untyped]

    from . import plots

    result = permutation_importance(pipeline, X, y, n_repeats=repeats, random_state=0, n_jobs=1)
    values = {name: float(v) for name, v in zip(trained.features, result.importances_mean, strict=True)}
    return plots.feature_importance(values, std=list(result.importances_std))


def _learning_curve(pipeline: Any, X: Any, y: Any, trained: Trained, rows: Any) -> bytes | None:
    """Training and cross-validated scores of the primary metric at five training sizes (skipped on
    tiny data); folds follow the split's rules like model selection's."""
    from sklearn.base import clone
    from sklearn.model_selection import learning_curve

    from . import plots
    from .search import get_scorer

    if len(X) < 50:
        return None
    metric = trained.scoring or ("accuracy" if trained.task in CLASSIFICATION else "r2")
    try:
        cv, _ = _cv(trained.task, 3, 0, y, rows=rows, rules=trained.split_rules)
        scorer = get_scorer(metric, y=y, positive_class=trained.positive_class)
        sizes, train_scores, val_scores = learning_curve(clone(pipeline), X, y, cv=cv, n_jobs=1, scoring=scorer,
                                                         train_sizes=[0.2, 0.4, 0.6, 0.8, 1.0])
    except (ValueError, ConfigError):
        return None  # e.g. a class too rare for the smallest size: the plot is optional
    return plots.learning_curve(list(sizes), train_scores, val_scores, metric=metric)


def _evaluate_clustering(trained: Trained, ev: Evaluation, names: list[str], X_train: Any, y_train: Any,
                         X_test: Any, y_test: Any) -> None:
    pipeline = trained.pipeline
    model = pipeline.named_steps["model"]
    usable = [n for n in names if METRICS[n].needs != "target" or y_test is not None]
    if not hasattr(model, "predict"):
        # dbscan and agglomerative label only the rows they were fitted on: their figures describe the
        # training rows' clusters (clustering the test rows afresh would be another model)
        transformed = pipeline.named_steps["preprocess"].transform(X_train)
        assigned = model.labels_
        ev.scored_on = "train"
        ev.metrics.update(metric_fns.compute(trained.task, usable, y_true=y_train, y_pred=assigned, X=transformed,
                                             notes=ev.notes))
        ev.predictions = _predictions(X_train.index, y_train, assigned)
        return
    transformed = pipeline.named_steps["preprocess"].transform(X_test)
    assigned = model.predict(transformed)
    ev.metrics.update(metric_fns.compute(trained.task, usable, y_true=y_test, y_pred=assigned, X=transformed,
                                         notes=ev.notes))
    ev.predictions = _predictions(X_test.index, y_test, assigned)


def _evaluate_anomaly(trained: Trained, ev: Evaluation, names: list[str], X_test: Any, y_test: Any) -> None:
    from . import plots

    pipeline = trained.pipeline
    flags = pipeline.predict(X_test)
    scores = -pipeline.decision_function(X_test)
    usable = [n for n in names if y_test is not None or n == "anomaly_rate"]
    ev.metrics.update(metric_fns.compute(trained.task, usable, y_true=y_test, y_pred=flags, y_score=scores,
                                         positive_class=trained.positive_class, notes=ev.notes))
    ev.predictions = _predictions(X_test.index, y_test, metric_fns.anomaly_flags(flags), scores)
    if y_test is not None:
        ev.positive_class = {"label": trained.positive_class, "source": "anomalous label"}
        truth = metric_fns.anomaly_truth(y_test, trained.positive_class)
        ev.plots["roc_curve"] = plots.roc_curve(truth, scores, [False, True], positive_class=True)
        ev.plots["pr_curve"] = plots.pr_curve(truth, scores, [False, True], positive_class=True)


# ----------------------------------------------------------------------------- export


def export(trained: Trained, splits: Split, *, out_dir: Path, latency_rows: int = 50, quantize: str = "none",
           metrics: Sequence[str] = (), primary: str | None = None) -> Exported:
    """The whole pipeline to ONNX (by its back end), compared with the back end's own predictions on the
    test split; single-row latency.

    ``quantize`` (``deployment.optimize.quantize``): ``int8`` makes an int8 model with onnxruntime's
    dynamic quantization and serves it as ``model.onnx`` (the float model kept as
    ``model.fp32.onnx``) when it agrees with the float model on the test split; ``metrics`` /
    ``primary`` are compared between the two (see :mod:`aispec.runtime.quantize`). The operational
    metrics (latency, model size) are the served model's.
    """
    from . import quantize as quantize_mod
    from .export import tokenizer_feeds
    from .registry import backend as get_backend

    if _series(trained.task):
        from .series import workflow as series_flow

        return series_flow.export(trained, splits, out_dir=out_dir, latency_rows=latency_rows)  # type: ignore[no-any-return]
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in (quantize_mod.FLOAT_FILE, "model.int8.onnx"):
        (out_dir / stale).unlink(missing_ok=True)
    X_test = splits.test[trained.features]
    path = out_dir / "model.onnx"
    try:
        report = get_backend(trained.backend).export(trained.pipeline, X_test, path, task=trained.task)
    except ExportError as error:
        path.unlink(missing_ok=True)
        return Exported(skipped=error.message, operational={"train_time_s": round(trained.fit_seconds, 4)})
    session, rows = _onnx_session(path, X_test, report, latency_rows)
    latency = metric_fns.latency(lambda row: session.run(None, row), rows)
    size_bytes = report.size_bytes
    quantized = None
    if quantize != "none":
        y_test = splits.test[trained.target] if trained.target is not None and trained.target in splits.test else None
        quantized = quantize_mod.quantize(
            path, X_test, mode=quantize, columns=report.columns, inputs=report.inputs, compared=report.compared,
            score=_onnx_scorer(trained, X_test, y_test, metrics, report), primary=primary,
            latency_rows=latency_rows, tokenizer=tokenizer_feeds(report, out_dir))
        if quantized is not None and quantized.served == "int8":
            report.path = quantize_mod.FLOAT_FILE  # the float model the parity figures are about (in artifacts/)
            size_bytes = quantized.int8_bytes or size_bytes
            served = quantized.latency["int8"]
            latency = {k: v for k, v in served.items() if not k.startswith("batch_")}
    operational = {
        "p50_latency_ms": latency["p50_latency_ms"],
        "p95_latency_ms": latency["p95_latency_ms"],
        "p99_latency_ms": latency["p99_latency_ms"],
        **{f"model_{k}": latency[k] for k in ("p50_latency_ms", "p95_latency_ms", "p99_latency_ms")},
        "model_size_mb": round(size_bytes / 1e6, 4),
        "train_time_s": round(trained.fit_seconds, 4),
    }
    return Exported(report, latency, None, operational, quantized, model_latency=dict(latency), directory=out_dir)


def require_serving(spec: Mapping[str, Any], *, locations: Mapping[str, str] | None = None) -> None:
    """``deployment.target: rest``: ConfigError naming ``pip install 'aispec[serve]'`` when the service's
    libraries are missing, before any training time is spent (``measure_service`` needs them)."""
    from .errors import where
    from .serving.loopback import missing_serving_libraries

    missing = missing_serving_libraries() if spec["deployment"]["target"] == "rest" else []
    if missing:
        raise ConfigError(f"deployment.target is rest: the run measures the REST service's latency over HTTP, "
                          f"which needs {', '.join(missing)}", where=where(locations or {}, "deployment.target"),
                          hint="pip install 'aispec[serve]' (or pip install -r requirements.txt)")


def measure_service(trained: Trained, splits: Split, exported: Exported, *, spec: Mapping[str, Any],
                    evaluation: Evaluation, spec_hash: str = "", requests: int = 200, warmup: int = 20,
                    locations: Mapping[str, str] | None = None) -> Exported:
    """``deployment.target: rest``: the single-row latency of the generated service over loopback HTTP.

    Starts the real app on the exported model (``model.onnx`` and the ``serving.json`` that ``document``
    will write, in a temporary folder) on 127.0.0.1, sends ``requests`` sequential single-row POSTs of
    test rows as a client sends them over one keep-alive connection, and makes those figures the
    ``p50/p95/p99_latency_ms`` the gates read; the in-process figures stay as ``model_*``. Other targets,
    or no ONNX model: ``exported`` unchanged (latency in process, labelled so). ConfigError (exit 2)
    when the serving libraries are missing.
    """
    import shutil
    import tempfile

    from .serving import loopback

    if spec["deployment"]["target"] != "rest" or exported.onnx is None:
        return exported
    require_serving(spec, locations=locations)
    if _series(trained.task):
        from .series import workflow as series_flow

        return series_flow.measure_service(trained, splits, exported, spec=spec, evaluation=evaluation,  # type: ignore[no-any-return]
                                           spec_hash=spec_hash, requests=requests, warmup=warmup)
    meta = _serving_metadata(spec, trained, splits, evaluation, exported, spec_hash, gates=None)
    if meta is None:
        return exported
    from .serving.contract import write_serving_metadata

    with tempfile.TemporaryDirectory(prefix="aispec-latency-") as tmp:
        folder = Path(tmp)
        assert exported.directory is not None
        shutil.copyfile(exported.directory / "model.onnx", folder / "model.onnx")
        if exported.onnx.tokenizer:  # a graph reading token ids: the service tokenises with this file
            name = str(exported.onnx.tokenizer["file"])
            shutil.copyfile(exported.directory / name, folder / name)
        write_serving_metadata(folder / "serving.json", meta)
        records = splits.test[trained.features].to_dict("records")
        with loopback.loopback_service(folder, log_dir=folder / "logs") as client:
            bodies = loopback.request_rows(meta, records, validate=client.row_model)

            def one(body: bytes) -> None:
                status, answer = client.post(body)
                if status != 200:
                    raise ConfigError(f"the service answered {status} to a test row: {answer[:300]!r}")

            http = metric_fns.latency(one, bodies, repeat=requests, warmup=warmup)
    exported.latency = {**http, "rows": float(len(bodies))}
    exported.latency_source = "http"
    exported.operational.update({k: http[k] for k in ("p50_latency_ms", "p95_latency_ms", "p99_latency_ms")})
    return exported


def _onnx_labels(labels: Any, classes: Sequence[Any] | None) -> Any:
    """ONNX labels as the pipeline's classes (booleans come back from ONNX as 0/1 integers)."""
    import numpy as np

    flat = np.asarray(labels).ravel()
    if not classes:
        return flat
    lookup: dict[Any, Any] = {}
    for c in classes:
        lookup.setdefault(c.item() if hasattr(c, "item") else c, c)
        lookup.setdefault(str(c), c)
    return np.asarray([lookup.get(v, v) for v in flat.tolist()])


def _onnx_scorer(trained: Trained, X: Any, y: Any, names: Sequence[str],
                 report: Any) -> Callable[[Mapping[str, Any]], dict[str, float]] | None:
    """The task's quality metrics computed from an ONNX model's outputs on ``X`` (the test split), the
    way :func:`evaluate` computes them from scikit-learn; None when there is nothing to compute."""
    from .errors import AispecRuntimeError

    kind = _kind(trained.task)
    quality = _quality(names, trained.task)
    pipeline = trained.pipeline
    if kind == "supervised":
        quality = quality if y is not None else []
    elif kind == "clustering":
        quality = [n for n in quality if METRICS[n].needs != "target" or y is not None]
    else:
        quality = [n for n in quality if y is not None or n == "anomaly_rate"]
    if not quality:
        return None
    classification = trained.task in CLASSIFICATION
    classes = list(pipeline.classes_) if classification and hasattr(pipeline, "classes_") else None
    first = report.outputs[0] if report.outputs else "variable"
    probabilities = str(report.compared).startswith("predict_proba")
    transformed = pipeline.named_steps["preprocess"].transform(X) if kind == "clustering" else None

    def score(outputs: Mapping[str, Any]) -> dict[str, float]:
        try:
            if kind == "supervised" and classification:
                y_score = outputs.get("probabilities") if probabilities else None
                labels = _onnx_labels(outputs["label"], classes)
                return metric_fns.compute(trained.task, quality, y_true=y, y_pred=labels, y_score=y_score,
                                          labels=classes, positive_class=trained.positive_class)
            if kind == "supervised":
                return metric_fns.compute(trained.task, quality, y_true=y, y_pred=outputs[first].ravel())
            if kind == "clustering":
                return metric_fns.compute(trained.task, quality, y_true=y, y_pred=outputs["label"].ravel(),
                                          X=transformed)
            scores = -outputs["scores"].ravel() if "scores" in outputs else None
            return metric_fns.compute(trained.task, quality, y_true=y, y_pred=outputs["label"].ravel(),
                                      y_score=scores, positive_class=trained.positive_class)
        except (AispecRuntimeError, KeyError, ValueError):
            return {}

    return score


def _onnx_session(path: Path, X: Any, report: Any, rows: int) -> tuple[Any, list[dict[str, Any]]]:
    """The exported model's session and the feeds of the first ``rows`` rows of ``X``, one row each (a graph
    reading token ids gets each text at its own length, as a request's)."""
    import onnxruntime as ort  # type: ignore[import-untyped]

    from .export import onnx_feeds, tokenizer_feeds

    options = ort.SessionOptions()
    options.log_severity_level = 3  # the graph optimiser's notes (unused initialisers) are not the user's business
    session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    tokens = tokenizer_feeds(report, path.parent)
    if tokens is not None:
        return session, [onnx_feeds(X.iloc[i:i + 1], report.columns, report.inputs, tokens)
                         for i in range(min(rows, len(X)))]
    feeds = onnx_feeds(X, report.columns, report.inputs)
    return session, [{name: value[i:i + 1] for name, value in feeds.items()} for i in range(min(rows, len(X)))]


# ------------------------------------------------------------------------------ gates


def check_gates(evaluation: Evaluation, exported: Exported, *, gates: Sequence[str],
                fairness_gates: Sequence[str] = (), locations: Mapping[str, str] | None = None,
                deployment: str = "none") -> Any:
    """Every acceptance and fairness criterion against the measured values, and, for a deployed model
    (``deployment``: ``deployment.target`` rest or batch), the gates the model itself must pass to be
    served: it was exported, and the exported graph gives the evaluated model's answers (ONNX parity).
    A model that fails any gate is never served as if it passed (the service refuses it)."""
    values = {**evaluation.metrics, **exported.operational}
    quality = metric_fns.check_gates(gates, values, locations=locations, section="metrics.acceptance")
    fair = metric_fns.check_gates(fairness_gates, values, locations=locations, section="compliance.fairness")
    system = metric_fns.GateReport(passed=True, gates=_deployment_gates(exported, deployment, locations or {}))
    return metric_fns.merge_gates(quality, fair, system)


def _deployment_gates(exported: Exported, deployment: str, locations: Mapping[str, str]) -> list[dict[str, Any]]:
    from .errors import where

    if deployment == "none":
        return []
    loc = where(locations, "deployment.target")
    if exported.onnx is None:
        return [{"criterion": "the model is exported to ONNX", "metric": "onnx_export", "op": "", "threshold": None,
                 "observed": None, "passed": False, "where": loc, "kind": "deployment",
                 "message": f"no ONNX model, and deployment.target is '{deployment}': {exported.skipped}"}]
    onnx = exported.onnx
    agree = onnx.label_agreement
    shown = f"label agreement {agree:.2%}, " if agree is not None else ""
    rows = "forecast values" if _series(str((onnx.contract or {}).get("task") or "regression")) else "test rows"
    message = (f"{onnx.runtime} vs {onnx.reference} on {onnx.n_rows} {rows} ({onnx.compared}): {shown}"
               f"largest difference {onnx.max_abs_diff:.3g} (mean {onnx.mean_abs_diff:.3g}) at scale {onnx.scale:.3g}")
    if not onnx.parity_ok:
        message += (f"; allowed: agreement >= {onnx.min_label_agreement:g}, differences <= {onnx.max_tol:g} "
                    f"(mean {onnx.tol:g}) of the scale")
    return [{"criterion": "the ONNX model gives the evaluated model's answers", "metric": "onnx_parity",
             "op": "", "threshold": None, "observed": agree if agree is not None else onnx.max_abs_diff,
             "passed": bool(onnx.parity_ok), "where": loc, "kind": "deployment", "message": message}]


def warnings(data_report: Any, evaluation: Evaluation, exported: Exported) -> list[str]:
    """What the user must see at the end of a run: data findings, metrics without a value, the
    class binary metrics measure when the spec did not name it, a failed export or parity check."""
    out = list(getattr(data_report, "warnings", []) or [])
    out += [f"{why}" for why in evaluation.notes.values()]
    positive = evaluation.positive_class
    if positive is not None and positive.get("source", "").startswith("the last label"):
        out.append(f"binary metrics measure class '{positive['label']}', {positive['source']}")
    for column, result in (evaluation.per_group or {}).items():
        for group in result.get("small") or []:
            n = int(result["groups"][group]["n"])
            out.append(f"group '{group}' of '{column}' has only {n} test rows: its rates are noisy, and the "
                       f"per-group and fairness figures may rest on it (at least {metric_fns.SMALL_GROUP} "
                       "rows per group are needed to judge it)")
    if evaluation.scored_on == "train":
        out.append("this clustering family labels only the rows it was fitted on: its figures describe the "
                   "training rows, and there is no model to export")
    if exported.onnx is not None and not exported.onnx.parity_ok:
        out.append("the ONNX model does not give the evaluated model's answers (see the onnx_parity gate)")
    return out


# -------------------------------------------------------------------------- documents


@dataclass
class Outputs:
    report: Path
    metrics: Path
    model_card: Path
    datasheet: Path
    model: Path | None
    serving: Path | None = None
    float_model: Path | None = None  # model.fp32.onnx, when the served model.onnx is the int8 one
    predictions: Path | None = None  # predictions.csv: the evaluated rows' truth, prediction and scores

    def paths(self) -> list[Path]:
        return [p for p in (self.report, self.model, self.float_model, self.serving, self.model_card, self.datasheet,
                            self.metrics, self.predictions) if p]


def _serving(spec: Mapping[str, Any], trained: Trained, splits: Split | None, evaluation: Evaluation,
             exported: Exported, spec_hash: str, out_dir: Path, gates: Any = None) -> Path | None:
    """`serving.json` beside `model.onnx`: the input contract, reference statistics, settings and gate
    results the ONNX service (`python -m aispec.runtime.serving artifacts`) needs."""
    from .serving.contract import write_serving_metadata

    meta = _serving_metadata(spec, trained, splits, evaluation, exported, spec_hash, gates=gates)
    return write_serving_metadata(out_dir / "serving.json", meta) if meta is not None else None


def _serving_metadata(spec: Mapping[str, Any], trained: Trained, splits: Split | None, evaluation: Evaluation,
                      exported: Exported, spec_hash: str, *, gates: Any) -> Any:
    """The `serving.json` dict, or None (no ONNX model, or not servable: `exported.skipped` says why)."""
    from .serving.contract import serving_metadata

    if _series(trained.task):
        from .series import workflow as series_flow

        try:
            return series_flow.serving_metadata(spec, trained, splits, evaluation, exported, spec_hash, gates=gates)
        except ValueError as error:
            exported.skipped = f"not servable: {error}"
            return None
    if exported.onnx is None or splits is None:
        return None
    onnx = exported.onnx.to_dict()
    contract = onnx.get("contract") or {}
    classes = list(contract.get("classes") or []) or (
        list(trained.pipeline.classes_) if hasattr(trained.pipeline, "classes_") else None)
    columns = _served_columns(spec, trained)
    quantization = exported.quantization
    if quantization is not None and quantization.served == "int8":
        onnx["size_bytes"] = quantization.int8_bytes  # serving.json describes the served file
    try:
        meta = serving_metadata(
            onnx=onnx, features=trained.features, columns=columns,
            frame=splits.train[trained.features], task=trained.task, target=trained.target, classes=classes,
            project_name=spec["project"]["name"], project_version=spec["project"]["version"],
            spec_hash=spec_hash, metrics={**evaluation.metrics, **exported.operational},
            deployment=spec["deployment"], monitoring=spec["monitoring"], pii=spec["compliance"]["pii"],
            seed=spec["data"]["split"]["seed"], created_at="",
            quantization=quantization.to_dict() if quantization is not None else None, gates=gates)
    except ValueError as error:
        exported.skipped = f"not servable: {error}"
        return None
    return meta


def _latency_section(exported: Exported) -> dict[str, Any]:
    """The report's latency: what the gates read (`source`: http or in_process) and the model call alone."""
    if not exported.latency:
        return {}
    return {**exported.latency, "source": exported.latency_source,
            "model": exported.model_latency if exported.latency_source == "http" else None}


def _served_columns(spec: Mapping[str, Any], trained: Trained) -> dict[str, Any] | None:
    """The declared columns as the service must check them: a column whose kind ``cleaning.impute``
    drops (rows with a missing value were removed before training) refuses a missing value."""
    declared = spec["data"]["columns"]
    impute = spec["data"]["cleaning"]["impute"]
    dropped = {kind for kind, setting in (("numeric", impute["numeric"]), ("boolean", impute["numeric"]),
                                          ("categorical", impute["categorical"]), ("text", impute["text"]))
               if setting == "drop"}
    if declared is None or not dropped:
        return declared  # type: ignore[no-any-return]
    return {name: ({**column, "nullable": False} if column["type"] in dropped else column)
            for name, column in declared.items()}


def document(*, spec: Mapping[str, Any], data_report: Any, trained: Trained, evaluation: Evaluation,
             exported: Exported, gates: Any, out_dir: Path, timings: Mapping[str, float] | None = None,
             splits: Split | None = None, spec_hash: str = "") -> Outputs:
    """report.html, metrics.json, model_card.md, datasheet.md and serving.json in ``out_dir``."""
    from . import cards, report
    from .registry import backend as get_backend

    engine = get_backend(trained.backend)
    onnx: Any = exported.onnx.to_dict() if exported.onnx is not None else {"skipped": True,
                                                                             "reason": exported.skipped}
    run: dict[str, Any] = {
        "spec": spec,
        "model": {"family": spec["model"]["family"] if trained.auto is None else f"auto → {trained.auto.family}",
                  "estimator": engine.describe(trained.pipeline), "params": trained.params,
                  "backend": engine.info.title, "uses_validation": engine.info.can("validation_split")},
        "metrics": {**evaluation.metrics, **exported.operational},
        "train_metrics": evaluation.train_metrics,
        "gates": gates,
        "per_class": evaluation.per_class,
        "per_group": evaluation.per_group,
        "fairness": evaluation.fairness,
        "latency": _latency_section(exported),
        "plots": evaluation.plots,
        "data": data_report,
        "split": evaluation.split_sizes,
        "search": trained.search,
        "auto": trained.auto,
        "onnx": onnx,
        "quantization": exported.quantization,
        "training": _training_section(trained),
        "boosting": boosting_rounds(trained),
        "pruning": trained.pruning,
        "distributed": trained.distributed,
        "timings": dict(timings or {}),
        "validation": trained.validation,
        "positive_class": evaluation.positive_class,
        "metric_notes": dict(evaluation.notes),
        "scored_on": evaluation.scored_on,
        "warnings": warnings(data_report, evaluation, exported),
        "baselines": evaluation.baselines,
        "forecast": evaluation.forecast,
    }
    predictions = _write_predictions(evaluation, out_dir)
    run["predictions"] = predictions.name if predictions is not None else None
    paths = report.write(out_dir, run)
    card = out_dir / "model_card.md"
    card.write_text(cards.model_card(run), encoding="utf-8")
    sheet = out_dir / "datasheet.md"
    sheet.write_text(cards.datasheet(run), encoding="utf-8")
    model = out_dir / "model.onnx"
    serving = _serving(spec, trained, splits, evaluation, exported, spec_hash, out_dir, gates=gates)
    float_model = out_dir / "model.fp32.onnx"
    return Outputs(paths.html, paths.metrics_json, card, sheet, model if model.exists() else None, serving,
                   float_model if float_model.exists() else None, predictions)


def _training_section(trained: Trained) -> dict[str, Any] | None:
    """How a model trained in epochs was trained (the settings it used, where, its per-epoch history), or
    None for a model that has no training loop."""
    from dataclasses import asdict, is_dataclass

    model = trained.pipeline
    history = getattr(model, "history_", None)
    if not isinstance(history, Mapping):
        return None
    settings = getattr(model, "settings_", None)
    return {"device": getattr(model, "device_", None), "mixed_precision": getattr(model, "mixed_precision_", None),
            "settings": asdict(settings) if is_dataclass(settings) and not isinstance(settings, type) else None,
            **dict(history)}


def boosting_rounds(trained: Trained) -> dict[str, Any] | None:
    """How many boosting rounds a model that stopped early kept, of its ceiling (``n_estimators``), and the
    watched value per round on the validation split; None for a model that did not stop early."""
    steps = getattr(trained.pipeline, "steps", None)
    final = steps[-1][1] if steps else trained.pipeline
    rounds = getattr(final, "rounds_", None)
    return dict(rounds) if isinstance(rounds, Mapping) else None


def _write_predictions(evaluation: Evaluation, out_dir: Path) -> Path | None:
    """``predictions.csv``: every evaluated row's truth, prediction and scores (and group, for
    fairness), so anyone can recompute every figure of metrics.json with their own tools."""
    if evaluation.predictions is None:
        return None
    path = out_dir / "predictions.csv"
    tmp = path.with_name(path.name + ".tmp")
    evaluation.predictions.to_csv(tmp, index=False, float_format="%.17g")
    tmp.replace(path)
    return path
