"""Resolution: every default that depends on other fields made explicit.

The resolved spec is what ``aispec show --resolved`` prints and what the
build plan is made from: a reader sees exactly which back end, metrics,
split and features a run will use.
"""

from __future__ import annotations

from aispec.runtime.registry import BACKENDS
from aispec.schemas.spec import EarlyStopping, Schedule, Spec
from aispec.schemas.vocabulary import (
    BOOSTING_PATIENCE,
    CLASSIFICATION_TASKS,
    DEFAULT_PRIMARY,
    DEFAULT_REPORT,
    FAMILIES,
    Backend,
    Task,
    auto_candidates,
    default_loss,
)

from .passes.context import Context

DEFAULT_AUTO_BUDGET = "30s"
_DEEP_DEFAULTS = {"optimizer": "adam", "learning_rate": 1e-3, "batch_size": 32, "epochs": 20, "checkpoint_every": 1}


def _scale_invariant(spec: Spec) -> bool:
    """Whether every model the spec can build ignores feature scaling (a tree, or an ensemble of trees)."""
    model = spec.model
    names = [m.family for m in model.ensemble.members] if model.ensemble is not None else [model.family]
    return all(name in FAMILIES and FAMILIES[name].scale_invariant for name in names)


def _forecasting(spec: Spec) -> dict[str, object]:
    """A series' season (from the frequency when the spec gives none; without either, the run reads the
    frequency from the data and its season then), lags (one season, at least 3) and multi-step strategy."""
    from aispec.runtime.series.clock import season_of

    problem = spec.problem
    season = problem.season or (season_of(problem.frequency) if problem.frequency else None)
    lags = problem.lags or (list(range(1, max(season, 3) + 1)) if season is not None else None)
    return {"season": season, "lags": lags, "multi_step": problem.multi_step or "recursive"}


def _boosting_stop(ctx: Context) -> EarlyStopping:
    """``training.early_stopping`` of a boosting family written out: patience in boosting rounds (20 unless
    written: rounds are far cheaper than epochs), watching ``val_loss`` unless told otherwise."""
    setting = ctx.spec.training.early_stopping
    given = setting if isinstance(setting, EarlyStopping) else EarlyStopping()
    written = ctx.written(("training", "early_stopping", "patience"))
    return given.model_copy(update={"patience": given.patience if written else BOOSTING_PATIENCE,
                                    "monitor": given.monitor or "val_loss"})


def resolve(ctx: Context) -> Spec:
    """A new Spec with derived defaults filled in (the input is not changed)."""
    spec = ctx.spec
    task = spec.problem.task
    family = FAMILIES.get(spec.model.family)
    backend = spec.model.backend or (family.default_backend if family else Backend.sklearn)

    primary = spec.metrics.primary or DEFAULT_PRIMARY[task]
    report = list(spec.metrics.report if spec.metrics.report is not None else DEFAULT_REPORT[task])
    if primary not in report:
        report.insert(0, primary)

    split = spec.data.split.model_copy(update={
        "stratify": spec.data.split.stratify if spec.data.split.stratify is not None
        else task in CLASSIFICATION_TASKS,
        "time_ordered": spec.data.split.time_ordered if spec.data.split.time_ordered is not None
        else task is Task.forecasting,
    })
    data_update: dict[str, object] = {"split": split}
    if _scale_invariant(spec) and spec.data.cleaning.scaling != "none":
        # trees split on thresholds: scaling changes nothing but the exported model's precision (AIS353)
        data_update["cleaning"] = spec.data.cleaning.model_copy(update={"scaling": "none"})
    features = ctx.features
    if task is Task.forecasting:
        features = []  # a forecast reads the series' own history only (AIS305 when features are written)
    if features is not None:
        data_update["features"] = features

    model_update: dict[str, object] = {"backend": backend}
    if spec.model.family == "auto" and spec.model.ensemble is None:
        from aispec.schemas.expressions import parse_duration

        model_update["budget"] = spec.model.budget or parse_duration(DEFAULT_AUTO_BUDGET)
        model_update["candidates"] = spec.model.candidates or auto_candidates(task)

    training = spec.training
    declared = BACKENDS.get(backend)
    if declared is not None and declared.can("training_options"):
        defaults = {**_DEEP_DEFAULTS, "loss": default_loss(task), "schedule": Schedule()}
        training = training.model_copy(update={k: getattr(training, k) if getattr(training, k) is not None else v
                                               for k, v in defaults.items()})

    problem = spec.problem
    if task is Task.forecasting:
        problem = problem.model_copy(update=_forecasting(spec))
    if family is not None and family.early_stopping and spec.model.ensemble is None and training.early_stopping:
        training = training.model_copy(update={"early_stopping": _boosting_stop(ctx)})

    return spec.model_copy(update={
        "problem": problem,
        "data": spec.data.model_copy(update=data_update),
        "model": spec.model.model_copy(update=model_update),
        "metrics": spec.metrics.model_copy(update={"primary": primary, "report": report}),
        "training": training,
    })
