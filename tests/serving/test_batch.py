"""Batch scoring: chunked, flat memory, bad rows flagged not fatal, same answers as the service."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aispec.runtime.errors import DataError
from aispec.runtime.serving.batch import main, score_file


def _rows(model_dir: Path, n: int) -> pd.DataFrame:
    meta = json.loads((model_dir / "serving.json").read_text())
    example = meta["example"]
    frame = pd.DataFrame([example] * n)
    numeric = [c["name"] for c in meta["columns"] if c["dtype"] in ("float", "double") and c["type"] == "numeric"]
    rng = np.random.default_rng(0)
    for name in numeric:
        frame[name] = frame[name].astype(float) * rng.uniform(0.98, 1.02, n)
    return frame


def test_scores_a_csv_in_chunks_with_the_service_answers(model_dirs: dict[str, Path], tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from aispec.runtime.serving.app import create_app

    model_dir = model_dirs["classification"]
    frame = _rows(model_dir, 2_500)
    frame.to_csv(tmp_path / "in.csv", index=False)
    report = score_file(model_dir, tmp_path / "in.csv", tmp_path / "out.csv", chunk_rows=1_000)
    assert (report.rows, report.scored, report.chunks) == (2_500, 2_500, 3)
    out = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert list(out["row"]) == list(range(2_500))
    with TestClient(create_app(model_dir, log_dir=tmp_path / "logs")) as client:
        for i in (0, 1_234, 2_499):
            row = {k: (v.item() if hasattr(v, "item") else v) for k, v in frame.iloc[i].to_dict().items()}
            answer = client.post("/v1/predict", json=row).json()
            assert str(out.loc[i, "label"]) == str(answer["label"])


def test_bad_rows_are_flagged_and_the_rest_scored(model_dirs: dict[str, Path], tmp_path: Path) -> None:
    model_dir = model_dirs["regression"]
    meta = json.loads((model_dir / "serving.json").read_text())
    numeric = next(c for c in meta["columns"] if c["type"] == "numeric")
    frame = _rows(model_dir, 10)
    frame[numeric["name"]] = frame[numeric["name"]].astype(str)  # a text column, as files often have
    frame.loc[3, numeric["name"]] = "lots"
    frame.to_parquet(tmp_path / "in.parquet")
    report = score_file(model_dir, tmp_path / "in.parquet", tmp_path / "out.parquet", chunk_rows=4)
    assert (report.rows, report.scored, report.rejected) == (10, 9, 1)
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out.loc[3, "error"] == f"{numeric['name']}: not a number" and pd.isna(out.loc[3, "prediction"])
    assert (out.drop(index=3)["error"] == "").all() and out.drop(index=3)["prediction"].notna().all()


def test_memory_stays_flat_on_a_large_file(model_dirs: dict[str, Path], tmp_path: Path) -> None:
    model_dir = model_dirs["regression"]
    _rows(model_dir, 200_000).to_csv(tmp_path / "big.csv", index=False)
    tracemalloc.start()
    report = score_file(model_dir, tmp_path / "big.csv", tmp_path / "big-out.csv", chunk_rows=5_000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report.rows == 200_000 and report.chunks == 40
    size = (tmp_path / "big.csv").stat().st_size
    assert peak < size / 2, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB file"


def test_missing_model_input_column_is_an_error_and_leaves_no_output(model_dirs: dict[str, Path],
                                                                     tmp_path: Path) -> None:
    model_dir = model_dirs["classification"]
    frame = _rows(model_dir, 5)
    frame.drop(columns=[frame.columns[0]]).to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(DataError, match="the input has no column"):
        score_file(model_dir, tmp_path / "in.csv", tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists() and not list(tmp_path.glob(".out.csv*"))
    assert main([str(model_dir), str(tmp_path / "in.csv"), str(tmp_path / "out.csv")]) == 2
