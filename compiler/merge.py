"""The three-way merge that keeps a user's edits when a project is rebuilt.

``merge3(base, ours, theirs)``: ``base`` is what the last build generated, ``ours`` the file as the
user left it, ``theirs`` what this build generates. It has diff3 semantics, exactly those of
``git merge-file``: changes on different lines are both kept, the same change made on both sides
appears once, and changes that overlap or touch (adjacent lines, insertions at one place) are a
conflict, written between git's markers.

``git merge-file`` runs when git is installed (where users keep their projects); otherwise, or
with ``AISPEC_MERGE=python``, a pure-Python merge (``diff3.merge_lines``) that gives the same
results. ``MergeResult.engine`` says which ran.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .diff3 import MARKER_SIZE, merge_lines

Engine = Literal["git", "python"]
ENGINE_ENV = "AISPEC_MERGE"  # "python": use the pure-Python merge even where git is installed
GIT_TIMEOUT_S = 30.0

OURS_LABEL = "yours"
BASE_LABEL = "generated before"
THEIRS_LABEL = "generated now"
ENGINE_NAMES: dict[Engine, str] = {"git": "git merge-file", "python": "aispec's diff3"}


@dataclass(frozen=True)
class MergeResult:
    text: str  # the merged text; where ``conflicts`` > 0, with conflict markers
    conflicts: int  # how many conflicted regions (0: a clean merge)
    engine: Engine

    @property
    def clean(self) -> bool:
        return self.conflicts == 0


def merge3(base: str, ours: str, theirs: str, *, engine: Literal["auto", "git", "python"] | None = None) -> MergeResult:
    """Merge the user's edits (``ours``) and the new generated text (``theirs``) of ``base``.

    ``engine``: "auto" (git when installed, else Python), "git" (raises when git cannot run), or
    "python"; None reads ``AISPEC_MERGE`` (only "python" changes anything).
    """
    choice = engine or ("python" if os.environ.get(ENGINE_ENV, "").strip().lower() == "python" else "auto")
    if choice != "python":
        merged = _git_merge(base, ours, theirs)
        if merged is not None:
            return merged
        if choice == "git":
            raise RuntimeError("git merge-file is not available")
    result = merge_lines(base, ours, theirs, ours_label=OURS_LABEL, theirs_label=THEIRS_LABEL)
    return MergeResult(result.text, result.conflicts, "python")


def _git_merge(base: str, ours: str, theirs: str) -> MergeResult | None:
    """``git merge-file -p``, or None when git is missing or cannot merge these texts."""
    git = shutil.which("git")
    if git is None:
        return None
    with tempfile.TemporaryDirectory(prefix="aispec-merge-") as tmp:
        paths = []
        for name, text in (("yours", ours), ("base", base), ("generated", theirs)):
            path = Path(tmp) / name
            path.write_bytes(text.encode("utf-8"))  # bytes: no newline translation on any OS
            paths.append(str(path))
        # merge.conflictStyle pinned: a user's diff3/zdiff3 setting would change what merges cleanly.
        cmd = [git, "-c", "merge.conflictStyle=merge", "merge-file", "-p", "-q",
               "-L", OURS_LABEL, "-L", BASE_LABEL, "-L", THEIRS_LABEL, *paths]
        try:
            done = subprocess.run(cmd, cwd=tmp, capture_output=True, timeout=GIT_TIMEOUT_S, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
    if not 0 <= done.returncode <= 127:  # 255: an error (e.g. a binary file); 128: git died
        return None
    try:
        text = done.stdout.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # The exit status counts conflicts but stops at 127; the markers give the real count.
    conflicts = done.returncode if done.returncode < 127 else count_conflicts(text)
    return MergeResult(text, conflicts, "git")


def count_conflicts(text: str) -> int:
    """How many of aispec's conflict regions a text still holds (unresolved markers)."""
    start = "<" * MARKER_SIZE + " " + OURS_LABEL
    end = ">" * MARKER_SIZE + " " + THEIRS_LABEL
    opened = count = 0
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        if line == start:
            opened = 1
        elif line == end and opened:
            count += 1
            opened = 0
    return count
