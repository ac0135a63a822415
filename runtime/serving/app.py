"""The REST service: ``create_app(artifacts_dir)`` serves ``model.onnx`` as described by ``serving.json``.

Endpoints (``/v1`` is ``deployment.api.version``):

=========================  ==================================================================
``POST /v1/predict``        one row -> the prediction (+ ``prediction_id``)
``POST /v1/predict/batch``  ``{"rows": [...]}`` (at most ``api.max_batch``) -> ``{"predictions": [...]}``
``POST /v1/feedback``       ``{"prediction_id", "label"}``: the true outcome, joined to its prediction
``GET /v1/model``           version, spec hash, training metrics, input schema, A/B set-up
``GET /v1/monitoring``      drift per feature over the sliding window, live latency, feedback, A/B
``GET /health``             200 while the process is alive
``GET /ready``              200 once the model is loaded and a warm-up prediction succeeded, else 503
``GET /metrics``            Prometheus text format (one registry per app)
``GET /openapi.json``       the OpenAPI document of this model's contract
=========================  ==================================================================

No HTML pages: FastAPI's ``/docs`` and ``/redoc`` load their scripts from a CDN (blank offline, and
third-party code on a production service), so they are off; open ``/openapi.json`` in any OpenAPI
viewer instead.

Gates: a model whose training run failed its gates is refused at start (:class:`GatesFailed`) unless
``allow_failed_gates`` (or ``AISPEC_ALLOW_FAILED_GATES=1``); see :mod:`aispec.runtime.serving.gates`.

Answers: classification ``label`` + ``probabilities`` (by class; ``scores`` for a classifier without
probabilities: decision scores, higher = more that class; binary models have one decision value ``d``,
scikit-learn's ``decision_function`` (positive for ``classes[1]``), answered as ``{classes[1]: d,
classes[0]: -d}``), regression ``prediction``, anomaly detection ``is_anomaly`` + ``score`` (higher = more
anomalous), clustering ``cluster``; each with ``prediction_id`` (and ``variant`` under an A/B test).

Bad requests get a 4xx JSON :class:`~aispec.runtime.serving.schema.ErrorResponse` naming each field
and its problem: 400 malformed JSON, 401 missing/wrong ``X-API-Key`` (``api.auth: api_key``),
413 body over ``api.max_body``, 422 schema violations (missing, unknown, wrong type, NaN/inf, out of
range, unknown category, too many rows), 404 unknown ``prediction_id``; 503 while not ready.

The handlers are ``async def`` and run onnxruntime inline (a single-row run takes microseconds);
request bodies are validated straight from bytes by pydantic (``model_validate_json``) and answers
serialised by ``pydantic_core.to_json``. Single-row feeds are pre-allocated arrays filled in place.
Only onnxruntime, numpy, pydantic, FastAPI/Starlette and prometheus-client are imported: no
scikit-learn, pandas or pickles.

A/B test (``deployment.ab_test`` and a second model in ``<artifacts>/challenger/``): in ``split`` mode
a request goes to the challenger with probability ``weight``; with a routing key (the
``sticky_key`` field of the row, else the ``X-Request-Key`` header) the choice is a hash of the key,
so one caller always meets the same model. In ``shadow`` mode the champion answers and the
challenger scores the same rows after the response is sent; its outputs and latency are recorded
(metrics labelled ``variant="challenger"``, ``/v1/monitoring``, the prediction log).

Environment: ``AISPEC_LOG_DIR`` (prediction and feedback logs; default ``<artifacts>/logs``),
``AISPEC_LOG_MAX_BYTES`` (rotation size, default 64 MiB), ``AISPEC_ORT_THREADS`` (onnxruntime
intra-op threads, default 1), ``AISPEC_AB_SEED`` (seed of the unkeyed A/B split).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import math
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from numpy.typing import NDArray
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ..errors import ConfigError
from .contract import CLASSIFICATION_TASKS, ColumnContract, ServingMetadata, label_text, read_serving_metadata
from .drift import DriftMonitor
from .gates import GatesFailed, allowed_by_env, refusal
from .gates import describe as describe_failed_gates
from .gates import gauge_value as gates_gauge
from .gates import status as gates_status
from .predictlog import JsonlLog, PredictionIds, RecentPredictions
from .schema import Schemas, build_schemas, install_openapi

__all__ = ["BodyTooLarge", "GatesFailed", "ServedModel", "ServingState", "create_app"]

logger = logging.getLogger("aispec.serving")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JSON = "application/json"
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
MODEL_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0)
NUM, BOOL, CAT, TEXT = 0, 1, 2, 3


class BodyTooLarge(Exception):
    """A streamed request body went past ``api.max_body``."""


def _json(content: Any, status: int = 200) -> Response:
    return Response(to_json(content, inf_nan_mode="null"), status_code=status, media_type=JSON)


def _error(status: int, error: str, message: str, problems: Sequence[dict[str, str]] = ()) -> Response:
    return _json({"error": error, "message": message, "problems": list(problems)}, status)


# ------------------------------------------------------------------------------------ the model


class ServedModel:
    """One ONNX model (the champion or the challenger) and how to read its outputs."""

    def __init__(self, directory: Path, meta: ServingMetadata, variant: str, *, threads: int = 1) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]

        self.meta = meta
        self.variant = variant
        self.task = meta["task"]
        path = directory / meta["model"]["file"]
        data = path.read_bytes()
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.size_bytes = len(data)
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        if threads <= 1:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
        graph_outputs = [o.name for o in self.session.get_outputs()]
        # the outputs read, in order (the answer, then the scores), as the export's contract names them
        output = meta["model"].get("output") or {}
        first = output.get("label") or output.get("value")
        named = [first, *([output["scores"]] if output.get("scores") else [])] if first else graph_outputs
        missing = [name for name in named if name not in graph_outputs]
        if missing:
            raise ConfigError(f"serving.json: model.output: the ONNX graph {path.name} has no output "
                              f"{', '.join(missing)} (it has {', '.join(graph_outputs)})")
        self.output_names = named
        graph_inputs = {i.name: str(i.type) for i in self.session.get_inputs()}
        self.input_of = {c["name"]: c["input"] for c in meta["columns"]}
        # a graph that reads token ids (serving/text.py): the service tokenises the text column
        self.tokenizer: Any = None
        self.text_input = ""
        if meta["model"].get("tokenizer") is not None:
            graph_inputs = self._tokenizer(meta, directory, graph_inputs)
        for i, column in enumerate(meta["columns"]):  # serving.json and the graph must agree: refuse at start
            kind = graph_inputs.get(column["input"])
            if kind is None:
                raise ConfigError(f"serving.json: columns[{i}].input: the ONNX graph {path.name} has no input "
                                  f"'{column['input']}' (it has {', '.join(sorted(graph_inputs))})")
            wanted = {"float": "tensor(float)", "double": "tensor(double)"}.get(column["dtype"], "tensor(string)")
            if kind != wanted:
                raise ConfigError(f"serving.json: columns[{i}].dtype: the ONNX input '{column['input']}' is "
                                  f"{kind}, not {wanted}")
        if meta.get("image") is not None:  # one N×C×H×W input instead of columns
            from .images import check_graph_input

            check_graph_input({i.name: i for i in self.session.get_inputs()}, meta["image"], path.name)
        elif len(meta["columns"]) != len(graph_inputs):
            unfed = sorted(set(graph_inputs) - {c["input"] for c in meta["columns"]})
            raise ConfigError(f"serving.json: columns: the ONNX graph also needs {', '.join(unfed)}")
        classes = list(meta["classes"] or [])
        self.class_keys = [str(c) for c in classes]
        self._labels: dict[Any, Any] = {}
        for c in classes:
            self._labels[c] = c
            if isinstance(c, bool) or (isinstance(c, float) and c.is_integer()):
                self._labels[int(c)] = c
            self._labels.setdefault(str(c), c)
        self.score_key = ("scores" if meta["model"]["scores"] == "decision" else "probabilities") \
            if meta["model"]["scores"] is not None else None
        # a binary classifier without probabilities has one decision value d (positive: classes[1])
        self.binary_decision = meta["model"]["scores"] == "decision" and len(classes) == 2
        self._positive = self._labels.get(classes[1]) if self.binary_decision else None
        self.feed1: dict[str, NDArray[Any]] = {}

    def _tokenizer(self, meta: ServingMetadata, directory: Path, graph_inputs: dict[str, str]) -> dict[str, str]:
        from .text import TokenizerFeeds

        contract = meta["model"]["tokenizer"]
        if contract["column"] not in self.input_of:
            raise ConfigError(f"serving.json: model.tokenizer.column: '{contract['column']}' is not a column")
        try:
            self.tokenizer = TokenizerFeeds(contract, directory)
            self.text_input = self.input_of[contract["column"]]
            feeds: dict[str, str] = self.tokenizer.graph_inputs(graph_inputs, self.text_input)
            return feeds
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    def bind(self, arrays: dict[str, NDArray[Any]]) -> None:
        """Use ``arrays`` (column -> pre-allocated ``(1, 1)`` array) as this model's single-row feed."""
        self.feed1 = {self.input_of[name]: arrays[name] for name in self.input_of}

    def feeds(self, arrays: dict[str, NDArray[Any]], index: NDArray[Any] | None = None) -> dict[str, NDArray[Any]]:
        if index is None:
            return {self.input_of[name]: arrays[name] for name in self.input_of}
        return {self.input_of[name]: arrays[name][index] for name in self.input_of}

    def run(self, feeds: dict[str, NDArray[Any]]) -> list[NDArray[Any]]:
        if self.tokenizer is not None:
            feeds = self.tokenizer.feeds(feeds, self.text_input)
        results: list[NDArray[Any]] = self.session.run(self.output_names, feeds)
        return results

    def score_width(self) -> int | None:
        """Columns the score output must have: one per class (a binary decision: 1, or 2 as [d, -d])."""
        if self.score_key is None or self.task not in CLASSIFICATION_TASKS:
            return None
        return len(self.class_keys)

    def _binary_decision(self, raw: NDArray[np.float64], labels: list[Any]) -> NDArray[np.float64]:
        """``[-d, d]`` per row (columns in class order) from a binary decision output.

        skl2onnx writes one column ``d`` for linear models (RidgeClassifier) and two for SVC, there
        ``[d, -d]``: the first column is *not* the first class's score. The label the graph predicts
        is ``classes[1]`` exactly when ``d > 0`` (scikit-learn's rule), so ``d`` is ``+|s|`` for rows
        labelled ``classes[1]`` and ``-|s|`` otherwise, whichever way the columns are written.
        """
        if raw.shape[1] == 1:
            d = raw[:, 0]
        else:
            positive = np.fromiter((self._labels.get(v, v) == self._positive for v in labels), dtype=bool,
                                   count=len(labels))
            d = np.where(positive, np.abs(raw[:, 0]), -np.abs(raw[:, 0]))
        return np.stack([-d, d], axis=1)

    def decode(self, results: list[NDArray[Any]]) -> list[tuple[dict[str, Any], Any, str]]:
        """Per row: (answer without id, outcome for feedback, outcome label for metrics)."""
        task = self.task
        rows: list[tuple[dict[str, Any], Any, str]] = []
        if task in CLASSIFICATION_TASKS:
            labels = results[0].ravel().tolist()
            scores: list[list[float]] | None = None
            if self.score_key is not None and len(results) > 1:
                raw_scores = results[1].astype(np.float64).reshape(len(labels), -1)
                if self.binary_decision:
                    raw_scores = self._binary_decision(raw_scores, labels)
                # to 6 decimals: float32 noise (0.80000007) helps no one
                scores = raw_scores.round(6).tolist()
            for i, raw in enumerate(labels):
                label = self._labels.get(raw, raw)
                answer: dict[str, Any] = {"label": label}
                if scores is not None:
                    answer[self.score_key or "probabilities"] = dict(zip(self.class_keys, scores[i], strict=False))
                rows.append((answer, label, str(label)))
        elif task == "regression":
            for value in _shortest(results[0].reshape(len(results[0]), -1)[:, 0]):
                rows.append(({"prediction": value}, value, "value"))
        elif task == "anomaly_detection":
            flags = results[0].ravel().tolist()
            decision = _shortest(results[1].reshape(len(flags), -1)[:, 0]) if len(results) > 1 else [0.0] * len(flags)
            for flag, score in zip(flags, decision, strict=True):
                anomaly = flag == -1
                rows.append(({"is_anomaly": anomaly, "score": -score}, anomaly, "anomaly" if anomaly else "normal"))
        else:
            for cluster in results[0].ravel().tolist():
                rows.append(({"cluster": int(cluster)}, int(cluster), str(int(cluster))))
        return rows


