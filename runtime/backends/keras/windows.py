"""Forecasting on the Keras back end: the project's recurrent network (``build_network`` in its
``model.py``: a ``Sequential`` of LSTM / GRU layers) on the scaled sequence windows of
``aispec.runtime.series.networks``, compiled and fitted by the project's ``train_network`` (``model.fit``
with its callbacks: early stopping on the validation windows, the best epoch's checkpoint, a backup to
``--resume`` from), and exported by Keras's own ONNX export.

The windows arrive scaled (``(rows, time)``, float32); the network takes ``(batch, time, 1)`` (its input
accepts any length) and returns ``(batch, outputs)``.

**The exported window length is fixed.** Keras's ONNX export (torch back end) unrolls the recurrence over
the sequence: with a dynamic time axis in the input signature the graph runs any length but computes wrong
numbers (measured here: 0.04 off for an LSTM, 0.3 for a GRU, at the very length traced); with the length
fixed it is exact. So the served graph's window is the spec's (``len(problem.lags)``), which is all the
service ever feeds it; parity at a second length is measured on a second export at that length.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from ...errors import ConfigError, ExportError
from .settings import FitData, Training, resolve_training

__all__ = ["KerasWindowNetwork", "export_network"]

_PREDICT_BATCH = 4096
_WINDOW = "window"
# training settings a search may tune, as model parameters: the `training` section's names
_TRAINING_OVERRIDES = ("learning_rate", "optimizer")
# what the project's build_network and the training settings read
ACCEPTED = ("hidden_size", "num_layers", "bidirectional", "dropout", "learning_rate", "optimizer", "batch_size")


class KerasWindowNetwork:
    """``build_network(input_shape, n_outputs, params, training)`` returns the uncompiled network;
    ``train_network(network, data, training, checkpoints=, resume=)`` compiles and fits it (the project's
    ``model.py``); ``params``: the family's parameters (and a search's values); ``training``: the spec's
    section."""

    def __init__(self, *, build_network: Callable[..., Any], train_network: Callable[..., Any], family: str,
                 params: Mapping[str, Any] | None, training: Mapping[str, Any] | None, outputs: int,
                 seed: int = 0) -> None:
        self.build_network = build_network
        self.train_network = train_network
        self.family = family
        self.params = dict(params or {})
        self.training = dict(training or {})
        self.outputs = int(outputs)
        self.seed = seed
        unread = sorted(set(self.params) - set(ACCEPTED))
        if unread:
            raise ConfigError(f"{family}: {', '.join(unread)} {'is' if len(unread) == 1 else 'are'} not read by a "
                              "forecasting network on Keras", hint=f"its parameters: {', '.join(sorted(ACCEPTED))}")
        self.settings(has_validation=True)  # a wrong training value stops the run before any training time is spent

    def settings(self, *, has_validation: bool) -> Training:
        """The training section with the parameters that override it (learning_rate, optimizer, batch_size,
        dropout), resolved. Early stopping may also watch a forecasting metric of the validation windows
        (``val_mae``, ``val_mase``, ...: :class:`~.callbacks.ValidationMetrics` records them); without a
        validation part it watches the training loss."""
        import dataclasses

        from aispec.schemas.vocabulary import monitor_target

        training = dict(self.training)
        params = dict(self.params)
        for name in _TRAINING_OVERRIDES:
            if name in params:
                training[name] = params.pop(name)
        stopping = training.get("early_stopping")
        monitor = str(stopping.get("monitor") or "") if isinstance(stopping, Mapping) else ""
        target = monitor_target(monitor, "forecasting") if monitor.removeprefix("val_") not in ("", "loss") else None
        if target is None:
            return resolve_training(training, params, task="forecasting", has_validation=has_validation)
        assert isinstance(stopping, Mapping)
        training["early_stopping"] = {k: v for k, v in stopping.items() if k != "monitor"}
        resolved = resolve_training(training, params, task="forecasting", has_validation=has_validation)
        if not has_validation or resolved.early_stopping is None:
            return resolved
        mode = "max" if target[1] else "min"
        stop = dataclasses.replace(resolved.early_stopping, monitor=target[0], mode=mode)
        return dataclasses.replace(resolved, early_stopping=stop, monitor=target[0], mode=mode)

    def fit(self, X: Any, T: Any, *, validation: tuple[Any, Any] | None = None, settings: Any = None,
            metrics: Callable[[Any], dict[str, float]] | None = None,
            on_epoch: Callable[[int, Mapping[str, float]], None] | None = None,
            progress: bool = True) -> KerasWindowNetwork:
        """Train on scaled windows ``X`` (rows, time) and targets ``T`` (rows, outputs); see
        ``torch.windows.WindowNetwork.fit`` for the arguments (the same contract)."""
        from .env import keras, require_torch
        from .pipeline import _history, _seed_everything

        require_torch()
        has_validation = validation is not None and len(validation[0]) > 0
        training = self.settings(has_validation=has_validation)
        self.settings_ = training
        self.device_ = _device(str(getattr(settings, "accelerator", "auto") or "auto"))
        self.mixed_precision_ = False
        x = np.ascontiguousarray(X, dtype=np.float32)[..., None]
        y = np.ascontiguousarray(T, dtype=np.float32).reshape(len(x), -1)
        val = None
        if has_validation:
            assert validation is not None
            xv = np.ascontiguousarray(validation[0], dtype=np.float32)[..., None]
            val = (xv, np.ascontiguousarray(validation[1], dtype=np.float32).reshape(len(xv), -1))
        checkpoints = getattr(settings, "checkpoint_dir", None)
        resume = bool(getattr(settings, "resume", False)) and checkpoints is not None
        with _threads(getattr(settings, "cpus", None)), keras.device(self.device_):
            _seed_everything(self.seed)
            from .callbacks import EpochHook, EpochProgress, ValidationMetrics

            callbacks: list[Any] = []
            if metrics is not None and val is not None:
                callbacks.append(ValidationMetrics(val[0], metrics))  # first: the others see val_<metric>
            if progress:
                callbacks.append(EpochProgress(training.epochs))
            if on_epoch is not None:
                callbacks.append(EpochHook(on_epoch))
            data = FitData(x=x, y=y, validation=val, callbacks=callbacks)
            network = self.build_network((None, 1), self.outputs, dict(self.params), training)
            history = self.train_network(network, data, training, checkpoints=checkpoints, resume=resume)
        self.network_ = network
        self.weights_ = int(network.count_params())
        self.history_ = _history(history, training)
        return self

    def predict(self, X: Any) -> Any:
        """The network's outputs (rows, outputs) for scaled windows ``X`` (rows, time), any length."""
        from .env import keras

        if not hasattr(self, "network_"):
            raise ConfigError("the network is not trained")
        x = np.ascontiguousarray(X, dtype=np.float32)[..., None]
        with _threads(1), keras.device(self.device_):
            return np.asarray(self.network_.predict(x, batch_size=_PREDICT_BATCH, verbose=0), dtype=np.float32)


