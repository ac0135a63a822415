"""The forecasting families: fitted on the training part of a series, forecasting from any recent
history, exported for the service.

Every forecaster has the same surface (what the workflow, the backtests and the export use):

- ``fit(values)`` on the training part (a 1-D array on the regular grid, oldest first);
- ``context``: how many of the latest observations a forecast reads (the service asks for that many);
- ``forecast(histories)``: ``(rows, horizon)`` forecasts, with 95 % intervals where the family gives
  them, from ``histories`` (rows, time) of at least ``context`` values each;
- ``export(directory, histories)``: the served files and the parity of the served computation with
  the framework's on ``histories`` (:class:`SeriesExport`).

Families: ``naive`` and ``seasonal_naive`` (numpy; also the baselines every run reports), lag
regressors (a back end's ``window_model`` on :mod:`.windows`, exported to ONNX and rolled forward by
:mod:`.kernels`), and ``ets`` / ``arima`` (statsmodels' state-space models, served as their matrices
by the numpy Kalman filter of :mod:`.kernels`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import ConfigError
from . import kernels
from .windows import lag_windows

__all__ = ["BASELINES", "STATISTICAL", "Forecast", "SeriesExport", "SeriesSettings", "make_forecaster"]

BASELINES = ("naive", "seasonal_naive")
STATISTICAL = ("ets", "arima")
PARAMETERS_FILE = "forecaster.npz"
MODEL_FILE = "model.onnx"


@dataclass(frozen=True, slots=True)
class SeriesSettings:
    """``problem``'s forecasting settings, resolved (``season`` 1: none)."""

    time_column: str
    target: str
    horizon: int
    lags: tuple[int, ...]
    season: int = 1
    frequency: str | None = None  # the spec's alias; the canonical one is read from the data
    multi_step: str = "recursive"

    def with_lags(self, lags: tuple[int, ...]) -> SeriesSettings:
        return replace(self, lags=tuple(lags))


@dataclass(slots=True)
class Forecast:
    """Forecasts for several origins: ``mean`` (rows, horizon); ``lower`` / ``upper`` the 95 % interval
    (None when the family gives none)."""

    mean: NDArray[np.float64]
    lower: NDArray[np.float64] | None = None
    upper: NDArray[np.float64] | None = None


@dataclass(slots=True)
class SeriesExport:
    """What :meth:`export` wrote and how closely the served computation agrees with the framework's."""

    kind: str  # "lag" (model.onnx + the loop), "state_space" or "baseline" (forecaster.npz)
    file: str
    outputs: list[str]
    opset: dict[str, int]
    size_bytes: int
    n_values: int
    max_abs_diff: float
    mean_abs_diff: float
    scale: float
    compared: str
    reference: str  # whose answers the served computation is compared with (the framework)
    runtime: str
    parameters: dict[str, Any] = field(default_factory=dict)  # written into serving.json (small values only)
    tol: float = 1e-4
    max_tol: float = 1e-3

    @property
    def parity_ok(self) -> bool:
        return self.mean_abs_diff <= self.tol * self.scale and self.max_abs_diff <= self.max_tol * self.scale


def _histories(histories: Any, context: int) -> NDArray[np.float64]:
    array = np.atleast_2d(np.asarray(histories, dtype=np.float64))
    if array.shape[1] < context:
        raise ValueError(f"a forecast needs the last {context} observations, got {array.shape[1]}")
    return array[:, array.shape[1] - context:]


def _diffs(reference: NDArray[np.float64], served: NDArray[np.float64]) -> tuple[float, float, float]:
    diff = np.abs(np.asarray(reference, dtype=np.float64) - np.asarray(served, dtype=np.float64))
    scale = float(np.std(reference)) or float(np.mean(np.abs(reference))) or 1.0
    return float(diff.max()) if diff.size else 0.0, float(diff.mean()) if diff.size else 0.0, scale


