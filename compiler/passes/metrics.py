"""Metric rules: names exist, fit the task, are computed before they are gated on."""

from __future__ import annotations

from collections.abc import Iterator

from aispec.schemas.expressions import Criterion
from aispec.schemas.vocabulary import (
    CLASSIFICATION_TASKS,
    DEFAULT_PRIMARY,
    DEFAULT_REPORT,
    METRICS,
    UNSUPERVISED_TASKS,
    Metric,
)

from ..diagnostics import Diagnostic, choices_hint
from ..source import Loc
from .context import Context

# Metrics whose value cannot exceed 1 (so `>= 1.5` can never hold).
_AT_MOST_ONE = {
    "accuracy", "balanced_accuracy", "precision", "recall", "f1", "precision_macro", "recall_macro", "f1_macro",
    "f1_weighted", "f1_micro", "roc_auc", "roc_auc_ovr", "average_precision", "mcc", "cohen_kappa", "brier", "r2",
    "explained_variance", "silhouette", "adjusted_rand", "nmi", "anomaly_rate", "precision_at_contamination",
    "demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference",
    "equalized_odds_ratio",
}


def _n_classes(ctx: Context) -> int | None:
    target = ctx.spec.problem.target
    cols = ctx.spec.data.columns or {}
    if target in cols and cols[target].allowed is not None:
        return len(cols[target].allowed or [])
    if ctx.dataset is not None and target == ctx.dataset.default_target:
        return ctx.dataset.n_classes
    return None


def computed_metrics(ctx: Context) -> set[str]:
    """Metrics a run computes: the primary, the reported ones, and operational ones (always measured)."""
    m = ctx.spec.metrics
    task = ctx.spec.problem.task
    names = set(m.report if m.report is not None else DEFAULT_REPORT[task])
    names.add(m.primary or DEFAULT_PRIMARY[task])
    names |= {n for n, info in METRICS.items() if info.kind == "operational"}
    if ctx.spec.compliance.sensitive:
        names |= {n for n, info in METRICS.items() if info.kind == "fairness" and task in info.tasks}
    return names


def _named(ctx: Context, name: str, loc: Loc) -> tuple[Metric | None, Diagnostic | None]:
    """The metric called ``name``, or the diagnostic that says why it cannot be used here."""
    task = ctx.spec.problem.task
    info = METRICS.get(name)
    if info is None:
        fitting = [n for n, i in METRICS.items() if task in i.tasks]
        return None, ctx.report("AIS360", f"unknown metric '{name}'", loc, choices_hint(name, fitting))
    if task not in info.tasks:
        fitting = sorted(n for n, i in METRICS.items() if task in i.tasks and i.kind == "quality")
        return None, ctx.report("AIS361", f"metric '{name}' does not apply to task '{task.value}'", loc,
                                f"metrics for {task.value}: {', '.join(fitting)}")
    n_classes = _n_classes(ctx)
    if info.needs == "binary" and n_classes is not None and n_classes > 2:
        variants = [f"'{v}'" for v in (f"{name}_macro", f"{name}_weighted") if v in METRICS]
        hint = f"use {' or '.join(variants)}" if variants else "use a multiclass metric such as 'log_loss'"
        return None, ctx.report("AIS363", f"'{name}' is a binary metric and '{ctx.spec.problem.target}' has "
                                          f"{n_classes} classes", loc, hint)
    if info.needs == "target" and task in UNSUPERVISED_TASKS and ctx.spec.problem.target is None:
        return None, ctx.report("AIS366", f"'{name}' compares with true labels, and problem.target is not set",
                                loc, "set problem.target to a label column used only for evaluation")
    return info, None


def _needs_positive_class(ctx: Context, info: Metric) -> bool:
    """A metric about one class of a binary problem, with no class named: which one it measures would be
    an accident of sort order."""
    spec = ctx.spec
    if spec.problem.positive_class is not None or spec.problem.task not in CLASSIFICATION_TASKS:
        return False
    if info.needs == "binary":
        return True
    return info.name == "average_precision" and _n_classes(ctx) == 2