def _device(accelerator: str) -> str:
    import torch

    if accelerator == "cpu":
        return "cpu"
    if accelerator == "gpu" and not torch.cuda.is_available():
        raise ConfigError("hardware.accelerator is gpu, and PyTorch sees no CUDA device here",
                          hint="use accelerator: auto (CUDA when present) or cpu")
    return "cuda" if torch.cuda.is_available() else "cpu"


@contextlib.contextmanager
def _threads(cpus: int | None) -> Iterator[None]:
    """``hardware.cpus`` PyTorch threads (unset: one; small recurrent networks gain nothing from more, see
    ``pipeline.KerasPipeline._threads``), the previous count restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(int(cpus or 1))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def export_network(model: KerasWindowNetwork, *, length: int, opset: int = 17) -> Any:
    """The trained network as ONNX (Keras's own export): input ``window`` float32 ``(batch, length, 1)``, the
    batch axis dynamic and the window's length fixed (see the module docstring)."""
    import onnx

    from .env import keras
    from .export import _drop_noop_casts, _quiet

    if not hasattr(model, "network_"):
        raise ExportError("the network is not trained: nothing to export")
    signature = [keras.InputSpec(shape=(None, int(length), 1), dtype="float32", name=_WINDOW)]
    with tempfile.TemporaryDirectory(prefix="aispec-keras-") as folder:
        path = os.path.join(folder, "network.onnx")
        try:
            with _quiet(), keras.device(model.device_):
                model.network_.export(path, format="onnx", verbose=False, input_signature=signature,
                                      opset_version=opset)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExportError(f"Keras cannot export the network to ONNX: {first}") from exc
        return _drop_noop_casts(onnx.load(path, load_external_data=True))
