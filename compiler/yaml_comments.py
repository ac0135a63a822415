"""The comments of a YAML spec and the layout choices ``fmt`` keeps, from libyaml's own token extents.

A comment is exactly the ``#...`` text that no token covers (libyaml's scanner reports where each
token starts and ends), plus the comment a block scalar's header line may end with (``key: |  # c``,
inside the scalar's token). So a ``#`` inside any quoted or block scalar is never taken for a
comment, and no hand-written quote scanner has to agree with YAML's escaping rules.

Where each mapping entry and list element starts and ends comes from the parser's events; the
generic rules of :mod:`.comments` then give each comment its item. The same walk records, per
location, how the source wrote it: block scalars (``|`` literal, ``>`` folded) and block or flow
collections, which the printer keeps.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Any

import yaml

from .comments import Comment, Container, Item, attach_comments
from .raw import Comments, NodeComments
from .source import Loc, SourceFile

# Line breaks as libyaml (YAML 1.1) reads them.
_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")
_COMMENT = re.compile(r"#[^\r\n\x85\u2028\u2029]*")
_HEADER_COMMENT = re.compile(r"[|>][0-9+-]*[ \t]+(#[^\r\n\x85\u2028\u2029]*)")
_TRAILING_SPACE = " \t\r\n\x85\u2028\u2029"
_LOADER: Any = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


class _Lines:
    def __init__(self, text: str) -> None:
        self.starts = [0, *(m.end() for m in _BREAK.finditer(text))]

    def line(self, offset: int) -> int:
        """1-based line of ``offset``."""
        return bisect.bisect_right(self.starts, offset)

    def column(self, offset: int) -> int:
        return offset - self.starts[self.line(offset) - 1]


def yaml_comments(source: SourceFile) -> Comments:
    """The comments of a YAML file keyed by the item they belong to, with the source's layout in ``style``."""
    text = source.text.removeprefix("\ufeff")  # libyaml's marks count from after a byte-order mark
    try:
        tokens = list(yaml.scan(text, Loader=_LOADER))
        events = list(yaml.parse(text, Loader=_LOADER))
    except yaml.YAMLError:
        return {}  # not YAML: the front end reports why
    lines = _Lines(text)
    walk = _Walk(text, tokens, lines)
    walk.run(events)
    out = attach_comments(_comments(text, tokens, lines), walk.containers)
    for loc, style in walk.styles.items():
        out.setdefault(loc, NodeComments()).style = style
    return out


def _comments(text: str, tokens: list[Any], lines: _Lines) -> list[Comment]:
    found: list[Comment] = []

    def add(offset: int, raw: str) -> None:
        line_start = lines.starts[lines.line(offset) - 1]
        full_line = not text[line_start:offset].strip(" \t")
        found.append(Comment(offset, lines.line(offset), offset - line_start, raw.rstrip(" \t"), full_line))

    covered = sorted((t.start_mark.index, t.end_mark.index) for t in tokens if t.end_mark.index > t.start_mark.index)
    position = 0
    for start, end in [*covered, (len(text), len(text))]:
        for m in _COMMENT.finditer(text, position, max(start, position)):
            add(m.start(), m.group())
        position = max(position, end)
    for token in tokens:
        if isinstance(token, yaml.ScalarToken) and token.style in ("|", ">"):
            header = _HEADER_COMMENT.match(text, token.start_mark.index)
            if header:
                add(header.start(1), header.group(1))
    return sorted(found, key=lambda c: c.offset)


@dataclass
class _Frame:
    loc: Loc
    container: Container
    is_map: bool
    flow: bool
    item_start: int  # where this collection's own item starts in its parent (its key, or itself)
    key: str | None = None
    key_start: int = 0
    index: int = 0


class _Walk:
    """Items and containers (offsets, lines, columns) and the layout of each location, from parse events."""

    def __init__(self, text: str, tokens: list[Any], lines: _Lines) -> None:
        self.text = text
        self.lines = lines
        self.dashes = sorted(t.start_mark.index for t in tokens if isinstance(t, yaml.BlockEntryToken))
        self.containers: list[Container] = []
        self.styles: dict[Loc, str] = {}
        self.stack: list[_Frame] = []
        self.anchors: dict[str, str] = {}
        self.skipping = 0  # inside a key that is a list or mapping (the front end reports it as an error)

    def run(self, events: list[Any]) -> None:
        for event in events:
            if self.skipping:
                if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                    self.skipping += 1
                elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                    self.skipping -= 1
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                self._close(event)
            elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent | yaml.MappingStartEvent
                            | yaml.SequenceStartEvent):
                self._node(event)

    def _node(self, event: Any) -> None:
        start = event.start_mark.index
        top = self.stack[-1] if self.stack else None
        if isinstance(event, yaml.ScalarEvent) and event.anchor:
            self.anchors[event.anchor] = event.value
        if top is not None and top.is_map and top.key is None:  # a mapping key: its entry starts here
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                self.skipping = 1
            value = self.anchors.get(event.anchor or "", "") if not isinstance(event, yaml.ScalarEvent) \
                else event.value
            top.key, top.key_start = str(value), start
            return
        if top is None:
            loc: Loc = ()
            item_start = start
        elif top.is_map:
            loc, item_start = (*top.loc, str(top.key)), top.key_start
        else:  # a list element starts at its dash (in block style): a comment below the dash is inside it
            loc, item_start = (*top.loc, top.index), start if top.flow else self._dash(start)
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            flow = bool(event.flow_style)
            self.styles[loc] = "flow" if flow else "block"
            container = Container(loc, start, len(self.text), bracketed=flow)
            self.stack.append(_Frame(loc, container, isinstance(event, yaml.MappingStartEvent), flow, item_start))
            return
        end = event.end_mark.index
        block_scalar = isinstance(event, yaml.ScalarEvent) and event.style in ("|", ">")
        if block_scalar:
            self.styles[loc] = event.style
            while end > start and self.text[end - 1] in _TRAILING_SPACE:
                end -= 1  # the scalar's token runs on over the blank lines after it
        if top is not None:
            self._item(top, loc, item_start, end, block_scalar)

    def _close(self, event: Any) -> None:
        frame = self.stack.pop()
        container = frame.container
        if frame.flow:
            container.end = event.end_mark.index
        else:  # a block collection's end mark lies at the next token: it ends with its last item
            container.end = max((i.end for i in container.items), default=container.start)
        self.containers.append(container)
        if self.stack:
            self._item(self.stack[-1], frame.loc, frame.item_start, container.end, False)

    def _dash(self, start: int) -> int:
        """Where the '-' of the block sequence element whose value starts at ``start`` is."""
        dash = bisect.bisect_left(self.dashes, start) - 1
        return self.dashes[dash] if dash >= 0 else start

    def _item(self, parent: _Frame, loc: Loc, start: int, end: int, block_scalar: bool) -> None:
        column = self.lines.column(start)  # of the key, or of the dash
        parent.container.items.append(Item(loc, start, end, self.lines.line(start), self.lines.line(end), column,
                                           block=not parent.flow, block_scalar=block_scalar))
        if parent.is_map:
            parent.key = None
        else:
            parent.index += 1
