"""The trained model meets its acceptance gates, and the ONNX export agrees with PyTorch.

These tests read artifacts/ from the last `python -m sms_spam_transfer`; they train first when the
artifacts are missing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sms_spam_transfer.config import ARTIFACTS, FAIRNESS_GATES, GATES
from sms_spam_transfer.train import main


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


def test_onnx_model_exists_and_agrees_with_pytorch(metrics: dict[str, Any]) -> None:
    onnx = metrics.get("onnx")
    if onnx is None or onnx.get("skipped"):
        pytest.skip(f"no ONNX export: {onnx and onnx.get('reason')}")
    assert Path(ARTIFACTS / "model.onnx").stat().st_size > 0
    # onnxruntime computes in float32: labels agree, scores within the recorded tolerances
    assert onnx["parity_ok"], onnx
    if onnx["label_agreement"] is not None:
        assert onnx["label_agreement"] >= onnx["min_label_agreement"]


def test_report_and_model_card_were_written(metrics: dict[str, Any]) -> None:
    for name in ("report.html", "model_card.md", "datasheet.md"):
        assert (ARTIFACTS / name).stat().st_size > 0
