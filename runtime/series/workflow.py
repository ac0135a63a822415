"""The forecasting steps of a run: ``runtime.workflow`` hands a task of the ``series`` modality here.

``train`` (fit, or search / auto by rolling-origin backtests on the training part) → ``evaluate``
(forecasts from rolling origins over the test split, beside the naive and seasonal-naive baselines) →
``export`` (model.onnx or forecaster.npz, parity with the framework) → ``measure_service`` →
``serving_metadata``. The split's frames are the regular series of :func:`.frame.regularize`, in time
order (train, then validation when asked, then test).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from . import backtest, clock
from .forecasters import BASELINES, Baseline, Forecaster

__all__ = ["evaluate", "export", "measure_service", "serving_metadata", "train", "train_auto"]

DRIFT_SAMPLE = 500


def _series(splits: Any, forecaster: Forecaster) -> tuple[Any, np.ndarray, int, int]:
    """The whole series in time order, its values, the training length and where the test part starts."""
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    parts = [splits.train] + ([splits.validation] if splits.validation is not None else []) + [splits.test]
    frame = pd.concat(parts)
    time_column, target = forecaster.settings.time_column, forecaster.settings.target
    for column in (time_column, target):
        if column not in frame.columns:
            raise ConfigError(f"the split has no column '{column}'")
    order = np.argsort(frame[time_column].to_numpy(), kind="stable")
    if not np.array_equal(order, np.arange(len(frame))):
        raise ConfigError("a forecasting split must be time-ordered: the test split is the last part of the series",
                          hint="remove data.split.time_ordered: false")
    values = frame[target].to_numpy(dtype=np.float64)
    n_train = len(splits.train)
    start = n_train + (len(splits.validation) if splits.validation is not None else 0)
    return frame, values, n_train, start


def _frequency(frame: Any, forecaster: Forecaster) -> clock.Frequency:
    from .frame import canonical_frequency

    times = frame[forecaster.settings.time_column]
    return canonical_frequency(forecaster.settings.frequency, times.iloc[0], times)[0]


def _validation(folds: int, horizon: int) -> str:
    return (f"rolling-origin backtest on the training part: {folds} origins {horizon} steps apart, each model "
            f"fitted on the steps before its origin and scored on the next {horizon}")


def train(make: Callable[[dict[str, Any] | None], Forecaster], splits: Any, *, task: str, target: str | None,
          scoring: str, seed: int, search: Any = None, backend: str = "sklearn", settings: Any = None) -> Any:
    """Fit ``make(params)`` on the training part; with ``search`` (``workflow.SearchSettings``) the
    parameters are chosen first by rolling-origin backtests on the training part (``search.folds`` origins).

    A network (``trains_by_epochs``) also reads the validation part (early stopping) and ``settings``
    (``api.FitSettings``: the training section, device, checkpoints, --resume); its search trains each trial
    once and scores it by rolling-origin forecasts over the validation steps, pruning bad trials by epoch
    (``networks.search``)."""
    from aispec.schemas.vocabulary import METRICS

    from ..workflow import Trained

    probe = make(None)
    frame, values, n_train, start = _series(splits, probe)
    train_values = values[:n_train]
    result = None
    params: dict[str, Any] = {}
    validation = None
    if search is not None and search.space and probe.trains_by_epochs:
        from . import networks

        result = networks.search(make, search.space, values[:start], n_train=n_train, method=search.method,
                                 trials=search.trials, timeout_s=search.timeout_s, folds=search.folds, scoring=scoring,
                                 greater_is_better=METRICS[scoring].higher_is_better, seed=seed,
                                 season=probe.settings.season, settings=settings)
        params = dict(result.best_params)
        validation = result.validation
    elif search is not None and search.space:
        result = backtest.search(make, search.space, train_values, method=search.method, trials=search.trials,
                                 timeout_s=search.timeout_s, folds=search.folds, scoring=scoring,
                                 greater_is_better=METRICS[scoring].higher_is_better, seed=seed,
                                 season=probe.settings.season)
        params = dict(result.best_params)
        validation = _validation(search.folds, probe.horizon)
    forecaster = make(params or None)
    started = time.perf_counter()
    forecaster.fit_with(train_values, validation=values[n_train:start], settings=settings)
    elapsed = time.perf_counter() - started
    forecaster.frequency = _frequency(frame, forecaster).alias  # type: ignore[attr-defined]
    return Trained(forecaster, forecaster.family, params, task, target, [], None, elapsed, result,
                   validation=validation, scoring=scoring, split_rules={"time_ordered": True}, backend=backend)


def train_auto(make_for: Callable[[str], Callable[[dict[str, Any] | None], Forecaster]], splits: Any, *,
               candidates: Sequence[str], budget_s: float, task: str, target: str | None, scoring: str, folds: int,
               backend: str = "sklearn") -> Any:
    """``family: auto``: every candidate's defaults backtested on the training part, the best refitted."""
    from aispec.schemas.vocabulary import FAMILIES, METRICS

    from ..workflow import Trained

    candidates = sorted(candidates, key=lambda name: (FAMILIES[name].cost if name in FAMILIES else 9, name))
    probe = make_for(candidates[0])(None)
    frame, values, n_train, _ = _series(splits, probe)
    started = time.perf_counter()
    result = backtest.auto(make_for, candidates, values[:n_train], budget_s=budget_s, folds=folds, scoring=scoring,
                           greater_is_better=METRICS[scoring].higher_is_better, season=probe.settings.season)
    forecaster = result.estimator
    forecaster.frequency = _frequency(frame, forecaster).alias
    return Trained(forecaster, result.family, {}, task, target, [], None, time.perf_counter() - started,
                   auto=result, validation=_validation(folds, probe.horizon), scoring=scoring,
                   split_rules={"time_ordered": True}, backend=backend)


