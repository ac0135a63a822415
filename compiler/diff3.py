"""A three-way line merge that gives the results of ``git merge-file`` (default "merge" style).

Both sides are diffed against the base (``linediff.diff_lines``, git's hunks). Walking the two
edit scripts in base order:

- a hunk that neither overlaps nor touches a hunk of the other side is taken as is;
- hunks that overlap or touch (one ends where the other starts, two insertions at one place) are a
  conflict, unless both sides made exactly the same change there, which is taken once;
- a conflict is then refined, as git does at its default level: the two sides' versions of the
  region are diffed against each other, the lines they share leave the conflict (a conflict whose
  two versions are equal is no conflict), and conflicts less than four lines apart, or separated
  only by lines without a letter or digit, are joined.

The result carries git's conflict markers (``<<<<<<<``, ``=======``, ``>>>>>>>``) and the number
of conflicts. ``tests/test_merge_git_oracle.py`` compares it with ``git merge-file -p``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .linediff import Hunk, diff_lines, split_lines

MARKER_SIZE = 7
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")  # git's isalnum: ASCII only

_CONFLICT, _OURS, _THEIRS, _SAME = 0, 1, 2, 4  # 4: a conflict whose two versions turned out equal


@dataclass
class _Region:
    """A changed region: base ``[i0, i0+chg0)``, ours ``[i1, i1+chg1)``, theirs ``[i2, i2+chg2)``."""

    mode: int
    i0: int
    chg0: int
    i1: int
    chg1: int
    i2: int
    chg2: int


def _append(regions: list[_Region], new: _Region) -> None:
    """Add a region; one that overlaps or touches the last one (on either side) joins it."""
    if regions:
        last = regions[-1]
        if new.i1 <= last.i1 + last.chg1 or new.i2 <= last.i2 + last.chg2:
            if new.mode != last.mode:
                last.mode = _CONFLICT
            last.chg0 = new.i0 + new.chg0 - last.i0
            last.chg1 = new.i1 + new.chg1 - last.i1
            last.chg2 = new.i2 + new.chg2 - last.i2
            return
    regions.append(new)


def _regions(ours: Sequence[str], theirs: Sequence[str], s1: list[Hunk], s2: list[Hunk],
             n_base: int) -> list[_Region]:
    """Walk both edit scripts (base → ours, base → theirs) in base order."""
    regions: list[_Region] = []
    p1 = p2 = 0
    while p1 < len(s1) and p2 < len(s2):
        h1, h2 = s1[p1], s2[p2]
        if h1.a_start + h1.a_len < h2.a_start:  # ours only, strictly before theirs
            _append(regions, _Region(_OURS, h1.a_start, h1.a_len, h1.b_start, h1.b_len,
                                     h2.b_start - h2.a_start + h1.a_start, h1.a_len))
            p1 += 1
            continue
        if h2.a_start + h2.a_len < h1.a_start:  # theirs only
            _append(regions, _Region(_THEIRS, h2.a_start, h2.a_len, h1.b_start - h1.a_start + h2.a_start,
                                     h2.a_len, h2.b_start, h2.b_len))
            p2 += 1
            continue
        same = (h1.a_start == h2.a_start and h1.a_len == h2.a_len and h1.b_len == h2.b_len
                and ours[h1.b_start:h1.b_start + h1.b_len] == theirs[h2.b_start:h2.b_start + h2.b_len])
        if not same:  # overlapping or touching: a conflict over the union of both hunks
            off = h1.a_start - h2.a_start
            ffo = off + h1.a_len - h2.a_len
            i0, i1, i2 = h1.a_start, h1.b_start, h2.b_start
            if off > 0:
                i0 -= off
                i1 -= off
            else:
                i2 += off
            chg0 = h1.a_start + h1.a_len - i0
            chg1 = h1.b_start + h1.b_len - i1
            chg2 = h2.b_start + h2.b_len - i2
            if ffo < 0:
                chg0 -= ffo
                chg1 -= ffo
            else:
                chg2 += ffo
            _append(regions, _Region(_CONFLICT, i0, chg0, i1, chg1, i2, chg2))
        end1, end2 = h1.a_start + h1.a_len, h2.a_start + h2.a_len
        if end1 >= end2:
            p2 += 1
        if end2 >= end1:
            p1 += 1
    shift2 = len(theirs) - n_base
    for h1 in s1[p1:]:
        _append(regions, _Region(_OURS, h1.a_start, h1.a_len, h1.b_start, h1.b_len, h1.a_start + shift2, h1.a_len))
    shift1 = len(ours) - n_base
    for h2 in s2[p2:]:
        _append(regions, _Region(_THEIRS, h2.a_start, h2.a_len, h2.a_start + shift1, h2.a_len, h2.b_start, h2.b_len))
    return regions


def _refine(regions: list[_Region], ours: Sequence[str], theirs: Sequence[str]) -> list[_Region]:
    """Shrink each conflict to the lines where the two sides' versions differ."""
    out: list[_Region] = []
    for r in regions:
        if r.mode != _CONFLICT or r.chg1 == 0 or r.chg2 == 0:
            out.append(r)
            continue
        hunks = diff_lines(ours[r.i1:r.i1 + r.chg1], theirs[r.i2:r.i2 + r.chg2])
        if not hunks:
            out.append(_Region(_SAME, r.i0, r.chg0, r.i1, r.chg1, r.i2, r.chg2))
            continue
        for h in hunks:  # the base range no longer applies; the "merge" style never shows it
            out.append(_Region(_CONFLICT, r.i0, r.chg0, r.i1 + h.a_start, h.a_len, r.i2 + h.b_start, h.b_len))
    return out


