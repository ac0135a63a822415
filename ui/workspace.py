"""The editor's workspace folder: safe upload names, atomic autosave with the last good version kept,
and a lock that tells a second browser tab on the same spec.

No Streamlit here: the page modules call this, and the tests call it directly.

Layout, under the folder ``aispec ui`` was started on::

    <spec>.yaml / <spec>.aispec      the user's specs (autosaved where the user chose)
    data/                            uploaded data files (only safe names, never outside the folder)
    <project name>/                  the last good built (and trained) project
    .aispec-ui/last-good/<spec>      the last version of each spec that checked without errors
    .aispec-ui/locks/<spec>.json     which browser session edits which spec
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

STATE_DIR = ".aispec-ui"
DATA_DIR = "data"
DATA_SUFFIXES = (".csv", ".parquet", ".jsonl")
SPEC_SUFFIXES = (".yaml", ".yml", ".aispec")
MAX_UPLOAD_MB = int(os.environ.get("AISPEC_UI_MAX_UPLOAD_MB", "200"))
LOCK_STALE_S = 20.0  # a lock not refreshed for this long belongs to a closed tab
CLAIM_REFRESH_S = 2.0  # a hold younger than this is not written again
_SAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


class WorkspaceError(ValueError):
    """Something the user asked for that the workspace refuses, with a message to show them."""


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def safe_name(name: str, suffixes: tuple[str, ...]) -> str:
    """A plain file name for ``name`` as a browser sent it: no folder part (``../``, ``C:\\``, ``/etc/``),
    no control or path characters, no leading dot, one of ``suffixes``. Raises WorkspaceError."""
    base = unicodedata.normalize("NFKC", name).replace("\\", "/").split("/")[-1]
    base = _SAFE_CHARS.sub("_", base).strip("._ ")
    stem, dot, suffix = base.rpartition(".")
    if not dot or not stem:
        raise WorkspaceError(f"{name!r} has no file type: upload a {', '.join(suffixes)} file")
    if f".{suffix.lower()}" not in suffixes:
        raise WorkspaceError(f"{name!r} is not a {', '.join(suffixes)} file")
    base = f"{stem[:120]}.{suffix.lower()}"
    if _WINDOWS_RESERVED.match(base):
        base = f"file_{base}"
    return base


def inside(root: Path, path: Path) -> bool:
    """Whether ``path`` (symbolic links followed) is inside ``root``."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write via a temporary file in the same folder and a rename: a reader sees the old or the new
    file, never half of one, and a crash leaves the old one. ``durable=False``: no fsync (for
    bookkeeping such as a tab's lock, which a crash may lose)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@dataclass(frozen=True)
class SaveResult:
    saved: bool
    message: str
    on_disk: str  # the digest of what the file now holds


@dataclass(frozen=True)
class Lock:
    session: str
    since: float
    heartbeat: float


class Workspace:
    """One folder the editor reads and writes in; nothing it writes is outside it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    # ---------------------------------------------------------------- paths

    @property
    def state(self) -> Path:
        return self.root / STATE_DIR

    @property
    def data(self) -> Path:
        return self.root / DATA_DIR

    def spec_path(self, name: str) -> Path:
        """The path of spec ``name`` (a file name in the workspace); refuses anything outside it."""
        path = self.root / safe_name(name, SPEC_SUFFIXES)
        if not inside(self.root, path):
            raise WorkspaceError(f"{name!r} is not inside the workspace {self.root}")
        return path

    def specs(self) -> list[Path]:
        return sorted(p for p in self.root.iterdir() if p.suffix in SPEC_SUFFIXES and p.is_file()
                      and not p.name.startswith("."))

    def project_dir(self, project_name: str) -> Path:
        path = self.root / project_name
        if not inside(self.root, path) or project_name.startswith("."):
            raise WorkspaceError(f"project {project_name!r} would be outside the workspace")
        return path

    # ---------------------------------------------------------------- uploads

    def save_upload(self, name: str, data: bytes, *, limit_mb: int = MAX_UPLOAD_MB) -> Path:
        """Store an uploaded data file under data/ with a safe name; the same content again reuses
        the file, other content under a taken name gets ``-1``, ``-2``, ... Raises WorkspaceError."""
        if len(data) > limit_mb * 1024 * 1024:
            raise WorkspaceError(too_large(name, len(data), limit_mb))
        safe = safe_name(name, DATA_SUFFIXES)
        stem, _, suffix = safe.rpartition(".")
        self.data.mkdir(parents=True, exist_ok=True)
        for n in range(1000):
            path = self.data / (safe if n == 0 else f"{stem}-{n}.{suffix}")
            if not inside(self.data, path) or path.is_symlink():
                raise WorkspaceError(f"{name!r} cannot be stored in {self.data}")
            if not path.exists():
                atomic_write(path, data)
                return path
            if path.is_file() and path.read_bytes() == data:
                return path
        raise WorkspaceError(f"too many files named like {safe} in {self.data}")

    # ---------------------------------------------------------------- autosave

    def last_good_path(self, spec: Path) -> Path:
        return self.state / "last-good" / spec.name

    def save(self, spec: Path, text: str, *, ok: bool, expected: str | None) -> SaveResult:
        """Autosave ``text`` to ``spec``, atomically. ``ok``: the text checked without errors; it then
        also becomes the last good version. ``expected``: the digest of what this tab last read or
        wrote; when the file holds something else (another program or tab changed it), nothing is
        written and the message says so."""
        if not inside(self.root, spec):
            raise WorkspaceError(f"{spec} is not inside the workspace {self.root}")
        current = spec.read_text(encoding="utf-8") if spec.exists() else None
        if current is not None and expected is not None and digest(current) != expected:
            return SaveResult(False, f"{spec.name} was changed outside this tab; not saved (reload it, or "
                                     "save your version under another name)", digest(current))
        if current == text:
            if ok:
                self._keep_good(spec, text)
            return SaveResult(True, "saved", digest(text))
        atomic_write(spec, text.encode("utf-8"))
        if ok:
            self._keep_good(spec, text)
        return SaveResult(True, "saved" if ok else "saved (with errors; the last good version is kept)",
                          digest(text))

    def _keep_good(self, spec: Path, text: str) -> None:
        good = self.last_good_path(spec)
        if not good.exists() or good.read_text(encoding="utf-8") != text:
            atomic_write(good, text.encode("utf-8"))

    def last_good(self, spec: Path) -> str | None:
        good = self.last_good_path(spec)
        return good.read_text(encoding="utf-8") if good.exists() else None

    # ---------------------------------------------------------------- tabs

    def _lock_path(self, spec: Path) -> Path:
        return self.state / "locks" / f"{spec.name}.json"

    def lock_owner(self, spec: Path, *, now: float | None = None) -> Lock | None:
        """The session that holds ``spec`` now (None: nobody, or a tab closed long enough ago)."""
        path = self._lock_path(spec)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            lock = Lock(str(data["session"]), float(data["since"]), float(data["heartbeat"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        now = time.time() if now is None else now
        return lock if now - lock.heartbeat < LOCK_STALE_S else None

    def claim(self, spec: Path, session: str, *, force: bool = False, now: float | None = None) -> Lock | None:
        """Hold ``spec`` for ``session`` (refreshing its heartbeat). Returns the other session's lock
        when another live tab holds it (and ``force`` is off); None when this session holds it now."""
        now = time.time() if now is None else now
        owner = self.lock_owner(spec, now=now)
        if owner is not None and owner.session != session and not force:
            return owner
        if owner is not None and owner.session == session and 0 <= now - owner.heartbeat < CLAIM_REFRESH_S:
            return None  # held, and refreshed a moment ago: no write (a keystroke claims too)
        since = owner.since if owner is not None and owner.session == session else now
        atomic_write(self._lock_path(spec), json.dumps({"session": session, "since": since,
                                                        "heartbeat": now}).encode("utf-8"), durable=False)
        return None

    def release(self, spec: Path, session: str) -> None:
        owner = self.lock_owner(spec)
        if owner is not None and owner.session == session:
            self._lock_path(spec).unlink(missing_ok=True)


def too_large(name: str, size: int, limit_mb: int) -> str:
    return (f"{name} is {size / 1024 / 1024:,.0f} MB; the editor takes uploads up to {limit_mb} MB. Copy a "
            f"larger file into the workspace's {DATA_DIR}/ folder yourself and pick it there (training reads it "
            "from disk), or upload a sample of it.")
