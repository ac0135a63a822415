"""aispec.runtime.export: real pipelines to ONNX, parity with scikit-learn, clear errors."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import DBSCAN, KMeans
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from aispec.runtime import export
from aispec.runtime.errors import ExportError
from aispec.runtime.export import TARGET_OPSET, to_onnx

RNG = np.random.default_rng(11)
N = 160
FRAME = pd.DataFrame({
    "bill length": RNG.normal(44, 5, N),
    "mass": RNG.normal(4200, 600, N),
    "island": RNG.choice(["Biscoe", "Dream", "Torgersen", ""], N).astype(object),  # "" = missing
})
FRAME.loc[[3, 17, 40], "mass"] = np.nan
SPECIES = np.where(FRAME["bill length"] + (FRAME["island"] == "Dream") * 6 > 46, "Gentoo",
                   np.where(FRAME["mass"].fillna(4200) > 4300, "Chinstrap", "Adelie"))
TARGET = 0.01 * FRAME["mass"].fillna(4200) + 2 * FRAME["bill length"] + (FRAME["island"] == "Biscoe") * 5
NUMERIC, CATEGORICAL = ["bill length", "mass"], ["island"]


def preprocessor(scale: bool = True) -> ColumnTransformer:
    numeric: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
    if scale:
        numeric.append(("scale", StandardScaler()))
    categorical = Pipeline([("impute", SimpleImputer(missing_values="", strategy="constant", fill_value="missing")),
                            ("onehot", OneHotEncoder(handle_unknown="ignore"))])
    return ColumnTransformer([("num", Pipeline(numeric), NUMERIC), ("cat", categorical, CATEGORICAL)])


def fitted(model: Any, y: Any = None, *, scale: bool = True) -> Pipeline:
    pipe = Pipeline([("preprocess", preprocessor(scale)), ("model", model)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pipe.fit(FRAME, y)


@pytest.mark.parametrize(("name", "model", "y", "max_diff"), [
    ("logistic_multiclass", LogisticRegression(max_iter=500), SPECIES, 1e-5),
    ("logistic_binary", LogisticRegression(), SPECIES == "Gentoo", 1e-5),
    ("random_forest", RandomForestClassifier(n_estimators=30, random_state=0), SPECIES, 0.25),
    ("hist_gradient_boosting", HistGradientBoostingClassifier(max_iter=30, random_state=0), SPECIES, 0.25),
    ("ridge", Ridge(), TARGET, 1e-3),
])
def test_supervised_pipelines_convert_with_parity(tmp_path: Path, name: str, model: Any, y: Any,
                                                  max_diff: float) -> None:
    pipe = fitted(model, y)
    path = tmp_path / f"{name}.onnx"
    report = to_onnx(pipe, FRAME, path)
    assert report.parity_ok, report
    assert report.max_abs_diff <= max_diff
    assert report.n_rows == N
    assert report.inputs == {"bill_length": "float", "mass": "float", "island": "string"}
    assert report.columns == {"bill length": "bill_length", "mass": "mass", "island": "island"}
    assert report.opset == TARGET_OPSET == {"": 17, "ai.onnx.ml": 3}
    assert path.read_bytes() and report.size_bytes == path.stat().st_size
    if name == "ridge":
        assert report.label_agreement is None and report.outputs == ["variable"]
        assert report.compared == "predict vs variable"
    else:
        assert report.label_agreement == 1.0
        assert report.outputs == ["label", "probabilities"]  # zipmap=False: a plain tensor
        assert report.compared == "predict_proba vs probabilities"
    json.dumps(report.to_dict())


def test_exported_model_runs_in_onnxruntime_like_scikit_learn(tmp_path: Path) -> None:
    pipe = fitted(LogisticRegression(max_iter=500), SPECIES)
    path = tmp_path / "m.onnx"
    report = to_onnx(pipe, FRAME, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rows = FRAME.iloc[:5]
    feeds = {report.columns["bill length"]: rows[["bill length"]].to_numpy(np.float32),
             report.columns["mass"]: rows[["mass"]].to_numpy(np.float32),
             report.columns["island"]: rows[["island"]].to_numpy(object)}
    label, proba = session.run(None, feeds)
    assert list(label) == list(pipe.predict(rows))
    np.testing.assert_allclose(proba, pipe.predict_proba(rows), atol=1e-5)


def test_trees_without_a_scaler_match_exactly(tmp_path: Path) -> None:
    report = to_onnx(fitted(RandomForestClassifier(n_estimators=20, random_state=0), SPECIES, scale=False), FRAME,
                     tmp_path / "rf.onnx")
    assert report.max_abs_diff < 1e-5 and report.label_agreement == 1.0


def test_isolation_forest_scores_are_the_decision_function(tmp_path: Path) -> None:
    pipe = fitted(IsolationForest(n_estimators=30, random_state=0))
    report = to_onnx(pipe, FRAME, tmp_path / "iso.onnx")
    assert report.outputs == ["label", "scores"]
    assert report.compared == "decision_function vs scores"
    assert report.label_agreement == 1.0 and report.max_abs_diff < 1e-5 and report.parity_ok


def test_kmeans_scores_are_distances(tmp_path: Path) -> None:
    report = to_onnx(fitted(KMeans(3, n_init=2, random_state=0)), FRAME, tmp_path / "km.onnx")
    assert report.compared == "transform vs scores" and report.label_agreement == 1.0 and report.parity_ok


def test_strict_parity_failure_raises(tmp_path: Path) -> None:
    pipe = fitted(RandomForestClassifier(n_estimators=30, random_state=0), SPECIES)
    report = to_onnx(pipe, FRAME, tmp_path / "a.onnx", tol=0.0, max_tol=0.0)
    if report.max_abs_diff == 0.0:  # pragma: no cover - float32 happened to agree everywhere
        pytest.skip("no difference to fail on")
    assert not report.parity_ok
    with pytest.raises(ExportError, match="ONNX parity failed"):
        to_onnx(pipe, FRAME, tmp_path / "b.onnx", tol=0.0, max_tol=0.0, strict=True)


class Doubler(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    def fit(self, X: Any, y: Any = None) -> Doubler:
        return self

    def transform(self, X: Any) -> Any:
        return np.asarray(X, dtype=float) * 2


def test_unconvertible_step_is_named(tmp_path: Path) -> None:
    pre = ColumnTransformer([("num", Pipeline([("impute", SimpleImputer()), ("double", Doubler())]), NUMERIC)])
    pipe = Pipeline([("preprocess", pre), ("model", Ridge())]).fit(FRAME, TARGET)
    with pytest.raises(ExportError, match=r"step 'preprocess/num/double'.*no converter for Doubler"):
        to_onnx(pipe, FRAME, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_model_without_predict_cannot_be_exported(tmp_path: Path) -> None:
    pipe = Pipeline([("preprocess", preprocessor()), ("model", DBSCAN())]).fit(FRAME)
    with pytest.raises(ExportError, match=r"step 'model' \(DBSCAN\) has no predict"):
        to_onnx(pipe, FRAME, tmp_path / "x.onnx")


def test_datetime_column_has_no_onnx_type(tmp_path: Path) -> None:
    frame = FRAME.assign(when=pd.Timestamp("2024-01-01"))
    with pytest.raises(ExportError, match="column 'when' has dtype datetime64"):
        to_onnx(fitted(Ridge(), TARGET), frame, tmp_path / "x.onnx")


def test_pandas_string_and_nullable_dtypes_are_fed(tmp_path: Path) -> None:
    frame = FRAME.astype({"island": "str"}).assign(mass=FRAME["mass"].round().astype("Int64"))
    pipe = Pipeline([("preprocess", preprocessor()), ("model", LogisticRegression(max_iter=500))]).fit(frame, SPECIES)
    report = to_onnx(pipe, frame, tmp_path / "s.onnx")
    assert report.inputs == {"bill_length": "float", "mass": "float", "island": "string"}
    assert report.parity_ok and report.label_agreement == 1.0


@pytest.mark.parametrize("max_features", [0.5, 0.99, 2])
def test_isolation_forest_that_subsamples_features_cannot_be_exported(tmp_path: Path, max_features: float) -> None:
    """The fact behind the check-time error AIS349: skl2onnx refuses max_features below all columns."""
    pipe = fitted(IsolationForest(n_estimators=10, max_features=max_features, random_state=0))
    with pytest.raises(ExportError, match="IsolationForest does not support the case when _max_features"):
        to_onnx(pipe, FRAME, tmp_path / "forest.onnx")
    assert to_onnx(fitted(IsolationForest(n_estimators=10, random_state=0)), FRAME, tmp_path / "all.onnx").parity_ok


def test_onnx_feeds_build_missing_values_as_the_service_does() -> None:
    # A missing category is "" (the service's missing marker), never the text "nan" or "None".
    frame = pd.DataFrame({"island": ["Dream", None, np.nan], "mass": [3.5, None, 4.0], "tagged": [True, False, True]})
    feeds = export.onnx_feeds(frame, {"island": "island", "mass": "mass", "tagged": "tagged"},
                              {"island": "string", "mass": "float", "tagged": "float"})
    assert feeds["island"].ravel().tolist() == ["Dream", "", ""] and feeds["island"].shape == (3, 1)
    assert feeds["mass"].dtype == np.float32 and np.isnan(feeds["mass"][1, 0]) and feeds["mass"][2, 0] == 4.0
    assert feeds["tagged"].ravel().tolist() == [1.0, 0.0, 1.0]