# ------------------------------------------------------------------------------------------ evaluate


def _origins(splits: Any, forecaster: Forecaster) -> tuple[Any, np.ndarray, int, list[int]]:
    frame, values, n_train, start = _series(splits, forecaster)
    origins = backtest.test_origins(start, len(values), forecaster.horizon)
    return frame, values, n_train, origins


def evaluate(trained: Any, splits: Any, *, metrics: Sequence[str]) -> Any:
    """The test split forecast from rolling origins (see ``backtest.test_origins``), by the model and by the
    naive and seasonal-naive baselines; MAE, RMSE, MASE, sMAPE (and the other metrics asked) over every
    forecast step; ``predictions.csv``'s frame and the forecast-vs-actual plot."""
    import pandas as pd

    from ..metrics import compute, mase_scale
    from ..workflow import Evaluation, _quality
    from .plot import forecast_vs_actual

    forecaster: Forecaster = trained.pipeline
    settings = forecaster.settings
    frame, values, n_train, origins = _origins(splits, forecaster)
    if not origins:
        raise ConfigError("the test split is empty: nothing to forecast", hint="raise data.split.test")
    names = _quality(metrics, trained.task)
    scale = mase_scale(values[:n_train], settings.season)
    evaluation = Evaluation(metrics={}, split_sizes=splits.sizes())
    forecast = forecaster.forecast(backtest.histories(values, origins, forecaster.context))
    truth, predicted, where = backtest.scored(values, origins, forecast, forecaster.horizon)
    evaluation.metrics.update(compute(trained.task, names, y_true=truth, y_pred=predicted, mase_scale=scale,
                                      notes=evaluation.notes))
    times = frame[settings.time_column].to_numpy()
    rows = [row for row, _, _ in where]
    steps = [step for _, _, step in where]
    positions = [origin + step - 1 for _, origin, step in where]
    out = pd.DataFrame({"timestamp": times[positions], "origin": [times[o - 1] for _, o, _ in where],
                        "step": steps, "truth": truth, "forecast": predicted})
    if forecast.lower is not None and forecast.upper is not None:
        out["lower"] = [forecast.lower[r, s - 1] for r, s in zip(rows, steps, strict=True)]
        out["upper"] = [forecast.upper[r, s - 1] for r, s in zip(rows, steps, strict=True)]
    baselines: dict[str, dict[str, float]] = {}
    for family in BASELINES:
        baseline = Baseline(family, settings).fit(values[:n_train])
        base = baseline.forecast(backtest.histories(values, origins, baseline.context))
        _, base_predicted, _ = backtest.scored(values, origins, base, forecaster.horizon)
        out[family] = base_predicted
        baselines[family] = compute(trained.task, names, y_true=truth, y_pred=base_predicted, mase_scale=scale)
    evaluation.predictions = out
    evaluation.baselines = baselines
    evaluation.forecast = {"origins": len(origins), "horizon": forecaster.horizon, "season": settings.season,
                           "context": forecaster.context, "multi_step": settings.multi_step,
                           "frequency": getattr(forecaster, "frequency", settings.frequency),
                           "lags": list(settings.lags), "mase_scale": scale, "intervals": forecast.lower is not None,
                           "forecast_steps": len(truth)}
    evaluation.metrics["train_time_s"] = round(trained.fit_seconds, 4)
    tail = max(forecaster.horizon, 2 * settings.season)
    history = (times[max(0, origins[0] - tail):origins[0]], values[max(0, origins[0] - tail):origins[0]])
    evaluation.plots["forecast_vs_actual"] = forecast_vs_actual(out, history=history,
                                                                title=f"{forecaster.describe()}: forecast vs actual")
    epochs = getattr(forecaster, "history_", None)  # a network keeps its per-epoch figures
    if isinstance(epochs, Mapping) and epochs.get("epochs"):
        from ..plots import training_curves

        evaluation.plots["training_curves"] = training_curves(epochs["epochs"], best_epoch=epochs.get("best_epoch"))
    return evaluation


