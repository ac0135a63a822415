"""The back ends: what each one builds, as plain data, and where its code is (imported only when used).

A back end declares its capabilities here — the tasks, input modalities and data sources it builds,
and what it can do (search, export, quantize, prune, ...) — the way a dbt adapter declares what it
supports. The compiler's "not built yet" diagnostics (AIS401-403, AIS410) and its "ignored by this
back end" warnings are derived from these declarations, never from lists of its own; the runtime
dispatches through :func:`backend` and never branches on a back end's name. Adding a back end is one
entry here plus its package under ``runtime/backends/`` (and its template overlay).

This module imports nothing heavy: ``aispec check`` and ``aispec build`` read it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from aispec.schemas.vocabulary import FAMILIES, Backend, Task

__all__ = ["BACKENDS", "CAPABILITIES", "ENGINES", "BackendInfo", "EngineInfo", "backend", "engine", "info"]

# What a back end can declare it does, and what each means.
CAPABILITIES: dict[str, str] = {
    "search": "hyperparameter search over model.search.space",
    "auto": "family: auto, a budgeted selection over the families",
    "ensemble": "voting and stacking ensembles",
    "export": "ONNX export with a parity check",
    "int8": "int8 dynamic quantization of the exported model",
    "prune": "magnitude pruning of the network's weights (deployment.optimize.prune)",
    "gpu": "training on a GPU (hardware.accelerator)",
    "training_options": "the training section: loss, optimizer, learning rate, batch size, epochs, early stopping, "
                        "regularization",
    "validation_split": "a validation split (early stopping, model selection)",
    "cheap_refit": "refitting is cheap enough for a learning curve and permutation importance",
    "fp16": "half-precision export of the model (deployment.optimize.quantize: fp16)",
    "torch_ddp": "data-parallel training with torch.distributed (hardware.distributed.engine: torch_ddp)",
    "epoch_augmentation": "image augmentation drawn afresh every epoch inside the training, rather than static "
                          "copies added to the training split",
}


@dataclass(frozen=True, slots=True)
class BackendInfo:
    """One back end, as data."""

    name: Backend
    title: str  # how the documents and diagnostics name it: "scikit-learn", "PyTorch", "Keras"
    factory: str  # "module:Class" of its aispec.runtime.api.Backend implementation
    extra: str  # the pip extra that installs its libraries (pip install 'aispec[<extra>]')
    modules: tuple[tuple[str, str], ...]  # (import name, distribution) a project on it needs to run
    tasks: frozenset[Task]
    sources: frozenset[str]  # data.source kinds it reads
    capabilities: frozenset[str]
    overlay: str  # templates/backends/<overlay>/ overrides templates/project/ file by file
    built: bool = True  # False: declared (check knows what it will do) but `aispec build` refuses it yet
    # files only this back end's projects have: (template under templates/backends/<overlay>/, path in the
    # project, where "{package}" is the package folder), e.g. the torch training loop
    files: tuple[tuple[str, str], ...] = ()
    # the families it builds today; None: every family whose record names this back end
    built_families: frozenset[str] | None = None
    # families it builds for some of its tasks only, e.g. (("lstm", {forecasting}),); unlisted: all of them
    family_tasks: tuple[tuple[str, frozenset[Task]], ...] = ()
    # per family, the template of its model.py when it is not the back end's model.py.j2 (under the overlay)
    model_templates: tuple[tuple[str, str], ...] = ()

    def can(self, capability: str) -> bool:
        if capability not in CAPABILITIES:  # a typo here would silently mean "cannot"
            raise KeyError(f"unknown capability {capability!r}")
        return capability in self.capabilities

    @property
    def families(self) -> frozenset[str]:
        """The families this back end builds (those whose record lists it)."""
        return frozenset(name for name, family in FAMILIES.items() if self.name in family.backends)

    def builds(self, family: str, task: Task | str | None = None) -> bool:
        """Whether `aispec build` generates a ``family`` model on this back end today (for ``task``, when given)."""
        if task is not None and family in dict(self.family_tasks) and Task(task) not in dict(self.family_tasks)[family]:
            return False
        return self.built and family in self.families and (self.built_families is None
                                                          or family in self.built_families)

    def model_template(self, family: str) -> str:
        """The name of the template (``package/<name>.py.j2``) that writes a ``family`` model's model.py."""
        return dict(self.model_templates).get(family, "model")


_TABULAR_SOURCES = frozenset({"csv", "parquet", "jsonl", "sql", "bundled"})
# the network back ends: mlp on table rows and pixels; cnn on images; lstm / gru on the windows of a series
# (runtime/series/networks.py); transformer / transfer on token ids
_NETWORK_FAMILY_TASKS = (("mlp", frozenset({Task.classification, Task.regression, Task.image_classification})),
                         ("lstm", frozenset({Task.forecasting})), ("gru", frozenset({Task.forecasting})),
                         ("cnn", frozenset({Task.image_classification})),
                         ("transformer", frozenset({Task.text_classification})),
                         ("transfer", frozenset({Task.text_classification})))

