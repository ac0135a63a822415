"""The trained forecaster meets its acceptance gates, beats the naive forecasts, and its served form
agrees with the framework.

These tests read artifacts/ from the last `python -m mauna_loa_co2_lstm`; they train first when the
artifacts are missing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mauna_loa_co2_lstm.config import ARTIFACTS, FAIRNESS_GATES, GATES
from mauna_loa_co2_lstm.train import main


@pytest.fixture(scope="session")
def metrics() -> dict[str, Any]:
    path = ARTIFACTS / "metrics.json"
    if not path.exists():
        main()
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("criterion", GATES + FAIRNESS_GATES)
def test_acceptance_gate(metrics: dict[str, Any], criterion: str) -> None:
    [gate] = [g for g in metrics["gates"]["gates"] if g["criterion"] == criterion]
    assert gate["passed"], f"{criterion}: observed {gate['observed']}"


def test_served_forecaster_exists_and_agrees_with_the_framework(metrics: dict[str, Any]) -> None:
    onnx = metrics.get("onnx")
    if onnx is None or onnx.get("skipped"):
        pytest.skip(f"no export: {onnx and onnx.get('reason')}")
    # model.onnx (a lag model) or forecaster.npz (ETS, ARIMA, the naive forecasts)
    assert Path(ARTIFACTS / onnx["path"]).stat().st_size > 0
    assert onnx["parity_ok"], onnx


def test_the_model_beats_the_naive_forecasts(metrics: dict[str, Any]) -> None:
    # mase is scaled by the seasonal-naive forecast's error on the training part: below 1 is better than
    # repeating last season was there; on the test split, compare with the baselines themselves
    mae = metrics["metrics"]["mae"]
    assert mae <= metrics["baselines"]["seasonal_naive"]["mae"], (mae, metrics["baselines"])


def test_report_and_model_card_were_written(metrics: dict[str, Any]) -> None:
    for name in ("report.html", "model_card.md", "datasheet.md"):
        assert (ARTIFACTS / name).stat().st_size > 0
