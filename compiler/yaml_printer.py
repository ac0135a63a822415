"""Canonical YAML for a RawSpec, keeping the file's comments.

PyYAML drops comments, and a formatter that deletes a product owner's notes
is not acceptable, so comments are collected by line from the source and
re-attached to the key or list item that follows them (or ends the line).
The structure is the DSL's ``Comments`` so that ``convert`` carries comments
between the two syntaxes.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import yaml

from .raw import Comments, NodeComments, RawSpec
from .source import Loc, LocationMap, SourceFile
from .yaml_front import resolve_plain as _resolve_plain

WIDTH = 100
# Text that a folded block scalar (`>-`) reads back unchanged: words separated by single spaces.
_FOLDABLE = re.compile(r"[^\s#][^\s]*( [^\s]+)*")


# ------------------------------------------------------------ comment pickup


def _comment_start(line: str) -> int | None:
    """Index of a '#' that starts a comment on ``line`` (outside quotes), or None."""
    quote: str | None = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"" and (i == 0 or line[i - 1] in " [{,:-"):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return i
    return None


def yaml_comments(source: SourceFile, locations: LocationMap) -> Comments:
    """Comments of a YAML file, keyed by the item (mapping key or list element) they belong to."""
    starts: dict[int, tuple[int, Loc]] = {}  # line → (column, loc) of the leftmost item starting there

    def note(line: int, column: int, loc: Loc) -> None:
        if line not in starts or column < starts[line][0]:
            starts[line] = (column, loc)

    for loc, span in locations.keys.items():
        note(span.line, span.column, loc)
    for loc, span in locations.values.items():
        if loc and isinstance(loc[-1], int):
            note(span.line, span.column, loc)
    comments: Comments = {}
    pending: list[str] = []
    last_item: Loc | None = None
    for number, line in enumerate(source.text.removeprefix("\ufeff").splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped)
            continue
        if not stripped:
            continue
        item = starts.get(number)
        cut = _comment_start(line)
        target = item[1] if item else last_item
        if target is None:
            continue
        entry = comments.setdefault(target, NodeComments())
        if item is not None and pending:
            entry.leading.extend(pending)
            pending = []
        if cut is not None:
            trailing = line[cut:].strip()
            entry.trailing = f"{entry.trailing} {trailing}" if entry.trailing else trailing
        if item is not None:
            last_item = item[1]
    if pending:
        comments.setdefault((), NodeComments()).closing.extend(pending)
    return comments


# ------------------------------------------------------------------ printing


def scalar(value: Any, flow: bool = False) -> str:
    """One scalar as YAML text that reads back (YAML 1.2 or 1.1) as the same value.

    ``flow``: the scalar sits inside ``[...]`` or ``{...}``, where ',', ']' and '}' end a plain scalar.
    """
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        # repr gives '1e-05'; YAML 1.1 readers want a dot in floats, 1.2 accepts both
        return text if "." in text or "e" not in text else text.replace("e", ".0e", 1)
    if isinstance(value, str) and (not value.isprintable() or "\u2028" in value or "\u2029" in value):
        # Line breaks and control characters: one double-quoted line with escapes, valid as a key too.
        dumped = yaml.safe_dump(value, default_style='"', width=10**9, allow_unicode=True)
        return dumped.removesuffix("\n...\n").rstrip("\n")
    if isinstance(value, str) and (_resolve_plain(value) != value or (flow and value.count("(") != value.count(")"))):
        # PyYAML quotes by YAML 1.1 rules; aispec reads YAML 1.2, where `1e3` and `0o17` are numbers.
        # Inside [...] an unbalanced '(' would read as an expression cut at a comma (AIS107).
        dumped = yaml.safe_dump(value, default_style="'", width=10**9, allow_unicode=True)
        return dumped.removesuffix("\n...\n").rstrip("\n")
    if flow and isinstance(value, str):
        # Let PyYAML decide quoting in a flow context by dumping a one-element flow list.
        dumped = yaml.safe_dump([value], default_flow_style=True, width=10**9, allow_unicode=True)
        return dumped.strip()[1:-1]
    dumped = yaml.safe_dump(value, default_flow_style=True, width=10**9, allow_unicode=True)
    return dumped.removesuffix("\n...\n").removesuffix("\n")


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _flow(value: Any, inside: bool = False) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k, flow=True)}: {_flow(v, True)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v, True) for v in value) + "]"
    return scalar(value, inside)


class _Printer:
    def __init__(self, comments: Comments | None) -> None:
        self.comments = comments or {}
        self.lines: list[str] = []

    def _leading(self, loc: Loc, indent: str) -> None:
        info = self.comments.get(loc)
        if info:
            self.lines.extend(indent + c for c in info.leading)

    def _emit(self, text: str, loc: Loc) -> None:
        info = self.comments.get(loc)
        self.lines.append(f"{text}  {info.trailing}" if info and info.trailing else text)

    def _closing(self, loc: Loc, indent: str) -> None:
        info = self.comments.get(loc)
        if info:
            self.lines.extend(indent + c for c in info.closing)

    def mapping(self, value: dict[str, Any], loc: Loc, indent: str, first_prefix: str | None = None) -> None:
        for n, (key, child) in enumerate(value.items()):
            cloc = (*loc, key)
            if not loc and n > 0 and isinstance(child, dict | list) and child:
                self.lines.append("")  # a blank line between top-level sections
            prefix = first_prefix if (first_prefix is not None and n == 0) else indent
            if first_prefix is None or n > 0:
                self._leading(cloc, indent)
            self.entry(f"{prefix}{scalar(key)}:", child, cloc, indent)
        self._closing(loc, indent)

    def entry(self, head: str, value: Any, loc: Loc, indent: str) -> None:
        if isinstance(value, str) and len(head) + 1 + len(scalar(value)) > WIDTH and _FOLDABLE.fullmatch(value):
            # Long prose (descriptions, intended use) as a folded block: reads back as the same one-line text.
            self._emit(f"{head} >-", loc)
            width = max(WIDTH - len(indent) - 2, 40)
            wrapped = textwrap.wrap(value, width, break_long_words=False, break_on_hyphens=False)
            self.lines.extend(f"{indent}  {line}" for line in wrapped)
        elif _is_scalar(value) or not value or self._inline_list(head, value, loc) or \
                self._inline_mapping(head, value, loc):
            self._emit(f"{head} {_flow(value)}", loc)
        elif isinstance(value, dict):
            self._emit(head, loc)
            self.mapping(value, loc, indent + "  ")
        else:
            self._emit(head, loc)
            self.sequence(value, loc, indent + "  ")

    def _inline_mapping(self, head: str, value: Any, loc: Loc) -> bool:
        """Small leaf mappings deep in the spec stay on one line: `x: {type: numeric, range: [0, 1]}`."""
        return (isinstance(value, dict) and len(loc) >= 3 and len(value) <= 4
                and all(_is_scalar(v) or (isinstance(v, list) and all(_is_scalar(i) for i in v))
                        for v in value.values())
                and not any((*loc, k) in self.comments for k in value)
                and len(head) + len(_flow(value)) + 1 <= WIDTH)

    def _inline_list(self, head: str, value: Any, loc: Loc) -> bool:
        """Short lists of scalars without comments stay on one line: `drop: [year, sex]`."""
        return (isinstance(value, list) and all(_is_scalar(v) for v in value)
                and len(head) + len(_flow(value)) + 1 <= WIDTH and not self._has_item_comments(value, loc))

    def _has_item_comments(self, value: list[Any], loc: Loc) -> bool:
        return any((*loc, i) in self.comments for i in range(len(value)))

    def sequence(self, value: list[Any], loc: Loc, indent: str) -> None:
        for i, item in enumerate(value):
            iloc = (*loc, i)
            self._leading(iloc, indent)
            if isinstance(item, dict) and item:
                self._emit_mapping_item(item, iloc, indent)
            elif isinstance(item, list) and item:
                self._emit(f"{indent}-", iloc)
                self.sequence(item, iloc, indent + "  ")
            else:
                self._emit(f"{indent}- {_flow(item)}", iloc)
        self._closing(loc, indent)

    def _emit_mapping_item(self, item: dict[str, Any], loc: Loc, indent: str) -> None:
        # "- key: value" then the other keys aligned under the first
        self.mapping(item, loc, indent + "  ", first_prefix=f"{indent}- ")


def print_yaml(raw: RawSpec, comments: Comments | None = None) -> str:
    printer = _Printer(comments)
    if raw:
        printer.mapping(raw, (), "")
    else:
        printer.lines.append("{}")
        printer._closing((), "")
    return "\n".join(printer.lines).rstrip("\n") + "\n"
