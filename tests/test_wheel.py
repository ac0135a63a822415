"""The aispec wheel a generated project installs from: valid, complete and byte-reproducible."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from aispec.compiler import wheel
from aispec.compiler.version import VERSION

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_FOLDERS = ("compiler", "schemas", "templates", "specs", "runtime", "ui")


def _checkout(dest: Path, mtime: int) -> Path:
    """A copy of the source tree's packaged parts at another path, every file stamped ``mtime``."""
    dest.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    for folder in PACKAGE_FOLDERS:
        shutil.copytree(ROOT / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for path in dest.rglob("*"):
        os.utime(path, (mtime, mtime))
    return dest


def _wheel_from(source: Path) -> bytes:
    return wheel.wheel_bytes(wheel.payload(wheel.running_distribution(), wheel.source_files(source)))


def test_two_checkouts_at_different_paths_and_times_give_identical_bytes(tmp_path: Path) -> None:
    a = _checkout(tmp_path / "one" / "aispec", 1_000_000_000)
    b = _checkout(tmp_path / "elsewhere" / "deeper" / "src", 1_700_000_000)
    first = _wheel_from(a)
    assert first == _wheel_from(b)
    assert first == _wheel_from(a)  # and building twice changes nothing


def test_the_wheel_is_well_formed(tmp_path: Path) -> None:
    name, data = wheel.aispec_wheel()
    assert name == f"aispec-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        info_dir = f"aispec-{VERSION}.dist-info"
        assert names[-1] == f"{info_dir}/RECORD"
        assert all(n.startswith(("aispec/", f"{info_dir}/")) for n in names)
        assert not any("__pycache__" in n or n.endswith((".pyc", "/")) for n in names)
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in infos)
        assert {info.external_attr >> 16 for info in infos} == {0o100644}
        record = list(csv.reader(io.StringIO(archive.read(f"{info_dir}/RECORD").decode())))
        assert sorted(row[0] for row in record) == sorted(names)
        for path, digest, size in record:
            if path.endswith("/RECORD"):
                assert digest == size == ""
                continue
            content = archive.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
            assert digest == f"sha256={expected}" and int(size) == len(content)
        metadata = archive.read(f"{info_dir}/METADATA").decode()
        wheel_file = archive.read(f"{info_dir}/WHEEL").decode()
        entry_points = archive.read(f"{info_dir}/entry_points.txt").decode()
    assert f"Name: aispec\nVersion: {VERSION}\n" in metadata
    # what the generated project imports, and what aispec itself needs to import it
    assert {"aispec/runtime/__init__.py", "aispec/schemas/vocabulary.py", "aispec/schemas/catalog.py",
            "aispec/runtime/serving/__main__.py", "aispec/compiler/lock/ci.lock"} <= set(names)
    for requirement in ("pydantic", "jinja2", "rich"):
        assert any(line.startswith(f"Requires-Dist: {requirement}") for line in metadata.splitlines())
    assert "Root-Is-Purelib: true" in wheel_file and "Tag: py3-none-any" in wheel_file
    assert "aispec = aispec.compiler.cli:main" in entry_points


def test_a_missing_source_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.setuptools]\npackages = ["aispec.gone"]\npackage-dir = {"aispec.gone" = "gone"}\n')
    with pytest.raises(wheel.WheelError, match=r"folder of package aispec\.gone is missing"):
        wheel.source_files(tmp_path)


def test_every_source_folder_with_python_is_a_declared_package() -> None:
    """A new subpackage left out of pyproject's explicit list works in an editable install and is missing
    from the real one (CI installs the wheel): every folder holding Python must be declared."""
    import tomllib
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    declared = {wheel._package_folder(package, config["package-dir"]) for package in config["packages"]}
    present = {path.parent.relative_to(ROOT).as_posix()
               for folder in PACKAGE_FOLDERS for path in (ROOT / folder).rglob("*.py")
               if "__pycache__" not in path.parts}
    assert present - declared == set()


@pytest.mark.slow
def test_same_files_as_setuptools_and_same_bytes_from_a_regular_install(tmp_path: Path) -> None:
    """Outside oracle: setuptools' own wheel of this source tree. Its package files are exactly ours, and
    a regular install of it (what CI has) repacks to the very bytes this install (editable for a
    developer) does."""
    built = tmp_path / "built"
    source = _checkout(tmp_path / "checkout", 1_600_000_000)  # a copy: setuptools leaves build/ behind
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(built), str(source)],
                   check=True, timeout=600, capture_output=True)
    [reference] = built.glob("aispec-*.whl")
    _, ours = wheel.aispec_wheel()
    with zipfile.ZipFile(reference) as theirs, zipfile.ZipFile(io.BytesIO(ours)) as mine:
        def files(archive: zipfile.ZipFile) -> dict[str, bytes]:
            return {n: archive.read(n) for n in archive.namelist() if ".dist-info/" not in n}
        assert files(mine) == files(theirs)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "-q", "--target",
                    str(target), str(reference)], check=True, timeout=600, capture_output=True)
    probe = ("import sys, aispec.compiler.wheel as w; n, b = w.aispec_wheel(); "
             "sys.stdout.write(w.__file__ + '\\n'); open(sys.argv[1], 'wb').write(b)")
    out = tmp_path / "repacked.whl"
    run = subprocess.run([sys.executable, "-c", probe, str(out)], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(target)}, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(target / "aispec" / "compiler" / "wheel.py")  # really the regular install
    assert out.read_bytes() == ours
