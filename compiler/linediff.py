"""A line diff that finds the same hunks as git's xdiff (its default Myers algorithm).

A three-way merge is only as good as its two diffs: on texts full of repeated lines (``)``, blank
lines, ``x = 1``) many edit scripts of equal length exist, and which one a diff picks decides what
merges cleanly. To give the results of ``git merge-file`` when git is not installed, this module
reproduces xdiff's choices, step by step:

1. lines are compared whole, line ending included (a last line without one differs from the same
   text with one);
2. the common head and tail are set aside;
3. a line with no equal on the other side is changed outright, and a line with many equals
   (``_bogosqrt`` of its file's length or more) is dropped from the search when it sits in a run of
   such lines: this is what makes xdiff differ from a plain longest-common-subsequence diff;
4. Myers' divide-and-conquer search for the middle snake, with xdiff's cut-offs for costly inputs;
5. each group of changed lines is slid as far down as it goes, then back up to line up with a
   change on the other side, and adjacent groups are joined.

The behaviour follows xdiff (libxdiff by Davide Libenzi, as maintained in git); the code is
written for this project. ``tests/test_merge_git_oracle.py`` checks it against ``git merge-file``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

_MAX_EQLIMIT = 1024  # a line with this many equals on the other side is always "many"
_SIMSCAN_WINDOW = 100  # how far step 3 looks around a line
_KPDIS_RUN = 4
_MAX_COST_MIN = 256  # the search gives up on optimality past this edit cost (large inputs only)
_HEUR_MIN_COST = 256
_SNAKE_CNT = 20
_K_HEUR = 4
_LINE_MAX = (1 << 63) - 1

_NO, _YES, _MANY = 0, 1, 2  # a line's equals on the other side: none, some, many


@dataclass(frozen=True)
class Hunk:
    """Lines ``a[a_start:a_start + a_len]`` became ``b[b_start:b_start + b_len]``."""

    a_start: int
    b_start: int
    a_len: int
    b_len: int


def split_lines(text: str) -> list[str]:
    """Lines as git sees them: each ends after its ``\\n``; a last line may have none.

    Unlike ``str.splitlines`` this splits on ``\\n`` only, so ``\\r``, form feeds and Unicode line
    separators stay inside a line, as they do for git.
    """
    if not text:
        return []
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _bogosqrt(n: int) -> int:
    """A power of two near sqrt(n), as xdiff estimates it."""
    root = 1
    while n > 0:
        n >>= 2
        root <<= 1
    return root


class _File:
    """One side of a diff: its line ids and which lines are changed (with a false line at each end)."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        self.n = len(ids)
        self._changed = bytearray(self.n + 2)

    def changed(self, i: int) -> bool:
        return bool(self._changed[i + 1])  # i may be -1 or n: the unchanged sentinels

    def mark(self, i: int, value: bool = True) -> None:
        self._changed[i + 1] = value


def _discards(dis: Sequence[int], i: int, start: int, end: int) -> bool:
    """Whether a line with many equals is dropped: it sits among lines with none (step 3)."""
    start = max(start, i - _SIMSCAN_WINDOW)
    end = min(end, i + _SIMSCAN_WINDOW)
    none_before, many_before = 0, 1
    r = 1
    while i - r >= start:
        if dis[i - r] == _NO:
            none_before += 1
        elif dis[i - r] == _MANY:
            many_before += 1
        else:
            break
        r += 1
    if none_before == 0:
        return False
    none_after, many_after = 0, 1
    r = 1
    while i + r <= end:
        if dis[i + r] == _NO:
            none_after += 1
        elif dis[i + r] == _MANY:
            many_after += 1
        else:
            break
        r += 1
    if none_after == 0:
        return False
    none, many = none_after + none_before, many_after + many_before
    return many * _KPDIS_RUN < many + none


def _kept(mine: _File, other_counts: dict[int, int], start: int, end: int) -> list[int]:
    """Indices of the lines the search looks at; the others are marked changed (step 3)."""
    limit = min(_bogosqrt(mine.n), _MAX_EQLIMIT)
    dis = [_NO] * (mine.n + 1)
    for i in range(start, end + 1):
        equals = other_counts.get(mine.ids[i], 0)
        dis[i] = _NO if equals == 0 else _MANY if equals >= limit else _YES
    kept: list[int] = []
    for i in range(start, end + 1):
        if dis[i] == _YES or (dis[i] == _MANY and not _discards(dis, i, start, end)):
            kept.append(i)
        else:
            mine.mark(i)
    return kept


