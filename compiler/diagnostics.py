"""The one diagnostic type, and how it is shown to people and to programs."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .source import Loc, SourceFile, Span


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in a spec. ``code`` is stable and documented (see ``codes.py``)."""

    code: str
    severity: Severity
    message: str
    span: Span | None = None
    loc: Loc = ()
    hint: str | None = None
    file: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[Any, ...]:
        if self.span is None:
            return (self.file or "", 0, 0, self.code, self.message)
        return (self.file or "", self.span.line, self.span.column, self.code, self.message)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "file": self.file,
            "loc": list(self.loc),
            "hint": self.hint,
        }
        if self.span is not None:
            data["line"] = self.span.line
            data["column"] = self.span.column
            data["end_line"] = self.span.end_line
            data["end_column"] = self.span.end_column
        else:
            data["line"] = data["column"] = data["end_line"] = data["end_column"] = None
        return data


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    """Stable, source-ordered, without exact duplicates."""
    seen: set[tuple[Any, ...]] = set()
    out: list[Diagnostic] = []
    for d in sorted(diagnostics, key=Diagnostic.sort_key):
        key = (d.code, d.span, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return tuple(out)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A spelling hint, or None when nothing is close enough to be useful."""
    options = sorted({str(c) for c in choices})
    by_lower = {o.lower(): o for o in options}
    if str(word).lower() in by_lower:  # ACCURACY, Accuracy → accuracy
        return f"did you mean '{by_lower[str(word).lower()]}'?"
    match = difflib.get_close_matches(str(word).lower(), list(by_lower), n=1, cutoff=0.6)
    if match:
        return f"did you mean '{by_lower[match[0]]}'?"
    return None


def choices_hint(word: str, choices: Iterable[str], limit: int = 12) -> str:
    """``did you mean`` when close, otherwise the list of valid values."""
    options = sorted({str(c) for c in choices})
    hint = did_you_mean(word, options)
    if hint:
        return hint
    shown = ", ".join(options[:limit]) + (", ..." if len(options) > limit else "")
    return f"expected one of: {shown}"


def _format_one(d: Diagnostic, source: SourceFile | None, color: bool) -> str:
    where = d.file or (source.path if source else "<spec>")
    if d.span is not None:
        where = f"{where}:{d.span.line}:{d.span.column}"
    sev = d.severity.value
    if color:
        tint = "\x1b[1;31m" if d.is_error else "\x1b[1;33m"
        head = f"\x1b[1m{where}:\x1b[0m {tint}{sev}[{d.code}]\x1b[0m\x1b[1m: {d.message}\x1b[0m"
    else:
        head = f"{where}: {sev}[{d.code}]: {d.message}"
    lines = [head]
    if d.span is not None and source is not None:
        text = source.line_text(d.span.line)
        if text:
            gutter = f"{d.span.line:>4} | "
            width = (
                d.span.end_column - d.span.column if d.span.end_line == d.span.line else len(text) - d.span.column + 1
            )
            width = max(1, min(width, len(text) - d.span.column + 1))
            caret = " " * (d.span.column - 1) + "^" + "~" * (width - 1)
            lines.append(gutter + text.expandtabs(1))
            lines.append(" " * len(gutter) + caret)
    if d.hint:
        lines.append(f"  hint: {d.hint}")
    return "\n".join(lines)


def format_text(diagnostics: Sequence[Diagnostic], source: SourceFile | None, color: bool = False) -> str:
    """Compiler-style report: ``file:line:col: error[CODE]: message``, the line, a caret, a hint."""
    parts = [_format_one(d, source, color) for d in diagnostics]
    n_err = sum(1 for d in diagnostics if d.is_error)
    n_warn = len(diagnostics) - n_err
    if diagnostics:
        parts.append(f"{n_err} error{'s' if n_err != 1 else ''}, {n_warn} warning{'s' if n_warn != 1 else ''}")
    return "\n".join(parts)


def format_json(diagnostics: Sequence[Diagnostic]) -> str:
    return json.dumps([d.to_dict() for d in diagnostics], indent=2)
