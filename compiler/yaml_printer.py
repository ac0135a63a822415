"""Canonical YAML for a RawSpec, keeping the file's comments and how its text was written.

Layout: two-space indentation, a blank line between top-level sections. A collection the source
wrote in block style stays in block style; otherwise small leaf mappings and short lists of scalars
go on one line. Multi-line text is a literal block (``|``), or a folded one (``>``) where the source
folded it, with the chomping indicator its trailing line breaks need; long one-line prose is folded
(``>-``). Only printable text goes into a block scalar: anything else is double-quoted with escapes.

Comments (``raw.NodeComments``, from :mod:`.yaml_comments` or the DSL front end) are put back
where the rules of :mod:`.comments` find them again: leading ones on the lines before their item,
a trailing one at the end of the item's first line, closing ones after the item's content,
indented under it. The same structure comes from both syntaxes, so ``convert`` carries comments.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import yaml

from .raw import Comments, NodeComments, RawSpec
from .source import Loc
from .yaml_front import resolve_plain as _resolve_plain

WIDTH = 100
# Text that a folded block scalar (`>-`) reads back unchanged: words separated by single spaces.
_FOLDABLE = re.compile(r"[^\s#][^\s]*( [^\s]+)*")
_NO_COMMENTS = NodeComments()
_LOADER: Any = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


# ------------------------------------------------------------------ scalars


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
    if isinstance(value, str) and (_resolve_plain(value) != value or _number_like(value)
                                   or (flow and value.count("(") != value.count(")"))):
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


def _number_like(text: str) -> bool:
    """Text with '_' that loaders skipping '_' in numbers (YAML 1.1, ruamel.yaml) read as one, or fail on."""
    if "_" not in text:
        return False
    digits = text.replace("_", "")
    return digits.lstrip("+-") in ("", ".", "0b", "0o", "0x") or _resolve_plain(digits) != digits


def _printable(text: str) -> bool:
    """Text a block scalar can hold as it is: printable characters and line breaks ('\\n') only."""
    return all(ch == "\n" or (ch.isprintable() and ch != "\ufeff") for ch in text)


def block_scalar(value: str, style: str, width: int = WIDTH) -> tuple[str, list[str]] | None:
    """``value`` as a ``style`` ('|' literal or '>' folded) block scalar: the header (indicator,
    indentation and chomping) and the content lines relative to the content's indentation; None
    when that style cannot hold it exactly (checked by reading it back)."""
    if not value or not _printable(value):
        return None
    dumped = yaml.safe_dump(value, default_style=style, allow_unicode=True, width=width)
    header, *body = dumped.split("\n")
    body = body[:-1]  # the dump ends with a line break
    if body and body[-1] == "...":
        body.pop()  # the document end marker PyYAML writes after a `+` block
    if not header.startswith(style) or any(line and not line.startswith("  ") for line in body):
        return None
    try:
        read = yaml.load("k: " + header + "\n" + "".join(line + "\n" for line in body), Loader=_LOADER)
    except yaml.YAMLError:
        return None
    if read != {"k": value}:
        return None
    return header, [line[2:] for line in body]


def _multiline(value: Any) -> bool:
    if isinstance(value, str):
        return "\n" in value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return any(_multiline(v) for v in items)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _flow(value: Any, inside: bool = False) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k, flow=True)}: {_flow(v, True)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v, True) for v in value) + "]"
    return scalar(value, inside)


# ------------------------------------------------------------------ printing


class _Printer:
    def __init__(self, comments: Comments | None) -> None:
        self.comments = comments or {}
        self.lines: list[str] = []
        # A `|+` block's trailing empty lines are its text: a blank line printed after it would join them.
        self.open_keep = False
        # The blank line before the next top-level section is printed already (see ``entry``).
        self.separated = False
        # Locations with a comment strictly inside: those are never written on one line.
        self.commented_below: set[Loc] = set()
        for loc, node in self.comments.items():
            if node.leading or node.trailing:
                self.commented_below.update(loc[:n] for n in range(len(loc)))
            if node.closing:
                self.commented_below.update(loc[:n] for n in range(len(loc) + 1))

    def _node(self, loc: Loc) -> NodeComments:
        return self.comments.get(loc, _NO_COMMENTS)

    def _line(self, text: str) -> None:
        self.lines.append(text)
        self.open_keep = False

    def _emit(self, text: str, loc: Loc) -> None:
        trailing = self._node(loc).trailing
        self._line(f"{text}  {trailing}" if trailing else text)

    def _leading(self, loc: Loc, indent: str) -> None:
        for comment in self._node(loc).leading:
            self._line(indent + comment)

    def _closing(self, loc: Loc, indent: str) -> None:
        for comment in self._node(loc).closing:
            self._line(indent + comment)

    def mapping(self, value: dict[str, Any], loc: Loc, indent: str, first_prefix: str | None = None) -> None:
        items = list(value.items())
        for n, (key, child) in enumerate(items):
            cloc = (*loc, key)
            if not loc and n > 0 and _section(child) and not self.open_keep and not self.separated:
                self._line("")  # a blank line between top-level sections
            self.separated = False
            if first_prefix is not None and n == 0:
                prefix = first_prefix  # `- key: value`: the caller printed the comments above the dash
            else:
                prefix = indent
                self._leading(cloc, indent)
            separate = not loc and n + 1 < len(items) and _section(items[n + 1][1])
            self.entry(f"{prefix}{scalar(key)}:", child, cloc, indent, fold_prose=True, separate=separate)
        self._closing(loc, indent)

    def entry(self, head: str, value: Any, loc: Loc, indent: str, fold_prose: bool = False,
              separate: bool = False) -> None:
        """``head`` (``key:`` or ``-``) and its value; ``indent``: the indentation of the key or dash.
        ``separate``: a blank line is due before the next top-level section."""
        block = self._block(head, value, loc, indent, fold_prose) if isinstance(value, str) else None
        if block is not None:
            header, body = block
            self._emit(f"{head} {header}", loc)
            self.lines.extend(f"{indent}  {line}" if line else "" for line in body)
            self.open_keep = "+" in header
            # Deeper lines would be the block's text: comments after it stand at the key's indentation, where
            # they read back as the next key's leading comments. So they are printed as those are: after the
            # blank line before the next section (none after a `|+` block, whose trailing lines are its text).
            if separate and self._node(loc).closing:
                if not self.open_keep:
                    self._line("")
                self.separated = True
            self._closing(loc, indent)

        elif value is None and self._node(loc).closing:
            self._emit(head, loc)  # `section:` with its (commented-out) lines below it
            self._closing(loc, indent + "  ")
        elif _is_scalar(value) or not value or self._inline_list(head, value, loc) or \
                self._inline_mapping(head, value, loc):
            self._emit(f"{head} {_flow(value)}", loc)
            self._closing(loc, indent + "  ")
        elif isinstance(value, dict):
            self._emit(head, loc)
            self.mapping(value, loc, indent + "  ")
        else:
            self._emit(head, loc)
            self.sequence(value, loc, indent + "  ")

    def _block(self, head: str, value: str, loc: Loc, indent: str, fold_prose: bool) -> tuple[str, list[str]] | None:
        """A block scalar for multi-line text, text the source wrote as one, or long prose."""
        style = self._node(loc).style
        long_prose = fold_prose and len(head) + 1 + len(scalar(value)) > WIDTH
        if (style == ">" or (long_prose and style != "|")) and "\n" not in value and value.isprintable() \
                and _FOLDABLE.fullmatch(value):
            # Long prose (descriptions, intended use) folded: reads back as the same one-line text.
            width = max(WIDTH - len(indent) - 2, 40)
            return ">-", textwrap.wrap(value, width, break_long_words=False, break_on_hyphens=False)
        width = max(WIDTH - len(indent), 40)
        if style == ">" and (folded := block_scalar(value, ">", width)) is not None:
            return folded
        if style in ("|", ">") or "\n" in value:
            return block_scalar(value, "|", width)
        return None

    def _inline_mapping(self, head: str, value: Any, loc: Loc) -> bool:
        """Small leaf mappings deep in the spec stay on one line: `x: {type: numeric, range: [0, 1]}`."""
        return (isinstance(value, dict) and len(loc) >= 3 and len(value) <= 4
                and all(_is_scalar(v) or (isinstance(v, list) and all(_is_scalar(i) for i in v))
                        for v in value.values())
                and self._may_inline(value, loc) and len(head) + len(_flow(value)) + 1 <= WIDTH)

    def _inline_list(self, head: str, value: Any, loc: Loc) -> bool:
        """Short lists of scalars stay on one line: `drop: [year, sex]`."""
        return (isinstance(value, list) and all(_is_scalar(v) for v in value)
                and self._may_inline(value, loc) and len(head) + len(_flow(value)) + 1 <= WIDTH)

    def _may_inline(self, value: Any, loc: Loc) -> bool:
        # Not what the source wrote in block style, nor what holds comments or multi-line text.
        return self._node(loc).style != "block" and loc not in self.commented_below and not _multiline(value)

    def sequence(self, value: list[Any], loc: Loc, indent: str) -> None:
        for i, item in enumerate(value):
            iloc = (*loc, i)
            self._leading(iloc, indent)
            if isinstance(item, dict | list) and item:
                # A dash followed by a key or another dash has no room for the item's own trailing
                # comment: it goes on the line above, where it reads back as a leading comment.
                trailing = self._node(iloc).trailing
                if isinstance(item, dict):
                    self._leading((*iloc, next(iter(item))), indent)
                if trailing:
                    self._line(indent + trailing)
                if isinstance(item, dict):
                    self.mapping(item, iloc, indent + "  ", first_prefix=f"{indent}- ")
                else:
                    self._line(f"{indent}-")
                    self.sequence(item, iloc, indent + "  ")
            else:
                self.entry(f"{indent}-", item, iloc, indent)
        self._closing(loc, indent)


def _section(value: Any) -> bool:
    """A top-level value printed as a section (a blank line before it)."""
    return isinstance(value, dict | list) and bool(value)


def print_yaml(raw: RawSpec, comments: Comments | None = None) -> str:
    printer = _Printer(comments)
    if raw:
        printer.mapping(raw, (), "")
    else:
        printer.lines.append("{}")
        printer._closing((), "")
    return "\n".join(printer.lines) + "\n"
