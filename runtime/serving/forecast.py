"""The forecasting service: ``POST /v1/forecast`` answers the next ``horizon`` steps of the series from the
recent history a client posts (``create_app`` hands a forecasting ``serving.json`` here).

Request::

    {"timestamps": ["2001-10-06", ..., "2001-12-29"], "values": [370.1, ..., 371.2], "horizon": 12}

``timestamps`` and ``values``: the latest observations, oldest first, one ``frequency`` step apart, at
least ``context`` of them (more are accepted; only the last ``context`` are read). ``horizon`` is
optional (default and maximum: the trained horizon). Answer::

    {"timestamps": ["2002-01-05", ...], "forecast": [371.4, ...], "lower": [...], "upper": [...],
     "interval": 0.95, "family": "ets", "prediction_id": "..."}

(``lower`` / ``upper`` / ``interval`` only for families that give intervals.) A request that does not fit
gets a 422 naming each problem: too few observations (how many the model needs), timestamps and values of
different lengths, a timestamp that is not ISO 8601, off the frequency's grid or not one step after the
one before it, a value that is not a finite number.

Also: ``GET /v1/model``, ``GET /v1/monitoring`` (drift of the posted level and of its change over a season
against training, latency), ``/health``, ``/ready``, ``/metrics``, ``/openapi.json``; API key, body size
limit and gate refusal as for every model (see ``app``). No feedback route: a forecast's truth arrives
as the next posted history. Only numpy, onnxruntime, pydantic, FastAPI and prometheus-client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, ValidationError
from pydantic_core import to_json
from starlette.responses import Response

from ..errors import ConfigError
from ..series import clock
from .contract import ServingMetadata
from .drift import DriftMonitor
from .forecaster import ServedForecaster
from .gates import status as gates_status
from .predictlog import JsonlLog, PredictionIds

__all__ = ["ForecastRequest", "ForecastResponse", "create_forecast_app"]

logger = logging.getLogger("aispec.serving")
JSON = "application/json"


class ForecastRequest(BaseModel):
    """The recent history of the series."""

    model_config = ConfigDict(extra="forbid")

    timestamps: list[str] = Field(description="ISO 8601 timestamps of the latest observations, oldest first, one "
                                              "step of the series' frequency apart.")
    values: list[FiniteFloat] = Field(description="The observations at those timestamps (finite numbers).")
    horizon: int | None = Field(None, ge=1, description="Steps to forecast (default and maximum: the trained "
                                                        "horizon).")


class ForecastResponse(BaseModel):
    timestamps: list[str] = Field(description="The forecast steps' timestamps.")
    forecast: list[float]
    lower: list[float] | None = Field(None, description="Lower end of the prediction interval (when the family "
                                                        "gives one).")
    upper: list[float] | None = None
    interval: float | None = Field(None, description="Coverage of the interval, e.g. 0.95.")
    family: str
    prediction_id: str


@dataclass
class _Schemas:
    """What ``loopback`` and the OpenAPI builder read of a service's request models."""

    row: type[BaseModel] = ForecastRequest
    batch: type[BaseModel] = ForecastRequest
    feedback: type[BaseModel] = ForecastRequest
    prediction: type[BaseModel] = ForecastResponse
    batch_prediction: type[BaseModel] = ForecastResponse
    feedback_response: type[BaseModel] = ForecastResponse
    fields: list[Any] = field(default_factory=list)
    sticky_field: str | None = None
    score_key: str | None = None


@dataclass
class ForecastState:
    meta: ServingMetadata
    metrics: Any
    schemas: _Schemas
    frequency: clock.Frequency
    forecaster: ServedForecaster | None = None
    ready: bool = False
    not_ready_reason: str | None = "not loaded"
    drift: DriftMonitor | None = None
    log: JsonlLog | None = None
    ids: PredictionIds = field(default_factory=PredictionIds)
    latencies: Any = None
    counts: dict[str, int] = field(default_factory=lambda: {"champion": 0})


def _problem(name: str, problem: str, kind: str) -> dict[str, str]:
    return {"field": name, "problem": problem, "type": kind}


