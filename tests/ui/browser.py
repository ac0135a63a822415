"""Driving the editor in a real browser: ``aispec ui`` started as a user starts it, and Debian's Chromium
driven by Playwright (Playwright cannot download its own browser here, so its path is given).

Used by the end-to-end test and by benchmarks/bench_editor.py.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-default-apps", "--no-first-run"]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("AISPEC_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def aispec_command() -> list[str]:
    script = Path(sys.executable).with_name("aispec")
    return [str(script)] if script.exists() else [sys.executable, "-m", "aispec.compiler.cli"]


@dataclass
class Editor:
    url: str
    process: subprocess.Popen[str]
    started: float  # time.perf_counter() when `aispec ui` was started
    printed: float  # ... when it printed its URL
    output: list[str] = field(default_factory=list)


@contextlib.contextmanager
def editor(workspace: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Editor]:
    """``aispec ui WORKSPACE --port 0 ARGS``, until the block ends; then SIGTERM, as Ctrl+C would."""
    from aispec.ui.launch import wait_ready

    started = time.perf_counter()
    process = subprocess.Popen([*aispec_command(), "ui", str(workspace), "--port", "0", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=dict(os.environ if env is None else env))
    assert process.stdout is not None
    first = process.stdout.readline()
    printed = time.perf_counter()
    match = re.search(r"(http://\S+)", first)
    if match is None:
        process.kill()
        raise AssertionError(f"aispec ui printed no URL: {first}{process.stdout.read()}")
    running = Editor(match.group(1), process, started, printed, [first])
    try:
        assert wait_ready(running.url, timeout=90), "the editor did not answer /_stcore/health"
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        running.output.append(process.stdout.read())


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser (Playwright's ``Browser``)."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    assert path is not None, "no Chromium: apt-get install chromium (or set AISPEC_CHROMIUM)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Actions:
    """What the user did, one entry per action (a click, a file chosen, an edit of the text)."""

    done: list[str] = field(default_factory=list)

    def __call__(self, what: str) -> None:
        self.done.append(what)

    def __len__(self) -> int:
        return len(self.done)


def caret_after(page: Any, needle: str) -> None:
    """Put the text view's caret right after the first ``needle`` (as a click there would)."""
    page.locator("textarea.ais-text").evaluate(
        """(ta, needle) => { const at = ta.value.indexOf(needle) + needle.length;
                              ta.focus(); ta.setSelectionRange(at, at); }""", needle)


def settled(page: Any, quiet_ms: int = 400, timeout_ms: int = 60_000) -> None:
    """Wait until the app's script run has finished drawing: no "running" indicator and no stale element
    (Streamlit keeps the previous run's elements, faded, until the new run replaces them) for
    ``quiet_ms`` in a row."""
    page.evaluate("() => { delete window.__aispecBusySince; }")
    page.wait_for_function(
        """(quiet) => {
             const busy = document.querySelector('[data-testid="stStatusWidget"]')
                          || document.querySelector('[data-stale="true"]');
             const now = performance.now();
             if (busy || window.__aispecBusySince === undefined) { window.__aispecBusySince = now; return false; }
             return now - window.__aispecBusySince >= quiet;
           }""", arg=quiet_ms, polling=100, timeout=timeout_ms)
