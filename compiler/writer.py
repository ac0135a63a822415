"""Writing a rendered project: the only stage with I/O.

- Every path stays inside the target directory (no absolute paths, no '..', no
  symlink that leads out).
- A manifest (`.aispec/manifest.json`) records the aispec version, the spec hash
  and the hash of every generated file (the generated text, never the file on
  disk), so a rebuild knows which files the user edited: an edited file whose
  generated text did not change is kept; one whose generated text changed gets a
  three-way merge (``merge.merge3``, base = the last generated text kept in
  `.aispec/base/`). A clean merge is written. A conflicting one, with
  ``on_conflict="markers"`` (the default), is written with conflict markers after
  the user's version is saved under `.aispec/backup/` (AIS504); with "stop" the
  build stops and writes nothing (AIS501). ``force`` overwrites every edited file
  with the generated text, after the same backup.
- Files that cannot be merged stop the build whatever ``on_conflict`` says
  (AIS501): an edited file with no trustworthy base, a file aispec did not write,
  a deleted file whose generated text changed. So does a file that still holds
  the markers of an earlier conflict (AIS505): nothing is built on top of an
  unresolved conflict.
- A first build renders into a temporary directory and renames it into place; a
  rebuild replaces files one by one and rolls back every replaced file if
  anything fails, so a failed build leaves the old project as it was.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Literal

from .codes import make
from .diagnostics import Diagnostic
from .merge import ENGINE_NAMES, MergeResult, count_conflicts
from .render import RenderedTree

MANIFEST = PurePosixPath(".aispec/manifest.json")
BACKUP = PurePosixPath(".aispec/backup")
MANIFEST_FORMAT = 1

# "conflict" stops the build (nothing is written); "markers" writes the file with conflict markers.
Action = Literal["add", "update", "merge", "delete", "unchanged", "keep", "conflict", "markers"]
OnConflict = Literal["markers", "stop"]
BASE = PurePosixPath(".aispec/base")  # the last generated text of every file: the base of a three-way merge


def sha256(content: str | bytes) -> str:
    return hashlib.sha256(content if isinstance(content, bytes) else content.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Manifest:
    aispec_version: str
    spec_hash: str
    files: dict[str, str]

    def to_json(self) -> str:
        data = {"format": MANIFEST_FORMAT, "aispec_version": self.aispec_version, "spec_hash": self.spec_hash,
                "files": dict(sorted(self.files.items()))}
        return json.dumps(data, indent=2) + "\n"

    @staticmethod
    def read(target: Path) -> Manifest | None:
        path = target / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Manifest(str(data["aispec_version"]), str(data["spec_hash"]),
                            {str(k): str(v) for k, v in data["files"].items()})
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None


@dataclass(frozen=True)
class Change:
    path: str
    action: Action
    reason: str = ""
    diff: str = ""
    content: str | None = None  # what a "merge" or "markers" writes (the user's edits on the new generated text)
    overwrites_edit: bool = False  # replaces a file the user wrote or edited: back it up first
    conflicts: int = 0  # conflicted regions found by the merge
    engine: str = ""  # which merge ran: "git" (git merge-file) or "python"
    code: str = ""  # the diagnostic of a "conflict" or "markers" change

    @property
    def backup(self) -> str:
        """Where the user's version is saved before the file is replaced ("" when nothing is)."""
        return str(BACKUP / self.path) if self.overwrites_edit else ""


@dataclass(frozen=True)
class WritePlan:
    target: Path
    changes: tuple[Change, ...]
    manifest: Manifest
    diagnostics: tuple[Diagnostic, ...] = ()
    tree: RenderedTree = field(default_factory=dict)

    @property
    def conflicts(self) -> tuple[Change, ...]:
        """Changes that stop the build: nothing is written while there is one."""
        return tuple(c for c in self.changes if c.action == "conflict")

    @property
    def marked(self) -> tuple[Change, ...]:
        """Files written with conflict markers, for the user to resolve."""
        return tuple(c for c in self.changes if c.action == "markers")

    @property
    def merge_engines(self) -> tuple[str, ...]:
        return tuple(sorted({c.engine for c in self.changes if c.engine}))


