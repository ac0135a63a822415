"""`aispec run`: execute a built project with the current interpreter and summarise its results.

Nothing is installed behind the user's back: when the project's libraries are missing, the command
says which and how to install them.

The training runs in a child process; SIGINT, SIGTERM and SIGHUP sent to ``aispec run`` are passed
on to it (``kill`` of the parent would otherwise leave the trainer running, re-parented to PID 1),
and ``aispec run`` waits for it and exits with its status (128 + the signal when it was killed).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

# The code of a model family's library missing at run time (the runtime raises the same one: models.require).
MISSING_FAMILY_LIBRARY = "AIS420"


def missing_libraries(backend: str = "sklearn", families: Sequence[str] = ()) -> list[str]:
    """The distributions a project on ``backend`` with the model ``families`` needs that are not installed
    (from the back end's declaration and the family records)."""
    from aispec.runtime.registry import BACKENDS
    from aispec.schemas.vocabulary import FAMILIES, Backend

    modules = list(BACKENDS[Backend(backend)].modules)
    modules += [lib for name in families if name in FAMILIES for lib in FAMILIES[name].libraries]
    return list(dict.fromkeys(dist for module, dist in modules if importlib.util.find_spec(module) is None))


def _extras(backend: str, families: Sequence[str], missing: Sequence[str]) -> list[str]:
    """The aispec extras that install ``missing``: the back end's, and those of the families whose libraries
    are among them."""
    from aispec.runtime.registry import BACKENDS
    from aispec.schemas.vocabulary import FAMILIES, Backend

    extras = []
    if any(dist in missing for _, dist in BACKENDS[Backend(backend)].modules):
        extras.append(BACKENDS[Backend(backend)].extra)
    for name in families:
        family = FAMILIES.get(name)
        if family is not None and family.extra and any(dist in missing for _, dist in family.libraries):
            extras.append(family.extra)
    return list(dict.fromkeys(extras))


def _terminal_delivers_sigint() -> bool:
    """Whether a SIGINT now most likely came from the terminal, which sends it to the whole foreground
    process group, the child included (forwarding it again would interrupt the child's clean-up)."""
    if os.name == "nt":
        return True  # Ctrl+C reaches every process on the console; Popen.send_signal cannot send SIGINT there
    for stream in (sys.stdin, sys.stderr, sys.stdout):
        try:
            if stream is not None and stream.isatty():
                return os.tcgetpgrp(stream.fileno()) == os.getpgrp()
        except (OSError, ValueError, AttributeError):
            continue
    return False


def call_forwarding_signals(command: Sequence[str], *, cwd: Path | None = None,
                            env: dict[str, str] | None = None) -> int:
    """Run ``command`` and wait for it, passing SIGINT, SIGTERM and SIGHUP on to it.

    Returns its exit status; a child killed by a signal gives ``128 + signal`` (the shell's convention).
    Outside the main thread (where Python cannot install handlers) it just waits.
    """
    child = subprocess.Popen(list(command), cwd=cwd, env=env)
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    forwarded = [getattr(signal, name) for name in names if hasattr(signal, name)]
    previous: dict[int, object] = {}

    def forward(signum: int, frame: FrameType | None) -> None:
        if child.poll() is not None:
            return
        if signum == signal.SIGINT and _terminal_delivers_sigint():
            return
        try:
            if os.name == "nt":
                child.terminate()  # Windows has no SIGTERM to send: TerminateProcess
            else:
                child.send_signal(signum)
        except (ProcessLookupError, OSError):
            pass

    if threading.current_thread() is threading.main_thread():
        for sig in forwarded:
            try:
                previous[sig] = signal.signal(sig, forward)
            except (OSError, ValueError):
                continue
    try:
        while True:
            try:
                code = child.wait()
                break
            except KeyboardInterrupt:  # a handler elsewhere raised: keep waiting for the child to finish
                continue
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
    return 128 - code if code < 0 else code


def run_project(project: Path, package: str, *, no_color: bool = False, spec: Path | None = None,
                backend: str = "sklearn", families: Sequence[str] = ()) -> int:
    """Train ``project`` (``python -m <package>``) and summarise its results. ``spec``: the file the user
    wrote, which the run's messages name instead of the project's copy (``AISPEC_SPEC_PATH``). ``families``:
    the model families the project may fit (their libraries are checked with the back end's)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(no_color=no_color, highlight=False)
    missing = missing_libraries(backend, families)
    if missing:
        from aispec.schemas.vocabulary import FAMILIES

        extras = ",".join(_extras(backend, families, missing))
        needing = [f for f in families if f in FAMILIES and any(d in missing for _, d in FAMILIES[f].libraries)]
        coded = f"error[{MISSING_FAMILY_LIBRARY}]: " if needing else ""  # the back end's own have no code
        what = f" (model famil{'y' if len(needing) == 1 else 'ies'} {', '.join(needing)})" if needing else ""
        console.print(f"[bold red]{escape(coded)}missing libraries:[/] {escape(', '.join(missing) + what)}\n"
                      + escape(f"install them with: pip install 'aispec[{extras}]'  (or: pip install -r "
                               f"{project / 'requirements.txt'})"))
        return 2
    env = dict(os.environ)
    if spec is not None:
        env["AISPEC_SPEC_PATH"] = str(spec)
    code = call_forwarding_signals([sys.executable, "-m", package], cwd=project, env=env)
    metrics_path = project / "artifacts" / "metrics.json"
    if code > 128:  # stopped by a signal: a metrics.json there is an earlier run's
        console.print(f"training stopped by signal {code - 128}")
        return code
    if code == 2 or not metrics_path.exists():
        return code or 2
    summary = json.loads(metrics_path.read_text(encoding="utf-8"))
    table = Table(title=f"{summary.get('project', {}).get('name', package)}: results", show_lines=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("gate")
    gates = {g["metric"]: g for g in summary.get("gates", {}).get("gates", [])}
    for name, value in summary.get("metrics", {}).items():
        gate = gates.get(name)
        mark = "" if gate is None else (f"[green]pass[/] {gate['criterion']}" if gate["passed"]
                                        else f"[red]FAIL[/] {gate['criterion']}")
        shown = f"{value:.4g}" if isinstance(value, int | float) else str(value)
        table.add_row(name, shown, mark)
    console.print(table)
    quantization = summary.get("quantization")
    if isinstance(quantization, dict):  # deployment.optimize.quantize: what is served, and why
        console.print(f"quantization: {quantization.get('requested')} requested, {quantization.get('served')} "
                      f"served ({quantization.get('status')}): {quantization.get('reason')}", markup=False)
    artifacts = project / "artifacts"
    for label, name in (("report", "report.html"), ("model", "model.onnx"), ("float model", "model.fp32.onnx"),
                        ("model card", "model_card.md"), ("datasheet", "datasheet.md"), ("metrics", "metrics.json")):
        if (artifacts / name).exists():
            console.print(f"{label:>11}: {artifacts / name}")
    return code
