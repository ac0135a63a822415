"""co2 (weekly, 1958-2001): every forecasting family against seasonal-naive and statsforecast's AutoETS on
the same split, scored the way a run scores the test split.

    python benchmarks/bench_forecasting.py [--statsforecast-python PATH] [--skip arima] [--networks-only]

The split is the example's (train 80 %, test the last 20 % = 457 weeks), forecast 52 weeks at a time from
9 rolling origins; MASE divides by the seasonal-naive MAE (season 52) of the training part. Each aispec
family is fitted once on the training part and forecasts from the last ``context`` observations before
each origin, as the service does. The networks (lstm and gru, on torch and on Keras) are the code the
co2-lstm / co2-gru-keras examples generate (their model.py, loop.py): a window of the last 52 weeks, all
52 steps at once (direct), trained on the first 70 % and stopped early on the next 10 % (the examples'
split: the same training part, the same test origins), at the full settings of ``NETWORK_TRAINING``.
AutoETS is fitted at each origin on all data before it (statsforecast's usual protocol, which favours it).
statsforecast is not an aispec dependency: it is imported here when installed, or run in another
interpreter given by ``--statsforecast-python`` (it pins pandas < 3).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HORIZON, SEASON = 52, 52
FAMILIES = [("seasonal_naive", {}), ("naive", {}), ("ridge", {"alpha": 0.01}),
            ("ridge", {"alpha": 0.01, "lags": tuple(range(1, 53))}), ("lasso", {"alpha": 0.001}),
            ("gradient_boosting", {}), ("random_forest", {"n_estimators": 100}), ("ets", {}),
            ("ets", {"damped": True}), ("arima", {})]

# the networks: (family, back end, example spec whose generated code builds it)
NETWORKS = [("lstm", "torch", "co2-lstm"), ("gru", "torch", "co2-lstm"), ("lstm", "keras", "co2-gru-keras"),
            ("gru", "keras", "co2-gru-keras")]
NETWORK_PARAMS = {"hidden_size": 32, "num_layers": 1}
NETWORK_TRAINING = {"loss": "mse", "optimizer": "adam", "learning_rate": 0.003, "batch_size": 64, "epochs": 80,
                    "early_stopping": {"patience": 10, "monitor": "val_loss"}, "seed": 7}
VALIDATION = 0.1

AUTOETS = """
import json, sys, numpy as np, pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoETS
y = np.array(json.loads(sys.argv[1])); origins = json.loads(sys.argv[2]); h = int(sys.argv[3]); m = int(sys.argv[4])
out = []
for o in origins:
    df = pd.DataFrame({"unique_id": "co2", "ds": np.arange(o), "y": y[:o]})
    sf = StatsForecast(models=[AutoETS(season_length=m)], freq=1)
    out.append(sf.forecast(df=df, h=h)["AutoETS"].to_numpy().tolist())
