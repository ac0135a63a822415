"""The spec's ``training`` section and the family's parameters, resolved into one :class:`Training`.

What the generated ``model.py`` reads to compile and fit its network. Precedence: ``model.params`` (and
the values a search tries) over the ``training`` section, so a search can tune the learning rate or the
batch size. The ``mlp`` family shares its parameter names with scikit-learn's ``MLPClassifier``; on
Keras they mean:

=====================  =========================================================================
``learning_rate_init``  the optimizer's learning rate (``training.learning_rate``)
``max_iter``            the number of epochs (``training.epochs``)
``batch_size``          the batch size (``training.batch_size``)
``solver``              the optimizer: ``adam`` or ``sgd`` (``training.optimizer``; no ``lbfgs``)
``alpha``               the L2 penalty factor of the weights (``training.regularization.l2``)
``early_stopping``      true: stop on the validation loss (patience 5); false: train every epoch
``dropout``             the dropout after each hidden layer (``training.regularization.dropout``)
=====================  =========================================================================

``training.schedule`` changes the learning rate once per epoch, as the torch back end's schedulers do
(:meth:`Training.learning_rate_at`: ``step``, ``exponential``, ``cosine``; ``plateau`` is Keras's
``ReduceLROnPlateau`` on the series early stopping watches). ``training.checkpoint_every`` is how many
epochs apart the resumable backup is saved (0: never, so ``--resume`` starts over).

The network's own parameters (``hidden_layer_sizes``, ``hidden_units``, ``layers``, ``activation``,
``batch_norm``) are read by ``build_network`` in ``model.py``.

Losses (``training.loss``) by task, with the names accepted for each (the Keras name is what the network
is compiled with): classification: ``sparse_categorical_crossentropy`` (also ``cross_entropy``,
``crossentropy``, ``categorical_crossentropy``, ``log_loss``, ``nll``: labels are class indices);
regression: ``mean_squared_error`` (``mse``, ``squared_error``, ``l2``), ``mean_absolute_error``
(``mae``, ``absolute_error``, ``l1``), ``huber``, ``log_cosh`` (``logcosh``). A regression network
learns the standardised target (the training split's mean and standard deviation); the exported model
turns its output back into the target's unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aispec.schemas.vocabulary import task_info

from ...errors import ConfigError

__all__ = ["LOSSES", "OPTIMIZERS", "SCHEDULES", "EarlyStop", "FitData", "Schedule", "Training", "resolve_training"]

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad")
LOSSES: dict[str, dict[str, str]] = {
    "classification": {name: "sparse_categorical_crossentropy" for name in (
        "sparse_categorical_crossentropy", "categorical_crossentropy", "cross_entropy", "crossentropy", "log_loss",
        "nll")},
    "regression": {
        **{name: "mean_squared_error" for name in ("mean_squared_error", "mse", "squared_error", "l2")},
        **{name: "mean_absolute_error" for name in ("mean_absolute_error", "mae", "absolute_error", "l1")},
        "huber": "huber", "log_cosh": "log_cosh", "logcosh": "log_cosh",
    },
}
_DEFAULT_LOSS = {"classification": "sparse_categorical_crossentropy", "regression": "mean_squared_error"}
_DEFAULT_PATIENCE = 5
SCHEDULES = ("constant", "step", "exponential", "cosine", "plateau")


@dataclass(frozen=True, slots=True)
class Schedule:
    """``training.schedule``: ``kind``; ``gamma`` (the factor of step, exponential and plateau), ``step_size``
    (epochs between two step decays), ``patience`` (plateau: epochs without improvement before a decay)."""

    kind: str = "constant"
    gamma: float = 0.1
    step_size: int = 10
    patience: int = 2


@dataclass(frozen=True, slots=True)
class EarlyStop:
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs; keep the best epoch."""

    monitor: str
    patience: int
    min_delta: float
    mode: str  # "min" (losses) | "max" (accuracy)


