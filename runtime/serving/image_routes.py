"""The predict routes of an image model (see :mod:`aispec.runtime.serving.images` for the requests)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from numpy.typing import NDArray
from pydantic import ValidationError
from pydantic_core import to_json
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.responses import Response

from .images import BATCH_FIELD, ImageReader, RequestRefused, brightness, decode_parts

__all__ = ["add_multipart", "install_routes"]


def _is_multipart(request: Request) -> bool:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media == "multipart/form-data"


async def _multipart(request: Request, field: str, *, many: bool, max_batch: int, max_body: int) -> list[Any]:
    """The parts named ``field`` (file uploads or base64 text) of a multipart body, in order."""
    form = await request.form(max_files=max_batch, max_fields=max_batch, max_part_size=max_body)
    try:
        parts: list[Any] = []
        unknown: list[str] = []
        for key, value in form.multi_items():
            if key != field:
                unknown.append(key)
            elif isinstance(value, UploadFile):
                parts.append(await value.read())
            else:
                parts.append(str(value))
    finally:
        await form.close()
    problems = [{"field": key, "problem": f"unknown field: send the image(s) as '{field}'",
                 "type": "extra_forbidden"} for key in dict.fromkeys(unknown)]
    if not parts:
        problems.append({"field": field, "problem": "required field is missing", "type": "missing"})
    elif not many and len(parts) > 1:
        problems.append({"field": field, "problem": f"one image per request ({len(parts)} sent): use "
                                                    "/predict/batch for several", "type": "too_long"})
    elif len(parts) > max_batch:
        problems.append({"field": field, "problem": f"at most {max_batch} images (api.max_batch)",
                         "type": "too_long"})
    if problems:
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        raise RequestRefused(422, "invalid_request", f"{len(problems)} problem(s) in the request: {summary}",
                             problems)
    return parts


def install_routes(app: FastAPI, state: Any, paths: Mapping[str, str], *, record: Callable[..., str],
                   shadow: Callable[..., None], invalid: Callable[[Any], Exception],
                   error: Callable[[int, str, str, Sequence[dict[str, str]]], Response],
                   not_ready: Callable[[Any], Response]) -> None:
    """``POST /predict`` and ``/predict/batch`` of an image model (see the module docstring)."""
    reader: ImageReader = state.image
    api = state.meta["api"]
    metrics = state.metrics
    row_model = state.schemas.row
    batch_model = state.schemas.batch

    async def images(request: Request, *, many: bool) -> list[NDArray[np.uint8]]:
        field = BATCH_FIELD if many else "image"
        if _is_multipart(request):
            parts = await _multipart(request, field, many=many, max_batch=api["max_batch"],
                                     max_body=api["max_body"])
        else:
            body = await request.body()
            try:
                item = (batch_model if many else row_model).model_validate_json(body)
            except ValidationError as exc:
                raise invalid(exc) from None
            parts = list(getattr(item, BATCH_FIELD)) if many else [item.image]
        return decode_parts(reader, parts, field, many)

    async def answer(request: Request, *, many: bool) -> Response:
        if not state.ready:
            return not_ready(state)
        try:
            arrays = await images(request, many=many)
        except RequestRefused as exc:
            metrics.errors.labels(paths["batch" if many else "predict"], exc.kind).inc()
            return error(exc.status, exc.kind, exc.message, exc.problems)
        feeds = reader.feeds(arrays)
        if state.drift is not None:
            state.drift.update_many(brightness(feeds), None, len(arrays))
        model = state.champion
        if state.ab_mode == "split" and state.to_challenger(request.headers.get("x-request-key")):
            model = state.challenger
        start = time.perf_counter()
        results = model.run(feeds)
        metrics.inference(model.variant, time.perf_counter() - start)
        decoded = model.decode(results)
        now = time.time()
        route = "batch" if many else "predict"
        pids = [record(model, item, outcome, label, {}, now, route) for item, outcome, label in decoded]
        body = {"predictions": [item for item, _, _ in decoded]} if many else decoded[0][0]
        response = Response(to_json(body, inf_nan_mode="null"), media_type="application/json")
        if state.ab_mode == "shadow" and state.challenger is not None:
            response.background = BackgroundTask(shadow, feeds, decoded, pids)
        return response

    @app.post(paths["predict"], summary="Score one image (base64 JSON or a file upload)", response_model=None)
    async def predict(request: Request) -> Response:
        return await answer(request, many=False)

    @app.post(paths["batch"], summary="Score several images (base64 JSON or file uploads)", response_model=None)
    async def predict_batch(request: Request) -> Response:
        return await answer(request, many=True)


def add_multipart(app: FastAPI, paths: Mapping[str, str], max_batch: int) -> None:
    """The OpenAPI document also describes the multipart uploads of the two predict routes."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        schema: dict[str, Any] = original()
        file = {"type": "string", "format": "binary", "description": "A PNG or JPEG file."}
        for key, field, many in (("predict", "image", False), ("batch", BATCH_FIELD, True)):
            content = schema["paths"][paths[key]]["post"]["requestBody"]["content"]
            value = {"type": "array", "items": file, "minItems": 1, "maxItems": max_batch} if many else file
            content.setdefault("multipart/form-data", {"schema": {
                "type": "object", "required": [field], "properties": {field: value}}})
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
