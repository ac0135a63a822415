"""``artifacts/serving.json``: everything the service needs besides ``model.onnx``.

A training run writes it next to the ONNX model with :func:`serving_metadata` +
:func:`write_serving_metadata`; the service (:mod:`aispec.runtime.serving.app`) reads it with
:func:`read_serving_metadata`. It is plain JSON (no NaN / Infinity), so any other tool can read it.

Format (``format_version`` 1), see :class:`ServingMetadata` for every field::

    {
      "format": "aispec-serving", "format_version": 1, "created_at": "2025-01-31T12:00:00+00:00",
      "project": {"name": "penguin-species", "version": "1.0.0"}, "spec_hash": "sha256:...",
      "task": "classification", "target": "species", "classes": ["Adelie", "Chinstrap", "Gentoo"],
      "model": {"file": "model.onnx", "outputs": ["label", "probabilities"], "scores": "probabilities",
                "opset": {"": 17, "ai.onnx.ml": 3}, "size_bytes": 123456, "parity_ok": true,
                "quantization": {"requested": "int8", "served": "int8", "status": "applied",
                                 "float_file": "model.fp32.onnx", "reason": "..."}},
      "columns": [
        {"name": "bill_length_mm", "input": "bill_length_mm", "type": "numeric", "dtype": "float",
         "nullable": true, "range": [25.0, 70.0], "allowed": null, "description": null, "unit": "mm",
         "reference": {"kind": "numeric", "n": 266, "missing": 2, "edges": [32.1, ..., 59.6],
                       "counts": [27, ...], "mean": 43.9, "std": 5.4, "sample": [39.1, ...]}},
        {"name": "island", "input": "island", "type": "categorical", "dtype": "string", "nullable": false,
         "range": null, "allowed": ["Biscoe", "Dream", "Torgersen"], "description": null, "unit": null,
         "reference": {"kind": "categorical", "n": 266, "missing": 0,
                       "frequencies": {"Biscoe": 130, "Dream": 98, "Torgersen": 38}}}
      ],
      "pii": ["email"], "example": {"bill_length_mm": 44.5, "island": "Biscoe"},
      "metrics": {"accuracy": 0.98, "f1_macro": 0.97},
      "api": {"version": "v1", "max_batch": 500, "max_body": 1048576, "auth": "none", "api_key_env": null},
      "latency_budget_ms": 50.0,
      "ab_test": {"challenger": "../challenger", "weight": 0.1, "mode": "split", "sticky_key": "customer_id"},
      "monitoring": {"drift": {"method": "psi", "threshold": 0.2, "window": 500}, "log_predictions": true},
      "gates": {"passed": false, "gates": [
        {"criterion": "f1_macro >= 0.99", "metric": "f1_macro", "op": ">=", "threshold": 0.99, "observed": 0.97,
         "passed": false, "message": "f1_macro = 0.97, required >= 0.99", "where": "spec.yaml:40:7"}]}
    }

``gates`` is the training run's gate report (``metrics.GateReport.to_dict()``: acceptance, fairness and
any other gate, e.g. ONNX parity). Files written before it have no such key: the gates are then
*unknown* (see :mod:`aispec.runtime.serving.gates` for what the service, batch scoring and the image
do in each case). Readers must treat the key as optional; the format version stays 1.

``model.quantization`` is present only when the spec asks for ``deployment.optimize.quantize``
(int8 or fp16): ``file`` is then the served model, int8 or float32 as ``served`` says. Readers
must treat the key as optional (files written before it exist); the format version stays 1.

Reference statistics come from the training frame's feature columns:

* numeric: ``edges`` are the deciles of the non-missing values (``numpy.quantile`` at 0, 0.1, ..., 1;
  repeated edges merged, so fewer than 10 bins for columns with few distinct values); a value ``v``
  falls in bin ``searchsorted(edges[1:-1], v, side="right")`` (below the first edge: bin 0, above the
  last: the last bin); ``counts`` are the training rows per bin; ``sample`` holds up to
  :data:`KS_SAMPLE` non-missing values drawn without replacement (seeded) for Kolmogorov-Smirnov tests.
* categorical / boolean: ``frequencies`` maps each value *as fed to the model* (categorical: the
  label text, e.g. ``"1"`` for 1.0; boolean: ``"true"`` / ``"false"``) to its count, most frequent first.
* text: no reference (``null``).
* ``missing`` counts missing values (NaN, None, ``""``); ``n`` counts all rows.

This module imports pydantic (for :func:`read_serving_metadata`'s checks), and numpy and pandas only
inside :func:`serving_metadata`: the service imports it to read the file.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, NotRequired

from pydantic import Field  # the discriminator of ``reference``: validation errors then name one kind
from typing_extensions import TypedDict  # pydantic validates typing_extensions' TypedDicts only, on 3.11

from aispec.schemas import expressions
from aispec.schemas.labels import label_text
from aispec.schemas.vocabulary import CLASSIFICATION, TASKS, Task

from ..errors import ConfigError
from .text import TokenizerContract

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "KS_SAMPLE",
    "N_BINS",
    "AbTestContract",
    "ApiContract",
    "CategoricalReference",
    "ColumnContract",
    "DriftContract",
    "ForecastContract",
    "GateContract",
    "GatesContract",
    "ImageContract",
    "ModelContract",
    "MonitoringContract",
    "NumericReference",
    "ProjectContract",
    "QuantizationContract",
    "ServingMetadata",
    "label_text",
    "parse_duration_ms",
    "parse_size",
    "read_serving_metadata",
    "serving_metadata",
    "spec_digest",
    "write_serving_metadata",
]

FORMAT = "aispec-serving"
FORMAT_VERSION = 1
N_BINS = 10
KS_SAMPLE = 500
DEFAULT_MAX_BODY = 1024 * 1024
# the inputs the service takes today: one row of tabular (and text) columns, or one image, per request, or
# the recent history of a series (forecasting: the ``forecast`` section, see ``ForecastContract``)
SERVED_MODALITIES = frozenset({"tabular", "text", "image", "series"})
SERVABLE_TASKS = tuple(t.value for t, info in TASKS.items() if info.modality in SERVED_MODALITIES)
CLASSIFICATION_TASKS = tuple(sorted(CLASSIFICATION))

ColumnType = Literal["numeric", "boolean", "categorical", "text"]
Scalar = str | int | float | bool


class NumericReference(TypedDict):
    """Training distribution of a numeric column (see the module docstring for the binning rule)."""

    kind: Literal["numeric"]
    n: int  # rows
    missing: int  # rows without a value
    edges: list[float]  # ascending bin edges (at most N_BINS + 1)
    counts: list[int]  # training rows per bin, len(edges) - 1 (at least 1)
    mean: float | None
    std: float | None
    sample: list[float]  # up to KS_SAMPLE non-missing values, for the KS test


class CategoricalReference(TypedDict):
    """Training distribution of a categorical or boolean column."""

    kind: Literal["categorical"]
    n: int
    missing: int
    frequencies: dict[str, int]  # value as fed to the model -> rows, most frequent first


class ColumnContract(TypedDict):
    """One request field = one model input. Order = the ONNX graph's input order."""

    name: str  # the column (and request field) name
    input: str  # the ONNX input name (skl2onnx turns "a b" into "a_b")
    type: ColumnType  # declared type (or inferred from the ONNX input: float -> numeric, string -> categorical)
    dtype: Literal["float", "double", "string"]  # the ONNX input type: feed float32, float64 or str
    nullable: bool  # whether null / a missing field is accepted
    range: list[float | None] | None  # inclusive [min, max] (None = open end) of a numeric column
    allowed: list[Scalar] | None  # the only values a categorical column takes, as declared
    description: str | None
    unit: str | None
    # training statistics (None: text)
    reference: Annotated[NumericReference | CategoricalReference, Field(discriminator="kind")] | None


