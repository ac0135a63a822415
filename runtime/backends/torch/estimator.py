"""A network with its input preprocessing, as a scikit-learn estimator: what a torch project's
``build_pipeline`` returns, so the workflow's evaluation, per-group metrics, permutation importance
and scorers work on it unchanged.

``fit`` turns rows into tensors (the input kind, :mod:`.inputs`), builds the network (the project's
``build_network``), and calls the project's own training loop (``train_loop`` in ``<package>/loop.py``)
with the batches and a :class:`~.loop.LoopSetup` made from the spec. Classification trains on class
indices (``classes_``: the sorted labels) and predicts ``softmax`` probabilities; regression trains on
the target standardised with the training mean and standard deviation (the network's output is
rescaled, in predictions and in the exported graph alike).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin  # type: ignore[import-untyped]

from aispec.schemas.vocabulary import METRICS, task_info

from ...deep import TRAINING_PARAMS, EpochProgress, TrainingSettings, training_settings
from ...errors import ConfigError

__all__ = ["FitContext", "NetworkClassifier", "NetworkRegressor", "make_network_estimator"]

_PREDICT_BATCH = 8192


@dataclass(frozen=True)
class FitContext:
    """How one fit runs, beyond the model's own settings: ``hardware`` (accelerator, cpus), checkpoints and
    ``--resume``, the progress display, the metric the validation epochs report (the primary one) and the
    search's per-epoch hook."""

    accelerator: str = "auto"
    cpus: int | None = None
    checkpoint_dir: Path | None = None
    resume: bool = False
    progress: bool = True
    scoring: str | None = None
    positive_class: Any = None
    on_epoch: Callable[[int, Mapping[str, float]], None] | None = None
    augmentation: Mapping[str, Any] | None = None  # images: {"image": settings, "factor": f}, drawn per epoch
    # runs the training loop elsewhere (hardware.distributed: data-parallel workers), with the same arguments
    loop_runner: Any = None


