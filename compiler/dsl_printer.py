"""Canonical printing of a RawSpec as aispec DSL text (the ``aispec fmt`` / YAML-to-DSL direction).

The output always parses back to exactly the same data (types included) and
printing is idempotent.  Layout: two-space indent, one statement per line,
mappings as ``key { ... }`` blocks (``key {}`` when empty), a blank line between
top-level blocks, lists inline when the line fits in :data:`LINE_WIDTH`
characters and one element per line (with trailing commas) otherwise.

Given the :class:`~.raw.Comments` from :func:`~.dsl.parse_dsl_with_comments` (or from a
YAML file), comments are kept: full-line comments before the item they precede, a trailing
comment at the end of its item's first line, closing comments before a block's or list's
end (after a scalar: on the lines after it).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .dsl import is_bare_key, is_bare_value
from .raw import Comments, NodeComments
from .source import Loc

__all__ = ["LINE_WIDTH", "print_dsl", "quote_key", "quote_scalar"]

LINE_WIDTH = 88
_INDENT = "  "
_NO_COMMENTS = NodeComments()
# Characters str.splitlines() treats as line breaks but JSON leaves unescaped:
# escaping them keeps every printed line a real line for editors and diagnostics.
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_EXTRA_ESCAPES = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def print_dsl(raw: Mapping[str, Any], comments: Comments | None = None) -> str:
    """The canonical DSL text for ``raw``; ``comments`` (optional) are put back where they belong."""
    printer = _Printer(comments or {})
    lines = printer.body(raw, (), 0, top=True)
    return "\n".join(lines) + "\n"


def quote_key(key: str) -> str:
    """A mapping key as written in the DSL: bare when it is a plain name."""
    if not isinstance(key, str):
        raise TypeError(f"mapping keys must be strings, not {type(key).__name__}: {key!r}")
    return key if is_bare_key(key) else _quote(key)


def quote_scalar(value: Any) -> str:
    """A scalar as written in the DSL. Strings are bare only if they read back unchanged."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"the aispec DSL has no syntax for {value!r}")
        return repr(value)  # shortest text that reads back as the same float: 0.1, 1e-05, 1.0
    if isinstance(value, str):
        return value if is_bare_value(value) else _quote(value)
    raise TypeError(f"not plain spec data: {type(value).__name__} {value!r}")


def _quote(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    for ch, escape in _EXTRA_ESCAPES.items():
        quoted = quoted.replace(ch, escape)
    # A lone surrogate cannot be written as UTF-8: escape it.
    return _SURROGATE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


class _Printer:
    def __init__(self, comments: Comments) -> None:
        self.comments = comments
        # Locs with a comment somewhere strictly below them: those must print multi-line.
        self.commented_below: set[Loc] = set()
        for loc, node in comments.items():
            if node.leading or node.trailing:
                self.commented_below.update(loc[:n] for n in range(len(loc)))
            if node.closing:
                self.commented_below.update(loc[:n] for n in range(len(loc) + 1))

    def _node(self, loc: Loc) -> NodeComments:
        return self.comments.get(loc, _NO_COMMENTS)

    def _trailing(self, loc: Loc) -> str:
        trailing = self._node(loc).trailing
        return f"  {trailing}" if trailing else ""

    def _leading(self, loc: Loc, pad: str) -> list[str]:
        return [pad + line for line in self._node(loc).leading]

    def _closing(self, loc: Loc, pad: str) -> list[str]:
        return [pad + line for line in self._node(loc).closing]

    # -------------------------------------------------------------- blocks

    def body(self, mapping: Mapping[str, Any], loc: Loc, depth: int, top: bool = False) -> list[str]:
        lines: list[str] = []
        previous_was_block = False
        for key, value in mapping.items():
            is_block = isinstance(value, Mapping)
            if top and lines and (is_block or previous_was_block):
                lines.append("")  # a blank line around each top-level block
            lines.extend(self.statement(key, value, (*loc, key), depth))
            previous_was_block = is_block
        closing = self._closing(loc, _INDENT * depth)
        if top and closing and lines:
            lines.append("")
        return lines + closing

    def statement(self, key: str, value: Any, loc: Loc, depth: int) -> list[str]:
        pad = _INDENT * depth
        head = pad + quote_key(key)
        lines = self._leading(loc, pad)
        if isinstance(value, Mapping):
            if not value and not self._node(loc).closing:
                return [*lines, f"{head} {{}}{self._trailing(loc)}"]
            return [
                *lines,
                f"{head} {{{self._trailing(loc)}",
                *self.body(value, loc, depth + 1),
                f"{pad}}}",
            ]
        if _is_list(value):
            return lines + self.list_lines(f"{head} = ", value, loc, depth, "")
        # A YAML comment indented under a scalar (`section:` with its lines commented out) follows it.
        return [*lines, f"{head} = {quote_scalar(value)}{self._trailing(loc)}", *self._closing(loc, pad)]

    # -------------------------------------------------------------- lists

    def list_lines(self, prefix: str, items: Sequence[Any], loc: Loc, depth: int, suffix: str) -> list[str]:
        """A list after ``prefix`` (``key = `` or an element's indent), inline if it fits."""
        if loc not in self.commented_below:
            line = f"{prefix}{_inline(items)}{suffix}"
            if len(line) <= LINE_WIDTH:
                return [line + self._trailing(loc)]
        pad = _INDENT * depth
        lines = [f"{prefix}[{self._trailing(loc)}"]
        for index, item in enumerate(items):
            lines.extend(self.element(item, (*loc, index), depth + 1))
        lines.extend(self._closing(loc, pad + _INDENT))
        lines.append(f"{pad}]{suffix}")
        return lines

    def element(self, value: Any, loc: Loc, depth: int) -> list[str]:
        """One element of a multi-line list, with its trailing comma."""
        pad = _INDENT * depth
        lines = self._leading(loc, pad)
        if _is_list(value):
            return lines + self.list_lines(pad, value, loc, depth, ",")
        if isinstance(value, Mapping):
            inline = f"{pad}{_inline(value)},"
            if loc not in self.commented_below and len(inline) <= LINE_WIDTH:
                return [*lines, inline + self._trailing(loc)]
            # Too long (or commented inside) for one line: an inline object spread over lines.
            return [*lines, f"{pad}{{{self._trailing(loc)}", *self.body(value, loc, depth + 1), f"{pad}}},"]
        return [*lines, f"{pad}{quote_scalar(value)},{self._trailing(loc)}", *self._closing(loc, pad)]


def _inline(value: Any) -> str:
    """A value on one line: lists as ``[a, b]``, mappings as ``{ k = v, sub { ... } }``."""
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(_inline_statement(k, v) for k, v in value.items()) + " }"
    if _is_list(value):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return quote_scalar(value)


def _inline_statement(key: str, value: Any) -> str:
    if isinstance(value, Mapping):
        return f"{quote_key(key)} {_inline(value)}"
    return f"{quote_key(key)} = {_inline(value)}"
