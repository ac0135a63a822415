"""Gate results travel with the model: a model that failed its gates is never served as if it passed.

The gate report lives in serving.json (``gates``); the service, its module entry point and batch
scoring refuse a failed model unless overridden, and an overridden model says so everywhere.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aispec.runtime import metrics as M
from aispec.runtime.serving.app import create_app
from aispec.runtime.serving.batch import main as batch_main
from aispec.runtime.serving.batch import score_file
from aispec.runtime.serving.contract import read_serving_metadata, serving_metadata
from aispec.runtime.serving.gates import GatesFailed

from .conftest import FEATURES, penguins, with_settings

# a real gate report: one quality gate failed, one passed, and a gate of another kind (the lead's ONNX
# parity gate) failed: every failed gate counts the same, whatever its metric
REPORT = M.merge_gates(
    M.check_gates(["accuracy >= 0.999", "f1_macro >= 0.5"], {"accuracy": 0.9712, "f1_macro": 0.96},
                  locations={"metrics.acceptance.0": "spec.yaml:40:7"}),
    M.GateReport(passed=False, gates=[{"criterion": "onnx_parity <= 0.001", "metric": "onnx_parity", "op": "<=",
                                       "threshold": 0.001, "observed": 0.0234, "passed": False,
                                       "message": "onnx_parity = 0.0234, required <= 0.001", "where": None}]))
FAILED = REPORT.to_dict()
PASSED = M.check_gates(["accuracy >= 0.9"], {"accuracy": 0.97}).to_dict()


def _dir(model_dirs: dict[str, Path], tmp_path: Path, gates: dict[str, Any] | None, name: str = "m") -> Path:
    directory = with_settings(model_dirs["classification"], tmp_path / name)
    meta = json.loads((directory / "serving.json").read_text())
    if gates is None:
        meta.pop("gates", None)
    else:
        meta["gates"] = gates
    (directory / "serving.json").write_text(json.dumps(meta))
    return directory


def test_serving_metadata_carries_the_gate_report_and_reads_it_back(tmp_path: Path) -> None:
    import pandas as pd

    built = serving_metadata(onnx={"columns": {"x": "x"}, "inputs": {"x": "float"}, "outputs": ["variable"]},
                             features=["x"], columns=None, frame=pd.DataFrame({"x": [1.0, 2.0]}), task="regression",
                             target="y", classes=None, project_name="p", project_version="1", spec_hash="",
                             gates=REPORT)
    assert built["gates"] == FAILED  # the GateReport's own dict, every field of every gate
    path = tmp_path / "serving.json"
    path.write_text(json.dumps(built))
    assert read_serving_metadata(path)["gates"] == FAILED


def test_a_failed_model_is_refused_naming_each_failed_gate(model_dirs: dict[str, Path], tmp_path: Path) -> None:
    directory = _dir(model_dirs, tmp_path, FAILED)
    with pytest.raises(GatesFailed) as caught:
        create_app(directory, log_dir=tmp_path / "logs")
    message = caught.value.message
    assert "failed 2 gates" in message
    assert "accuracy >= 0.999: measured 0.9712" in message and "[spec.yaml:40:7]" in message
    assert "onnx_parity <= 0.001: measured 0.0234" in message
    assert "f1_macro" not in message  # a passed gate is not a reason
    assert "--allow-failed-gates" in message
    assert [g["metric"] for g in caught.value.failed] == ["accuracy", "onnx_parity"]


def test_a_hand_edited_passed_flag_does_not_hide_a_failed_gate(model_dirs: dict[str, Path], tmp_path: Path) -> None:
    directory = _dir(model_dirs, tmp_path, {**FAILED, "passed": True})
    with pytest.raises(GatesFailed):
        create_app(directory, log_dir=tmp_path / "logs")


def test_the_module_entry_point_exits_1_and_names_the_gates(model_dirs: dict[str, Path], tmp_path: Path) -> None:
    directory = _dir(model_dirs, tmp_path, FAILED)
    env = {k: v for k, v in os.environ.items() if k != "AISPEC_ALLOW_FAILED_GATES"}
    proc = subprocess.run([sys.executable, "-m", "aispec.runtime.serving", str(directory), "--port", "0"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "accuracy >= 0.999: measured 0.9712" in proc.stderr and "onnx_parity" in proc.stderr


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_an_overridden_model_is_served_and_says_it_failed(model_dirs: dict[str, Path], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture, how: str) -> None:
    directory = _dir(model_dirs, tmp_path, FAILED)
    if how == "environment":
        monkeypatch.setenv("AISPEC_ALLOW_FAILED_GATES", "1")
        app = create_app(directory, log_dir=tmp_path / "logs")
    else:
        app = create_app(directory, log_dir=tmp_path / "logs", allow_failed_gates=True)
    with caplog.at_level(logging.WARNING, logger="aispec.serving"), TestClient(app) as api:
        assert api.get("/ready").status_code == 200
        info = api.get("/v1/model").json()
        assert info["gates_passed"] is False and info["gates"] == FAILED
        assert 'aispec_model_gates_passed{variant="champion"} 0.0' in api.get("/metrics").text
        row = penguins()[FEATURES["classification"]].iloc[0].to_dict()
        row = {k: (bool(v) if k == "tagged" else v) for k, v in row.items() if v == v and v is not None}
        assert api.post("/v1/predict", json=row).status_code == 200
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert loud and "SERVING A MODEL THAT FAILED ITS GATES" in loud[0].getMessage()
    assert "accuracy >= 0.999: measured 0.9712" in loud[0].getMessage()


def test_passed_and_unknown_gates(model_dirs: dict[str, Path], tmp_path: Path,
                                  caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(create_app(_dir(model_dirs, tmp_path, PASSED, "ok"), log_dir=tmp_path / "l1")) as api:
        assert api.get("/v1/model").json()["gates_passed"] is True
        assert 'aispec_model_gates_passed{variant="champion"} 1.0' in api.get("/metrics").text
    # a serving.json written before gates were recorded: served, with a warning and "unknown" everywhere
    with caplog.at_level(logging.WARNING, logger="aispec.serving"), \
            TestClient(create_app(_dir(model_dirs, tmp_path, None, "old"), log_dir=tmp_path / "l2")) as api:
        info = api.get("/v1/model").json()
        assert info["gates_passed"] is None and info["gates"] is None
        assert 'aispec_model_gates_passed{variant="champion"} -1.0' in api.get("/metrics").text
    assert any("gates unknown" in r.getMessage() for r in caplog.records)


def test_a_challenger_that_failed_its_gates_is_refused(model_dirs: dict[str, Path], ab_dirs: dict[str, Path],
                                                       tmp_path: Path) -> None:
    import shutil

    directory = tmp_path / "ab"
    shutil.copytree(ab_dirs["split"], directory, ignore=shutil.ignore_patterns("logs"))
    meta = json.loads((directory / "challenger" / "serving.json").read_text())
    (directory / "challenger" / "serving.json").write_text(json.dumps({**meta, "gates": FAILED}))
    with pytest.raises(GatesFailed, match="challenger"):
        create_app(directory, log_dir=tmp_path / "logs")
    app = create_app(directory, log_dir=tmp_path / "logs", allow_failed_gates=True)
    with TestClient(app) as api:
        assert 'aispec_model_gates_passed{variant="challenger"} 0.0' in api.get("/metrics").text


def test_batch_scoring_refuses_a_failed_model_unless_overridden(model_dirs: dict[str, Path], tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AISPEC_ALLOW_FAILED_GATES", raising=False)
    directory = _dir(model_dirs, tmp_path, FAILED)
    source = tmp_path / "rows.csv"
    penguins()[FEATURES["classification"]].head(20).to_csv(source, index=False)
    with pytest.raises(GatesFailed):
        score_file(directory, source, tmp_path / "out.csv")
    assert batch_main([str(directory), str(source), str(tmp_path / "out.csv")]) == 1
    err = capsys.readouterr().err
    assert "accuracy >= 0.999: measured 0.9712" in err and not (tmp_path / "out.csv").exists()
    assert batch_main([str(directory), str(source), str(tmp_path / "out.csv"), "--allow-failed-gates"]) == 0
    assert "FAILED its gates" in capsys.readouterr().err and (tmp_path / "out.csv").exists()
