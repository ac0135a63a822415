"""The installed aispec, repacked as a byte-reproducible wheel.

A generated project imports ``aispec.runtime`` (and, through it, ``aispec.schemas``), and aispec is
on no package index: ``aispec build`` therefore puts the aispec it runs into the project's
``wheelhouse/`` and ``requirements.txt`` finds it there. ``aispec image wheelhouse`` uses the same
wheel for the serving image.

The wheel is the whole ``aispec`` distribution (compiler included: the project's ``make image`` and
``aispec serve`` use it), made from the files of the *installed* aispec — not from a build backend,
which would need the source tree, network access for its build requirements and seconds per build:

- a regular install (CI installs the built wheel): the files its ``RECORD`` lists under ``aispec/``;
- an editable install (developers): the files of the source tree it points at, chosen by the same
  ``[tool.setuptools]`` rules as setuptools (``package-dir``, ``packages``, ``package-data``), so
  both give the same files (a test compares them with ``pip wheel .``).

Determinism: entries sorted (``.dist-info`` last, ``RECORD`` at the very end), every timestamp
1980-01-01 00:00, mode 0644, deflate level 6, no directory entries; ``METADATA`` is written from the
installed distribution's name, version and requirements, never copied (no README, no build tool's
version). The same installed files therefore give the same bytes on any checkout path and with
either kind of install; only a different zlib could deflate differently.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import tomllib
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

DIST = "aispec"
TAG = "py3-none-any"
EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
FILE_MODE = 0o100644  # a regular file, rw-r--r--
LEVEL = 6  # zlib's default: level 9 took 1.7x as long for 0.3 % less


class WheelError(Exception):
    """The installed aispec cannot be repacked (not installed, or its source folder is gone)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Payload:
    """What goes into the wheel: core metadata fields and the package files (archive name → bytes)."""

    name: str
    version: str
    summary: str
    requires_python: str | None
    requires: tuple[str, ...]
    extras: tuple[str, ...]
    entry_points: tuple[tuple[str, str, str], ...]  # (group, name, value)
    files: Mapping[str, bytes]

    @property
    def wheel_name(self) -> str:
        return f"{self.name}-{self.version}-{TAG}.whl"

    @property
    def dist_info(self) -> str:
        return f"{self.name}-{self.version}.dist-info"


# ----------------------------------------------------------------------------- files


def _skipped(parts: Iterable[str]) -> bool:
    return any(part == "__pycache__" or part.endswith((".pyc", ".pyo")) for part in parts)


def source_files(root: Path) -> dict[str, bytes]:
    """The files setuptools puts in the wheel of the source tree at ``root`` (per its pyproject.toml)."""
    try:
        config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise WheelError(f"{root / 'pyproject.toml'}: cannot read [tool.setuptools] ({exc})") from exc
    package_dir: dict[str, str] = config.get("package-dir", {})
    package_data: dict[str, list[str]] = config.get("package-data", {})
    files: dict[str, bytes] = {}
    for package in config.get("packages", []):
        folder = root / _package_folder(package, package_dir)
        if not folder.is_dir():
            raise WheelError(f"{folder}: the folder of package {package} is missing")
        chosen = {p for p in folder.glob("*.py")}
        for pattern in package_data.get(package, []):
            chosen.update(p for p in folder.glob(pattern))
        prefix = PurePosixPath(*package.split("."))
        for path in chosen:
            relative = path.relative_to(folder)
            if path.is_file() and not _skipped(relative.parts):
                files[str(prefix / relative.as_posix())] = path.read_bytes()
    return files


def _package_folder(package: str, package_dir: Mapping[str, str]) -> str:
    """setuptools' rule: the longest mapped prefix of the dotted name, then one folder per part."""
    parts = package.split(".")
    for cut in range(len(parts), -1, -1):
        key = ".".join(parts[:cut])
        if key in package_dir:
            return str(PurePosixPath(package_dir[key], *parts[cut:]))
    return str(PurePosixPath(*parts))


def _editable_source(dist: metadata.Distribution) -> Path:
    raw = dist.read_text("direct_url.json")
    url = json.loads(raw) if raw else {}
    parsed = urlparse(str(url.get("url", "")))
    if parsed.scheme != "file":
        raise WheelError(f"the installed {DIST} lists no files and was not installed from a local folder",
                         "reinstall it: pip install aispec (or pip install -e . in its source tree)")
    folder = Path(unquote(parsed.path))
    if not (folder / "pyproject.toml").is_file():
        raise WheelError(f"{DIST} was installed (editable) from {folder}, which no longer holds its source",
                         "reinstall it from its source tree: pip install -e .")
    return folder