class PixelStatistics(TypedDict):
    """Per-channel mean and standard deviation of the training split's pixels (in [0, 1])."""

    mean: list[float]
    std: list[float]


class ImageContract(TypedDict):
    """An image model's input (``runtime.serving.images``): how a request's PNG or JPEG becomes the graph's
    ``N×C×H×W`` float32 input, exactly as training read its files (``runtime.images.decode``)."""

    field: str  # the request field: JSON {"image": base64} / multipart part "image" (batch: "images")
    input: str  # the ONNX input
    channels: Literal[1, 3]
    mode: Literal["L", "RGB"]  # grey or RGB (colour images are converted to grey for a grey model, ...)
    height: int
    width: int
    resize: Literal["bilinear"]
    formats: list[Literal["PNG", "JPEG"]]  # accepted by their first bytes
    max_pixels: int  # width × height declared in the header above this: 413, before any pixel is decoded
    scale: float  # pixels are divided by this (255): the graph's input lies in [0, 1]
    # the training split's pixel statistics; the graph standardises with those of the rows it was fitted on
    pixels: PixelStatistics
    # per channel, the training images' mean brightness (in [0, 1]): the drift reference
    reference: list[NumericReference]


class ProjectContract(TypedDict):
    name: str
    version: str


class QuantizationContract(TypedDict):
    """``deployment.optimize.quantize`` of the training run (see :mod:`aispec.runtime.quantize`)."""

    requested: Literal["int8", "fp16"]
    served: Literal["int8", "float32"]  # what ``file`` holds
    status: Literal["applied", "rejected", "skipped", "failed", "unsupported"]
    float_file: str | None  # the float32 model beside it ("model.fp32.onnx") when ``file`` is the int8 one
    reason: str


