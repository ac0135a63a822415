"""XGBoost and LightGBM projects end to end, as a user runs them (`python -m <package>`): boosting stops on
the validation split and the run says how many rounds it kept; every figure of metrics.json is scikit-learn's
metric on the evaluated rows (predictions.csv, the outside oracle); what is served — onnxruntime alone, no
XGBoost, LightGBM or scikit-learn — gives the evaluated answers.

(`tests/test_e2e.py` also runs both examples with the others: their gates and their own project tests.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from aispec.compiler.build import build
from aispec.runtime.datasets import load_bundled
from aispec.schemas.vocabulary import METRICS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {"xgboost": "breast-cancer-xgboost", "lightgbm": "penguins-lightgbm"}


@pytest.fixture(scope="module", params=sorted(EXAMPLES))
def trained(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Any]:
    family = request.param
    project = tmp_path_factory.mktemp(family) / "p"
    result = build(ROOT / "specs" / "examples" / f"{EXAMPLES[family]}.yaml", project)
    assert result.ok and result.plan is not None
    proc = subprocess.run([sys.executable, "-m", result.plan.package], cwd=project, capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"}, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return family, project, json.loads((project / "artifacts" / "metrics.json").read_text())


def test_boosting_stops_on_the_validation_split_and_says_how_many_rounds_it_kept(trained: Any) -> None:
    family, project, doc = trained
    rounds = doc["boosting"]
    history = rounds["history"][rounds["monitor"]]
    assert doc["model"]["family"] == family
    assert rounds["monitor"] == "val_loss" and len(history) == rounds["trained"] <= rounds["ceiling"]
    assert rounds["rounds"] == int(np.argmin(history)) + 1 and rounds["best"] == min(history)
    if rounds["stopped_early"]:
        assert rounds["trained"] == rounds["rounds"] + rounds["patience"]
    assert (project / "artifacts" / "plots" / "boosting_rounds.png").stat().st_size > 1000
    html = (project / "artifacts" / "report.html").read_text()
    assert 'id="boosting"' in html and f"{rounds['rounds']} of at most {rounds['ceiling']}" in html
    # the requirements name the library, the served image's do not
    requirements = (project / "requirements.txt").read_text()
    serving = (project / "requirements-serve.txt").read_text()
    library = "xgboost-cpu" if family == "xgboost" else "lightgbm"
    assert f"{library}==" in requirements and "onnxmltools==" in requirements
    assert library not in serving and "onnxmltools" not in serving


def test_every_figure_is_scikit_learns_metric_on_the_evaluated_rows(trained: Any) -> None:
    family, project, doc = trained
    rows = pd.read_csv(project / "artifacts" / "predictions.csv", dtype={"truth": str, "prediction": str},
                       keep_default_na=False)
    got = doc["metrics"]
    truth, predicted = rows["truth"], rows["prediction"]
    classes = [c.removeprefix("score:") for c in rows.columns if c.startswith("score:")]
    scores = rows[[f"score:{c}" for c in classes]].to_numpy()
    want = {"accuracy": skm.accuracy_score(truth, predicted),
            "balanced_accuracy": skm.balanced_accuracy_score(truth, predicted)}
    if family == "xgboost":  # binary: the positive class is malignant
        positive = rows["score:malignant"]
        hit = truth == "malignant"
        want |= {"roc_auc": skm.roc_auc_score(hit, positive), "average_precision": skm.average_precision_score(
            hit, positive), "recall": skm.recall_score(truth, predicted, pos_label="malignant"),
            "precision": skm.precision_score(truth, predicted, pos_label="malignant"),
            "f1": skm.f1_score(truth, predicted, pos_label="malignant"),
            "brier": skm.brier_score_loss(hit, positive)}
    else:
        want |= {"f1_macro": skm.f1_score(truth, predicted, average="macro"),
                 "precision_macro": skm.precision_score(truth, predicted, average="macro"),
                 "recall_macro": skm.recall_score(truth, predicted, average="macro"),
                 "log_loss": skm.log_loss(truth, scores, labels=classes)}
    # the quality metrics (fairness ones are fairlearn's, latency and size measured)
    quality = {name for name in got if name in METRICS and METRICS[name].kind == "quality"}
    assert quality and quality <= set(want), quality - set(want)  # every reported figure is checked
    for name in quality:
        assert got[name] == pytest.approx(want[name], abs=1e-9), name


SERVE = r"""
import json, sys
from pathlib import Path
from fastapi.testclient import TestClient
from aispec.runtime.serving.app import create_app

artifacts, body = Path(sys.argv[1]), json.loads(sys.argv[2])
predictions = []
with TestClient(create_app(artifacts)) as client:
    for start in range(0, len(body), 50):  # within api.max_batch
        answer = client.post("/v1/predict/batch", json={"rows": body[start:start + 50]})
        assert answer.status_code == 200, answer.text
        predictions += answer.json()["predictions"]
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("xgboost", "lightgbm", "onnxmltools", "sklearn"))
print(json.dumps({"predictions": predictions, "heavy": heavy}))
"""


def test_what_is_served_is_what_was_evaluated_without_the_libraries(trained: Any) -> None:
    family, project, _ = trained
    artifacts = project / "artifacts"
    rows = pd.read_csv(artifacts / "predictions.csv", dtype={"prediction": str}, keep_default_na=False)
    frame = load_bundled("breast_cancer" if family == "xgboost" else "palmerpenguins")
    columns = [c["name"] for c in json.loads((artifacts / "serving.json").read_text())["columns"]]
    body = [{k: (None if pd.isna(v) else (v if isinstance(v, str) else float(v)))
             for k, v in frame.loc[int(r), columns].items()} for r in rows["row"]]
    proc = subprocess.run([sys.executable, "-c", SERVE, str(artifacts), json.dumps(body)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    served = json.loads(proc.stdout.strip().splitlines()[-1])
    assert served["heavy"] == []  # onnxruntime alone
    answers = served["predictions"]
    assert [a["label"] for a in answers] == rows["prediction"].tolist()
    for answer, (_, row) in zip(answers, rows.iterrows(), strict=True):
        for label, p in answer["probabilities"].items():
            assert p == pytest.approx(row[f"score:{label}"], abs=1e-6)
