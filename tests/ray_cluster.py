"""A real two-node Ray cluster on this machine for the engine's tests, and the functions its workers import.

``start()`` runs ``ray start --head`` and ``ray start --address`` (a second raylet: a second node) with one CPU
and a capped object store each, usage statistics and token authentication off, Ray's memory monitor off (the
machine is shared: another process's memory must not get our workers killed), all under a temporary folder
of its own; ``stop()`` ends exactly the processes started under that folder, by process id (never
``ray stop``, which would end every Ray process of the user on the machine). The workers find this folder
(``tests/``) on their PYTHONPATH, so the functions below travel to them by reference.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent
RAY = str(Path(sys.executable).with_name("ray"))
OBJECT_STORE_BYTES = 80 * 1024 * 1024


def ray_environment(extra_path: str = "") -> dict[str, str]:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled",
           "RAY_memory_monitor_refresh_ms": "0", "RAY_DEDUP_LOGS": "0", "NO_COLOR": "1",
           "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS), extra_path, env.get("PYTHONPATH", "")) if p)
    env.pop("RAY_ADDRESS", None)
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalCluster:
    address: str
    folder: Path
    env: dict[str, str]

    def processes(self) -> list[int]:
        """The processes of this cluster: every process whose command line names its folder (raylets, GCS,
        ...), and their descendants (workers rename themselves `ray::...`, which hides the folder)."""
        marker = str(self.folder).encode()
        parents: dict[int, int] = {}
        mine: set[int] = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if marker in (entry / "cmdline").read_bytes():
                    mine.add(int(entry.name))
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
        grown = True
        while grown:
            grown = False
            for pid, parent in parents.items():
                if parent in mine and pid not in mine:
                    mine.add(pid)
                    grown = True
        return sorted(mine)

    def workers(self, title: str) -> list[int]:
        """Worker processes of this cluster whose process title contains ``title`` (``RayTrainWorker``, ...)."""
        found = []
        for pid in self.processes():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if title in cmdline:
                found.append(pid)
        return found

    def stop(self) -> None:
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
            for pid in self.processes():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + wait
            while self.processes() and time.monotonic() < deadline:
                time.sleep(0.2)
        # its logs, sockets and spilled objects: each cluster a test suite starts would otherwise stay in /tmp
        shutil.rmtree(self.folder, ignore_errors=True)


def start() -> LocalCluster:
    # a short folder: Ray's socket paths live under it and Unix sockets allow ~107 characters
    folder = Path(tempfile.mkdtemp(prefix="aispec-ray-", dir="/tmp"))
    env = ray_environment()
    port = _free_port()
    common = ["--num-cpus=1", f"--object-store-memory={OBJECT_STORE_BYTES}", "--disable-usage-stats",
              f"--temp-dir={folder}"]
    cluster = LocalCluster(f"127.0.0.1:{port}", folder, env)
    try:
        subprocess.run([RAY, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
                        "--include-dashboard=false", *common], env=env, check=True, capture_output=True,
                       timeout=120)
        subprocess.run([RAY, "start", f"--address={cluster.address}", "--node-ip-address=127.0.0.1", *common],
                       env=env, check=True, capture_output=True, timeout=120)
    except BaseException:
        cluster.stop()
        raise
    return cluster


# ------------------------------------------------------------------------ what the workers run


def iris() -> tuple[Any, Any]:
    from sklearn.datasets import load_iris  # type: ignore[import-untyped]

    return load_iris(return_X_y=True, as_frame=True)  # type: ignore[no-any-return]


def logistic(params: dict[str, Any]) -> Any:
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    return LogisticRegression(C=params["C"], max_iter=params["max_iter"])


class DiesOnce:
    """An evaluate function whose worker process is killed (SIGKILL) the first time it scores ``victim``'s
    configuration: a lost worker, as when a node goes away. ``marker`` (a file) remembers it happened."""

    def __init__(self, inner: Any, marker: str, victim: int) -> None:
        self.inner, self.marker, self.victim, self.seen = inner, marker, victim, 0

    def __call__(self, params: dict[str, Any], record: dict[str, Any], report: Any) -> float:
        key = repr(sorted(params.items()))
        with open(self.marker + ".calls", "a", encoding="utf-8") as fh:
            fh.write(key + "\n")
        calls = Path(self.marker + ".calls").read_text(encoding="utf-8").splitlines()
        first = calls[0]
        if key == first and not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()), encoding="utf-8")
            os.kill(os.getpid(), signal.SIGKILL)
        return float(self.inner(params, record, report))


class LoggedSGD:
    """``make`` of a network-style search (``search_networks``): an SGDClassifier per configuration, every call
    appended to ``log`` (a file) as the configuration's JSON, so a test counts which trials ran, and where."""

    def __init__(self, log: str) -> None:
        self.log = log

    def __call__(self, params: dict[str, Any]) -> Any:
        import json

        from sklearn.linear_model import SGDClassifier  # type: ignore[import-untyped]

        with open(self.log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(params, sort_keys=True) + "\n")
        return SGDClassifier(alpha=params["alpha"], loss=params["loss"], random_state=0)