@dataclass(frozen=True, slots=True)
class Training:
    """How the network is compiled and fitted (see the module docstring for where each value comes from).

    ``monitor`` / ``mode``: the series that says which epoch is best (the early-stopping monitor, else
    ``val_loss`` with a validation split, else ``loss``): what the best checkpoint keeps."""

    epochs: int
    batch_size: int
    optimizer: str
    learning_rate: float
    loss: str
    metrics: tuple[str, ...]
    early_stopping: EarlyStop | None
    l1: float
    l2: float
    dropout: float
    monitor: str
    mode: str
    schedule: Schedule = field(default_factory=Schedule)
    checkpoint_every: int = 1

    def learning_rate_at(self, epoch: int) -> float:
        """The learning rate of 0-based ``epoch`` under a ``constant``, ``step``, ``exponential`` or ``cosine``
        schedule: what torch's ``StepLR``, ``ExponentialLR`` and ``CosineAnnealingLR`` (annealed to 0 over
        ``epochs``) give, stepped once per epoch. (``plateau`` depends on the training's course: Keras's
        ``ReduceLROnPlateau`` callback.)"""
        import math

        rate, schedule = self.learning_rate, self.schedule
        if schedule.kind == "step":
            return rate * schedule.gamma ** (epoch // schedule.step_size)
        if schedule.kind == "exponential":
            return rate * schedule.gamma ** epoch
        if schedule.kind == "cosine":
            return rate * (1 + math.cos(math.pi * min(epoch, self.epochs) / max(1, self.epochs))) / 2
        return rate


@dataclass(slots=True)
class FitData:
    """What ``train_network`` fits on: the preprocessed training rows (``x``: float32, one row per sample —
    a feature row, or an image's ``C×H×W`` tensor; ``y``: class indices or the standardised target), the
    validation rows as ``(x, y)`` or None, the class weights (``cleaning.imbalance: class_weight``) and the
    callbacks the runtime adds (the progress line, a search's pruning). With image augmentation ``x`` is a
    ``keras.utils.PyDataset`` drawing fresh altered copies every epoch and ``y`` is None (the dataset holds
    the targets and makes its own batches, as ``model.fit`` takes a dataset)."""

    x: Any
    y: Any
    validation: tuple[Any, Any] | None = None
    class_weight: dict[int, float] | None = None
    callbacks: list[Any] = field(default_factory=list)


def _kind(task: str) -> str:
    return "classification" if task_info(task).classification else "regression"


def _loss(name: Any, task: str) -> str:
    kind = _kind(task)
    if name is None:
        return _DEFAULT_LOSS[kind]
    key = str(name).strip().lower()
    if key in LOSSES[kind]:
        return LOSSES[kind][key]
    other = "regression" if kind == "classification" else "classification"
    why = f"a {other} loss" if key in LOSSES[other] else "not a loss aispec knows"
    raise ConfigError(f"training.loss '{name}' does not fit a {task} network: it is {why}",
                      hint=f"use one of: {', '.join(sorted(LOSSES[kind]))}")


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value or value < 1:
        raise ConfigError(f"{what} must be a whole number of at least 1, not {value!r}")
    return int(value)


def _rate(value: Any, what: str, *, upper: float | None = None, positive: bool = False) -> float:
    low = (value <= 0) if positive else (value < 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or low or \
            (upper is not None and value >= upper):
        bound = f" and below {upper:g}" if upper is not None else ""
        raise ConfigError(f"{what} must be a number {'greater than' if positive else 'of at least'} 0{bound}, "
                          f"not {value!r}")
    return float(value)


def _optimizer(training: Mapping[str, Any], params: Mapping[str, Any]) -> str:
    if "solver" in params:
        solver = str(params["solver"])
        if solver not in ("adam", "sgd"):
            raise ConfigError(f"model.params.solver '{solver}' has no Keras optimizer",
                              hint="use solver adam or sgd, or training.optimizer")
        return solver
    name = str(training.get("optimizer") or "adam")
    if name not in OPTIMIZERS:
        raise ConfigError(f"training.optimizer '{name}' is not one of {', '.join(OPTIMIZERS)}")
    return name


def _early_stopping(training: Mapping[str, Any], params: Mapping[str, Any], *, has_validation: bool,
                    metrics: tuple[str, ...]) -> EarlyStop | None:
    setting: Any = training.get("early_stopping")
    if "early_stopping" in params:
        wanted = bool(params["early_stopping"])
        setting = (setting if isinstance(setting, Mapping) else True) if wanted else False
    if not setting:
        return None
    given = dict(setting) if isinstance(setting, Mapping) else {}
    monitor = str(given.get("monitor") or ("val_loss" if has_validation else "loss"))
    if monitor.startswith("val_") and not has_validation:
        monitor = monitor.removeprefix("val_")  # no validation split (aispec check warns, AIS351): its training twin
    series = ("loss", *metrics)
    if monitor.removeprefix("val_") not in series:
        choices = [*series, *(f"val_{s}" for s in series)] if has_validation else list(series)
        raise ConfigError(f"training.early_stopping.monitor '{monitor}' is not a series the training records",
                          hint=f"monitor one of: {', '.join(choices)}")
    return EarlyStop(monitor=monitor, patience=_positive_int(given.get("patience", _DEFAULT_PATIENCE),
                                                             "training.early_stopping.patience"),
                     min_delta=_rate(given.get("min_delta", 0.0), "training.early_stopping.min_delta"),
                     mode="min" if monitor.removeprefix("val_") == "loss" else "max")


def _schedule(value: Any) -> Schedule:
    if value is None:
        return Schedule()
    given = {"kind": value} if isinstance(value, str) else dict(value)
    kind = str(given.get("kind") or "constant")
    if kind not in SCHEDULES:
        raise ConfigError(f"training.schedule '{kind}' is not one of {', '.join(SCHEDULES)}")
    gamma = _rate(given.get("gamma", 0.1), "training.schedule.gamma", upper=1.0, positive=True)
    return Schedule(kind=kind, gamma=gamma,
                    step_size=_positive_int(given.get("step_size", 10), "training.schedule.step_size"),
                    patience=_positive_int(given.get("patience", 2), "training.schedule.patience"))


def _checkpoint_every(value: Any) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value or value < 0:
        raise ConfigError(f"training.checkpoint_every must be a whole number of at least 0, not {value!r}")
    return int(value)


def resolve_training(training: Mapping[str, Any] | None, params: Mapping[str, Any] | None, *, task: str,
                     has_validation: bool) -> Training:
    """The :class:`Training` of the spec's ``training`` section (resolved: optimizer, learning rate, batch
    size and epochs always set) overridden by ``params``; ConfigError for a value Keras cannot use."""
    training = dict(training or {})
    params = dict(params or {})
    regularization = dict(training.get("regularization") or {})
    metrics = ("accuracy",) if _kind(task) == "classification" else ()
    stop = _early_stopping(training, params, has_validation=has_validation, metrics=metrics)
    if stop is not None:
        monitor, mode = stop.monitor, stop.mode
    else:
        monitor, mode = ("val_loss" if has_validation else "loss"), "min"
    return Training(
        epochs=_positive_int(params.get("max_iter", training.get("epochs") or 20), "training.epochs"),
        batch_size=_positive_int(params.get("batch_size", training.get("batch_size") or 32), "training.batch_size"),
        optimizer=_optimizer(training, params),
        learning_rate=_rate(params.get("learning_rate_init", training.get("learning_rate") or 1e-3),
                            "training.learning_rate", positive=True),
        loss=_loss(training.get("loss"), task),
        metrics=metrics,
        early_stopping=stop,
        l1=_rate(regularization.get("l1", 0.0), "training.regularization.l1"),
        l2=_rate(params.get("alpha", regularization.get("l2", 0.0)), "training.regularization.l2"),
        dropout=_rate(params.get("dropout", regularization.get("dropout", 0.0)), "training.regularization.dropout",
                      upper=1.0),
        monitor=monitor,
        mode=mode,
        schedule=_schedule(training.get("schedule")),
        checkpoint_every=_checkpoint_every(training.get("checkpoint_every")),
    )
