"""`aispec serve` and `aispec run` as a user starts them: what they print, and that a SIGTERM to the
command stops the server or trainer too (none is left running, re-parented to PID 1)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
POSIX = pytest.mark.skipif(os.name != "posix" or not Path("/proc").is_dir(),
                           reason="signals and /proc: POSIX (Linux) only")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read().decode()
    except OSError:
        return 0, ""


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@POSIX
def test_serve_prints_its_urls_logs_requests_on_demand_and_stops_on_sigterm(model_dirs: dict[str, Path],
                                                                           tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "AISPEC_LOG_DIR": str(tmp_path / "logs")}
    proc = subprocess.Popen([sys.executable, "-m", "aispec.compiler.cli", "serve", str(model_dirs["classification"]),
                             "--port", str(port), "--access-log"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    try:
        assert _wait(lambda: _get(f"http://127.0.0.1:{port}/ready")[0] == 200, 60), "never ready"
        descendants = _children(proc.pid)
        assert _get(f"http://127.0.0.1:{port}/v1/model")[0] == 200
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        output = proc.stdout.read() if proc.stdout else ""
    finally:
        if proc.poll() is None:
            proc.kill()
    # nothing keeps serving: not the command, not a child of it
    assert not _listening(port)
    assert not any(_alive(pid) for pid in descendants)
    assert f"listening on http://127.0.0.1:{port}" in output
    assert f"http://127.0.0.1:{port}/v1/predict" in output and f"http://127.0.0.1:{port}/metrics" in output
    assert f"http://127.0.0.1:{port}/openapi.json" in output
    assert re.search(r'"GET /v1/model HTTP/1\.1" 200', output), output  # --access-log


@POSIX
def test_serve_without_access_log_logs_no_requests(model_dirs: dict[str, Path], tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "aispec.runtime.serving", str(model_dirs["classification"]),
                             "--port", str(port), "--log-dir", str(tmp_path / "logs")], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert _wait(lambda: _get(f"http://127.0.0.1:{port}/ready")[0] == 200, 60), "never ready"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = proc.stdout.read() if proc.stdout else ""
    assert "GET /ready" not in output and "listening on" in output


SLOW_SPEC = """\
aispec: 1
project: {name: slow-birds}
problem: {task: classification, target: species}
data:
  source: {kind: bundled, name: palmerpenguins}
  drop: [year]
model:
  family: auto
  budget: 10m
metrics:
  acceptance: [accuracy >= 0.5]
deployment: {target: none}
"""


@POSIX
@pytest.mark.slow
def test_sigterm_to_aispec_run_stops_the_trainer(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SLOW_SPEC)
    proc = subprocess.Popen([sys.executable, "-m", "aispec.compiler.cli", "run", str(spec), "-o",
                             str(tmp_path / "p"), "--no-color"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "NO_COLOR": "1"})
    try:
        assert _wait(lambda: bool(_children(proc.pid)), 120), "the trainer never started"
        [trainer] = _children(proc.pid)
        time.sleep(1.0)  # let it get into its imports / training
        assert _alive(trainer)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _wait(lambda: not _alive(trainer), 5), "the trainer was left running"
    output = proc.stdout.read() if proc.stdout else ""
    assert code == 128 + signal.SIGTERM, output
    assert "stopped by signal 15" in output and "results" not in output  # no summary of an older run


def test_metrics_json_of_an_interrupted_run_is_not_summarised(tmp_path: Path) -> None:
    """Forwarding and exit statuses, without a trainer: a child killed by a signal gives 128 + signal."""
    from aispec.compiler.run import call_forwarding_signals

    code = call_forwarding_signals([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"])
    assert code == 128 + signal.SIGTERM
    assert call_forwarding_signals([sys.executable, "-c", "raise SystemExit(3)"]) == 3
    assert json.dumps(code)  # plain int
