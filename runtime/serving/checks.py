"""Checks of a whole ``serving.json`` before anything is served from it.

Two passes, each naming every problem by its path in the file (``columns[2].reference.edges: ...``):

1. types and required keys of every section: pydantic validates the data against the
   :class:`~aispec.runtime.serving.contract.ServingMetadata` TypedDicts in strict mode (no ``"1"``
   for ``1``, no ``1.0`` for an integer, no ``true`` for a number);
2. what types cannot say but the service relies on: a numeric column fed as float, bin edges in order
   with one count per bin, unique column names, classes without duplicates, a URL-safe API version, a
   drift window of at least one row, a model file inside the artifacts folder, ...

A hand-edited or truncated file is therefore refused when the service starts, with the field's path,
instead of failing at the first request with a ``KeyError``. The request example is checked by the
app itself (it needs the request model): see ``create_app``.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from .contract import CLASSIFICATION_TASKS, SERVABLE_TASKS, ServingMetadata
from .text import check_tokenizer_contract

__all__ = ["check_metadata", "format_path"]

_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# how each kind is fed: numeric columns as float64 (the graph centres them before its float32 cast, see
# preprocess.Float32Center) or float32 (graphs made before that), booleans as float32, text as strings
_DTYPE_OF = {"numeric": ("double", "float"), "boolean": ("float",), "categorical": ("string",),
             "text": ("string",)}
_REFERENCE_OF = {"numeric": "numeric", "boolean": "categorical", "categorical": "categorical"}


@cache
def _adapter() -> TypeAdapter[ServingMetadata]:
    return TypeAdapter(ServingMetadata)


def format_path(loc: Sequence[Any], data: Any) -> str:
    """A pydantic ``loc`` as a path into ``data`` (``columns[2].reference.edges``).

    Segments that are not in the data (the tags pydantic adds for union members) are left out; the
    last segment is always kept, since a missing key is reported at the key itself.
    """
    out = ""
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(part, int) and isinstance(node, list):
            out += f"[{part}]"
            node = node[part] if 0 <= part < len(node) else None
        elif isinstance(node, Mapping) and (part in node or last):
            out += f".{part}" if out else str(part)
            node = node.get(part)
        elif last and not isinstance(part, int):
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _type_problems(data: Mapping[str, Any]) -> list[str]:
    try:
        _adapter().validate_python(data, strict=True)
    except ValidationError as exc:
        seen: dict[str, str] = {}
        for error in exc.errors(include_url=False, include_context=False, include_input=False):
            path = format_path(error["loc"], data)
            seen.setdefault(path, str(error["msg"]))
        return [f"{path}: {message}" for path, message in seen.items()]
    return []


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _column_problems(i: int, column: Mapping[str, Any], pii: set[str]) -> list[str]:
    at = f"columns[{i}]"
    problems: list[str] = []
    kind = column["type"]
    if column["name"] in pii:
        problems.append(f"{at}.name: '{column['name']}' is listed in pii: personal data is never a model input")
    if column["dtype"] not in _DTYPE_OF[kind]:
        problems.append(f"{at}.dtype: '{column['name']}' is {kind}, fed to the model as "
                        f"{' or '.join(_DTYPE_OF[kind])}, not {column['dtype']}")
    bounds = column["range"]
    if bounds is not None:
        if len(bounds) != 2:
            problems.append(f"{at}.range: [min, max] has two entries (null for an open end), not {len(bounds)}")
        elif bounds[0] is not None and bounds[1] is not None and bounds[0] > bounds[1]:
            problems.append(f"{at}.range: min {bounds[0]} is above max {bounds[1]}")
    reference = column["reference"]
    if reference is None:
        return problems
    expected = _REFERENCE_OF.get(kind)
    if reference["kind"] != expected:
        problems.append(f"{at}.reference.kind: a {kind} column has " + (
            f"a {expected} reference, not {reference['kind']}" if expected else "no reference (null)"))
        return problems
    if reference["n"] < 0 or reference["missing"] < 0:
        problems.append(f"{at}.reference: row counts cannot be negative")
    if reference["kind"] == "numeric":
        edges, counts = reference["edges"], reference["counts"]
        if len(edges) < 2 or not all(_finite(e) for e in edges) or any(b < a for a, b in itertools.pairwise(edges)):
            problems.append(f"{at}.reference.edges: at least two finite bin edges in ascending order")
        elif len(counts) != len(edges) - 1:
            problems.append(f"{at}.reference.counts: one count per bin ({len(edges) - 1}), not {len(counts)}")
        if any(c < 0 for c in counts):
            problems.append(f"{at}.reference.counts: counts cannot be negative")
    elif any(c < 0 for c in reference["frequencies"].values()):
        problems.append(f"{at}.reference.frequencies: counts cannot be negative")
    return problems


def _semantic_problems(data: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if data["task"] not in SERVABLE_TASKS:
        problems.append(f"task: {data['task']!r} cannot be served (servable: {', '.join(SERVABLE_TASKS)})")
    columns = data["columns"]
    forecasting = data["task"] == "forecasting"
    if data.get("image") is not None:
        from .images import image_problems

        problems.extend(image_problems(data["image"]))
        if columns:
            problems.append("columns: an image model takes the image only, not columns")
    elif forecasting:
        problems.extend(_forecast_problems(data))
    elif not columns:
        problems.append("columns: no columns: the model needs at least one input")
    pii = set(data["pii"])
    names: set[str] = set()
    inputs: set[str] = set()
    for i, column in enumerate(columns):
        for key, seen in (("name", names), ("input", inputs)):
            if column[key] in seen:
                problems.append(f"columns[{i}].{key}: '{column[key]}' appears twice")
            seen.add(column[key])
        problems.extend(_column_problems(i, column, pii))
    classes = data["classes"]
    if data["task"] in CLASSIFICATION_TASKS:
        texts = [str(c) for c in classes or []]
        if len(texts) < 2:
            problems.append("classes: a classifier has at least two classes")
        elif len(set(texts)) != len(texts):
            problems.append("classes: a class appears twice")
    model = data["model"]
    file = str(model["file"]).replace("\\", "/")
    if not file or file.startswith("/") or ".." in file.split("/") or ":" in file:
        problems.append(f"model.file: {model['file']!r} must be a file name inside the artifacts folder")
    if not model["outputs"]:
        problems.append("model.outputs: the model has at least one output")
    tokenizer = model.get("tokenizer")
    if tokenizer is not None:
        problems.extend(check_tokenizer_contract(tokenizer))
        kinds = {c["name"]: c["type"] for c in columns}
        if kinds.get(tokenizer.get("column")) != "text":
            problems.append(f"model.tokenizer.column: {tokenizer.get('column')!r} is not a text column")
    api = data["api"]
    if not _VERSION.match(api["version"]):
        problems.append(f"api.version: {api['version']!r} is not a URL path segment (letters, digits, . _ -)")
    for key in ("max_batch", "max_body"):
        if api[key] < 1:
            problems.append(f"api.{key}: must be at least 1, not {api[key]}")
    budget = data["latency_budget_ms"]
    if budget is not None and not (_finite(budget) and budget >= 0):
        problems.append(f"latency_budget_ms: a duration in ms (0 or more), not {budget}")
    ab = data["ab_test"]
    if ab is not None and not (_finite(ab["weight"]) and 0.0 <= ab["weight"] <= 1.0):
        problems.append(f"ab_test.weight: a share of traffic between 0 and 1, not {ab['weight']}")
    drift = data["monitoring"]["drift"]
    if drift is not None:
        if drift["window"] < 1:
            problems.append(f"monitoring.drift.window: at least one row, not {drift['window']}")
        if not (_finite(drift["threshold"]) and drift["threshold"] > 0):
            problems.append(f"monitoring.drift.threshold: above 0, not {drift['threshold']}")
    return problems


def _forecast_problems(data: Mapping[str, Any]) -> list[str]:
    """A forecaster's ``forecast`` section: present, consistent with ``model`` and servable."""
    from ..series.clock import parse

    forecast = data.get("forecast")
    if forecast is None:
        return ["forecast: a forecasting model needs the forecast section (what a request posts)"]
    problems: list[str] = []
    if data["columns"]:
        problems.append("columns: a forecaster takes posted history, not columns: leave columns empty")
    if forecast["file"] != data["model"]["file"]:
        problems.append(f"forecast.file: {forecast['file']!r} is not model.file {data['model']['file']!r}")
    try:
        parse(forecast["frequency"])
    except ValueError as exc:
        problems.append(f"forecast.frequency: {exc}")
    for key in ("horizon", "context", "season", "change_lag"):
        if forecast[key] < 1:
            problems.append(f"forecast.{key}: at least 1, not {forecast[key]}")
    lags = forecast["lags"]
    if not lags or min(lags) < 1:
        problems.append(f"forecast.lags: positive step counts, not {lags}")
    elif forecast["kind"] == "lag" and max(lags) > forecast["context"]:
        problems.append(f"forecast.context: {forecast['context']} observations cannot feed lag {max(lags)}")
    if forecast["intervals"] is not None and not (_finite(forecast["intervals"]) and 0 < forecast["intervals"] < 1):
        problems.append(f"forecast.intervals: a coverage between 0 and 1, not {forecast['intervals']}")
    for i, column in enumerate(forecast["drift"]):
        found = _column_problems(i, column, set())
        problems.extend(p.replace(f"columns[{i}]", f"forecast.drift[{i}]", 1) for p in found)
    return problems


def check_metadata(data: Mapping[str, Any]) -> list[str]:
    """Every problem of a parsed ``serving.json`` (optional keys already defaulted), as ``path: problem``."""
    problems = _type_problems(data)
    if problems:  # the semantic checks assume the types hold
        return problems
    return _semantic_problems(data)
