"""serving.json: what serving_metadata builds from a training run, and how the service reads it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from aispec.runtime.errors import ConfigError
from aispec.runtime.serving.contract import (
    FORMAT_VERSION,
    KS_SAMPLE,
    N_BINS,
    label_text,
    parse_duration_ms,
    parse_size,
    read_serving_metadata,
    serving_metadata,
    spec_digest,
    write_serving_metadata,
)

from .conftest import COLUMNS, FEATURES, PII, penguins

ONNX = {
    "columns": {"bill length": "bill_length", "island": "island", "tagged": "tagged"},
    "inputs": {"bill_length": "float", "island": "string", "tagged": "float"},
    "outputs": ["label", "probabilities"], "opset": {"": 17, "ai.onnx.ml": 3}, "size_bytes": 1234,
    "parity_ok": True, "compared": "predict_proba vs probabilities",
}


def small_frame(n: int = 1200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    values = rng.normal(40, 5, n)
    values[:7] = np.nan
    return pd.DataFrame({
        "bill length": values,
        "island": rng.choice(["Biscoe", "Dream", "Torgersen", ""], n, p=[0.5, 0.3, 0.15, 0.05]).astype(object),
        "tagged": (rng.random(n) < 0.25).astype(float),
    })


def build(**overrides: Any) -> Any:
    kwargs: dict[str, Any] = dict(
        onnx=ONNX, features=["bill length", "island", "tagged"],
        columns={"bill length": {"type": "numeric", "nullable": True, "range": [20, 60], "unit": "mm"},
                 "island": {"type": "categorical", "allowed": ["Biscoe", "Dream", "Torgersen"]},
                 "tagged": {"type": "boolean"}},
        frame=small_frame(), task="classification", target="species", classes=np.array(["A", "B"]),
        project_name="demo", project_version="1.2.3", spec_hash=spec_digest("x"),
        metrics={"accuracy": np.float64(0.9), "bad": float("nan"), "flag": True},
        deployment={"api": {"version": "v2", "max_batch": 10, "max_body": "2MiB", "auth": "none"},
                    "latency_budget": "1m30s", "ab_test": {"challenger": "../c", "weight": 0.25}},
        monitoring={"drift": {"method": "ks"}, "log_predictions": True}, pii=["email"])
    kwargs.update(overrides)
    return serving_metadata(**kwargs)


def test_metadata_describes_columns_outputs_and_settings() -> None:
    meta = build()
    assert meta["format"] == "aispec-serving" and meta["format_version"] == FORMAT_VERSION
    assert [c["name"] for c in meta["columns"]] == ["bill length", "island", "tagged"]
    length, island, tagged = meta["columns"]
    assert length["input"] == "bill_length" and length["dtype"] == "float" and length["range"] == [20.0, 60.0]
    assert length["nullable"] and length["unit"] == "mm"
    assert island["allowed"] == ["Biscoe", "Dream", "Torgersen"] and island["dtype"] == "string"
    assert tagged["type"] == "boolean"
    assert meta["classes"] == ["A", "B"] and isinstance(meta["classes"][0], str)
    assert meta["model"]["scores"] == "probabilities" and meta["model"]["outputs"] == ["label", "probabilities"]
    assert meta["metrics"] == {"accuracy": 0.9}  # NaN and booleans dropped
    assert meta["api"] == {"version": "v2", "max_batch": 10, "max_body": 2 * 1024 * 1024, "auth": "none",
                           "api_key_env": None}
    assert meta["latency_budget_ms"] == 90_000.0
    assert meta["ab_test"] == {"challenger": "../c", "weight": 0.25, "mode": "split", "sticky_key": None}
    assert meta["monitoring"] == {"drift": {"method": "ks", "threshold": 0.2, "window": 1000},
                                  "log_predictions": True}
    assert meta["pii"] == ["email"]
    assert meta["spec_hash"].startswith("sha256:")


def test_reference_statistics() -> None:
    frame = small_frame()
    meta = build(frame=frame)
    ref = meta["columns"][0]["reference"]
    assert ref is not None and ref["kind"] == "numeric"
    assert ref["n"] == len(frame) and ref["missing"] == 7
    assert len(ref["edges"]) == N_BINS + 1 and ref["edges"] == sorted(ref["edges"])
    assert len(ref["counts"]) == N_BINS and sum(ref["counts"]) == len(frame) - 7
    assert max(ref["counts"]) - min(ref["counts"]) <= 2  # deciles: equal bins
    assert len(ref["sample"]) == KS_SAMPLE and not any(np.isnan(ref["sample"]))
    assert ref["mean"] == pytest.approx(np.nanmean(frame["bill length"]))
    island = meta["columns"][1]["reference"]
    assert island is not None and island["kind"] == "categorical"
    assert list(island["frequencies"]) == ["Biscoe", "Dream", "Torgersen"]  # most frequent first
    assert island["missing"] == int((frame["island"] == "").sum())
    tagged = meta["columns"][2]["reference"]
    assert tagged is not None and tagged["kind"] == "categorical" and set(tagged["frequencies"]) == {"true", "false"}
    # the sample is seeded: the same frame gives the same file
    assert build(frame=frame, created_at="t")["columns"] == build(frame=frame, created_at="t")["columns"]


def test_few_distinct_values_merge_bins() -> None:
    frame = small_frame()
    frame["bill length"] = np.where(np.arange(len(frame)) % 2 == 0, 30.0, 50.0)
    ref = build(frame=frame)["columns"][0]["reference"]
    assert ref["edges"][0] == 30.0 and ref["edges"][-1] == 50.0 and len(ref["edges"]) <= 3
    assert [c for c in ref["counts"] if c] == [len(frame) // 2, len(frame) // 2]


def test_example_row_is_valid() -> None:
    meta = build()
    example = meta["example"]
    assert set(example) == {"bill length", "island", "tagged"}
    assert 20 <= example["bill length"] <= 60
    assert example["island"] == "Biscoe"
    assert example["tagged"] is False


def test_file_round_trip_is_strict_json(tmp_path: Path) -> None:
    meta = build()
    path = write_serving_metadata(tmp_path / "serving.json", meta)
    text = path.read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert read_serving_metadata(path) == json.loads(text)


def test_penguins_metadata_matches_the_prepared_frame() -> None:
    frame = penguins()
    assert "observer_email" not in frame.columns
    features = FEATURES["classification"]
    onnx = {"columns": {f: f for f in features},
            "inputs": {f: "string" if COLUMNS[f]["type"] == "categorical" else "float" for f in features},
            "outputs": ["label", "probabilities"]}
    meta = serving_metadata(onnx=onnx, features=features, columns=COLUMNS, frame=frame[features],
                            task="classification", target="species", classes=["Adelie", "Chinstrap", "Gentoo"],
                            project_name="p", project_version="0.1.0", spec_hash="h", pii=PII)
    sex = next(c for c in meta["columns"] if c["name"] == "sex")
    assert sex["nullable"] and sex["reference"]["missing"] == 11  # type: ignore[index]
    assert meta["api"]["max_body"] == 1024 * 1024 and meta["monitoring"]["drift"] is None


@pytest.mark.parametrize(("overrides", "message"), [
    # every task is servable now: an image task over table columns is what gets refused
    ({"task": "image_classification"}, "an image model takes one image column, not 3 features"),
    ({"features": ["bill length", "email"]}, "compliance.pii"),
    ({"features": ["bill length", "mass"]}, "no input for feature 'mass'"),
    ({"columns": {"bill length": {"type": "datetime"}}}, "cannot take"),
    ({"columns": {"island": {"type": "numeric"}}}, "declared numeric but its ONNX input is string"),
])
def test_bad_inputs_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(**overrides)


def test_reading_checks_the_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        read_serving_metadata(tmp_path / "serving.json")
    (tmp_path / "serving.json").write_text("{not json")
    with pytest.raises(ValueError, match="cannot read"):
        read_serving_metadata(tmp_path / "serving.json")
    meta = dict(build())
    meta["format_version"] = 99
    (tmp_path / "serving.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="version 99"):
        read_serving_metadata(tmp_path / "serving.json")
    del meta["columns"]
    (tmp_path / "serving.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="missing columns"):
        read_serving_metadata(tmp_path / "serving.json")


def test_parsers() -> None:
    assert parse_size("1MiB") == 1024 * 1024 and parse_size("512 KB") == 512_000 and parse_size(10) == 10
    assert parse_size("2GiB") == 2 * 1024**3
    assert parse_duration_ms("50ms") == 50 and parse_duration_ms("1h30m") == 5_400_000 and parse_duration_ms(2) == 2
    # exact: seconds * 1000 would make 9 ms 9.000000000000002
    assert [parse_duration_ms(f"{n}ms") for n in (9, 13, 1001)] == [9, 13, 1001] and parse_duration_ms("1.5ms") == 1.5
    # the spec's language, as `aispec check` reads it: the same refusals, with the compiler's code
    for bad in ("lots", "5 parsecs", "4gb", "10"):
        with pytest.raises(ConfigError) as info:
            parse_size(bad)
        assert info.value.code == "AIS104" and str(info.value).startswith(f"error[AIS104]: invalid size '{bad}'")
    with pytest.raises(ConfigError, match="expected a size") as info:
        parse_size(True)
    assert info.value.code == "AIS204"
    with pytest.raises(ConfigError, match="invalid duration 'soon'") as info:
        parse_duration_ms("soon")
    assert info.value.code == "AIS104"
    assert label_text(1.0) == "1" and label_text(None) == "" and label_text("x") == "x" and label_text(2.5) == "2.5"