def installed_files(dist: metadata.Distribution) -> dict[str, bytes]:
    """The package files of the installed distribution, by archive name."""
    record = [f for f in dist.files or () if f.parts and f.parts[0] == DIST and not _skipped(f.parts)]
    if record:  # a regular install: RECORD names every file the wheel put there
        return {f.as_posix(): Path(str(dist.locate_file(f))).read_bytes() for f in record}
    return source_files(_editable_source(dist))  # an editable install: RECORD names only its finder


def _field(meta: metadata.PackageMetadata, key: str) -> str | None:
    values = meta.get_all(key)
    return str(values[0]) if values else None


def payload(dist: metadata.Distribution, files: Mapping[str, bytes] | None = None) -> Payload:
    """Metadata from ``dist``; files from ``files`` or else from where ``dist`` is installed."""
    meta = dist.metadata
    entry_points = tuple(sorted((ep.group, ep.name, ep.value) for ep in dist.entry_points))
    return Payload(
        name=str(meta["Name"]),
        version=dist.version,
        summary=_field(meta, "Summary") or "",
        requires_python=_field(meta, "Requires-Python"),
        requires=tuple(dist.requires or ()),
        extras=tuple(meta.get_all("Provides-Extra") or ()),
        entry_points=entry_points,
        files=dict(files) if files is not None else installed_files(dist),
    )


# ----------------------------------------------------------------------------- the zip


def _metadata_text(p: Payload) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {p.name}", f"Version: {p.version}"]
    if p.summary:
        lines.append(f"Summary: {p.summary}")
    if p.requires_python:
        lines.append(f"Requires-Python: {p.requires_python}")
    lines += [f"Provides-Extra: {extra}" for extra in p.extras]
    lines += [f"Requires-Dist: {req}" for req in p.requires]
    return "\n".join(lines) + "\n"


def _entry_points_text(p: Payload) -> str:
    out: list[str] = []
    for group in sorted({g for g, _, _ in p.entry_points}):
        out.append(f"[{group}]")
        out += [f"{name} = {value}" for g, name, value in p.entry_points if g == group]
        out.append("")
    return "\n".join(out)


def _wheel_text() -> str:
    return f"Wheel-Version: 1.0\nGenerator: aispec.compiler.wheel\nRoot-Is-Purelib: true\nTag: {TAG}\n"


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


def wheel_bytes(p: Payload) -> bytes:
    """The wheel of ``p``: the same payload always gives the same bytes."""
    entries = sorted(p.files.items())
    info = p.dist_info
    meta: list[tuple[str, bytes]] = [(f"{info}/METADATA", _metadata_text(p).encode()),
                                     (f"{info}/WHEEL", _wheel_text().encode())]
    if p.entry_points:
        meta.append((f"{info}/entry_points.txt", _entry_points_text(p).encode()))
    entries += meta
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for name, data in entries:
        writer.writerow((name, _record_hash(data), len(data)))
    writer.writerow((f"{info}/RECORD", "", ""))
    entries.append((f"{info}/RECORD", record.getvalue().encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            entry = zipfile.ZipInfo(name, date_time=EPOCH)
            entry.create_system = 3  # Unix, so the mode below is read as one
            entry.external_attr = FILE_MODE << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data, compresslevel=LEVEL)
    return buffer.getvalue()


def running_distribution() -> metadata.Distribution:
    """The installed distribution this very code runs from.

    Not simply ``metadata.distribution("aispec")``: run from a source tree, the current folder's
    ``aispec.egg-info`` (left there by any setuptools build) comes first on ``sys.path`` and lists
    source paths, not installed files. An installation has a ``RECORD``; the one that holds this
    module (regular install) or whose source folder does (editable install) is ours.
    """
    here = Path(__file__).resolve()
    for dist in metadata.distributions(name=DIST):
        if dist.read_text("RECORD") is None:
            continue
        mine = dist.locate_file(f"{DIST}/compiler/{here.name}")
        if Path(str(mine)).resolve() == here:
            return dist
        raw = dist.read_text("direct_url.json")
        url = urlparse(str(json.loads(raw).get("url", ""))) if raw else None
        if url is not None and url.scheme == "file" and here.is_relative_to(Path(unquote(url.path)).resolve()):
            return dist
    raise WheelError(f"the running {DIST} ({here.parent.parent}) is not an installed distribution, so it "
                     "cannot be packed for the project",
                     "install it: pip install -e . (in its source tree) or pip install aispec")


@cache
def aispec_wheel() -> tuple[str, bytes]:
    """(file name, bytes) of the running aispec's wheel; computed once per process."""
    p = payload(running_distribution())
    return p.wheel_name, wheel_bytes(p)