def _shortest(values: NDArray[Any]) -> list[float]:
    """float32 values as the shortest decimals that round-trip (4123.452, not 4123.4521484375)."""
    if values.dtype == np.float32:
        return [float(text) for text in values.astype(str)]
    return [float(v) for v in values.tolist()]


# ------------------------------------------------------------------------------------- the feeds


class Feeder:
    """Turns validated rows into model feeds and drift records (one pass over the columns)."""

    def __init__(self, fields: list[tuple[str, ColumnContract]], drift: DriftMonitor | None) -> None:
        self.columns = [column["name"] for _, column in fields]
        self.arrays1: dict[str, NDArray[Any]] = {}
        # (attribute, kind, (1,1) array, numeric drift slot, categorical drift slot, codes, other, missing)
        self.plan: list[tuple[str, int, NDArray[Any], int, int, dict[str, int], int, int]] = []
        # numeric inputs the graph centres in float64 before its float32 cast (see preprocess.Float32Center)
        self.dtypes = {column["name"]: np.float64 if column["dtype"] == "double" else np.float32
                       for _, column in fields}
        num_slot = cat_slot = 0
        self.drift = drift
        for attr, column in fields:
            kind = {"numeric": NUM, "boolean": BOOL, "categorical": CAT}.get(column["type"], TEXT)
            arr = np.zeros((1, 1), dtype=self.dtypes[column["name"]]) if column["dtype"] in ("float", "double") \
                else np.array([[""]], dtype=object)
            self.arrays1[column["name"]] = arr
            n_slot = c_slot = -1
            codes: dict[str, int] = {}
            ref = column["reference"]
            if drift is not None and ref is not None:
                if ref["kind"] == "numeric":
                    n_slot, num_slot = num_slot, num_slot + 1
                else:
                    c_slot, cat_slot = cat_slot, cat_slot + 1
                    codes = drift.code_map(c_slot)
            self.plan.append((attr, kind, arr, n_slot, c_slot, codes, len(codes), len(codes) + 1))
        self.n_num, self.n_cat = num_slot, cat_slot

    def fill_one(self, values: dict[str, Any]) -> None:
        """Write one row into the single-row arrays and record it for drift."""
        num: list[float] = []
        cat: list[int] = []
        nan = math.nan
        for attr, kind, arr, n_slot, c_slot, codes, other, missing in self.plan:
            v = values[attr]
            if kind == NUM:
                x = nan if v is None else v
                arr[0, 0] = x
                if n_slot >= 0:
                    num.append(x)
            elif kind == CAT:
                t = "" if v is None else (v if type(v) is str else label_text(v))
                arr[0, 0] = t
                if c_slot >= 0:
                    cat.append(missing if t == "" else codes.get(t, other))
            elif kind == BOOL:
                if v is None:
                    arr[0, 0] = nan
                    if c_slot >= 0:
                        cat.append(missing)
                else:
                    arr[0, 0] = 1.0 if v else 0.0
                    if c_slot >= 0:
                        cat.append(codes.get("true" if v else "false", other))
            else:
                arr[0, 0] = "" if v is None else v
        if self.drift is not None:
            self.drift.update(num, cat)

    def fill_many(self, rows: Sequence[dict[str, Any]]) -> dict[str, NDArray[Any]]:
        """Column arrays ``(n, 1)`` for ``rows``; records them for drift."""
        n = len(rows)
        arrays: dict[str, NDArray[Any]] = {}
        num = np.empty((n, self.n_num), dtype=np.float64) if self.drift is not None else None
        cat = np.empty((n, self.n_cat), dtype=np.int32) if self.drift is not None else None
        for (attr, kind, _, n_slot, c_slot, codes, other, missing), name in zip(self.plan, self.columns, strict=True):
            raw = [row[attr] for row in rows]
            if kind == NUM:
                col = np.array([math.nan if v is None else v for v in raw], dtype=np.float64)
                arrays[name] = col.astype(self.dtypes[name], copy=False).reshape(n, 1)
                if num is not None and n_slot >= 0:
                    num[:, n_slot] = col
            elif kind == BOOL:
                col = np.array([math.nan if v is None else (1.0 if v else 0.0) for v in raw], dtype=np.float32)
                arrays[name] = col.reshape(n, 1)
                if cat is not None and c_slot >= 0:
                    cat[:, c_slot] = [missing if v is None else codes.get("true" if v else "false", other)
                                      for v in raw]
            else:
                texts = ["" if v is None else (v if type(v) is str else label_text(v)) for v in raw]
                arrays[name] = np.array(texts, dtype=object).reshape(n, 1)
                if cat is not None and c_slot >= 0:
                    cat[:, c_slot] = [missing if t == "" else codes.get(t, other) for t in texts]
        if self.drift is not None:
            self.drift.update_many(num, cat, n)
        return arrays