class _NetworkEstimator(BaseEstimator):  # type: ignore[misc]
    """See the module docstring. ``network(n_inputs, n_outputs, params)`` builds the ``nn.Module``; ``loop``
    is the training loop; ``params`` the family's parameters (network shape, and training settings that a
    search tunes: learning_rate, batch_size, optimizer, dropout); ``training`` the spec's section."""

    def __init__(self, network: Callable[..., Any] | None = None, loop: Callable[..., Any] | None = None,
                 preprocessor: Any = None, params: Mapping[str, Any] | None = None,
                 training: Mapping[str, Any] | None = None, task: str = "classification",
                 class_weight: str | None = None) -> None:
        self.network = network
        self.loop = loop
        self.preprocessor = preprocessor
        self.params = params
        self.training = training
        self.task = task
        self.class_weight = class_weight  # "balanced" (cleaning.imbalance: class_weight): the loss weighs classes

    # ------------------------------------------------------------------------------------ fitting

    def _targets(self, y: Any) -> Any:
        raise NotImplementedError

    def _n_outputs(self) -> int:
        raise NotImplementedError

    def _decode(self, outputs: Any) -> tuple[Any, Any]:
        """(predictions, scores) from the network's raw outputs."""
        raise NotImplementedError

    def settings(self) -> TrainingSettings:
        return training_settings(self.training, task=self.task, overrides=self.params)

    def network_params(self) -> dict[str, Any]:
        """The parameters the network builder takes: the family's, with the resolved dropout."""
        params = {k: v for k, v in dict(self.params or {}).items() if k not in TRAINING_PARAMS}
        params["dropout"] = self.settings().dropout
        return params

    def fit(self, X: Any, y: Any, *, validation: tuple[Any, Any] | None = None,
            context: FitContext | None = None) -> _NetworkEstimator:
        """Train on ``X``, ``y``; ``validation`` (rows, targets) is what early stopping, a plateau schedule and
        the search watch."""
        from ...trial_store import fingerprint
        from . import device as devices
        from .inputs import input_kind
        from .loop import Checkpoints, LoopSetup, make_loss

        if self.network is None or self.loop is None:
            raise ConfigError("a network estimator needs its network builder and its training loop")
        ctx = context or FitContext()
        settings = self.settings()
        devices.seed_everything(settings.seed)
        device = devices.choose_device(ctx.accelerator)
        amp = devices.mixed_precision(device)
        inputs = input_kind(task_info(self.task).modality, self.preprocessor, ctx.augmentation)
        features = inputs.fit_transform(X, y)
        targets = self._fit_targets(y)
        network_params = self.network_params()
        network = self.network(inputs.network_input, self._n_outputs(), network_params)
        self.threads_ = devices.threads(ctx.cpus, sum(int(p.numel()) for p in network.parameters()))
        val_labels = None
        val_features = None
        if validation is not None and validation[0] is not None and len(validation[0]):
            val_labels = np.asarray(validation[1])
            val_features = inputs.transform(validation[0])
        trained, batches, val_batches = self._loop_inputs(network, inputs, features, targets, val_features,
                                                          val_labels, settings, device, ctx.cpus)
        if device.type != "cpu":  # small tables: on the device once, not copied batch by batch
            batches = batches.to(device) if hasattr(batches, "to") else batches
            val_batches = val_batches.to(device) if val_batches is not None and hasattr(val_batches, "to") \
                else val_batches
        stamp = fingerprint(settings, sorted(network_params.items()), self.task, features, targets,
                            None if val_labels is None else val_labels.astype(str),
                            sorted((ctx.augmentation or {}).items()))
        setup = LoopSetup(
            settings=settings, device=device, mixed_precision=amp,
            loss=make_loss(settings.loss, self._weights(targets)),
            progress=EpochProgress(settings.epochs, enabled=ctx.progress),
            checkpoints=Checkpoints(ctx.checkpoint_dir, every=settings.checkpoint_every, fingerprint=stamp),
            resume=ctx.resume, metrics=self._validation_metrics(val_labels, ctx), on_epoch=ctx.on_epoch,
        )
        if ctx.loop_runner is not None:
            history = ctx.loop_runner.run(self.loop, trained, batches, val_batches, setup)
        else:
            history = self.loop(trained, batches, val_batches, setup)
        self.network_ = network.to("cpu").eval()
        devices.threads(ctx.cpus, sum(int(p.numel()) for p in network.parameters()))  # predicting runs all of it
        self.inputs_ = inputs
        self.n_features_in_ = inputs.n_features
        self.history_ = history.to_dict()
        self.device_ = str(device)
        self.mixed_precision_ = amp
        self.settings_ = settings
        return self

    def _loop_inputs(self, network: Any, inputs: Any, features: Any, targets: Any, val_features: Any,
                     val_labels: Any, settings: TrainingSettings, device: Any,
                     cpus: int | None) -> tuple[Any, Any, Any]:
        """What the loop trains and on what: ``(module, batches, validation batches)``. A network with a frozen
        encoder trains its head on the encoder's outputs, computed once (:mod:`.frozen`)."""
        from . import device as devices
        from .frozen import embed, frozen_parts, weights_digest
        from .loop import TensorBatches

        val_size = max(settings.batch_size, 1024)
        parts = frozen_parts(network)
        if parts is None:
            batches = inputs.batches(features, targets, batch_size=settings.batch_size, seed=settings.seed,
                                     shuffle=True, augment=True)
            val_batches = None if val_features is None else inputs.batches(
                val_features, self._targets(val_labels), batch_size=val_size, seed=settings.seed, shuffle=False)
            return network, batches, val_batches
        import torch

        encoder, head = parts
        digest = weights_digest(encoder)
        pad_id = getattr(inputs, "pad_id", 0)
        embedded = embed(encoder, features, pad_id=pad_id, device=device, digest=digest)
        batches = TensorBatches(torch.from_numpy(embedded), torch.from_numpy(targets), batch_size=settings.batch_size,
                                seed=settings.seed, shuffle=True)
        val_batches = None
        if val_features is not None:
            val_embedded = embed(encoder, val_features, pad_id=pad_id, device=device, digest=digest)
            val_batches = TensorBatches(torch.from_numpy(val_embedded), torch.from_numpy(self._targets(val_labels)),
                                        batch_size=val_size, seed=settings.seed, shuffle=False)
        # the head alone is small: threads would wait on each other (see device.threads)
        self.threads_ = devices.threads(cpus, sum(int(p.numel()) for p in head.parameters()))
        return head, batches, val_batches

    def _fit_targets(self, y: Any) -> Any:
        return self._targets(np.asarray(y))

    def _weights(self, targets: Any) -> Any:
        """Per-class loss weights for ``class_weight="balanced"``: n / (classes * rows of the class)."""
        if self.class_weight != "balanced" or not hasattr(self, "classes_"):
            return None
        counts = np.bincount(targets[targets >= 0], minlength=len(self.classes_)).astype(np.float64)
        return (counts.sum() / (len(counts) * np.maximum(counts, 1))).astype(np.float32)

    def _validation_metrics(self, labels: Any, ctx: FitContext) -> Callable[[Any], dict[str, float]]:
        """``val_<metric>`` of the primary metric and of early stopping's, from the validation outputs."""
        from ... import metrics as metric_fns

        if labels is None:
            return lambda outputs: {}
        names: list[str] = []
        for name in (ctx.scoring or "", self.settings().monitor.removeprefix("val_")):
            info = METRICS.get(name)
            if info is not None and info.kind == "quality" and self.task in {t.value for t in info.tasks} \
                    and name not in names:
                names.append(name)
        task, positive = self.task, ctx.positive_class

        def metrics(outputs: Any) -> dict[str, float]:
            predictions, scores = self._decode(outputs.float().cpu().numpy())
            found: dict[str, float] = {}
            for name in names:  # one at a time: a metric without a value here (one class only) is left out
                try:
                    found.update(metric_fns.compute(task, [name], y_true=labels, y_pred=predictions, y_score=scores,
                                                    labels=getattr(self, "classes_", None), positive_class=positive))
                except (ConfigError, ValueError):
                    continue
            return {f"val_{k}": float(v) for k, v in found.items()}

        return metrics

    # ---------------------------------------------------------------------------------- predicting

    def outputs(self, X: Any) -> Any:
        """The network's raw outputs (class scores before softmax, or the standardised value) for rows ``X``."""
        import torch

        from .frozen import embed, frozen_parts

        features = self.inputs_.transform(X)
        network = self.network_
        frozen = frozen_parts(network)
        if frozen is not None and len(features):  # the frozen encoder's outputs are cached per text
            encoder, network = frozen
            features = embed(encoder, features, pad_id=getattr(self.inputs_, "pad_id", 0))
            tensor: Callable[[Any], Any] = torch.from_numpy
            step = _PREDICT_BATCH
        else:
            tensor = self.inputs_.tensor
            step = int(getattr(self.inputs_, "predict_batch", _PREDICT_BATCH))
        parts = []
        with torch.inference_mode():
            for start in range(0, len(features), step):
                parts.append(network(tensor(features[start:start + step])).float().numpy())
        return np.concatenate(parts) if parts else np.zeros((0, self._n_outputs()), dtype=np.float32)

    def predict(self, X: Any) -> Any:
        return self._decode(self.outputs(X))[0]


