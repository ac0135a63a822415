"""Background processes of the editor (a training run, a model service): each a child process in its
own process group, with a wall-clock limit, a memory limit, its output in a log file, and a cancel
that stops the whole group.

No Streamlit here. The editor keeps a :class:`Job` in the browser session; a watchdog thread ends a
job at its time limit even when no page asks about it, and every job still running when the editor
exits is stopped with it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30,
          "TIB": 2**40}
GRACE_S = 5.0  # between SIGTERM and SIGKILL
_RUNNING: set[Job] = set()
_LOCK = threading.Lock()


def parse_size(text: str) -> int:
    """``4GiB`` → bytes (the spec's size units)."""
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (write e.g. 4GiB or 512MB)")
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "B").upper()])


@dataclass(frozen=True)
class Limits:
    """What a job may use: wall-clock seconds and address space (bytes; None: no limit)."""

    seconds: float = 30 * 60
    memory: int | None = 8 * 2**30

    @staticmethod
    def from_env() -> Limits:
        seconds = float(os.environ.get("AISPEC_UI_RUN_TIMEOUT_S", 30 * 60))
        memory = os.environ.get("AISPEC_UI_RUN_MEMORY", "8GiB")
        return Limits(seconds, None if memory.lower() in ("", "none", "0") else parse_size(memory))


@dataclass(eq=False)
class Job:
    name: str
    command: tuple[str, ...]
    cwd: Path
    log: Path
    limits: Limits
    process: subprocess.Popen[bytes]
    started: float = field(default_factory=time.time)
    ended: float | None = None
    stopped: str | None = None  # why the editor stopped it: "cancelled" | "time limit"

    @property
    def running(self) -> bool:
        return self.poll() is None

    def poll(self) -> int | None:
        code = self.process.poll()
        if code is not None and self.ended is None:
            self.ended = time.time()
            with _LOCK:
                _RUNNING.discard(self)
        return code

    @property
    def returncode(self) -> int | None:
        """The exit status as a shell gives it: 128 + the signal of a killed process."""
        code = self.poll()
        return None if code is None else (128 - code if code < 0 else code)

    @property
    def elapsed(self) -> float:
        return (self.ended or time.time()) - self.started

    def output(self, limit: int = 200_000) -> str:
        try:
            data = self.log.read_bytes()
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", errors="replace")

    def stop(self, why: str = "cancelled", grace: float = GRACE_S) -> None:
        """SIGTERM to the job's process group, then SIGKILL after ``grace`` seconds if it is still there."""
        if self.poll() is not None:
            return
        self.stopped = self.stopped or why
        _signal_group(self.process, signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            _signal_group(self.process, signal.SIGKILL)
            self.process.wait()
        self.poll()

    def wait(self, timeout: float | None = None) -> int | None:
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.name == "nt":
            process.terminate() if sig == signal.SIGTERM else process.kill()
        else:
            os.killpg(process.pid, sig)


def _limit_memory(limit: int | None) -> None:  # runs in the child, before exec
    if limit is None:
        return
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def start(name: str, command: Sequence[str], *, cwd: Path, log: Path, limits: Limits,
          env: dict[str, str] | None = None) -> Job:
    """Start ``command`` in ``cwd`` with its output (stdout and stderr) in ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    child_env = dict(os.environ if env is None else env)
    child_env.setdefault("PYTHONUNBUFFERED", "1")  # progress lines reach the log as they happen
    child_env["NO_COLOR"] = "1"
    with open(log, "wb") as out:
        kwargs: dict[str, object] = {}
        if os.name != "nt":
            kwargs["start_new_session"] = True  # its own process group: cancel stops its children too
            kwargs["preexec_fn"] = lambda: _limit_memory(limits.memory)
        process = subprocess.Popen(list(command), cwd=cwd, env=child_env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
    job = Job(name, tuple(command), cwd, log, limits, process)
    with _LOCK:
        _RUNNING.add(job)
    watchdog = threading.Thread(target=_watch, args=(job,), daemon=True, name=f"aispec-ui-{name}-watchdog")
    watchdog.start()
    return job


def _watch(job: Job) -> None:
    if job.wait(job.limits.seconds) is None:
        job.stop("time limit")


def python() -> str:
    return sys.executable


@atexit.register
def stop_all() -> None:
    """Stop every job still running (the editor is exiting: nothing is left behind)."""
    with _LOCK:
        running = list(_RUNNING)
    for job in running:
        job.stop("the editor stopped", grace=2.0)
