"""The Ray engine (``hardware.distributed.engine: ray``): search trials on Ray Tune (Optuna as the search
algorithm), a network's training on Ray Train's ``TorchTrainer`` (DDP), an XGBoost model's on its
``XGBoostTrainer`` (data-parallel), tables read and batch-scored with Ray Data.

:class:`RayEngine` joins the cluster the spec names (``address``: ``auto``, ``ray://host:port``,
``host:port`` or ``${VAR}`` from the environment), or, without one, the cluster ``RAY_ADDRESS`` names (a job
submitted to a cluster, e.g. by a KubeRay ``RayJob``), or else starts a local instance for the run (its object
store capped, as Ray's defaults take 30 % of the machine's memory). The project's own package travels to the
workers as a ``py_modules`` runtime environment, so a cluster needs aispec and the back end's libraries
installed (the RayJob's image), not the project.

Modules: :mod:`.tune` (the trial runner), :mod:`.train` (the loop runner), :mod:`.boost` (XGBoost),
:mod:`.data` (reading and batch scoring). ray is imported only inside their functions.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...errors import DistributedError, where
from .. import Cluster

__all__ = ["LOCAL_OBJECT_STORE_BYTES", "RayEngine", "quiet_environment"]

# a local instance's object store: enough for the tables of one machine, far below Ray's 30 % default
LOCAL_OBJECT_STORE_BYTES = 256 * 1024 * 1024


def quiet_environment() -> None:
    """Settings every Ray process of a run inherits: no usage statistics sent (there is no network anyway), no
    Tune loggers writing result files for every trial, no token authentication for a local instance unless
    asked (a local ``ray.init`` would leave ``~/.ray/auth_token`` behind, and a ``ray start`` cluster then
    rejects clients without it)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("TUNE_RESULT_BUFFER_LENGTH", "1")  # a result reaches the scheduler as it is reported
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")


def _project_packages(extra: tuple[str, ...]) -> list[str]:
    """Folders of the project's packages, for the workers' ``py_modules``: those named, and the package whose
    ``__main__`` runs (``python -m <package>``)."""
    names = list(extra)
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name and "." in spec.name:
        names.append(spec.name.split(".")[0])
    folders: list[str] = []
    for name in dict.fromkeys(n.split(".")[0] for n in names):
        module = sys.modules.get(name)
        files = getattr(module, "__path__", None)
        if module is None or not files or name == "aispec":
            continue
        folders.append(str(Path(next(iter(files))).resolve()))
    return folders


class RayEngine:
    """The Ray engine (``aispec.runtime.distributed.Engine``)."""

    def __init__(self, cluster: Cluster, *, locations: Mapping[str, str] | None = None) -> None:
        import ray  # noqa: F401  (ImportError here: the engine_for message names the extra)

        self.cluster = cluster
        self.locations = dict(locations or {})
        self.address: str | None = None
        self.started_locally = False

    def connect(self, *, modules: tuple[str, ...] = ()) -> None:
        import ray

        quiet_environment()
        if ray.is_initialized():
            return
        address = self.cluster.resolved_address(where=where(self.locations, "hardware.distributed.address"))
        env = {"py_modules": folders} if (folders := _project_packages(modules)) else None
        kwargs: dict[str, Any] = {"runtime_env": env, "log_to_driver": True, "include_dashboard": False,
                                  "logging_level": "WARNING"}
        if address is None and not os.environ.get("RAY_ADDRESS"):
            # a local instance for this run: as many CPUs as the workers reserve (at least the machine's share
            # the spec asks for), the object store capped
            need = max(1, round(self.cluster.workers * self.cluster.cpus_per_worker))
            kwargs.update(num_cpus=max(need, 1), object_store_memory=LOCAL_OBJECT_STORE_BYTES)
            if self.cluster.gpus_per_worker > 0:
                kwargs["num_gpus"] = round(self.cluster.workers * self.cluster.gpus_per_worker + 0.4999)
            self.started_locally = True
        else:
            kwargs["address"] = address
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            shown = address or os.environ.get("RAY_ADDRESS") or "a local instance"
            raise DistributedError(f"cannot reach the Ray cluster at {shown}: {str(exc).splitlines()[0]}",
                                   where=where(self.locations, "hardware.distributed.address"),
                                   hint="start it (ray start --head), or fix hardware.distributed.address") from exc
        self.address = address or os.environ.get("RAY_ADDRESS") or "local"
        self._check_fits()

    def _check_fits(self) -> None:
        """A worker that asks for more than any node has would wait forever: say so now."""
        import ray

        need = self.cluster.resources()
        nodes = [n for n in ray.nodes() if n.get("Alive")]  # type: ignore[no-untyped-call, unused-ignore]
        fits = [n for n in nodes if all(float(n.get("Resources", {}).get(k, 0.0)) >= v for k, v in need.items())]
        if not fits:
            have = "; ".join(", ".join(f"{k}={v:g}" for k, v in sorted(n.get("Resources", {}).items())
                                       if k in ("CPU", "GPU", "memory")) for n in nodes)
            raise DistributedError(f"no node of the Ray cluster has what one worker reserves "
                                   f"({', '.join(f'{k}={v:g}' for k, v in need.items())}); nodes: {have}",
                                   where=where(self.locations, "hardware.distributed"),
                                   hint="lower cpus_per_worker / gpus_per_worker / memory_per_worker")

    def trial_runner(self) -> Any:
        from .tune import TuneRunner

        return TuneRunner(self.cluster)

    def loop_runner(self, *, storage: Any, resume: bool, backend: str = "torch") -> Any:
        if backend == "sklearn":
            from .boost import BoostRunner

            return BoostRunner(self.cluster, storage=storage)
        from .train import TorchLoopRunner

        return TorchLoopRunner(self.cluster, storage=storage, resume=resume)

    def read_table(self, source: Mapping[str, Any], kind: str, *, path: Path | None, base_dir: Path,
                   checks: Mapping[str, Any] | None, locations: Mapping[str, str]) -> Any:
        from .data import read_table

        return read_table(source, kind, path=path, base_dir=base_dir, checks=checks, cluster=self.cluster,
                          locations=locations)

    def score(self, artifacts: Path, source: Path, output: Path, *, batch_rows: int,
              allow_failed_gates: bool | None = None) -> Any:
        from .data import score

        return score(artifacts, source, output, cluster=self.cluster, batch_rows=batch_rows,
                     allow_failed_gates=allow_failed_gates)

    def describe(self) -> dict[str, Any]:
        import ray

        nodes = [{"node_id": n["NodeID"], "address": n.get("NodeManagerAddress"),
                  "cpus": n.get("Resources", {}).get("CPU", 0.0), "gpus": n.get("Resources", {}).get("GPU", 0.0)}
                 for n in ray.nodes() if n.get("Alive")]  # type: ignore[no-untyped-call, unused-ignore]
        return {"engine": "ray", "ray_version": ray.__version__, "address": self.address,
                "started_locally": self.started_locally, "workers": self.cluster.workers,
                "per_worker": self.cluster.resources(), "nodes": nodes}
