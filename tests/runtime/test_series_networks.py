"""Network forecasters (lstm / gru) on the torch back end, through the code the co2-lstm example generates
(its ``Network``, ``build_network`` and ``train_loop``), and the shared parts of
``aispec.runtime.series.networks``: the window scaling against numpy, the served graph's scaling against
numpy, parity with the eager network at two batch sizes and two window lengths, early stopping on the
validation windows, --resume, and the search's pruning and scoring.

Data: a small synthetic monthly series (trend + season 12 + noise, seeded); each fit takes well under a
second on the CPU.
"""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from scipy import stats

from aispec.runtime.api import FitSettings
from aispec.runtime.errors import ConfigError
from aispec.runtime.series import backtest
from aispec.runtime.series.forecasters import SeriesSettings, make_forecaster
from aispec.runtime.series.networks import WindowScale, sequence_lags, wrap_graph

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "specs" / "examples" / "co2-lstm.yaml"

rng = np.random.default_rng(11)
_t = np.arange(260)
SERIES = 100 + 0.3 * _t + 6 * np.sin(2 * np.pi * _t / 12) + rng.normal(scale=0.5, size=len(_t))
N_TRAIN, N_VAL = 180, 40  # then 40 test steps


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ModuleType]]:
    """The co2-lstm example's generated model.py and loop.py, imported as the project imports them."""
    pytest.importorskip("torch")
    from aispec.compiler.build import build

    folder = tmp_path_factory.mktemp("lstm-project")
    result = build(EXAMPLE, folder / "p")
    assert result.ok and result.plan is not None
    package = result.plan.package
    sys.path.insert(0, str(folder / "p"))
    try:
        yield {"model": importlib.import_module(f"{package}.model"), "loop": importlib.import_module(f"{package}.loop")}
    finally:
        sys.path.remove(str(folder / "p"))
        for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
            del sys.modules[name]


def _forecaster(project: Mapping[str, ModuleType], *, multi_step: str = "direct", lags: tuple[int, ...] = (),
                horizon: int = 6, params: Mapping[str, Any] | None = None, scaling: str = "standard",
                **training: Any) -> Any:
    settings = SeriesSettings("t", "y", horizon, lags or tuple(range(1, 13)), 12, "MS", multi_step)
    spec_training = {"epochs": 8, "batch_size": 32, "learning_rate": 0.01, "seed": 0, **training}
    return make_forecaster("lstm", settings=settings, params={"hidden_size": 8, **dict(params or {})},
                           scaling=scaling, backend="torch", network=project["model"].build_network,
                           loop=project["loop"].train_loop, training=spec_training)


def _fit(forecaster: Any, values: Any = SERIES[:N_TRAIN], validation: Any = SERIES[N_TRAIN:N_TRAIN + N_VAL],
         **settings: Any) -> Any:
    settings = {"scoring": "mae", **settings}  # the primary metric: reported per epoch on the validation windows
    return forecaster.fit_with(values, validation=validation, settings=FitSettings(**settings), progress=False)


# ------------------------------------------------------------------------------- shared: the scaling


@pytest.mark.parametrize(("scaling", "oracle"), [
    ("standard", lambda y: np.std(y)), ("minmax", lambda y: np.ptp(y)), ("robust", lambda y: stats.iqr(y)),
    ("none", lambda y: 1.0)])
def test_window_scale_is_learned_on_the_training_values_and_centred_on_each_windows_last(scaling: str,
                                                                                         oracle: Any) -> None:
    scale = WindowScale(scaling).fit(SERIES[:N_TRAIN])
    assert scale.scale == pytest.approx(float(oracle(SERIES[:N_TRAIN])), rel=1e-12)
    X = np.stack([SERIES[i:i + 12] for i in range(5)])
    Y = np.stack([SERIES[i + 12:i + 15] for i in range(5)])
    np.testing.assert_allclose(scale.inputs(X), (X - X[:, -1:]) / scale.scale, rtol=1e-6)
    assert np.all(scale.inputs(X)[:, -1] == 0)
    np.testing.assert_allclose(scale.restore(X, scale.targets(X, Y)), Y, rtol=1e-6)  # restore undoes targets
    assert WindowScale("standard").fit(np.full(20, 3.0)).scale == 1.0  # a constant series is left unscaled
    with pytest.raises(ConfigError, match="scaling"):
        WindowScale("quantile")


