"""``aispec ui``: loopback by default, usage statistics off, a warning for any other address, the spec it
was given opened, and a SIGTERM that stops the editor (and nothing left running)."""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aispec.compiler.templates_init import render_init
from aispec.ui import jobs
from aispec.ui.launch import LaunchError, is_loopback, plan

from .browser import aispec_command
from .conftest import APP


def test_loopback_and_no_usage_statistics_by_default(tmp_path: Path) -> None:
    launch = plan(tmp_path)
    assert launch.warning is None and launch.url == "http://127.0.0.1:8501"
    assert "--server.address=127.0.0.1" in launch.command
    assert "--browser.gatherUsageStats=false" in launch.command
    assert launch.env["AISPEC_UI_WORKSPACE"] == str(tmp_path.resolve())
    assert "--server.maxUploadSize=200" in launch.command


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20"])
def test_any_other_address_says_what_it_exposes(tmp_path: Path, host: str) -> None:
    launch = plan(tmp_path, host=host)
    assert launch.warning is not None and "anyone who reaches it" in launch.warning
    assert f"--server.address={host}" in launch.command


def test_run_limits_reach_the_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    launch = plan(tmp_path, run_timeout_s=90.0, run_memory="1GiB")
    for name in ("AISPEC_UI_RUN_TIMEOUT_S", "AISPEC_UI_RUN_MEMORY"):
        monkeypatch.setenv(name, launch.env[name])
    assert jobs.Limits.from_env() == jobs.Limits(seconds=90.0, memory=2**30)
    monkeypatch.setenv("AISPEC_UI_RUN_MEMORY", "none")
    assert jobs.Limits.from_env().memory is None


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.1.2.3")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1")


def test_a_spec_opens_in_its_folder_and_a_missing_one_is_a_usage_error(tmp_path: Path) -> None:
    spec = tmp_path / "mine.yaml"
    spec.write_text(render_init("classification", "mine", "yaml"), encoding="utf-8")
    launch = plan(spec)
    assert launch.workspace == tmp_path.resolve() and launch.env["AISPEC_UI_SPEC"] == str(spec.resolve())
    with pytest.raises(LaunchError, match="no such spec"):
        plan(tmp_path / "missing.yaml")
    with pytest.raises(LaunchError, match="neither a folder nor a spec"):
        (tmp_path / "notes.txt").write_text("x")
        plan(tmp_path / "notes.txt")


def test_the_editor_opens_on_the_spec_it_was_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "given.yaml"
    spec.write_text(render_init("regression", "given", "yaml"), encoding="utf-8")
    monkeypatch.setenv("AISPEC_UI_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("AISPEC_UI_SPEC", str(spec))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert at.session_state["page"] == "Edit" and at.session_state["doc"].path == spec.resolve()


@pytest.mark.slow
def test_aispec_ui_starts_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen([*aispec_command(), "ui", str(tmp_path), "--port", "0", "--host", "0.0.0.0",
                             "--run-timeout", "90s", "--run-memory", "2GiB", "--max-upload-mb", "5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        warning = proc.stderr.readline()
        assert "warning: the editor listens on 0.0.0.0" in warning
        line = proc.stdout.readline()
        assert line.startswith("aispec editor: http://0.0.0.0:")
        port = int(line.split()[2].rsplit(":", 1)[1])
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("no answer on /_stcore/health")
        children = _children(proc.pid)
        assert children, "streamlit runs as a child of aispec ui"
        # the limits given on the command line reach the editor's process (its runs and uploads use them)
        environ = dict(item.split("=", 1) for item in Path(f"/proc/{children[0]}/environ").read_text().split("\0")
                       if "=" in item)
        assert float(environ["AISPEC_UI_RUN_TIMEOUT_S"]) == 90.0
        assert jobs.parse_size(environ["AISPEC_UI_RUN_MEMORY"]) == 2 * 2**30
        assert environ["AISPEC_UI_MAX_UPLOAD_MB"] == "5"
        assert "--server.maxUploadSize=5" in Path(f"/proc/{children[0]}/cmdline").read_text().split("\0")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) in (0, 128 + signal.SIGTERM, -signal.SIGTERM)
        deadline = time.time() + 10
        while any(_running(pid) for pid in children) and time.time() < deadline:
            time.sleep(0.1)
        assert not any(_running(pid) for pid in children)  # nothing left running
    finally:
        if proc.poll() is None:
            proc.kill()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().split()[3]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False
