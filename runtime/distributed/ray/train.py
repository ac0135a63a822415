"""A network's training loop on Ray Train's ``TorchTrainer``: ``workers`` data-parallel copies (DDP; gloo on
CPU, NCCL on GPU), each running the project's own ``train_loop`` unchanged.

What changes under the loop, not in it:

- **the network** is wrapped by ``ray.train.torch.prepare_model`` (DistributedDataParallel): gradients are
  averaged across the workers at every step, so every copy keeps the same weights;
- **the batches** (:class:`ShardedBatches`): each epoch's shuffle is the local one (from the seed and the
  epoch alone); worker ``r`` of ``n`` takes every n-th row of it (the order padded to a multiple of n, as
  ``DistributedSampler`` does), in batches of ``ceil(batch_size / n)`` rows, so a step still averages
  ``batch_size`` rows and every worker takes the same number of steps;
- **the validation split** is evaluated whole on every worker (the weights are the same, so are the values
  early stopping and the schedule watch); a training loss that early stopping watches (``monitor: loss``)
  is averaged over the workers first, so all of them stop at the same epoch;
- **checkpoints** (:class:`RaySetup`): every ``checkpoint_every`` epochs worker 0 writes the same payload
  as a local run into a Ray Train checkpoint under the shared ``storage`` folder; when a worker is lost Ray
  Train restarts the group (``MAX_FAILURES`` times) and the loop resumes from the latest checkpoint, as
  ``--resume`` does. When the retries are spent the run stops with :class:`DistributedError`.

The trained weights and the history come back from worker 0's final checkpoint.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ...errors import DistributedError
from .. import Cluster

__all__ = ["MAX_FAILURES", "ShardedBatches", "TorchLoopRunner"]

MAX_FAILURES = 2  # restarts of the worker group after a lost worker
_PAYLOAD = "state.pt"


class ShardedBatches:
    """Worker ``rank`` of ``world``'s share of every epoch's batches (see the module docstring)."""

    def __init__(self, inputs: Any, targets: Any, *, batch_size: int, seed: int, rank: int, world: int) -> None:
        self.inputs, self.targets = inputs, targets
        self.seed, self.rank, self.world = seed, rank, world
        self.total = int(inputs.shape[0])
        self.rows = math.ceil(self.total / world)  # this worker's rows per epoch (the order padded)
        self.batch_size = max(1, math.ceil(int(batch_size) / world))
        starts = list(range(0, self.rows, self.batch_size))
        if len(starts) > 1 and self.rows - starts[-1] == 1:  # no batch of one row (batch normalisation)
            starts.pop()
        self._bounds = [(s, starts[i + 1] if i + 1 < len(starts) else self.rows) for i, s in enumerate(starts)]

    def __len__(self) -> int:
        return len(self._bounds)

    def order(self, epoch: int) -> Any:
        import torch

        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        order = torch.randperm(self.total, generator=generator)
        padded = torch.cat([order, order[: self.rows * self.world - self.total]])
        return padded[self.rank::self.world]

    def epoch(self, epoch: int | None) -> Iterator[tuple[Any, Any]]:
        mine = self.order(epoch if epoch is not None else 0)
        for start, stop in self._bounds:
            index = mine[start:stop]
            yield self.inputs[index], self.targets[index]


def _setup_class() -> type:
    """:class:`RaySetup`, made once torch and the loop's setup are importable on the worker."""
    from ...backends.torch.loop import LoopSetup

    class RaySetup(LoopSetup):  # type: ignore[misc, valid-type, unused-ignore]
        """A LoopSetup whose checkpoints are Ray Train's (see the module docstring)."""

        rank: int = 0

        def start(self, network: Any, optimizer: Any, scheduler: Any, scaler: Any) -> Any:
            import ray.train

            checkpoint = ray.train.get_checkpoint()
            if checkpoint is not None:  # a restart after a lost worker: continue from the latest checkpoint
                with checkpoint.as_directory() as folder:
                    self.checkpoints.folder = Path(folder)
                    self.resume = True
                    return super().start(network, optimizer, scheduler, scaler)
            self.resume = False
            return super().start(network, optimizer, scheduler, scaler)

        def monitored(self, logs: Mapping[str, float]) -> float | None:
            import torch
            import torch.distributed as dist

            if "loss" in logs and dist.is_available() and dist.is_initialized():
                total = torch.tensor([float(logs["loss"])], dtype=torch.float64)
                dist.all_reduce(total)
                logs["loss"] = float(total.item()) / dist.get_world_size()  # type: ignore[index]
            return super().monitored(logs)

        def end_epoch(self, epoch: int, logs: Mapping[str, float], state: Any) -> None:
            import ray.train

            state.epoch = epoch + 1
            last = state.epoch >= self.epochs or state.stopper.should_stop
            best = " *" if state.stopper.best_epoch == epoch and self.settings.early_stopping else ""
            self.progress.end(epoch, logs, best)
            checkpoint = None
            folder = None
            if self.rank == 0 and self.checkpoints.every > 0 and (last or (epoch + 1) % self.checkpoints.every == 0):
                folder = tempfile.mkdtemp(prefix="aispec-ckpt-")
                self.checkpoints.folder = Path(folder)
                self.checkpoints.save(state, finished=last)
                checkpoint = ray.train.Checkpoint.from_directory(folder)
            # every worker reports once per epoch (a barrier): only worker 0 carries the checkpoint
            ray.train.report({"epoch": epoch, **{k: float(v) for k, v in logs.items()}}, checkpoint=checkpoint)
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            if self.on_epoch is not None:
                self.on_epoch(epoch, logs)

    return RaySetup


