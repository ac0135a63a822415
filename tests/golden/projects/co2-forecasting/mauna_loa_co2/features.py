"""The series mauna-loa-co2 forecasts: `problem` of spec.yaml, resolved.

A forecast reads only the series' own history (no other column is a model input): the last
observations before each forecast origin, on the series' regular time grid.
"""

from __future__ import annotations

from aispec.runtime.series.forecasters import SeriesSettings

# no other column is a model input (train.py and data.py read these two)
FEATURES: list[str] = []
FEATURE_TYPES: dict[str, str] = {}

SETTINGS = SeriesSettings(
    time_column="date",
    target="co2",
    horizon=52,  # steps forecast from each origin
    lags=(1, 2, 3, 4, 52),  # lag 1 = the last observation
    season=52,  # steps per seasonal cycle (1: none)
    frequency="W",
    multi_step="recursive",  # lag models: recursive (one-step model fed back) or direct
)
