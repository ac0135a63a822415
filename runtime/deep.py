"""What every back end with a training loop shares, whatever its framework: the spec's ``training``
section read into one value, early stopping, and the progress shown per epoch.

No framework imports here (torch, keras): a back end's own package builds on these.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aispec.schemas.vocabulary import LOSS_ALIASES, LOSSES, default_loss, monitor_target

from .errors import ConfigError

__all__ = ["EarlyStopping", "EpochProgress", "History", "TrainingSettings", "training_settings"]

T = TypeVar("T")

# the spec's defaults when a value is missing (the compiler resolves them; code may call without a spec)
_DEFAULTS: dict[str, Any] = {"optimizer": "adam", "learning_rate": 1e-3, "batch_size": 32, "epochs": 20,
                             "checkpoint_every": 1}
# model.params / model.search.space names that override a `training` setting
TRAINING_PARAMS = ("learning_rate", "batch_size", "optimizer", "dropout")


@dataclass(frozen=True, slots=True)
class TrainingSettings:
    """The ``training`` section, resolved: every value present and checked.

    ``monitor`` is what early stopping (and a ``plateau`` schedule) watches (``val_loss``, ``loss`` or
    ``val_<metric>``) and ``higher_is_better`` its direction; ``patience`` is None without early stopping.
    """

    task: str
    loss: str
    optimizer: str
    learning_rate: float
    batch_size: int
    epochs: int
    schedule: dict[str, Any]
    patience: int | None
    monitor: str
    higher_is_better: bool
    min_delta: float
    l1: float
    l2: float
    dropout: float
    seed: int
    checkpoint_every: int

    @property
    def early_stopping(self) -> bool:
        return self.patience is not None


def training_settings(training: Mapping[str, Any] | None, *, task: str,
                      overrides: Mapping[str, Any] | None = None) -> TrainingSettings:
    """``training`` (the spec's section) with ``overrides`` (model parameters that name a training setting:
    learning_rate, batch_size, optimizer, dropout) applied; ConfigError for a value no loop can use."""
    spec = dict(training or {})
    over = dict(overrides or {})

    def value(name: str) -> Any:
        if name in over and over[name] is not None:
            return over[name]
        found = spec.get(name)
        return _DEFAULTS.get(name) if found is None else found

    loss = str(spec.get("loss") or default_loss(task))
    loss = LOSS_ALIASES.get(loss, loss)
    if loss not in LOSSES or task not in {t.value for t in LOSSES[loss][0]}:
        fits = sorted(name for name, (tasks, _) in LOSSES.items() if task in {t.value for t in tasks})
        raise ConfigError(f"training.loss '{spec.get('loss')}' does not fit a {task} task",
                          hint=f"use one of: {', '.join(fits)}")
    stopping = spec.get("early_stopping")
    if stopping is True:
        stopping = {}
    monitor_name = (stopping or {}).get("monitor") if isinstance(stopping, Mapping) else None
    target = monitor_target(monitor_name, task)
    if target is None:
        raise ConfigError(f"training.early_stopping.monitor '{monitor_name}' is not something a {task} run "
                          "measures", hint="val_loss, loss, or val_<metric> for a metric of the task")
    regularization = dict(spec.get("regularization") or {})
    schedule = spec.get("schedule") or {"kind": "constant"}
    if isinstance(schedule, str):
        schedule = {"kind": schedule}
    schedule = {"kind": "constant", "gamma": 0.1, "step_size": 10, "patience": 2, **dict(schedule)}
    optimizer = str(value("optimizer"))
    if optimizer not in ("sgd", "adam", "adamw", "rmsprop", "adagrad"):
        raise ConfigError(f"optimizer '{optimizer}' is not one of sgd, adam, adamw, rmsprop, adagrad")
    learning_rate = float(value("learning_rate"))
    batch_size = int(value("batch_size"))
    if not (learning_rate > 0 and math.isfinite(learning_rate)) or batch_size < 1:
        raise ConfigError(f"learning rate {learning_rate:g} and batch size {batch_size} must be positive")
    dropout = float(over["dropout"]) if over.get("dropout") is not None else float(regularization.get("dropout", 0.0))
    if not 0 <= dropout < 1:
        raise ConfigError(f"dropout {dropout:g} must be in [0, 1)")
    return TrainingSettings(
        task=task, loss=loss, optimizer=optimizer, learning_rate=learning_rate, batch_size=batch_size,
        epochs=int(value("epochs")), schedule=schedule,
        patience=int((stopping or {}).get("patience", 5)) if isinstance(stopping, Mapping) else None,
        monitor=target[0], higher_is_better=target[1],
        min_delta=float((stopping or {}).get("min_delta", 0.0)) if isinstance(stopping, Mapping) else 0.0,
        l1=float(regularization.get("l1", 0.0)), l2=float(regularization.get("l2", 0.0)), dropout=dropout,
        seed=int(spec.get("seed", 0) or 0), checkpoint_every=int(value("checkpoint_every")),
    )


class EarlyStopping:
    """Stops training when the monitored value has not improved by more than ``min_delta`` for
    ``patience`` epochs (Keras's and Lightning's rule), and remembers the best epoch. Its state is plain
    data, saved in checkpoints so that a resumed run stops where the uninterrupted one would."""

    def __init__(self, patience: int | None, *, higher_is_better: bool, min_delta: float = 0.0) -> None:
        self.patience = patience
        self.higher_is_better = higher_is_better
        self.min_delta = min_delta
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.waited = 0

    def update(self, value: float | None, epoch: int) -> bool:
        """Record ``value`` at ``epoch``; True when it is the best so far (by more than ``min_delta``).
        Without early stopping (``patience`` None) or without a value (no validation split), nothing is
        recorded and the answer is False: the last epoch's weights are the model."""
        if self.patience is None or value is None:
            return False
        if not math.isfinite(value):
            improved = False
        elif self.best is None:
            improved = True
        else:
            change = value - self.best if self.higher_is_better else self.best - value
            improved = change > self.min_delta
        if improved:
            self.best, self.best_epoch, self.waited = value, epoch, 0
        else:
            self.waited += 1
        return improved

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.waited >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "waited": self.waited}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best, self.best_epoch, self.waited = state["best"], state["best_epoch"], int(state["waited"])


