"""A small step runner for generated train scripts.

    steps = Steps("penguin-species")
    with steps.step("Load data"):
        frame = load_frame(...)
    with steps.step("Search") as step:
        step.update("trial 3/40")
    steps.summary(gate_report, report_paths)   # or steps.done(); steps.fail(error) on an error

On a terminal each step shows a spinner with the elapsed time, then a ``✓ name  1.23 s`` line (or
``✗ ... failed``). When the output is not a terminal (CI logs, files) it prints plain lines: one
when a step starts and one when it ends, no control codes. Exceptions propagate unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, is_dataclass
from os import PathLike
from pathlib import PurePath
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from .errors import for_user

__all__ = ["Step", "Steps", "current_console"]

# The console of the step that is running: progress shown inside a step (a training loop's epochs)
# prints there, below the step's spinner, rather than on a console of its own that would fight it.
_CONSOLE: ContextVar[Console | None] = ContextVar("aispec_step_console", default=None)


def current_console() -> Console:
    """The running step's console, else a console on standard output."""
    return _CONSOLE.get() or Console(highlight=False, emoji=False)


@dataclass(slots=True)
class Step:
    """One running or finished step."""

    name: str
    status: str = "running"  # running | done | failed
    seconds: float = 0.0
    detail: str | None = None
    _progress: Progress | None = field(default=None, repr=False)
    _task: TaskID | None = field(default=None, repr=False)

    def update(self, detail: str) -> None:
        """Show what the step is doing now (terminal only; plain output prints it at the end)."""
        self.detail = detail
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=_label(self.name, detail))


def _label(name: str, detail: str | None) -> str:
    text = escape(name)
    return f"{text} [dim]{escape(detail)}[/dim]" if detail else text


