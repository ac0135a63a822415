"""Which item a ``#`` comment belongs to, the same way for both syntaxes.

A front end lists its comments (where each starts, and whether it has a line to itself) and its
items (mapping entries and list elements: where each starts and ends) grouped by container. This
module decides, for each comment, the item it is attached to (``raw.NodeComments``):

- a comment after code on its line is the *trailing* comment of the item that ends last before it on
  that line (the innermost of items ending together), else of the item that starts last on that line;
- a comment on a line of its own is *closing* the YAML block item above it when it is indented deeper
  than that item's key or dash (an empty section with its lines commented out, notes after a list);
  inside ``[...]``/``{...}`` (or a DSL block) with no item after it, it closes that container;
  otherwise it *leads* the next item, and at the end of the file it closes the root.

The printers put each kind of comment back where these rules find it again, so ``fmt`` is
idempotent and neither syntax loses a comment on the way to the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .raw import Comments, NodeComments
from .source import Loc


@dataclass(frozen=True, slots=True)
class Comment:
    offset: int
    line: int
    column: int
    text: str
    full_line: bool


@dataclass(slots=True)
class Item:
    """A mapping entry (from its key) or list element, as offsets and lines in the source."""

    loc: Loc
    start: int
    end: int
    start_line: int
    end_line: int
    # YAML block collections only: indentation decides what a comment line below the item belongs to.
    column: int = 0  # the column where it starts: its key, or the "-" of a block sequence element
    block: bool = False  # an entry of a block mapping or sequence
    block_scalar: bool = False  # its value is a `|` or `>` block: deeper lines below it are its text


@dataclass(slots=True)
class Container:
    loc: Loc
    start: int
    end: int
    items: list[Item] = field(default_factory=list)
    bracketed: bool = True  # ends at a closing bracket (DSL blocks and lists, YAML flow collections)


def _is_within(loc: Loc, ancestor: Loc) -> bool:
    return loc[: len(ancestor)] == ancestor


def attach_comments(comments: Iterable[Comment], containers: list[Container]) -> Comments:
    """Each comment given to the item (or container) it belongs to."""
    items = sorted((i for c in containers for i in c.items), key=lambda i: (i.start, len(i.loc)))
    out: Comments = {}
    for comment in comments:
        if not comment.full_line:
            owner = _trailing_owner(comment, items)
            if owner is not None:
                node = out.setdefault(owner.loc, NodeComments())
                if node.trailing is None:
                    node.trailing = comment.text
                    continue
        # A line of its own (or a second comment for one item: keep it nearby as a full line).
        loc, kind = _full_line_owner(comment, items, containers)
        node = out.setdefault(loc, NodeComments())
        (node.leading if kind == "leading" else node.closing).append(comment.text)
    return out


def _trailing_owner(comment: Comment, items: list[Item]) -> Item | None:
    ending = [i for i in items if i.end_line == comment.line and i.end <= comment.offset]
    if ending:
        return max(ending, key=lambda i: (i.end, len(i.loc)))
    starting = [i for i in items if i.start_line == comment.line and i.start < comment.offset]
    if starting:
        return max(starting, key=lambda i: (i.start, len(i.loc)))  # `a {  # c` and `a:  # c` belong to a
    return None


def _full_line_owner(comment: Comment, items: list[Item], containers: list[Container]) -> tuple[Loc, str]:
    o = comment.offset
    following = next((i for i in items if i.start > o), None)  # sorted: the outermost of those starting there
    ends = [i.end for i in items if i.end <= o]
    last_end = max(ends, default=-1)
    last_start = max((i.start for i in items if i.start < o), default=-1)
    if ends and last_start <= last_end:
        # Right after a YAML block item, indented deeper than its key or dash: it closes that item.
        closed = [i for i in items if i.end == last_end and i.block and not i.block_scalar
                  and (following is None or not _is_within(following.loc, i.loc))]
        for item in sorted(closed, key=lambda i: -len(i.loc)):
            if comment.column > item.column:
                return item.loc, "closing"
    inside = [c for c in containers if c.bracketed and c.start < o < c.end]
    if inside:
        container = max(inside, key=lambda c: len(c.loc))
        if following is None or following.start >= container.end:
            return container.loc, "closing"
    if following is not None:
        return following.loc, "leading"
    return (), "closing"