class Forecaster:
    """What every family shares (see the module docstring)."""

    family: str = ""
    intervals: bool = False
    trains_by_epochs = False  # a network (``networks.NetworkForecaster``): fit_with reads the validation part

    def __init__(self, settings: SeriesSettings, params: Mapping[str, Any] | None = None) -> None:
        self.settings = settings
        self.params = dict(params or {})

    @property
    def horizon(self) -> int:
        return self.settings.horizon

    @property
    def context(self) -> int:
        raise NotImplementedError

    def fit(self, values: Any) -> Forecaster:
        raise NotImplementedError

    def fit_with(self, values: Any, *, validation: Any = None, settings: Any = None) -> Forecaster:
        """The run's fit: ``values`` the training part, ``validation`` the validation part's values that follow
        it (empty without one), ``settings`` the run's ``api.FitSettings``. Only a model trained by epochs
        reads the last two; the others fit on the training part as :meth:`fit`."""
        return self.fit(values)

    def forecast(self, histories: Any) -> Forecast:
        raise NotImplementedError

    def export(self, directory: Path, histories: Any) -> SeriesExport:
        raise NotImplementedError

    def min_train(self) -> int:
        """The fewest training observations a fit needs."""
        return self.context + 1

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in sorted(self.params.items()))
        return f"{self.family}({shown})"

    def __repr__(self) -> str:
        return self.describe()


# ------------------------------------------------------------------------------------------- baselines


