"""The Keras back end (``aispec.runtime.api.Backend``): how the workflow fits, searches, exports and
describes Keras pipelines (:mod:`.pipeline`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ...api import FitSettings, SearchRequest
from ...errors import ConfigError
from ...registry import BackendInfo

__all__ = ["KerasBackend"]


class KerasBackend:
    """Keras 3 networks on PyTorch, behind scikit-learn preprocessing."""

    def __init__(self, info: BackendInfo) -> None:
        self.info = info

    def prepare(self, make: Callable[[Any], Any], *, task: str, rebalance: str,
                seed: int) -> Callable[[Any], Any]:
        """Each search candidate resamples / weights its classes inside its own fit, as the final model does."""

        def build(arg: Any) -> Any:
            pipeline = make(arg)
            pipeline.set_params(rebalance=rebalance)
            return pipeline

        return build

    def fit(self, model: Any, X: Any, y: Any, *, settings: FitSettings, task: str, report: Any = None) -> Any:
        if y is None:
            raise ConfigError(f"the Keras back end trains supervised networks; {task} has no labels to learn")
        model.set_params(rebalance=settings.rebalance, accelerator=settings.accelerator, cpus=settings.cpus,
                         checkpoint_dir=settings.checkpoint_dir, resume=settings.resume, verbose=True,
                         augmentation=settings.augmentation)
        if settings.training:
            model.set_params(training={**dict(model.training or {}), **dict(settings.training)})
        model.fit(X, y, validation=settings.validation)
        if report is not None and model.rows_out_ != model.rows_in_:
            report.record(settings.rebalance, model.rows_in_, model.rows_out_,
                          "cleaning.imbalance: classes balanced for the fit", part="train")
        return model

    def search(self, make: Callable[[dict[str, Any]], Any], X: Any, y: Any, request: SearchRequest) -> Any:
        from .search import search_on_validation

        return search_on_validation(make, X, y, request)

    def auto(self, make: Callable[[Any], Any], X: Any, y: Any, *, task: str, candidates: Sequence[str],
             budget_s: float, request: SearchRequest) -> Any:
        raise ConfigError("family: auto selects among scikit-learn families; the Keras back end builds the family "
                          "the spec names", hint="set model.family (e.g. mlp)")

    def export(self, model: Any, X_sample: Any, path: Path, *, task: str) -> Any:
        from .export import export_onnx

        return export_onnx(model, X_sample, path, task=task)

    def window_network(self, family: str, *, params: dict[str, Any], seed: int, outputs: int,
                       build_network: Callable[..., Any] | None = None,
                       train_network: Callable[..., Any] | None = None,
                       training: Mapping[str, Any] | None = None) -> Any:
        """Forecasting: the project's recurrent network on sequence windows (see :mod:`.windows` and
        ``aispec.runtime.series.networks``)."""
        from .windows import KerasWindowNetwork

        if build_network is None or train_network is None:
            raise ConfigError(f"a {family} forecaster on Keras needs the project's build_network and train_network "
                              "(model.py)")
        return KerasWindowNetwork(build_network=build_network, train_network=train_network, family=family,
                                  params=params, training=training, outputs=outputs, seed=seed)

    def export_network(self, model: Any, *, length: int) -> Any:
        """Forecasting: the trained network as ONNX at a fixed window ``length`` (see :mod:`.windows`)."""
        from .windows import export_network

        return export_network(model, length=length)

    def describe(self, model: Any) -> str:
        """``mlp(Keras Sequential: Dense 64 relu, Dense 64 relu, Dense 3 softmax; 4,739 weights; 37 of 200 epochs,
        kept epoch 32)``."""
        own = getattr(model, "describe", None)  # a forecaster describes itself (window, weights, epochs)
        if callable(own):
            return str(own())
        network = getattr(model, "network_", None)
        family = str(getattr(network, "name", "") or "network")
        if network is None:
            return f"{family}(Keras, not fitted)"
        layers = []
        for layer in network.layers:
            units = getattr(layer, "units", None) or getattr(layer, "filters", None)  # Dense, Conv2D
            activation = getattr(getattr(layer, "activation", None), "__name__", "")
            activation = "" if activation == "linear" else activation
            name = type(layer).__name__
            layers.append(f"{name} {units if units is not None else ''} {activation}".replace("  ", " ").strip()
                          if units is not None or activation else f"{name} {layer.rate:g}" if name == "Dropout"
                          else name)
        history = getattr(model, "history_", {}) or {}
        epochs = len(history.get("epochs") or [])
        settings = getattr(model, "settings_", None)
        planned = settings.epochs if settings is not None else epochs
        kept = history.get("best_epoch")
        trained = f"{epochs} of {planned} epochs" + (f", kept epoch {kept + 1}" if kept is not None else "")
        return (f"{family}(Keras {type(network).__name__}: {', '.join(layers)}; {network.count_params():,} weights; "
                f"{trained})")
