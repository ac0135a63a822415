"""A PyTorch project end to end, as a user runs it: `python -m <package>` trains, gates, exports and
documents; what is served (onnxruntime only, no torch) gives the evaluated predictions; `--resume` after a
finished run reuses its network and search instead of training again.

(`tests/test_e2e.py` also runs the example and its own project tests with the other examples.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from aispec.compiler.build import build

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "specs" / "examples" / "penguins-mlp-torch.yaml"


def _run(project: Path, package: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", package, *args], cwd=project, capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"}, timeout=900)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, subprocess.CompletedProcess[str]]:
    project = tmp_path_factory.mktemp("torch-e2e") / "p"
    result = build(EXAMPLE, project)
    assert result.ok and result.plan is not None
    proc = _run(project, result.plan.package)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return project, result.plan.package, proc


def test_the_run_trains_in_epochs_and_documents_how(trained: tuple[Path, str, Any]) -> None:
    project, _, proc = trained
    doc: dict[str, Any] = json.loads((project / "artifacts" / "metrics.json").read_text())
    training = doc["training"]
    epochs = training["epochs"]
    assert training["device"] == "cpu" and training["settings"]["optimizer"] == "adamw"
    assert training["settings"]["schedule"]["kind"] == "step" and 0 < len(epochs) <= 60
    # one plain line per epoch of the final fit (the output is not a terminal), the search's trials silent
    lines = [line for line in proc.stdout.splitlines() if line.strip().startswith("epoch ")]
    assert len(lines) == len(epochs) and lines[-1].split()[1] == f"{len(epochs)}/60"
    if training["stopped_early"]:
        assert len(epochs) == training["best_epoch"] + 1 + 8  # patience 8
    assert (project / "artifacts" / "plots" / "training_curves.png").stat().st_size > 1000
    html = (project / "artifacts" / "report.html").read_text()
    assert 'id="training"' in html and 'id="pruning"' in html and "scored on the validation split" in html
    assert doc["search"]["validation"] == "the validation split"
    assert doc["pruning"]["decided_on"] == "validation" and doc["pruning"]["amount"] == 0.3
    assert (project / "checkpoints" / "last.pt").exists() and (project / "checkpoints" / "search.json").exists()


def test_what_is_served_is_what_was_evaluated_without_torch(trained: tuple[Path, str, Any]) -> None:
    project, _, _ = trained
    artifacts = project / "artifacts"
    predictions = pd.read_csv(artifacts / "predictions.csv", dtype={"prediction": str}, keep_default_na=False)
    code = r"""
import json, sys
from pathlib import Path
import pandas as pd
from fastapi.testclient import TestClient
from aispec.runtime.serving.app import create_app
from palmerpenguins import load_penguins

artifacts = Path(sys.argv[1])
rows = json.loads(sys.argv[2])
frame = load_penguins()
answers = []
with TestClient(create_app(artifacts)) as client:
    for r in rows:
        raw = frame.loc[r, ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]]
        body = {k: (None if pd.isna(v) else (v if isinstance(v, str) else float(v))) for k, v in raw.items()}
        answer = client.post("/v1/predict", json=body)
        assert answer.status_code == 200, answer.text
        answers.append(answer.json())
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "sklearn", "skl2onnx"))
print(json.dumps({"labels": [a["label"] for a in answers], "probabilities": [a["probabilities"] for a in answers],
                  "heavy": heavy}))
"""
    rows = [int(r) for r in predictions["row"]]
    proc = subprocess.run([sys.executable, "-c", code, str(artifacts), json.dumps(rows)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    served = json.loads(proc.stdout.strip().splitlines()[-1])
    assert served["heavy"] == []  # the service ran on onnxruntime alone
    assert served["labels"] == predictions["prediction"].tolist()
    for answer, (_, row) in zip(served["probabilities"], predictions.iterrows(), strict=True):
        for label, p in answer.items():
            assert p == pytest.approx(row[f"score:{label}"], abs=1e-5)


def test_resume_after_a_finished_run_reuses_the_network_and_the_search(trained: tuple[Path, str, Any]) -> None:
    project, package, _ = trained
    before = json.loads((project / "artifacts" / "metrics.json").read_text())
    proc = _run(project, package, "--resume")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "resumed from" in proc.stdout and "it had finished" in proc.stdout
    after = json.loads((project / "artifacts" / "metrics.json").read_text())
    assert after["training"]["epochs"] == before["training"]["epochs"]
    assert after["search"]["trials"] == before["search"]["trials"]  # no trial ran again
    assert {k: after["metrics"][k] for k in ("accuracy", "f1_macro")} == \
        {k: before["metrics"][k] for k in ("accuracy", "f1_macro")}