def _has_alnum(lines: Sequence[str]) -> bool:
    return any(ch in _ALNUM for line in lines for ch in line)


def _join_close_conflicts(regions: list[_Region], ours: Sequence[str]) -> None:
    """Conflicts less than four lines apart, or apart by lines with no letter or digit, become one."""
    k = 0
    while k + 1 < len(regions):
        r, nxt = regions[k], regions[k + 1]
        begin, end = r.i1 + r.chg1, nxt.i1
        if r.mode != _CONFLICT or nxt.mode != _CONFLICT or (end - begin > 3 and _has_alnum(ours[begin:end])):
            k += 1
            continue
        r.chg1 = nxt.i1 + nxt.chg1 - r.i1
        r.chg2 = nxt.i2 + nxt.chg2 - r.i2
        del regions[k + 1]


def _crlf(lines: Sequence[str], i: int) -> int:
    """1 when line ``i`` ends in CR LF, 0 when in LF; -1 when it cannot tell (git's is_eol_crlf)."""
    if i < len(lines) - 1:
        return int(lines[i].endswith("\r\n"))
    if not lines:
        return -1
    if lines[i].endswith("\n"):
        return int(lines[i].endswith("\r\n"))
    if i == 0:
        return -1
    return int(lines[i - 1].endswith("\r\n"))


def _needs_cr(base: Sequence[str], ours: Sequence[str], theirs: Sequence[str], r: _Region) -> bool:
    """Markers end in CR LF when the lines around the conflict do."""
    needs = _crlf(ours, r.i1 - 1 if r.i1 else 0)
    if needs:
        needs = _crlf(theirs, r.i2 - 1 if r.i2 else 0)
    if needs:
        needs = _crlf(base, 0)
    return needs > 0


def _side(lines: Sequence[str], eol: str) -> list[str]:
    """A side of a conflict; its last line gets a line ending so that the marker starts a line."""
    out = list(lines)
    if out and not out[-1].endswith("\n"):
        out[-1] += eol
    return out


@dataclass(frozen=True)
class Merged:
    text: str
    conflicts: int


def merge_lines(base: str, ours: str, theirs: str, *, ours_label: str = "", theirs_label: str = "") -> Merged:
    """Merge ``ours`` and ``theirs``, two edits of ``base``, as ``git merge-file -p`` does."""
    b, o, t = split_lines(base), split_lines(ours), split_lines(theirs)
    s1, s2 = diff_lines(b, o), diff_lines(b, t)
    if not s1:
        return Merged(theirs, 0)
    if not s2:
        return Merged(ours, 0)
    regions = _refine(_regions(o, t, s1, s2, len(b)), o, t)
    _join_close_conflicts(regions, o)
    out: list[str] = []
    done = 0  # lines of ours already copied (or replaced)
    conflicts = 0
    for r in regions:
        if r.mode == _SAME:
            continue  # ours holds the same lines as theirs: copied with the unchanged text
        out.extend(o[done:r.i1])
        if r.mode == _OURS:
            out.extend(o[r.i1:r.i1 + r.chg1])
        elif r.mode == _THEIRS:
            out.extend(t[r.i2:r.i2 + r.chg2])
        else:
            conflicts += 1
            eol = "\r\n" if _needs_cr(b, o, t, r) else "\n"
            out.append("<" * MARKER_SIZE + (f" {ours_label}" if ours_label else "") + eol)
            out.extend(_side(o[r.i1:r.i1 + r.chg1], eol))
            out.append("=" * MARKER_SIZE + eol)
            out.extend(_side(t[r.i2:r.i2 + r.chg2], eol))
            out.append(">" * MARKER_SIZE + (f" {theirs_label}" if theirs_label else "") + eol)
        done = r.i1 + r.chg1
    out.extend(o[done:])
    return Merged("".join(out), conflicts)
