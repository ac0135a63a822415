"""Distributed engines (``hardware.distributed``): where a project's search trials, its training workers and
its batch scoring run when one machine is not enough.

An engine is declared as data in :data:`aispec.runtime.registry.ENGINES` (what it runs, its pip extra) and
implements :class:`Engine`. The workflow asks :func:`engine_for` for the spec's engine and hands its parts
to the code that is written once for every engine: a search gets the engine's
:class:`~aispec.runtime.trials.TrialRunner` (``SearchRequest.runner``), a back end whose final fit the engine
distributes gets its loop runner (``FitSettings.loop_runner``), the data loader its reader, the batch scorer
its scorer. Nothing branches on an engine's or a back end's name; ``engine: none`` (the default) gets no
engine and every part runs in this process as before. This module imports no engine library.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import ConfigError

__all__ = ["Cluster", "Engine", "engine_for"]

_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


@dataclass(frozen=True)
class Cluster:
    """``hardware.distributed`` as the runtime reads it (sizes in bytes, the address not yet resolved)."""

    engine: str = "none"
    workers: int = 1
    address: str | None = None
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    memory_per_worker: int | None = None

    @classmethod
    def from_spec(cls, settings: Mapping[str, Any] | None) -> Cluster:
        from aispec.schemas.expressions import parse_size

        data = dict(settings or {})
        memory = data.get("memory_per_worker")
        return cls(engine=str(data.get("engine", "none")), workers=int(data.get("workers", 1)),
                   address=data.get("address"), cpus_per_worker=float(data.get("cpus_per_worker", 1.0)),
                   gpus_per_worker=float(data.get("gpus_per_worker", 0.0)),
                   memory_per_worker=parse_size(str(memory)).bytes if memory is not None else None)

    def resolved_address(self, *, where: str | None = None) -> str | None:
        """The address to join: ``${VAR}`` read from the environment now (never written into a file); None
        starts a local instance (unless the engine's own environment variable names a cluster)."""
        if self.address is None:
            return None
        match = _ENV_REF.match(self.address)
        if match is None:
            return self.address
        value = os.environ.get(match.group(1))
        if not value:
            raise ConfigError(f"hardware.distributed.address reads ${{{match.group(1)}}}, which is not set",
                              where=where, hint=f"export {match.group(1)}=ray://head:10001 (or auto) before running")
        return value

    def resources(self) -> dict[str, float]:
        """What one worker reserves: ``{"CPU": .., "GPU": .., "memory": bytes}`` (zero and unset left out)."""
        out: dict[str, float] = {"CPU": self.cpus_per_worker}
        if self.gpus_per_worker > 0:
            out["GPU"] = self.gpus_per_worker
        if self.memory_per_worker is not None:
            out["memory"] = float(self.memory_per_worker)
        return out


class Engine(Protocol):
    """A distributed engine: the parts the workflow, the data loader and the batch scorer hand work to."""

    cluster: Cluster

    def connect(self, *, modules: tuple[str, ...] = ()) -> None:
        """Join or start the cluster (idempotent); ``modules``: the project's packages the workers import."""
        ...

    def trial_runner(self) -> Any:
        """The search's :class:`~aispec.runtime.trials.TrialRunner` on this cluster."""
        ...

    def loop_runner(self, *, storage: Any, resume: bool, backend: str = "torch") -> Any:
        """Runs the final fit on ``workers`` data-parallel workers (checkpoints under ``storage``): a network's
        training loop (``torch``), or the models of ``backend`` the engine trains (scikit-learn: XGBoost)."""
        ...

    def read_table(self, source: Mapping[str, Any], kind: str, *, path: Any, base_dir: Any,
                   checks: Mapping[str, Any] | None, locations: Mapping[str, str]) -> Any:
        """``data.source`` (a CSV or Parquet file or folder of files at ``path``, or an SQL query) read on the
        workers in blocks, each block checked there (``checks``: :func:`aispec.runtime.data.validate_frame`'s
        arguments; a failure raises its ``DataValidationError`` before anything is gathered), as one frame."""
        ...

    def score(self, artifacts: Any, source: Any, output: Any, *, batch_rows: int,
              allow_failed_gates: bool | None = None) -> Any:
        """Batch scoring on the workers (``serving.batch.BatchReport``), all or nothing."""
        ...

    def describe(self) -> dict[str, Any]:
        """Where the work ran, for the report: engine, address, nodes, workers and their resources."""
        ...


def engine_for(settings: Mapping[str, Any] | None, *, modules: tuple[str, ...] = (),
               locations: Mapping[str, str] | None = None) -> Engine | None:
    """The connected engine of ``hardware.distributed`` (None for ``engine: none``)."""
    from ..errors import where
    from ..registry import ENGINES, engine

    cluster = Cluster.from_spec(settings)
    if cluster.engine == "none":
        return None
    if cluster in _CONNECTED:  # one engine per process: the data loader, the search and the fit share it
        return _CONNECTED[cluster]
    declared = ENGINES.get(cluster.engine)
    if declared is None or not declared.built:
        raise ConfigError(f"the {cluster.engine} engine is not built", where=where(locations or {},
                                                                                   "hardware.distributed.engine"),
                          hint="use engine: ray, or none")
    try:
        made: Engine = engine(cluster.engine)(cluster, locations=dict(locations or {}))
    except ImportError as exc:
        raise ConfigError(f"hardware.distributed.engine is {cluster.engine}, but {exc.name or 'it'} is not installed",
                          where=where(locations or {}, "hardware.distributed.engine"),
                          hint=f"pip install 'aispec[{declared.extra}]'") from None
    made.connect(modules=modules)
    _CONNECTED[cluster] = made
    return made


_CONNECTED: dict[Cluster, Engine] = {}
