"""Split, model, search and training rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aispec.schemas.expressions import Distribution
from aispec.schemas.spec import EarlyStopping, ImageFolderSource
from aispec.schemas.vocabulary import (
    CLUSTER_COUNT_PARAM,
    FAMILIES,
    LOSS_ALIASES,
    LOSSES,
    METRICS,
    Backend,
    Family,
    Param,
    Task,
    monitor_target,
)

from ..diagnostics import Diagnostic, choices_hint, did_you_mean
from ..source import Loc
from .context import Context


def check_split(ctx: Context) -> Iterator[Diagnostic]:
    split = ctx.spec.data.split
    task = ctx.spec.problem.task
    total = split.train + split.validation + split.test
    if abs(total - 1.0) > 1e-6:
        yield ctx.report("AIS330", f"split ratios add up to {total:g}, not 1 (train {split.train:g} + validation "
                                   f"{split.validation:g} + test {split.test:g})", ("data", "split"),
                         f"e.g. train: {1 - split.test - split.validation:g} keeps the other ratios", key=True)
    if split.stratify and task in (Task.regression, Task.forecasting):
        yield ctx.report("AIS331", f"cannot stratify on the continuous target of a {task.value} task",
                         ("data", "split", "stratify"), "remove 'stratify', or use a classification task")
    if split.stratify and task in (Task.clustering, Task.anomaly_detection) and ctx.spec.problem.target is None:
        yield ctx.report("AIS331", f"cannot stratify a {task.value} task without a target",
                         ("data", "split", "stratify"), "remove 'stratify'")
    if task is Task.forecasting and split.time_ordered is False:
        yield ctx.report("AIS332", "a random split of a time series lets the model see the future",
                         ("data", "split", "time_ordered"), "remove 'time_ordered: false'")
    if split.time_ordered and task is not Task.forecasting and ctx.spec.problem.time_column is None:
        yield ctx.report("AIS333", "a time-ordered split needs a column to order by",
                         ("data", "split", "time_ordered"), "set problem.time_column, or remove time_ordered")
    declared = ctx.declared
    if split.validation > 0 and declared is not None and not declared.can("validation_split"):
        if not boosts(ctx):
            yield ctx.report("AIS334", f"{declared.title} models do not use a validation split: {split.validation:g} "
                                       "of the rows would be held out for nothing", ("data", "split", "validation"),
                             "set validation: 0 and give the rows to training (search and auto cross-validate on "
                             "the training split)")
        elif not ctx.spec.training.early_stopping:
            yield ctx.report("AIS334", f"'{ctx.spec.model.family}' uses a validation split only to stop boosting "
                                       f"early, and training.early_stopping is not set: {split.validation:g} of the "
                                       "rows would be held out for nothing", ("data", "split", "validation"),
                             "set training.early_stopping: true, or validation: 0")
    model = ctx.spec.model
    is_auto = model.family == "auto" and model.ensemble is None
    searched = model.search is not None and bool(model.search.space) and model.search.cv is None
    uses_folds = is_auto or (searched and model.family != "auto")
    if split.folds is not None and not uses_folds:
        overridden = model.search is not None and model.search.cv is not None
        why = ("model.search.cv sets the folds of the search" if overridden else
               "it sets the cross-validation of a search or of family 'auto', and this model has neither")
        yield ctx.report("AIS344", f"data.split.folds is not used: {why}", ("data", "split", "folds"),
                         "remove folds" if overridden else "remove folds, or add model.search with a space", key=True)


def _check_family(ctx: Context, name: str, loc: Loc, backend: Backend | None) -> Iterator[Diagnostic]:
    task = ctx.spec.problem.task
    family = FAMILIES.get(name)
    if family is None:
        yield ctx.report("AIS340", f"unknown model family '{name}'", loc, choices_hint(name, FAMILIES))
        return
    if task not in family.tasks:
        fitting = sorted(f.name for f in FAMILIES.values() if task in f.tasks)
        yield ctx.report("AIS341", f"family '{name}' does not fit task '{task.value}'", loc,
                         did_you_mean(name, fitting) or f"families for {task.value}: {', '.join(fitting)}")
    if backend is not None and backend not in family.backends:
        yield ctx.report("AIS342", f"back end '{backend.value}' cannot build a '{name}' model",
                         ("model", "backend") if ctx.written(("model", "backend")) else loc,
                         f"'{name}' is built by: {', '.join(b.value for b in family.backends)}")


def check_model(ctx: Context) -> Iterator[Diagnostic]:
    model = ctx.spec.model
    yield from _check_family(ctx, model.family, ("model", "family"), model.backend)
    if ctx.family is not None:
        yield from _check_params(ctx, ctx.family, model.params, ("model", "params"))
    if model.family != "auto":
        for field in ("budget", "candidates"):
            if getattr(model, field) is not None:
                yield ctx.report("AIS344", f"'model.{field}' only applies to family 'auto'", ("model", field),
                                 "remove it, or set family: auto", key=True)
    if "max_features" in model.params:
        value = model.params["max_features"]
        yield from _isolation_forest_features(ctx, [value], ("model", "params", "max_features"), repr(value))
    for i, cand in enumerate(model.candidates or []):
        yield from _check_family(ctx, cand, ("model", "candidates", i), None)
    yield from _check_deployable(ctx)
    yield from _check_scaling(ctx)
    yield from _check_conv_blocks(ctx)
    if model.ensemble is not None:
        for i, member in enumerate(model.ensemble.members):
            yield from _check_family(ctx, member.family, ("model", "ensemble", "members", i), None)
            if (member_family := FAMILIES.get(member.family)) is not None:
                yield from _check_params(ctx, member_family, member.params,
                                         ("model", "ensemble", "members", i, "params"))
        if model.ensemble.final_estimator is not None:
            yield from _check_family(ctx, model.ensemble.final_estimator, ("model", "ensemble", "final_estimator"),
                                     None)
        if model.family != "auto" and ctx.written(("model", "family")):
            yield ctx.report("AIS345", f"an ensemble is given, so family '{model.family}' is not used",
                             ("model", "family"), "remove 'family' when you describe an ensemble")


def _check_params(ctx: Context, family: Family, params: dict[str, Any], loc: Loc) -> Iterator[Diagnostic]:
    """AIS343 and AIS357 on ``params`` given to ``family`` (the model's, or an ensemble member's)."""
    types = family.param_types
    for name, value in params.items():
        if name not in family.params:
            yield ctx.report("AIS343", f"'{family.name}' has no parameter '{name}'", (*loc, name),
                             did_you_mean(name, family.params) or _elsewhere(ctx, name, family)
                             or _param_list(family.params), key=True)
        elif name in types and (problem := types[name].problem(value)) is not None:
            yield ctx.report("AIS357", f"'{family.name}' parameter '{name}' takes {problem}, not {value!r}",
                             (*loc, name), _param_hint(types[name]))


def _image_size(ctx: Context) -> tuple[int, int] | None:
    """The (height, width) every image has, when the spec says it before any image is read: a bundled image
    dataset's, or ``data.source.image_size``."""
    source = ctx.spec.data.source
    if isinstance(source, ImageFolderSource) and source.image_size is not None:
        return int(source.image_size[0]), int(source.image_size[1])
    if ctx.dataset is not None and ctx.dataset.image_size is not None:
        return ctx.dataset.image_size
    return None


