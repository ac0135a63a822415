"""Drift statistics, ring buffers, the JSONL log with rotation and the feedback index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from aispec.runtime.serving.contract import serving_metadata
from aispec.runtime.serving.drift import DriftMonitor, ks_2samp, psi
from aispec.runtime.serving.predictlog import JsonlLog, PredictionIds, RecentPredictions


def test_psi() -> None:
    counts = np.array([10, 20, 30, 40])
    assert psi(counts, counts * 3) == pytest.approx(0.0)
    assert psi(counts, counts[::-1]) > 0.5
    assert psi(np.array([0, 0]), counts[:2]) == 0.0  # nothing to compare


@pytest.mark.parametrize("shift", [0.0, 0.3, 1.0])
def test_ks_matches_scipy(shift: float) -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 500), rng.normal(shift, 1, 300)
    d, p = ks_2samp(a, b)
    expected = stats.ks_2samp(a, b, method="asymp")
    assert d == pytest.approx(expected.statistic, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, abs=2e-3)


def _monitor(window: int = 100, method: str = "both") -> tuple[DriftMonitor, Any]:
    rng = np.random.default_rng(2)
    import pandas as pd

    frame = pd.DataFrame({"x": rng.normal(0, 1, 2000), "c": rng.choice(["a", "b"], 2000).astype(object)})
    meta = serving_metadata(
        onnx={"columns": {"x": "x", "c": "c"}, "inputs": {"x": "float", "c": "string"}, "outputs": ["variable"]},
        features=["x", "c"], columns=None, frame=frame, task="regression", target="y", classes=None,
        project_name="p", project_version="1.0.0", spec_hash="h")
    monitor = DriftMonitor(meta["columns"], method=method, threshold=0.2, window=window)
    return monitor, rng


def test_monitor_flags_only_the_shifted_feature() -> None:
    monitor, rng = _monitor(window=400)
    for _ in range(400):
        monitor.update([rng.normal(0, 1)], [monitor.code(0, str(rng.choice(["a", "b"])))])
    calm = monitor.features()
    assert not calm["x"]["drifted"] and not calm["c"]["drifted"]
    assert calm["x"]["psi"] is not None and calm["x"]["psi"] < 0.1
    shifted = rng.normal(2, 1, (400, 1))
    codes = np.array([[monitor.code(0, "a")]] * 200 + [[monitor.code(0, "zzz")]] * 200)
    monitor.update_many(shifted, codes, 400)
    report = monitor.report()
    assert report["rows"] == 400 and report["seen"] == 800
    assert report["features"]["x"]["drifted"] and report["features"]["x"]["ks"] > 0.5
    assert report["features"]["c"]["drifted"]  # half the window is an unseen category
    assert report["drifted"] == ["x", "c"]


def test_ring_buffer_wraps_and_keeps_the_last_rows() -> None:
    monitor, _ = _monitor(window=10)
    monitor.update_many(np.arange(7, dtype=float).reshape(7, 1), np.zeros((7, 1), dtype=np.int32), 7)
    monitor.update_many(np.arange(100, 125, dtype=float).reshape(25, 1), np.zeros((25, 1), dtype=np.int32), 25)
    assert sorted(monitor._num[:, 0].tolist()) == list(range(115, 125))
    monitor.update_many(np.arange(200, 206, dtype=float).reshape(6, 1), np.zeros((6, 1), dtype=np.int32), 6)
    assert sorted(monitor._num[:, 0].tolist()) == [*range(121, 125), *range(200, 206)]
    monitor.update([float("nan")], [monitor.code(0, "")])
    assert monitor.rows == 10 and monitor.seen == 39


def test_too_few_rows_never_flag() -> None:
    monitor, _ = _monitor(window=1000)
    for _ in range(50):
        monitor.update([50.0], [monitor.code(0, "a")])
    result = monitor.features()["x"]
    assert result["psi"] is not None and result["psi"] > 1 and not result["drifted"]


def test_jsonl_log_buffers_flushes_and_rotates(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "logs" / "p.jsonl", max_bytes=2048, backups=2, flush_rows=10)
    for i in range(9):
        log.append({"i": i, "timestamp": 0.0, "v": float("nan")})
    assert not log.path.exists() and log.pending == 9
    log.append({"i": 9, "timestamp": 0.0})
    assert log.pending == 0 and len(log.path.read_text().splitlines()) == 10
    first = json.loads(log.path.read_text().splitlines()[0])
    assert first == {"i": 0, "timestamp": "1970-01-01T00:00:00.000Z", "v": None}
    for i in range(10, 400):
        log.append({"i": i, "pad": "x" * 20})
    log.close()
    files = log.files()
    assert [p.name for p in files] == ["p.jsonl", "p.jsonl.1", "p.jsonl.2"]
    assert all(p.stat().st_size <= 2048 for p in files)
    numbers = [json.loads(line)["i"] for p in reversed(files) for line in p.read_text().splitlines()]
    assert numbers == sorted(numbers) and numbers[-1] == 399  # oldest dropped, order kept


def test_jsonl_log_reports_write_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    log = JsonlLog(blocker / "p.jsonl")
    log.append({"a": 1})
    assert log.flush() == 0 and log.errors == 1 and log.last_error


def test_recent_predictions_evict_the_oldest() -> None:
    recent = RecentPredictions(capacity=3)
    ids = PredictionIds()
    made = [next(ids) for _ in range(5)]
    assert len(set(made)) == 5
    for i, pid in enumerate(made):
        recent.add(pid, "champion", i, 0.0)
    assert len(recent) == 3
    assert recent.get(made[0]) is None and recent.get(made[1]) is None
    assert recent.get(made[4]) == ("champion", 4, 0.0)
