"""What a generated project's training loop (``<package>/loop.py``) is handed: batches, and a
:class:`LoopSetup` holding what the spec decided — device, loss, optimizer and learning-rate schedule,
L1, early stopping, checkpoints (and ``--resume``), the progress display and the search's pruning hook.

The loop itself stays in the project, as plain PyTorch a practitioner reads and edits
(epochs → batches → forward → loss → backward → step); these are the parts it calls.

Batches are anything with ``epoch(e)`` (the batches of epoch ``e``; ``None``: in order, for evaluation)
and ``len()`` (batches per epoch), yielding ``(inputs, targets)``: :class:`TensorBatches` for
rows that fit in memory (tabular features); an image or text input kind brings its own (a
``DataLoader`` with augmentation and a collate function) and the loop does not change.
"""

from __future__ import annotations

import copy
import os
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ...deep import EarlyStopping, EpochProgress, History, TrainingSettings
from ...errors import ConfigError

__all__ = ["Batches", "Checkpoints", "LoopSetup", "TensorBatches", "TrainState", "make_loss", "make_optimizer",
           "make_scheduler"]

CHECKPOINT = "last.pt"


class Batches(Protocol):
    """The batches of one split (see the module docstring)."""

    rows: int

    def epoch(self, epoch: int | None) -> Iterator[tuple[Any, Any]]: ...

    def __len__(self) -> int: ...


class TensorBatches:
    """Batches of in-memory tensors, reshuffled every epoch from ``(seed, epoch)`` alone: a resumed run sees
    the same batches as an uninterrupted one, without saving a sampler's state. A last batch of one row
    joins the one before it (batch normalisation cannot train on a single row)."""

    def __init__(self, inputs: Any, targets: Any, *, batch_size: int, seed: int = 0, shuffle: bool = True) -> None:
        self.inputs, self.targets = inputs, targets
        self.batch_size = max(1, int(batch_size))
        self.seed, self.shuffle = seed, shuffle
        self.rows = int(inputs.shape[0])
        starts = list(range(0, self.rows, self.batch_size))
        if len(starts) > 1 and self.rows - starts[-1] == 1:
            starts.pop()
        self._bounds = [(start, starts[i + 1] if i + 1 < len(starts) else self.rows) for i, start in enumerate(starts)]

    def __len__(self) -> int:
        return len(self._bounds)

    def to(self, device: Any) -> TensorBatches:
        """The same batches with their tensors on ``device`` (once, rather than a copy per batch)."""
        moved = copy.copy(self)
        moved.inputs, moved.targets = self.inputs.to(device), self.targets.to(device)
        return moved

    def epoch(self, epoch: int | None) -> Iterator[tuple[Any, Any]]:
        import torch

        if not self.shuffle or epoch is None:
            for start, stop in self._bounds:
                yield self.inputs[start:stop], self.targets[start:stop]
            return
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        order = torch.randperm(self.rows, generator=generator).to(self.inputs.device)
        for start, stop in self._bounds:
            index = order[start:stop]
            yield self.inputs[index], self.targets[index]


# ------------------------------------------------------------------------------------------ the parts


def make_loss(name: str, class_weights: Any = None) -> Any:
    """``training.loss`` as a torch loss (the vocabulary's names; see ``vocabulary.LOSSES``); ``class_weights``
    (per class, for ``cleaning.imbalance: class_weight``) weigh the cross-entropy."""
    import torch
    from torch import nn

    if name == "cross_entropy":
        weight = torch.as_tensor(class_weights) if class_weights is not None else None
        return nn.CrossEntropyLoss(weight=weight)
    losses: dict[str, Callable[[], Any]] = {"mse": nn.MSELoss, "mae": nn.L1Loss, "huber": nn.HuberLoss}
    if name not in losses:
        raise ConfigError(f"no torch loss for training.loss '{name}'", hint="one of: cross_entropy, "
                                                                           f"{', '.join(losses)}")
    return losses[name]()


