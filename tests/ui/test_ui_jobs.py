"""Background jobs of the editor (training runs, services): time and memory limits, and a cancel that
stops the whole process group."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from aispec.ui import jobs

pytestmark = pytest.mark.skipif(os.name == "nt", reason="process groups and rlimits are POSIX")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) is not running
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def test_a_job_past_its_time_limit_is_stopped(tmp_path: Path) -> None:
    job = jobs.start("t", [sys.executable, "-c", "import time; time.sleep(60)"], cwd=tmp_path, log=tmp_path / "l",
                     limits=jobs.Limits(seconds=1.0, memory=None))
    code = job.wait(20)
    assert code is not None and job.stopped == "time limit" and code == 128 + 15  # SIGTERM


def test_a_job_over_its_memory_limit_fails_to_allocate(tmp_path: Path) -> None:
    script = "b = bytearray(1024 * 1024 * 1024)\nprint('allocated')"
    job = jobs.start("m", [sys.executable, "-c", script], cwd=tmp_path, log=tmp_path / "l",
                     limits=jobs.Limits(seconds=60, memory=512 * 2**20))
    assert job.wait(60) == 1
    assert "MemoryError" in job.output() and "allocated" not in job.output()
    free = jobs.start("ok", [sys.executable, "-c", script], cwd=tmp_path, log=tmp_path / "l2",
                      limits=jobs.Limits(seconds=60, memory=None))
    assert free.wait(60) == 0 and "allocated" in free.output()


def test_cancel_stops_the_job_and_what_it_started(tmp_path: Path) -> None:
    script = ("import subprocess, sys, time\n"
              "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
              "print(child.pid, flush=True)\n"
              "time.sleep(60)\n")
    job = jobs.start("c", [sys.executable, "-c", script], cwd=tmp_path, log=tmp_path / "l",
                     limits=jobs.Limits(seconds=120, memory=None))
    deadline = time.time() + 20
    while not job.output().strip() and time.time() < deadline:
        time.sleep(0.05)
    grandchild = int(job.output().split()[0])
    assert _alive(grandchild)
    job.stop("cancelled")
    assert job.returncode is not None and job.stopped == "cancelled"
    deadline = time.time() + 10
    while _alive(grandchild) and time.time() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def test_sizes_as_the_spec_writes_them() -> None:
    assert jobs.parse_size("8GiB") == 8 * 2**30 and jobs.parse_size("512MB") == 512 * 10**6
    assert jobs.parse_size("1234B") == 1234
    with pytest.raises(ValueError):
        jobs.parse_size("lots")
