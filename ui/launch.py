"""``aispec ui``: start the editor with ``streamlit run`` on loopback, usage statistics off.

No Streamlit import here (the command line imports this module to build the command); the editor's
process is a child whose signals ``aispec ui`` forwards, as ``aispec run`` does for training.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import socket
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .workspace import MAX_UPLOAD_MB, SPEC_SUFFIXES

APP = Path(__file__).with_name("app.py")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class LaunchError(ValueError):
    """A usage error of ``aispec ui``; the message says what to do."""


@dataclass(frozen=True)
class Launch:
    command: list[str]
    env: dict[str, str]
    url: str
    workspace: Path
    spec: Path | None
    warning: str | None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def plan(target: Path | None, *, host: str = "127.0.0.1", port: int = 8501, max_upload_mb: int = MAX_UPLOAD_MB,
         run_timeout_s: float = 1800.0, run_memory: str = "8GiB") -> Launch:
    """What ``aispec ui TARGET`` runs: the command, its environment and the URL to print."""
    if importlib.util.find_spec("streamlit") is None:
        raise LaunchError("the editor needs Streamlit: pip install 'aispec[ui]'")
    spec: Path | None = None
    if target is None:
        workspace = Path.cwd()
    elif target.is_dir():
        workspace = target
    elif target.suffix in SPEC_SUFFIXES:
        if not target.is_file():
            raise LaunchError(f"no such spec: {target} (to start a new one, give its folder, or none)")
        workspace, spec = target.parent, target.resolve()
    elif target.exists():
        raise LaunchError(f"{target} is neither a folder nor a spec (*.yaml, *.aispec)")
    else:
        target.mkdir(parents=True)
        workspace = target
    warning = None
    if not is_loopback(host):
        warning = (f"warning: the editor listens on {host}, not only on this machine: anyone who reaches it can read "
                   f"and change the files in {workspace.resolve()} and train and run code there. It has no login. "
                   "Use --host 127.0.0.1 unless this network is yours alone.")
    if port == 0:
        port = free_port(host)
    command = [sys.executable, "-m", "streamlit", "run", str(APP),
               f"--server.address={host}", f"--server.port={port}", "--server.headless=true",
               "--browser.gatherUsageStats=false", f"--server.maxUploadSize={max_upload_mb}",
               "--server.fileWatcherType=none", "--server.runOnSave=false", "--global.developmentMode=false",
               "--client.toolbarMode=minimal", "--client.showErrorLinks=false", "--runner.magicEnabled=false",
               # no full garbage collection after every script run: it holds the interpreter ~100-200 ms with the
               # compiler and pandas loaded, which delays the answer to the next keystroke (Python's own
               # generational collection still runs)
               "--runner.postScriptGC=false"]
    env = dict(os.environ, AISPEC_UI_WORKSPACE=str(workspace.resolve()), AISPEC_UI_MAX_UPLOAD_MB=str(max_upload_mb),
               AISPEC_UI_RUN_TIMEOUT_S=str(run_timeout_s), AISPEC_UI_RUN_MEMORY=run_memory,
               STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    if spec is not None:
        env["AISPEC_UI_SPEC"] = str(spec)
    else:
        env.pop("AISPEC_UI_SPEC", None)
    shown = f"[{host}]" if ":" in host else host
    return Launch(command, env, f"http://{shown}:{port}", workspace.resolve(), spec, warning)


def wait_ready(url: str, timeout: float = 60.0) -> bool:
    """Whether the editor answers ``/_stcore/health`` within ``timeout`` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def open_when_ready(url: str) -> None:
    def opener() -> None:
        if wait_ready(url):
            import webbrowser

            webbrowser.open(url)

    threading.Thread(target=opener, daemon=True, name="aispec-ui-open").start()