@dataclass
class History:
    """Per-epoch figures: ``epochs[i]`` holds epoch ``i``'s ``loss``, ``val_loss``, ``val_<metric>``, ``lr`` and
    ``seconds``; what the report plots as training curves."""

    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    resumed_from: int | None = None  # the epoch a --resume run continued after

    def append(self, logs: Mapping[str, float]) -> None:
        self.epochs.append({k: float(v) for k, v in logs.items()})

    def series(self) -> dict[str, list[float]]:
        names = list(dict.fromkeys(k for logs in self.epochs for k in logs))
        return {name: [logs.get(name, math.nan) for logs in self.epochs] for name in names}

    def to_dict(self) -> dict[str, Any]:
        return {"epochs": [dict(e) for e in self.epochs], "best_epoch": self.best_epoch,
                "stopped_early": self.stopped_early, "resumed_from": self.resumed_from}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        return cls([dict(e) for e in data.get("epochs", [])], data.get("best_epoch"),
                   bool(data.get("stopped_early")), data.get("resumed_from"))


def _shown(logs: Mapping[str, float]) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in logs.items() if k not in ("seconds", "epoch"))


class EpochProgress:
    """A progress bar per epoch over its batches (rich, on a terminal), or one plain line per epoch
    when the output is not a terminal (CI logs, files), like :mod:`aispec.runtime.progress`.

    ``enabled=False`` shows nothing (a search's trials). The console is the run's own
    (``progress.current_console()``), so the bar sits below the running step's spinner."""

    def __init__(self, epochs: int, *, enabled: bool = True, console: Any = None) -> None:
        from .progress import current_console

        self.epochs = epochs
        self.enabled = enabled
        self.console = console if console is not None else current_console()
        self._started = 0.0

    @property
    def interactive(self) -> bool:
        return bool(self.enabled and self.console is not None and self.console.is_terminal
                    and not self.console.is_dumb_terminal)

    def batches(self, batches: Iterable[T], epoch: int, total: int | None = None) -> Iterator[T]:
        """Yield ``batches`` while the bar of ``epoch`` (0-based) advances."""
        self._started = time.perf_counter()
        if not self.interactive:
            yield from batches
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn(f"  epoch {epoch + 1}/{self.epochs}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=self.console, transient=True) as bar:
            task = bar.add_task("batches", total=total)
            for item in batches:
                yield item
                bar.advance(task)

    def note(self, text: str) -> None:
        """A line of its own (a resumed run says where it continues)."""
        if self.enabled and self.console is not None:
            self.console.print(f"  {text}", markup=False, highlight=False, soft_wrap=True)

    def end(self, epoch: int, logs: Mapping[str, float], note: str = "") -> None:
        """The line that stays once epoch ``epoch`` is over."""
        if not self.enabled or self.console is None:
            return
        seconds = time.perf_counter() - self._started
        text = f"  epoch {epoch + 1}/{self.epochs}  {_shown(logs)}  ({seconds:.2f} s){note}"
        if self.interactive:
            from rich.markup import escape

            self.console.print(f"[dim]{escape(text)}[/dim]", highlight=False)
        else:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)