print(json.dumps(out))
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--statsforecast-python", default=None)
    parser.add_argument("--skip", nargs="*", default=[])
    parser.add_argument("--networks-only", action="store_true", help="only the networks and the baselines")
    args = parser.parse_args()
    from aispec.runtime.datasets import load_bundled
    from aispec.runtime.metrics import mase_scale
    from aispec.runtime.series import backtest
    from aispec.runtime.series.forecasters import SeriesSettings, make_forecaster
    from aispec.runtime.series.frame import regularize

    series, _ = regularize(load_bundled("co2").dropna(), time_column="date", target="co2", frequency="W")
    y = series["co2"].to_numpy()
    n_train = len(y) - round(0.2 * len(y))
    origins = backtest.test_origins(n_train, len(y), HORIZON)
    scale = mase_scale(y[:n_train], SEASON)
    rows = []

    def score(name: str, mean: np.ndarray, seconds: float) -> None:
        truth, predicted, _ = backtest.scored(y, origins, type("F", (), {"mean": mean})(), HORIZON)  # type: ignore[arg-type]
        mae = float(np.mean(np.abs(truth - predicted)))
        smape = float(np.mean(2 * np.abs(truth - predicted) / (np.abs(truth) + np.abs(predicted))))
        rows.append((name, mae / scale, mae, float(np.sqrt(np.mean((truth - predicted) ** 2))), smape, seconds))
        print(f"{name:42s} MASE {mae / scale:.3f}  MAE {mae:.3f}  fit+forecast {seconds:.1f} s", flush=True)

    for family, params in FAMILIES:
        if family in args.skip or (args.networks_only and family not in ("seasonal_naive", "naive")):
            continue
        params = dict(params)
        lags = params.pop("lags", (1, 2, 3, 4, 52))
        settings = SeriesSettings("date", "co2", HORIZON, tuple(lags), SEASON, "W")
        started = time.perf_counter()
        forecaster = make_forecaster(family, settings=settings, params=params, scaling="standard").fit(y[:n_train])
        mean = forecaster.forecast(backtest.histories(y, origins, forecaster.context)).mean
        label = f"{family}{'' if not params else ' ' + json.dumps(params)}" + (
            f" lags 1..{max(lags)}" if len(lags) > 10 else "")
        score(label, mean, time.perf_counter() - started)

    for family, backend, example in NETWORKS:
        if family in args.skip or backend in args.skip:
            continue
        started = time.perf_counter()
        forecaster = _network(family, backend, example, y, n_train)
        mean = forecaster.forecast(backtest.histories(y, origins, forecaster.context)).mean
        score(f"{family} ({backend}) {forecaster.describe()}", mean, time.perf_counter() - started)

    started = time.perf_counter()
    try:
        code = AUTOETS
        python = args.statsforecast_python or sys.executable
        with tempfile.TemporaryDirectory():
            proc = subprocess.run([python, "-c", code, json.dumps(y.tolist()), json.dumps(origins), str(HORIZON),
                                   str(SEASON)], capture_output=True, text=True, timeout=1800, check=True)
        score("statsforecast AutoETS(season_length=52)", np.array(json.loads(proc.stdout.strip().splitlines()[-1])),
              time.perf_counter() - started)
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        print(f"statsforecast not run: {getattr(exc, 'stderr', exc)!s:.300}")
    print("\n| family | MASE | MAE (ppm) | RMSE | sMAPE | seconds |\n|---|---:|---:|---:|---:|---:|")
    for name, mase, mae, rmse, smape, seconds in sorted(rows, key=lambda r: r[1]):
        print(f"| {name} | {mase:.3f} | {mae:.3f} | {rmse:.3f} | {smape:.5f} | {seconds:.1f} |")
    Path(tempfile.gettempdir(), "bench_forecasting.json").write_text(json.dumps(rows))
    return 0


def _network(family: str, backend: str, example: str, y: np.ndarray, n_train: int) -> object:
    """``family`` on ``backend``, from the example project's generated code, trained on the first 70 % and
    stopped early on the next 10 % of the series (the example's split)."""
    import importlib

    from aispec.compiler.build import build
    from aispec.runtime.api import FitSettings
    from aispec.runtime.series.forecasters import SeriesSettings, make_forecaster

    folder = Path(tempfile.mkdtemp(prefix="bench-forecasting-")) / example
    result = build(Path(__file__).resolve().parents[1] / "specs" / "examples" / f"{example}.yaml", folder)
    assert result.ok and result.plan is not None, result.diagnostics
    sys.path.insert(0, str(folder))
    model = importlib.import_module(f"{result.plan.package}.model")
    builders: dict[str, object] = {"training": NETWORK_TRAINING}
    if backend == "torch":
        builders.update(network=model.build_network,
                        loop=importlib.import_module(f"{result.plan.package}.loop").train_loop)
    else:
        builders.update(build_network=model.build_network, train_network=model.train_network)
    model.FAMILY = family  # the generated network picks its cell (LSTM or GRU) by FAMILY
    settings = SeriesSettings("date", "co2", HORIZON, tuple(range(1, SEASON + 1)), SEASON, "W", "direct")
    forecaster = make_forecaster(family, settings=settings, params=NETWORK_PARAMS, seed=NETWORK_TRAINING["seed"],
                                 scaling="standard", backend=backend, **builders)
    n_fit = n_train - round(VALIDATION * len(y))
    forecaster.fit_with(y[:n_fit], validation=y[n_fit:n_train], settings=FitSettings(scoring="mae", cpus=1),
                        progress=False)
    return forecaster


if __name__ == "__main__":
    raise SystemExit(main())
