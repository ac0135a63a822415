"""Personal data never leaves the data: a run on data with PII writes none of its values anywhere.

The run's every output is scanned for the PII values themselves: the console, every artefact (report,
metrics.json, model card, datasheet, predictions, serving.json, the ONNX graph, plots) and the service's
logs after it served requests. Before the issue "Nothing silent", the data summary in metrics.json and
report.html listed the most frequent names and e-mail addresses.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aispec.compiler.build import build

pytestmark = pytest.mark.slow


def test_no_pii_value_appears_in_any_output(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 200
    names = [f"Name{i:03d} Surname{i:03d}" for i in range(n)]
    emails = [f"person{i:03d}@mail-{i % 7}.example" for i in range(n)]
    names[5] = names[6] = "Repeated Person"  # a most-frequent value, as the old summary would have shown
    emails[7] = None  # type: ignore[call-overload]  # a missing e-mail: counted, never shown
    frame = pd.DataFrame({"name": names, "email": emails, "age": rng.integers(18, 90, n),
                          "plan": rng.choice(["basic", "plus"], n), "churned": rng.choice(["yes", "no"], n)})
    frame.to_csv(tmp_path / "customers.csv", index=False)
    spec = {
        "aispec": 1, "project": {"name": "pii-check"},
        "problem": {"task": "classification", "target": "churned", "positive_class": "yes"},
        "data": {"source": {"kind": "csv", "path": "customers.csv"},
                 "columns": {"name": "text", "email": {"type": "categorical", "nullable": True},
                             "age": "numeric", "plan": "categorical", "churned": "categorical"}},
        "model": {"family": "logistic_regression"},
        "metrics": {"report": ["accuracy", "f1_macro", "recall"], "acceptance": ["accuracy >= 0"]},
        "deployment": {"target": "rest"},
        "monitoring": {"log_predictions": True, "drift": {"method": "psi"}},
        "compliance": {"pii": ["name", "email"], "regulations": ["gdpr"], "intended_use": "test"},
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    result = build(tmp_path / "spec.yaml", tmp_path / "project")
    assert result.ok and result.plan is not None
    project = tmp_path / "project"
    proc = subprocess.run([sys.executable, "-m", result.plan.package], cwd=project, capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"}, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    artifacts = project / "artifacts"
    # serve some predictions with the prediction log on
    from fastapi.testclient import TestClient

    from aispec.runtime.serving.app import create_app

    logs = tmp_path / "logs"
    with TestClient(create_app(artifacts, log_dir=logs)) as client:
        for i in range(20):
            answer = client.post("/v1/predict", json={"age": 30 + i, "plan": "basic"})
            assert answer.status_code == 200, answer.text
        # a PII field sent by a client is refused, and its value is not echoed back
        refused = client.post("/v1/predict", json={"age": 30, "plan": "basic", "email": "leak@secret.example"})
        assert refused.status_code == 422 and "leak@secret.example" not in refused.text
    values = {v for v in (*names, *emails) if v} | {"leak@secret.example"}
    outputs: dict[str, bytes] = {"console": (proc.stdout + proc.stderr).encode()}
    for folder in (artifacts, logs):
        for path in folder.rglob("*"):
            if path.is_file():
                outputs[str(path.relative_to(tmp_path))] = path.read_bytes()
    assert len(outputs) > 8
    leaks = {name: sorted(v for v in values if v.encode() in content) for name, content in outputs.items()}
    assert {name: found for name, found in leaks.items() if found} == {}
    # the columns are still accounted for, by counts
    metrics = (artifacts / "metrics.json").read_text(encoding="utf-8")
    assert '"pii": true' in metrics and '"missing": 1' in metrics
