"""Forecasting rules: what a forecasting spec writes that has no effect on a series (AIS305)."""

from __future__ import annotations

from collections.abc import Iterator

from aispec.schemas.vocabulary import Task

from ..diagnostics import Diagnostic
from .context import Context

# families that do not read lags: their own state, or one value / one season back
_NO_LAGS = frozenset({"ets", "arima", "naive", "seasonal_naive"})
_CLEANING = ("impute", "outliers", "encoding", "max_categories", "imbalance")


def check_series(ctx: Context) -> Iterator[Diagnostic]:
    spec = ctx.spec
    if spec.problem.task is not Task.forecasting:
        return
    if spec.data.features:
        yield ctx.report("AIS305", "a forecast reads only the series' own history: data.features are not model "
                                   "inputs", ("data", "features"), "remove data.features (exogenous regressors are "
                                                                  "not built)", key=True)
    for name in _CLEANING:
        if name == "outliers" and spec.data.cleaning.outliers.method == "none":
            continue
        if ctx.written(("data", "cleaning", name)):
            yield ctx.report("AIS305", f"data.cleaning.{name} has no effect on a forecast: the series' gaps are filled "
                                       "by linear interpolation on its time grid", ("data", "cleaning", name),
                             f"remove {name}", key=True)
    family = spec.model.family
    if family in _NO_LAGS and spec.model.ensemble is None:
        for name in ("lags", "multi_step"):
            if ctx.written(("problem", name)):
                yield ctx.report("AIS305", f"'{family}' does not read problem.{name}: it forecasts from its own state",
                                 ("problem", name), f"remove {name}, or use a lag model (ridge, ...)", key=True)