@dataclass
class _Job:
    """What every worker gets: the loop, the network, the rows and the setup's settings."""

    loop: Any
    network: Any
    inputs: Any
    targets: Any
    batch_size: int
    seed: int
    validation: Any
    setup: dict[str, Any]


def _worker(config: dict[str, Any]) -> None:
    """One training worker: the project's loop on this worker's share of the rows."""
    import ray
    import ray.train
    import ray.train.torch
    import torch

    from ...backends.torch.loop import Checkpoints
    from ...deep import EpochProgress

    job: _Job = ray.get(config["job"])
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    torch.manual_seed(job.seed)
    torch.set_num_threads(max(1, int(config.get("threads", 1))))
    device = ray.train.torch.get_device()
    network = ray.train.torch.prepare_model(job.network)
    batches = ShardedBatches(job.inputs, job.targets, batch_size=job.batch_size, seed=job.seed, rank=rank,
                             world=world)
    settings = dict(job.setup)
    progress = settings.pop("progress")
    checkpoints = settings.pop("checkpoints")
    amp = bool(settings.pop("mixed_precision"))
    RaySetup = _setup_class()
    setup = RaySetup(**settings, device=device, mixed_precision=device.type == "cuda" and amp,
                     progress=EpochProgress(progress[0], enabled=progress[1] and rank == 0),
                     checkpoints=Checkpoints(None, every=checkpoints[0], fingerprint=checkpoints[1]))
    setup.rank = rank
    history = job.loop(network, batches, job.validation, setup)
    final = None
    folder = None
    if rank == 0:
        import torch as torch_

        folder = tempfile.mkdtemp(prefix="aispec-final-")
        module: Any = network.module if hasattr(network, "module") else network
        torch_.save({"network": {k: v.detach().cpu() for k, v in module.state_dict().items()},
                     "history": history.to_dict()}, Path(folder) / _PAYLOAD)
        final = ray.train.Checkpoint.from_directory(folder)
    ray.train.report({"done": 1}, checkpoint=final, checkpoint_dir_name="final")
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


class TorchLoopRunner:
    """Runs ``loop(network, batches, validation, setup)`` on the cluster's workers (see the module docstring)."""

    def __init__(self, cluster: Cluster, *, storage: Path | None, resume: bool) -> None:
        self.cluster = cluster
        self.storage = Path(storage) if storage is not None else None
        self.resume = resume

    def run(self, loop: Any, network: Any, batches: Any, validation: Any, setup: Any) -> Any:
        import ray
        import torch
        from ray.train import CheckpointConfig, FailureConfig, LoggingConfig, RunConfig, ScalingConfig
        from ray.train.torch import TorchTrainer

        from ...deep import History

        storage = self.storage or Path(tempfile.mkdtemp(prefix="aispec-train-"))
        name = f"train-{setup.checkpoints.fingerprint}"
        if not self.resume:  # a fresh run does not continue an earlier one's checkpoints
            shutil.rmtree(storage / name, ignore_errors=True)
        storage.mkdir(parents=True, exist_ok=True)
        inputs = getattr(batches, "inputs", None)
        if inputs is None:
            raise DistributedError("distributed training reads rows held in memory (tabular inputs)")
        kept = {f.name: getattr(setup, f.name) for f in fields(setup)
                if f.name not in ("device", "resume", "on_epoch", "progress", "checkpoints")}
        # the progress display and the checkpoint folder are the driver's: the workers get what makes theirs
        kept["progress"] = (setup.progress.epochs, bool(getattr(setup.progress, "enabled", True)))
        kept["checkpoints"] = (setup.checkpoints.every, setup.checkpoints.fingerprint)
        job = _Job(loop=loop, network=network.to("cpu"), inputs=inputs.cpu(), targets=batches.targets.cpu(),
                   batch_size=batches.batch_size, seed=batches.seed,
                   validation=validation.to("cpu") if hasattr(validation, "to") else validation, setup=kept)
        resources = {k: v for k, v in self.cluster.resources().items() if k != "GPU"}
        use_gpu = self.cluster.gpus_per_worker > 0
        trainer = TorchTrainer(
            _worker,
            train_loop_config={"job": ray.put(job), "threads": max(1, int(self.cluster.cpus_per_worker))},
            scaling_config=ScalingConfig(num_workers=self.cluster.workers, use_gpu=use_gpu,
                                         resources_per_worker=resources),
            run_config=RunConfig(name=name, storage_path=str(storage),
                                 failure_config=FailureConfig(max_failures=MAX_FAILURES),
                                 checkpoint_config=CheckpointConfig(num_to_keep=2),
                                 logging_config=LoggingConfig(log_level="ERROR")),  # type: ignore[call-arg, unused-ignore]
        )
        try:
            result = trainer.fit()
        except Exception as exc:  # ray.train's TrainingFailedError and the like: the cause is in its text
            raise DistributedError(f"training on {self.cluster.workers} Ray workers failed after "
                                   f"{MAX_FAILURES} restarts: {_cause(exc)}",
                                   hint="see the workers' logs above; a lost worker is retried, a failing "
                                        "loop is not") from exc
        checkpoint = result.checkpoint
        if checkpoint is None:
            raise DistributedError("the Ray workers finished without the trained weights (no final checkpoint)")
        with checkpoint.as_directory() as folder:
            payload = torch.load(Path(folder) / _PAYLOAD, map_location="cpu", weights_only=False)
        network.load_state_dict(payload["network"])
        return History.from_dict(payload["history"])


def _cause(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1][:400] if lines else type(exc).__name__