def _check_conv_blocks(ctx: Context) -> Iterator[Diagnostic]:
    """AIS358: a cnn's blocks each halve the images (2×2 max pooling): n blocks need 2^n pixels a side."""
    model = ctx.spec.model
    known = _image_size(ctx)
    if model.family != "cnn" or known is None:
        return
    height, width = known
    filters = model.params.get("filters")
    loc: Loc
    if isinstance(filters, list):
        blocks, loc = len(filters), ("model", "params", "filters")
    else:
        value = model.params.get("conv_layers", 2)
        if isinstance(value, bool) or not isinstance(value, int):
            return
        blocks = value
        loc = ("model", "params", "conv_layers") if "conv_layers" in model.params else ("model", "family")
    fit = max(0, min(height, width).bit_length() - 1)
    if blocks > fit:
        yield ctx.report("AIS358", f"{blocks} convolutional blocks halve the {height}×{width} images {blocks} times: "
                                   f"at most {fit} fit", loc,
                         f"use at most {fit} blocks, or larger images (data.source.image_size)")


def _check_deployable(ctx: Context) -> Iterator[Diagnostic]:
    """A family that cannot label new rows: never a candidate of auto, never a deployed model."""
    model = ctx.spec.model
    target = ctx.spec.deployment.target
    family = FAMILIES.get(model.family)
    if family is not None and not family.predicts and model.ensemble is None and target != "none":
        yield ctx.report("AIS352", f"'{model.family}' labels only the rows it was fitted on, so it cannot be "
                                   f"exported or served, and deployment.target is '{target}'", ("model", "family"),
                         "use kmeans or gaussian_mixture, or set deployment.target: none")
    for i, name in enumerate(model.candidates or []):
        cand = FAMILIES.get(name)
        if cand is not None and not cand.predicts:
            yield ctx.report("AIS352", f"'{name}' labels only the rows it was fitted on: auto cannot score it on "
                                       "held-out rows, export or serve it", ("model", "candidates", i),
                             "remove it from the candidates")


