"""The PyTorch back end: networks written as ``nn.Module`` code in the generated ``model.py``, trained by
the project's own loop (``loop.py``), searched with Optuna on the validation split with pruning of bad
trials, pruned and exported to ONNX with their preprocessing as one graph.

Modules: :mod:`.estimator` (the scikit-learn-shaped model the workflow sees), :mod:`.inputs` (input
kinds: tabular rows today), :mod:`.loop` (what the training loop is handed), :mod:`.device`, :mod:`.search`,
:mod:`.prune`, :mod:`.export`. torch is imported only inside the functions that use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from aispec.schemas.vocabulary import CLASSIFICATION, FAMILIES

from ...api import FitSettings, SearchRequest
from ...deep import TRAINING_PARAMS
from ...errors import ConfigError, where
from ...registry import BackendInfo

__all__ = ["TorchBackend", "check_params", "make_network_estimator"]

_RESAMPLING = ("oversample", "undersample", "smote")
# scikit-learn's words for the mlp family, and what a torch spec says instead
_SKLEARN_WORDS = {
    "alpha": "training.regularization.l2", "learning_rate_init": "learning_rate (or training.learning_rate)",
    "max_iter": "training.epochs", "early_stopping": "training.early_stopping", "solver": "optimizer",
}


def make_network_estimator(**kwargs: Any) -> Any:
    """The network estimator for a task (see :func:`.estimator.make_network_estimator`)."""
    from .estimator import make_network_estimator as make

    return make(**kwargs)


def check_params(family: str, params: Mapping[str, Any], *, accepted: Iterable[str],
                 locations: Mapping[str, str] | None = None) -> None:
    """ConfigError (with the spec line) for a parameter this back end's ``family`` network does not read:
    scikit-learn's spellings name their torch equivalent."""
    known = set(accepted) | set(TRAINING_PARAMS)
    for name in params:
        if name in known:
            continue
        at = where(locations or {}, f"model.params.{name}") or where(locations or {}, f"model.search.space.{name}")
        if name in _SKLEARN_WORDS:
            raise ConfigError(f"{family}: '{name}' is a scikit-learn parameter; the torch network does not read it",
                              where=at, hint=f"use {_SKLEARN_WORDS[name]}")
        vocabulary = FAMILIES[family].params if family in FAMILIES else frozenset()
        what = "a parameter of other back ends" if name in vocabulary else "not a parameter"
        raise ConfigError(f"{family}: '{name}' is {what} of the torch network", where=at,
                          hint=f"its parameters: {', '.join(sorted(known))}")


def _context(settings: FitSettings, *, progress: bool = True, on_epoch: Any = None, checkpoints: bool = True) -> Any:
    from .estimator import FitContext

    return FitContext(accelerator=settings.accelerator, cpus=settings.cpus,
                      checkpoint_dir=settings.checkpoint_dir if checkpoints else None,
                      resume=settings.resume and checkpoints, progress=progress, scoring=settings.scoring,
                      positive_class=settings.positive_class, on_epoch=on_epoch,
                      augmentation=settings.augmentation,
                      loop_runner=settings.loop_runner if checkpoints else None)


