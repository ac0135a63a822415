"""Serving an image model: the request's PNG or JPEG read exactly as training read its files.

Requests (``/v1`` is ``deployment.api.version``):

- ``POST /v1/predict``: ``{"image": "<base64>"}`` (``application/json``; a ``data:image/png;base64,``
  prefix is accepted), or a ``multipart/form-data`` upload with one file part named ``image``;
- ``POST /v1/predict/batch``: ``{"images": ["<base64>", ...]}``, or a multipart upload with one file
  part named ``images`` per image (repeated), at most ``api.max_batch``; answers in request order.

Each image is checked before it is decoded (``runtime.images.decode``): its size in bytes by the
service's body limit (``api.max_body``: 413), its format by its first bytes (PNG or JPEG: 422, whatever
its name or declared type), its pixel count from the header (more than ``image.max_pixels``: 413, so a
small PNG declaring 50,000×50,000 pixels is refused without allocating them); then it is decoded,
converted to the model's mode, resized and divided by 255, giving the graph's ``N×C×H×W`` input.
Problems name the field (``image``, ``images.3``) like every other error of the service.

Drift: each image's mean brightness per channel is compared with the training images' (PSI / KS, as
for a numeric column), shown as ``brightness`` (or ``brightness:R``, ``:G``, ``:B``) in ``/v1/monitoring``
and the Prometheus metrics. The prediction log records no pixels.

Only numpy and Pillow are imported here (training writes the contract with it); the routes, with
Starlette's multipart parsing (python-multipart), are in :mod:`.image_routes`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import ConfigError
from ..images.decode import DEFAULT_MAX_PIXELS, FORMATS, RESAMPLE, ImageRejected, encode_png, read_image, to_tensor
from .contract import ImageContract, NumericReference, PixelStatistics, _numeric_reference

__all__ = ["BATCH_FIELD", "ImageReader", "RequestRefused", "brightness", "check_graph_input", "decode_parts",
           "drift_columns", "image_contract", "image_problems", "warm_up"]

BATCH_FIELD = "images"
_DATA_URL = re.compile(r"^data:[A-Za-z0-9.+/-]*(;[A-Za-z0-9=.+-]+)*;base64,")
_CHANNEL_NAMES = {1: ("",), 3: (":R", ":G", ":B")}


# ------------------------------------------------------------------------------ training side


def image_contract(*, onnx: Mapping[str, Any], features: Sequence[str], frame: Any,
                   seed: int) -> tuple[ImageContract, dict[str, Any]]:
    """``serving.json``'s ``image`` section and the example request, from the training split's images."""
    if len(features) != 1:
        raise ValueError(f"an image model takes one image column, not {len(features)} features")
    column = str(features[0])
    input_name = (onnx.get("columns") or {}).get(column)
    if input_name is None or (onnx.get("inputs") or {}).get(input_name) != "image":
        raise ValueError(f"the ONNX model has no N×C×H×W image input for column '{column}'")
    arrays = [np.asarray(v) for v in frame[column].tolist()]
    height, width, channels = (int(d) for d in arrays[0].shape)
    tensor = to_tensor(arrays).astype(np.float64)
    brightness = tensor.mean(axis=(2, 3))  # (N, C)
    pixels = PixelStatistics(mean=[float(v) for v in tensor.mean(axis=(0, 2, 3))],
                             std=[float(v) for v in tensor.std(axis=(0, 2, 3))])
    reference: list[NumericReference] = [_numeric_reference(brightness[:, k], seed=seed + k) for k in range(channels)]
    overall = brightness.mean(axis=1)
    typical = int(np.argmin(np.abs(overall - np.median(overall))))
    contract = ImageContract(field="image", input=str(input_name), channels=1 if channels == 1 else 3,
                             mode="L" if channels == 1 else "RGB", height=height, width=width, resize="bilinear",
                             formats=["PNG", "JPEG"], max_pixels=DEFAULT_MAX_PIXELS, scale=255.0, pixels=pixels,
                             reference=reference)
    assert RESAMPLE == "bilinear" and tuple(contract["formats"]) == FORMATS  # what images.decode does
    example = {"image": base64.b64encode(encode_png(arrays[typical])).decode("ascii")}
    return contract, example


def image_problems(section: Mapping[str, Any]) -> list[str]:
    """What ``serving.json``'s ``image`` section must hold beyond its types."""
    problems: list[str] = []
    channels = section["channels"]
    if (section["mode"] == "L") != (channels == 1):
        problems.append(f"image.mode: {section['mode']} does not have {channels} channel(s)")
    if section["height"] < 1 or section["width"] < 1:
        problems.append("image.height, image.width: at least one pixel")
    if section["max_pixels"] < section["height"] * section["width"]:
        problems.append("image.max_pixels: below the model's own pixel count")
    if not section["formats"] or len(set(section["formats"])) != len(section["formats"]):
        problems.append("image.formats: at least one format, none twice")
    if not section["scale"] > 0:
        problems.append("image.scale: above 0")
    for key in ("mean", "std"):
        if len(section["pixels"][key]) != channels:
            problems.append(f"image.pixels.{key}: one value per channel ({channels})")
    if len(section["reference"]) != channels:
        problems.append(f"image.reference: one reference per channel ({channels})")
    return problems