def _safe_path(target: Path, path: PurePosixPath) -> Path:
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(f"refusing to write outside the project: {path}")
    full = target / Path(*path.parts)
    root = target.resolve()
    if not str(full.resolve()).startswith(str(root) + os.sep):
        raise ValueError(f"refusing to write outside the project (through a link?): {path}")
    return full


UNREADABLE = "\x00unreadable"  # what _read gives for a file that is not UTF-8 text: never merged


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return UNREADABLE


# Binary files (bytes in the RenderedTree, e.g. the aispec wheel) are read, hashed, written and
# replaced whole: never merged, shown as one line in a diff, and kept out of .aispec/base/.


def _read_like(path: Path, like: str | bytes) -> str | bytes | None:
    """The file as text, or as bytes when the generated content is binary."""
    if not isinstance(like, bytes):
        return _read(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError:
        return b"\x00unreadable"


def _write(path: Path, content: str | bytes) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def _diff(path: str, old: str | bytes | None, new: str | bytes | None) -> str:
    if isinstance(old, bytes) or isinstance(new, bytes):
        return f"Binary files a/{path} and b/{path} differ\n" if old != new else ""
    lines = difflib.unified_diff((old or "").splitlines(keepends=True), (new or "").splitlines(keepends=True),
                                 fromfile=f"a/{path}", tofile=f"b/{path}")
    return "".join(lines)


def _merge(target: Path, path: PurePosixPath, base_hash: str, ours: str, theirs: str) -> MergeResult | None:
    from .merge import merge3

    base = _read(_safe_path(target, BASE / path))
    if base is None or sha256(base) != base_hash or UNREADABLE in (base, ours):
        return None  # no trustworthy base, or a file that is not text: never guess
    return merge3(base, ours, theirs)


def _edited(key: str, disk: str, text: str, merged: MergeResult | None, *, force: bool,
            on_conflict: OnConflict) -> Change:
    """An edited file whose generated text changed: merge it, or say why not."""
    diff = _diff(key, disk, text)
    if force:
        return Change(key, "update", "you edited it; --force regenerates it", diff, overwrites_edit=True)
    if merged is None:
        return Change(key, "conflict", "you edited it, the generated text changed, and there is no base to merge "
                      "with", diff, code="AIS501")
    how = f"merged by {ENGINE_NAMES[merged.engine]}"
    if merged.clean:
        return Change(key, "merge", f"your edits, merged into the new generated text; {how}",
                      _diff(key, disk, merged.text), merged.text, engine=merged.engine)
    places = f"{merged.conflicts} place{'s' if merged.conflicts > 1 else ''}"
    if on_conflict == "markers":
        return Change(key, "markers", f"your edits and the new generated text conflict in {places}; {how}",
                      _diff(key, disk, merged.text), merged.text, overwrites_edit=True,
                      conflicts=merged.conflicts, engine=merged.engine, code="AIS504")
    return Change(key, "conflict", f"your edits and the new generated text conflict in {places}; {how}", diff,
                  conflicts=merged.conflicts, engine=merged.engine, code="AIS501")


def plan_write(tree: RenderedTree, target: Path, *, spec_hash: str, aispec_version: str,
               force: bool = False, on_conflict: OnConflict = "markers") -> WritePlan:
    """What writing ``tree`` into ``target`` would do, without touching the disk."""
    old = Manifest.read(target)
    old_files = old.files if old else {}
    manifest = Manifest(aispec_version, spec_hash, {str(p): sha256(t) for p, t in tree.items()})
    changes: list[Change] = []
    for path, text in tree.items():
        key = str(path)
        full = _safe_path(target, path)
        disk = _read_like(full, text)
        base = old_files.get(key)
        new = manifest.files[key]
        if disk is None:
            if base is None:
                changes.append(Change(key, "add", diff=_diff(key, None, text)))
            elif new == base:
                changes.append(Change(key, "keep", "you deleted it; the generated text did not change"))
            elif force:
                changes.append(Change(key, "update", "you deleted it; --force regenerates it", _diff(key, None, text)))
            else:
                changes.append(Change(key, "conflict", "you deleted it, and the generated text changed",
                                      _diff(key, None, text), code="AIS501"))
            continue
        current = sha256(disk)
        if current == new:
            changes.append(Change(key, "unchanged"))
        elif base is None:
            if force:
                changes.append(Change(key, "update", "the file was not written by aispec; --force replaces it",
                                      _diff(key, disk, text), overwrites_edit=True))
            else:
                changes.append(Change(key, "conflict", "the file exists and was not written by aispec",
                                      _diff(key, disk, text), code="AIS501"))
        elif current == base:
            changes.append(Change(key, "update", diff=_diff(key, disk, text)))
        elif isinstance(disk, str) and (unresolved := count_conflicts(disk)):
            # Markers left by an earlier build: whatever is built on top would bury them.
            if force:
                changes.append(Change(key, "update", "it still has conflict markers; --force regenerates it",
                                      _diff(key, disk, text), overwrites_edit=True))
            else:
                changes.append(Change(key, "conflict", f"it still has {unresolved} unresolved conflict"
                                      f"{'s' if unresolved > 1 else ''} from an earlier build", code="AIS505"))
        elif new == base:
            changes.append(Change(key, "keep", "you edited it; the generated text did not change"))
        else:
            if isinstance(disk, str) and isinstance(text, str):
                merged = None if force else _merge(target, path, base, disk, text)
                changes.append(_edited(key, disk, text, merged, force=force, on_conflict=on_conflict))
            else:  # a binary file (the aispec wheel) the user replaced: never merged
                reason = "you replaced it, and the generated file changed"
                changes.append(Change(key, "update" if force else "conflict", reason, _diff(key, disk, text),
                                      overwrites_edit=force, code="" if force else "AIS501"))
    for key, base in sorted(old_files.items()):
        if PurePosixPath(key) in tree:
            continue
        full = _safe_path(target, PurePosixPath(key))
        disk = _read(full)
        if disk == "\x00unreadable":  # not text: maybe a binary file we wrote (an older aispec wheel)
            disk = _read_like(full, b"")
        if disk is None:
            continue
        if sha256(disk) == base:
            changes.append(Change(key, "delete", "no longer generated", _diff(key, disk, None)))
        else:
            changes.append(Change(key, "keep", "no longer generated, but you edited it: it is yours now"))
    if any(c.action == "conflict" for c in changes):
        changes = [_stopped(c) if c.action == "markers" else c for c in changes]  # the build stops: nothing is marked
    changes.sort(key=lambda c: c.path)
    return WritePlan(target, tuple(changes), manifest, tuple(_diagnostic(target, c) for c in changes if c.code), tree)


def _stopped(change: Change) -> Change:
    return replace(change, action="conflict", content=None, overwrites_edit=False, code="AIS501")


_HINTS = {
    "AIS501": "merge your change into the spec or the new file, or rebuild with --force "
              "(your version is saved under .aispec/backup/)",
    "AIS504": "edit the file: keep what you want between <<<<<<< and >>>>>>>, delete the markers, then rebuild; "
              "--on-conflict stop stops the build instead of writing markers",
    "AIS505": "resolve the conflict (your version from before it is under .aispec/backup/), or rebuild with "
              "--force to regenerate the file (the marked file is saved under .aispec/backup/)",
}


def _diagnostic(target: Path, change: Change) -> Diagnostic:
    message = f"{change.path}: {change.reason}"
    if change.action == "markers":
        message += f": the file gets conflict markers, and your version is saved as {change.backup}"
    return make(change.code, message, file=str(target / change.path), hint=_HINTS[change.code])


def apply(plan: WritePlan) -> None:
    """Carry out a WritePlan with no conflicts. All or nothing."""
    if plan.conflicts:
        raise ValueError("cannot apply a plan with conflicts")  # callers check; a bug otherwise
    target = plan.target
    if not target.exists() or (target.is_dir() and not any(target.iterdir())):
        _first_build(plan)
        return
    _rebuild(plan)


def _first_build(plan: WritePlan) -> None:
    target = plan.target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.aispec-", dir=target.parent))
    try:
        for path, text in plan.tree.items():
            full = _safe_path(staging, path)
            full.parent.mkdir(parents=True, exist_ok=True)
            _write(full, text)
        for path, text in plan.tree.items():
            if isinstance(text, bytes):
                continue
            base = _safe_path(staging, BASE / path)
            base.parent.mkdir(parents=True, exist_ok=True)
            base.write_text(text, encoding="utf-8")
        manifest = _safe_path(staging, MANIFEST)
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(plan.manifest.to_json(), encoding="utf-8")
        if target.exists():
            target.rmdir()  # empty, checked by the caller
        mask = os.umask(0)
        os.umask(mask)
        staging.chmod(0o777 & ~mask)  # mkdtemp makes it private; a project folder is not
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _rebuild(plan: WritePlan) -> None:
    target = plan.target
    work = target / ".aispec" / "staging"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    replaced: list[tuple[Path, Path | None]] = []  # (live path, saved old copy or None if it did not exist)
    try:
        for number, change in enumerate(plan.changes):
            if change.action not in ("add", "update", "merge", "markers", "delete"):
                continue
            live = _safe_path(target, PurePosixPath(change.path))
            saved: Path | None = None
            if live.exists():
                saved = work / f"old-{number}"
                if change.overwrites_edit:
                    _backup(plan, change, live)
                os.replace(live, saved)
            replaced.append((live, saved))
            if change.action == "delete":
                continue
            fresh = work / f"new-{number}"
            text = change.content if change.content is not None else plan.tree[PurePosixPath(change.path)]
            _write(fresh, text)
            live.parent.mkdir(parents=True, exist_ok=True)
            os.replace(fresh, live)
        _write_bases(plan, work, replaced)
        manifest = _safe_path(target, MANIFEST)
        fresh = work / "manifest.json"
        fresh.write_text(plan.manifest.to_json(), encoding="utf-8")
        os.replace(fresh, manifest)
    except BaseException:
        for live, saved in reversed(replaced):
            if saved is not None:
                os.replace(saved, live)
            elif live.exists():
                live.unlink()
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _write_bases(plan: WritePlan, work: Path, replaced: list[tuple[Path, Path | None]]) -> None:
    """Keep this build's generated text of every file as the base of the next merge."""
    for number, (path, text) in enumerate(plan.tree.items()):
        if isinstance(text, bytes):
            continue
        base = _safe_path(plan.target, BASE / path)
        if _read(base) == text:
            continue
        base.parent.mkdir(parents=True, exist_ok=True)
        saved: Path | None = None
        if base.exists():
            saved = work / f"base-{number}"
            os.replace(base, saved)
        replaced.append((base, saved))
        fresh = work / f"base-new-{number}"
        fresh.write_text(text, encoding="utf-8")
        os.replace(fresh, base)


def _backup(plan: WritePlan, change: Change, live: Path) -> None:
    """Keep the user's version of a file before replacing it (--force, conflict markers): nothing is lost.

    An older backup of the same file with other content is kept too, renamed ``<name>.~N~``: a
    second conflict, or --force on a file with markers, must not replace the version from before
    the first one.
    """
    backup = _safe_path(plan.target, BACKUP / change.path)
    backup.parent.mkdir(parents=True, exist_ok=True)
    if backup.exists() and backup.read_bytes() != live.read_bytes():
        number = 1
        while (older := backup.with_name(f"{backup.name}.~{number}~")).exists():
            number += 1
        backup.rename(older)
    shutil.copy2(live, backup)
