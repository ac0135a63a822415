"""The REST service end to end with FastAPI's TestClient, on real exported models."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from fastapi.testclient import TestClient

from aispec.runtime.errors import ConfigError
from aispec.runtime.serving.app import create_app

from .conftest import FEATURES, PII, penguins, with_settings

Client = Callable[..., TestClient]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    """``client(model_dir, **create_app kwargs)``: a started TestClient (lifespan on), closed afterwards."""
    opened: list[TestClient] = []

    def make(directory: Path, **kwargs: Any) -> TestClient:
        kwargs.setdefault("log_dir", tmp_path / f"logs{len(opened)}")
        test_client = TestClient(create_app(directory, **kwargs))
        test_client.__enter__()
        opened.append(test_client)
        return test_client

    yield make
    for test_client in opened:
        test_client.__exit__(None, None, None)


def meta_of(directory: Path) -> dict[str, Any]:
    return dict(json.loads((directory / "serving.json").read_text()))


def rows(task: str, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Real penguins as request rows (missing values as null)."""
    frame = penguins().sample(n=n, replace=n > 300, random_state=seed)
    out = []
    for record in frame[FEATURES[task]].to_dict("records"):
        row: dict[str, Any] = {}
        for key, value in record.items():
            if key == "tagged":
                row[key] = bool(value)
            elif (isinstance(value, float) and math.isnan(value)) or value == "":
                row[key] = None
            else:
                row[key] = value
        out.append(row)
    return out


def direct(directory: Path, row: dict[str, Any]) -> list[Any]:
    """onnxruntime on the row, fed by hand: what the service must reproduce."""
    meta = meta_of(directory)
    session = ort.InferenceSession(str(directory / "model.onnx"), providers=["CPUExecutionProvider"])
    feeds = {}
    for column in meta["columns"]:
        value = row.get(column["name"])
        if column["dtype"] in ("float", "double"):
            dtype = np.float64 if column["dtype"] == "double" else np.float32
            feeds[column["input"]] = np.array([[np.nan if value is None else float(value)]], dtype=dtype)
        else:
            feeds[column["input"]] = np.array([["" if value is None else str(value)]], dtype=object)
    return list(session.run(None, feeds))


# ------------------------------------------------------------------------------------ endpoints


