"""`aispec build` and `aispec plan`: check → plan → render → write, as one call."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .api import CheckResult, check_file
from .codes import make
from .diagnostics import Diagnostic, has_errors
from .plan import Plan, build_plan
from .render import RenderedTree, render
from .version import VERSION
from .writer import OnConflict, WritePlan, apply, plan_write


@dataclass(frozen=True)
class BuildResult:
    check: CheckResult
    plan: Plan | None
    tree: RenderedTree | None
    write_plan: WritePlan | None
    diagnostics: tuple[Diagnostic, ...]
    written: bool = False

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def default_output(result: CheckResult) -> Path:
    name = result.spec.project.name if result.spec is not None else "project"
    return Path(name)


def build(spec: str | Path, out: Path | None = None, *, force: bool = False,
          dry_run: bool = False, on_conflict: OnConflict = "markers") -> BuildResult:
    """Build the project for ``spec`` into ``out`` (default: ./<project name>).

    A rebuild merges the user's edits into the new generated files. Where they conflict,
    ``on_conflict="markers"`` writes the file with conflict markers (AIS504, after saving the
    user's version under .aispec/backup/) and "stop" writes nothing (AIS501); either way the result
    is not ``ok``. ``force`` regenerates every edited file, after the same backup.
    """
    checked = check_file(spec)
    if not checked.ok:
        return BuildResult(checked, None, None, None, checked.diagnostics)
    target = out if out is not None else default_output(checked)
    if target.exists() and not target.is_dir():
        diag = make("AIS502", f"{target} exists and is not a directory", file=str(target),
                    hint="choose another output with --out")
        return BuildResult(checked, None, None, None, (*checked.diagnostics, diag))
    plan, diags = build_plan(checked, target)
    if plan is None:
        return BuildResult(checked, None, None, None, diags)
    try:
        tree = render(plan)
    except Exception as exc:  # a template bug: report it, never a half-written project
        if os.environ.get("AISPEC_DEBUG"):
            raise
        diag = make("AIS490", f"rendering failed: {type(exc).__name__}: {exc}", file=str(spec),
                    hint="this is a bug in aispec; --debug shows the traceback")
        return BuildResult(checked, plan, None, None, (*diags, diag))
    try:
        write_plan = plan_write(tree, target, spec_hash=plan.spec_hash, aispec_version=VERSION, force=force,
                                on_conflict=on_conflict)
    except ValueError as exc:
        diag = make("AIS502", str(exc), file=str(target))
        return BuildResult(checked, plan, tree, None, (*diags, diag))
    all_diags = (*diags, *write_plan.diagnostics)
    if dry_run or write_plan.conflicts:  # files written with conflict markers do not stop the build
        return BuildResult(checked, plan, tree, write_plan, all_diags)
    try:
        apply(write_plan)
    except OSError as exc:
        diag = make("AIS503", f"writing {target} failed: {exc.strerror or exc}; the old project is unchanged",
                    file=str(target))
        return BuildResult(checked, plan, tree, write_plan, (*all_diags, diag))
    return BuildResult(checked, plan, tree, write_plan, all_diags, written=True)
