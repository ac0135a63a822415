"""The image service: a real model (scikit-learn on the bundled digits, exported to ONNX and described by
``serving_metadata`` as a training run does) answering images sent as a client sends them — PNG or JPEG
bytes, base64 in JSON or uploaded as files — and refusing what is not an image, or too big an image,
with a 4xx that names the field."""

from __future__ import annotations

import base64
import io
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("multipart")

from fastapi.testclient import TestClient
from sklearn.pipeline import Pipeline

from aispec.runtime import models
from aispec.runtime.export import to_onnx
from aispec.runtime.images.decode import encode_png, to_tensor
from aispec.runtime.images.folder import load_digits
from aispec.runtime.images.standardize import Standardize
from aispec.runtime.serving.app import create_app
from aispec.runtime.serving.contract import serving_metadata, write_serving_metadata

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from image_data import bomb_png  # noqa: E402

MAX_BODY = 64 * 1024


@pytest.fixture(scope="module")
def digits() -> tuple[Any, Any]:
    frame = load_digits()
    frame["digit"] = frame["digit"].astype(str)
    return frame.iloc[:1500], frame.iloc[1500:]


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory, digits: tuple[Any, Any]) -> Path:
    train, test = digits
    folder = tmp_path_factory.mktemp("digits-artifacts")
    pipeline = Pipeline([("preprocess", Standardize()),
                         ("model", models.make_estimator("logistic_regression", task="image_classification",
                                                         params={"max_iter": 300}, seed=0))])
    pipeline.fit(train[["image"]], train["digit"])
    report = to_onnx(pipeline, test[["image"]], folder / "model.onnx", strict=True)
    meta = serving_metadata(
        onnx=report.to_dict(), features=["image"], columns={"image": {"type": "image"}}, frame=train[["image"]],
        task="image_classification", target="digit", classes=list(pipeline.classes_), project_name="digits",
        project_version="1.0.0", spec_hash="sha256:x", metrics={"accuracy": 0.9},
        deployment={"api": {"version": "v1", "max_batch": 8, "max_body": MAX_BODY}},
        monitoring={"drift": {"method": "both", "threshold": 0.2, "window": 50}, "log_predictions": True},
        seed=0, created_at="")
    write_serving_metadata(folder / "serving.json", meta)
    return folder


@pytest.fixture()
def client(artifacts: Path, tmp_path: Path) -> Any:
    with TestClient(create_app(artifacts, log_dir=tmp_path / "logs", warmup_rows=2)) as c:
        yield c


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _jpeg(pixels: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels[:, :, 0]).save(out, format="JPEG", quality=95)
    return out.getvalue()


def _onnx_labels(artifacts: Path, images: list[np.ndarray]) -> list[str]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(artifacts / "model.onnx"), providers=["CPUExecutionProvider"])
    return [str(v) for v in session.run(None, {"image": to_tensor(images)})[0].ravel().tolist()]


def test_serving_json_describes_the_image_input(artifacts: Path) -> None:
    import json

    meta = json.loads((artifacts / "serving.json").read_text())
    image = meta["image"]
    assert (image["channels"], image["height"], image["width"], image["mode"]) == (1, 8, 8, "L")
    assert image["formats"] == ["PNG", "JPEG"] and meta["columns"] == []
    # the pixel statistics are the training split's, computed independently here
    train = np.stack(load_digits()["image"].iloc[:1500].tolist()).astype(np.float64) / 255.0
    assert image["pixels"]["mean"][0] == pytest.approx(train.mean(), rel=1e-6)  # of the float32 pixels
    assert image["pixels"]["std"][0] == pytest.approx(train.std(), rel=1e-6)
    assert len(image["reference"]) == 1 and image["reference"][0]["n"] == 1500


