"""What is tested is what is pinned: the lock CI installs from, pyproject's ranges and the versions
generated projects pin agree. Requirements are read with `packaging`, not with aispec's own parser."""

from __future__ import annotations

import os
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from aispec.compiler.build import build
from aispec.compiler.codes import BASE_EXAMPLE
from aispec.compiler.version import VERSION

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "compiler" / "lock" / "ci.lock"
EXAMPLES = ROOT / "specs" / "examples"
ENV = {"python_version": "3.11", "sys_platform": "linux", "platform_system": "Linux",
       "platform_python_implementation": "CPython", "implementation_name": "cpython"}


def _lock() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            req = Requirement(text)
            [spec] = req.specifier
            assert spec.operator == "==", line
            pins[canonicalize_name(req.name)] = spec.version
    return pins


def _pinned(path: Path) -> dict[str, str]:
    """{name: version} of every `name==version` line of a requirements file."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith(("#", "-")):
            req = Requirement(line)
            specs = list(req.specifier)
            if len(specs) == 1 and specs[0].operator == "==":
                out[canonicalize_name(req.name)] = specs[0].version
    return out


def _pyproject_requirements() -> dict[str, list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"": project["dependencies"], **project["optional-dependencies"]}
    return {group: [Requirement(r) for r in reqs] for group, reqs in groups.items()}


def test_generated_projects_pin_exactly_the_locked_versions(tmp_path: Path) -> None:
    lock = _lock()
    sql = tmp_path / "sql.yaml"
    sql_spec = BASE_EXAMPLE.replace("    kind: bundled\n    name: palmerpenguins\n",
                                    "    kind: sql\n    url: sqlite:///db.sqlite\n    table: penguins\n")
    assert "kind: sql" in sql_spec
    sql.write_text(sql_spec + "model:\n  family: random_forest\n")
    specs = [EXAMPLES / "penguins-classification.yaml", EXAMPLES / "breast-cancer-classification.yaml", sql]
    seen: set[str] = set()
    for number, spec in enumerate(specs):
        out = tmp_path / f"p{number}"
        assert build(spec, out).ok
        files = [out / "requirements.txt"] + ([out / "requirements-serve.txt"]
                                              if (out / "requirements-serve.txt").exists() else [])
        for path in files:
            pinned = _pinned(path)
            assert pinned.pop("aispec", VERSION) == VERSION  # the aispec that built it, from wheelhouse/
            for name, version in pinned.items():
                assert lock.get(name) == version, f"{path.name}: {name}=={version}, the lock has {lock.get(name)}"
                seen.add(name)
    # the SQL drivers, the serving parts and aispec's own dependencies are among what was checked
    assert {"sqlalchemy", "psycopg", "uvicorn", "httptools", "uvloop", "pydantic", "scikit-learn"} <= seen


def test_the_lock_satisfies_every_range_in_pyproject() -> None:
    """A bumped lower bound without a re-lock (or a hand-edited lock) fails here, not on a user's machine."""
    lock = _lock()
    for group, requirements in _pyproject_requirements().items():
        for req in requirements:
            name = canonicalize_name(req.name)
            if name == "aispec" or (req.marker is not None and not req.marker.evaluate({**ENV, "extra": group})):
                continue
            if group in ("torch", "keras"):  # not installed by CI, so not locked
                continue
            assert name in lock, f"{req} ({group or 'core'}) is not in {LOCK.name}: re-lock"
            assert req.specifier.contains(lock[name], prereleases=True), f"{name}=={lock[name]} breaks {req}"


def test_sql_drivers_are_their_own_extra_and_the_server_installs_only_what_it_uses() -> None:
    """What `pip install 'aispec[sklearn]'` and `'aispec[serve]'` bring, read from the installed metadata."""
    by_extra: dict[str, set[str]] = {}
    for line in metadata.requires("aispec") or []:
        req = Requirement(line)
        for extra in ("sklearn", "sql", "serve", "dev"):
            if req.marker is not None and req.marker.evaluate({**ENV, "extra": extra}):
                by_extra.setdefault(extra, set()).add(str(req).split(";")[0].replace(" ", ""))
    names = {extra: {canonicalize_name(Requirement(r).name) for r in reqs} for extra, reqs in by_extra.items()}
    assert not names["sklearn"] & {"sqlalchemy", "psycopg"}
    assert names["sql"] == {"sqlalchemy", "psycopg"}
    assert {"uvicorn", "httptools", "uvloop"} <= names["serve"]
    assert not any("[" in r for r in by_extra["serve"] if r.startswith("uvicorn"))  # not uvicorn[standard]
    assert any(r.startswith("aispec[") and "sql" in r for r in by_extra["dev"])  # CI's SQL tests keep their drivers


@pytest.mark.skipif(not os.environ.get("CI"), reason="a developer's environment may differ from the lock; "
                    "CI installs with it as constraints (pip install -c compiler/lock/ci.lock '.[dev]')")
def test_ci_runs_on_exactly_the_locked_versions() -> None:
    lock = _lock()
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    wrong = {name: (version, installed.get(name)) for name, version in lock.items() if installed.get(name) != version}
    assert not wrong, f"installed versions differ from {LOCK.name} (locked, installed): {wrong}"
