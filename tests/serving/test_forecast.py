"""The forecasting service: POST /v1/forecast answers the evaluated forecasts from posted history, names
what is wrong with a history it cannot use, monitors drift of the posted level, and imports no training
library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from aispec.runtime import workflow
from aispec.runtime.series.forecasters import SeriesSettings, make_forecaster
from aispec.runtime.serving.app import create_app
from aispec.runtime.serving.contract import read_serving_metadata, write_serving_metadata
from aispec.runtime.split import split_frame

SETTINGS = SeriesSettings("day", "load", horizon=7, lags=(1, 2, 7), season=7, frequency="D")


def _series() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    t = np.arange(200)
    days = pd.date_range("2023-01-01", periods=len(t), freq="D")
    return pd.DataFrame({"day": days, "load": 100 + 0.05 * t + 5 * np.sin(2 * np.pi * t / 7) + rng.normal(size=len(t))})


def _artifacts(folder: Path, family: str) -> tuple[Path, Any]:
    splits = split_frame(_series(), target="load", task="forecasting", train=0.8, validation=0.0, test=0.2,
                         stratify=False, seed=0, time_ordered=True, time_column="day", group_column=None)
    trained = workflow.train(lambda params: make_forecaster(family, settings=SETTINGS, params=params,
                                                            scaling="standard"),
                             splits, features=[], target="load", task="forecasting", scoring="mae", seed=0)
    evaluation = workflow.evaluate(trained, splits, metrics=["mae", "mase"])
    exported = workflow.export(trained, splits, out_dir=folder)
    spec = {"project": {"name": "load", "version": "1.0.0"},
            "deployment": {"target": "rest", "api": {"version": "v1", "max_body": "1MiB"}, "latency_budget": "50ms"},
            "monitoring": {"drift": {"method": "psi", "threshold": 0.2, "window": 5}, "log_predictions": True},
            "compliance": {"pii": []}, "data": {"split": {"seed": 0}}}
    gates = workflow.check_gates(evaluation, exported, gates=[], deployment="rest")
    meta = workflow._serving_metadata(spec, trained, splits, evaluation, exported, "sha256:x", gates=gates)
    assert meta is not None, exported.skipped
    write_serving_metadata(folder / "serving.json", meta)
    return folder, evaluation.predictions


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Any]]:
    return {family: _artifacts(tmp_path_factory.mktemp(family), family) for family in ("ridge", "seasonal_naive")}


def _history(end: str, n: int = 7) -> dict[str, Any]:
    frame = _series().set_index("day")["load"][:pd.Timestamp(end)].iloc[-n:]
    return {"timestamps": [t.strftime("%Y-%m-%d") for t in frame.index], "values": frame.tolist()}


@pytest.mark.parametrize("family", ["ridge", "seasonal_naive"])
def test_the_service_forecasts_what_was_evaluated(served: dict[str, tuple[Path, Any]], family: str,
                                                  tmp_path: Path) -> None:
    folder, predictions = served[family]
    meta = read_serving_metadata(folder / "serving.json")
    assert meta["columns"] == [] and meta["forecast"]["family"] == family
    with TestClient(create_app(folder, log_dir=tmp_path)) as api:
        for origin, window in predictions.groupby("origin", sort=True):
            body = _history(str(origin)[:10])
            answer = api.post("/v1/forecast", json=body)
            assert answer.status_code == 200, answer.text
            out = answer.json()
            stamps = [str(t)[:10] for t in window["timestamp"]]
            assert out["timestamps"][:len(stamps)] == stamps and len(out["timestamps"]) == 7
            np.testing.assert_allclose(out["forecast"][:len(stamps)], window["forecast"], rtol=1e-5)
            assert ("lower" in out) == (family == "seasonal_naive")
        shorter = api.post("/v1/forecast", json={**_history("2023-06-01", 30), "horizon": 3}).json()
        assert shorter["timestamps"] == ["2023-06-02", "2023-06-03", "2023-06-04"]
        assert api.get("/v1/model").json()["forecast"]["horizon"] == 7
        drift = api.get("/v1/monitoring").json()["drift"]
        assert set(drift["features"]) == {"load:level", "load:change"}
        spec = api.get("/openapi.json").json()
        assert spec["paths"]["/v1/forecast"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ForecastRequest"}
        assert {"timestamps", "values"} <= set(spec["components"]["schemas"]["ForecastRequest"]["required"])


@pytest.mark.parametrize(("change", "field", "kind"), [
    (lambda b: {**b, "values": b["values"][:-1], "timestamps": b["timestamps"][:-1]}, "values", "too_short"),
    (lambda b: {**b, "values": b["values"][:-1]}, "values", "length_mismatch"),
    (lambda b: {**b, "timestamps": [*b["timestamps"][:3], "2023-13-01", *b["timestamps"][4:]]}, "timestamps.3",
     "datetime"),
    (lambda b: {**b, "timestamps": [*b["timestamps"][:3], *b["timestamps"][4:], "2023-06-09"]}, "timestamps.3",
     "not_consecutive"),
    (lambda b: {**b, "timestamps": [t + "T06:00:00" for t in b["timestamps"]]}, "timestamps.0", "off_grid"),
    (lambda b: {**b, "horizon": 8}, "horizon", "less_than_equal"),
])
def test_a_history_the_model_cannot_use_is_a_422_naming_the_problem(served: dict[str, tuple[Path, Any]], change: Any,
                                                                    field: str, kind: str, tmp_path: Path) -> None:
    folder, _ = served["ridge"]
    with TestClient(create_app(folder, log_dir=tmp_path)) as api:
        answer = api.post("/v1/forecast", json=change(_history("2023-06-01")))
    assert answer.status_code == 422, answer.text
    problems = answer.json()["problems"]
    assert any(p["field"] == field and p["type"] == kind for p in problems), problems
    if kind == "too_short":
        assert "needs the last 7" in problems[0]["problem"]


def test_non_finite_values_and_unknown_fields_are_refused(served: dict[str, tuple[Path, Any]], tmp_path: Path) -> None:
    folder, _ = served["ridge"]
    with TestClient(create_app(folder, log_dir=tmp_path)) as api:
        body = _history("2023-06-01")
        text = json.dumps(body).replace(str(body["values"][2]), "NaN", 1)
        assert api.post("/v1/forecast", content=text, headers={"Content-Type": "application/json"}).status_code in (
            400, 422)
        assert api.post("/v1/forecast", json={**body, "extra": 1}).status_code == 422


SERVE_ONLY = """
import json, sys
TRAINING = {"sklearn", "pandas", "statsmodels", "torch", "skl2onnx", "scipy"}
from pathlib import Path
from fastapi.testclient import TestClient
from aispec.runtime.serving.app import create_app
app = create_app(Path(sys.argv[1]), log_dir=Path(sys.argv[2]))
with TestClient(app) as client:
    status = client.post("/v1/forecast", json=json.loads(sys.argv[3])).status_code
print(json.dumps({"loaded": sorted(m for m in sys.modules if m.split(".")[0] in TRAINING), "status": status}))
"""


@pytest.mark.parametrize("family", ["ridge", "seasonal_naive"])
def test_forecast_serving_imports_no_training_library(served: dict[str, tuple[Path, Any]], family: str,
                                                      tmp_path: Path) -> None:
    folder, _ = served[family]
    proc = subprocess.run([sys.executable, "-c", SERVE_ONLY, str(folder), str(tmp_path),
                           json.dumps(_history("2023-06-01"))], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"loaded": [], "status": 200}