class _Search:
    """Myers' middle-snake search over the kept lines (step 4), marking changed lines."""

    def __init__(self, f1: _File, kept1: list[int], f2: _File, kept2: list[int]) -> None:
        self.f1, self.f2 = f1, f2
        self.rindex1, self.rindex2 = kept1, kept2
        self.ha1 = [f1.ids[i] for i in kept1]
        self.ha2 = [f2.ids[i] for i in kept2]
        ndiags = len(kept1) + len(kept2) + 3
        # Forward and backward furthest-reaching points, indexed by diagonal + offset; shared by
        # every sub-search, as in xdiff.
        self.offset = len(kept2) + 1
        self.kvdf = [0] * ndiags
        self.kvdb = [0] * ndiags
        self.mxcost = max(_bogosqrt(ndiags), _MAX_COST_MIN)

    def run(self) -> None:
        boxes = [(0, len(self.ha1), 0, len(self.ha2), False)]
        while boxes:  # a stack, not recursion: deep splits of long files would overflow Python's
            off1, lim1, off2, lim2, need_min = boxes.pop()
            ha1, ha2 = self.ha1, self.ha2
            while off1 < lim1 and off2 < lim2 and ha1[off1] == ha2[off2]:
                off1 += 1
                off2 += 1
            while off1 < lim1 and off2 < lim2 and ha1[lim1 - 1] == ha2[lim2 - 1]:
                lim1 -= 1
                lim2 -= 1
            if off1 == lim1:
                for k in range(off2, lim2):
                    self.f2.mark(self.rindex2[k])
            elif off2 == lim2:
                for k in range(off1, lim1):
                    self.f1.mark(self.rindex1[k])
            else:
                i1, i2, min_lo, min_hi = self._split(off1, lim1, off2, lim2, need_min)
                boxes.append((i1, lim1, i2, lim2, min_hi))
                boxes.append((off1, i1, off2, i2, min_lo))  # popped first: the same order as xdiff

    def _split(self, off1: int, lim1: int, off2: int, lim2: int, need_min: bool) -> tuple[int, int, bool, bool]:
        ha1, ha2, o = self.ha1, self.ha2, self.offset
        kvdf, kvdb = self.kvdf, self.kvdb
        dmin, dmax = off1 - lim2, lim1 - off2
        fmid, bmid = off1 - off2, lim1 - lim2
        odd = (fmid - bmid) & 1
        fmin = fmax = fmid
        bmin = bmax = bmid
        kvdf[fmid + o] = off1
        kvdb[bmid + o] = lim1
        ec = 0
        while True:
            ec += 1
            got_snake = False
            if fmin > dmin:
                fmin -= 1
                kvdf[fmin - 1 + o] = -1
            else:
                fmin += 1
            if fmax < dmax:
                fmax += 1
                kvdf[fmax + 1 + o] = -1
            else:
                fmax -= 1
            for d in range(fmax, fmin - 1, -2):
                left, right = kvdf[d - 1 + o], kvdf[d + 1 + o]
                i1 = left + 1 if left >= right else right  # extend the further-reaching neighbour
                prev1 = i1
                i2 = i1 - d
                while i1 < lim1 and i2 < lim2 and ha1[i1] == ha2[i2]:
                    i1 += 1
                    i2 += 1
                if i1 - prev1 > _SNAKE_CNT:
                    got_snake = True
                kvdf[d + o] = i1
                if odd and bmin <= d <= bmax and kvdb[d + o] <= i1:
                    return i1, i2, True, True
            if bmin > dmin:
                bmin -= 1
                kvdb[bmin - 1 + o] = _LINE_MAX
            else:
                bmin += 1
            if bmax < dmax:
                bmax += 1
                kvdb[bmax + 1 + o] = _LINE_MAX
            else:
                bmax -= 1
            for d in range(bmax, bmin - 1, -2):
                left, right = kvdb[d - 1 + o], kvdb[d + 1 + o]
                i1 = left if left < right else right - 1
                prev1 = i1
                i2 = i1 - d
                while i1 > off1 and i2 > off2 and ha1[i1 - 1] == ha2[i2 - 1]:
                    i1 -= 1
                    i2 -= 1
                if prev1 - i1 > _SNAKE_CNT:
                    got_snake = True
                kvdb[d + o] = i1
                if not odd and fmin <= d <= fmax and i1 <= kvdf[d + o]:
                    return i1, i2, True, True
            if need_min:
                continue
            if got_snake and ec > _HEUR_MIN_COST:
                found = self._good_forward(off1, lim1, off2, lim2, fmin, fmax, fmid, ec)
                if found is not None:
                    return found[0], found[1], True, False
                found = self._good_backward(off1, lim1, off2, lim2, bmin, bmax, bmid, ec)
                if found is not None:
                    return found[0], found[1], False, True
            if ec >= self.mxcost:
                return self._furthest(off1, lim1, off2, lim2, fmin, fmax, bmin, bmax)

    def _good_forward(self, off1: int, lim1: int, off2: int, lim2: int, fmin: int, fmax: int, fmid: int,
                      ec: int) -> tuple[int, int] | None:
        """A forward path far from the start that ends in a long snake (a costly input's shortcut)."""
        ha1, ha2, o = self.ha1, self.ha2, self.offset
        best, found = 0, None
        for d in range(fmax, fmin - 1, -2):
            dd = d - fmid if d > fmid else fmid - d
            i1 = self.kvdf[d + o]
            i2 = i1 - d
            v = (i1 - off1) + (i2 - off2) - dd
            if (v > _K_HEUR * ec and v > best and off1 + _SNAKE_CNT <= i1 < lim1
                    and off2 + _SNAKE_CNT <= i2 < lim2):
                k = 1
                while ha1[i1 - k] == ha2[i2 - k]:
                    if k == _SNAKE_CNT:
                        best, found = v, (i1, i2)
                        break
                    k += 1
        return found

    def _good_backward(self, off1: int, lim1: int, off2: int, lim2: int, bmin: int, bmax: int, bmid: int,
                       ec: int) -> tuple[int, int] | None:
        ha1, ha2, o = self.ha1, self.ha2, self.offset
        best, found = 0, None
        for d in range(bmax, bmin - 1, -2):
            dd = d - bmid if d > bmid else bmid - d
            i1 = self.kvdb[d + o]
            i2 = i1 - d
            v = (lim1 - i1) + (lim2 - i2) - dd
            if (v > _K_HEUR * ec and v > best and off1 < i1 <= lim1 - _SNAKE_CNT
                    and off2 < i2 <= lim2 - _SNAKE_CNT):
                k = 0
                while ha1[i1 + k] == ha2[i2 + k]:
                    if k == _SNAKE_CNT - 1:
                        best, found = v, (i1, i2)
                        break
                    k += 1
        return found

    def _furthest(self, off1: int, lim1: int, off2: int, lim2: int, fmin: int, fmax: int, bmin: int,
                  bmax: int) -> tuple[int, int, bool, bool]:
        """Past the cost limit: split at the furthest-reaching point found so far."""
        o = self.offset
        fbest = fbest1 = -1
        for d in range(fmax, fmin - 1, -2):
            i1 = min(self.kvdf[d + o], lim1)
            i2 = i1 - d
            if lim2 < i2:
                i1, i2 = lim2 + d, lim2
            if fbest < i1 + i2:
                fbest, fbest1 = i1 + i2, i1
        bbest = bbest1 = _LINE_MAX
        for d in range(bmax, bmin - 1, -2):
            i1 = max(off1, self.kvdb[d + o])
            i2 = i1 - d
            if i2 < off2:
                i1, i2 = off2 + d, off2
            if i1 + i2 < bbest:
                bbest, bbest1 = i1 + i2, i1
        if (lim1 + lim2) - bbest < fbest - (off1 + off2):
            return fbest1, fbest - fbest1, True, False
        return bbest1, bbest - bbest1, False, True