class Steps:
    """Runs named steps, shows progress and keeps their timings."""

    def __init__(self, title: str | None = None, *, console: Console | None = None,
                 file: IO[str] | None = None) -> None:
        # emoji=False: a location such as spec.yaml:100:7 holds rich's emoji code :100: (it printed as 💯7)
        self.console = console if console is not None else Console(file=file, highlight=False, emoji=False)
        self.title = title
        self.steps: list[Step] = []
        self._started = time.perf_counter()
        self._title_shown = False
        encoding = (getattr(self.console.file, "encoding", None) or self.console.encoding or "").lower()
        utf = encoding.replace("-", "").startswith("utf")
        self._ok, self._fail, self._start = ("✓", "✗", "→") if utf else ("ok", "FAILED", "->")

    @property
    def interactive(self) -> bool:
        return bool(self.console.is_terminal) and not self.console.is_dumb_terminal

    @property
    def timings(self) -> dict[str, float]:
        """Seconds per finished step, in order (a repeated name keeps the last)."""
        return {s.name: round(s.seconds, 3) for s in self.steps if s.status != "running"}

    def _print(self, text: str) -> None:
        if self.interactive:
            self.console.print(text, highlight=False)
        else:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def _show_title(self) -> None:
        if self.title and not self._title_shown:
            self._title_shown = True
            if self.interactive:
                self.console.print(f"[bold]{escape(self.title)}[/bold]", highlight=False)
            else:
                self._print(self.title)

    @contextmanager
    def step(self, name: str) -> Iterator[Step]:
        """Run the body as the step ``name``; marks it done, or failed when the body raises."""
        self._show_title()
        current = Step(name)
        self.steps.append(current)
        start = time.perf_counter()
        progress: Progress | None = None
        if self.interactive:
            progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                console=self.console, transient=True)
            current._progress = progress
            current._task = progress.add_task(_label(name, None), total=None)
            progress.start()
        else:
            self._print(f"{self._start} {name}")
        token = _CONSOLE.set(self.console)
        try:
            yield current
        except BaseException as exc:
            current.seconds = time.perf_counter() - start
            current.status = "failed"
            self._finish(current, progress, error=exc)
            raise
        finally:
            _CONSOLE.reset(token)
        current.seconds = time.perf_counter() - start
        current.status = "done"
        self._finish(current, progress)

    def _finish(self, current: Step, progress: Progress | None, error: BaseException | None = None) -> None:
        if progress is not None:
            progress.stop()
        current._progress = None
        current._task = None
        secs = f"{current.seconds:.2f} s"
        if self.interactive:
            detail = f" [dim]{escape(current.detail)}[/dim]" if current.detail else ""
            if error is None:
                self._print(f"[green]{self._ok}[/green] {escape(current.name)}{detail} [dim]{secs}[/dim]")
            else:
                self._print(f"[red]{self._fail} {escape(current.name)} failed after {secs}[/red]"
                            f" [dim]({type(error).__name__})[/dim]")
        else:
            detail = f" ({current.detail})" if current.detail else ""
            if error is None:
                self._print(f"{self._ok} {current.name}{detail} in {secs}")
            else:
                self._print(f"{self._fail} {current.name} failed after {secs} ({type(error).__name__})")

    def note(self, text: str) -> None:
        """An indented line under the last step (e.g. what a step did to the rows)."""
        if self.interactive:
            self.console.print(f"  [dim]{escape(text)}[/dim]", highlight=False)
        else:
            self._print(f"  {text}")

    def warn(self, text: str) -> None:
        """A finding the user must see; it does not stop the run."""
        if self.interactive:
            self.console.print(f"[bold yellow]warning:[/bold yellow] {escape(text)}", highlight=False)
        else:
            self._print(f"warning: {text}")

    def fail(self, error: BaseException) -> None:
        """Report the error that stopped the run (``str(error)``: location, message and hint)."""
        text = for_user(str(error) or type(error).__name__)
        if getattr(error, "code", None):
            # A coded error already says ``error[AIS…]`` after its location, as the compiler does.
            self._print(escape(text) if self.interactive else text)
            return
        if self.interactive:
            self.console.print(f"[bold red]error:[/bold red] {escape(text)}", highlight=False)
        else:
            self._print(f"error: {text}")

    def summary(self, gates: Any = None, outputs: Any = None) -> float:
        """Print the gate results and the files written, then the total time; returns the total seconds.

        ``gates`` is a ``metrics.GateReport`` (or its ``to_dict()``); ``outputs`` a mapping of
        names to paths, an object with path attributes (e.g. ``report.ReportPaths``) or a list of
        paths.
        """
        gate_list = _gate_dicts(gates)
        if gate_list:
            passed = sum(1 for g in gate_list if g.get("passed"))
            ok = passed == len(gate_list)
            head = f"Gates: {passed} of {len(gate_list)} passed"
            if self.interactive:
                color = "green" if ok else "red"
                self._print(f"[bold {color}]{escape(head)}[/bold {color}]")
            else:
                self._print(head)
            for g in gate_list:
                if not g.get("passed"):
                    where = f"{for_user(g['where'])}: " if g.get("where") else ""
                    line = f"  {self._fail} {where}{g.get('message') or g.get('criterion')}"
                    self._print(f"[red]{escape(line)}[/red]" if self.interactive else line)
        paths = _paths(outputs)
        if paths:
            self._print("Wrote:" if not self.interactive else "[bold]Wrote:[/bold]")
            for path in paths:
                self._print(f"  {escape(path) if self.interactive else path}")
        return self.done()

    def done(self) -> float:
        """Print the total time of all steps and return it in seconds."""
        total = time.perf_counter() - self._started
        failed = [s.name for s in self.steps if s.status == "failed"]
        n = len(self.steps)
        text = f"{n} step{'' if n == 1 else 's'} in {total:.2f} s"
        if failed:
            text += f", failed: {', '.join(failed)}"
        if self.interactive:
            self._print(f"[bold]{escape(text)}[/bold]")
        else:
            self._print(text)
        return total


def _gate_dicts(gates: Any) -> list[dict[str, Any]]:
    if gates is None:
        return []
    to_dict = getattr(gates, "to_dict", None)
    data = to_dict() if callable(to_dict) else gates
    items = data.get("gates", []) if isinstance(data, Mapping) else getattr(data, "gates", [])
    return [dict(g) for g in items or [] if isinstance(g, Mapping)]


def _paths(outputs: Any) -> list[str]:
    if outputs is None:
        return []
    if isinstance(outputs, str | PathLike):
        return [str(outputs)]
    if isinstance(outputs, Mapping):
        values: list[Any] = list(outputs.values())
    elif is_dataclass(outputs) and not isinstance(outputs, type):
        values = [getattr(outputs, f.name) for f in fields(outputs)]
    elif isinstance(outputs, list | tuple):
        values = list(outputs)
    else:
        values = [v for k, v in sorted(vars(outputs).items()) if not k.startswith("_")] \
            if hasattr(outputs, "__dict__") else []
    found: list[str] = []
    for value in values:
        if isinstance(value, str | PathLike):
            found.append(str(value))
        elif isinstance(value, list | tuple):  # e.g. ReportPaths.plots: listed by folder, not one by one
            parents = sorted({str(PurePath(str(v)).parent) + "/" for v in value if isinstance(v, str | PathLike)})
            found.extend(parents)
    return list(dict.fromkeys(found))