def check_history(request: ForecastRequest, *, context: int, horizon: int,
                  frequency: clock.Frequency) -> tuple[list[dict[str, str]], list[datetime]]:
    """Every problem of a posted history (empty when it can be forecast), and its parsed timestamps."""
    problems: list[dict[str, str]] = []
    if len(request.timestamps) != len(request.values):
        problems.append(_problem("values", f"{len(request.values)} values for {len(request.timestamps)} timestamps: "
                                           "post one value per timestamp", "length_mismatch"))
    if len(request.values) < context:
        problems.append(_problem("values", f"{len(request.values)} observations posted; the model needs the last "
                                           f"{context} (its context), one {frequency.alias} step apart",
                                 "too_short"))
    if request.horizon is not None and request.horizon > horizon:
        problems.append(_problem("horizon", f"at most {horizon} steps (the trained horizon), not {request.horizon}",
                                 "less_than_equal"))
    moments: list[datetime] = []
    for i, text in enumerate(request.timestamps):
        try:
            moment = clock.parse_timestamp(text)
        except ValueError:
            problems.append(_problem(f"timestamps.{i}", f"{text[:40]!r} is not an ISO 8601 timestamp", "datetime"))
            return problems, moments
        if not frequency.on_grid(moment):
            problems.append(_problem(f"timestamps.{i}", f"{text[:40]} is not a {frequency.alias} step", "off_grid"))
            return problems, moments
        if moments and frequency.step(moments[-1]) != moment:
            expected = clock.format_timestamp(frequency.step(moments[-1]), frequency)
            problems.append(_problem(f"timestamps.{i}", f"expected {expected} (one {frequency.alias} step after the "
                                                        f"one before), got {text[:40]}: the history must be complete "
                                                        "and in time order", "not_consecutive"))
            return problems, moments
        moments.append(moment)
    return problems, moments