# -------------------------------------------------------------------------------------------- export


def export(trained: Any, splits: Any, *, out_dir: Path, latency_rows: int = 50) -> Any:
    """The forecaster's served files in ``out_dir`` (``model.onnx`` for a lag model, ``forecaster.npz`` for
    the others), their parity with the framework on the test origins, and the in-process latency of one
    forecast as the service computes it."""
    from .. import metrics as metric_fns
    from ..errors import ExportError
    from ..export import OnnxReport
    from ..serving.forecaster import ServedForecaster
    from ..workflow import Exported
    from .forecasters import MODEL_FILE, PARAMETERS_FILE

    forecaster: Forecaster = trained.pipeline
    _, values, n_train, origins = _origins(splits, forecaster)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in (MODEL_FILE, PARAMETERS_FILE, "model.fp32.onnx", "model.int8.onnx"):
        (out_dir / stale).unlink(missing_ok=True)
    histories = backtest.histories(values, origins, forecaster.context)
    try:
        result = forecaster.export(out_dir, histories)
    except ExportError as error:
        return Exported(skipped=error.message, operational={"train_time_s": round(trained.fit_seconds, 4)})
    report = OnnxReport(
        path=result.file, n_rows=result.n_values, label_agreement=None, max_abs_diff=result.max_abs_diff,
        mean_abs_diff=result.mean_abs_diff, scale=result.scale, compared=result.compared,
        inputs={"lags": "float"} if result.kind == "lag" else {}, columns={}, outputs=result.outputs,
        opset=result.opset, size_bytes=result.size_bytes, tol=result.tol, max_tol=result.max_tol,
        min_label_agreement=0.999, parity_ok=result.parity_ok,
        contract={"task": trained.task, "value": result.outputs[0]}, reference=result.reference,
        runtime=result.runtime)
    served = ServedForecaster.load(out_dir, forecast_contract(trained, result, values[:n_train]))
    rows = [histories[i % len(histories)] for i in range(min(latency_rows, max(len(histories), 1) * 10))]
    latency = metric_fns.latency(lambda row: served.forecast(row, forecaster.horizon), rows)
    operational = {
        "p50_latency_ms": latency["p50_latency_ms"], "p95_latency_ms": latency["p95_latency_ms"],
        "p99_latency_ms": latency["p99_latency_ms"],
        **{f"model_{k}": latency[k] for k in ("p50_latency_ms", "p95_latency_ms", "p99_latency_ms")},
        "model_size_mb": round(result.size_bytes / 1e6, 4), "train_time_s": round(trained.fit_seconds, 4)}
    exported = Exported(report, latency, None, operational, None, model_latency=dict(latency), directory=out_dir)
    exported.series = result  # type: ignore[attr-defined]
    return exported


def forecast_contract(trained: Any, result: Any, train_values: np.ndarray) -> dict[str, Any]:
    """``serving.json``'s ``forecast`` section: what the service needs to forecast from posted history
    (``train_values``: the training part, the drift reference)."""
    from ..serving.contract import _numeric_reference

    forecaster: Forecaster = trained.pipeline
    settings = forecaster.settings
    season = settings.season
    change_lag = season if season > 1 else 1
    level = _numeric_reference(train_values, seed=0)
    change = _numeric_reference(train_values[change_lag:] - train_values[:-change_lag], seed=1)
    return {
        "family": forecaster.family, "kind": result.kind, "file": result.file,
        "time_column": settings.time_column, "target": settings.target,
        "frequency": getattr(forecaster, "frequency", None) or settings.frequency or "",
        "horizon": forecaster.horizon, "context": forecaster.context, "season": season,
        "lags": list(settings.lags), "multi_step": settings.multi_step,
        "intervals": 0.95 if forecaster.intervals else None, "parameters": dict(result.parameters),
        "drift": [
            {"name": f"{settings.target}:level", "input": "level", "type": "numeric", "dtype": "double",
             "nullable": False, "range": None, "allowed": None, "unit": None, "reference": level,
             "description": "the last posted value, against the training values"},
            {"name": f"{settings.target}:change", "input": "change", "type": "numeric", "dtype": "double",
             "nullable": False, "range": None, "allowed": None, "unit": None, "reference": change,
             "description": f"the last posted value minus the value {change_lag} step(s) before it, against "
                            "the same differences in training"}],
        "change_lag": change_lag,
    }


