"""One series on its regular time grid: what every forecasting family trains on.

:func:`regularize` takes the prepared frame (declared types, rows without a target already removed
and recorded) and returns ``[time_column, target]`` with one row per step of the frequency, from the
first to the last observation, in time order. Steps with no observation (gaps, and the rows that had
no target) are filled by linear interpolation between their neighbours, since no family here can
learn from a series with holes; the row ledger records how many and the longest gap. A timestamp
that appears twice, or that is off the grid of the declared frequency, is a data error naming the
rows. Other columns are not used: a forecast here reads only the series' own history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, DataError
from . import clock

__all__ = ["SeriesInfo", "canonical_frequency", "regularize"]

# spec aliases (pandas, old and new spellings) -> the clock's canonical units
_SPELLINGS = {"M": "ME", "Q": "QE", "Y": "YE", "A": "YE", "AS": "YS", "H": "h", "T": "min", "S": "s"}


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """What :func:`regularize` found: the canonical frequency and how the grid was filled."""

    frequency: str  # canonical alias, e.g. "W-SAT"
    start: str
    end: str
    steps: int
    filled: int  # steps with no observation, interpolated
    longest_gap: int
    inferred: bool  # the spec gave no frequency: it was read from the data


def canonical_frequency(alias: str | None, first: Any, timestamps: Any = None) -> tuple[clock.Frequency, bool]:
    """The spec's ``problem.frequency`` as a clock frequency: old pandas spellings mapped (``M`` → ``ME``),
    plain ``W`` anchored on the weekday of the first timestamp; None: inferred from ``timestamps``."""
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    inferred = alias is None
    if alias is None:
        guess = pd.infer_freq(pd.DatetimeIndex(timestamps[: min(len(timestamps), 500)])) if len(timestamps) >= 3 \
            else None
        if guess is None:
            raise ConfigError("problem.frequency is not set and the timestamps have no regular frequency",
                              hint="set problem.frequency (D, W, ME, QE, h, ...)")
        alias = str(guess)
    text = alias.strip()
    digits = len(text) - len(text.lstrip("0123456789"))
    multiple, unit = text[:digits], text[digits:]
    unit = _SPELLINGS.get(unit, unit)
    if unit == "W":
        unit = f"W-{clock.DAYS[pd.Timestamp(first).weekday()]}"
    try:
        return clock.parse(f"{multiple}{unit}"), inferred
    except ValueError as exc:
        raise ConfigError(f"problem.frequency: {exc}", hint="use one of the frequencies listed in "
                                                           "docs/forecasting.md") from None


def regularize(frame: Any, *, time_column: str, target: str, frequency: str | None, report: Any = None,
               locations: Any = None) -> tuple[Any, SeriesInfo]:
    """``frame`` as one regular series ``[time_column, target]`` (see the module docstring)."""
    import numpy as np
    import pandas as pd

    where = (locations or {}).get("problem.time_column")
    for column in (time_column, target):
        if column not in frame.columns:
            raise ConfigError(f"the prepared data has no column '{column}'", where=where)
    times = pd.to_datetime(frame[time_column], errors="coerce")
    if bool(times.isna().any()):
        rows = [int(i) for i in np.flatnonzero(times.isna().to_numpy())[:5]]
        raise DataError(f"time column '{time_column}' has {int(times.isna().sum())} missing or unreadable "
                        f"timestamps (rows {rows})", where=where)
    series = pd.DataFrame({"t": times.to_numpy(), "y": pd.to_numeric(frame[target], errors="coerce").to_numpy()})
    series = series.sort_values("t", kind="stable").reset_index(drop=True)
    repeated = series["t"].duplicated(keep=False)
    if bool(repeated.any()):
        shown = ", ".join(str(t.date() if t == t.normalize() else t) for t in series["t"][repeated].unique()[:3])
        raise DataError(f"{int(series['t'][repeated].nunique())} timestamps of '{time_column}' appear more than once "
                        f"(e.g. {shown}): a series has one value per step", where=where,
                        hint="aggregate the rows of each timestamp before training, or set "
                             "data.cleaning.deduplicate if they are exact copies")
    if len(series) < 2:
        raise DataError(f"the series has {len(series)} observation(s): too few to forecast", where=where)
    freq, inferred = canonical_frequency(frequency, series["t"].iloc[0], series["t"])
    first = series["t"].iloc[0].to_pydatetime()
    off = [t for t in series["t"].iloc[:] if not freq.on_grid(t.to_pydatetime())]
    if off:
        raise DataError(f"{len(off)} timestamps of '{time_column}' are not on the {freq.alias} grid (e.g. "
                        f"{off[0]})", where=(locations or {}).get("problem.frequency", where),
                        hint="set problem.frequency to the data's frequency (for weeks, the weekday: W-SAT)")
    grid = [first]
    last = series["t"].iloc[-1].to_pydatetime()
    while grid[-1] < last:
        grid.append(freq.step(grid[-1]))
    index = pd.DatetimeIndex(grid)
    observed = pd.Series(series["y"].to_numpy(), index=pd.DatetimeIndex(series["t"]))
    missing_times = observed.index.difference(index)
    if len(missing_times):
        raise DataError(f"{len(missing_times)} timestamps of '{time_column}' fall between the steps of "
                        f"{freq.alias} from {first}", where=where)
    values = observed.reindex(index)
    holes = values.isna().to_numpy()
    longest = _longest_run(holes)
    filled = values.interpolate(method="linear", limit_area="inside").to_numpy(dtype=float)
    out = pd.DataFrame({time_column: index.astype("datetime64[ns]"), target: filled})
    info = SeriesInfo(frequency=freq.alias, start=str(index[0]), end=str(index[-1]), steps=len(index),
                      filled=int(holes.sum()), longest_gap=longest, inferred=inferred)
    if report is not None:
        detail = f"one row per {freq.alias} step from {index[0].date()} to {index[-1].date()}"
        if info.filled:
            detail += (f"; {info.filled} steps without an observation filled by linear interpolation "
                       f"(longest gap: {longest} step{'s' if longest != 1 else ''})")
        report.record("regular time grid", len(frame), len(out), detail)
        if inferred:
            report.warn(f"problem.frequency is not set: the series' frequency was read from the data as "
                        f"{freq.alias}")
        season = freq.default_season
        if longest > max(3, season // 4):
            report.warn(f"the series has a gap of {longest} steps, filled by a straight line: forecasts learnt "
                        "across it are less certain")
    if not math.isfinite(float(np.nanmax(np.abs(filled)))):
        raise DataError(f"the target '{target}' has values that are not finite numbers")
    return out, info


def _longest_run(mask: Any) -> int:
    best = run = 0
    for flag in mask.tolist():
        run = run + 1 if flag else 0
        best = max(best, run)
    return best