class ModelContract(TypedDict):
    """The ONNX file and how to read its outputs."""

    file: str  # relative to the artifacts directory
    outputs: list[str]  # ONNX output names in graph order
    # classification: "probabilities" when the second output holds predict_proba, "decision" when it
    # holds decision scores (a classifier without predict_proba); clustering/anomaly: "scores"; else None
    scores: Literal["probabilities", "decision", "scores"] | None
    opset: dict[str, int]
    size_bytes: int
    parity_ok: bool
    # only when the spec asks for quantization (files written before it have no such key: read with .get)
    quantization: NotRequired[QuantizationContract]
    # what the outputs mean, as the back end's export says it (api.OutputContract.to_dict(); absent in
    # files written before it: read with .get)
    output: NotRequired[dict[str, Any]]
    # a graph that reads token ids: how the service makes them from the text column (serving/text.py)
    tokenizer: NotRequired[TokenizerContract]


class ApiContract(TypedDict):
    version: str  # URL prefix, e.g. "v1" -> /v1/predict
    max_batch: int  # rows per /predict/batch request
    max_body: int  # bytes per request body
    auth: Literal["none", "api_key"]
    api_key_env: str | None  # environment variable holding the key (auth: api_key)


class AbTestContract(TypedDict):
    challenger: str  # as declared; the service loads the challenger from <artifacts>/challenger/
    weight: float  # share of traffic for the challenger (split mode)
    mode: Literal["split", "shadow"]
    sticky_key: str | None  # request field whose value keeps a caller on one variant


class DriftContract(TypedDict):
    method: Literal["psi", "ks", "both"]
    threshold: float  # PSI and KS statistic above which a feature counts as drifted
    window: int  # the last N rows served are compared with the reference


class MonitoringContract(TypedDict):
    drift: DriftContract | None
    log_predictions: bool


class _GateRequired(TypedDict):
    metric: str
    passed: bool


class GateContract(_GateRequired, total=False):
    """One gate of the training run (``metrics.check_gates``); only ``metric`` and ``passed`` are required,
    so gates of other kinds (e.g. ONNX parity) with fewer fields are read too."""

    criterion: str
    op: str
    threshold: float | None
    observed: float | None  # None: not computed
    message: str
    where: str | None


class GatesContract(TypedDict):
    """The gate report of the training run: ``passed`` only when every gate passed."""

    passed: bool
    gates: list[GateContract]


class ForecastContract(TypedDict):
    """Forecasting (``task: forecasting``): what a request posts and how the answer is computed.

    A request posts the series' recent history (``timestamps`` and ``values``, at least ``context`` of each,
    one ``frequency`` step apart, oldest first); the answer is the next ``horizon`` timestamps and values
    (and the 95 % interval when ``intervals`` is set). ``kind`` says how the model file is read (see
    ``serving.forecaster``). ``drift``: pseudo-columns the drift monitor tracks per request (the posted
    level and its change over ``change_lag`` steps), with their training references."""

    family: str
    kind: Literal["lag", "state_space", "baseline"]
    file: str
    time_column: str
    target: str
    frequency: str  # a ``series.clock`` alias, e.g. "W-SAT"
    horizon: int
    context: int
    season: int
    lags: list[int]
    multi_step: Literal["recursive", "direct"]
    intervals: float | None
    parameters: dict[str, Any]
    drift: list[ColumnContract]
    change_lag: int