def serving_metadata(spec: Mapping[str, Any], trained: Any, splits: Any, evaluation: Any, exported: Any,
                     spec_hash: str, *, gates: Any) -> Any:
    """The ``serving.json`` dict of a forecaster (no request columns: a request posts recent history)."""
    from ..serving.contract import serving_metadata as build
    from .clock import format_timestamp, parse

    if exported.onnx is None or splits is None or getattr(exported, "series", None) is None:
        return None
    forecaster: Forecaster = trained.pipeline
    frame, values, n_train, _ = _origins(splits, forecaster)
    onnx = exported.onnx.to_dict()
    meta = build(onnx=onnx, features=[], columns={}, frame=None, task=trained.task, target=trained.target,
                 classes=None, project_name=spec["project"]["name"], project_version=spec["project"]["version"],
                 spec_hash=spec_hash, metrics={**evaluation.metrics, **exported.operational},
                 deployment=spec["deployment"], monitoring=spec["monitoring"], pii=spec["compliance"]["pii"],
                 seed=spec["data"]["split"]["seed"], created_at="", model_file=exported.series.file, gates=gates)
    contract = forecast_contract(trained, exported.series, values[:n_train])
    frequency = parse(contract["frequency"])
    times = frame[forecaster.settings.time_column].iloc[n_train - forecaster.context:n_train]
    meta["forecast"] = contract  # type: ignore[typeddict-item]
    meta["example"] = {"timestamps": [format_timestamp(t.to_pydatetime(), frequency) for t in times],
                       "values": [float(v) for v in values[n_train - forecaster.context:n_train]]}
    return meta


def request_bodies(meta: Mapping[str, Any], splits: Any, forecaster: Forecaster) -> list[bytes]:
    """JSON bodies of forecast requests from the test origins' histories, as a client posts them."""
    import json

    from .clock import format_timestamp, parse

    frame, values, _, origins = _origins(splits, forecaster)
    frequency = parse(meta["forecast"]["frequency"])
    times = frame[forecaster.settings.time_column]
    bodies = []
    for origin in origins:
        start = origin - forecaster.context
        stamps = [format_timestamp(t.to_pydatetime(), frequency) for t in times.iloc[start:origin]]
        bodies.append(json.dumps({"timestamps": stamps, "values": [float(v) for v in values[start:origin]]},
                                 allow_nan=False).encode("utf-8"))
    return bodies


def measure_service(trained: Any, splits: Any, exported: Any, *, spec: Mapping[str, Any], evaluation: Any,
                    spec_hash: str = "", requests: int = 200, warmup: int = 20) -> Any:
    """The forecast route's latency over loopback HTTP: one request = one horizon forecast from the history a
    test origin posts. The figures become the ``p50/p95/p99_latency_ms`` the gates read."""
    import shutil
    import tempfile

    from .. import metrics as metric_fns
    from ..serving import loopback
    from ..serving.contract import write_serving_metadata

    meta = serving_metadata(spec, trained, splits, evaluation, exported, spec_hash, gates=None)
    if meta is None:
        return exported
    with tempfile.TemporaryDirectory(prefix="aispec-latency-") as tmp:
        folder = Path(tmp)
        assert exported.directory is not None
        shutil.copyfile(exported.directory / meta["model"]["file"], folder / meta["model"]["file"])
        write_serving_metadata(folder / "serving.json", meta)
        bodies = request_bodies(meta, splits, trained.pipeline)
        with loopback.loopback_service(folder, log_dir=folder / "logs") as client:
            def one(body: bytes) -> None:
                status, answer = client.post(body)
                if status != 200:
                    raise ConfigError(f"the service answered {status} to a forecast request: {answer[:300]!r}")

            http = metric_fns.latency(one, bodies, repeat=requests, warmup=warmup)
    exported.latency = {**http, "rows": float(len(bodies))}
    exported.latency_source = "http"
    exported.operational.update({k: http[k] for k in ("p50_latency_ms", "p95_latency_ms", "p99_latency_ms")})
    return exported
