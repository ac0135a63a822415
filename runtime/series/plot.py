"""The forecast-vs-actual plot: the test split's truth, the model's forecasts (with the 95 % interval
where the family gives one) and the seasonal-naive baseline, each forecast window marked at its origin."""

from __future__ import annotations

from typing import Any

import numpy as np


def forecast_vs_actual(frame: Any, *, history: Any = None, title: str = "Forecast vs actual") -> bytes:
    """``frame``: predictions.csv's columns (timestamp, origin, truth, forecast, lower, upper,
    seasonal_naive); ``history``: (timestamps, values) of the last training steps, drawn for context."""
    from ..plots import _BLUE, _ORANGE, _figure, _png

    times = np.asarray(frame["timestamp"].to_numpy(), dtype="datetime64[ns]")
    with _figure(11.0, 4.8) as (fig, (ax,)):
        if history is not None:
            ax.plot(np.asarray(history[0], dtype="datetime64[ns]"), history[1], color="#999999", linewidth=1.0,
                    label="training (last steps)")
        ax.plot(times, frame["truth"].to_numpy(), color="#222222", linewidth=1.2, label="actual")
        if "lower" in frame.columns and frame["lower"].notna().any():
            ax.fill_between(times, frame["lower"].to_numpy(float), frame["upper"].to_numpy(float), color=_BLUE,
                            alpha=0.18, linewidth=0, label="95 % interval")
        for _, window in frame.groupby("origin", sort=True):
            ax.plot(np.asarray(window["timestamp"].to_numpy(), dtype="datetime64[ns]"), window["forecast"], color=_BLUE,
                    linewidth=1.6)
        ax.plot([], [], color=_BLUE, linewidth=1.6, label="forecast")
        if "seasonal_naive" in frame.columns:
            ax.plot(times, frame["seasonal_naive"].to_numpy(), color=_ORANGE, linewidth=1.0, linestyle="--",
                    label="seasonal naive")
        for origin in sorted(set(frame["origin"].tolist())):
            ax.axvline(np.datetime64(origin, "ns"), color="#dddddd", linewidth=0.8, zorder=0)  # type: ignore[arg-type]
        ax.set_xlabel("time")
        ax.set_ylabel("value")
        ax.set_title(title)
        ax.legend(loc="best", fontsize=8)
        return _png(fig)