class _Group:
    """A run of changed lines ``[start, end)`` in one file; empty between two unchanged lines."""

    def __init__(self, f: _File) -> None:
        self.f = f
        self.start = self.end = 0
        while f.changed(self.end):
            self.end += 1

    def next(self) -> bool:
        if self.end == self.f.n:
            return False
        self.start = self.end + 1
        self.end = self.start
        while self.f.changed(self.end):
            self.end += 1
        return True

    def previous(self) -> bool:
        if self.start == 0:
            return False
        self.end = self.start - 1
        self.start = self.end
        while self.f.changed(self.start - 1):
            self.start -= 1
        return True

    def slide_down(self) -> bool:
        f = self.f
        if self.end < f.n and f.ids[self.start] == f.ids[self.end]:
            f.mark(self.start, False)
            f.mark(self.end)
            self.start += 1
            self.end += 1
            while f.changed(self.end):
                self.end += 1
            return True
        return False

    def slide_up(self) -> bool:
        f = self.f
        if self.start > 0 and f.ids[self.start - 1] == f.ids[self.end - 1]:
            self.start -= 1
            self.end -= 1
            f.mark(self.start)
            f.mark(self.end, False)
            while f.changed(self.start - 1):
                self.start -= 1
            return True
        return False


class _GroupSyncError(AssertionError):
    """The two files' groups fell out of step: a bug in this module."""


