"""The service over real HTTP on 127.0.0.1 (what a latency gate measures), and no page that needs the
internet: every page the service offers is self-contained."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aispec.runtime import metrics as M
from aispec.runtime.errors import ConfigError
from aispec.runtime.serving import loopback
from aispec.runtime.serving.app import create_app
from aispec.runtime.serving.contract import read_serving_metadata

from .conftest import FEATURES, penguins


def test_loopback_service_answers_like_the_app_and_shuts_down(model_dirs: dict[str, Path], tmp_path: Path) -> None:
    directory = model_dirs["classification"]
    meta = read_serving_metadata(directory / "serving.json")
    records = penguins()[FEATURES["classification"]].head(40).to_dict("records")
    with loopback.loopback_service(directory, log_dir=tmp_path / "logs") as client:
        port = client.port
        bodies = loopback.request_rows(meta, records, validate=client.row_model)
        answers = [client.post(body) for body in bodies]
        timed = M.latency(lambda body: client.post(body), bodies, repeat=30, warmup=5)
    assert len(bodies) >= 30 and all(status == 200 for status, _ in answers)  # rows with missing values too
    with TestClient(create_app(directory, log_dir=tmp_path / "logs2")) as api:
        for body, (_, answer) in zip(bodies, answers, strict=True):
            direct = api.post("/v1/predict", content=body, headers={"Content-Type": "application/json"}).json()
            got = json.loads(answer)
            assert got["label"] == direct["label"] and got["probabilities"] == direct["probabilities"]
    assert 0 < timed["p50_latency_ms"] <= timed["p95_latency_ms"] <= timed["p99_latency_ms"]
    with socket.socket() as sock:  # the server is gone
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_request_rows_skip_rows_the_service_would_reject(model_dirs: dict[str, Path], tmp_path: Path) -> None:
    directory = model_dirs["classification"]
    meta = read_serving_metadata(directory / "serving.json")
    with loopback.loopback_service(directory, log_dir=tmp_path / "logs") as client:
        bad = {"island": "Atlantis", "bill_length_mm": 40.0}
        assert loopback.request_rows(meta, [bad], validate=client.row_model) == [
            json.dumps(meta["example"]).encode()]  # nothing valid left: the reference example row


def test_a_rest_run_without_the_serving_libraries_stops_early_naming_the_extra(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from aispec.runtime import workflow

    monkeypatch.setattr(loopback, "missing_serving_libraries", lambda: ["fastapi", "uvicorn"])
    with pytest.raises(ConfigError) as caught:
        workflow.require_serving({"deployment": {"target": "rest"}}, locations={"deployment.target": "spec.yaml:9:3"})
    assert "fastapi, uvicorn" in caught.value.message and "pip install 'aispec[serve]'" in str(caught.value.hint)
    assert caught.value.where == "spec.yaml:9:3"
    workflow.require_serving({"deployment": {"target": "batch"}})  # other targets do not need them


def test_no_page_references_another_host(model_dirs: dict[str, Path], tmp_path: Path) -> None:
    """/docs and /redoc loaded Swagger UI and ReDoc from a CDN (blank offline): now no route, and no
    answer of any GET route, points at another host."""
    app = create_app(model_dirs["classification"], log_dir=tmp_path / "logs")
    paths = {getattr(r, "path", "") for r in app.routes if "GET" in (getattr(r, "methods", None) or ())}
    paths |= {"/docs", "/redoc", "/docs/oauth2-redirect"}
    with TestClient(app) as api:
        for path in sorted(paths):
            answer = api.get(path)
            hosts = re.findall(r"https?://([^/\"'\s<>)]+)", answer.text)
            assert all(h == "testserver" for h in hosts), (path, hosts)
            if "html" in answer.headers.get("content-type", ""):
                assert not re.search(r"<script[^>]+src=", answer.text), path
        assert api.get("/docs").status_code == 404 and api.get("/openapi.json").status_code == 200