# ----------------------------------------------------------------------------------- the metrics


class _DriftCollector(Collector):
    def __init__(self, monitor: DriftMonitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterable[GaugeMetricFamily]:
        score = GaugeMetricFamily("aispec_drift_score", "Drift statistic of a feature over the sliding window",
                                  labels=["feature", "statistic"])
        drifted = GaugeMetricFamily("aispec_drift_detected", "1 when the feature's drift exceeds the threshold",
                                    labels=["feature"])
        for name, result in self.monitor.features().items():
            for statistic in ("psi", "ks"):
                value = result[statistic]
                if value is not None:
                    score.add_metric([name, statistic], float(value))
            drifted.add_metric([name], 1.0 if result["drifted"] else 0.0)
        rows = GaugeMetricFamily("aispec_drift_window_rows", "Rows in the drift window")
        rows.add_metric([], float(self.monitor.rows))
        yield score
        yield drifted
        yield rows


class Metrics:
    """The app's own Prometheus registry and pre-resolved label children for the hot path."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("aispec_requests", "HTTP requests by route and status", ["route", "status"],
                                registry=r)
        self.latency = Histogram("aispec_request_latency_seconds", "Time to answer a request, by route", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.errors = Counter("aispec_errors", "Requests answered with an error, by route and kind",
                              ["route", "kind"], registry=r)
        self.predictions = Counter("aispec_predictions", "Predictions by model variant and outcome (class, "
                                   "cluster, anomaly/normal, or 'value' for regression)", ["variant", "outcome"],
                                   registry=r)
        self.model_latency = Histogram("aispec_model_latency_seconds", "onnxruntime time per call, by variant",
                                       ["variant"], buckets=MODEL_BUCKETS, registry=r)
        self.info = Gauge("aispec_model_info", "The served model (value 1)",
                          ["variant", "project", "version", "spec_hash", "task", "sha256"], registry=r)
        self.ready = Gauge("aispec_ready", "1 when the service is ready", registry=r)
        self.gates = Gauge("aispec_model_gates_passed", "Whether the served model passed the gates of its "
                           "training run: 1 passed, 0 failed (served only by override), -1 unknown", ["variant"],
                           registry=r)
        self.feedback = Counter("aispec_feedback", "Feedback received, by variant and whether the prediction "
                                "was right ('na' for regression)", ["variant", "correct"], registry=r)
        self.shadow = Counter("aispec_shadow_comparisons", "Shadow runs of the challenger, by whether it agreed "
                              "with the champion", ["agree"], registry=r)
        self._requests: dict[tuple[str, int], Any] = {}
        self._latency: dict[str, Any] = {}
        self._predictions: dict[tuple[str, str], Any] = {}
        self._model_latency: dict[str, Any] = {}

    def request(self, route: str, status: int, seconds: float) -> None:
        child = self._requests.get((route, status))
        if child is None:
            child = self._requests[(route, status)] = self.requests.labels(route, str(status))
        child.inc()
        hist = self._latency.get(route)
        if hist is None:
            hist = self._latency[route] = self.latency.labels(route)
        hist.observe(seconds)

    def predicted(self, variant: str, outcome: str, n: int = 1) -> None:
        child = self._predictions.get((variant, outcome))
        if child is None:
            if len(self._predictions) > 10_000:  # clusters / classes are bounded; never let labels explode
                outcome = "other"
            child = self._predictions[(variant, outcome)] = self.predictions.labels(variant, outcome)
        child.inc(n)

    def inference(self, variant: str, seconds: float) -> None:
        child = self._model_latency.get(variant)
        if child is None:
            child = self._model_latency[variant] = self.model_latency.labels(variant)
        child.observe(seconds)


class LatencyWindow:
    """The last ``size`` request durations of the predict routes (for p50/p95/p99 in /monitoring)."""

    def __init__(self, size: int = 2048) -> None:
        self._values = np.full(size, np.nan)
        self._pos = 0
        self.size = size

    def add(self, seconds: float) -> None:
        self._values[self._pos] = seconds
        self._pos = self._pos + 1 if self._pos + 1 < self.size else 0

    def summary(self, budget_ms: float | None) -> dict[str, Any]:
        values = self._values[~np.isnan(self._values)] * 1e3
        if values.size == 0:
            return {"requests": 0, "budget_ms": budget_ms}
        p50, p95, p99 = (float(v) for v in np.percentile(values, [50, 95, 99]))
        out: dict[str, Any] = {"requests": int(values.size), "p50_ms": round(p50, 4), "p95_ms": round(p95, 4),
                               "p99_ms": round(p99, 4), "budget_ms": budget_ms}
        if budget_ms is not None:
            out["within_budget"] = p95 <= budget_ms
        return out


# ------------------------------------------------------------------------------------ the state


@dataclass
class FeedbackStats:
    n: int = 0
    correct: int = 0
    abs_error: float = 0.0
    sq_error: float = 0.0

    def as_dict(self, regression: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"n": self.n}
        if self.n and regression:
            out["mae"] = self.abs_error / self.n
            out["rmse"] = math.sqrt(self.sq_error / self.n)
        elif self.n:
            out["accuracy"] = self.correct / self.n
        return out


@dataclass
class ServingState:
    """Everything the handlers share (``app.state.serving``)."""

    meta: ServingMetadata
    schemas: Schemas
    metrics: Metrics
    feeder: Feeder
    champion: ServedModel | None = None
    challenger: ServedModel | None = None
    ready: bool = False
    not_ready_reason: str | None = "not loaded"
    drift: DriftMonitor | None = None
    log: JsonlLog | None = None
    feedback_log: JsonlLog | None = None
    recent: RecentPredictions = field(default_factory=RecentPredictions)
    ids: PredictionIds = field(default_factory=PredictionIds)
    latencies: LatencyWindow = field(default_factory=LatencyWindow)
    ab_mode: str | None = None  # "split" | "shadow" when a challenger is served
    ab_weight: float = 0.0
    ab_note: str | None = None
    image: Any = None  # images.ImageReader of an image model (requests carry an image, not columns)
    rng: random.Random = field(default_factory=random.Random)
    counts: dict[str, int] = field(default_factory=lambda: {"champion": 0, "challenger": 0})
    feedback: dict[str, FeedbackStats] = field(default_factory=dict)
    shadow: dict[str, Any] = field(default_factory=lambda: {"runs": 0, "agree": 0, "errors": 0,
                                                            "abs_diff": 0.0, "latency_s": 0.0})

    def to_challenger(self, key: str | None) -> bool:
        """Split routing: hash of the key (sticky) or a seeded draw."""
        if key is not None:
            digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
            return int.from_bytes(digest, "big") / 2.0**64 < self.ab_weight
        return self.rng.random() < self.ab_weight


# ---------------------------------------------------------------------------------- middleware


class ServingMiddleware:
    """Pure ASGI: API key, body size limit, request metrics. One pass over the headers."""

    def __init__(self, app: ASGIApp, *, state: ServingState, routes: dict[str, str], secured: set[str],
                 predict_routes: set[str], api_key: str | None, max_body: int,
                 multipart_routes: frozenset[str] | set[str] = frozenset()) -> None:
        self.app = app
        self.state = state
        self.routes = routes
        self.secured = secured
        self.predict_routes = predict_routes
        self.api_key = api_key.encode("utf-8") if api_key else None
        self.max_body = max_body
        self.multipart_routes = multipart_routes  # an image model's predict routes also take file uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        route = self.routes.get(scope["path"], "other")
        length: int | None = None
        key: bytes | None = None
        content_type: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = -1
            elif name == b"x-api-key":
                key = value
        status = 500
        end: float | None = None
        metrics = self.state.metrics
        try:
            if self.api_key is not None and route in self.secured and (
                    key is None or not hmac.compare_digest(key, self.api_key)):
                status = 401
                metrics.errors.labels(route, "unauthorized").inc()
                await _error(401, "unauthorized", "missing or wrong API key: send it in the X-API-Key header")(
                    scope, receive, send)
                return
            if length is not None and (length > self.max_body or length < 0):
                status = 413 if length > self.max_body else 400
                metrics.errors.labels(route, "body_too_large" if status == 413 else "bad_content_length").inc()
                message = (f"the request body has {length} bytes; the limit is {self.max_body} bytes "
                           "(deployment.api.max_body)") if status == 413 else "invalid Content-Length header"
                await _error(status, "body_too_large" if status == 413 else "bad_request", message,
                             [{"field": "body" if status == 413 else "content-length", "problem": message,
                               "type": "too_large" if status == 413 else "invalid_header"}])(scope, receive, send)
                return
            if scope["method"] == "POST" and route != "other" and not _is_json(content_type) and not (
                    route in self.multipart_routes and _is_multipart(content_type)):
                # Only JSON bodies: a browser can POST text/plain or a form to any site without a CORS
                # preflight, so accepting them would let any web page feed predictions and feedback.
                status = 415
                metrics.errors.labels(route, "unsupported_media_type").inc()
                shown = content_type.decode("latin-1")[:100] if content_type is not None else ""
                message = f"the request body must be JSON (Content-Type: application/json), not {shown!r}"
                await _error(415, "unsupported_media_type", message,
                             [{"field": "content-type", "problem": message, "type": "unsupported_media_type"}])(
                    scope, receive, send)
                return
            if length is None and scope["method"] in ("POST", "PUT", "PATCH"):
                receive = self._limited(receive)

            async def send_status(message: Message) -> None:
                nonlocal status, end
                if message["type"] == "http.response.start":
                    status = message["status"]
                elif message["type"] == "http.response.body" and not message.get("more_body", False):
                    end = time.perf_counter()  # answered: a background task (shadow run) may follow
                await send(message)

            await self.app(scope, receive, send_status)
        finally:
            elapsed = (end or time.perf_counter()) - start
            metrics.request(route, status, elapsed)
            if route in self.predict_routes and status == 200:
                self.state.latencies.add(elapsed)

    def _limited(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.max_body

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(f"the request body is larger than {limit} bytes (deployment.api.max_body)")
            return message

        return limited


def _is_multipart(content_type: bytes | None) -> bool:
    """multipart/form-data (a file upload). Accepted only on an image model's predict routes: a web page
    can post a form to them without a CORS preflight, but all it gets is a prediction (with
    ``api.auth: api_key`` it cannot send the key header at all)."""
    return content_type is not None and content_type.split(b";", 1)[0].strip().lower() == b"multipart/form-data"


def _is_json(content_type: bytes | None) -> bool:
    """application/json or application/*+json (parameters such as charset allowed); no header at all is
    taken as JSON, as FastAPI does: browsers always send one with a body."""
    if content_type is None:
        return True
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


# ------------------------------------------------------------------------------------ the errors


def _field(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


def _problems(errors: Sequence[Any], pii: set[str]) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        kind = str(error.get("type", "value_error"))
        name = _field(loc)
        message = str(error.get("msg", "invalid value"))
        last = str(loc[-1]) if loc else ""
        if kind == "extra_forbidden":
            message = ("personal data (compliance.pii) is never accepted" if last in pii
                       else "unknown field: not a model input")
        elif kind == "missing":
            message = "required field is missing"
        elif kind == "finite_number":
            message = "must be a finite number (NaN and infinity are not accepted)"
        problems.append({"field": name, "problem": message, "type": kind})
    return problems


def _validation_response(errors: Sequence[Any], pii: set[str]) -> Response:
    problems = _problems(errors, pii)
    if problems and all(p["type"] == "json_invalid" for p in problems):
        detail = problems[0]["problem"]
        return _error(400, "malformed_json", f"the request body is not valid JSON: {detail}",
                      [{"field": "body", "problem": detail, "type": "json_invalid"}])
    summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    return _error(422, "invalid_request", f"{count} in the request: {summary}{more}", problems)


def _invalid(exc: ValidationError) -> RequestValidationError:
    errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_input=False,
                                                                     include_context=False)]
    return RequestValidationError(errors)


# -------------------------------------------------------------------------------------- the app


def _load_challenger(artifacts: Path, meta: ServingMetadata, champion: ServingMetadata,
                     threads: int, allow_failed_gates: bool) -> tuple[ServedModel | None, str | None]:
    directory = artifacts / "challenger"
    if not (directory / "serving.json").is_file() or not (directory / "model.onnx").is_file():
        return None, (f"no challenger model in {directory} (needs model.onnx and serving.json): "
                      "serving the champion only")
    try:
        challenger_meta = read_serving_metadata(directory / "serving.json")
    except ValueError as exc:
        raise ConfigError(f"the A/B challenger cannot be served: {exc}") from None
    if gates_status(challenger_meta) == "failed" and not allow_failed_gates:
        raise refusal(challenger_meta, f"the A/B challenger in {directory} is not served",
                      "pass --allow-failed-gates (or set AISPEC_ALLOW_FAILED_GATES=1)")
    if challenger_meta["task"] != champion["task"]:
        raise ConfigError(f"the A/B challenger's task is {challenger_meta['task']}, the champion's "
                          f"{champion['task']}")
    if champion["task"] in CLASSIFICATION_TASKS and [str(c) for c in challenger_meta["classes"] or []] != \
            [str(c) for c in champion["classes"] or []]:
        raise ConfigError("the A/B challenger predicts other classes than the champion")
    own = {c["name"]: c for c in champion["columns"]}
    for column in challenger_meta["columns"]:
        mine = own.get(column["name"])
        if mine is None or mine["dtype"] != column["dtype"]:
            raise ConfigError(f"the A/B challenger needs column '{column['name']}' ({column['dtype']}), which the "
                              "champion's request does not provide in that type")
    geometry = ("input", "channels", "height", "width")
    ours: dict[str, Any] = dict(champion.get("image") or {})
    theirs: dict[str, Any] = dict(challenger_meta.get("image") or {})
    if {k: ours.get(k) for k in geometry} != {k: theirs.get(k) for k in geometry}:
        raise ConfigError("the A/B challenger takes other images (input, channels or size) than the champion")
    if challenger_meta["model"]["scores"] != champion["model"]["scores"]:
        raise ConfigError("the A/B challenger's outputs differ from the champion's (probabilities vs scores)")
    return ServedModel(directory, challenger_meta, "challenger", threads=threads), None


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def create_app(artifacts_dir: Path, *, log_dir: Path | None = None, ab_seed: int | None = None,
               threads: int | None = None, warmup_rows: int = 20, recent_capacity: int = 50_000,
               allow_failed_gates: bool | None = None, announce_gates: bool = True) -> FastAPI:
    """The FastAPI app serving ``artifacts_dir/model.onnx`` per ``artifacts_dir/serving.json``.

    Raises :class:`~aispec.runtime.errors.ConfigError` when ``serving.json`` is missing or invalid
    (naming the field), when it does not fit the ONNX graph, when ``api.auth`` is ``api_key`` but its
    environment variable is unset, or when a challenger does not fit the champion; and
    :class:`~aispec.runtime.serving.gates.GatesFailed` when the model (or the challenger) failed the
    gates of its training run, unless ``allow_failed_gates`` (default: ``AISPEC_ALLOW_FAILED_GATES``).
    A model file that cannot be loaded or fails its warm-up leaves the app running but not ready
    (``/ready`` answers 503 with the reason).
    """
    artifacts = Path(artifacts_dir)
    try:
        meta = read_serving_metadata(artifacts / "serving.json")
    except ValueError as exc:
        raise ConfigError(str(exc), hint="run the training pipeline, which writes artifacts/serving.json") from None
    allow = allowed_by_env() if allow_failed_gates is None else allow_failed_gates
    if gates_status(meta) == "failed" and not allow:
        raise refusal(meta, "it is not served", "pass --allow-failed-gates (or set AISPEC_ALLOW_FAILED_GATES=1)")
    api = meta["api"]
    api_key: str | None = None
    if api["auth"] == "api_key":
        env = api["api_key_env"] or "AISPEC_API_KEY"
        api_key = os.environ.get(env) or None
        if api_key is None:
            raise ConfigError(f"deployment.api.auth is api_key but the environment variable {env} is not set",
                              hint=f"export {env}=<secret> before starting the service")
    threads = threads if threads is not None else _env_int("AISPEC_ORT_THREADS", 1)
    seed = ab_seed if ab_seed is not None else _env_int("AISPEC_AB_SEED", 0)
    if "forecast" in meta:  # a forecaster takes posted history, not rows: its own routes (serving.forecast)
        from .forecast import create_forecast_app

        return create_forecast_app(artifacts, meta, api_key=api_key, threads=threads, log_dir=log_dir,
                                   announce_gates=announce_gates)

    # the challenger first: whether responses name the variant depends on it
    ab = meta["ab_test"]
    challenger: ServedModel | None = None
    ab_note: str | None = None
    if ab is not None:
        challenger, ab_note = _load_challenger(artifacts, meta, meta, threads, allow)
    schemas = build_schemas(meta, variants=challenger is not None)
    try:  # the warm-up row: a bad example is a bad serving.json, refused now rather than never ready
        schemas.row.model_validate(meta["example"])
    except ValidationError as exc:
        problems = "; ".join(f"{p['field']}: {p['problem']}" for p in _problems(exc.errors(), set(meta["pii"])))
        raise ConfigError(f"serving.json: example: {problems}") from None
    drift_cfg = meta["monitoring"]["drift"]
    image = meta.get("image")
    drifting: Any = meta["columns"]
    if image is not None:  # an image's mean brightness per channel drifts like a numeric column
        from .images import drift_columns

        drifting = drift_columns(meta)
    drift = DriftMonitor(drifting, method=drift_cfg["method"], threshold=drift_cfg["threshold"],
                         window=drift_cfg["window"]) if drift_cfg else None
    metrics = Metrics()
    if drift is not None:
        metrics.registry.register(_DriftCollector(drift))
    feeder = Feeder(schemas.fields, drift if image is None else None)
    state = ServingState(meta=meta, schemas=schemas, metrics=metrics, feeder=feeder, drift=drift,
                         recent=RecentPredictions(recent_capacity), rng=random.Random(seed))
    if image is not None:
        from .images import ImageReader

        state.image = ImageReader(image)
    logs = Path(log_dir) if log_dir is not None else Path(os.environ.get("AISPEC_LOG_DIR") or artifacts / "logs")
    max_bytes = _env_int("AISPEC_LOG_MAX_BYTES", 64 * 1024 * 1024)
    if meta["monitoring"]["log_predictions"]:
        state.log = JsonlLog(logs / "predictions.jsonl", max_bytes=max_bytes)
    state.feedback_log = JsonlLog(logs / "feedback.jsonl", max_bytes=max_bytes, flush_rows=64)
    if challenger is not None and ab is not None:
        state.challenger = challenger
        state.ab_mode = ab["mode"]
        state.ab_weight = ab["weight"]
        challenger.bind(feeder.arrays1)
    state.ab_note = ab_note

    try:
        state.champion = ServedModel(artifacts, meta, "champion", threads=threads)
        state.champion.bind(feeder.arrays1)
    except ConfigError:  # serving.json does not fit the graph: refuse to start
        raise
    except Exception as exc:  # a broken model file: alive, never ready
        state.not_ready_reason = f"cannot load {meta['model']['file']}: {type(exc).__name__}: {exc}"
        logger.error("%s", state.not_ready_reason)
    for model in (state.champion, state.challenger):
        if model is not None:
            metrics.info.labels(model.variant, model.meta["project"]["name"], model.meta["project"]["version"],
                                model.meta["spec_hash"], model.task, model.sha256).set(1)
            metrics.gates.labels(model.variant).set(gates_gauge(model.meta))

    prefix = "/" + api["version"]
    paths = {"predict": f"{prefix}/predict", "batch": f"{prefix}/predict/batch", "feedback": f"{prefix}/feedback",
             "model": f"{prefix}/model", "monitoring": f"{prefix}/monitoring", "health": "/health",
             "ready": "/ready", "metrics": "/metrics"}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if announce_gates:
            _announce_gates(state)
        task = asyncio.create_task(_flush_forever(state))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            for log in (state.log, state.feedback_log):
                if log is not None:
                    log.close()

    project = meta["project"]
    description = (f"Serves the {meta['task'].replace('_', ' ')} model of **{project['name']}** "
                   f"{project['version']} (ONNX, spec {meta['spec_hash'] or 'unknown'}). Errors are JSON objects "
                   "that name each offending field.")
    # no /docs or /redoc: FastAPI's pages load Swagger UI / ReDoc from a CDN (blank offline)
    app = FastAPI(title=project["name"], version=project["version"], description=description, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.serving = state
    app.state.paths = paths
    _routes(app, state, paths)
    # the predict routes first: Starlette tries routes in order (the docs routes come first otherwise)
    hot = {paths["predict"]: 0, paths["batch"]: 1}
    app.router.routes.sort(key=lambda route: hot.get(getattr(route, "path", ""), 2))
    _handlers(app, state)
    secured = {paths[k] for k in ("predict", "batch", "feedback", "model", "monitoring")}
    install_openapi(app, schemas, bodies={paths["predict"]: (schemas.row, schemas.prediction),
                                          paths["batch"]: (schemas.batch, schemas.batch_prediction),
                                          paths["feedback"]: (schemas.feedback, schemas.feedback_response)},
                    secured=sorted(secured), auth=api_key is not None, description=description,
                    text=[paths["metrics"]])
    if image is not None:
        from .image_routes import add_multipart

        add_multipart(app, paths, api["max_batch"])
    app.add_middleware(ServingMiddleware, state=state, routes={p: p for p in paths.values()}, secured=secured,
                       predict_routes={paths["predict"], paths["batch"]}, api_key=api_key,
                       max_body=api["max_body"],
                       multipart_routes={paths["predict"], paths["batch"]} if image is not None else set())
    _warm_up(state, warmup_rows)
    return app


def _announce_gates(state: ServingState) -> None:
    """At start-up: loudly when a model that failed its gates is served (by override), a warning when unknown."""
    for model in (state.champion, state.challenger):
        if model is None:
            continue
        meta = model.meta
        name = f"{meta['project']['name']} {meta['project']['version']} ({model.variant})"
        status = gates_status(meta)
        if status == "failed":
            bar = "!" * 78
            logger.error("%s\nSERVING A MODEL THAT FAILED ITS GATES: %s (--allow-failed-gates / %s)\n%s\n%s",
                         bar, name, "AISPEC_ALLOW_FAILED_GATES", describe_failed_gates(meta), bar)
        elif status == "unknown":
            logger.warning("gates unknown: %s has no gate results in serving.json (written before they were "
                           "recorded); retrain to record them", name)


async def _flush_forever(state: ServingState, every: float = 1.0) -> None:
    while True:
        await asyncio.sleep(every)
        for log in (state.log, state.feedback_log):
            if log is not None and log.pending:
                records = log.take()
                await asyncio.to_thread(log.write, records)


def _warm_up(state: ServingState, rows: int) -> None:
    """Score the reference example row through the whole request path; ready only if that works."""
    if state.champion is None:
        state.metrics.ready.set(0)
        return
    try:
        if state.image is not None:
            from .images import warm_up

            warm_up(state, rows)
            _check_scores(state.champion, state.champion.run(state.image.feeds([np.zeros(
                (state.image.size[0], state.image.size[1], state.image.channels), dtype=np.uint8)])))
            state.ready = True
            state.not_ready_reason = None
            state.metrics.ready.set(1)
            return
        example = state.schemas.row.model_validate(state.meta["example"])
        values = example.__dict__
        drift, state.feeder.drift = state.feeder.drift, None  # warm-up rows are not traffic
        try:
            for model in (state.champion, state.challenger):
                if model is None:
                    continue
                for _ in range(max(1, rows)):
                    state.feeder.fill_one(values)
                    results = model.run(model.feed1)
                    decoded = model.decode(results)
                _check_scores(model, results)
                if len(decoded) != 1:
                    raise RuntimeError(f"the {model.variant} returned {len(decoded)} rows for one")
                batch = state.feeder.fill_many([values, values])
                if len(model.decode(model.run(model.feeds(batch)))) != 2:
                    raise RuntimeError(f"the {model.variant} cannot score a batch")
        finally:
            state.feeder.drift = drift
    except ConfigError:  # serving.json does not describe this model's outputs: refuse to start
        raise
    except Exception as exc:
        state.ready = False
        state.not_ready_reason = f"warm-up prediction failed: {type(exc).__name__}: {exc}"
        logger.error("%s", state.not_ready_reason)
        state.metrics.ready.set(0)
        return
    state.ready = True
    state.not_ready_reason = None
    state.metrics.ready.set(1)


def _check_scores(model: ServedModel, results: list[NDArray[Any]]) -> None:
    """The score output has one column per class in serving.json (a binary decision: 1 or 2 columns)."""
    width = model.score_width()
    if width is None or len(results) < 2:
        return
    got = int(np.asarray(results[1]).reshape(len(results[0].ravel()), -1).shape[1])
    if got != width and not (model.binary_decision and got == 1):
        raise ConfigError(f"serving.json: classes: {width} classes, but the model's scores have {got} columns")


def _not_ready(state: ServingState) -> Response:
    return _error(503, "not_ready", f"the model is not ready: {state.not_ready_reason}")


def _handlers(app: FastAPI, state: ServingState) -> None:
    pii = set(state.meta["pii"])

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        response = _validation_response(exc.errors(), pii)
        kind = "malformed_json" if response.status_code == 400 else "invalid_request"
        state.metrics.errors.labels(request.url.path if request.url.path in _known(app) else "other", kind).inc()
        return response

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge) -> Response:
        state.metrics.errors.labels(request.url.path if request.url.path in _known(app) else "other",
                                    "body_too_large").inc()
        return _error(413, "body_too_large", str(exc), [{"field": "body", "problem": str(exc), "type": "too_large"}])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        kinds = {404: "not_found", 405: "method_not_allowed"}
        response = _error(exc.status_code, kinds.get(exc.status_code, "http_error"), str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error on %s", request.url.path)
        state.metrics.errors.labels(request.url.path if request.url.path in _known(app) else "other",
                                    "internal").inc()
        return _error(500, "internal_error", "the service failed to answer; the error is logged")


def _known(app: FastAPI) -> set[str]:
    known: set[str] | None = getattr(app.state, "known_paths", None)
    if known is None:
        known = {getattr(r, "path", "") for r in app.routes}
        app.state.known_paths = known
    return known


def _routes(app: FastAPI, state: ServingState, paths: dict[str, str]) -> None:
    schemas = state.schemas
    row_model: type[BaseModel] = schemas.row
    batch_model: type[BaseModel] = schemas.batch
    feedback_model: type[BaseModel] = schemas.feedback
    metrics = state.metrics
    recent = state.recent
    ids = state.ids
    columns = [(attr, column["name"]) for attr, column in schemas.fields]
    sticky_attr: str | None = schemas.sticky_field
    ab = state.meta["ab_test"]
    if ab and ab["sticky_key"] and sticky_attr is None:
        sticky_attr = next((attr for attr, column in schemas.fields if column["name"] == ab["sticky_key"]), None)
    regression = state.meta["task"] == "regression"
    variants = state.challenger is not None

    def inputs(values: dict[str, Any]) -> dict[str, Any]:
        return {name: values[attr] for attr, name in columns}

    def routing_key(values: dict[str, Any], header: str | None) -> str | None:
        if sticky_attr is not None:
            value = values.get(sticky_attr)
            if value is not None:
                return str(value)
        return header

    def record(model: ServedModel, answer: dict[str, Any], outcome: Any, label: str, values: dict[str, Any],
               now: float, route: str) -> str:
        pid: str = next(ids)
        answer["prediction_id"] = pid
        if variants:
            answer["variant"] = model.variant
        metrics.predicted(model.variant, label)
        state.counts[model.variant] += 1
        recent.add(pid, model.variant, outcome, now)
        if state.log is not None:
            state.log.append({"type": "prediction", "prediction_id": pid, "timestamp": now, "route": route,
                              "variant": model.variant, "model_version": model.meta["project"]["version"],
                              "inputs": inputs(values), "outputs": {k: v for k, v in answer.items()
                                                                    if k not in ("prediction_id", "variant")}})
        return pid

    def shadow(feeds: dict[str, NDArray[Any]], champion: list[tuple[dict[str, Any], Any, str]],
               pids: list[str]) -> None:
        challenger = state.challenger
        if challenger is None:
            return
        try:
            start = time.perf_counter()
            decoded = challenger.decode(challenger.run(feeds))
            elapsed = time.perf_counter() - start
        except Exception as exc:  # the shadow never affects the answer
            state.shadow["errors"] += 1
            logger.warning("shadow challenger failed: %s", exc)
            return
        metrics.inference("challenger", elapsed)
        state.shadow["runs"] += len(decoded)
        state.shadow["latency_s"] += elapsed
        now = time.time()
        for (answer, outcome, label), (_, champion_outcome, _), pid in zip(decoded, champion, pids, strict=True):
            metrics.predicted("challenger", label)
            state.counts["challenger"] += 1
            if regression:
                state.shadow["abs_diff"] += abs(float(outcome) - float(champion_outcome))
            else:
                agree = outcome == champion_outcome
                state.shadow["agree"] += int(agree)
                metrics.shadow.labels("true" if agree else "false").inc()
            if state.log is not None:
                state.log.append({"type": "shadow", "prediction_id": pid, "timestamp": now,
                                  "variant": "challenger", "model_version": challenger.meta["project"]["version"],
                                  "latency_ms": elapsed * 1e3 / max(1, len(decoded)), "outputs": answer})

    if state.image is not None:  # an image model: the request carries images, not columns
        from .image_routes import install_routes

        install_routes(app, state, paths, record=record, shadow=shadow, invalid=_invalid, error=_error,
                       not_ready=_not_ready)
    else:
        _row_routes(app, state, paths, row_model, batch_model, record, routing_key, shadow)
    _other_routes(app, state, paths, feedback_model, regression)


def _row_routes(app: FastAPI, state: ServingState, paths: dict[str, str], row_model: type[BaseModel],
                batch_model: type[BaseModel], record: Callable[..., str],
                routing_key: Callable[[dict[str, Any], str | None], str | None],
                shadow: Callable[..., None]) -> None:
    """``POST /predict`` and ``/predict/batch`` of a model that takes rows of columns."""
    feeder = state.feeder
    metrics = state.metrics

    @app.post(paths["predict"], summary="Score one row", response_model=None)
    async def predict(request: Request) -> Response:
        if not state.ready:
            return _not_ready(state)
        body = await request.body()
        try:
            row = row_model.model_validate_json(body)
        except ValidationError as exc:
            raise _invalid(exc) from None
        values = row.__dict__
        model = state.champion
        if state.ab_mode == "split" and state.to_challenger(routing_key(values, request.headers.get("x-request-key"))):
            model = state.challenger
        assert model is not None
        feeder.fill_one(values)
        start = time.perf_counter()
        results = model.run(model.feed1)
        metrics.inference(model.variant, time.perf_counter() - start)
        decoded = model.decode(results)
        answer, outcome, label = decoded[0]
        pid = record(model, answer, outcome, label, values, time.time(), "predict")
        response = Response(to_json(answer, inf_nan_mode="null"), media_type=JSON)
        if state.ab_mode == "shadow":
            snapshot = {name: array.copy() for name, array in state.challenger.feed1.items()} \
                if state.challenger is not None else {}
            response.background = BackgroundTask(shadow, snapshot, decoded, [pid])
        return response

    @app.post(paths["batch"], summary="Score a batch of rows", response_model=None)
    async def predict_batch(request: Request) -> Response:
        if not state.ready:
            return _not_ready(state)
        body = await request.body()
        try:
            batch = batch_model.model_validate_json(body)
        except ValidationError as exc:
            raise _invalid(exc) from None
        rows = [r.__dict__ for r in batch.rows]  # type: ignore[attr-defined]
        n = len(rows)
        arrays = feeder.fill_many(rows)
        champion = state.champion
        assert champion is not None
        groups: list[tuple[ServedModel, NDArray[Any] | None]] = [(champion, None)]
        if state.ab_mode == "split" and state.challenger is not None:
            header = request.headers.get("x-request-key")
            chosen = np.fromiter((state.to_challenger(routing_key(v, header)) for v in rows), dtype=bool, count=n)
            if chosen.all():
                groups = [(state.challenger, None)]
            elif chosen.any():
                groups = [(champion, np.flatnonzero(~chosen)), (state.challenger, np.flatnonzero(chosen))]
        answers: list[dict[str, Any] | None] = [None] * n
        decoded_all: list[tuple[dict[str, Any], Any, str]] = []
        pids: list[str] = []
        now = time.time()
        for model, index in groups:
            start = time.perf_counter()
            results = model.run(model.feeds(arrays, index))
            metrics.inference(model.variant, time.perf_counter() - start)
            decoded = model.decode(results)
            positions = range(n) if index is None else index.tolist()
            for position, (answer, outcome, label) in zip(positions, decoded, strict=True):
                pids.append(record(model, answer, outcome, label, rows[position], now, "batch"))
                answers[position] = answer
            decoded_all.extend(decoded)
        response = Response(to_json({"predictions": answers}, inf_nan_mode="null"), media_type=JSON)
        if state.ab_mode == "shadow" and state.challenger is not None:
            response.background = BackgroundTask(shadow, state.challenger.feeds(arrays), decoded_all, pids)
        return response



def _other_routes(app: FastAPI, state: ServingState, paths: dict[str, str], feedback_model: type[BaseModel],
                  regression: bool) -> None:
    """Feedback, model information, monitoring, probes and metrics: the same for every model."""
    metrics = state.metrics
    recent = state.recent

    @app.post(paths["feedback"], summary="Report the true outcome of a prediction", response_model=None)
    async def feedback(request: Request) -> Response:
        body = await request.body()
        try:
            item = feedback_model.model_validate_json(body)
        except ValidationError as exc:
            raise _invalid(exc) from None
        pid: str = item.prediction_id  # type: ignore[attr-defined]
        label: Any = item.label  # type: ignore[attr-defined]
        entry = recent.get(pid)
        if entry is None:
            return _error(404, "unknown_prediction", f"no recent prediction has id {pid!r} (it may be older than "
                                                     f"the last {recent.capacity} predictions)",
                          [{"field": "prediction_id", "problem": "unknown or expired prediction id",
                            "type": "unknown_prediction"}])
        variant, outcome, _ = entry
        stats = state.feedback.setdefault(variant, FeedbackStats())
        stats.n += 1
        out: dict[str, Any] = {"prediction_id": pid, "variant": variant, "correct": None, "error": None}
        if regression:
            error = float(outcome) - float(label)
            stats.abs_error += abs(error)
            stats.sq_error += error * error
            out["error"] = error
            metrics.feedback.labels(variant, "na").inc()
        else:
            correct = label_text(label) == label_text(outcome) if not isinstance(outcome, bool) \
                else bool(label) == outcome
            stats.correct += int(correct)
            out["correct"] = correct
            metrics.feedback.labels(variant, "true" if correct else "false").inc()
        if state.feedback_log is not None:
            state.feedback_log.append({"type": "feedback", "prediction_id": pid, "timestamp": time.time(),
                                       "variant": variant, "label": label, "prediction": outcome,
                                       "correct": out["correct"], "error": out["error"]})
        return _json(out)

    model_info = _model_info(state, paths)

    @app.get(paths["model"], summary="The served model: version, training metrics, input schema")
    async def model() -> Response:
        return _json(model_info)

    @app.get(paths["monitoring"], summary="Drift per feature, live latency, feedback and A/B statistics")
    async def monitoring() -> Response:
        return _json(_monitoring(state))

    @app.get(paths["health"], summary="Liveness")
    async def health() -> Response:
        return _json({"status": "alive"})

    @app.get(paths["ready"], summary="Readiness: the model is loaded and answered a warm-up request")
    async def ready() -> Response:
        if state.ready:
            return _json({"status": "ready"})
        return _error(503, "not_ready", f"the model is not ready: {state.not_ready_reason}")

    @app.get(paths["metrics"], summary="Prometheus metrics", response_model=None)
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _model_info(state: ServingState, paths: dict[str, str]) -> dict[str, Any]:
    meta = state.meta
    champion = state.champion
    info: dict[str, Any] = {
        "project": meta["project"]["name"], "version": meta["project"]["version"], "spec_hash": meta["spec_hash"],
        "task": meta["task"], "target": meta["target"], "classes": meta["classes"], "metrics": meta["metrics"],
        "created_at": meta["created_at"],
        "model": {"file": meta["model"]["file"], "sha256": champion.sha256 if champion else None,
                  "size_bytes": champion.size_bytes if champion else None, "opset": meta["model"]["opset"],
                  "outputs": meta["model"]["outputs"], "parity_ok": meta["model"]["parity_ok"]},
        "input_schema": state.schemas.row.model_json_schema(by_alias=True),
        "api": {**meta["api"], "paths": paths},
        "latency_budget_ms": meta["latency_budget_ms"],
        "monitoring": meta["monitoring"],
        # whether the model passed its training run's gates (null: unknown, a file written before they were kept)
        "gates_passed": {"passed": True, "failed": False, "unknown": None}[gates_status(meta)],
        "gates": meta.get("gates"),
    }
    info["api"].pop("api_key_env", None)
    if meta.get("image") is not None:  # what an image request must be (the drift reference is in /monitoring)
        info["image"] = {k: v for k, v in meta["image"].items() if k != "reference"}
    quantization = meta["model"].get("quantization")
    if quantization is not None:  # int8 or float32 served, and why (deployment.optimize.quantize)
        info["model"]["quantization"] = quantization
    if meta["ab_test"] is not None:
        challenger = state.challenger
        info["ab_test"] = {**meta["ab_test"], "active": challenger is not None, "note": state.ab_note,
                           "challenger_version": challenger.meta["project"]["version"] if challenger else None,
                           "challenger_sha256": challenger.sha256 if challenger else None}
    return info


def _monitoring(state: ServingState) -> dict[str, Any]:
    regression = state.meta["task"] == "regression"
    out: dict[str, Any] = {
        "drift": state.drift.report() if state.drift is not None else {"enabled": False},
        "predictions": dict(state.counts),
        "latency": state.latencies.summary(state.meta["latency_budget_ms"]),
        "feedback": {variant: stats.as_dict(regression) for variant, stats in state.feedback.items()},
        "prediction_log": state.log.status() if state.log is not None else {"enabled": False},
    }
    if state.ab_mode is not None:
        ab: dict[str, Any] = {"mode": state.ab_mode, "weight": state.ab_weight}
        if state.ab_mode == "shadow":
            runs = state.shadow["runs"]
            ab["shadow"] = {"runs": runs, "errors": state.shadow["errors"],
                            "mean_latency_ms": state.shadow["latency_s"] * 1e3 / runs if runs else None}
            if regression:
                ab["shadow"]["mean_abs_diff"] = state.shadow["abs_diff"] / runs if runs else None
            else:
                ab["shadow"]["agreement"] = state.shadow["agree"] / runs if runs else None
        out["ab_test"] = ab
    elif state.meta["ab_test"] is not None:
        out["ab_test"] = {"active": False, "note": state.ab_note}
    return out