def _check_scaling(ctx: Context) -> Iterator[Diagnostic]:
    """Explicit scaling in front of trees is left out of the pipeline (it only costs ONNX precision)."""
    if not ctx.written(("data", "cleaning", "scaling")) or ctx.spec.data.cleaning.scaling == "none":
        return
    model = ctx.spec.model
    names = [m.family for m in model.ensemble.members] if model.ensemble is not None else [model.family]
    families = [FAMILIES.get(n) for n in names]
    if families and all(f is not None and f.scale_invariant for f in families):
        what = "these tree models" if len(names) > 1 else f"'{names[0]}' models"
        yield ctx.report("AIS353", f"scaling has no effect on {what}: it is left out of the pipeline",
                         ("data", "cleaning", "scaling"), "remove cleaning.scaling", key=True)


def _subsamples_features(value: object, n_features: int | None) -> bool:
    """Whether an isolation forest's ``max_features`` value draws fewer than all input columns."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return value < 1.0
    if isinstance(value, int):  # a count: fine only when it is every column the forest sees
        return n_features is None or value != n_features
    return False


def _isolation_forest_features(ctx: Context, values: list[object], loc: Loc, shown: str) -> Iterator[Diagnostic]:
    """skl2onnx converts an IsolationForest only when each tree sees every feature (its converter refuses
    ``max_features`` below the number of columns), so a deployed model could not be exported."""
    target = ctx.spec.deployment.target
    if ctx.spec.model.family != "isolation_forest" or target == "none":
        return
    types = ctx.columns or {}
    features = ctx.features
    # without one-hot or text columns the forest sees exactly the feature columns
    plain = features is not None and all(types.get(f) in ("numeric", "boolean") for f in features)
    n_features = len(features) if plain and features is not None else None
    if any(_subsamples_features(v, n_features) for v in values):
        yield ctx.report("AIS349", f"an isolation forest with max_features {shown} cannot be exported to ONNX, "
                                   f"and deployment.target '{target}' runs the ONNX model", loc,
                         "leave max_features at 1.0 (search max_samples instead), or set deployment.target: none")


def _param_hint(param: Param) -> str:
    shown = f"one of {', '.join(map(str, param.choices))}" if param.kind == "choice" else \
        f"{param.what()} {param.range_text()}"
    default = f"; default {param.default!r}" if param.default is not None else ""
    return f"'{param.name}' takes {shown}{default}"


def _range_problem(param: Param, dist: Distribution) -> str | None:
    """Why the search distribution ``dist`` proposes values ``param`` does not take, or None."""
    if param.kind == "any":
        return None
    if dist.kind == "choice":
        bad = [(a, param.problem(a)) for a in dist.args if param.problem(a) is not None]
        return "; ".join(f"{a!r} is not {why}" for a, why in bad) or None
    if param.kind == "choice":
        return f"it takes one of {', '.join(map(str, param.choices))}: use choice(...)"
    if param.kind == "int" and dist.kind in ("uniform", "loguniform"):
        return "it takes whole numbers: use int(...) or logint(...)"
    outside = [v for v in (dist.low, dist.high) if not param.within(v)]
    return f"{', '.join(f'{v:g}' for v in outside)} is outside its range ({param.range_text()})" if outside else None
def _elsewhere(ctx: Context, name: str, family: Family) -> str | None:
    """A hint naming the families of the task that do take ``name`` (``pretrained`` is the ``transfer`` family's,
    not ``transformer``'s), or None."""
    others = sorted(f.name for f in FAMILIES.values()
                    if name in f.params and ctx.spec.problem.task in f.tasks and f.name != family.name)
    if not others:
        return None
    return f"'{name}' is a parameter of {', '.join(others)}: use that family, or {_param_list(family.params)}"


def _param_list(params: frozenset[str]) -> str:
    return f"its parameters: {', '.join(sorted(params))}" if params else "it takes no parameters"


def check_search(ctx: Context) -> Iterator[Diagnostic]:
    model = ctx.spec.model
    search = model.search
    if search is None:
        return
    family = ctx.family
    for name, dist in search.space.items():
        loc = ("model", "search", "space", name)
        if family is not None and family.name != "auto" and name not in family.params:
            yield ctx.report("AIS343", f"search space names '{name}', which '{model.family}' does not have",
                             loc, did_you_mean(name, family.params) or _param_list(family.params), key=True)
        param = family.param_types.get(name) if family is not None else None
        if param is not None and (problem := _range_problem(param, dist)) is not None:
            yield ctx.report("AIS357", f"search space {dist} for '{name}' reaches values it does not take: {problem}",
                             loc, _param_hint(param))
        if search.method == "grid" and dist.kind in ("uniform", "loguniform"):
            yield ctx.report("AIS346", f"grid search cannot enumerate the continuous range {dist}", loc,
                             "use choice(...) or int(...) for grid search, or method: random / bayesian")
        if name in model.params:
            yield ctx.report("AIS347", f"'{name}' is both fixed in model.params and searched", loc,
                             "the search overrides the fixed value: remove one", key=True)
        if name == "max_features":
            values: list[object] = list(dist.args)
            if dist.kind in ("uniform", "loguniform"):
                values = [dist.low]  # a float range: its lower end
            elif dist.kind in ("int", "logint"):
                values = [int(dist.low), int(dist.high)]
            yield from _isolation_forest_features(ctx, values, loc, f"in {dist}")
    if model.family == "auto" and search.space:
        yield ctx.report("AIS344", "family 'auto' chooses its own search spaces", ("model", "search", "space"),
                         "pick a family to search its parameters", key=True)


_DEEP_ONLY = ("loss", "optimizer", "learning_rate", "schedule", "batch_size", "epochs", "early_stopping",
              "checkpoint_every")


def boosts(ctx: Context) -> bool:
    """Whether the model is one family fitted in boosting rounds, which stops early on the validation split
    (its record's ``early_stopping``; an ensemble's members and ``auto``'s refit do not stop early)."""
    family = ctx.family
    return family is not None and family.early_stopping and ctx.spec.model.ensemble is None
# which schedule kinds read which of its settings
_SCHEDULE_USES = {"gamma": ("step", "exponential", "plateau"), "step_size": ("step",), "patience": ("plateau",)}


def check_training(ctx: Context) -> Iterator[Diagnostic]:
    training = ctx.spec.training
    declared = ctx.declared
    if declared is not None and not declared.can("training_options"):
        title = declared.title
        for name in _DEEP_ONLY:
            if name == "early_stopping" and boosts(ctx):
                continue  # boosting stops early on the validation split
            if getattr(training, name) is not None:
                yield ctx.report("AIS350", f"training.{name} is not used by {title} models",
                                 ("training", name), "it applies to the neural back ends (torch, keras); remove it",
                                 key=True)
        reg = training.regularization
        if reg is not None:
            for name, hint in (("dropout", "remove it"),
                               ("l1", "set the family's own parameter instead (e.g. model.params.alpha)"),
                               ("l2", "set the family's own parameter instead (e.g. model.params.alpha or C)")):
                if getattr(reg, name):
                    yield ctx.report("AIS350", f"regularization.{name} is not used by {title} models",
                                     ("training", "regularization", name), hint, key=True)
    es = training.early_stopping
    split = ctx.spec.data.split
    watches = (declared is not None and declared.can("validation_split")) or boosts(ctx)
    if es and watches and split.validation == 0:
        yield ctx.report("AIS351", "early stopping watches a validation split, and data.split.validation is 0",
                         ("training", "early_stopping"), "set data.split.validation, e.g. 0.1", key=True)
    if declared is not None and declared.can("training_options"):
        yield from _check_deep_training(ctx)
    elif boosts(ctx) and isinstance(es, EarlyStopping):
        yield from _check_boosting_monitor(ctx, es)


def _check_boosting_monitor(ctx: Context, es: EarlyStopping) -> Iterator[Diagnostic]:
    """Boosting stops on the validation split: its loss (``val_loss``) or a metric of the task there. The
    training loss falls every round, so it would never stop anything."""
    task = ctx.spec.problem.task
    target = monitor_target(es.monitor, task)
    if target is not None and target[0] != "loss":
        return
    metrics = sorted(f"val_{n}" for n, m in METRICS.items() if m.kind == "quality" and task in m.tasks and not m.needs)
    why = ("a boosting model's training loss falls every round, so it would never stop" if target is not None
           else f"'{ctx.spec.model.family}' stops on val_loss or a {task.value} metric on the validation split")
    yield ctx.report("AIS355", f"early stopping cannot watch '{es.monitor}': {why}",
                     ("training", "early_stopping", "monitor"),
                     did_you_mean(str(es.monitor), [*metrics, "val_loss"]) or f"one of: val_loss, "
                     f"{', '.join(metrics[:6])}, ...")


def _check_deep_training(ctx: Context) -> Iterator[Diagnostic]:
    """The training settings a network's loop reads: a loss of the task, something to monitor, a schedule's
    settings for its kind."""
    training = ctx.spec.training
    task = ctx.spec.problem.task
    if training.loss is not None:
        name = LOSS_ALIASES.get(training.loss, training.loss)
        if name not in LOSSES or task not in LOSSES[name][0]:
            fits = sorted(n for n, (tasks, _) in LOSSES.items() if task in tasks)
            tasks = ", ".join(sorted(t.value for t in LOSSES[name][0])) if name in LOSSES else ""
            known = f"a loss for {tasks}" if tasks else "an unknown loss"
            yield ctx.report("AIS354", f"training.loss '{training.loss}' is {known}, not for {task.value}",
                             ("training", "loss"), f"use {' or '.join(fits)}" if fits else "remove it")
    es = training.early_stopping
    if isinstance(es, EarlyStopping) and monitor_target(es.monitor, task) is None:
        metrics = sorted(f"val_{n}" for n, m in METRICS.items()
                         if m.kind == "quality" and task in m.tasks and not m.needs)
        yield ctx.report("AIS355", f"early stopping cannot watch '{es.monitor}': the run measures val_loss, loss "
                                   f"and the {task.value} metrics on the validation split",
                         ("training", "early_stopping", "monitor"),
                         did_you_mean(str(es.monitor), [*metrics, "val_loss", "loss"])
                         or f"one of: val_loss, loss, {', '.join(metrics[:6])}, ...")
    schedule = training.schedule
    if schedule is not None:
        for name, kinds in _SCHEDULE_USES.items():
            if ctx.written(("training", "schedule", name)) and schedule.kind not in kinds:
                yield ctx.report("AIS356", f"schedule.{name} has no effect on a {schedule.kind} schedule (it is read "
                                           f"by {', '.join(kinds)})", ("training", "schedule", name),
                                 "remove it, or choose a kind that uses it", key=True)


def check_clusters(ctx: Context) -> Iterator[Diagnostic]:
    problem = ctx.spec.problem
    if problem.task is not Task.clustering or problem.n_clusters is None:
        return
    family = ctx.spec.model.family
    param = CLUSTER_COUNT_PARAM.get(family)
    if param is None and family != "auto":
        yield ctx.report("AIS348", f"'{family}' finds the number of clusters itself; n_clusters is not used",
                         ("problem", "n_clusters"), f"remove n_clusters, or use one of: "
                                                    f"{', '.join(sorted(CLUSTER_COUNT_PARAM))}", key=True)
    elif param is not None and param in ctx.spec.model.params:
        yield ctx.report("AIS348", f"the cluster count is given twice: problem.n_clusters and model.params.{param}",
                         ("model", "params", param), "keep problem.n_clusters only", key=True)


_MODALITY = {"image": {Task.image_classification}, "text": {Task.text_classification},
             "tabular": {Task.classification, Task.regression, Task.forecasting, Task.clustering,
                         Task.anomaly_detection}}


def check_augmentation(ctx: Context) -> Iterator[Diagnostic]:
    aug = ctx.spec.data.augmentation
    if aug is None:
        return
    task = ctx.spec.problem.task
    for modality, tasks in _MODALITY.items():
        if getattr(aug, modality) is not None and task not in tasks:
            yield ctx.report("AIS328", f"{modality} augmentation does not apply to a {task.value} task",
                             ("data", "augmentation", modality), "remove it", key=True)
    image = aug.image
    if image is not None and task is Task.image_classification:
        # the final fit gets round(n × (factor - 1)) altered copies of the training images (runtime.images)
        neutral = image.flip == "none" and image.rotate == 0 and image.crop == 0 and image.color_jitter == 0
        if neutral:
            yield ctx.report("AIS337", "augmentation.image alters nothing (no flip, rotation, crop or colour "
                                       "jitter): no image is added", ("data", "augmentation", "image"),
                             "set flip, rotate, crop or color_jitter, or remove it", key=True)
        elif aug.factor == 1.0:
            yield ctx.report("AIS337", "augmentation.factor is 1: the training split keeps its size and no altered "
                                       "image is added", ("data", "augmentation", "image"),
                             "set factor above 1 (2 adds one altered copy of every training image)", key=True)
    text = aug.text
    if text is not None and task in _MODALITY["text"]:
        if aug.factor <= 1:
            yield ctx.report("AIS335", "text augmentation adds no row: data.augmentation.factor is 1 (copies added: "
                             "round((factor - 1) x training rows))", ("data", "augmentation", "text"),
                             "set data.augmentation.factor above 1", key=True)
        elif not text.synonym_swap and not text.random_deletion:
            yield ctx.report("AIS335", "text augmentation would add unchanged copies: synonym_swap and "
                             "random_deletion are 0", ("data", "augmentation", "text"),
                             "set synonym_swap or random_deletion above 0, or remove data.augmentation.text",
                             key=True)
