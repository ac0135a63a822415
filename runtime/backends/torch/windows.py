"""Forecasting on the torch back end: the project's recurrent network (``Network`` in its ``model.py``) on
the scaled sequence windows of ``aispec.runtime.series.networks``, trained by the project's own loop
(``loop.py``) with the same :class:`~.loop.LoopSetup` as a tabular network (every ``training`` field,
early stopping on the validation windows, checkpoints and ``--resume``, the search's pruning hook), and
exported with ``torch.onnx.export`` keeping the batch and the sequence axes dynamic.

The windows arrive scaled (``(rows, time)``, float32); the network takes ``(batch, time, 1)`` and returns
``(batch, outputs)``: one value (recursive) or one per horizon step (direct), in the same scaled units.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ...deep import TRAINING_PARAMS, EpochProgress, TrainingSettings, training_settings
from ...errors import ConfigError, ExportError

__all__ = ["WindowNetwork", "export_network"]

_PREDICT_BATCH = 8192
_WINDOW = "window"


class WindowNetwork:
    """``network(n_inputs, n_outputs, params)`` builds the ``nn.Module`` (``n_inputs`` = 1: one value per time
    step); ``loop`` is the project's ``train_loop``; ``params`` the family's parameters (network shape, and
    training settings a search tunes); ``training`` the spec's section."""

    def __init__(self, *, network: Callable[..., Any], loop: Callable[..., Any], family: str,
                 params: Mapping[str, Any] | None, training: Mapping[str, Any] | None, outputs: int,
                 seed: int = 0) -> None:
        self.network = network
        self.loop = loop
        self.family = family
        self.params = dict(params or {})
        self.training = dict(training or {})
        self.outputs = int(outputs)
        self.seed = seed
        self.settings()  # a wrong training value stops the run before any training time is spent

    def settings(self) -> TrainingSettings:
        return training_settings(self.training, task="forecasting", overrides=self.params)

    def network_params(self) -> dict[str, Any]:
        params = {k: v for k, v in self.params.items() if k not in TRAINING_PARAMS}
        params["dropout"] = self.settings().dropout
        return params

    def fit(self, X: Any, T: Any, *, validation: tuple[Any, Any] | None = None, settings: Any = None,
            metrics: Callable[[Any], dict[str, float]] | None = None,
            on_epoch: Callable[[int, Mapping[str, float]], None] | None = None, progress: bool = True) -> WindowNetwork:
        """Train on scaled windows ``X`` (rows, time) and targets ``T`` (rows, outputs); ``validation``: the
        validation windows; ``settings``: the run's ``api.FitSettings`` (device, threads, checkpoints, resume);
        ``metrics(outputs)``: ``val_<metric>`` from the validation outputs; ``on_epoch``: a search's hook."""
        import torch

        from ...trial_store import fingerprint
        from . import device as devices
        from .loop import Checkpoints, LoopSetup, TensorBatches, make_loss

        training = self.settings()
        devices.seed_everything(training.seed)
        device = devices.choose_device(getattr(settings, "accelerator", "auto") or "auto")
        amp = devices.mixed_precision(device)
        X = np.ascontiguousarray(X, dtype=np.float32)
        T = np.ascontiguousarray(T, dtype=np.float32).reshape(len(X), -1)
        network_params = self.network_params()
        network = self.network(1, self.outputs, network_params)
        self.threads_ = devices.threads(getattr(settings, "cpus", None),
                                        sum(int(p.numel()) for p in network.parameters()))
        batches = TensorBatches(torch.from_numpy(X[..., None]), torch.from_numpy(T), batch_size=training.batch_size,
                                seed=training.seed, shuffle=True)
        val_batches = None
        Xv = np.zeros((0, 0), dtype=np.float32)
        if validation is not None and len(validation[0]):
            Xv = np.ascontiguousarray(validation[0], dtype=np.float32)
            Tv = np.ascontiguousarray(validation[1], dtype=np.float32).reshape(len(Xv), -1)
            val_batches = TensorBatches(torch.from_numpy(Xv[..., None]), torch.from_numpy(Tv),
                                        batch_size=max(training.batch_size, 1024), seed=training.seed, shuffle=False)
        if device.type != "cpu":
            batches = batches.to(device)
            val_batches = val_batches.to(device) if val_batches is not None else None
        checkpoint_dir = getattr(settings, "checkpoint_dir", None)
        stamp = fingerprint(training, sorted(network_params.items()), "forecasting", self.outputs, X, T, Xv)
        setup = LoopSetup(
            settings=training, device=device, mixed_precision=amp, loss=make_loss(training.loss),
            progress=EpochProgress(training.epochs, enabled=progress),
            checkpoints=Checkpoints(checkpoint_dir, every=training.checkpoint_every, fingerprint=stamp),
            resume=bool(getattr(settings, "resume", False)) and checkpoint_dir is not None,
            metrics=(lambda outputs: metrics(outputs.float().cpu().numpy())) if metrics is not None and val_batches
            is not None else (lambda outputs: {}), on_epoch=on_epoch,
        )
        history = self.loop(network, batches, val_batches, setup)
        self.network_ = network.to("cpu").eval()
        self.weights_ = sum(int(p.numel()) for p in network.parameters())
        self.history_ = history.to_dict()
        self.device_ = str(device)
        self.mixed_precision_ = amp
        self.settings_ = training
        return self

    def predict(self, X: Any) -> Any:
        """The network's outputs (rows, outputs) for scaled windows ``X`` (rows, time), any length."""
        import torch

        if not hasattr(self, "network_"):
            raise ConfigError("the network is not trained")
        X = np.ascontiguousarray(X, dtype=np.float32)
        parts = []
        with torch.inference_mode():
            for start in range(0, len(X), _PREDICT_BATCH):
                parts.append(self.network_(torch.from_numpy(X[start:start + _PREDICT_BATCH, :, None])).float().numpy())
        return np.concatenate(parts) if parts else np.zeros((0, self.outputs), dtype=np.float32)


def export_network(model: WindowNetwork, *, length: int, opset: int = 17) -> Any:
    """The trained network as an ONNX model: input ``window`` float32 ``(batch, time, 1)`` with both axes
    dynamic, output ``(batch, outputs)``. The TorchScript exporter (``dynamo=False``): the dynamo exporter
    fixes an LSTM's sequence length (PITFALLS.md); ``length`` only sizes the tracing sample."""
    import onnx
    import torch

    if not hasattr(model, "network_"):
        raise ExportError("the network is not trained: nothing to export")
    network = model.network_.eval()
    sample = torch.zeros(2, max(2, int(length)), 1)
    with tempfile.TemporaryDirectory(prefix="aispec-export-") as folder:
        path = Path(folder) / "network.onnx"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and RNN batch-size notices
                torch.onnx.export(network, (sample,), str(path), dynamo=False, input_names=[_WINDOW],
                                  output_names=["output"], opset_version=opset,
                                  dynamic_axes={_WINDOW: {0: "batch", 1: "time"}, "output": {0: "batch"}})
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExportError(f"torch.onnx.export cannot export the network: {first}",
                              hint="keep the network to operators ONNX has (see model.py)") from exc
        finally:
            network.eval()
        return onnx.load(str(path))
