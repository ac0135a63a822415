"""ruff and mypy stay clean on the product code (compiler/, schemas/, runtime/)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("compiler", "schemas", "runtime", "ui")


def test_ruff_is_clean() -> None:
    # ruff is a dev extra: next to this interpreter in a venv, else on PATH
    local = Path(sys.executable).parent / "ruff"
    ruff = str(local) if local.exists() else shutil.which("ruff")
    assert ruff is not None, "install the dev extra: pip install '.[dev]'"
    proc = subprocess.run([ruff, "check", *PACKAGES], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_mypy_strict_is_clean(tmp_path: Path) -> None:
    # The source folders install as aispec.<name>; mypy cannot follow setuptools' editable
    # finder, so give it the same layout through symlinks.
    ns = tmp_path / "aispec"
    ns.mkdir()
    for name in PACKAGES:
        os.symlink(ROOT / name, ns / name)
    args = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
            "--cache-dir", str(tmp_path / ".mypy_cache")]
    for name in PACKAGES:
        args += ["-p", f"aispec.{name}"]
    proc = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
