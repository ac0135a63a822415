"""Keras callbacks the runtime adds to a fit: one progress line per epoch, a search's pruning, and the
resumable backup saved every ``training.checkpoint_every`` epochs."""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from .env import keras

__all__ = ["Backup", "EpochHook", "EpochProgress", "PruneTrial", "ValidationMetrics", "schedule_callbacks"]


def _figure(value: float) -> str:
    return f"{value:.4g}"


class EpochProgress(keras.callbacks.Callback):  # type: ignore[misc]
    """Prints one line per epoch: ``epoch 3/20  loss 0.412  val_loss 0.455  accuracy 0.91  (0.05 s)``.

    Plain lines (no control codes), so a terminal, a CI log and a file read the same; in a terminal the
    step's spinner stays below them."""

    def __init__(self, epochs: int, *, stream: IO[str] | None = None, indent: str = "  ") -> None:
        super().__init__()
        self.epochs = epochs
        self.stream = stream
        self.indent = indent
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        width = len(str(self.epochs))
        values = "  ".join(f"{name} {_figure(float(value))}" for name, value in sorted((logs or {}).items(),
                                                                                     key=lambda kv: _order(kv[0])))
        seconds = time.perf_counter() - self._started
        stream = self.stream or sys.stdout
        print(f"{self.indent}epoch {epoch + 1:>{width}}/{self.epochs}  {values}  ({seconds:.2f} s)", file=stream,
              flush=True)


def _order(name: str) -> tuple[int, str]:
    """loss first, then val_loss, then the metrics (training before validation)."""
    base = name.removeprefix("val_")
    return (0 if base == "loss" else 1, name)


class PruneTrial(keras.callbacks.Callback):  # type: ignore[misc]
    """Reports ``monitor`` to an Optuna trial after each epoch and stops the fit when the pruner says so.

    ``sign``: +1 when a higher reported value is better for the study, -1 otherwise (a loss reported to
    a study that maximises its metric is reported negated, so both point the same way)."""

    def __init__(self, trial: Any, monitor: str, sign: float) -> None:
        super().__init__()
        self.trial = trial
        self.monitor = monitor
        self.sign = sign
        self.pruned_at: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        self.trial.report(self.sign * float(value), step=epoch)
        if self.trial.should_prune():
            self.pruned_at = epoch + 1
            self.model.stop_training = True


class ValidationMetrics(keras.callbacks.Callback):  # type: ignore[misc]
    """Adds ``val_<metric>`` to each epoch's logs: ``metrics(outputs)`` of the network's outputs on the
    validation inputs ``x`` (a forecaster's figures in the series' unit). Placed first, so that the
    progress line, the history and early stopping see them."""

    def __init__(self, x: Any, metrics: Any) -> None:
        super().__init__()
        self.x = x
        self.metrics = metrics

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is None:
            return
        outputs = self.model.predict(self.x, batch_size=4096, verbose=0)
        logs.update(self.metrics(outputs))


class EpochHook(keras.callbacks.Callback):  # type: ignore[misc]
    """Calls ``hook(epoch, logs)`` after every epoch (a forecasting search reports to its trial there, and an
    ``optuna.TrialPruned`` it raises ends the fit)."""

    def __init__(self, hook: Any) -> None:
        super().__init__()
        self.hook = hook

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.hook(epoch, dict(logs or {}))
class Backup(keras.callbacks.BackupAndRestore):  # type: ignore[misc]
    """Keras's ``BackupAndRestore`` (weights, optimizer and the epoch reached, restored by ``--resume``),
    saved after every ``every``-th epoch (``training.checkpoint_every``) rather than after each one.

    Keras's own ``save_freq`` counts batches, and a save in the middle of an epoch records the epoch
    before it: a resumed run would redo an epoch on weights that had already seen part of it. Saving at
    the end of epochs only keeps a resumed run on the epochs an uninterrupted one runs."""

    def __init__(self, backup_dir: Any, *, every: int = 1) -> None:
        super().__init__(str(backup_dir), save_freq="epoch")
        self.every = max(1, int(every))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if (epoch + 1) % self.every == 0:
            self._save_model()


def schedule_callbacks(training: Any) -> list[Any]:
    """``training.schedule`` (a resolved ``settings.Training``), once per epoch: step, exponential and cosine
    set the rate of each epoch (``Training.learning_rate_at``, the torch schedulers' rule); plateau multiplies
    it by gamma when the monitored series has not improved for ``patience`` epochs; constant changes nothing."""
    schedule = training.schedule
    if schedule.kind == "plateau":
        return [keras.callbacks.ReduceLROnPlateau(monitor=training.monitor, mode=training.mode,
                                                  factor=schedule.gamma, patience=schedule.patience)]
    if schedule.kind == "constant":
        return []
    return [keras.callbacks.LearningRateScheduler(lambda epoch, rate: training.learning_rate_at(epoch))]
