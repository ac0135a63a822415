"""The training loop of sms-spam-transformer: plain PyTorch, yours to edit.

The run calls `train_loop` for the final fit and for every search trial, with the network, the
training and validation batches, and a `setup` holding what the spec decided (runtime helpers from
aispec.runtime.backends.torch.loop): the device (hardware.accelerator) and mixed precision on a GPU,
the loss, the optimizer with its learning rate, weight decay (regularization.l2) and schedule, L1,
early stopping, checkpoints and --resume, and the progress shown per epoch.
"""

from __future__ import annotations

import torch
from aispec.runtime.backends.torch.loop import Batches, LoopSetup
from aispec.runtime.deep import History
from torch import nn


def train_loop(
    network: nn.Module, batches: Batches, validation: Batches | None, setup: LoopSetup
) -> History:
    """Epochs → batches → forward → loss → backward → step; returns the per-epoch history."""
    device = setup.device
    network.to(device)
    optimizer = setup.optimizer(network)
    scheduler = setup.scheduler(optimizer)
    scaler = torch.amp.GradScaler(device.type, enabled=setup.mixed_precision)
    # a fresh start, or with --resume the last checkpoint's weights, optimizer, schedule and history
    state = setup.start(network, optimizer, scheduler, scaler)
    for epoch in range(state.epoch, setup.epochs):
        network.train()
        total_loss, seen = 0.0, 0
        for inputs, targets in setup.progress.batches(batches.epoch(epoch), epoch, len(batches)):
            inputs, targets = inputs.to(device), targets.to(device)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device.type, enabled=setup.mixed_precision):
                outputs = network(inputs)
                loss = setup.loss(outputs, targets)
            if setup.l1 > 0:  # regularization.l1, on the weights (not the biases)
                weights = [p for p in network.parameters() if p.ndim > 1]
                loss = loss + setup.l1 * sum(w.abs().sum() for w in weights)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            total_loss += loss.item() * len(targets)
            seen += len(targets)

        logs = {"loss": total_loss / max(seen, 1), "lr": optimizer.param_groups[0]["lr"]}
        if validation is not None:
            logs.update(evaluate(network, validation, setup))
        monitored = setup.monitored(logs)
        # early stopping: a new best epoch (by more than min_delta), keep its weights
        if state.stopper.update(monitored, epoch):
            state.keep_best(network)
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(monitored if monitored is not None else logs["loss"])
        else:
            scheduler.step()
        state.history.append(logs)
        setup.end_epoch(epoch, logs, state)  # progress line, checkpoint, the search's pruning
        if state.stopper.should_stop:
            state.history.stopped_early = True
            break

    if state.best is not None:  # early stopping: the best epoch's weights are the model
        network.load_state_dict(state.best)
    state.history.best_epoch = state.stopper.best_epoch
    return state.history


@torch.no_grad()
def evaluate(network: nn.Module, batches: Batches, setup: LoopSetup) -> dict[str, float]:
    """The validation loss and metrics (val_<metric>) of the network as it is now."""
    network.eval()
    total_loss, seen, outputs = 0.0, 0, []
    for inputs, targets in batches.epoch(None):
        inputs, targets = inputs.to(setup.device), targets.to(setup.device)
        with torch.autocast(setup.device.type, enabled=setup.mixed_precision):
            scores = network(inputs)
            total_loss += setup.loss(scores, targets).item() * len(targets)
        seen += len(targets)
        outputs.append(scores.float().cpu())
    return {"val_loss": total_loss / max(seen, 1), **setup.metrics(torch.cat(outputs))}