def _compact(f: _File, other: _File) -> None:
    """Slide each group of changes down, then up to meet a change on the other side (step 5)."""
    g, go = _Group(f), _Group(other)
    while True:
        if g.end != g.start:
            while True:
                size = g.end - g.start
                end_matching_other = -1
                while g.slide_up():
                    if not go.previous():
                        raise _GroupSyncError("sliding up")
                earliest_end = g.end
                if go.end > go.start:
                    end_matching_other = g.end
                while g.slide_down():
                    if not go.next():
                        raise _GroupSyncError("sliding down")
                    if go.end > go.start:
                        end_matching_other = g.end
                if size == g.end - g.start:
                    break
            if g.end != earliest_end and end_matching_other != -1:
                while go.end == go.start:
                    if not g.slide_up() or not go.previous():
                        raise _GroupSyncError("sliding to a match")
        if not g.next():
            break
        if not go.next():
            raise _GroupSyncError("moving on")


def _script(f1: _File, f2: _File) -> list[Hunk]:
    hunks: list[Hunk] = []
    i1, i2 = f1.n, f2.n
    while i1 > 0 or i2 > 0:
        if f1.changed(i1 - 1) or f2.changed(i2 - 1):
            end1, end2 = i1, i2
            while f1.changed(i1 - 1):
                i1 -= 1
            while f2.changed(i2 - 1):
                i2 -= 1
            hunks.append(Hunk(i1, i2, end1 - i1, end2 - i2))
        i1 -= 1
        i2 -= 1
    hunks.reverse()
    return hunks


def diff_lines(a: Sequence[str], b: Sequence[str]) -> list[Hunk]:
    """The hunks that turn ``a`` into ``b``, in order, as git's Myers diff finds them."""
    ids: dict[str, int] = {}
    ids1 = [ids.setdefault(line, len(ids)) for line in a]
    ids2 = [ids.setdefault(line, len(ids)) for line in b]
    f1, f2 = _File(ids1), _File(ids2)
    head = 0
    limit = min(f1.n, f2.n)
    while head < limit and ids1[head] == ids2[head]:
        head += 1
    tail = 0
    while tail < limit - head and ids1[f1.n - 1 - tail] == ids2[f2.n - 1 - tail]:
        tail += 1
    counts1: dict[int, int] = {}
    counts2: dict[int, int] = {}
    for i in ids1:
        counts1[i] = counts1.get(i, 0) + 1
    for i in ids2:
        counts2[i] = counts2.get(i, 0) + 1
    kept1 = _kept(f1, counts2, head, f1.n - tail - 1)
    kept2 = _kept(f2, counts1, head, f2.n - tail - 1)
    _Search(f1, kept1, f2, kept2).run()
    _compact(f1, f2)
    _compact(f2, f1)
    return _script(f1, f2)