def test_base64_json_and_file_uploads_answer_as_the_onnx_model(client: TestClient, artifacts: Path,
                                                              digits: tuple[Any, Any]) -> None:
    _, test = digits
    images = test["image"].tolist()[:12]
    expected = _onnx_labels(artifacts, images)
    for pixels, label in zip(images[:6], expected, strict=False):
        png = encode_png(pixels)
        answer = client.post("/v1/predict", json={"image": _b64(png)})
        assert answer.status_code == 200, answer.text
        assert answer.json()["label"] == label and set(answer.json()["probabilities"]) == set("0123456789")
        data_url = client.post("/v1/predict", json={"image": "data:image/png;base64," + _b64(png)})
        assert data_url.json()["label"] == label
        upload = client.post("/v1/predict", files={"image": ("digit.bin", png, "application/octet-stream")})
        assert upload.status_code == 200, upload.text
        assert upload.json()["label"] == label
    batch = client.post("/v1/predict/batch", json={"images": [_b64(encode_png(p)) for p in images[:8]]})
    assert batch.status_code == 200, batch.text
    assert [p["label"] for p in batch.json()["predictions"]] == expected[:8]
    files = [("images", (f"{i}.png", encode_png(p), "image/png")) for i, p in enumerate(images[:5])]
    uploaded = client.post("/v1/predict/batch", files=files)
    assert uploaded.status_code == 200, uploaded.text
    assert [p["label"] for p in uploaded.json()["predictions"]] == expected[:5]


def test_a_jpeg_is_read_like_training_reads_it(client: TestClient, artifacts: Path,
                                              digits: tuple[Any, Any]) -> None:
    from aispec.runtime.images.decode import read_image

    jpeg = _jpeg(digits[1]["image"].iloc[0])
    answer = client.post("/v1/predict", files={"image": ("d.jpg", jpeg, "image/jpeg")})
    assert answer.status_code == 200, answer.text
    assert answer.json()["label"] == _onnx_labels(artifacts, [read_image(jpeg, channels=1, size=(8, 8))])[0]


def test_a_colour_or_larger_image_is_converted_and_resized(client: TestClient) -> None:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, format="PNG")
    answer = client.post("/v1/predict", json={"image": _b64(out.getvalue())})
    assert answer.status_code == 200, answer.text


def test_not_an_image_is_a_422_naming_the_field(client: TestClient) -> None:
    gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
    for body in ({"image": _b64(gif)}, {"image": _b64(b"hello, I am text named photo.png")}):
        answer = client.post("/v1/predict", json=body)
        assert answer.status_code == 422, answer.text
        assert answer.json()["problems"][0]["field"] == "image"
        assert "not a PNG or JPEG" in answer.json()["problems"][0]["problem"]
    named = client.post("/v1/predict", files={"image": ("photo.png", gif, "image/png")})
    assert named.status_code == 422 and named.json()["problems"][0]["type"] == "format"
    not_base64 = client.post("/v1/predict", json={"image": "%%% not base64 %%%"})
    assert not_base64.status_code == 422 and not_base64.json()["problems"][0]["type"] == "base64"
    truncated = client.post("/v1/predict", json={"image": _b64(encode_png(np.zeros((8, 8, 1), np.uint8))[:40])})
    assert truncated.status_code == 422 and truncated.json()["problems"][0]["type"] == "unreadable"
    batch = client.post("/v1/predict/batch", json={"images": [_b64(encode_png(np.zeros((8, 8, 1), np.uint8))),
                                                               _b64(gif)]})
    assert batch.status_code == 422 and batch.json()["problems"][0]["field"] == "images.1"


def test_a_decompression_bomb_is_a_413_before_any_pixel_is_decoded(client: TestClient) -> None:
    import tracemalloc

    bomb = bomb_png(50_000, 50_000)
    assert len(bomb) < 200
    tracemalloc.start()
    start = time.perf_counter()
    answer = client.post("/v1/predict", json={"image": _b64(bomb)})
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"] == "too_many_pixels" and "pixels" in answer.json()["problems"][0]["problem"]
    assert peak < 20 * 2**20 and elapsed < 2.0  # 2.5 GB were never allocated
    # below Pillow's own bomb limit but above the service's
    medium = client.post("/v1/predict", files={"image": ("m.png", bomb_png(5000, 5000), "image/png")})
    assert medium.status_code == 413 and "25,000,000" in medium.json()["message"]
    assert client.get("/ready").status_code == 200  # the service is unharmed


