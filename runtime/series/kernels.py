"""The forecasting loops, in numpy alone: what the service runs on posted history, and what the
training run evaluates, so the figures describe the served answers.

- :func:`recursive` / :func:`direct`: a lag model (any ``predict(X) -> y`` callable: an onnxruntime
  session in the service, the fitted estimator in training) rolled forward over the horizon;
- :func:`naive` / :func:`seasonal_naive`: the baselines, with their textbook prediction intervals;
- :class:`StateSpace` and :func:`kalman`: a linear Gaussian state-space model (ETS and ARIMA as
  statsmodels writes them) filtered over the recent history from an approximately diffuse start,
  then projected ``horizon`` steps with its forecast variance.

No pandas, scikit-learn or statsmodels here (the service imports this module).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Z95", "StateSpace", "direct", "kalman", "naive", "naive_sd", "recursive", "seasonal_naive"]

Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile: 95 % two-sided intervals
DIFFUSE = 1e6  # the initial state variance of an approximately diffuse start (statsmodels' default)

Predict = Callable[[NDArray[np.float32]], Any]


def _lag_matrix(buffer: NDArray[np.float64], end: int, lags: tuple[int, ...]) -> NDArray[np.float64]:
    """Rows' lag values at position ``end`` (exclusive) of ``buffer`` (rows, time)."""
    return np.stack([buffer[:, end - k] for k in lags], axis=1)


def recursive(predict: Predict, histories: NDArray[np.float64], lags: tuple[int, ...],
              horizon: int) -> NDArray[np.float64]:
    """(rows, horizon) forecasts: one-step predictions fed back as the next step's lags.

    ``histories``: (rows, time), at least ``max(lags)`` values each, oldest first. A prediction is fed back
    at float32 precision, the precision the served graph computes in, so that the training run's loop
    and the service's take the same branches of a tree for the same history."""
    rows, length = histories.shape
    buffer = np.concatenate([histories.astype(np.float64), np.zeros((rows, horizon))], axis=1)
    for j in range(horizon):
        X = _lag_matrix(buffer, length + j, lags).astype(np.float32)
        step = np.asarray(predict(X)).reshape(rows, -1)[:, 0]
        buffer[:, length + j] = step.astype(np.float32).astype(np.float64)
    return buffer[:, length:]


def direct(predict: Predict, histories: NDArray[np.float64], lags: tuple[int, ...],
           horizon: int) -> NDArray[np.float64]:
    """(rows, horizon) forecasts: every step at once from the lags at the origin (a multi-output model)."""
    X = _lag_matrix(histories.astype(np.float64), histories.shape[1], lags).astype(np.float32)
    out = np.asarray(predict(X), dtype=np.float64).reshape(histories.shape[0], -1)
    if out.shape[1] < horizon:
        raise ValueError(f"the model predicts {out.shape[1]} steps, {horizon} were asked")
    return out[:, :horizon]


def naive(histories: NDArray[np.float64], horizon: int) -> NDArray[np.float64]:
    """The last value, repeated."""
    return np.repeat(histories[:, -1:], horizon, axis=1).astype(np.float64)


def seasonal_naive(histories: NDArray[np.float64], horizon: int, season: int) -> NDArray[np.float64]:
    """The value one season before each step: ``y[T + j] = y[T + j - season * ceil(j / season)]``."""
    if season <= 1:
        return naive(histories, horizon)
    length = histories.shape[1]
    picks = [length - season + ((j - 1) % season) for j in range(1, horizon + 1)]
    return histories[:, picks].astype(np.float64)


def naive_sd(sigma: float, horizon: int, season: int = 1) -> NDArray[np.float64]:
    """Forecast standard deviation of the (seasonal) naive method at each step: ``sigma * sqrt(k)``, where
    ``k`` is the number of (seasons) steps back the value comes from (Hyndman & Athanasopoulos, 5.5)."""
    steps = np.arange(1, horizon + 1)
    k = steps if season <= 1 else (steps - 1) // season + 1
    return sigma * np.sqrt(k.astype(np.float64))


@dataclass(frozen=True, slots=True)
class StateSpace:
    """``y_t = Z a_t + d + e_t`` (``e_t ~ N(0, H)``), ``a_{t+1} = T a_t + c + eta_t`` (``eta ~ N(0, RQR')``).

    Variances are in units of ``scale`` (statsmodels concentrates the scale out of the likelihood):
    forecast variances are multiplied by it.
    """

    design: NDArray[np.float64]  # Z, (k,)
    transition: NDArray[np.float64]  # T, (k, k)
    state_intercept: NDArray[np.float64]  # c, (k,)
    obs_intercept: float  # d
    obs_cov: float  # H
    state_cov: NDArray[np.float64]  # R Q R', (k, k)
    scale: float = 1.0

    @property
    def k(self) -> int:
        return int(self.design.shape[0])

    def arrays(self) -> dict[str, NDArray[np.float64]]:
        """The model as named arrays (what an ``.npz`` file holds)."""
        return {"design": self.design, "transition": self.transition, "state_intercept": self.state_intercept,
                "obs_intercept": np.array([self.obs_intercept]), "obs_cov": np.array([self.obs_cov]),
                "state_cov": self.state_cov, "scale": np.array([self.scale])}

    @classmethod
    def from_arrays(cls, data: Any) -> StateSpace:
        k = int(np.asarray(data["design"]).shape[0])
        shapes = {"transition": (k, k), "state_intercept": (k,), "state_cov": (k, k)}
        for name, shape in shapes.items():
            if tuple(np.asarray(data[name]).shape) != shape:
                raise ValueError(f"{name} has shape {np.asarray(data[name]).shape}, not {shape}")
        return cls(design=np.asarray(data["design"], dtype=np.float64),
                   transition=np.asarray(data["transition"], dtype=np.float64),
                   state_intercept=np.asarray(data["state_intercept"], dtype=np.float64),
                   obs_intercept=float(np.asarray(data["obs_intercept"]).ravel()[0]),
                   obs_cov=float(np.asarray(data["obs_cov"]).ravel()[0]),
                   state_cov=np.asarray(data["state_cov"], dtype=np.float64),
                   scale=float(np.asarray(data["scale"]).ravel()[0]))


def kalman(model: StateSpace, history: NDArray[np.float64], horizon: int) -> tuple[NDArray[np.float64],
                                                                                   NDArray[np.float64]]:
    """Forecast mean and variance (each ``(horizon,)``) after filtering ``history`` from ``a = 0``,
    ``P = 1e6 I`` (statsmodels' approximate diffuse initialisation)."""
    Z, T, c = model.design, model.transition, model.state_intercept
    d, H, RQR = model.obs_intercept, model.obs_cov, model.state_cov
    a = np.zeros(model.k)
    P = np.eye(model.k) * DIFFUSE
    for value in np.asarray(history, dtype=np.float64).ravel():
        PZ = P @ Z
        F = float(Z @ PZ) + H
        gain = PZ / F
        a = a + gain * (value - float(Z @ a) - d)
        P = P - np.outer(gain, PZ)
        a = T @ a + c
        P = T @ P @ T.T + RQR
    mean = np.empty(horizon)
    var = np.empty(horizon)
    for j in range(horizon):
        mean[j] = float(Z @ a) + d
        var[j] = (float(Z @ P @ Z) + H) * model.scale
        a = T @ a + c
        P = T @ P @ T.T + RQR
    return mean, var