def make_optimizer(network: Any, settings: TrainingSettings) -> Any:
    """``training.optimizer`` at ``training.learning_rate``; ``regularization.l2`` is its weight decay (AdamW's
    decoupled decay, the others' L2 term), applied to weights only: biases and normalisation parameters are
    not decayed. A network with an ``encoder_learning_rate`` (a pretrained encoder being fine-tuned) trains the
    parameters of its ``encoder`` at that rate, the rest at the learning rate (the first group's, which the
    epoch's ``lr`` reports); a schedule scales both alike."""
    import torch

    encoder_rate = getattr(network, "encoder_learning_rate", None)
    groups_by: dict[tuple[bool, bool], list[Any]] = {(e, d): [] for e in (False, True) for d in (True, False)}
    for name, parameter in network.named_parameters():
        if not parameter.requires_grad:
            continue
        in_encoder = encoder_rate is not None and name.startswith("encoder.")
        groups_by[(in_encoder, parameter.ndim > 1)].append(parameter)
    groups: list[dict[str, Any]] = [{"params": groups_by[(False, True)], "weight_decay": settings.l2},
                                    {"params": groups_by[(False, False)], "weight_decay": 0.0}]
    if encoder_rate is not None:
        groups += [{"params": groups_by[(True, True)], "weight_decay": settings.l2, "lr": float(encoder_rate)},
                   {"params": groups_by[(True, False)], "weight_decay": 0.0, "lr": float(encoder_rate)}]
    kinds: dict[str, Callable[..., Any]] = {
        "sgd": lambda: torch.optim.SGD(groups, lr=settings.learning_rate, momentum=0.9),
        "adam": lambda: torch.optim.Adam(groups, lr=settings.learning_rate),
        "adamw": lambda: torch.optim.AdamW(groups, lr=settings.learning_rate),
        "rmsprop": lambda: torch.optim.RMSprop(groups, lr=settings.learning_rate),
        "adagrad": lambda: torch.optim.Adagrad(groups, lr=settings.learning_rate),
    }
    return kinds[settings.optimizer]()


def _constant(_: int) -> float:
    return 1.0


def make_scheduler(optimizer: Any, settings: TrainingSettings) -> Any:
    """``training.schedule`` as a torch learning-rate scheduler, stepped once per epoch (``plateau`` with the
    value early stopping watches)."""
    from torch.optim import lr_scheduler

    schedule = settings.schedule
    kind, gamma = schedule["kind"], float(schedule["gamma"])
    if kind == "step":
        return lr_scheduler.StepLR(optimizer, step_size=int(schedule["step_size"]), gamma=gamma)
    if kind == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, gamma=gamma)
    if kind == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, settings.epochs))
    if kind == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, mode="max" if settings.higher_is_better else "min",
                                              factor=gamma, patience=int(schedule["patience"]))
    return lr_scheduler.LambdaLR(optimizer, _constant)


# ----------------------------------------------------------------------------------- state and resume


@dataclass
class TrainState:
    """Everything a training run changes, saved in a checkpoint and restored by ``--resume``."""

    network: Any
    optimizer: Any
    scheduler: Any
    scaler: Any
    stopper: EarlyStopping
    history: History = field(default_factory=History)
    best: dict[str, Any] | None = None  # the best epoch's weights (early stopping's), restored at the end
    epoch: int = 0  # the next epoch to run

    def keep_best(self, network: Any) -> None:
        self.best = {k: v.detach().clone() for k, v in network.state_dict().items()}


def _rng_state() -> dict[str, Any]:
    import numpy as np
    import torch

    state: dict[str, Any] = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
                             "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: Mapping[str, Any]) -> None:
    import numpy as np
    import torch

    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Checkpoints:
    """``checkpoints/last.pt``: written every ``every`` epochs (and after the last), atomically, with a
    fingerprint of what was trained (settings, network parameters, data); ``--resume`` refuses a checkpoint
    whose fingerprint differs rather than continue another model."""

    def __init__(self, folder: Path | None, *, every: int, fingerprint: str) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.every = every
        self.fingerprint = fingerprint

    @property
    def path(self) -> Path | None:
        return self.folder / CHECKPOINT if self.folder is not None else None

    def due(self, epoch: int, last: bool) -> bool:
        return self.path is not None and self.every > 0 and (last or (epoch + 1) % self.every == 0)

    def save(self, state: TrainState, *, finished: bool = False) -> None:
        import torch

        path = self.path
        assert path is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "fingerprint": self.fingerprint, "epoch": state.epoch, "finished": finished,
            "network": state.network.state_dict(), "optimizer": state.optimizer.state_dict(),
            "scheduler": state.scheduler.state_dict(), "scaler": state.scaler.state_dict(),
            "stopper": state.stopper.state_dict(), "history": state.history.to_dict(), "best": state.best,
            "rng": _rng_state(),
        }
        tmp = path.with_name(path.name + ".tmp")
        torch.save(payload, tmp)
        os.replace(tmp, path)

    def load(self) -> dict[str, Any] | None:
        """The checkpoint to resume from, or None when there is none."""
        import torch

        path = self.path
        if path is None or not path.exists():
            return None
        # our own file, but it holds the optimizer's and NumPy's state: not loadable with weights_only
        payload: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=False)
        if payload.get("fingerprint") != self.fingerprint:
            raise ConfigError(f"{path} was saved by a training run with other settings, parameters or data, so "
                              "--resume cannot continue it", hint=f"run without --resume (it starts over and "
                                                                  f"replaces {path.name})")
        return payload


