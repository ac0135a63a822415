"""Source text, positions and the location map shared by both front ends.

A ``Loc`` is a path into the raw spec, in the same shape as pydantic's error
``loc`` (mapping keys are strings, list indices are ints), so a validation error
maps straight back to the text that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file. Lines and columns are 1-based; offsets 0-based."""

    line: int
    column: int
    end_line: int
    end_column: int
    offset: int = 0
    end_offset: int = 0

    @staticmethod
    def point(line: int, column: int, offset: int = 0) -> Span:
        return Span(line, column, line, column + 1, offset, offset + 1)

    def shifted(self, chars: int, length: int | None = None) -> Span:
        """A span ``chars`` characters into this one (same line), e.g. inside a scalar."""
        start_col = self.column + chars
        start_off = self.offset + chars
        if length is None:
            return Span(self.line, start_col, self.end_line, self.end_column, start_off, self.end_offset)
        return Span(self.line, start_col, self.line, start_col + length, start_off, start_off + length)


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A spec's text, kept for the whole run: diagnostics quote it."""

    path: str
    text: str

    @staticmethod
    def read(path: str | Path) -> SourceFile:
        p = Path(path)
        return SourceFile(str(path), p.read_text(encoding="utf-8"))

    @property
    def syntax(self) -> str:
        """``"dsl"`` for ``*.aispec`` files, ``"yaml"`` otherwise."""
        return "dsl" if self.path.endswith(".aispec") else "yaml"

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 1 <= line <= len(lines) else ""


@dataclass(frozen=True, slots=True)
class ScalarInfo:
    """How a scalar was written: lets expression errors point inside the text."""

    text_offset: int  # characters between the span start and the scalar's content
    single_line: bool


@dataclass(slots=True)
class LocationMap:
    """Where each part of the raw spec came from.

    ``values`` holds the span of every value (mapping, list or scalar), ``keys``
    the span of every mapping key; ``scalars`` says how a scalar was quoted so a
    position inside an expression string can be computed.
    """

    values: dict[Loc, Span] = field(default_factory=dict)
    keys: dict[Loc, Span] = field(default_factory=dict)
    scalars: dict[Loc, ScalarInfo] = field(default_factory=dict)

    def value_span(self, loc: Loc) -> Span | None:
        """The span of ``loc``'s value, or of its longest existing prefix."""
        for n in range(len(loc), -1, -1):
            span = self.values.get(loc[:n])
            if span is not None:
                return span
        return None

    def key_span(self, loc: Loc) -> Span | None:
        """The span of the key that names ``loc``, falling back to its value."""
        span = self.keys.get(loc)
        return span if span is not None else self.value_span(loc)

    def inner_span(self, loc: Loc, start: int, length: int) -> Span | None:
        """A span ``start`` characters into the scalar at ``loc`` (for expression errors)."""
        span = self.values.get(loc)
        info = self.scalars.get(loc)
        if span is None:
            return self.value_span(loc)
        if info is None or not info.single_line:
            return span
        return span.shifted(info.text_offset + start, max(length, 1))
