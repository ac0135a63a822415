"""A line-based three-way merge, for rebuilding a project whose generated files the user edited.

``merge3(base, ours, theirs)``: ``base`` is what the last build generated, ``ours`` the file as the
user left it, ``theirs`` what this build generates. Changes that touch different lines are both
kept; changes to the same lines (or insertions at the same place) are a conflict, and the caller
stops rather than guess.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class _Hunk:
    start: int  # first base line replaced
    end: int  # one past the last base line replaced (== start: an insertion)
    lines: tuple[str, ...]


def _hunks(base: list[str], other: list[str]) -> list[_Hunk]:
    matcher = difflib.SequenceMatcher(None, base, other, autojunk=False)
    return [_Hunk(i1, i2, tuple(other[j1:j2])) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def _clash(a: _Hunk, b: _Hunk) -> bool:
    if a == b:
        return False  # the same change on both sides
    overlap = a.start < b.end and b.start < a.end
    return overlap or a.start == b.start


def merge3(base: str, ours: str, theirs: str) -> str | None:
    """The merged text, or None when the two sides changed the same lines."""
    base_lines = base.splitlines(keepends=True)
    mine = _hunks(base_lines, ours.splitlines(keepends=True))
    new = _hunks(base_lines, theirs.splitlines(keepends=True))
    for a in mine:
        if any(_clash(a, b) for b in new):
            return None
    hunks = sorted({*mine, *new}, key=lambda h: (h.start, h.end))
    out: list[str] = []
    position = 0
    for hunk in hunks:
        out.extend(base_lines[position:hunk.start])
        out.extend(hunk.lines)
        position = max(position, hunk.end)
    out.extend(base_lines[position:])
    return "".join(out)