class ServingMetadata(TypedDict):
    """The whole of ``serving.json`` (format version 1)."""

    format: Literal["aispec-serving"]
    format_version: int
    created_at: str  # ISO 8601, UTC
    project: ProjectContract
    spec_hash: str
    task: str  # one of SERVABLE_TASKS
    target: str | None
    classes: list[Scalar] | None  # classification: classes_ in the order of the probability columns
    model: ModelContract
    columns: list[ColumnContract]
    pii: list[str]  # compliance.pii: never accepted in a request, never logged
    example: dict[str, Any]  # a valid request row (medians / most frequent values): warm-up and docs
    metrics: dict[str, float]  # test-split metrics of the training run
    api: ApiContract
    latency_budget_ms: float | None
    ab_test: AbTestContract | None
    monitoring: MonitoringContract
    # the training run's gates (files written before them have none: read with .get; None = unknown)
    gates: NotRequired[GatesContract]
    # image models only: the request's image and how it is read (``columns`` is then empty)
    image: NotRequired[ImageContract]
    # forecasting only: the posted-history contract (then ``columns`` is empty)
    forecast: NotRequired[ForecastContract]


# ---------------------------------------------------------------------------------------- parsing

def _config_error(exc: expressions.ExpressionError) -> ConfigError:
    return ConfigError(exc.message, hint=exc.hint, code=exc.code)


def parse_size(value: Any) -> int:
    """Bytes of a size: an int (bytes) or text as the spec writes it (``SizeExpr``: ``"1MiB"``, ``"512 KB"``)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if not isinstance(value, str):
        raise ConfigError(f"expected a size as text (e.g. 2GiB) or a number of bytes, got {value!r}", code="AIS204")
    try:
        return expressions.parse_size(value).bytes
    except expressions.ExpressionError as exc:
        raise _config_error(exc) from None


def parse_duration_ms(value: Any) -> float:
    """Milliseconds of a duration: a number (ms) or text as the spec writes it (``DurationExpr``: ``"50ms"``,
    ``"1m30s"``)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(f"expected a duration as text (e.g. 50ms) or a number of milliseconds, got {value!r}",
                          code="AIS204")
    try:
        return expressions.parse_duration(value).milliseconds
    except expressions.ExpressionError as exc:
        raise _config_error(exc) from None