def test_too_many_bytes_or_parts_are_refused(client: TestClient) -> None:
    big = client.post("/v1/predict", json={"image": "A" * (MAX_BODY + 10)})
    assert big.status_code == 413
    png = encode_png(np.zeros((8, 8, 1), np.uint8))
    two = client.post("/v1/predict", files=[("image", ("a.png", png, "image/png")),
                                            ("image", ("b.png", png, "image/png"))])
    assert two.status_code == 422 and "one image per request" in two.json()["message"]
    wrong = client.post("/v1/predict", files={"picture": ("a.png", png, "image/png")})
    assert wrong.status_code == 422 and {p["field"] for p in wrong.json()["problems"]} == {"picture", "image"}
    many = client.post("/v1/predict/batch", files=[("images", (f"{i}.png", png, "image/png")) for i in range(9)])
    assert many.status_code in (400, 422)
    text = client.post("/v1/predict", content=b"image=abc", headers={"content-type": "text/plain"})
    assert text.status_code == 415
    extra = client.post("/v1/predict", json={"image": _b64(png), "other": 1})
    assert extra.status_code == 422


def test_drift_watches_brightness_and_the_documents_describe_uploads(client: TestClient) -> None:
    bright = _b64(encode_png(np.full((8, 8, 1), 250, np.uint8)))
    for _ in range(60):
        assert client.post("/v1/predict", json={"image": bright}).status_code == 200
    drift = client.get("/v1/monitoring").json()["drift"]
    assert drift["features"]["brightness"]["drifted"] is True
    assert 'aispec_drift_detected{feature="brightness"} 1.0' in client.get("/metrics").text
    info = client.get("/v1/model").json()
    assert info["image"]["height"] == 8 and "reference" not in info["image"]
    openapi = client.get("/openapi.json").json()
    content = openapi["paths"]["/v1/predict"]["post"]["requestBody"]["content"]
    assert set(content) == {"application/json", "multipart/form-data"}
    assert openapi["paths"]["/v1/predict/batch"]["post"]["requestBody"]["content"]["multipart/form-data"][
        "schema"]["properties"]["images"]["maxItems"] == 8


def test_batch_scoring_reads_a_folder_of_images(artifacts: Path, tmp_path: Path, digits: tuple[Any, Any]) -> None:
    import pandas as pd

    from aispec.runtime.serving.batch import main

    images = digits[1]["image"].tolist()[:5]
    folder = tmp_path / "inbox"
    (folder / "sub").mkdir(parents=True)
    for i, pixels in enumerate(images[:4]):
        (folder / f"{i}.png").write_bytes(encode_png(pixels))
    (folder / "sub" / "4.jpg").write_bytes(_jpeg(images[4]))
    (folder / "notes.png").write_text("not an image")
    (folder / "big.png").write_bytes(bomb_png(50_000, 50_000))
    assert main([str(artifacts), str(folder), str(tmp_path / "out.csv")]) == 0
    out = pd.read_csv(tmp_path / "out.csv", dtype={"label": str}, keep_default_na=False)
    by_row = dict(zip(out["row"], out["label"], strict=True))
    expected = _onnx_labels(artifacts, images[:4])
    assert [by_row[f"{i}.png"] for i in range(4)] == expected and by_row["sub/4.jpg"] != ""
    errors = dict(zip(out["row"], out["error"], strict=True))
    assert "not a PNG or JPEG" in errors["notes.png"] and "pixels" in errors["big.png"]
    assert by_row["notes.png"] == "" and errors["0.png"] == ""
