"""What `aispec build` can honour today: one table, read by `check` (AIS410 warnings) and by the
build plan (AIS401-AIS403 errors), so the two never disagree.

A setting the build cannot honour yet is never passed over silently: `check` warns about it (an
error under `--strict`). When a later milestone builds it, its entry here goes and the warning
with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from aispec.schemas.spec import Spec
from aispec.schemas.vocabulary import FAMILIES, Backend, Task

from .source import Loc

BUILDABLE_TASKS = frozenset({Task.classification, Task.regression, Task.clustering, Task.anomaly_detection})
BUILDABLE_BACKENDS = frozenset({Backend.sklearn})
BUILDABLE_SOURCES = frozenset({"csv", "parquet", "jsonl", "sql", "bundled"})


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


def unbuildable(spec: Spec) -> Iterator[Gap]:
    """What stops `aispec build` from generating a project for ``spec`` at all."""
    task = spec.problem.task
    if task not in BUILDABLE_TASKS:
        built = ", ".join(sorted(t.value for t in BUILDABLE_TASKS))
        yield Gap(("problem", "task"), f"'aispec build' does not build {task.value} projects yet",
                  f"{built} build today", "AIS401")
    backend = backend_of(spec)
    if backend not in BUILDABLE_BACKENDS:
        yield Gap(("model",), f"the {backend.value} back end is not built yet",
                  "use a scikit-learn family (backend: sklearn) for now", "AIS402", key=True)
    if spec.data.source.kind not in BUILDABLE_SOURCES:
        yield Gap(("data", "source"), f"{spec.data.source.kind} data sources are not built yet",
                  f"use one of: {', '.join(sorted(BUILDABLE_SOURCES))}", "AIS403", key=True)


def _written_augmentation(spec: Spec) -> Iterator[Gap]:
    aug = spec.data.augmentation
    if aug is None:
        return
    if aug.tabular is not None and spec.problem.task in BUILDABLE_TASKS:
        yield Gap(("data", "augmentation", "tabular"), "tabular augmentation is not built yet: the training "
                  "rows are used as they are", "remove it; augmentation lands with the deep-learning back ends",
                  key=True)
    if aug.factor != 1.0 and aug.tabular is None and aug.image is None and aug.text is None:
        yield Gap(("data", "augmentation", "factor"), "augmentation.factor has nothing to multiply: no "
                  "augmentation is declared", "remove it", key=True)


def unhonoured(spec: Spec) -> Iterator[Gap]:
    """Settings the generated project would ignore: the build goes on, `check` warns (AIS410)."""
    backend = backend_of(spec)
    engine = spec.hardware.distributed.engine
    if engine != "none":
        yield Gap(("hardware", "distributed", "engine"), f"distributed training on {engine} is not built yet: "
                  "the project trains in one process on one machine",
                  "remove hardware.distributed, or keep it as a note of intent")
    retraining = spec.monitoring.retraining
    if retraining.trigger != "manual":
        yield Gap(("monitoring", "retraining", "trigger"), f"retraining on {retraining.trigger} is not built yet: "
                  "nothing retrains the model automatically",
                  "retrain by running the project again (make train); the service reports drift at /v1/monitoring")
    if retraining.min_feedback is not None:
        yield Gap(("monitoring", "retraining", "min_feedback"), "retraining on feedback is not built yet: "
                  "min_feedback has no effect", "remove it", key=True)
    if spec.deployment.optimize.prune > 0 and backend is Backend.sklearn:
        yield Gap(("deployment", "optimize", "prune"), "pruning is not built for scikit-learn models: the "
                  "model is exported unpruned", "remove prune (it applies to torch and keras networks)", key=True)
    yield from _written_augmentation(spec)
