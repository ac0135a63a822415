"""The one diagnostic type, and how it is shown to people and to programs."""

from __future__ import annotations

import difflib
import json
import re
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
        # Messages and locs quote the spec: clip them so a 2 MB key gives a readable report, not a 2 MB field.
        data: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity.value,
            "message": clip(self.message),
            "file": self.file,
            "loc": [clip(s, MAX_LOC_SEGMENT) if isinstance(s, str) else s for s in self.loc],
            "hint": None if self.hint is None else clip(self.hint),
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


MAX_DIAGNOSTICS = 100  # per report: past this many, the first ones are what to fix (clang stops at 20)


def sort_diagnostics(diagnostics: Iterable[Diagnostic], limit: int = MAX_DIAGNOSTICS) -> tuple[Diagnostic, ...]:
    """Stable, source-ordered, without exact duplicates, and at most ``limit`` of them.

    Past the limit, one AIS111 says how many more there were, so a file with a
    million mistakes gives a report a person (or an editor) can still read.
    """
    seen: set[tuple[Any, ...]] = set()
    out: list[Diagnostic] = []
    for d in sorted(diagnostics, key=Diagnostic.sort_key):
        key = (d.code, d.span, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    if len(out) <= limit:
        return tuple(out)
    kept, rest = out[: limit - 1], out[limit - 1 :]
    errors = sum(1 for d in rest if d.is_error)
    more = Diagnostic(
        "AIS111", Severity.ERROR if errors else Severity.WARNING,
        f"{len(rest)} more problems not shown ({errors} errors, {len(rest) - errors} warnings)",
        file=rest[0].file, hint="fix the problems above first; most of the rest are often consequences")
    return (*kept, more)


def edit_distance(a: str, b: str, limit: int | None = None) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
    adjacent characters each count one (``mea`` → ``mae`` is one edit, the commonest typo).

    With ``limit``, any distance above it comes back as ``limit + 1``, found sooner.
    """
    if a == b:
        return 0
    if limit is not None and abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if limit is not None and min(cur) > limit:  # every later row only grows
            return limit + 1
        prev2, prev = prev, cur
    return prev[len(b)] if limit is None else min(prev[len(b)], limit + 1)


def _max_edits(word: str) -> int:
    # One edit in a short word, two in a longer one, three from 12 letters: more is another word.
    return 1 if len(word) <= 4 else 2 if len(word) <= 11 else 3


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice a typo most likely meant, or None when none is close enough.

    First the choices a few edits away (a swap of two letters counts one: ``mea`` is ``mae``, not
    ``mse``), nearest first, then a shared first letter (people rarely mistype it), then difflib's
    similarity; failing those, the most similar by difflib's ratio (abbreviations and prefixes:
    ``bill_length`` → ``bill_length_mm``, ``scikit-learn`` → ``sklearn``). Ties break alphabetically.
    """
    options = sorted({str(c) for c in choices})
    low = str(word).lower()
    by_lower = {o.lower(): o for o in options}
    if low in by_lower:  # ACCURACY, Accuracy → accuracy
        return by_lower[low]
    if len(low) > 100:  # no choice is that long, and both measures are quadratic
        return None
    limit = _max_edits(low)
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(low)  # as difflib.get_close_matches orients it, and its cache kept for every choice
    scored: list[tuple[int, int, bool, float, str]] = []
    for lower, option in by_lower.items():
        matcher.set_seq1(lower)
        distance = edit_distance(low, lower, limit)
        if distance <= limit and distance < max(len(low), len(lower)):
            scored.append((0, distance, lower[:1] != low[:1], -matcher.ratio(), option))
        # difflib.get_close_matches' default cutoff, with its cheap upper bounds first
        elif matcher.real_quick_ratio() >= 0.6 and matcher.quick_ratio() >= 0.6 and matcher.ratio() >= 0.6:
            scored.append((1, 0, False, -matcher.ratio(), option))
    return min(scored)[4] if scored else None


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A spelling hint, or None when nothing is close enough to be useful."""
    match = closest(word, choices)
    return f"did you mean '{match}'?" if match is not None else None


MAX_CHOICES = 40  # every list of choices today is shorter (31 families); a longer one says how many more


def choices_hint(word: str, choices: Iterable[str], limit: int = MAX_CHOICES, where: str | None = None) -> str:
    """``did you mean`` when close, otherwise the valid values: all of them, or the first ``limit``
    and how many more (and ``where`` to see them all, when given)."""
    options = sorted({str(c) for c in choices})
    hint = did_you_mean(word, options)
    if hint:
        return hint
    if len(options) <= limit:
        return f"expected one of: {', '.join(options)}"
    more = f" and {len(options) - limit} more" + (f" ({where})" if where else "")
    return f"expected one of: {', '.join(options[:limit])}{more}"


MAX_TEXT = 1000  # characters of a message or hint; longer ones quote a huge piece of the spec
MAX_LOC_SEGMENT = 200
_SNIPPET = 120  # source columns shown around the caret
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")  # a spec's bytes never drive the terminal


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut in the middle when longer than ``limit``, saying how much was left out."""
    if len(text) <= limit:
        return text
    tail = limit // 5
    return f"{text[: limit - tail]}...[{len(text) - limit:,} characters]...{text[-tail:]}"


def _printable(text: str) -> str:
    return _CONTROL.sub("\ufffd", text)


_YAML_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def source_lines(source: SourceFile) -> list[str]:
    """The lines as the file's front end numbered them: the DSL (Lark) breaks at '\\n' only, YAML also
    at '\\r', NEL and the Unicode line and paragraph separators. ``str.splitlines`` knows still more
    breaks (form feed, \\x1c...), and a line number counted one way pointed into another line."""
    if source.syntax == "dsl":
        return [line.removesuffix("\r") for line in source.text.split("\n")]
    return _YAML_BREAKS.split(source.text)


def _snippet(text: str, column: int, width: int) -> tuple[str, str]:
    """The source line and its caret line, cut to about ``_SNIPPET`` columns around the caret."""
    column = min(column, len(text) + 1)  # a caret past the end of the line goes just after it
    start, end = 0, len(text)
    if len(text) > _SNIPPET:
        start = max(0, min(column - 1 - _SNIPPET // 3, len(text) - _SNIPPET))
        end = start + _SNIPPET
    shown = text[start:end].expandtabs(1)
    if len(shown) > end - start:  # expandtabs(1) only turns a tab into one space; anything else is a bug
        shown = shown[: end - start]
    left = "..." if start > 0 else ""
    right = "..." if end < len(text) else ""
    offset = column - 1 - start
    width = max(1, min(width, end - start - offset))
    return left + _printable(shown) + right, " " * (len(left) + offset) + "^" + "~" * (width - 1)


def _format_one(d: Diagnostic, source: SourceFile | None, color: bool, lines_of: list[str] | None) -> str:
    where = d.file or (source.path if source else "<spec>")
    if d.span is not None:
        where = f"{where}:{d.span.line}:{d.span.column}"
    sev = d.severity.value
    message = _printable(clip(d.message))
    if color:
        tint = "\x1b[1;31m" if d.is_error else "\x1b[1;33m"
        head = f"\x1b[1m{where}:\x1b[0m {tint}{sev}[{d.code}]\x1b[0m\x1b[1m: {message}\x1b[0m"
    else:
        head = f"{where}: {sev}[{d.code}]: {message}"
    lines = [head]
    if d.span is not None and lines_of is not None:
        text = lines_of[d.span.line - 1] if 1 <= d.span.line <= len(lines_of) else ""
        if text:
            gutter = f"{d.span.line:>4} | "
            width = (
                d.span.end_column - d.span.column if d.span.end_line == d.span.line else len(text) - d.span.column + 1
            )
            snippet, caret = _snippet(text, d.span.column, width)
            lines.append(gutter + snippet)
            lines.append(" " * len(gutter) + caret)
    if d.hint:
        lines.append(f"  hint: {_printable(clip(d.hint))}")
    return "\n".join(lines)


def format_text(diagnostics: Sequence[Diagnostic], source: SourceFile | None, color: bool = False) -> str:
    """Compiler-style report: ``file:line:col: error[CODE]: message``, the line, a caret, a hint."""
    lines_of = source_lines(source) if source is not None and source.text else None  # once, not per diagnostic
    parts = [_format_one(d, source, color, lines_of) for d in diagnostics]
    n_err = sum(1 for d in diagnostics if d.is_error)
    n_warn = len(diagnostics) - n_err
    if diagnostics:
        parts.append(f"{n_err} error{'s' if n_err != 1 else ''}, {n_warn} warning{'s' if n_warn != 1 else ''}")
    return "\n".join(parts)


def format_json(diagnostics: Sequence[Diagnostic]) -> str:
    return json.dumps([d.to_dict() for d in diagnostics], indent=2)
