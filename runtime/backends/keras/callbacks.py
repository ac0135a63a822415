"""Keras callbacks the runtime adds to a fit: one progress line per epoch, a search's pruning, and the
resumable backup saved every ``training.checkpoint_every`` epochs."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import IO, Any

import numpy as np

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


# What each stateful callback of a fit remembers between epochs, saved beside the backup so that a resumed
# fit goes on counting where the interrupted one stopped (their on_train_begin resets it all otherwise).
_KEPT: tuple[tuple[type, tuple[str, ...]], ...] = (
    (keras.callbacks.EarlyStopping, ("wait", "best", "best_epoch", "stopped_epoch")),
    (keras.callbacks.ReduceLROnPlateau, ("wait", "best", "cooldown_counter")),
    (keras.callbacks.ModelCheckpoint, ("best",)),
)
_STATE = "callbacks.json"
_BEST = "best_weights.npz"


def _kept(callback: Any) -> tuple[str, ...]:
    return next((names for kind, names in _KEPT if isinstance(callback, kind)), ())


class Backup(keras.callbacks.BackupAndRestore):  # type: ignore[misc]
    """Keras's ``BackupAndRestore`` (weights, optimizer and the epoch reached, restored by ``--resume``),
    saved after every ``every``-th epoch (``training.checkpoint_every``) rather than after each one, with
    the state of the fit's other callbacks (``keep``) and the epochs' figures so far.

    Keras's own ``save_freq`` counts batches, and a save in the middle of an epoch records the epoch
    before it: a resumed run would redo an epoch on weights that had already seen part of it. Saving at
    the end of epochs only keeps a resumed run on the epochs an uninterrupted one runs. Keras's backup
    alone resumes with early stopping's patience, best value and best weights, the plateau schedule's
    counters and the best checkpoint's value all reset, and a ``History`` of the resumed epochs only:
    here they carry on, and the history returned holds every epoch (``resumed_from`` on it says where
    the interrupted run stopped)."""

    def __init__(self, backup_dir: Any, *, every: int = 1, keep: Any = ()) -> None:
        super().__init__(str(backup_dir), save_freq="epoch")
        self.every = max(1, int(every))
        self.keep = [callback for callback in keep if _kept(callback)]
        self.dir = Path(str(backup_dir))
        self.seen: dict[str, list[Any]] = {}  # the figures of every epoch so far, earlier runs' included
        self.numbers: list[int] = []
        self.resumed_from: int | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)  # weights, optimizer and the epoch reached
        state = self._state()
        if state is None:
            return
        for callback, saved in zip(self.keep, state["callbacks"], strict=False):
            for name, value in saved.items():
                setattr(callback, name, value)
            if isinstance(callback, keras.callbacks.EarlyStopping) and (self.dir / _BEST).exists():
                with np.load(self.dir / _BEST) as arrays:
                    callback.best_weights = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
        self.seen = {name: list(values) for name, values in state["history"].items()}
        self.numbers = list(range(state["epoch"]))
        self.resumed_from = state["epoch"]

    def _state(self) -> dict[str, Any] | None:
        """The saved state of the other callbacks, when it belongs to the epoch the backup holds (a fit cut
        off between the two writes has a backup newer than its state: that state is not used)."""
        path = self.dir / _STATE
        reached = getattr(self.model, "_initial_epoch", None)
        if not path.exists() or not reached:
            return None
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if state.get("epoch") != reached or len(state.get("callbacks", ())) != len(self.keep):
            return None
        return state

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.numbers.append(epoch)
        for name, value in (logs or {}).items():
            self.seen.setdefault(name, []).append(float(value))
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if (epoch + 1) % self.every == 0:
            self._save_model()
            self._save_state(epoch + 1)

    def _save_state(self, epoch: int) -> None:
        best = next((c.best_weights for c in self.keep
                     if isinstance(c, keras.callbacks.EarlyStopping) and c.best_weights is not None), None)
        if best is not None:
            with open(self.dir / f"{_BEST}.tmp", "wb") as fh:
                np.savez(fh, *[np.asarray(w) for w in best])  # arr_0, arr_1, ... in order
            os.replace(self.dir / f"{_BEST}.tmp", self.dir / _BEST)
        state = {"epoch": epoch, "history": self.seen,
                 "callbacks": [{name: _plain(getattr(c, name, None)) for name in _kept(c)} for c in self.keep]}
        (self.dir / f"{_STATE}.tmp").write_text(json.dumps(state), encoding="utf-8")
        os.replace(self.dir / f"{_STATE}.tmp", self.dir / _STATE)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_end(logs)  # a finished fit leaves no backup
        history = getattr(self.model, "history", None)
        if self.resumed_from is not None and isinstance(history, keras.callbacks.History):
            history.history = {name: list(values) for name, values in self.seen.items()}
            history.epoch = list(self.numbers)
            history.resumed_from = self.resumed_from


def _plain(value: Any) -> Any:
    """A callback's counter or best value as JSON holds it (numpy and backend scalars become floats)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return float(value)


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