BACKENDS: dict[Backend, BackendInfo] = {b.name: b for b in (
    BackendInfo(
        name=Backend.sklearn,
        title="scikit-learn",
        factory="aispec.runtime.backends.sklearn:SklearnBackend",
        extra="sklearn",
        modules=(("sklearn", "scikit-learn"), ("pandas", "pandas"), ("numpy", "numpy"), ("optuna", "optuna"),
                 ("skl2onnx", "skl2onnx"), ("onnxruntime", "onnxruntime"), ("matplotlib", "matplotlib")),
        tasks=frozenset({Task.classification, Task.regression, Task.clustering, Task.anomaly_detection,
                         Task.image_classification, Task.text_classification, Task.forecasting}),
        sources=_TABULAR_SOURCES | {"image_folder"},
        capabilities=frozenset({"search", "auto", "ensemble", "export", "int8", "cheap_refit"}),
        overlay="sklearn",
    ),
    BackendInfo(
        name=Backend.torch,
        title="PyTorch",
        factory="aispec.runtime.backends.torch:TorchBackend",
        extra="torch",
        # scikit-learn and skl2onnx too: the tabular preprocessing is the shared ColumnTransformer, exported
        # with skl2onnx in front of the network
        modules=(("torch", "torch"), ("sklearn", "scikit-learn"), ("pandas", "pandas"), ("numpy", "numpy"),
                 ("optuna", "optuna"), ("skl2onnx", "skl2onnx"), ("onnx", "onnx"), ("onnxruntime", "onnxruntime"),
                 ("matplotlib", "matplotlib")),
        # built so far: networks on tabular rows, convolutional networks on images, recurrent networks on the
        # windows of a series, token ids of a text column (transformer, transfer)
        tasks=frozenset({Task.classification, Task.regression, Task.forecasting, Task.image_classification,
                         Task.text_classification}),
        sources=_TABULAR_SOURCES | {"image_folder"},
        # no "fp16": half-precision export is not built (the run would serve float32 under an fp16 request)
        capabilities=frozenset({"search", "export", "int8", "prune", "gpu", "training_options", "validation_split",
                                "torch_ddp", "epoch_augmentation"}),
        overlay="torch",
        files=(("package/loop.py.j2", "{package}/loop.py"),),
        built_families=frozenset({"mlp", "lstm", "gru", "cnn", "transformer", "transfer"}),
        family_tasks=_NETWORK_FAMILY_TASKS,
        model_templates=(("transformer", "model_transformer"), ("transfer", "model_transfer")),
    ),
    BackendInfo(
        name=Backend.keras,
        title="Keras",
        factory="aispec.runtime.backends.keras:KerasBackend",
        extra="keras",
        # Keras 3 on its PyTorch back end; the preprocessing is scikit-learn's (features.py), exported
        # with skl2onnx in front of the network
        modules=(("keras", "keras"), ("torch", "torch"), ("sklearn", "scikit-learn"), ("pandas", "pandas"),
                 ("numpy", "numpy"), ("optuna", "optuna"), ("skl2onnx", "skl2onnx"), ("onnx", "onnx"),
                 ("onnxruntime", "onnxruntime"), ("matplotlib", "matplotlib")),
        tasks=frozenset({Task.classification, Task.regression, Task.forecasting, Task.image_classification}),
        sources=_TABULAR_SOURCES | {"image_folder"},
        capabilities=frozenset({"search", "export", "int8", "gpu", "training_options", "validation_split",
                                "epoch_augmentation"}),
        overlay="keras",
        built_families=frozenset({"mlp", "lstm", "gru", "cnn"}),
        family_tasks=_NETWORK_FAMILY_TASKS,
    ),
)}


# ------------------------------------------------------------------------ distributed engines


@dataclass(frozen=True, slots=True)
class EngineInfo:
    """A distributed engine (``hardware.distributed.engine``), as data: what it runs, and where its code is."""

    name: str
    title: str
    factory: str  # "module:Class" of its aispec.runtime.distributed.Engine implementation
    extra: str  # the pip extra that installs it
    modules: tuple[tuple[str, str], ...]  # (import name, distribution) a project on it needs
    modalities: frozenset[str]  # input modalities whose search and training it runs (vocabulary task_info)
    trains: frozenset[Backend]  # back ends whose final fit it distributes (the others fit on the driver)
    built: bool = True


ENGINES: dict[str, EngineInfo] = {e.name: e for e in (
    EngineInfo(
        name="ray", title="Ray", factory="aispec.runtime.distributed.ray:RayEngine", extra="ray",
        modules=(("ray", "ray"),), modalities=frozenset({"tabular"}),
        trains=frozenset({Backend.torch, Backend.sklearn}),  # scikit-learn: the XGBoost family
    ),
    EngineInfo(name="dask", title="Dask", factory="", extra="", modules=(), modalities=frozenset(),
               trains=frozenset(), built=False),
    EngineInfo(name="torch_ddp", title="torch.distributed", factory="", extra="", modules=(),
               modalities=frozenset(), trains=frozenset(), built=False),
)}


def engine(name: str) -> Any:
    """The distributed engine ``name`` (an ``aispec.runtime.distributed.Engine`` class), its module imported now."""
    declared = ENGINES.get(name)
    if declared is None or not declared.built:
        built = ", ".join(n for n, e in ENGINES.items() if e.built)
        raise KeyError(f"no distributed engine named {name!r} is built (built: {built})")
    module, _, attr = declared.factory.partition(":")
    return getattr(importlib.import_module(module), attr)


def info(name: Backend | str) -> BackendInfo | None:
    """The declaration of back end ``name`` (built or not yet), or None for an unknown name."""
    try:
        return BACKENDS.get(Backend(name))
    except ValueError:
        return None


@cache
def backend(name: Backend | str) -> Any:
    """The back end ``name`` (an ``aispec.runtime.api.Backend``), its module imported now."""
    declared = info(name)
    if declared is None or not declared.built:
        built = ", ".join(b.value for b, i in BACKENDS.items() if i.built)
        raise KeyError(f"no back end named {name!r} is built (built: {built})")
    module, _, attr = declared.factory.partition(":")
    return getattr(importlib.import_module(module), attr)(declared)
