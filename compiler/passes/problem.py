"""Problem-level rules: what each task needs, and fields that belong to another task."""

from __future__ import annotations

from collections.abc import Iterator

from aispec.schemas.vocabulary import SUPERVISED_TASKS, TASK_FIELDS, Task

from ..diagnostics import Diagnostic
from .context import Context


def check_problem(ctx: Context) -> Iterator[Diagnostic]:
    problem = ctx.spec.problem
    task = problem.task
    if task in SUPERVISED_TASKS and problem.target is None:
        yield ctx.report("AIS301", f"task '{task.value}' needs a target column to learn from", ("problem",),
                         "add 'target: <column>' under 'problem'", key=True)
    for name, tasks in TASK_FIELDS.items():
        if getattr(problem, name) is not None and task not in tasks:
            owners = " or ".join(sorted(t.value for t in tasks))
            yield ctx.report("AIS302", f"'problem.{name}' applies to {owners}, not to '{task.value}'",
                             ("problem", name), f"remove '{name}', or change the task", key=True)
    if task is Task.forecasting:
        for name, example in (("time_column", "date"), ("horizon", "12"), ("frequency", "W")):
            if getattr(problem, name) is None:
                yield ctx.report("AIS303", f"forecasting needs 'problem.{name}'", ("problem",),
                                 f"add '{name}: {example}' under 'problem'", key=True)
    if task is Task.forecasting and problem.horizon is not None and ctx.dataset is not None \
            and problem.horizon > ctx.dataset.n_rows // 2:
        yield ctx.report("AIS304", f"a horizon of {problem.horizon} steps is more than half of the "
                                   f"{ctx.dataset.n_rows} observations of '{ctx.dataset.name}'",
                         ("problem", "horizon"), "forecast fewer steps ahead, or use a longer series")
