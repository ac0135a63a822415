"""Building, running and packaging a spec's project from the editor, through the same functions as
``aispec build`` and ``aispec run``; never a second implementation.

A build writes the project folder with the compiler's writer, which replaces it atomically (a failed
build leaves the last good project as it was). A run never trains in that folder: it copies the
project beside it (``.<name>.run``: same depth, so the spec's relative data path still reaches the
data), builds there, trains there as a background job, and only a run that passed every gate
replaces the project. A failed, cancelled or gate-failing run leaves the last good project alone.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aispec.compiler.build import BuildResult, build

from . import jobs

_SKIP_DIRS = {"__pycache__", ".venv", ".pytest_cache", ".ruff_cache", ".mypy_cache"}


def build_project(spec: Path, out: Path) -> BuildResult:
    """``aispec build SPEC -o OUT``: merges the user's edits into the new generated files."""
    return build(spec, out)


def files(project: Path) -> list[str]:
    """The project's files (posix paths), generated code first, without caches and virtual environments."""
    found = []
    for path in project.rglob("*"):
        rel = path.relative_to(project)
        if path.is_file() and not (set(rel.parts) & _SKIP_DIRS):
            found.append(rel)
    # aispec's own records (.aispec/) and other hidden files after the project's files
    found.sort(key=lambda rel: (any(part.startswith(".") for part in rel.parts), rel.as_posix()))
    return [rel.as_posix() for rel in found]


def zip_bytes(project: Path) -> bytes:
    """The project as a zip under a folder of its name; the same files give the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel in files(project):
            info = zipfile.ZipInfo(f"{project.name}/{rel}", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (project / rel).read_bytes())
    return buffer.getvalue()


# ------------------------------------------------------------------------------ runs


@dataclass
class Run:
    """One training run from the editor: staged beside the project, promoted when every gate passed."""

    project: Path  # the last good project
    staging: Path
    package: str
    job: jobs.Job
    promoted: bool = False
    outcome: str = ""  # a sentence for the user once the job ended

    def finish(self) -> None:
        """Once the job ended: promote a run whose gates all passed, or say why the project was kept."""
        code = self.job.returncode
        if code is None or self.outcome:
            return
        if code == 0:
            promote(self.staging, self.project)
            self.promoted = True
            self.outcome = f"every gate passed: {self.project.name}/ is now this trained project"
        elif self.job.stopped:
            self.outcome = (f"stopped ({self.job.stopped}) after {self.job.elapsed:.0f} s; "
                            f"the last good project {self.project.name}/ is unchanged")
        elif code == 1:
            self.outcome = f"a gate failed; the last good project {self.project.name}/ is unchanged"
        else:
            self.outcome = (f"the run failed (exit {code}); the last good project {self.project.name}/ is "
                            "unchanged")

    @property
    def folder(self) -> Path:
        """Where this run's results are to be read."""
        return self.project if self.promoted else self.staging


def stage(project: Path) -> Path:
    """A fresh copy of the project beside it (or an empty folder when there is none yet)."""
    staging = project.with_name(f".{project.name}.run")
    if staging.exists():
        shutil.rmtree(staging)
    if project.is_dir():
        shutil.copytree(project, staging, symlinks=True,
                        ignore=shutil.ignore_patterns(*_SKIP_DIRS))
    else:
        staging.mkdir(parents=True)
    return staging


def promote(staging: Path, project: Path) -> None:
    """Put the staged run in the project's place: two renames, the old project removed after."""
    old = project.with_name(f".{project.name}.previous")
    if old.exists():
        shutil.rmtree(old)
    if project.exists():
        os.replace(project, old)
    os.replace(staging, project)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def start_run(spec: Path, project: Path, *, limits: jobs.Limits) -> tuple[Run | None, BuildResult]:
    """Build the spec into a staged copy of ``project`` and start training there (``python -m <package>``,
    as ``aispec run`` does). Returns no run when the build failed (nothing else was touched)."""
    staging = stage(project)
    result = build(spec, staging)
    if not result.ok or result.plan is None:
        shutil.rmtree(staging, ignore_errors=True)
        return None, result
    from aispec.compiler.run import missing_libraries

    backend = result.plan.spec.model.backend
    missing = missing_libraries(backend.value if backend is not None else "sklearn")
    if missing:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(f"missing libraries: {', '.join(missing)}; install them with "
                           "pip install 'aispec[ui]'")
    env = dict(os.environ, AISPEC_SPEC_PATH=str(spec))
    job = jobs.start("run", [jobs.python(), "-m", result.plan.package], cwd=staging,
                     log=staging.with_name(f".{project.name}.run.log"), limits=limits, env=env)
    return Run(project, staging, result.plan.package, job), result


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class Results:
    """What a finished run wrote under artifacts/ (any part may be missing)."""

    metrics: dict[str, Any] | None
    report: Path | None
    model_card: str | None
    datasheet: str | None
    plots: list[Path]

    @property
    def gates(self) -> list[dict[str, Any]]:
        return list(((self.metrics or {}).get("gates") or {}).get("gates") or [])

    @property
    def passed(self) -> bool | None:
        gates = (self.metrics or {}).get("gates") or {}
        return gates.get("passed") if isinstance(gates, dict) else None


def results(project: Path) -> Results:
    artifacts = project / "artifacts"

    def text(name: str) -> str | None:
        path = artifacts / name
        return path.read_text(encoding="utf-8") if path.is_file() else None

    raw = text("metrics.json")
    metrics = json.loads(raw) if raw else None
    report = artifacts / "report.html"
    plots = sorted((artifacts / "plots").glob("*.png")) if (artifacts / "plots").is_dir() else []
    return Results(metrics, report if report.is_file() else None, text("model_card.md"), text("datasheet.md"), plots)


def steps(log: str) -> list[tuple[str, str]]:
    """The training's steps from its plain output (``→ name`` starts one, ``✓ name in 1.2 s`` ends it):
    (name, "done" | "running" | "failed"), in order."""
    out: dict[str, str] = {}
    for line in log.splitlines():
        for mark, status in (("→ ", "running"), ("-> ", "running"), ("✓ ", "done"), ("ok ", "done"),
                             ("✗ ", "failed"), ("FAILED ", "failed")):
            if line.startswith(mark):
                name = line[len(mark):]
                name = name.rsplit(" in ", 1)[0] if status == "done" else name.rsplit(" failed", 1)[0]
                out[name.strip()] = status
                break
    return list(out.items())