class TwoEpochs:
    """``fit`` of a network-style search: two epochs (``partial_fit``), each reporting its validation accuracy
    (two steps: the search's MedianPruner judges from the third on, so no trial is pruned) after a pause that
    makes a trial last a few seconds (a search long enough to be interrupted); the configuration ``slow``
    (``{"alpha": ..., "loss": ...}``) pauses ``slow_s`` more (a trial still running when later ones finish)."""

    def __init__(self, slow: dict[str, Any] | None = None, slow_s: float = 0.0) -> None:
        self.slow, self.slow_s = slow, slow_s

    def __call__(self, estimator: Any, X: Any, y: Any, validation: Any, on_epoch: Any) -> Any:
        import numpy as np

        mine = {"alpha": estimator.alpha, "loss": estimator.loss}
        for epoch in range(2):
            estimator.partial_fit(X, y, classes=np.unique(y))
            time.sleep(1.5 + (self.slow_s / 2 if mine == self.slow else 0.0))
            on_epoch(epoch, {"val_accuracy": float(estimator.score(*validation))})
        return estimator


def network_search(address: str, folder: str, resume: bool, log: str, slow: dict[str, Any] | None = None) -> None:
    """A driver (``python -c``): the network search (``search_networks``, which keeps ``search.json`` in
    ``folder`` after every trial for ``--resume``), 8 random trials with 2 at a time on the cluster at
    ``address``, the configuration ``slow`` 12 s slower; its trials and best written to ``folder/result.json``."""
    import json
    from types import SimpleNamespace

    from aispec.runtime.backends.torch.search import search_networks
    from aispec.runtime.distributed import engine_for
    from aispec.runtime.search import Choice, Float

    os.environ["AISPEC_TEST_RAY"] = address
    engine = engine_for({"engine": "ray", "workers": 2, "address": "${AISPEC_TEST_RAY}"})
    assert engine is not None
    X, y = iris()
    shown = X.index % 3 == 0
    request = SimpleNamespace(space={"alpha": Float(1e-5, 1e-1, log=True), "loss": Choice("hinge", "log_loss")},
                              method="random", trials=8, seed=11, scoring="accuracy", greater_is_better=True,
                              positive_class=None, validation=(X[shown], y[shown]), cv=None, timeout_s=None,
                              checkpoint_dir=Path(folder), resume=resume, runner=engine.trial_runner())
    result = search_networks(LoggedSGD(log), X[~shown], y[~shown], request, TwoEpochs(slow, 12.0))
    Path(folder, "result.json").write_text(json.dumps({"trials": result.trials, "best_params": result.best_params,
                                                       "best_score": result.best_score}, default=str))
