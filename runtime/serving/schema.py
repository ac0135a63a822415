"""Request and response models derived from ``serving.json``, and the OpenAPI document built from them.

Request rows (``PredictRequest``):

* numeric -> ``float`` (JSON numbers only, finite, ``ge``/``le`` from the declared range);
* boolean -> ``bool`` (``true`` / ``false`` only);
* categorical with ``allowed`` -> ``Literal[...]`` of the declared values (and their text form, e.g.
  ``1`` and ``"1"``); without -> ``str``; text -> ``str`` of at most ``TEXT_MAX_CHARS`` characters;
* nullable columns are optional (``null`` or absent = missing); the others are required;
* PII columns are never fields; unknown fields are rejected (``extra="forbid"``);
* the A/B ``sticky_key``, when it is not a feature (nor PII), is an optional extra field that only
  routes the request.

Field names are ``c0``, ``c1``, ... with the column name as alias, so any column name works (spaces,
names of ``BaseModel`` attributes) and errors and the schema use the column name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.json_schema import models_json_schema

from .contract import CLASSIFICATION_TASKS, ColumnContract, Scalar, ServingMetadata, label_text
from .text import TEXT_MAX_CHARS

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["ErrorResponse", "Problem", "Schemas", "build_schemas", "install_openapi"]

_FORBID = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """One thing wrong with a request."""

    field: str = Field(description="Dotted path of the offending field ('body' for the whole body), e.g. "
                                   "'rows.3.bill_length_mm'.")
    problem: str = Field(description="What is wrong, in words.")
    type: str = Field(description="Machine-readable kind, e.g. 'missing', 'extra_forbidden', 'less_than_equal'.")


class ErrorResponse(BaseModel):
    """Every 4xx/5xx answer of the service."""

    error: str = Field(description="Kind of error: invalid_request, malformed_json, body_too_large, "
                                   "unauthorized, not_found, not_ready, unknown_prediction, internal_error, ...")
    message: str
    problems: list[Problem] = Field(default_factory=list)


@dataclass
class Schemas:
    """The models of one served model and how request fields map to columns."""

    row: type[BaseModel]
    batch: type[BaseModel]
    feedback: type[BaseModel]
    prediction: type[BaseModel]
    batch_prediction: type[BaseModel]
    feedback_response: type[BaseModel]
    fields: list[tuple[str, ColumnContract]]  # (attribute name on `row`, column), in model input order
    sticky_field: str | None  # attribute of the separate sticky-key field, if there is one
    score_key: str | None  # "probabilities" / "scores" for classifiers


def _unique(values: list[Any]) -> tuple[Any, ...]:
    seen: list[Any] = []
    for value in values:
        if not any(type(value) is type(v) and value == v for v in seen):
            seen.append(value)
    return tuple(seen)


def _describe(column: ColumnContract, tokens: int | None = None) -> str:
    parts = [column["description"] or f"{column['type'].capitalize()} feature."]
    if column["unit"]:
        parts.append(f"Unit: {column['unit']}.")
    if column["nullable"]:
        parts.append("Optional: null or absent when unknown.")
    if column["type"] == "text":
        parts.append(f"At most {TEXT_MAX_CHARS:,} characters; an empty text is answered like training answered a "
                     "missing one.")
        if tokens is not None:
            parts.append(f"The model reads the first {tokens} tokens, as in training: the rest is cut.")
    return " ".join(parts)


def _field_type(column: ColumnContract) -> Any:
    kind = column["type"]
    if kind == "numeric":
        lo, hi = (column["range"] or [None, None])[:2]
        return Annotated[float, Field(strict=True, allow_inf_nan=False, ge=lo, le=hi)]
    if kind == "boolean":
        return Annotated[bool, Field(strict=True)]
    if kind == "categorical" and column["allowed"]:
        values = _unique([*column["allowed"], *(label_text(v) for v in column["allowed"])])
        return Literal[values]
    if kind == "text":
        return Annotated[str, Field(strict=True, max_length=TEXT_MAX_CHARS)]
    return Annotated[str, Field(strict=True)]


def _label_type(classes: list[Scalar]) -> Any:
    return Literal[_unique(list(classes))]


def build_schemas(meta: ServingMetadata, *, variants: bool) -> Schemas:
    """Pydantic models for ``meta``; ``variants``: responses name the A/B variant that answered."""
    api = meta["api"]
    example = {k: v for k, v in meta["example"].items() if k not in meta["pii"]}
    fields: dict[str, Any] = {}
    mapping: list[tuple[str, ColumnContract]] = []
    names = set()
    for i, column in enumerate(meta["columns"]):
        if column["name"] in meta["pii"]:
            raise ValueError(f"column '{column['name']}' is PII and cannot be a model input")
        attr = f"c{i}"
        typ = _field_type(column)
        tokenizer = meta["model"].get("tokenizer")
        cut = tokenizer["max_length"] if tokenizer is not None and tokenizer["column"] == column["name"] else None
        described = _describe(column, cut)
        if column["nullable"]:
            fields[attr] = (Optional[typ], Field(None, alias=column["name"], description=described))  # noqa: UP045
        else:
            fields[attr] = (typ, Field(alias=column["name"], description=described))
        mapping.append((attr, column))
        names.add(column["name"])
    sticky_field: str | None = None
    ab = meta["ab_test"]
    sticky = ab["sticky_key"] if ab else None
    if variants and sticky and sticky not in names and sticky not in meta["pii"]:
        sticky_field = "routing_key"
        fields[sticky_field] = (Optional[str | int], Field(  # noqa: UP045
            None, alias=sticky, description="A/B routing key: requests with the same value go to the same model "
                                            "variant. Not a model input, never logged."))
    image = meta.get("image")
    if image is not None:  # one image per request (runtime.serving.images), base64 in JSON
        row, batch = _image_requests(image, example, api["max_batch"])
    else:
        row = create_model(
            "PredictRequest", __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [example]}),
            __doc__="One row to score: one field per model input.", **fields)
        # typed as Any: pydantic's create_model stubs reject an Annotated built at run time (mypy TypeForm)
        rows_type: Any = Annotated[list[row], Field(min_length=1, max_length=api["max_batch"])]  # type: ignore[valid-type, unused-ignore]
        batch = create_model(
            "BatchPredictRequest", __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [
                {"rows": [example]}]}),
            __doc__=f"Up to {api['max_batch']} rows to score.",
            rows=(rows_type, ...))

    task = meta["task"]
    out: dict[str, Any] = {"prediction_id": (str, Field(description="Quote it in POST /feedback."))}
    score_key: str | None = None
    if task in CLASSIFICATION_TASKS:
        classes = list(meta["classes"] or [])
        score_key = "scores" if meta["model"]["scores"] == "decision" else "probabilities"
        has_scores = meta["model"]["scores"] is not None
        out["label"] = (_label_type(classes), Field(description="The predicted class."))
        if has_scores:
            per_class_fields: dict[str, Any] = {f"k{i}": (float, Field(alias=str(c))) for i, c in enumerate(classes)}
            per_class = create_model(
                "ClassProbabilities" if score_key == "probabilities" else "ClassScores",
                __config__=ConfigDict(extra="forbid"),
                __doc__="Probability of each class." if score_key == "probabilities"
                else "Decision score of each class (the model has no probabilities).",
                **per_class_fields)
            out[score_key] = (per_class, ...)
        feedback_label: Any = _label_type([*classes, *(label_text(c) for c in classes)])
    elif task == "regression":
        out["prediction"] = (float, Field(description="The predicted value."))
        feedback_label = Annotated[float, Field(strict=True, allow_inf_nan=False)]
    elif task == "anomaly_detection":
        out["is_anomaly"] = (bool, ...)
        out["score"] = (float, Field(description="Anomaly score: higher = more anomalous (the negated decision "
                                                 "function; below 0 the model calls the row normal)."))
        feedback_label = Annotated[bool, Field(strict=True, description="Whether the row really was an anomaly.")]
    else:
        out["cluster"] = (int, Field(description="The assigned cluster."))
        feedback_label = Annotated[int, Field(strict=True, description="The cluster the row belongs to.")]
    if variants:
        out["variant"] = (Literal["champion", "challenger"], Field(description="The model that answered."))
    prediction = create_model("Prediction", __doc__="The model's answer for one row.", **out)
    batch_prediction = create_model(
        "BatchPrediction", __doc__="One prediction per row, in request order.",
        predictions=(list[prediction], ...))
    feedback = create_model(
        "FeedbackRequest", __config__=_FORBID, __doc__="The true outcome of an earlier prediction.",
        prediction_id=(Annotated[str, Field(strict=True, min_length=1, max_length=64)], ...),
        label=(feedback_label, Field(description="The true label / value.")))
    feedback_response = create_model(
        "FeedbackResponse", __doc__="The feedback was recorded and joined to its prediction.",
        prediction_id=(str, ...), variant=(str, ...),
        correct=(Optional[bool], Field(None, description="Whether the prediction was right (classes, anomalies, "  # noqa: UP045
                                                         "clusters); null for regression.")),
        error=(Optional[float], Field(None, description="Regression: prediction - label.")))  # noqa: UP045
    return Schemas(row, batch, feedback, prediction, batch_prediction, feedback_response, mapping, sticky_field,
                   score_key)


def _image_requests(image: Any, example: dict[str, Any], max_batch: int) -> tuple[type[BaseModel], type[BaseModel]]:
    """The JSON requests of an image model: ``{"image": base64}`` and ``{"images": [base64, ...]}``."""
    shape = f"{image['width']}×{image['height']} {'grey' if image['channels'] == 1 else 'RGB'}"
    text: Any = Annotated[str, Field(strict=True, min_length=1, description=(
        f"A PNG or JPEG file in base64 (read by its bytes; resized to {shape})."))]
    row = create_model(
        "PredictRequest", __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [example]}),
        __doc__="One image to score, as base64 (or send the file as multipart/form-data, part 'image').",
        image=(text, ...))
    many: Any = Annotated[list[text], Field(min_length=1, max_length=max_batch)]
    batch = create_model(
        "BatchPredictRequest", __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [
            {"images": [example.get("image", "")]}]}),
        __doc__=f"Up to {max_batch} images to score (or multipart/form-data, one part 'images' per file).",
        images=(many, ...))
    return row, batch


_ERRORS = {
    "400": "Malformed JSON.",
    "401": "Missing or wrong API key.",
    "413": "The request body is larger than the service accepts.",
    "422": "The request does not match the schema: each problem names its field.",
    "503": "The model is not loaded or its warm-up failed.",
}


def install_openapi(app: FastAPI, schemas: Schemas, *, bodies: dict[str, tuple[type[BaseModel], type[BaseModel]]],
                    secured: list[str], auth: bool, description: str, text: Sequence[str] = ()) -> None:
    """Make ``app.openapi()`` describe the real contract.

    ``bodies``: path -> (request model, response model) for the POST routes, which read and validate
    their bodies themselves (faster than FastAPI's body parameters); ``secured``: the paths behind
    the API key; ``text``: GET paths that answer ``text/plain`` (the Prometheus metrics).
    """
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=description, routes=app.routes)
        models: list[type[BaseModel]] = [schemas.row, schemas.batch, schemas.feedback, schemas.prediction,
                                         schemas.batch_prediction, schemas.feedback_response, ErrorResponse]
        refs, defs = models_json_schema([(m, "validation") for m in models],
                                        ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {}).update(defs.get("$defs", {}))
        error_ref = refs[(ErrorResponse, "validation")]
        for path, (request, response) in bodies.items():
            operation = schema["paths"][path]["post"]
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": refs[(request, "validation")]}}}
            operation["responses"] = {"200": {"description": "OK", "content": {
                "application/json": {"schema": refs[(response, "validation")]}}}}
        for path in text:
            schema["paths"][path]["get"]["responses"] = {"200": {"description": "Prometheus text format", "content": {
                "text/plain": {"schema": {"type": "string"}}}}}
        for path, item in schema["paths"].items():
            for method, operation in item.items():
                responses = operation.setdefault("responses", {})
                codes = ["503"] if path in bodies or path.endswith("/ready") else []
                if method == "post":
                    codes += ["400", "413", "422"]
                if auth and path in secured:
                    codes.append("401")
                    operation["security"] = [{"ApiKeyAuth": []}]
                for code in codes:
                    responses.setdefault(code, {"description": _ERRORS[code], "content": {
                        "application/json": {"schema": error_ref}}})
                if path.endswith("/feedback"):
                    responses.setdefault("404", {"description": "Unknown or expired prediction_id.", "content": {
                        "application/json": {"schema": error_ref}}})
        if auth:
            components.setdefault("securitySchemes", {})["ApiKeyAuth"] = {
                "type": "apiKey", "in": "header", "name": "X-API-Key"}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
