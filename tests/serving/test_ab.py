"""A/B tests: weighted and sticky split routing, shadow mode, metrics by variant."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aispec.runtime.errors import ConfigError
from aispec.runtime.serving.app import create_app

from .conftest import build_model_dir, with_settings
from .test_app import GOOD, rows


@pytest.fixture
def open_client(tmp_path: Path) -> Iterator[Any]:
    opened: list[TestClient] = []

    def make(directory: Path, **kwargs: Any) -> TestClient:
        kwargs.setdefault("log_dir", tmp_path / f"logs{len(opened)}")
        client = TestClient(create_app(directory, **kwargs))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def test_split_follows_the_weight(ab_dirs: dict[str, Path], open_client: Any) -> None:
    api = open_client(ab_dirs["split"], ab_seed=1)  # weight 0.3
    batch = rows("classification", 50)
    variants: list[str] = []
    for _ in range(40):  # 2,000 unkeyed rows, each routed on its own
        variants += [p["variant"] for p in api.post("/v1/predict/batch", json={"rows": batch}).json()["predictions"]]
    share = variants.count("challenger") / len(variants)
    assert abs(share - 0.3) < 0.04, share  # 4 standard deviations
    singles = [api.post("/v1/predict", json=GOOD).json()["variant"] for _ in range(200)]
    assert 0.15 < singles.count("challenger") / 200 < 0.45
    counts = api.get("/v1/monitoring").json()["predictions"]
    assert counts["challenger"] == variants.count("challenger") + singles.count("challenger")
    text = api.get("/metrics").text
    assert 'aispec_model_latency_seconds_count{variant="challenger"}' in text
    assert 'variant="challenger"' in text and 'aispec_model_info{project="penguins"' in text
    assert 'sha256=' in text and 'version="2.0.0"' in text
    # the same seed gives the same sequence
    again = open_client(ab_dirs["split"], ab_seed=1)
    first = [p["variant"] for p in again.post("/v1/predict/batch", json={"rows": batch}).json()["predictions"]]
    assert first == variants[:50]


def test_split_is_sticky_by_field_and_header(ab_dirs: dict[str, Path], open_client: Any) -> None:
    api = open_client(ab_dirs["split"])
    by_key: dict[str, set[str]] = {}
    for i in range(400):
        key = f"customer-{i % 200}"
        answer = api.post("/v1/predict", json={**GOOD, "customer_id": key}).json()
        by_key.setdefault(key, set()).add(answer["variant"])
    assert all(len(v) == 1 for v in by_key.values())  # every caller always meets one model
    share = sum("challenger" in v for v in by_key.values()) / len(by_key)
    assert 0.2 < share < 0.4, share  # the hash spreads callers by the weight
    for key in ("alice", "bob", "carol"):
        seen = {api.post("/v1/predict", json=GOOD, headers={"X-Request-Key": key}).json()["variant"]
                for _ in range(10)}
        assert len(seen) == 1
    # an integer key works too, and the body field wins over the header
    a = api.post("/v1/predict", json={**GOOD, "customer_id": 17}).json()["variant"]
    b = api.post("/v1/predict", json={**GOOD, "customer_id": "17"}, headers={"X-Request-Key": "zz"}).json()["variant"]
    assert a == b
    # in a batch each row follows its own key
    batch = [{**GOOD, "customer_id": key} for key in list(by_key)[:50]]
    answers = api.post("/v1/predict/batch", json={"rows": batch}).json()["predictions"]
    assert [p["variant"] for p in answers] == [next(iter(by_key[r["customer_id"]])) for r in batch]


def test_challenger_answers_are_its_own(ab_dirs: dict[str, Path], open_client: Any) -> None:
    api = open_client(ab_dirs["split"])
    seen: dict[str, Any] = {}
    for i in range(60):
        answer = api.post("/v1/predict", json={**GOOD, "customer_id": f"k{i}"}).json()
        seen.setdefault(answer["variant"], answer["probabilities"])
    assert set(seen) == {"champion", "challenger"}
    assert seen["champion"] != seen["challenger"]  # a forest and a logistic regression differ


def test_feedback_is_counted_per_variant(ab_dirs: dict[str, Path], open_client: Any) -> None:
    api = open_client(ab_dirs["split"])
    for i in range(40):
        answer = api.post("/v1/predict", json={**GOOD, "customer_id": f"f{i}"}).json()
        api.post("/v1/feedback", json={"prediction_id": answer["prediction_id"], "label": "Gentoo"})
    feedback = api.get("/v1/monitoring").json()["feedback"]
    assert set(feedback) == {"champion", "challenger"}
    assert feedback["champion"]["n"] + feedback["challenger"]["n"] == 40


def test_shadow_answers_with_the_champion(ab_dirs: dict[str, Path], open_client: Any, tmp_path: Path) -> None:
    api = open_client(ab_dirs["shadow"], log_dir=tmp_path / "shadow-logs")
    singles = [api.post("/v1/predict", json=row).json() for row in rows("classification", 20)]
    batch = api.post("/v1/predict/batch", json={"rows": rows("classification", 30, seed=2)}).json()["predictions"]
    assert {a["variant"] for a in singles + batch} == {"champion"}
    monitoring = api.get("/v1/monitoring").json()
    shadow = monitoring["ab_test"]["shadow"]
    assert monitoring["ab_test"]["mode"] == "shadow" and shadow["runs"] == 50 and shadow["errors"] == 0
    assert 0.5 <= shadow["agreement"] <= 1.0 and shadow["mean_latency_ms"] > 0
    assert monitoring["predictions"] == {"champion": 50, "challenger": 50}
    text = api.get("/metrics").text
    assert 'aispec_model_latency_seconds_count{variant="challenger"} 21.0' in text  # 20 singles + 1 batch
    assert 'aispec_shadow_comparisons_total{agree="true"}' in text
    api.__exit__(None, None, None)
    records = [json.loads(line) for line in (tmp_path / "shadow-logs" / "predictions.jsonl").read_text().splitlines()]
    shadows = [r for r in records if r["type"] == "shadow"]
    assert len(shadows) == 50 and {r["variant"] for r in shadows} == {"challenger"}
    assert {r["prediction_id"] for r in shadows} == {a["prediction_id"] for a in singles + batch}
    assert all(r["latency_ms"] > 0 and "label" in r["outputs"] for r in shadows)


def test_model_info_and_openapi_name_the_variants(ab_dirs: dict[str, Path], open_client: Any) -> None:
    api = open_client(ab_dirs["split"])
    info = api.get("/v1/model").json()["ab_test"]
    assert info["active"] and info["challenger_version"] == "2.0.0" and info["weight"] == 0.3
    spec = api.get("/openapi.json").json()
    request = spec["components"]["schemas"]["PredictRequest"]["properties"]
    key_types = request["customer_id"]["anyOf"]
    assert {"type": "string"} in key_types and {"type": "integer"} in key_types
    assert spec["components"]["schemas"]["Prediction"]["properties"]["variant"]["enum"] == ["champion", "challenger"]


def test_without_a_challenger_the_champion_serves_alone(model_dirs: dict[str, Path], open_client: Any,
                                                        tmp_path: Path) -> None:
    ab = {"challenger": "x", "weight": 0.5, "mode": "split", "sticky_key": None}
    api = open_client(with_settings(model_dirs["classification"], tmp_path / "lonely", ab_test=ab))
    answer = api.post("/v1/predict", json=GOOD).json()
    assert "variant" not in answer
    assert api.get("/v1/monitoring").json()["ab_test"]["active"] is False
    assert "no challenger model" in api.get("/v1/model").json()["ab_test"]["note"]


def test_an_incompatible_challenger_is_refused(model_dirs: dict[str, Path], tmp_path: Path) -> None:
    ab = {"challenger": "x", "weight": 0.5, "mode": "split", "sticky_key": None}
    directory = with_settings(model_dirs["classification"], tmp_path / "mismatch", ab_test=ab)
    shutil.copytree(model_dirs["regression"], directory / "challenger")
    with pytest.raises(ConfigError, match="task is regression"):
        create_app(directory)
    shutil.rmtree(directory / "challenger")
    build_model_dir(directory / "challenger", "anomaly_detection", family="isolation_forest",
                    params={"n_estimators": 5})
    meta = json.loads((directory / "challenger" / "serving.json").read_text())
    meta["task"] = "classification"
    meta["classes"] = ["Adelie", "Chinstrap", "Gentoo"]
    meta["columns"][0]["dtype"] = "float"  # island as a number: not what the champion's request carries
    (directory / "challenger" / "serving.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="island"):
        create_app(directory)