class NetworkClassifier(ClassifierMixin, _NetworkEstimator):  # type: ignore[misc]
    """A classifying network: ``predict`` gives labels (``classes_``), ``predict_proba`` softmax probabilities."""

    def _fit_targets(self, y: Any) -> Any:
        labels = np.asarray(y).astype(str)
        self.classes_ = np.unique(labels).astype(object)
        if len(self.classes_) < 2:
            raise ConfigError(f"the training rows hold only one class ({self.classes_[0]!r}): nothing to learn")
        return self._targets(labels)

    def _targets(self, y: Any) -> Any:
        labels = np.asarray(y).astype(str)
        index = np.searchsorted(self.classes_.astype(str), labels)
        index = np.clip(index, 0, len(self.classes_) - 1)
        known = self.classes_.astype(str)[index] == labels
        # a validation label the training rows never had: ignored by the loss (CrossEntropyLoss ignore_index)
        return np.where(known, index, -100).astype(np.int64)

    def _n_outputs(self) -> int:
        return len(self.classes_)

    def _decode(self, outputs: Any) -> tuple[Any, Any]:
        proba = _softmax(outputs)
        return self.classes_[np.argmax(proba, axis=1)], proba

    def predict_proba(self, X: Any) -> Any:
        return _softmax(self.outputs(X))


class NetworkRegressor(RegressorMixin, _NetworkEstimator):  # type: ignore[misc]
    """A regressing network: trained on the standardised target, predicting in the target's units."""

    def _fit_targets(self, y: Any) -> Any:
        values = np.asarray(y, dtype=np.float64)
        self.y_mean_ = float(np.mean(values))
        spread = float(np.std(values))
        self.y_std_ = spread if spread > 0 and np.isfinite(spread) else 1.0
        return self._targets(values)

    def _targets(self, y: Any) -> Any:
        values = (np.asarray(y, dtype=np.float64) - self.y_mean_) / self.y_std_
        return values.astype(np.float32).reshape(-1, 1)

    def _n_outputs(self) -> int:
        return 1

    def _decode(self, outputs: Any) -> tuple[Any, Any]:
        values = outputs[:, 0].astype(np.float64) * self.y_std_ + self.y_mean_
        return values, None


def _softmax(outputs: Any) -> Any:
    shifted = outputs.astype(np.float64) - outputs.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def make_network_estimator(*, task: str, network: Callable[..., Any], loop: Callable[..., Any], preprocessor: Any,
                           params: Mapping[str, Any] | None = None,
                           training: Mapping[str, Any] | None = None) -> _NetworkEstimator:
    """The classifier or regressor for ``task`` (checked: the training settings are read now, so a wrong value
    stops the run before any training time is spent)."""
    cls = NetworkClassifier if task_info(task).classification else NetworkRegressor
    estimator = cls(network=network, loop=loop, preprocessor=preprocessor, params=dict(params or {}),
                    training=dict(training or {}), task=task)
    estimator.settings()
    return estimator
