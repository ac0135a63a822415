"""Network forecasters on the Keras back end, through the code the co2-gru-keras example generates
(``build_network``, ``train_network``): the GRU it builds, early stopping on the validation windows, the
exported graph (window length fixed, as Keras's exporter needs) serving the framework's forecast, and
--resume from the backup of an interrupted fit.

Data: a small synthetic monthly series (trend + season 12 + noise, seeded), windows of 12.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from aispec.compiler.build import build
from aispec.runtime.api import FitSettings
from aispec.runtime.errors import ConfigError
from aispec.runtime.series import backtest
from aispec.runtime.series.forecasters import SeriesSettings, make_forecaster

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "specs" / "examples" / "co2-gru-keras.yaml"

rng = np.random.default_rng(11)
_t = np.arange(220)
SERIES = 100 + 0.3 * _t + 6 * np.sin(2 * np.pi * _t / 12) + rng.normal(scale=0.5, size=len(_t))
N_TRAIN, N_VAL = 160, 30


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    folder = tmp_path_factory.mktemp("keras-gru")
    result = build(EXAMPLE, folder / "p")
    assert result.ok and result.plan is not None, result.diagnostics
    package = result.plan.package
    sys.path.insert(0, str(folder / "p"))
    try:
        yield importlib.import_module(f"{package}.model")
    finally:
        sys.path.remove(str(folder / "p"))
        for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
            del sys.modules[name]


def _forecaster(model: ModuleType, *, multi_step: str = "direct", params: Mapping[str, Any] | None = None,
                **training: Any) -> Any:
    settings = SeriesSettings("t", "y", 4, tuple(range(1, 13)), 12, "MS", multi_step)
    spec_training = {"epochs": 6, "batch_size": 32, "learning_rate": 0.01, **training}
    return make_forecaster("gru", settings=settings, params={"hidden_size": 8, **dict(params or {})}, seed=0,
                           scaling="standard", backend="keras", build_network=model.build_network,
                           train_network=model.train_network, training=spec_training)


def _fit(forecaster: Any, **settings: Any) -> Any:
    return forecaster.fit_with(SERIES[:N_TRAIN], validation=SERIES[N_TRAIN:N_TRAIN + N_VAL],
                               settings=FitSettings(**{"scoring": "mae", **settings}), progress=False)


def test_the_network_is_the_generated_gru_and_stops_on_the_validation_windows(model: ModuleType) -> None:
    from aispec.runtime.backends.keras.env import keras

    forecaster = _fit(_forecaster(model, epochs=30, learning_rate=0.05, early_stopping={"patience": 2}))
    network = forecaster.model.network_
    assert [type(layer) for layer in network.layers] == [keras.layers.GRU, keras.layers.Dense]
    assert network.layers[0].units == 8 and network.layers[-1].units == 4
    history = forecaster.history_
    losses = [e["val_loss"] for e in history["epochs"]]
    assert history["stopped_early"] and len(losses) < 30 and all("val_mae" in e for e in history["epochs"])
    assert history["best_epoch"] == int(np.argmin(losses))
    # Keras restored the best epoch's weights: their loss on the validation windows, recomputed here
    from aispec.runtime.series.windows import lag_windows

    windows = lag_windows(SERIES[:N_TRAIN + N_VAL], tuple(range(12, 0, -1)), 4, "direct")
    keep = windows.origins + 1 >= N_TRAIN
    predicted = forecaster._predict(windows.X[keep])
    mse = float(np.mean(((predicted - windows.Y[keep]) / forecaster.scaler.scale) ** 2))
    assert mse == pytest.approx(min(losses), rel=1e-3)
    with pytest.raises(ConfigError, match="activation"):
        _forecaster(model, params={"activation": "relu"})


@pytest.mark.parametrize("multi_step", ["recursive", "direct"])
def test_the_exported_graph_serves_kerass_forecast_with_its_window_fixed(model: ModuleType, multi_step: str,
                                                                        tmp_path: Path) -> None:
    import onnx
    import onnxruntime as ort

    from aispec.runtime.serving.forecaster import ServedForecaster

    forecaster = _fit(_forecaster(model, multi_step=multi_step))
    origins = backtest.test_origins(N_TRAIN + N_VAL, len(SERIES), 4)
    histories = backtest.histories(SERIES, origins, 12)
    result = forecaster.export(tmp_path, histories)
    assert result.parity_ok and result.reference == "Keras", result
    assert "the served graph's window is fixed at 12; 9 on a second export" in result.compared
    graph = onnx.load(str(tmp_path / "model.onnx"))
    dims = [d.dim_param or d.dim_value for d in graph.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 12] and result.parameters["fixed_window"] is True
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    with pytest.raises(Exception, match="dimension|Got"):  # another length is refused, not computed wrongly
        session.run(None, {"lags": histories[:, -9:].astype(np.float32)})
    contract = {"kind": "lag", "file": "model.onnx", "horizon": 4, "context": 12,
                "lags": list(forecaster.settings.lags), "multi_step": multi_step}
    served = ServedForecaster.load(tmp_path, contract)
    expected = forecaster.forecast(histories).mean
    for row, history in enumerate(histories):
        np.testing.assert_allclose(served.forecast(history).mean, expected[row], atol=1e-3)
        # at batch sizes 1 and 3 the graph gives what Keras gives for the same windows
    X = forecaster._windows_seen(histories)
    for chunk in (1, 3):
        got = np.concatenate([session.run(None, {"lags": X[i:i + chunk].astype(np.float32)})[0]
                              for i in range(0, len(X), chunk)])
        np.testing.assert_allclose(got, forecaster._predict(X), atol=1e-3)


def test_an_interrupted_training_resumes_from_its_backup(model: ModuleType, tmp_path: Path) -> None:
    class Crash(Exception):
        pass

    def crash(epoch: int, logs: Mapping[str, float]) -> None:
        if epoch == 2:  # at the end of the third epoch, before its backup: two epochs are saved
            raise Crash("power cut")

    training = {"epochs": 6}
    cut = _forecaster(model, **training)
    with pytest.raises(Crash):
        cut.fit_with(SERIES[:N_TRAIN], validation=SERIES[N_TRAIN:N_TRAIN + N_VAL],
                     settings=FitSettings(checkpoint_dir=tmp_path), on_epoch=crash, progress=False)
    assert (tmp_path / "backup").is_dir()
    resumed = _fit(_forecaster(model, **training), checkpoint_dir=tmp_path, resume=True)
    assert resumed.history_["resumed_from"] == 2 and len(resumed.history_["epochs"]) == 6
    assert (tmp_path / "best.weights.h5").exists() and not (tmp_path / "backup").exists()
    fresh = _fit(_forecaster(model, **training), checkpoint_dir=tmp_path)
    assert fresh.history_["resumed_from"] is None and len(fresh.history_["epochs"]) == 6


def test_early_stopping_can_watch_a_forecasting_metric_of_the_validation_windows(model: ModuleType) -> None:
    forecaster = _fit(_forecaster(model, epochs=30, learning_rate=0.05,
                                  early_stopping={"patience": 2, "monitor": "val_mae"}))
    assert forecaster.settings_.early_stopping.monitor == "val_mae" and forecaster.settings_.mode == "min"
    history = forecaster.history_
    maes = [e["val_mae"] for e in history["epochs"]]
    assert history["stopped_early"] and history["best_epoch"] == int(np.argmin(maes))
    # without a validation part there is nothing to measure it on: the training loss is watched
    alone = _forecaster(model, early_stopping={"patience": 2, "monitor": "val_mae"})
    assert alone.model.settings(has_validation=False).early_stopping.monitor == "loss"
