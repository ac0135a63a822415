"""What `aispec build` can honour today, read by `check` (AIS410 warnings) and by the build plan
(AIS401-AIS403 errors), so the two never disagree.

Derived from what the back ends declare (``aispec.runtime.registry``: the tasks, data sources and
capabilities of each back end that is built), plus the few settings no back end honours yet. A setting
the build cannot honour is never passed over silently: `check` warns about it (an error under
`--strict`); when a back end comes to honour it, its declaration changes and the warning goes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from aispec.runtime.registry import BACKENDS, ENGINES, BackendInfo
from aispec.schemas.catalog import DATASETS
from aispec.schemas.spec import BundledSource, Spec
from aispec.schemas.vocabulary import FAMILIES, Backend, task_info

from .source import Loc

_BUILT = [info for info in BACKENDS.values() if info.built]
BUILDABLE_TASKS = frozenset(task for info in _BUILT for task in info.tasks)
BUILDABLE_BACKENDS = frozenset(info.name for info in _BUILT)
BUILDABLE_SOURCES = frozenset(source for info in _BUILT for source in info.sources)


@dataclass(frozen=True, slots=True)
class Gap:
    """One thing the build cannot do for this spec: where, what, and what to do about it."""

    loc: Loc
    message: str
    hint: str
    build_code: str | None = None  # the error `build` reports (AIS401-403); None: build goes on without it
    key: bool = False  # point at the key rather than the value


def backend_of(spec: Spec) -> Backend:
    family = FAMILIES.get(spec.model.family)
    return spec.model.backend or (family.default_backend if family else Backend.sklearn)


def families_of(spec: Spec) -> list[str]:
    """Every family a project of ``spec`` (resolved) may fit: the model's, ``auto``'s candidates, an ensemble's
    members and final estimator — whose libraries it needs (the family records' ``libraries``)."""
    model = spec.model
    names: list[str] = []
    if model.ensemble is not None:
        names += [m.family for m in model.ensemble.members]
        names += [model.ensemble.final_estimator] if model.ensemble.final_estimator else []
    elif model.family == "auto":
        names += list(model.candidates or [])
    else:
        names.append(model.family)
    return [name for name in dict.fromkeys(names) if name in FAMILIES]


def libraries_of(spec: Spec) -> list[tuple[str, str, str]]:
    """``(import name, distribution, extra)`` of the libraries the families of ``spec`` need beyond the back
    end's, in family order, each once."""
    seen: dict[str, tuple[str, str, str]] = {}
    for name in families_of(spec):
        family = FAMILIES[name]
        for module, distribution in family.libraries:
            seen.setdefault(distribution, (module, distribution, family.extra))
    return list(seen.values())


def declared(spec: Spec) -> BackendInfo:
    """What the spec's back end declares (every back end the vocabulary names is declared)."""
    return BACKENDS[backend_of(spec)]


def _single_family(spec: Spec) -> bool:
    return spec.model.ensemble is None and spec.model.family != "auto"


def unbuildable(spec: Spec) -> Iterator[Gap]:
    """What stops `aispec build` from generating a project for ``spec`` at all."""
    task = spec.problem.task
    info = declared(spec)
    if task not in BUILDABLE_TASKS:
        built = ", ".join(sorted(t.value for t in BUILDABLE_TASKS))
        yield Gap(("problem", "task"), f"'aispec build' does not build {task.value} projects yet",
                  f"{built} build today", "AIS401")
    if not info.built:
        others = ", ".join(sorted(b.value for b in BUILDABLE_BACKENDS))
        yield Gap(("model",), f"the {info.name.value} back end is not built yet",
                  f"use a family of a back end that is built ({others})", "AIS402", key=True)
    elif task in BUILDABLE_TASKS and task not in info.tasks:
        yield Gap(("problem", "task"), f"the {info.name.value} back end does not build {task.value} projects",
                  f"back ends that do: {', '.join(sorted(b.name.value for b in _BUILT if task in b.tasks))}",
                  "AIS401")
    elif _single_family(spec) and spec.model.family in info.families and not info.builds(spec.model.family, task):
        built = ", ".join(sorted(f for f in info.families if info.builds(f, task)))
        yield Gap(("model", "family"), f"the {info.name.value} back end does not build '{spec.model.family}' "
                  f"models for {task.value} yet", f"families it builds for {task.value} today: {built or 'none'}",
                  "AIS402")
    if spec.data.source.kind not in BUILDABLE_SOURCES:
        yield Gap(("data", "source"), f"{spec.data.source.kind} data sources are not built yet",
                  f"use one of: {', '.join(sorted(BUILDABLE_SOURCES))}", "AIS403", key=True)
    elif task_info(task).modality == "image" and _images_in_a_table(spec):
        yield Gap(("data", "source"), f"images in a {spec.data.source.kind} table (paths or encoded bytes) are "
                  "not built yet", "use 'source: {kind: image_folder, path: ...}', one sub-folder of images per "
                  "class", "AIS403", key=True)


def _images_in_a_table(spec: Spec) -> bool:
    """Whether the spec declares an image column in a table the image loader does not read (it reads an
    image folder or a bundled image data set); a source without any image is AIS321's."""
    source = spec.data.source
    if source.kind == "image_folder" or (isinstance(source, BundledSource) and source.name in DATASETS
                                         and "image" in dict(DATASETS[source.name].columns).values()):
        return False
    return any(column.type.value == "image" for column in (spec.data.columns or {}).values())


def _written_augmentation(spec: Spec) -> Iterator[Gap]:
    aug = spec.data.augmentation
    if aug is None:
        return
    if aug.tabular is not None and spec.problem.task in BUILDABLE_TASKS:
        yield Gap(("data", "augmentation", "tabular"), "tabular augmentation is not built yet: the training "
                  "rows are used as they are", "remove it (augmentation is built for images and text)",
                  key=True)
    if aug.factor != 1.0 and aug.tabular is None and aug.image is None and aug.text is None:
        yield Gap(("data", "augmentation", "factor"), "augmentation.factor has nothing to multiply: no "
                  "augmentation is declared", "remove it", key=True)


def _engine_gaps(spec: Spec) -> Iterator[Gap]:
    """What the spec's distributed engine does not run (ENGINES in the runtime's registry): the rest runs in
    one process, and `check` says so."""
    name = spec.hardware.distributed.engine
    if name == "none":
        return
    engine = ENGINES[name]
    where = ("hardware", "distributed", "engine")
    if not engine.built:
        built = ", ".join(sorted(n for n, e in ENGINES.items() if e.built))
        yield Gap(where, f"distributed training on {name} is not built yet: the project trains in one process on "
                  "one machine", f"use engine: {built}, or remove hardware.distributed")
        return
    modality = task_info(spec.problem.task).modality
    if modality not in engine.modalities:
        yield Gap(where, f"{engine.title} does not run {modality} projects yet: the project searches and trains in "
                  "one process", f"{engine.title} runs {', '.join(sorted(engine.modalities))} projects")
    elif spec.model.family == "auto" or spec.model.ensemble is not None:
        what = "family: auto" if spec.model.family == "auto" else "an ensemble"
        yield Gap(where, f"{engine.title} does not run the selection of {what} yet: it runs in one process",
                  "name a family (with model.search) to search it on the cluster")


def unhonoured(spec: Spec) -> Iterator[Gap]:
    """Settings the generated project would ignore: the build goes on, `check` warns (AIS410)."""
    info = declared(spec)
    yield from _engine_gaps(spec)
    retraining = spec.monitoring.retraining
    if retraining.trigger != "manual":
        yield Gap(("monitoring", "retraining", "trigger"), f"retraining on {retraining.trigger} is not built yet: "
                  "nothing retrains the model automatically",
                  "retrain by running the project again (make train); the service reports drift at /v1/monitoring")
    if retraining.min_feedback is not None:
        yield Gap(("monitoring", "retraining", "min_feedback"), "retraining on feedback is not built yet: "
                  "min_feedback has no effect", "remove it", key=True)
    series = task_info(spec.problem.task).modality == "series"
    if spec.deployment.optimize.prune > 0 and not info.can("prune"):
        yield Gap(("deployment", "optimize", "prune"), f"pruning is not built for {info.name.value} models: the "
                  "model is exported unpruned", "remove prune (it applies to neural networks)", key=True)
    elif spec.deployment.optimize.prune > 0 and series:
        yield Gap(("deployment", "optimize", "prune"), "pruning is not built for forecasters: the network is "
                  "exported unpruned", "remove prune", key=True)
    if spec.deployment.optimize.quantize != "none" and series:
        yield Gap(("deployment", "optimize", "quantize"), f"{spec.deployment.optimize.quantize} quantization is not "
                  "built for forecasters: the float32 model is served", "remove quantize", key=True)
    yield from _written_augmentation(spec)