def create_forecast_app(artifacts: Path, meta: ServingMetadata, *, api_key: str | None, threads: int,
                        log_dir: Path | None = None, announce_gates: bool = True) -> FastAPI:
    """The forecasting service of ``artifacts`` (see the module docstring); gates, API key and threads as
    ``app.create_app`` decided them."""
    from .app import LatencyWindow, Metrics, ServingMiddleware, _DriftCollector, _error, _handlers
    from .schema import install_openapi

    contract = meta.get("forecast")
    if contract is None:  # checked when serving.json was read: reaching here is a bug
        raise ConfigError("serving.json: forecast: missing")
    frequency = clock.parse(contract["frequency"])
    drift_cfg = meta["monitoring"]["drift"]
    drift = DriftMonitor(contract["drift"], method=drift_cfg["method"], threshold=drift_cfg["threshold"],
                         window=drift_cfg["window"]) if drift_cfg else None
    metrics = Metrics()
    if drift is not None:
        metrics.registry.register(_DriftCollector(drift))
    state = ForecastState(meta=meta, metrics=metrics, schemas=_Schemas(), frequency=frequency, drift=drift,
                          latencies=LatencyWindow())
    logs = Path(log_dir) if log_dir is not None else Path(os.environ.get("AISPEC_LOG_DIR") or artifacts / "logs")
    if meta["monitoring"]["log_predictions"]:
        state.log = JsonlLog(logs / "predictions.jsonl")
    try:
        state.forecaster = ServedForecaster.load(artifacts, contract, threads=threads)
    except Exception as exc:  # a broken model file: alive, never ready
        state.not_ready_reason = f"cannot load {meta['model']['file']}: {type(exc).__name__}: {exc}"
        logger.error("%s", state.not_ready_reason)
    metrics.info.labels("champion", meta["project"]["name"], meta["project"]["version"], meta["spec_hash"],
                        meta["task"], "").set(1)
    metrics.gates.labels("champion").set({"passed": 1, "failed": 0}.get(gates_status(meta), -1))

    prefix = "/" + meta["api"]["version"]
    paths = {"predict": f"{prefix}/forecast", "model": f"{prefix}/model", "monitoring": f"{prefix}/monitoring",
             "health": "/health", "ready": "/ready", "metrics": "/metrics"}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if announce_gates:
            _announce(meta)
        task = asyncio.create_task(_flush(state))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if state.log is not None:
                state.log.close()

    project = meta["project"]
    description = (f"Forecasts the next {contract['horizon']} {frequency.alias} steps of '{contract['target']}' for "
                   f"**{project['name']}** {project['version']} ({contract['family']}) from the recent history a "
                   "client posts. Errors are JSON objects that name each offending field.")
    app = FastAPI(title=project["name"], version=project["version"], description=description, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.serving = state
    app.state.paths = paths
    _routes(app, state, paths, _error)
    _handlers(app, state)  # type: ignore[arg-type]
    secured = {paths[k] for k in ("predict", "model", "monitoring")}
    install_openapi(app, state.schemas, bodies={paths["predict"]: (ForecastRequest, ForecastResponse)},  # type: ignore[arg-type]
                    secured=sorted(secured), auth=api_key is not None, description=description,
                    text=[paths["metrics"]])
    app.add_middleware(ServingMiddleware, state=state, routes={p: p for p in paths.values()},  # type: ignore[arg-type]
                       secured=secured, predict_routes={paths["predict"]}, api_key=api_key,
                       max_body=meta["api"]["max_body"])
    _warm_up(state)
    return app


def _announce(meta: ServingMetadata) -> None:
    """At start-up: loudly when a forecaster that failed its gates is served (by override)."""
    from .gates import describe

    name = f"{meta['project']['name']} {meta['project']['version']}"
    status = gates_status(meta)
    if status == "failed":
        bar = "!" * 78
        logger.error("%s\nSERVING A MODEL THAT FAILED ITS GATES: %s (--allow-failed-gates / %s)\n%s\n%s", bar, name,
                     "AISPEC_ALLOW_FAILED_GATES", describe(meta), bar)
    elif status == "unknown":
        logger.warning("gates unknown: %s has no gate results in serving.json; retrain to record them", name)


async def _flush(state: ForecastState, every: float = 1.0) -> None:
    while True:
        await asyncio.sleep(every)
        if state.log is not None and state.log.pending:
            records = state.log.take()
            await asyncio.to_thread(state.log.write, records)


def _warm_up(state: ForecastState) -> None:
    """Forecast the example history through the request path; ready only if that works."""
    if state.forecaster is None:
        state.metrics.ready.set(0)
        return
    try:
        request = ForecastRequest.model_validate(state.meta["example"])
        problems, _ = check_history(request, context=state.forecaster.context, horizon=state.forecaster.horizon,
                                    frequency=state.frequency)
        if problems:
            raise ConfigError("serving.json: example: " + "; ".join(f"{p['field']}: {p['problem']}" for p in problems))
        answer = state.forecaster.forecast(request.values)
        if len(answer.mean) != state.forecaster.horizon or not np.all(np.isfinite(answer.mean)):
            raise RuntimeError(f"the forecaster returned {len(answer.mean)} values (finite: "
                               f"{int(np.isfinite(answer.mean).sum())}) for {state.forecaster.horizon} steps")
    except ConfigError:
        raise
    except Exception as exc:
        state.not_ready_reason = f"warm-up forecast failed: {type(exc).__name__}: {exc}"
        logger.error("%s", state.not_ready_reason)
        state.metrics.ready.set(0)
        return
    state.ready = True
    state.not_ready_reason = None
    state.metrics.ready.set(1)


def _rounded(values: Any) -> list[float]:
    return [float(f"{v:.10g}") for v in np.asarray(values, dtype=np.float64).tolist()]


def _routes(app: FastAPI, state: ForecastState, paths: dict[str, str], error: Callable[..., Response]) -> None:
    contract = state.meta["forecast"]
    change_lag = int(contract["change_lag"])

    def invalid(exc: ValidationError) -> RequestValidationError:
        return RequestValidationError([{**e, "loc": ("body", *e["loc"])}
                                       for e in exc.errors(include_url=False, include_input=False,
                                                           include_context=False)])

    @app.post(paths["predict"], summary="Forecast the next steps from the posted history", response_model=None)
    async def forecast(request: Request) -> Response:
        if not state.ready or state.forecaster is None:
            return error(503, "not_ready", f"the model is not ready: {state.not_ready_reason}")
        try:
            body = ForecastRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            raise invalid(exc) from None
        model = state.forecaster
        problems, moments = check_history(body, context=model.context, horizon=model.horizon,
                                          frequency=state.frequency)
        if problems:
            state.metrics.errors.labels(paths["predict"], "invalid_history").inc()
            summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
            return error(422, "invalid_request", f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in "
                                                 f"the posted history: {summary}", problems)
        steps = body.horizon or model.horizon
        values = np.asarray(body.values, dtype=np.float64)
        started = time.perf_counter()
        answer = model.forecast(values, steps)
        state.metrics.inference("champion", time.perf_counter() - started)
        if state.drift is not None:
            change = float(values[-1] - values[-1 - change_lag]) if len(values) > change_lag else math.nan
            state.drift.update([float(values[-1]), change], [])
        out: dict[str, Any] = {
            "timestamps": [clock.format_timestamp(t, state.frequency) for t in state.frequency.following(moments[-1],
                                                                                                         steps)],
            "forecast": _rounded(answer.mean)}
        if answer.lower is not None and answer.upper is not None:
            out.update(lower=_rounded(answer.lower), upper=_rounded(answer.upper), interval=contract["intervals"])
        out["family"] = contract["family"]
        pid = next(state.ids)
        out["prediction_id"] = pid
        state.counts["champion"] += 1
        state.metrics.predicted("champion", "forecast")
        if state.log is not None:
            state.log.append({"type": "forecast", "prediction_id": pid, "timestamp": time.time(), "route": "forecast",
                              "variant": "champion", "model_version": state.meta["project"]["version"],
                              "inputs": {"observations": len(values), "last_timestamp": body.timestamps[-1],
                                         "last_value": float(values[-1])},
                              "outputs": {k: v for k, v in out.items() if k != "prediction_id"}})
        return Response(to_json(out, inf_nan_mode="null"), media_type=JSON)

    info = _model_info(state, paths)

    @app.get(paths["model"], summary="The served forecaster: version, training metrics, what a request posts")
    async def model() -> Response:
        return Response(to_json(info), media_type=JSON)

    @app.get(paths["monitoring"], summary="Drift of the posted history against training, and live latency")
    async def monitoring() -> Response:
        out = {"drift": state.drift.report() if state.drift is not None else {"enabled": False},
               "predictions": dict(state.counts),
               "latency": state.latencies.summary(state.meta["latency_budget_ms"]),
               "prediction_log": state.log.status() if state.log is not None else {"enabled": False}}
        return Response(to_json(out, inf_nan_mode="null"), media_type=JSON)

    @app.get(paths["health"], summary="Liveness")
    async def health() -> Response:
        return Response(to_json({"status": "alive"}), media_type=JSON)

    @app.get(paths["ready"], summary="Readiness: the forecaster is loaded and answered a warm-up request")
    async def ready() -> Response:
        if state.ready:
            return Response(to_json({"status": "ready"}), media_type=JSON)
        return error(503, "not_ready", f"the model is not ready: {state.not_ready_reason}")

    @app.get(paths["metrics"], summary="Prometheus metrics", response_model=None)
    async def prometheus() -> Response:
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _model_info(state: ForecastState, paths: dict[str, str]) -> dict[str, Any]:
    meta = state.meta
    contract = meta["forecast"]
    info: dict[str, Any] = {
        "project": meta["project"]["name"], "version": meta["project"]["version"], "spec_hash": meta["spec_hash"],
        "task": meta["task"], "target": meta["target"], "metrics": meta["metrics"], "created_at": meta["created_at"],
        "model": {"file": meta["model"]["file"], "outputs": meta["model"]["outputs"],
                  "parity_ok": meta["model"]["parity_ok"], "size_bytes": meta["model"]["size_bytes"]},
        "forecast": {k: contract[k] for k in ("family", "frequency", "horizon", "context", "season", "lags",
                                              "multi_step", "intervals", "time_column", "target")},
        "input_schema": ForecastRequest.model_json_schema(),
        "api": {**meta["api"], "paths": paths},
        "latency_budget_ms": meta["latency_budget_ms"],
        "monitoring": meta["monitoring"],
        "gates_passed": {"passed": True, "failed": False, "unknown": None}[gates_status(meta)],
        "gates": meta.get("gates"),
    }
    info["api"].pop("api_key_env", None)
    return info