def _positive_class_hint(ctx: Context) -> str:
    target = ctx.spec.problem.target
    cols = ctx.spec.data.columns or {}
    if ctx.dataset is not None and target == ctx.dataset.default_target and ctx.dataset.class_counts:
        label, count = min(ctx.dataset.class_counts, key=lambda lc: (lc[1], lc[0]))
        total = sum(c for _, c in ctx.dataset.class_counts)
        return (f"set problem.positive_class: {label} (the rarer class, {count} of {total} rows), or the class "
                "the metric is about")
    if target in cols and cols[target].allowed:
        shown = ", ".join(str(a) for a in cols[target].allowed or [])
        return f"set problem.positive_class to the class the metric is about, one of: {shown}"
    return "set problem.positive_class to the class the metric is about (usually the rarer one)"


def _positive_class_diag(ctx: Context, info: Metric, loc: Loc) -> Diagnostic:
    return ctx.report("AIS367", f"'{info.name}' measures one class, and problem.positive_class does not say which",
                      loc, _positive_class_hint(ctx))


def _check_criterion(ctx: Context, crit: Criterion, loc: Loc, info: Metric) -> Iterator[Diagnostic]:
    if info.name in _AT_MOST_ONE and crit.value > 1 and crit.op in (">=", ">", "=="):
        yield ctx.report("AIS364", f"'{crit}' can never hold: {info.name} is at most 1", loc,
                         f"write a fraction such as {crit.value / 100:g}, or {crit.value:g}%")
    elif info.higher_is_better and crit.op in ("<=", "<"):
        yield ctx.report("AIS365", f"'{crit}' caps a metric where higher is better", loc,
                         f"did you mean '{info.name} >= {crit.value:g}'?")
    elif not info.higher_is_better and crit.op in (">=", ">"):
        yield ctx.report("AIS365", f"'{crit}' sets a floor on a metric where lower is better", loc,
                         f"did you mean '{info.name} <= {crit.value:g}'?")


def check_metrics(ctx: Context) -> Iterator[Diagnostic]:
    m = ctx.spec.metrics
    if m.primary is not None:
        info, diag = _named(ctx, m.primary, ("metrics", "primary"))
        if diag:
            yield diag
        elif info is not None and info.kind != "quality":
            yield ctx.report("AIS361", f"'{m.primary}' is not a quality metric and cannot be optimised",
                             ("metrics", "primary"), f"use e.g. '{DEFAULT_PRIMARY[ctx.spec.problem.task]}'")
        elif info is not None and _needs_positive_class(ctx, info):
            yield _positive_class_diag(ctx, info, ("metrics", "primary"))
    for i, name in enumerate(m.report or []):
        info, diag = _named(ctx, name, ("metrics", "report", i))
        if diag:
            yield diag
        elif info is not None and _needs_positive_class(ctx, info):
            yield _positive_class_diag(ctx, info, ("metrics", "report", i))
    computed = computed_metrics(ctx)
    for i, crit in enumerate(m.acceptance):
        loc = ("metrics", "acceptance", i)
        info, diag = _named(ctx, crit.metric, loc)
        if diag:
            yield diag
            continue
        assert info is not None
        if info.kind == "fairness":
            if not ctx.spec.compliance.sensitive:
                yield ctx.report("AIS395", f"fairness criterion '{crit}' needs a sensitive attribute", loc,
                                 "list the attribute under compliance.sensitive")
                continue
        elif crit.metric not in computed:
            yield ctx.report("AIS362", f"acceptance criterion on '{crit.metric}', which is not computed", loc,
                             f"add '{crit.metric}' to metrics.report")
            continue
        elif _needs_positive_class(ctx, info) and crit.metric not in (m.report or []) and crit.metric != m.primary:
            yield _positive_class_diag(ctx, info, loc)
        yield from _check_criterion(ctx, crit, loc, info)


def check_fairness(ctx: Context) -> Iterator[Diagnostic]:
    comp = ctx.spec.compliance
    if comp.fairness and not comp.sensitive:
        yield ctx.report("AIS395", "fairness criteria are given but no sensitive attribute",
                         ("compliance", "fairness"), "list the attributes under compliance.sensitive, e.g. [sex]",
                         key=True)
    for i, crit in enumerate(comp.fairness):
        loc = ("compliance", "fairness", i)
        info, diag = _named(ctx, crit.metric, loc)
        if diag:
            yield diag
            continue
        assert info is not None
        if info.kind != "fairness":
            fair = sorted(n for n, i2 in METRICS.items() if i2.kind == "fairness")
            yield ctx.report("AIS396", f"'{crit.metric}' is not a fairness metric", loc,
                             f"fairness metrics: {', '.join(fair)}; put quality gates under metrics.acceptance")
            continue
        yield from _check_criterion(ctx, crit, loc, info)