def test_health_ready_and_model_info(model_dirs: dict[str, Path], client: Client) -> None:
    api = client(model_dirs["classification"])
    assert api.get("/health").json() == {"status": "alive"}
    assert api.get("/ready").status_code == 200
    info = api.get("/v1/model").json()
    meta = meta_of(model_dirs["classification"])
    assert info["version"] == "1.0.0" and info["spec_hash"] == meta["spec_hash"]
    assert info["metrics"] == meta["metrics"] and info["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert len(info["model"]["sha256"]) == 64
    schema = info["input_schema"]
    assert list(schema["properties"]) == FEATURES["classification"]
    assert set(schema["required"]) == {"island", "tagged"}  # the nullable ones are optional
    assert schema["additionalProperties"] is False
    assert "api_key_env" not in info["api"] and info["api"]["paths"]["predict"] == "/v1/predict"


def test_classification_matches_onnxruntime(model_dirs: dict[str, Path], client: Client) -> None:
    directory = model_dirs["classification"]
    api = client(directory)
    ids = set()
    for row in rows("classification", 15):
        answer = api.post("/v1/predict", json=row).json()
        label, probabilities = direct(directory, row)
        assert answer["label"] == label[0]
        assert list(answer["probabilities"]) == ["Adelie", "Chinstrap", "Gentoo"]
        assert list(answer["probabilities"].values()) == pytest.approx(probabilities[0].tolist(), abs=1e-6)
        assert sum(answer["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        assert "variant" not in answer
        ids.add(answer["prediction_id"])
    assert len(ids) == 15


def test_regression_and_anomaly_answers(model_dirs: dict[str, Path], client: Client) -> None:
    reg = client(model_dirs["regression"])
    for row in rows("regression", 5):
        answer = reg.post("/v1/predict", json=row).json()
        assert set(answer) == {"prediction", "prediction_id"}
        assert answer["prediction"] == pytest.approx(float(direct(model_dirs["regression"], row)[0][0][0]), rel=1e-6)
        assert 2000 < answer["prediction"] < 7000
    anomaly = client(model_dirs["anomaly_detection"])
    normal = rows("anomaly_detection", 1)[0]
    weird = {"island": "Dream", "bill_length_mm": 69.0, "bill_depth_mm": 10.5, "flipper_length_mm": 249.0,
             "body_mass_g": 2100.0}
    a, b = (anomaly.post("/v1/predict", json=r).json() for r in (normal, weird))
    assert set(a) == {"is_anomaly", "score", "prediction_id"}
    assert b["is_anomaly"] is True and b["score"] > a["score"]
    label, scores = direct(model_dirs["anomaly_detection"], weird)
    assert b["score"] == pytest.approx(-float(scores[0][0]), abs=1e-6) and label[0] == -1


def test_clustering_answers(model_dirs: dict[str, Path], client: Client) -> None:
    api = client(model_dirs["clustering"])
    batch = rows("clustering", 40)
    answers = api.post("/v1/predict/batch", json={"rows": batch}).json()["predictions"]
    assert {a["cluster"] for a in answers} <= {0, 1, 2} and len({a["cluster"] for a in answers}) > 1
    for row, answer in zip(batch[:5], answers[:5], strict=True):
        assert answer["cluster"] == int(direct(model_dirs["clustering"], row)[0][0])
        assert set(answer) == {"cluster", "prediction_id"}
    feedback = api.post("/v1/feedback", json={"prediction_id": answers[0]["prediction_id"],
                                             "label": answers[0]["cluster"]})
    assert feedback.json()["correct"] is True
    drift = api.get("/v1/monitoring").json()["drift"]
    assert set(drift["features"]) == {*FEATURES["clustering"]} and drift["features"]["tagged"]["type"] == "categorical"


def test_batch_equals_single_rows(model_dirs: dict[str, Path], client: Client) -> None:
    api = client(model_dirs["classification"])
    batch = rows("classification", 20, seed=3)
    answers = api.post("/v1/predict/batch", json={"rows": batch}).json()["predictions"]
    assert len(answers) == 20
    for row, answer in zip(batch, answers, strict=True):
        single = api.post("/v1/predict", json=row).json()
        assert single["label"] == answer["label"]
        assert single["probabilities"] == pytest.approx(answer["probabilities"], abs=1e-6)
    assert len({a["prediction_id"] for a in answers}) == 20


def test_nullable_fields_may_be_omitted_or_null(model_dirs: dict[str, Path], client: Client) -> None:
    api = client(model_dirs["classification"])
    minimal = {"island": "Dream", "tagged": True}
    response = api.post("/v1/predict", json=minimal)
    assert response.status_code == 200, response.text
    with_nulls = {**minimal, "bill_length_mm": None, "sex": None}
    assert api.post("/v1/predict", json=with_nulls).json()["label"] == response.json()["label"]


# --------------------------------------------------------------------------------- bad requests

GOOD = {"island": "Biscoe", "bill_length_mm": 45.0, "bill_depth_mm": 15.0, "flipper_length_mm": 215.0,
        "body_mass_g": 5000.0, "sex": "female", "tagged": False}


def _raw(text: str) -> dict[str, Any]:
    return {"content": text, "headers": {"content-type": "application/json"}}


BAD: list[tuple[str, dict[str, Any], int, str, str]] = [
    # name, request kwargs, status, field, words in the problem
    ("malformed json", _raw('{"island": "Biscoe",'), 400, "body", "JSON"),
    ("empty body", _raw(""), 400, "body", "JSON"),
    ("not an object", {"json": [1, 2]}, 422, "body", "object"),
    ("missing field", {"json": {k: v for k, v in GOOD.items() if k != "island"}}, 422, "island", "missing"),
    ("extra field", {"json": {**GOOD, "colour": "blue"}}, 422, "colour", "unknown field"),
    ("pii field", {"json": {**GOOD, "observer_email": "a@b.org"}}, 422, "observer_email", "personal data"),
    ("wrong type", {"json": {**GOOD, "body_mass_g": "heavy"}}, 422, "body_mass_g", "number"),
    ("numeric string", {"json": {**GOOD, "body_mass_g": "5000"}}, 422, "body_mass_g", "number"),
    ("nan", _raw(json.dumps({**GOOD, "body_mass_g": float("nan")})), 422, "body_mass_g", "finite"),
    ("infinity", _raw(json.dumps({**GOOD, "bill_depth_mm": float("inf")})), 422, "bill_depth_mm", "finite"),
    ("nan string", {"json": {**GOOD, "body_mass_g": "NaN"}}, 422, "body_mass_g", "number"),
    ("above range", {"json": {**GOOD, "flipper_length_mm": 400}}, 422, "flipper_length_mm", "less than or equal"),
    ("below range", {"json": {**GOOD, "bill_length_mm": -1}}, 422, "bill_length_mm", "greater than or equal"),
    ("unknown category", {"json": {**GOOD, "island": "Atlantis"}}, 422, "island", "'Biscoe'"),
    ("null in required", {"json": {**GOOD, "island": None}}, 422, "island", "'Biscoe'"),
    ("bool as text", {"json": {**GOOD, "tagged": "yes"}}, 422, "tagged", "boolean"),
    ("number as category", {"json": {**GOOD, "sex": 1}}, 422, "sex", "'male'"),
]


@pytest.mark.parametrize(("kwargs", "status", "field", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_requests_name_the_field(model_dirs: dict[str, Path], client: Client, kwargs: dict[str, Any],
                                     status: int, field: str, words: str) -> None:
    api = client(model_dirs["classification"])
    response = api.post("/v1/predict", **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] in ("invalid_request", "malformed_json")
    assert any(p["field"] == field and words.lower() in p["problem"].lower() for p in body["problems"]), body
    assert field in body["message"] or status == 400
    # the same row inside a batch names its position
    if "json" in kwargs and isinstance(kwargs["json"], dict):
        response = api.post("/v1/predict/batch", json={"rows": [GOOD, kwargs["json"]]})
        assert response.status_code == 422
        assert any(p["field"] == f"rows.1.{field}" for p in response.json()["problems"]), response.json()


def test_batch_limits(model_dirs: dict[str, Path], client: Client) -> None:
    api = client(model_dirs["classification"])
    too_many = api.post("/v1/predict/batch", json={"rows": [GOOD] * 51})  # max_batch: 50
    assert too_many.status_code == 422
    assert too_many.json()["problems"][0]["field"] == "rows" and "50" in too_many.json()["problems"][0]["problem"]
    empty = api.post("/v1/predict/batch", json={"rows": []})
    assert empty.status_code == 422 and empty.json()["problems"][0]["field"] == "rows"
    assert api.post("/v1/predict/batch", json={"rows": [GOOD] * 50}).status_code == 200
    assert api.post("/v1/predict/batch", json={"row": [GOOD]}).status_code == 422


def test_oversized_bodies_get_413(model_dirs: dict[str, Path], client: Client) -> None:
    api = client(model_dirs["classification"])  # max_body: 64KiB
    big = json.dumps({**GOOD, "pad": "x" * 70_000})
    response = api.post("/v1/predict", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large" and response.json()["problems"][0]["field"] == "body"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while streaming
        for _ in range(20):
            yield b" " * 8192

    streamed = api.post("/v1/predict/batch", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413 and streamed.json()["error"] == "body_too_large"
    assert api.get("/ready").status_code == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "application/xml", "application/jsonp"])
@pytest.mark.parametrize("route", ["/v1/predict", "/v1/predict/batch", "/v1/feedback"])
def test_only_json_bodies_are_accepted(model_dirs: dict[str, Path], client: Client, route: str,
                                       content_type: str) -> None:
    # A browser may send a text/plain or form POST cross-site without a CORS preflight: refused.
    api = client(model_dirs["classification"])
    body = {"rows": [GOOD]} if route.endswith("batch") else GOOD
    response = api.post(route, content=json.dumps(body), headers={"content-type": content_type})
    assert response.status_code == 415, response.text
    assert response.json()["error"] == "unsupported_media_type"
    assert response.json()["problems"][0]["field"] == "content-type"
    for accepted in ("application/json", "application/json; charset=utf-8", "Application/JSON",
                     "application/merge-patch+json"):
        ok = api.post("/v1/predict", content=json.dumps(GOOD), headers={"content-type": accepted})
        assert ok.status_code == 200, (accepted, ok.text)
    metrics = api.get("/metrics").text
    assert f'aispec_errors_total{{kind="unsupported_media_type",route="{route}"}} 1.0' in metrics


def test_unknown_route_and_method(model_dirs: dict[str, Path], client: Client) -> None:
    api = client(model_dirs["classification"])
    assert api.get("/v1/nothing").status_code == 404
    assert api.get("/v1/nothing").json()["error"] == "not_found"
    assert api.get("/v1/predict").status_code == 405


# ------------------------------------------------------------------------------------ readiness


def test_broken_model_is_alive_but_not_ready(model_dirs: dict[str, Path], client: Client, tmp_path: Path) -> None:
    directory = with_settings(model_dirs["classification"], tmp_path / "broken")
    (directory / "model.onnx").write_bytes(b"not an onnx model")
    api = client(directory)
    assert api.get("/health").status_code == 200
    ready = api.get("/ready")
    assert ready.status_code == 503 and "cannot load model.onnx" in ready.json()["message"]
    assert api.post("/v1/predict", json=GOOD).status_code == 503
    assert "aispec_ready 0.0" in api.get("/metrics").text


def test_an_invalid_example_row_is_refused_at_start(model_dirs: dict[str, Path], tmp_path: Path) -> None:
    meta = meta_of(model_dirs["classification"])
    example = {**meta["example"], "island": "Atlantis"}  # the reference (warm-up) row itself is invalid
    with pytest.raises(ConfigError, match=r"serving\.json: example: island: "):
        create_app(with_settings(model_dirs["classification"], tmp_path / "bad-example", example=example))


def test_missing_serving_json_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"serving\.json"):
        create_app(tmp_path)


# ------------------------------------------------------------------------------- metrics, drift


def test_metrics_series(model_dirs: dict[str, Path], client: Client) -> None:
    api = client(model_dirs["classification"])
    api.post("/v1/predict", json=GOOD)
    api.post("/v1/predict", json={**GOOD, "island": "Atlantis"})
    api.post("/v1/predict/batch", json={"rows": rows("classification", 10)})
    text = api.get("/metrics").text
    for needle in (
        'aispec_requests_total{route="/v1/predict",status="200"} 1.0',
        'aispec_requests_total{route="/v1/predict",status="422"} 1.0',
        'aispec_request_latency_seconds_bucket{le="0.005",route="/v1/predict"}',
        'aispec_errors_total{kind="invalid_request",route="/v1/predict"} 1.0',
        'aispec_predictions_total{outcome="Gentoo",variant="champion"}',
        'aispec_model_latency_seconds_count{variant="champion"} 2.0',
        'aispec_model_info{project="penguins"',
        'aispec_ready 1.0',
        'aispec_drift_score{feature="bill_length_mm",statistic="psi"}',
        'aispec_drift_score{feature="island",statistic="psi"}',
        'aispec_drift_detected{feature="bill_length_mm"} 0.0',
        "aispec_drift_window_rows 11.0",
    ):
        assert needle in text, needle
    total = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                if line.startswith("aispec_predictions_total{"))
    assert total == 11


def test_drift_detects_a_shifted_feature(model_dirs: dict[str, Path], client: Client) -> None:
    api = client(model_dirs["classification"])  # window 300, method both, threshold 0.2
    shifted = rows("classification", 300, seed=5)
    for row in shifted:
        if row["bill_length_mm"] is not None:
            row["bill_length_mm"] = min(70.0, row["bill_length_mm"] + 12)
    for start in range(0, 300, 50):
        assert api.post("/v1/predict/batch", json={"rows": shifted[start:start + 50]}).status_code == 200
    drift = api.get("/v1/monitoring").json()["drift"]
    assert drift["rows"] == 300 and drift["enough_rows"]
    assert drift["drifted"] == ["bill_length_mm"], drift["features"]
    feature = drift["features"]["bill_length_mm"]
    assert feature["psi"] > 1 and feature["ks"] > 0.5 and feature["ks_p_value"] < 1e-6
    assert drift["features"]["flipper_length_mm"]["psi"] < 0.2
    assert 'aispec_drift_detected{feature="bill_length_mm"} 1.0' in api.get("/metrics").text


def test_monitoring_reports_latency_against_the_budget(model_dirs: dict[str, Path], client: Client) -> None:
    api = client(model_dirs["classification"])
    for row in rows("classification", 10):
        api.post("/v1/predict", json=row)
    latency = api.get("/v1/monitoring").json()["latency"]
    assert latency["requests"] == 10 and latency["budget_ms"] == 50.0
    assert 0 < latency["p50_ms"] <= latency["p99_ms"] and latency["within_budget"] is True


# ----------------------------------------------------------------------------- feedback, logging


def test_feedback_joins_its_prediction(model_dirs: dict[str, Path], client: Client, tmp_path: Path) -> None:
    api = client(model_dirs["classification"], log_dir=tmp_path / "logs")
    answer = api.post("/v1/predict", json=GOOD).json()
    right = api.post("/v1/feedback", json={"prediction_id": answer["prediction_id"], "label": answer["label"]})
    assert right.status_code == 200 and right.json()["correct"] is True and right.json()["variant"] == "champion"
    other = next(c for c in ("Adelie", "Chinstrap", "Gentoo") if c != answer["label"])
    wrong = api.post("/v1/feedback", json={"prediction_id": answer["prediction_id"], "label": other})
    assert wrong.json()["correct"] is False
    assert api.get("/v1/monitoring").json()["feedback"] == {"champion": {"n": 2, "accuracy": 0.5}}
    unknown = api.post("/v1/feedback", json={"prediction_id": "nope", "label": "Adelie"})
    assert unknown.status_code == 404 and unknown.json()["problems"][0]["field"] == "prediction_id"
    bad_label = api.post("/v1/feedback", json={"prediction_id": answer["prediction_id"], "label": "Penguin"})
    assert bad_label.status_code == 422 and bad_label.json()["problems"][0]["field"] == "label"
    assert 'aispec_feedback_total{correct="true",variant="champion"} 1.0' in api.get("/metrics").text
    api.__exit__(None, None, None)  # shutdown flushes the logs
    records = [json.loads(line) for line in (tmp_path / "logs" / "feedback.jsonl").read_text().splitlines()]
    assert [r["correct"] for r in records] == [True, False]
    assert records[0]["prediction_id"] == answer["prediction_id"] and records[0]["prediction"] == answer["label"]


def test_regression_feedback_reports_errors(model_dirs: dict[str, Path], client: Client) -> None:
    api = client(model_dirs["regression"])
    answer = api.post("/v1/predict", json=rows("regression", 1)[0]).json()
    response = api.post("/v1/feedback", json={"prediction_id": answer["prediction_id"],
                                             "label": answer["prediction"] - 100})
    assert response.json()["error"] == pytest.approx(100) and response.json()["correct"] is None
    assert api.get("/v1/monitoring").json()["feedback"]["champion"]["mae"] == pytest.approx(100)


def test_prediction_log_without_pii(model_dirs: dict[str, Path], client: Client, tmp_path: Path) -> None:
    api = client(model_dirs["classification"], log_dir=tmp_path / "logs")
    single = api.post("/v1/predict", json=GOOD).json()
    batch = api.post("/v1/predict/batch", json={"rows": rows("classification", 3)}).json()["predictions"]
    api.__exit__(None, None, None)
    lines = (tmp_path / "logs" / "predictions.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["prediction_id"] for r in records] == [single["prediction_id"], *(b["prediction_id"] for b in batch)]
    first = records[0]
    assert first["type"] == "prediction" and first["route"] == "predict" and first["variant"] == "champion"
    assert first["inputs"] == GOOD and first["outputs"]["label"] == single["label"]
    assert first["timestamp"].endswith("Z") and first["model_version"] == "1.0.0"
    assert not any(pii in line for pii in (*PII, "@example.org") for line in lines)


def test_logging_is_opt_in(model_dirs: dict[str, Path], client: Client, tmp_path: Path) -> None:
    meta = meta_of(model_dirs["classification"])
    quiet = with_settings(model_dirs["classification"], tmp_path / "quiet",
                          monitoring={**meta["monitoring"], "log_predictions": False})
    api = client(quiet, log_dir=tmp_path / "logs")
    api.post("/v1/predict", json=GOOD)
    api.__exit__(None, None, None)
    assert not (tmp_path / "logs" / "predictions.jsonl").exists()


# ----------------------------------------------------------------------------------- OpenAPI, auth


def test_openapi_describes_the_contract_without_pii(model_dirs: dict[str, Path], client: Client) -> None:
    api = client(model_dirs["classification"])
    spec = api.get("/openapi.json").json()
    assert spec["info"]["title"] == "penguins" and spec["info"]["version"] == "1.0.0"
    text = json.dumps(spec)
    assert "observer_email" not in text and "example.org" not in text
    body = spec["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    request = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert list(request["properties"]) == FEATURES["classification"]
    assert request["additionalProperties"] is False
    mass = request["properties"]["body_mass_g"]["anyOf"][0]
    assert mass == {"type": "number", "minimum": 2000.0, "maximum": 7000.0}
    assert request["properties"]["island"]["enum"] == ["Biscoe", "Dream", "Torgersen"]
    assert request["properties"]["tagged"]["type"] == "boolean"
    batch_ref = spec["paths"]["/v1/predict/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    rows_schema = spec["components"]["schemas"][batch_ref["$ref"].rsplit("/", 1)[1]]["properties"]["rows"]
    assert rows_schema["maxItems"] == 50 and rows_schema["minItems"] == 1
    responses = spec["paths"]["/v1/predict"]["post"]["responses"]
    assert {"200", "400", "413", "422", "503"} <= set(responses)
    answer = spec["components"]["schemas"]["Prediction"]
    assert answer["properties"]["label"]["enum"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert "docs" not in spec["paths"]


def test_api_key(model_dirs: dict[str, Path], client: Client, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> None:
    meta = meta_of(model_dirs["classification"])
    directory = with_settings(model_dirs["classification"], tmp_path / "auth",
                              api={**meta["api"], "auth": "api_key", "api_key_env": "PENGUIN_KEY"})
    monkeypatch.delenv("PENGUIN_KEY", raising=False)
    with pytest.raises(ConfigError, match="PENGUIN_KEY"):
        create_app(directory)
    monkeypatch.setenv("PENGUIN_KEY", "s3cret")
    api = client(directory)
    assert api.post("/v1/predict", json=GOOD).status_code == 401
    wrong = api.post("/v1/predict", json=GOOD, headers={"X-API-Key": "guess"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "unauthorized"
    assert api.post("/v1/predict", json=GOOD, headers={"X-API-Key": "s3cret"}).status_code == 200
    assert api.get("/v1/model").status_code == 401
    assert api.get("/health").status_code == 200 and api.get("/ready").status_code == 200
    spec = api.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["ApiKeyAuth"]["name"] == "X-API-Key"
    assert spec["paths"]["/v1/predict"]["post"]["security"] == [{"ApiKeyAuth": []}]
    assert "security" not in spec["paths"]["/health"]["get"]


# ------------------------------------------------------------------------------------- imports

SERVE_ONLY = """
import json, sys
TRAINING = {"sklearn", "pandas", "torch", "joblib", "skl2onnx"}
from pathlib import Path
from fastapi.testclient import TestClient
from aispec.runtime.serving.app import create_app
app = create_app(Path(sys.argv[1]), log_dir=Path(sys.argv[2]))
after_create = sorted(m for m in sys.modules if m.split(".")[0] in TRAINING)
with TestClient(app) as client:
    status = client.post("/v1/predict", json=json.loads(sys.argv[3])).status_code
after_predict = sorted(m for m in sys.modules if m.split(".")[0] in TRAINING)
print(json.dumps({"create": after_create, "predict": after_predict, "status": status}))
"""


def test_serving_imports_no_training_library(model_dirs: dict[str, Path], tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", SERVE_ONLY, str(model_dirs["classification"]), str(tmp_path),
                           json.dumps(GOOD)], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report == {"create": [], "predict": [], "status": 200}


def test_serving_sources_never_import_pickle_or_training_libraries() -> None:
    import ast

    root = Path(__file__).resolve().parents[2] / "runtime" / "serving"
    banned = {"sklearn", "torch", "pickle", "joblib", "cloudpickle", "dill", "skl2onnx"}
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] in banned for n in names), (path.name, names)


def test_module_entry_point_reports_config_errors(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "aispec.runtime.serving", str(tmp_path), "--port", "0"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "serving.json" in proc.stderr
    help_text = subprocess.run([sys.executable, "-m", "aispec.runtime.serving", "--help"], capture_output=True,
                               text=True, timeout=60, check=False).stdout
    assert "--host" in help_text and "--port" in help_text
