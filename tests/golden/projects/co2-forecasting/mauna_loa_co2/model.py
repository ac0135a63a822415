"""The model of mauna-loa-co2: ridge forecasts of the series, fitted on its training part."""

from __future__ import annotations

from typing import Any

from aispec.runtime.search import Choice, Distribution
from aispec.runtime.series.forecasters import Forecaster, make_forecaster

from mauna_loa_co2.config import BACKEND, SEED, SPEC
from mauna_loa_co2.features import SETTINGS

FAMILY = "ridge"
# Fixed hyperparameters (model.params); the search below overrides the ones it tunes.
PARAMS: dict[str, Any] = {"fit_intercept": True}

# model.search: grid, 30 trials, each scored by 3 rolling-origin backtests.
SEARCH_SPACE: dict[str, Distribution] = {
    "alpha": Choice(0.01, 0.1, 1.0, 10.0),
}


def build_pipeline(params: dict[str, Any] | None = None) -> Forecaster:
    """The forecaster with PARAMS, overridden by ``params`` (e.g. from the search)."""
    return make_forecaster(
        FAMILY,
        settings=SETTINGS,
        params={**PARAMS, **(params or {})},
        seed=SEED,
        scaling=SPEC["data"]["cleaning"]["scaling"],
        backend=BACKEND,
    )