def _plain(value: Any) -> Any:
    """numpy scalars -> Python scalars (JSON-serialisable)."""
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, str | bytes):
        try:
            return item()
        except (TypeError, ValueError):
            return value
    return value


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def spec_digest(text: str | bytes) -> str:
    """``sha256:<hex>`` of the spec text: the value a training run passes as ``spec_hash``."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------------------ statistics


def _numeric_reference(values: Any, *, seed: int) -> NumericReference:
    import numpy as np

    arr = np.asarray(values, dtype=np.float64).ravel()
    n = int(arr.size)
    present = arr[np.isfinite(arr)]
    missing = n - int(present.size)
    if present.size == 0:
        return NumericReference(kind="numeric", n=n, missing=missing, edges=[0.0, 0.0], counts=[0], mean=None,
                                std=None, sample=[])
    edges = np.unique(np.quantile(present, np.linspace(0.0, 1.0, N_BINS + 1)))
    if edges.size < 2:
        edges = np.array([edges[0], edges[0]])
    bins = np.searchsorted(edges[1:-1], present, side="right")
    counts = np.bincount(bins, minlength=edges.size - 1)
    rng = np.random.default_rng(seed)
    take = min(KS_SAMPLE, int(present.size))
    sample = rng.choice(present, size=take, replace=False) if take < present.size else present.copy()
    return NumericReference(
        kind="numeric", n=n, missing=missing, edges=[float(e) for e in edges], counts=[int(c) for c in counts],
        mean=_finite(np.mean(present)), std=_finite(np.std(present)), sample=[float(v) for v in sample])


def _categorical_reference(texts: Sequence[str]) -> CategoricalReference:
    counts: dict[str, int] = {}
    missing = 0
    for text in texts:
        if text == "":
            missing += 1
        else:
            counts[text] = counts.get(text, 0) + 1
    ordered = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return CategoricalReference(kind="categorical", n=len(texts), missing=missing, frequencies=ordered)


def _values(frame: Any, name: str) -> list[Any]:
    """The column as Python scalars, None for every kind of missing value (NaN, NaT, pd.NA, None)."""
    if frame is None or name not in getattr(frame, "columns", ()):
        return []
    import pandas as pd  # type: ignore[import-untyped]

    series = frame[name]
    missing = pd.isna(series).to_numpy()
    return [None if gone else _plain(v) for v, gone in zip(series.tolist(), missing.tolist(), strict=True)]


def _to_float(value: Any) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _bool_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "yes", "1", "t", "y"):
            return "true"
        if lowered in ("false", "no", "0", "f", "n"):
            return "false"
        return ""
    return "true" if bool(value) else "false"


def _example_value(column: ColumnContract, values: list[Any]) -> Any:
    reference = column["reference"]
    kind = column["type"]
    if kind == "numeric":
        lo, hi = (column["range"] or [None, None])[0], (column["range"] or [None, None])[1]
        present = [x for x in (_to_float(v) for v in values) if not math.isnan(x)]
        if present:
            present.sort()
            mid = present[len(present) // 2]
        elif lo is not None and hi is not None:
            mid = (lo + hi) / 2
        else:
            mid = lo if lo is not None else hi if hi is not None else 0.0
        if lo is not None:
            mid = max(mid, lo)
        if hi is not None:
            mid = min(mid, hi)
        return float(mid)
    if kind == "boolean":
        seen = list(reference["frequencies"]) if reference and reference["kind"] == "categorical" else []
        return next(iter(seen), "false") == "true"
    if kind == "categorical":
        freq = list(reference["frequencies"]) if reference and reference["kind"] == "categorical" else []
        allowed = column["allowed"]
        if allowed:
            by_text = {label_text(a): a for a in allowed}
            for text in freq:
                if text in by_text:
                    return by_text[text]
            return allowed[0]
        return freq[0] if freq else ""
    texts = [str(v) for v in values if v is not None and str(v)]
    if not texts:
        return ""
    counts: dict[str, int] = {}
    for text in texts:
        counts[text] = counts.get(text, 0) + 1
    return max(counts.items(), key=lambda kv: (kv[1], -len(kv[0])))[0]


# --------------------------------------------------------------------------------------- builder


def _section(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if hasattr(value, "model_dump"):
        dumped: dict[str, Any] = value.model_dump(mode="json", exclude_none=True)
        return dumped
    return dict(value)


def serving_metadata(*, onnx: Mapping[str, Any], features: Sequence[str],
                     columns: Mapping[str, Mapping[str, Any]] | None, frame: Any, task: str, target: str | None,
                     classes: Sequence[Any] | None, project_name: str, project_version: str, spec_hash: str,
                     metrics: Mapping[str, Any] | None = None, deployment: Mapping[str, Any] | None = None,
                     monitoring: Mapping[str, Any] | None = None, pii: Sequence[str] = (), seed: int = 0,
                     model_file: str = "model.onnx", created_at: str | None = None,
                     quantization: Mapping[str, Any] | None = None,
                     gates: Any = None) -> ServingMetadata:
    """Build the ``serving.json`` dict.

    ``onnx``: ``OnnxReport.to_dict()``; ``features``: the model's feature columns in order; ``columns``:
    the declared column specs (``{"type", "nullable", "range", "allowed", ...}``; None or missing
    entries: type inferred from the ONNX input type); ``frame``: the training split's features (a
    pandas DataFrame, prepared or raw) for the reference statistics; ``classes``: ``classes_`` of a
    classifier; ``metrics``: test-split metrics; ``deployment`` / ``monitoring``: those spec sections
    as resolved-spec dicts (``api.max_body`` as ``"1MiB"`` or bytes, ``latency_budget`` as
    ``"50ms"``); ``pii``: ``compliance.pii``; ``quantization``: ``QuantizationReport.to_dict()``,
    written as ``model.quantization`` when given (``onnx["size_bytes"]`` is then the served file's);
    ``gates``: the run's ``GateReport`` (or its ``to_dict()``), written as ``gates`` when given.
    Raises ValueError for a task the service cannot serve, a feature the ONNX model has no input for,
    a PII feature or a datetime/image feature.
    """
    if task not in SERVABLE_TASKS:
        raise ValueError(f"the REST service cannot serve task {task!r} (servable: {', '.join(SERVABLE_TASKS)})")
    onnx_columns: Mapping[str, str] = onnx.get("columns") or {}
    onnx_inputs: Mapping[str, str] = onnx.get("inputs") or {}
    pii_set = set(pii)
    declared = dict(columns or {})
    out_columns: list[ColumnContract] = []
    example: dict[str, Any] = {}
    image: ImageContract | None = None
    if TASKS[Task(task)].modality == "image":  # one image per request, no columns
        from .images import image_contract

        image, example = image_contract(onnx=onnx, features=features, frame=frame, seed=seed)
    for index, name in enumerate(features if image is None else ()):
        if name in pii_set:
            raise ValueError(f"feature '{name}' is listed in compliance.pii: personal data is never a model input")
        if name not in onnx_columns:
            raise ValueError(f"the ONNX model has no input for feature '{name}'")
        input_name = onnx_columns[name]
        dtype = onnx_inputs.get(input_name, "float")
        if dtype not in ("float", "double", "string"):
            raise ValueError(f"ONNX input '{input_name}' has unsupported type {dtype!r}")
        spec = dict(declared.get(name) or {})
        raw_type = spec.get("type")
        kind = str(getattr(raw_type, "value", raw_type)) if raw_type is not None else (
            "numeric" if dtype in ("float", "double") else "categorical")
        if kind not in ("numeric", "boolean", "categorical", "text"):
            raise ValueError(f"feature '{name}' has type {kind!r}, which the REST service cannot take")
        if (kind in ("numeric", "boolean")) != (dtype in ("float", "double")):
            raise ValueError(f"feature '{name}' is declared {kind} but its ONNX input is {dtype}")
        values = _values(frame, name)
        reference: NumericReference | CategoricalReference | None
        if kind == "numeric":
            reference = _numeric_reference([_to_float(v) for v in values], seed=seed + index)
        elif kind == "boolean":
            reference = _categorical_reference([_bool_text(v) for v in values])
        elif kind == "categorical":
            reference = _categorical_reference([label_text(v) for v in values])
        else:
            reference = None
        rng = spec.get("range")
        allowed = spec.get("allowed")
        column = ColumnContract(
            name=str(name), input=str(input_name), type=kind,  # type: ignore[typeddict-item]
            dtype=dtype,  # type: ignore[typeddict-item]
            nullable=bool(spec.get("nullable", False)),
            range=[None if v is None else float(v) for v in rng] if rng is not None and kind == "numeric" else None,
            allowed=[_plain(v) for v in allowed] if allowed and kind == "categorical" else None,
            description=spec.get("description"), unit=spec.get("unit"), reference=reference)
        out_columns.append(column)
        example[str(name)] = _example_value(column, values)

    dep = _section(deployment)
    api = _section(dep.get("api"))
    ab = _section(dep.get("ab_test")) if dep.get("ab_test") else {}
    mon = _section(monitoring)
    drift = _section(mon.get("drift")) if mon.get("drift") else {}
    budget = dep.get("latency_budget")
    outputs = [str(o) for o in onnx.get("outputs") or []]
    compared = str(onnx.get("compared") or "")
    output = dict(onnx.get("contract") or {})
    scores: Literal["probabilities", "decision", "scores"] | None = None
    if output:  # the back end says what its outputs mean
        score_kind = output.get("score_kind")
        if task in CLASSIFICATION_TASKS:
            scores = "probabilities" if score_kind == "probabilities" else "decision" if score_kind == "decision" \
                else None
        elif output.get("scores"):
            scores = "scores"
    elif task in CLASSIFICATION_TASKS and "probabilities" in outputs:  # an export made before the contract
        scores = "decision" if compared.startswith("decision_function") else "probabilities"
    elif task in ("clustering", "anomaly_detection") and len(outputs) > 1:
        scores = "scores"
    clean_metrics = {str(k): f for k, v in (metrics or {}).items() if (f := _finite(v)) is not None
                     and not isinstance(v, bool)}
    model = ModelContract(file=model_file, outputs=outputs, scores=scores,
                          opset={str(k): int(v) for k, v in (onnx.get("opset") or {}).items()},
                          size_bytes=int(onnx.get("size_bytes") or 0), parity_ok=bool(onnx.get("parity_ok", True)))
    if output:
        model["output"] = output
    if onnx.get("tokenizer"):
        model["tokenizer"] = TokenizerContract(**onnx["tokenizer"])  # type: ignore[typeddict-item]
    if quantization is not None:
        model["quantization"] = QuantizationContract(
            requested=quantization["requested"], served=quantization["served"], status=quantization["status"],
            float_file=quantization.get("float_file"), reason=str(quantization.get("reason") or ""))
    meta = ServingMetadata(
        format="aispec-serving", format_version=FORMAT_VERSION,
        created_at=created_at or datetime.now(UTC).isoformat(timespec="seconds"),
        project=ProjectContract(name=str(project_name), version=str(project_version)),
        spec_hash=str(spec_hash), task=task, target=target,
        classes=[_plain(c) for c in classes] if classes is not None and task in CLASSIFICATION_TASKS else None,
        model=model,
        columns=out_columns, pii=[str(p) for p in pii], example=example, metrics=clean_metrics,
        api=ApiContract(version=str(api.get("version") or "v1"), max_batch=int(api.get("max_batch") or 1000),
                        max_body=parse_size(api["max_body"]) if api.get("max_body") is not None else DEFAULT_MAX_BODY,
                        auth="api_key" if api.get("auth") == "api_key" else "none",
                        api_key_env=api.get("api_key_env")),
        latency_budget_ms=parse_duration_ms(budget) if budget is not None else None,
        ab_test=AbTestContract(challenger=str(ab.get("challenger", "challenger")),
                               weight=float(ab.get("weight", 0.1)),
                               mode="shadow" if ab.get("mode") == "shadow" else "split",
                               sticky_key=ab.get("sticky_key")) if ab else None,
        monitoring=MonitoringContract(
            drift=DriftContract(method=drift.get("method", "psi"), threshold=float(drift.get("threshold", 0.2)),
                                window=int(drift.get("window", 1000))) if drift else None,
            log_predictions=bool(mon.get("log_predictions", False))),
    )
    if gates is not None:
        meta["gates"] = _gates(gates)
    if image is not None:
        meta["image"] = image
    return meta


def _gates(report: Any) -> GatesContract:
    """A GateReport (or its dict) as plain JSON: numbers as floats, NaN as None."""
    data = report.to_dict() if hasattr(report, "to_dict") else dict(report)
    out: list[GateContract] = []
    for gate in data.get("gates") or []:
        item: dict[str, Any] = {str(k): _plain(v) for k, v in dict(gate).items()}
        for key in ("threshold", "observed"):
            if key in item:
                item[key] = _finite(item[key]) if item[key] is not None else None
        item["metric"] = str(item.get("metric", ""))
        item["passed"] = bool(item.get("passed"))
        out.append(item)  # type: ignore[arg-type]
    return GatesContract(passed=bool(data.get("passed")) and all(g["passed"] for g in out), gates=out)


# ------------------------------------------------------------------------------------------ files


def write_serving_metadata(path: Path, meta: ServingMetadata) -> Path:
    """Write ``meta`` as JSON at ``path`` (atomically); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(meta, indent=1, ensure_ascii=False, allow_nan=False)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


_REQUIRED = ("format", "format_version", "project", "task", "model", "columns", "api", "monitoring")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (numbers must be finite)")


def read_serving_metadata(path: Path) -> ServingMetadata:
    """Read and check the whole of ``serving.json``: a ValueError naming each problem by its path
    (``serving.json: columns[2].reference.edges: ...``) when it is not a valid version-1 file.

    Keys added after version 1 was first written (``pii``, ``example``, ``gates``, ...) are optional;
    unknown keys are ignored, so a newer writer's additions do not stop an older service.
    """
    from .checks import check_metadata

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constants)
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist: the training run writes it next to model.onnx") from None
    except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise ValueError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON object")
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}")
    if data["format"] != FORMAT or data["format_version"] != FORMAT_VERSION:
        raise ValueError(f"{path}: format {data['format']!r} version {data['format_version']!r}, "
                         f"this service reads {FORMAT!r} version {FORMAT_VERSION}")
    data.setdefault("pii", [])
    data.setdefault("example", {})
    data.setdefault("metrics", {})
    data.setdefault("classes", None)
    data.setdefault("target", None)
    data.setdefault("spec_hash", "")
    data.setdefault("created_at", "")
    data.setdefault("latency_budget_ms", None)
    data.setdefault("ab_test", None)
    problems = check_metadata(data)
    if problems:
        shown = "; ".join(problems[:8]) + (f" (and {len(problems) - 8} more)" if len(problems) > 8 else "")
        raise ValueError(f"{path}: {shown}")
    meta: ServingMetadata = data  # type: ignore[assignment]
    return meta