def test_sequence_lags_are_the_declared_lags_oldest_first() -> None:
    assert sequence_lags((1, 2, 3)) == (3, 2, 1) and sequence_lags([52, 1, 2, 1]) == (52, 2, 1)


def _toy_network(outputs: int) -> Any:
    """An ONNX 'network' by hand: (batch, time, 1) → mean over time and last value, times weights →
    (batch, outputs), with a dynamic time axis."""
    from onnx import TensorProto, helper, numpy_helper

    weights = np.arange(1, 2 * outputs + 1, dtype=np.float32).reshape(2, outputs) / 10
    nodes = [
        helper.make_node("ReduceMean", ["x"], ["mean"], axes=[1], keepdims=0),  # (batch, 1)
        helper.make_node("Gather", ["x", "last"], ["lastv"], axis=1),  # (batch, 1)
        helper.make_node("Concat", ["mean", "lastv"], ["both"], axis=1),  # (batch, 2)
        helper.make_node("MatMul", ["both", "w"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "toy", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "t", 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", outputs])],
                              initializer=[numpy_helper.from_array(np.array(-1, dtype=np.int64), "last"),
                                           numpy_helper.from_array(weights, "w")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), weights


@pytest.mark.parametrize("outputs", [1, 4])
def test_the_served_graph_applies_the_scaling_around_any_network(outputs: int) -> None:
    import onnxruntime as ort

    network, weights = _toy_network(outputs)
    graph = wrap_graph(network, scale=2.5, outputs=outputs)
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["lags"] and [o.name for o in session.get_outputs()] == ["forecast"]
    for batch, length in ((5, 12), (1, 12), (5, 7), (1, 3)):  # two batch sizes, and other lengths
        X = SERIES[:batch * length].reshape(batch, length)
        z = (X - X[:, -1:]) / 2.5
        expected = np.stack([z.mean(axis=1), z[:, -1]], axis=1) @ weights * 2.5 + X[:, -1:]
        got = session.run(None, {"lags": X.astype(np.float32)})[0]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


# ---------------------------------------------------------------------------------------- torch


def test_the_network_is_the_generated_recurrent_module(project: dict[str, ModuleType]) -> None:
    import torch

    forecaster = _fit(_forecaster(project, params={"num_layers": 2, "dropout": 0.1}))
    network = forecaster.model.network_
    assert isinstance(network, project["model"].Network) and isinstance(network.rnn, torch.nn.LSTM)
    assert (network.rnn.hidden_size, network.rnn.num_layers, network.head.out_features) == (8, 2, 6)
    assert forecaster.settings.lags == tuple(range(12, 0, -1)) and forecaster.context == 12
    assert "lstm(" in forecaster.describe() and "window 12, direct" in forecaster.describe()
    with pytest.raises(ConfigError, match="activation"):
        project["model"].check_params("lstm", {"activation": "relu"}, accepted=project["model"].NETWORK_PARAMS)


def test_a_level_shift_of_the_series_shifts_the_forecast_by_the_same_amount(project: dict[str, ModuleType]) -> None:
    """Windows are read relative to their last value and the scale ignores the level: the same network is
    trained on y and on y + 1000, and its forecasts differ by exactly 1000 (up to float32)."""
    a = _fit(_forecaster(project, multi_step="recursive", horizon=4))
    b = _fit(_forecaster(project, multi_step="recursive", horizon=4), SERIES[:N_TRAIN] + 1000,
             SERIES[N_TRAIN:N_TRAIN + N_VAL] + 1000)
    origins = backtest.test_origins(N_TRAIN + N_VAL, len(SERIES), 4)
    fa = a.forecast(backtest.histories(SERIES, origins, 12)).mean
    fb = b.forecast(backtest.histories(SERIES + 1000, origins, 12)).mean
    np.testing.assert_allclose(fb - fa, 1000, atol=2e-3)


def test_early_stopping_watches_the_validation_windows_and_keeps_the_best_epoch(project: dict[str, ModuleType]) -> None:
    forecaster = _fit(_forecaster(project, epochs=25, learning_rate=0.05, early_stopping={"patience": 3}))
    history = forecaster.history_
    losses = [e["val_loss"] for e in history["epochs"]]
    assert history["best_epoch"] == int(np.argmin(losses)) and all("val_mae" in e for e in history["epochs"])
    # the validation windows: every target inside the 40 validation steps, lags reaching into training
    from aispec.runtime.series.windows import lag_windows

    full = SERIES[:N_TRAIN + N_VAL]
    windows = lag_windows(full, tuple(range(12, 0, -1)), 6, "direct")
    keep = windows.origins + 1 >= N_TRAIN
    assert keep.sum() == N_VAL - 6 + 1 == forecaster.validation_windows_
    # the kept network's loss on them, recomputed here, is the best epoch's; its MAE is val_mae, in the unit
    predicted = forecaster._predict(windows.X[keep])
    scale = forecaster.scaler.scale
    mse = float(np.mean(((predicted - windows.Y[keep]) / scale) ** 2))
    assert mse == pytest.approx(min(losses), rel=1e-4)
    assert float(np.mean(np.abs(predicted - windows.Y[keep]))) == pytest.approx(
        history["epochs"][history["best_epoch"]]["val_mae"], rel=1e-4)


@pytest.mark.parametrize("multi_step", ["recursive", "direct"])
def test_onnx_serves_the_frameworks_forecast_at_two_batch_sizes_and_two_lengths(project: dict[str, ModuleType],
                                                                               multi_step: str,
                                                                               tmp_path: Path) -> None:
    import onnx
    import onnxruntime as ort

    from aispec.runtime.serving.forecaster import ServedForecaster

    forecaster = _fit(_forecaster(project, multi_step=multi_step))
    origins = backtest.test_origins(N_TRAIN + N_VAL, len(SERIES), 6)
    histories = backtest.histories(SERIES, origins, 12)
    result = forecaster.export(tmp_path, histories)
    assert result.parity_ok and result.max_abs_diff < 1e-3 * result.scale, result
    assert "batches of" in result.compared and "and 9 (the graph's sequence axis is dynamic)" in result.compared
    graph = onnx.load(str(tmp_path / "model.onnx"))
    dims = [d.dim_param or d.dim_value for d in graph.graph.input[0].type.tensor_type.shape.dim]
    assert graph.graph.input[0].name == "lags" and dims == ["batch", "time"]
    assert not {"torch", "aten"} & {n.domain for n in graph.graph.node}
    # a second length, checked here on our own: the graph against the eager network on the last 5 values
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    short = histories[:, -5:]
    eager = forecaster._predict(short)
    np.testing.assert_allclose(session.run(None, {"lags": short.astype(np.float32)})[0], eager, atol=1e-4)
    np.testing.assert_allclose(session.run(None, {"lags": short[:1].astype(np.float32)})[0], eager[:1], atol=1e-4)
    # the service's forecast (onnxruntime + numpy, from the contract) is the evaluated one
    contract = {"kind": "lag", "file": "model.onnx", "horizon": 6, "context": forecaster.context,
                "lags": list(forecaster.settings.lags), "multi_step": multi_step}
    served = ServedForecaster.load(tmp_path, contract)
    expected = forecaster.forecast(histories).mean
    for row, history in enumerate(histories):
        np.testing.assert_allclose(served.forecast(SERIES[:origins[row]]).mean, expected[row], atol=1e-3)
        assert np.allclose(served.forecast(history).mean, expected[row], atol=1e-3)


def test_resume_continues_an_interrupted_training_exactly(project: dict[str, ModuleType], tmp_path: Path) -> None:
    import torch

    training = {"epochs": 6, "checkpoint_every": 1, "early_stopping": {"patience": 20}}
    whole = _fit(_forecaster(project, **training), checkpoint_dir=tmp_path / "whole")

    class Interrupt(Exception):
        pass

    def stop_after_three(epoch: int, logs: Mapping[str, float]) -> None:
        if epoch == 2:
            raise Interrupt  # as a Ctrl-C would, after epoch 3's checkpoint

    cut = _forecaster(project, **training)
    with pytest.raises(Interrupt):
        cut.fit_with(SERIES[:N_TRAIN], validation=SERIES[N_TRAIN:N_TRAIN + N_VAL],
                     settings=FitSettings(checkpoint_dir=tmp_path / "cut"), on_epoch=stop_after_three, progress=False)
    resumed = _fit(_forecaster(project, **training), checkpoint_dir=tmp_path / "cut", resume=True)
    assert resumed.history_["resumed_from"] == 3 and len(resumed.history_["epochs"]) == 6
    a, b = whole.model.network_.state_dict(), resumed.model.network_.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ConfigError, match="other settings, parameters or data"):  # not another model's checkpoint
        _fit(_forecaster(project, **{**training, "learning_rate": 0.02}), checkpoint_dir=tmp_path / "cut", resume=True)


def test_the_search_scores_rolling_origin_forecasts_over_the_validation_part_and_prunes(
        project: dict[str, ModuleType]) -> None:
    from aispec.runtime.metrics import mase_scale
    from aispec.runtime.search import Choice
    from aispec.runtime.series import networks

    def make(params: dict[str, Any] | None) -> Any:
        return _forecaster(project, params=params, epochs=10)

    values = SERIES[:N_TRAIN + N_VAL]
    result = networks.search(make, {"learning_rate": Choice(0.02, 0.01, 1e-7)}, values, n_train=N_TRAIN,
                             method="random", trials=9, timeout_s=None, folds=3, scoring="mase",
                             greater_is_better=False, seed=0, season=12, settings=FitSettings())
    states = [t["state"] for t in result.trials]
    assert "pruned" in states and "complete" in states, states
    for i, trial in enumerate(result.trials):  # Optuna's median rule, on the validation loss per epoch
        if trial["state"] == "pruned":
            epoch = trial["pruned_at"] - 1
            earlier = [t["per_epoch"][epoch] for t in result.trials[:i] if t["state"] == "complete"]
            assert len(earlier) >= 3 and trial["per_epoch"][epoch] > np.median(earlier)
    assert result.validation.startswith("rolling-origin forecasts over the validation part (40 steps)")
    # the best score, recomputed: the best parameters refitted on the steps before the validation part and
    # forecast from origins 180, 186, ..., MASE scaled by the fitted part's seasonal-naive error
    best = make(result.best_params).fit_with(SERIES[:N_TRAIN], validation=SERIES[N_TRAIN:N_TRAIN + N_VAL],
                                             settings=FitSettings(), progress=False)
    origins = list(range(N_TRAIN, N_TRAIN + N_VAL, 6))
    forecast = best.forecast(np.stack([values[o - 12:o] for o in origins])).mean
    truth = np.concatenate([values[o:o + 6] for o in origins])[:N_VAL]
    predicted = forecast.ravel()[:N_VAL]
    scale = float(np.mean(np.abs(SERIES[12:N_TRAIN] - SERIES[:N_TRAIN - 12])))
    assert scale == pytest.approx(mase_scale(SERIES[:N_TRAIN], 12))
    assert result.best_score == pytest.approx(float(np.mean(np.abs(truth - predicted))) / scale, rel=1e-6)
    assert math.isfinite(result.best_score)


def test_without_a_validation_part_the_search_holds_out_the_last_horizons(project: dict[str, ModuleType]) -> None:
    from aispec.runtime.search import Choice
    from aispec.runtime.series import networks

    result = networks.search(lambda p: _forecaster(project, params=p, epochs=3), {"hidden_size": Choice(4, 8)},
                             SERIES[:N_TRAIN], n_train=N_TRAIN, method="grid", trials=2, timeout_s=None, folds=2,
                             scoring="mae", greater_is_better=False, seed=0, season=12)
    assert "last 12 steps of the training part" in result.validation and result.n_trials == 2
    with pytest.raises(ConfigError, match="needs"):
        networks.search(lambda p: _forecaster(project, params=p, epochs=3), {"hidden_size": Choice(4, 8)},
                        SERIES[:40], n_train=40, method="grid", trials=2, timeout_s=None, folds=5, scoring="mae",
                        greater_is_better=False, seed=0, season=12)