# ------------------------------------------------------------------------------- service side


def check_graph_input(inputs: Mapping[str, Any], section: Mapping[str, Any], file: str) -> None:
    """The ONNX graph's one input is the N×C×H×W float tensor ``serving.json`` describes; ConfigError if not."""
    graph = inputs.get(section["input"])
    if graph is None or len(inputs) != 1:
        raise ConfigError(f"serving.json: image.input: the ONNX graph {file} must have the one input "
                          f"'{section['input']}' (it has {', '.join(sorted(inputs))})")
    if str(graph.type) != "tensor(float)":
        raise ConfigError(f"serving.json: image.input: the ONNX input '{section['input']}' is {graph.type}, "
                          "not tensor(float)")
    shape = list(graph.shape)
    wanted = [section["channels"], section["height"], section["width"]]
    fixed = [d if isinstance(d, int) else None for d in shape[1:]]
    if len(shape) != 4 or any(d is not None and d != w for d, w in zip(fixed, wanted, strict=True)):
        raise ConfigError(f"serving.json: image: the ONNX input '{section['input']}' has shape {shape}, "
                          f"not [N, {', '.join(map(str, wanted))}]")


def drift_columns(meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Pseudo-columns for ``DriftMonitor``: each channel's mean brightness, with its training reference."""
    section = meta["image"]
    names = _CHANNEL_NAMES.get(section["channels"], tuple(f":{k}" for k in range(section["channels"])))
    return [{"name": f"brightness{suffix}", "reference": reference}
            for suffix, reference in zip(names, section["reference"], strict=True)]


class ImageReader:
    """Turns request bytes into the model's ``(H, W, C)`` arrays, as training did (``images.decode``)."""

    def __init__(self, section: Mapping[str, Any]) -> None:
        self.section = section
        self.channels = int(section["channels"])
        self.size = (int(section["height"]), int(section["width"]))
        self.max_pixels = int(section["max_pixels"])
        self.input = str(section["input"])

    def read(self, data: bytes) -> NDArray[np.uint8]:
        return read_image(data, channels=self.channels, size=self.size, max_pixels=self.max_pixels)

    def from_base64(self, text: str) -> NDArray[np.uint8]:
        body = _DATA_URL.sub("", text.strip(), count=1)
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ImageRejected("base64", "not base64 text (send the PNG or JPEG file's bytes in base64)") from None
        return self.read(data)

    def feeds(self, arrays: Sequence[NDArray[np.uint8]]) -> dict[str, NDArray[np.float32]]:
        return {self.input: to_tensor(arrays)}


class RequestRefused(Exception):
    """A request answered with an error: ``status``, ``kind``, message and problems (field, problem, type)."""

    def __init__(self, status: int, kind: str, message: str, problems: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.problems = status, kind, message, problems


def _refused(errors: list[tuple[str, ImageRejected]]) -> RequestRefused:
    problems = [{"field": name, "problem": exc.message, "type": exc.kind} for name, exc in errors]
    status = 413 if any(exc.status == 413 for _, exc in errors) else 422
    summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    kind = "too_many_pixels" if status == 413 else "invalid_image"
    return RequestRefused(status, kind, f"{len(problems)} image(s) refused: {summary}{more}", problems)


def decode_parts(reader: ImageReader, parts: Sequence[Any], field: str, many: bool) -> list[NDArray[np.uint8]]:
    arrays: list[NDArray[np.uint8]] = []
    errors: list[tuple[str, ImageRejected]] = []
    for i, part in enumerate(parts):
        try:
            arrays.append(reader.from_base64(part) if isinstance(part, str) else reader.read(part))
        except ImageRejected as exc:
            errors.append((f"{field}.{i}" if many else field, exc))
    if errors:
        raise _refused(errors)
    return arrays


def brightness(feeds: Mapping[str, NDArray[np.float32]]) -> NDArray[np.float64]:
    """Each image's mean per channel, ``(N, C)``: what drift compares with the training reference."""
    tensor = next(iter(feeds.values()))
    return np.asarray(tensor.mean(axis=(2, 3)), dtype=np.float64)


def warm_up(state: Any, rows: int) -> None:
    """The example image through the whole path, one at a time and as a batch of two (raises on failure)."""
    reader: ImageReader = state.image
    array = reader.from_base64(state.schemas.row.model_validate(state.meta["example"]).image)
    for model in (state.champion, state.challenger):
        if model is None:
            continue
        for _ in range(max(1, rows)):
            decoded = model.decode(model.run(reader.feeds([array])))
        if len(decoded) != 1:
            raise RuntimeError(f"the {model.variant} returned {len(decoded)} rows for one image")
        if len(model.decode(model.run(reader.feeds([array, array])))) != 2:
            raise RuntimeError(f"the {model.variant} cannot score a batch")
