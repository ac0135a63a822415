"""Writing a rendered project: the only stage with I/O.

- Every path stays inside the target directory (no absolute paths, no '..', no
  symlink that leads out).
- A manifest (`.aispec/manifest.json`) records the aispec version, the spec hash
  and the hash of every generated file, so a rebuild knows which files the user
  edited: an edited file whose generated text did not change is kept; one whose
  generated text changed is a conflict, reported by name, and overwritten only
  with ``force`` (the user's version is first saved under `.aispec/backup/`).
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
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from .codes import make
from .diagnostics import Diagnostic
from .render import RenderedTree

MANIFEST = PurePosixPath(".aispec/manifest.json")
BACKUP = PurePosixPath(".aispec/backup")
MANIFEST_FORMAT = 1

Action = Literal["add", "update", "merge", "delete", "unchanged", "keep", "conflict"]
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
    content: str | None = None  # what a "merge" writes (the user's edits on the new generated text)
    overwrites_edit: bool = False  # --force replaces a file the user wrote or edited: back it up first


@dataclass(frozen=True)
class WritePlan:
    target: Path
    changes: tuple[Change, ...]
    manifest: Manifest
    diagnostics: tuple[Diagnostic, ...] = ()
    tree: RenderedTree = field(default_factory=dict)

    @property
    def conflicts(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action == "conflict")


def _safe_path(target: Path, path: PurePosixPath) -> Path:
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(f"refusing to write outside the project: {path}")
    full = target / Path(*path.parts)
    root = target.resolve()
    if not str(full.resolve()).startswith(str(root) + os.sep):
        raise ValueError(f"refusing to write outside the project (through a link?): {path}")
    return full


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return "\x00unreadable"


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


def _merge(target: Path, path: PurePosixPath, base_hash: str, ours: str, theirs: str) -> str | None:
    from .merge import merge3

    base = _read(_safe_path(target, BASE / path))
    if base is None or sha256(base) != base_hash:
        return None  # no trustworthy base: never guess
    return merge3(base, ours, theirs)


def plan_write(tree: RenderedTree, target: Path, *, spec_hash: str, aispec_version: str,
               force: bool = False) -> WritePlan:
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
            else:
                action: Action = "update" if force else "conflict"
                changes.append(Change(key, action, "you deleted it, and the generated text changed",
                                      _diff(key, None, text)))
            continue
        current = sha256(disk)
        if current == new:
            changes.append(Change(key, "unchanged"))
        elif base is None:
            action = "update" if force else "conflict"
            changes.append(Change(key, action, "the file exists and was not written by aispec", _diff(key, disk, text),
                                  overwrites_edit=force))
        elif current == base:
            changes.append(Change(key, "update", diff=_diff(key, disk, text)))
        elif new == base:
            changes.append(Change(key, "keep", "you edited it; the generated text did not change"))
        else:
            merged = _merge(target, path, base, disk, text) if isinstance(disk, str) and isinstance(text, str) else None
            if merged is not None and not force:
                changes.append(Change(key, "merge", "your edits, merged into the new generated text",
                                      _diff(key, disk, merged), merged))
                continue
            action = "update" if force else "conflict"
            changes.append(Change(key, action, "you edited it, and the generated text changed in the same place",
                                  _diff(key, disk, text), overwrites_edit=force))
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
    diags = tuple(
        make("AIS501", f"{c.path}: {c.reason}", file=str(target / c.path),
             hint="merge your change into the spec or the new file, or rebuild with --force "
                  "(your version is saved under .aispec/backup/)")
        for c in changes if c.action == "conflict"
    )
    return WritePlan(target, tuple(sorted(changes, key=lambda c: c.path)), manifest, diags, tree)


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
            if change.action not in ("add", "update", "merge", "delete"):
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
    """Under --force, keep the user's version of a file it overwrites: nothing is lost."""
    backup = _safe_path(plan.target, BACKUP / change.path)
    backup.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(live, backup)