class TorchBackend:
    """The PyTorch back end (``aispec.runtime.api.Backend``)."""

    def __init__(self, info: BackendInfo) -> None:
        self.info = info

    @staticmethod
    def _rebalanced(X: Any, y: Any, rebalance: str, seed: int, task: str) -> tuple[Any, Any]:
        if y is None or task not in CLASSIFICATION or rebalance not in _RESAMPLING:
            return X, y
        from ...preprocess import rebalance as resample

        return resample(X, y, method=rebalance, seed=seed)

    def prepare(self, make: Callable[[Any], Any], *, task: str, rebalance: str, seed: int) -> Callable[[Any], Any]:
        def build(arg: Any) -> Any:
            model = make(arg)
            if rebalance == "class_weight":
                model.set_params(class_weight="balanced")
            model._rebalance = (rebalance, seed)  # resampling happens inside each trial's training rows
            return model

        return build

    def fit(self, model: Any, X: Any, y: Any, *, settings: FitSettings, task: str, report: Any = None) -> Any:
        if settings.rebalance == "class_weight":
            model.set_params(class_weight="balanced")
        X_fit, y_fit = self._rebalanced(X, y, settings.rebalance, settings.seed, task)
        if report is not None and len(X_fit) != len(X):
            report.record(settings.rebalance, len(X), len(X_fit), "cleaning.imbalance: classes balanced for the fit",
                          part="train")
        return model.fit(X_fit, y_fit, validation=settings.validation, context=_context(settings))

    def search(self, make: Callable[[dict[str, Any]], Any], X: Any, y: Any, request: SearchRequest) -> Any:
        from .search import search_networks

        settings = FitSettings(seed=request.seed, cpus=request.n_jobs, accelerator=request.accelerator,
                               scoring=request.scoring, positive_class=request.positive_class)

        def fit(model: Any, X_fit: Any, y_fit: Any, validation: Any, on_epoch: Any) -> Any:
            inner = getattr(model, "estimator", model)  # text augmentation wraps the trial's network (Augmented)
            rebalance, seed = getattr(inner, "_rebalance", ("none", request.seed))
            X_fit, y_fit = self._rebalanced(X_fit, y_fit, rebalance, seed, inner.task)
            return model.fit(X_fit, y_fit, validation=validation,
                             context=_context(settings, progress=False, on_epoch=on_epoch, checkpoints=False))

        return search_networks(make, X, y, request, fit)

    def auto(self, make: Callable[[Any], Any], X: Any, y: Any, *, task: str, candidates: Sequence[str],
             budget_s: float, request: SearchRequest) -> Any:
        raise ConfigError("family: auto chooses among scikit-learn families; the torch back end has no auto",
                          hint="name a network family (mlp, or cnn for images)")

    def export(self, model: Any, X_sample: Any, path: Path, *, task: str) -> Any:
        from .export import to_onnx

        return to_onnx(model, X_sample, path)

    def prune(self, model: Any, amount: float, *, decide: tuple[Any, Any, str], test: tuple[Any, Any] | None,
              metrics: list[str], primary: str | None, positive_class: Any = None) -> tuple[Any, Any]:
        """``deployment.optimize.prune`` (see :mod:`.prune`): the model to evaluate and serve, and the report."""
        from .prune import prune_network

        return prune_network(model, amount, decide=decide, test=test, metrics=metrics, primary=primary,
                             positive_class=positive_class)

    def window_network(self, family: str, *, params: dict[str, Any], seed: int, outputs: int,
                       network: Callable[..., Any] | None = None, loop: Callable[..., Any] | None = None,
                       training: Mapping[str, Any] | None = None) -> Any:
        """Forecasting: the project's recurrent ``network`` on sequence windows, trained by its ``loop`` (see
        :mod:`.windows` and ``aispec.runtime.series.networks``)."""
        from .windows import WindowNetwork

        if network is None or loop is None:
            raise ConfigError(f"a {family} forecaster on torch needs the project's network and training loop "
                              "(model.py's build_network, loop.py's train_loop)")
        return WindowNetwork(network=network, loop=loop, family=family, params=params, training=training,
                             outputs=outputs, seed=seed)

    def export_network(self, model: Any, *, length: int) -> Any:
        """Forecasting: the trained network as ONNX, batch and sequence axes dynamic (see :mod:`.windows`)."""
        from .windows import export_network

        return export_network(model, length=length)

    def describe(self, model: Any) -> str:
        own = getattr(model, "describe", None)  # a forecaster describes itself (window, weights, epochs)
        if callable(own):
            return str(own())
        network = getattr(model, "network_", None)
        if network is None:
            return f"{type(model).__name__}(untrained)"
        weights = sum(int(p.numel()) for p in network.parameters())
        history = getattr(model, "history_", {}) or {}
        epochs = len(history.get("epochs", []))
        from .frozen import frozen_parts

        parts = frozen_parts(network)
        trained = "" if parts is None else \
            f" ({sum(int(p.numel()) for p in parts[1].parameters()):,} trained: the encoder is frozen)"
        return (f"{type(model).__name__}({type(network).__name__}, {weights:,} parameters{trained}, {epochs} epochs)"
                f"\n{network}")
