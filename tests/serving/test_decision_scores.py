"""Classifiers without probabilities: the service's ``scores`` are scikit-learn's ``decision_function``,
each keyed to its own class (issue 13, item 7), in the service and in batch scoring.

skl2onnx writes a binary decision function as one column (RidgeClassifier) or as two columns [d, -d]
(SVC): neither is "one column per class in class order". scikit-learn's convention is the oracle: a
binary ``decision_function`` ``d`` is positive for ``classes_[1]``; multiclass (one-vs-rest) has one
column per class in ``classes_`` order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from aispec.runtime.serving.app import create_app
from aispec.runtime.serving.batch import score_file

from .conftest import FEATURES, train_model_dir

CASES = [("ridge", {}), ("svm", {"probability": False})]


def _binary(frame: pd.DataFrame) -> pd.DataFrame:
    # Adelie vs Chinstrap overlap on several features: decisions on both sides of 0, some near it
    return frame[frame["species"].isin(["Adelie", "Chinstrap"])]


def _request(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "tagged":
            out[key] = bool(value)
        elif value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
            out[key] = None
        else:
            out[key] = value
    return out


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "multiclass"])
@pytest.mark.parametrize(("family", "params"), CASES, ids=[c[0] for c in CASES])
def test_scores_are_sklearns_decision_function_keyed_by_class(tmp_path: Path, family: str, params: dict[str, Any],
                                                              binary: bool) -> None:
    # export's parity check reads a binary SVC's ONNX scores as [-d, d]; skl2onnx 1.20 writes [d, -d], so
    # it reports a difference there (runtime/export.py, not the service): the service must decode either way
    meta, pipeline, X_test = train_model_dir(tmp_path / "model", "classification", family=family, params=params,
                                             rows=_binary if binary else None,
                                             require_parity=not (binary and family == "svm"))
    assert meta["model"]["scores"] == "decision"
    classes = [str(c) for c in pipeline.classes_]
    decision = pipeline.decision_function(X_test)
    expected = np.stack([-decision, decision], axis=1) if decision.ndim == 1 else decision
    assert expected.shape == (len(X_test), len(classes))
    if binary:  # real rows of both classes, so both signs are checked
        assert (decision > 0).any() and (decision < 0).any()
    requests = [_request(r) for r in X_test[FEATURES["classification"]].to_dict("records")]
    with TestClient(create_app(tmp_path / "model", log_dir=tmp_path / "logs")) as api:
        answers = [a for i in range(0, len(requests), 50)  # api.max_batch of these models
                   for a in api.post("/v1/predict/batch", json={"rows": requests[i:i + 50]}).json()["predictions"]]
        single = [api.post("/v1/predict", json=r).json() for r in requests[:10]]
    assert [a["label"] for a in answers] == [str(c) for c in pipeline.predict(X_test)]
    got = np.array([[a["scores"][c] for c in classes] for a in answers])
    np.testing.assert_allclose(got, expected, atol=2e-4, rtol=1e-3)
    # the winning score belongs to the predicted label, as in scikit-learn
    assert all(max(a["scores"], key=a["scores"].get) == a["label"] for a in answers)
    assert [s["label"] for s in single] == [a["label"] for a in answers[:10]]
    np.testing.assert_allclose([[s["scores"][c] for c in classes] for s in single], got[:10], atol=1e-5)
    # batch scoring decodes the same way
    source = tmp_path / "rows.csv"
    X_test.to_csv(source, index=False)
    score_file(tmp_path / "model", source, tmp_path / "out.csv")
    scored = pd.read_csv(tmp_path / "out.csv")
    np.testing.assert_allclose(scored[[f"scores_{c}" for c in classes]].to_numpy(), expected, atol=2e-4, rtol=1e-3)
