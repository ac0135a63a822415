"""Lag windows: the supervised view of one series that any back end trains on (numpy only).

Convention: an *origin* is the position of the last observed value; lag ``k`` is the value ``k`` steps
before the first forecast step, i.e. ``values[origin + 1 - k]`` (lag 1 = the last observation).

- recursive multi-step: one-step-ahead rows, ``X[i] = [values[t - k] for k in lags]``, ``y[i] = values[t]``;
  a forecast feeds each predicted step back as the next step's lag 1 (:func:`kernels.recursive`);
- direct multi-step: one row per origin, ``X[i] = [values[origin + 1 - k] for k in lags]``,
  ``Y[i] = values[origin + 1 : origin + 1 + horizon]``: a model with ``horizon`` outputs predicts every
  step from the same lags (:func:`kernels.direct`).

A sequence model (a recurrent network) takes ``lags = [L, L - 1, ..., 1]``: the last ``L`` values in
time order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Windows", "lag_windows"]


@dataclass(frozen=True, slots=True)
class Windows:
    """``X`` (rows, len(lags)), ``Y`` (rows, 1) recursive or (rows, horizon) direct, and each row's origin."""

    X: NDArray[np.float64]
    Y: NDArray[np.float64]
    origins: NDArray[np.int64]
    lags: tuple[int, ...]
    multi_step: str

    def __len__(self) -> int:
        return int(self.X.shape[0])


def lag_windows(values: Any, lags: tuple[int, ...] | list[int], horizon: int, multi_step: str = "recursive") -> Windows:
    """Every complete window of ``values`` (see the module docstring); empty when the series is too short."""
    y = np.asarray(values, dtype=np.float64).ravel()
    lags = tuple(int(k) for k in lags)
    if not lags or min(lags) < 1:
        raise ValueError(f"lags are positive step counts, not {list(lags)}")
    span = max(lags)
    steps = 1 if multi_step == "recursive" else int(horizon)
    first, last = span - 1, len(y) - 1 - steps  # origins with every lag and every target inside the series
    origins = np.arange(first, last + 1, dtype=np.int64) if last >= first else np.zeros(0, dtype=np.int64)
    X = np.stack([y[origins + 1 - k] for k in lags], axis=1) if len(origins) else np.zeros((0, len(lags)))
    Y = np.stack([y[origins + j] for j in range(1, steps + 1)], axis=1) if len(origins) else np.zeros((0, steps))
    return Windows(X=X, Y=Y, origins=origins, lags=lags, multi_step=multi_step)