class Baseline(Forecaster):
    """``naive`` (the last value) or ``seasonal_naive`` (the value one season back), with the intervals of
    their random-walk models, ``sigma`` from the training part's one-step (one-season) differences."""

    intervals = True

    def __init__(self, family: str, settings: SeriesSettings, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(settings, params)
        self.family = family
        self.sigma = math.nan

    @property
    def season(self) -> int:
        return self.settings.season if self.family == "seasonal_naive" else 1

    @property
    def context(self) -> int:
        return max(1, self.season)

    def fit(self, values: Any) -> Baseline:
        y = np.asarray(values, dtype=np.float64).ravel()
        if len(y) <= self.season:
            raise ConfigError(f"{self.family} needs more than {self.season} training observations, got {len(y)}")
        diffs = y[self.season:] - y[:-self.season]
        self.sigma = float(np.sqrt(np.mean(diffs ** 2)))
        return self

    def forecast(self, histories: Any) -> Forecast:
        h = _histories(histories, self.context)
        mean = kernels.seasonal_naive(h, self.horizon, self.season)
        sd = kernels.naive_sd(self.sigma, self.horizon, self.season)
        return Forecast(mean, mean - kernels.Z95 * sd, mean + kernels.Z95 * sd)

    def export(self, directory: Path, histories: Any) -> SeriesExport:
        path = directory / PARAMETERS_FILE
        _save_npz(path, {"sigma": np.array([self.sigma]), "season": np.array([self.season])})
        n = int(np.atleast_2d(histories).shape[0]) * self.horizon
        return SeriesExport(kind="baseline", file=PARAMETERS_FILE, outputs=["forecast"], opset={},
                            size_bytes=path.stat().st_size, n_values=n, max_abs_diff=0.0, mean_abs_diff=0.0,
                            scale=1.0, compared="the numpy baseline is the model itself", reference="numpy",
                            runtime="numpy", parameters={"sigma": self.sigma, "season": self.season})


def _save_npz(path: Path, arrays: Mapping[str, NDArray[Any]]) -> None:
    """Arrays as ``.npz`` without pickles (the service loads it with ``allow_pickle=False``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        np.savez(handle, **{k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()})  # type: ignore[arg-type]
    tmp.replace(path)


# -------------------------------------------------------------------------------------- lag regressors


class LagRegression(Forecaster):
    """A back end's regressor on lag windows: recursive (one-step model rolled forward) or direct (one
    output per step). ``model`` comes from the back end's ``window_model`` and is exported by its
    ``export_windows``."""

    def __init__(self, family: str, settings: SeriesSettings, params: Mapping[str, Any] | None, *, model: Any,
                 backend: Any) -> None:
        super().__init__(settings, params)
        self.family = family
        self.model = model
        self.backend = backend

    @property
    def context(self) -> int:
        return max(self.settings.lags)

    def min_train(self) -> int:
        steps = 1 if self.settings.multi_step == "recursive" else self.horizon
        return self.context + steps + 2

    def fit(self, values: Any) -> LagRegression:
        windows = lag_windows(values, self.settings.lags, self.horizon, self.settings.multi_step)
        if len(windows) < 3:
            raise ConfigError(f"{len(windows)} lag windows from {len(np.asarray(values))} training observations: too "
                              f"few to fit (lags up to {self.context}, horizon {self.horizon})",
                              hint="use shorter lags, a shorter horizon or a longer series")
        target = windows.Y[:, 0] if windows.multi_step == "recursive" else windows.Y
        self.model.fit(windows.X.astype(np.float32), target)
        return self

    def _predict(self, X: NDArray[np.float32]) -> NDArray[np.float64]:
        return np.asarray(self.model.predict(X), dtype=np.float64)

    def _roll(self, predict: Any, histories: NDArray[np.float64]) -> NDArray[np.float64]:
        loop = kernels.recursive if self.settings.multi_step == "recursive" else kernels.direct
        return loop(predict, histories, self.settings.lags, self.horizon)

    def forecast(self, histories: Any) -> Forecast:
        return Forecast(self._roll(self._predict, _histories(histories, self.context)))

    def _windows_seen(self, h: NDArray[np.float64]) -> NDArray[np.float32]:
        """The lag windows the model is fed while forecasting from ``h`` (each step's, for a recursive
        forecast: parity is measured step by step on the same inputs, since a fed-back value within float32
        rounding of a tree's threshold may take the other branch in either computation)."""
        if self.settings.multi_step != "recursive":
            return np.stack([h[:, h.shape[1] - k] for k in self.settings.lags], axis=1).astype(np.float32)
        path = np.concatenate([h, self._roll(self._predict, h)], axis=1)
        length = h.shape[1]
        rows = [np.stack([path[:, length + j - k] for k in self.settings.lags], axis=1) for j in range(self.horizon)]
        return np.concatenate(rows, axis=0).astype(np.float32)

    def export(self, directory: Path, histories: Any) -> SeriesExport:
        path = directory / MODEL_FILE
        outputs = 1 if self.settings.multi_step == "recursive" else self.horizon
        onnx = self.backend.export_windows(self.model, n_lags=len(self.settings.lags), outputs=outputs, path=path)
        session = _session(path)
        name = session.get_inputs()[0].name

        def served(X: NDArray[np.float32]) -> NDArray[np.float64]:
            return np.asarray(session.run(None, {name: X})[0], dtype=np.float64)

        h = _histories(histories, self.context)
        X = self._windows_seen(h)
        reference = self._predict(X).reshape(len(X), -1)
        batch = served(X).reshape(len(X), -1)  # every window in one call
        single = served(X[:1]).reshape(1, -1)  # and a batch of one: a graph with a fixed batch size fails here
        both = np.concatenate([batch.ravel(), single.ravel()])
        high, mean, scale = _diffs(np.concatenate([reference.ravel(), reference[:1].ravel()]), both)
        return SeriesExport(kind="lag", file=MODEL_FILE, outputs=list(onnx["outputs"]), opset=dict(onnx["opset"]),
                            size_bytes=path.stat().st_size, n_values=int(both.size), max_abs_diff=high,
                            mean_abs_diff=mean, scale=scale, reference=onnx.get("reference", "scikit-learn"),
                            runtime="onnxruntime",
                            compared=f"predictions on the {len(X)} lag windows of {self.settings.multi_step} "
                                     f"{self.horizon}-step forecasts from {h.shape[0]} origins (batches of "
                                     f"{len(X)} and 1)",
                            parameters={"input": name, "outputs": outputs})


def _session(path: Path) -> Any:
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


# --------------------------------------------------------------------------- statsmodels' state space


def _matrices(model: Any, scale: float) -> kernels.StateSpace:
    """A statsmodels state-space model's (time-invariant) matrices, for the numpy Kalman filter."""
    ssm = model.ssm
    design = np.asarray(ssm["design"], dtype=np.float64).reshape(-1)
    transition = np.asarray(ssm["transition"], dtype=np.float64)
    transition = transition[:, :, 0] if transition.ndim == 3 else transition
    selection = np.asarray(ssm["selection"], dtype=np.float64)
    selection = selection[:, :, 0] if selection.ndim == 3 else selection
    state_cov = np.asarray(ssm["state_cov"], dtype=np.float64)
    state_cov = state_cov[:, :, 0] if state_cov.ndim == 3 else state_cov
    intercept = np.asarray(ssm["state_intercept"], dtype=np.float64)
    intercept = intercept[:, 0] if intercept.ndim == 2 else intercept
    return kernels.StateSpace(design=design, transition=transition, state_intercept=intercept.reshape(-1),
                              obs_intercept=float(np.asarray(ssm["obs_intercept"]).ravel()[0]),
                              obs_cov=float(np.asarray(ssm["obs_cov"]).ravel()[0]),
                              state_cov=selection @ state_cov @ selection.T, scale=scale)


class StateSpaceForecaster(Forecaster):
    """``ets`` (statsmodels' state-space exponential smoothing: level, optional (damped) additive trend and
    additive season) or ``arima`` (SARIMAX ``(p, d, q) x (P, D, Q, season)``).

    Fitted by maximum likelihood on the training part; a forecast filters the last ``context`` values
    from an approximately diffuse state (so it depends on nothing but the posted history) and projects
    the state ``horizon`` steps, with the model's forecast variance for the 95 % interval."""

    intervals = True

    def __init__(self, family: str, settings: SeriesSettings, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(settings, params)
        self.family = family
        self.result: Any = None
        self.space: kernels.StateSpace | None = None
        unknown = set(self.params) - set(_DEFAULTS[family])
        if unknown:
            raise ConfigError(f"{family} has no parameter {', '.join(sorted(unknown))}",
                              hint=f"{family}'s parameters: {', '.join(sorted(_DEFAULTS[family]))}")

    def _p(self, name: str) -> Any:
        value = self.params.get(name, _DEFAULTS[self.family][name])
        return value(self.settings) if callable(value) else value

    @property
    def context(self) -> int:
        return int(self._p("context"))

    def min_train(self) -> int:
        return max(self.context, 2 * self.settings.season + 2)

    def _statsmodels(self, values: NDArray[np.float64], *, diffuse: bool, start: str = "heuristic") -> Any:
        season = self.settings.season
        if self.family == "ets":
            from statsmodels.tsa.statespace.exponential_smoothing import (  # type: ignore[import-untyped]
                ExponentialSmoothing,
            )

            trend = str(self._p("trend")) == "add"
            seasonal = season if str(self._p("seasonal")) == "add" and season > 1 else None
            extra: dict[str, Any] = {"initialization_method": start}
            if diffuse:  # the initial values are replaced by the diffuse start below
                extra = {"initialization_method": "known", "initial_level": 0.0,
                         **({"initial_trend": 0.0} if trend else {}),
                         **({"initial_seasonal": np.zeros(seasonal - 1)} if seasonal else {})}
            return ExponentialSmoothing(values, trend=trend, damped_trend=bool(self._p("damped")) and trend,
                                        seasonal=seasonal, **extra)
        from statsmodels.tsa.statespace.sarimax import SARIMAX  # type: ignore[import-untyped]

        order = (int(self._p("p")), int(self._p("d")), int(self._p("q")))
        seasonal_order = (int(self._p("P")), int(self._p("D")), int(self._p("Q")), season) \
            if season > 1 and any(int(self._p(k)) for k in ("P", "D", "Q")) else (0, 0, 0, 0)
        return SARIMAX(values, order=order, seasonal_order=seasonal_order, trend=str(self._p("trend")))

    def fit(self, values: Any) -> StateSpaceForecaster:
        y = np.asarray(values, dtype=np.float64).ravel()
        if len(y) < self.min_train():
            raise ConfigError(f"{self.family} needs at least {self.min_train()} training observations, got {len(y)}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # statsmodels' convergence and start-parameter notices
            try:
                model = self._statsmodels(y, diffuse=False)
            except ValueError:  # too few seasons for ETS's heuristic start values: estimate them (slower)
                model = self._statsmodels(y, diffuse=False, start="estimated")
            self.result = model.fit(disp=False)
        model.update(self.result.params)
        self.space = _matrices(model, float(self.result.scale))
        return self

    def forecast(self, histories: Any) -> Forecast:
        if self.space is None:
            raise ConfigError(f"{self.family} is not fitted")
        h = _histories(histories, self.context)
        means, sds = [], []
        for row in h:
            mean, var = kernels.kalman(self.space, row, self.horizon)
            means.append(mean)
            sds.append(np.sqrt(np.maximum(var, 0.0)))
        mean, sd = np.vstack(means), np.vstack(sds)
        return Forecast(mean, mean - kernels.Z95 * sd, mean + kernels.Z95 * sd)

    def _framework(self, history: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """statsmodels' own forecast mean and variance (in scale units) from ``history``, diffuse start."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = self._statsmodels(history, diffuse=True)
            model.ssm.initialize_approximate_diffuse(kernels.DIFFUSE)
            result = model.filter(self.result.params)
            prediction = result.get_forecast(self.horizon)
        return np.asarray(prediction.predicted_mean), np.asarray(prediction.var_pred_mean) / float(result.scale)

    def export(self, directory: Path, histories: Any) -> SeriesExport:
        assert self.space is not None
        path = directory / PARAMETERS_FILE
        _save_npz(path, self.space.arrays())
        h = _histories(histories, self.context)
        picks = sorted({0, len(h) // 2, len(h) - 1})  # statsmodels is slow to build: three origins
        reference, served = [], []
        for i in picks:
            mean, var = self._framework(h[i])
            ours, our_var = kernels.kalman(self.space, h[i], self.horizon)
            reference += [mean, np.sqrt(var * self.space.scale)]
            served += [ours, np.sqrt(our_var)]
        high, mean_diff, _ = _diffs(np.concatenate(reference), np.concatenate(served))
        _, _, scale = _diffs(np.concatenate(reference[::2]), np.concatenate(served[::2]))
        return SeriesExport(kind="state_space", file=PARAMETERS_FILE, outputs=["forecast", "variance"], opset={},
                            size_bytes=path.stat().st_size, n_values=2 * len(picks) * self.horizon,
                            max_abs_diff=high, mean_abs_diff=mean_diff, scale=scale, reference="statsmodels",
                            runtime="numpy Kalman filter",
                            compared=f"forecast mean and standard deviation, {self.horizon} steps from "
                                     f"{len(picks)} origins", parameters={"states": self.space.k})

    def describe(self) -> str:
        settings = {name: self._p(name) for name in sorted(_DEFAULTS[self.family])}
        shown = ", ".join(f"{k}={v!r}" for k, v in settings.items())
        return f"{self.family}({shown}, season={self.settings.season})"


def _context(settings: SeriesSettings) -> int:
    return max(4 * settings.season, 60) if settings.season > 1 else 60


_DEFAULTS: dict[str, dict[str, Any]] = {
    "ets": {"trend": "add", "damped": False, "seasonal": "add", "context": _context},
    "arima": {"p": 1, "d": 1, "q": 1, "P": 0, "D": lambda s: 1 if s.season > 1 else 0,
              "Q": lambda s: 1 if s.season > 1 else 0, "trend": "n", "context": _context},
}


# ------------------------------------------------------------------------------------------------ make


def make_forecaster(family: str, *, settings: SeriesSettings, params: Mapping[str, Any] | None = None, seed: int = 0,
                    scaling: str = "none", backend: str = "sklearn", **network: Any) -> Forecaster:
    """The forecaster of ``family``: a baseline, a statistical model, a back end's lag regressor, or a network
    back end's network on sequence windows (``network``: the project's builders, e.g. ``network`` and
    ``loop``, and its ``training`` section; see :mod:`.networks`)."""
    if family in BASELINES:
        return Baseline(family, settings, params)
    if family in STATISTICAL:
        return StateSpaceForecaster(family, settings, params)
    from ..registry import backend as get_backend

    engine = get_backend(backend)
    outputs = 1 if settings.multi_step == "recursive" else settings.horizon
    if hasattr(engine, "window_network"):
        from .networks import NetworkForecaster

        net = engine.window_network(family, params=dict(params or {}), seed=seed, outputs=outputs, **network)
        return NetworkForecaster(family, settings, params, model=net, backend=engine, scaling=scaling)
    if not hasattr(engine, "window_model"):
        raise ConfigError(f"the {backend} back end does not build forecasting models")
    model = engine.window_model(family, params=dict(params or {}), seed=seed, scaling=scaling, outputs=outputs)
    return LagRegression(family, settings, params, model=model, backend=engine)
