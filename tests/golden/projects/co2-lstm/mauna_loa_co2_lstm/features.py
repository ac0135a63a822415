"""The series mauna-loa-co2-lstm forecasts: `problem` of spec.yaml, resolved.

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
    lags=(
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        9,
        10,
        11,
        12,
        13,
        14,
        15,
        16,
        17,
        18,
        19,
        20,
        21,
        22,
        23,
        24,
        25,
        26,
        27,
        28,
        29,
        30,
        31,
        32,
        33,
        34,
        35,
        36,
        37,
        38,
        39,
        40,
        41,
        42,
        43,
        44,
        45,
        46,
        47,
        48,
        49,
        50,
        51,
        52,
    ),  # lag 1 = the last observation
    season=52,  # steps per seasonal cycle (1: none)
    frequency="W",
    multi_step="direct",  # lag models: recursive (one-step model fed back) or direct
)
