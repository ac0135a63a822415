"""A served forecaster: the files a forecasting run exported, read without the training framework.

``serving.json``'s ``forecast`` section says which kind it is:

- ``lag``: ``model.onnx`` (input ``lags``: float32 (rows, len(lags))) rolled forward over the horizon by
  ``series.kernels.recursive`` or ``direct``;
- ``state_space``: ``forecaster.npz`` holding the matrices of ETS / ARIMA, filtered over the posted
  history by ``series.kernels.kalman`` (forecast and 95 % interval);
- ``baseline``: ``forecaster.npz`` holding ``sigma`` and ``season`` (naive / seasonal naive).

Only numpy and onnxruntime: the ``.npz`` is read with ``allow_pickle=False``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..series import kernels

__all__ = ["ForecastAnswer", "ServedForecaster"]


@dataclass(slots=True)
class ForecastAnswer:
    mean: NDArray[np.float64]
    lower: NDArray[np.float64] | None
    upper: NDArray[np.float64] | None


class ServedForecaster:
    """Forecasts ``horizon`` steps from the last ``context`` posted values."""

    def __init__(self, contract: Mapping[str, Any], *, session: Any = None, space: kernels.StateSpace | None = None,
                 sigma: float = float("nan"), season: int = 1) -> None:
        self.contract = contract
        self.kind = str(contract["kind"])
        self.horizon = int(contract["horizon"])
        self.context = int(contract["context"])
        self.lags = tuple(int(k) for k in contract["lags"])
        self.multi_step = str(contract["multi_step"])
        self.session = session
        self.input = session.get_inputs()[0].name if session is not None else ""
        self.space = space
        self.sigma = sigma
        self.season = season

    @classmethod
    def load(cls, directory: Path, contract: Mapping[str, Any], *, threads: int = 1) -> ServedForecaster:
        path = Path(directory) / str(contract["file"])
        kind = contract["kind"]
        if kind == "lag":
            import onnxruntime as ort  # type: ignore[import-untyped]

            options = ort.SessionOptions()
            options.intra_op_num_threads = max(1, threads)
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            session = ort.InferenceSession(path.read_bytes(), sess_options=options,
                                           providers=["CPUExecutionProvider"])
            return cls(contract, session=session)
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        if kind == "state_space":
            return cls(contract, space=kernels.StateSpace.from_arrays(arrays))
        if kind == "baseline":
            return cls(contract, sigma=float(arrays["sigma"].ravel()[0]), season=int(arrays["season"].ravel()[0]))
        raise ValueError(f"serving.json: forecast.kind: unknown kind {kind!r}")

    def _predict(self, X: NDArray[np.float32]) -> NDArray[Any]:
        return np.asarray(self.session.run(None, {self.input: X})[0])

    def forecast(self, history: Any, horizon: int | None = None) -> ForecastAnswer:
        """The forecast of the next ``horizon`` (default: the trained horizon) steps after ``history`` (1-D,
        oldest first, at least ``context`` values; only the last ``context`` are read)."""
        steps = self.horizon if horizon is None else int(horizon)
        values = np.asarray(history, dtype=np.float64).ravel()[-self.context:]
        if self.kind == "lag":
            loop = kernels.recursive if self.multi_step == "recursive" else kernels.direct
            return ForecastAnswer(loop(self._predict, values[None, :], self.lags, steps)[0], None, None)
        if self.kind == "state_space":
            assert self.space is not None
            mean, var = kernels.kalman(self.space, values, steps)
            sd = np.sqrt(np.maximum(var, 0.0))
            return ForecastAnswer(mean, mean - kernels.Z95 * sd, mean + kernels.Z95 * sd)
        mean = kernels.seasonal_naive(values[None, :], steps, self.season)[0]
        sd = kernels.naive_sd(self.sigma, steps, self.season)
        return ForecastAnswer(mean, mean - kernels.Z95 * sd, mean + kernels.Z95 * sd)