# ---------------------------------------------------------------------------------------- the setup


@dataclass
class LoopSetup:
    """What the spec decided for one training run, for the project's ``train_loop`` (see the module docstring).

    ``loss``: the criterion; ``l1``: ``regularization.l1``; ``monitor``: what early stopping and a plateau
    schedule watch (``val_loss``, ``loss``, ``val_<metric>``); ``metrics(outputs)``: the validation
    split's metrics (``val_<name>``) from the network's outputs on it; ``on_epoch(epoch, logs)``: called
    after every epoch (a search reports to its trial there and may prune it).
    """

    settings: TrainingSettings
    device: Any
    mixed_precision: bool
    loss: Any
    progress: EpochProgress
    checkpoints: Checkpoints
    resume: bool = False
    metrics: Callable[[Any], dict[str, float]] = field(default=lambda outputs: {})
    on_epoch: Callable[[int, Mapping[str, float]], None] | None = None

    @property
    def epochs(self) -> int:
        return self.settings.epochs

    @property
    def l1(self) -> float:
        return self.settings.l1

    @property
    def monitor(self) -> str:
        return self.settings.monitor

    def optimizer(self, network: Any) -> Any:
        return make_optimizer(network, self.settings)

    def scheduler(self, optimizer: Any) -> Any:
        return make_scheduler(optimizer, self.settings)

    def start(self, network: Any, optimizer: Any, scheduler: Any, scaler: Any) -> TrainState:
        """A fresh state, or with ``--resume`` the last checkpoint's (weights, optimizer, schedule, early stopping,
        history and random state): the run then continues as if it had never stopped."""
        stopper = EarlyStopping(self.settings.patience, higher_is_better=self.settings.higher_is_better,
                                min_delta=self.settings.min_delta)
        state = TrainState(network, optimizer, scheduler, scaler, stopper)
        saved = self.checkpoints.load() if self.resume else None
        if saved is None:
            return state
        network.load_state_dict(saved["network"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        scaler.load_state_dict(saved["scaler"])
        stopper.load_state_dict(saved["stopper"])
        state.history = History.from_dict(saved["history"])
        state.history.resumed_from = len(state.history.epochs)
        state.best = saved["best"]
        state.epoch = int(saved["epoch"])
        if saved.get("finished"):  # nothing left to run: the loop ends at once, with the best weights
            state.epoch = self.epochs
        _set_rng_state(saved["rng"])
        done = "it had finished" if saved.get("finished") else f"continuing at epoch {state.epoch + 1}"
        self.progress.note(f"resumed from {self.checkpoints.path} after epoch {len(state.history.epochs)}: {done}")
        return state

    def monitored(self, logs: Mapping[str, float]) -> float | None:
        """The value early stopping watches in this epoch's ``logs`` (None: not measured, e.g. no validation)."""
        value = logs.get(self.monitor)
        return None if value is None else float(value)

    def end_epoch(self, epoch: int, logs: Mapping[str, float], state: TrainState) -> None:
        """After epoch ``epoch``: the progress line, a checkpoint when one is due, the search's hook."""
        state.epoch = epoch + 1
        last = state.epoch >= self.epochs or state.stopper.should_stop
        best = " *" if state.stopper.best_epoch == epoch and self.settings.early_stopping else ""
        self.progress.end(epoch, logs, best)
        if self.checkpoints.due(epoch, last):
            self.checkpoints.save(state, finished=last)
        if self.on_epoch is not None:
            self.on_epoch(epoch, logs)
