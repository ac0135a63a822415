"""aispec.runtime.quantize: int8 models for MLPs, honest skips and fallbacks for everything else."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from aispec.runtime import cards, export, models, preprocess, quantize, report, workflow
from aispec.runtime.errors import ConfigError
from aispec.runtime.export import register_converters, to_onnx
from aispec.runtime.serving.contract import read_serving_metadata, serving_metadata, write_serving_metadata
from aispec.runtime.split import Split
from aispec.schemas.vocabulary import FAMILIES, INT8_QUANTIZABLE, Backend

RNG = np.random.default_rng(3)
N, D = 600, 12
FEATURES = [f"x{i}" for i in range(D)]
FRAME = pd.DataFrame(RNG.normal(size=(N, D)), columns=FEATURES)
FRAME["colour"] = RNG.choice(["red", "green", "blue"], N).astype(object)
FRAME["label"] = np.where(FRAME.x0 + FRAME.x1 * FRAME.x2 - FRAME.x3 + (FRAME.colour == "red") > 0, "yes", "no")
FRAME["value"] = 2 * FRAME.x0 - FRAME.x1 + 0.5 * FRAME.x2 * FRAME.x3 + RNG.normal(scale=0.1, size=N)
COLUMNS = [*FEATURES, "colour"]
TYPES = {**{c: "numeric" for c in FEATURES}, "colour": "categorical"}
SPLITS = Split(FRAME.iloc[:400], None, FRAME.iloc[400:])


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def _trained(estimator: Any, task: str = "classification", target: str = "label") -> workflow.Trained:
    pipe = Pipeline([("preprocess", preprocess.build_preprocessor(column_types=TYPES, cleaning={}, task=task)),
                     ("model", estimator)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(SPLITS.train[COLUMNS], SPLITS.train[target])
    return workflow.Trained(pipe, "mlp", {}, task, target, list(COLUMNS))


def _ops(path: Path) -> set[str]:
    return {node.op_type for node in onnx.load(str(path)).graph.node}


def _float_export(tmp_path: Path, trained: workflow.Trained) -> tuple[Path, Any]:
    path = tmp_path / "model.onnx"
    return path, to_onnx(trained.pipeline, SPLITS.test[COLUMNS], path)


# ---------------------------------------------------------------------------------------- served int8


def test_mlp_classifier_is_served_as_a_smaller_int8_model_that_agrees(tmp_path: Path) -> None:
    trained = _trained(MLPClassifier(hidden_layer_sizes=(64, 64), max_iter=400, random_state=0))
    exported = workflow.export(trained, SPLITS, out_dir=tmp_path, quantize="int8",
                               metrics=["accuracy", "f1_macro", "roc_auc_ovr"], primary="f1_macro")
    q = exported.quantization
    assert q is not None and q.status == "applied" and q.served == "int8", q.reason
    assert q.quantized_ops == {"MatMul": 3}
    served, kept = tmp_path / "model.onnx", tmp_path / "model.fp32.onnx"
    assert {"MatMulInteger", "DynamicQuantizeLinear"} <= _ops(served) and "MatMulInteger" not in _ops(kept)
    assert q.int8_bytes == served.stat().st_size < q.float_bytes == kept.stat().st_size
    assert q.size_ratio is not None and q.size_ratio < 0.6
    assert q.label_agreement is not None and q.label_agreement >= 0.99
    assert q.label_agreement_single is not None and q.label_agreement_single >= 0.99
    assert q.primary == "f1_macro" and set(q.metrics) == {"accuracy", "f1_macro", "roc_auc_ovr"}
    for values in q.metrics.values():
        assert values["float32"] is not None and values["int8"] is not None
        assert values["change"] == pytest.approx(values["int8"] - values["float32"], abs=1e-6)
    assert abs(q.metrics["accuracy"]["change"] or 0.0) <= 0.02
    assert set(q.latency) == {"float32", "int8"} and q.latency["int8"]["batch_rows"] == len(SPLITS.test)
    assert q.speedup["single_row"] is not None and q.speedup["batch"] is not None
    # the served model's numbers feed the gates; the parity report now describes the kept float model
    assert exported.operational["model_size_mb"] == round(served.stat().st_size / 1e6, 4)
    assert exported.operational["p50_latency_ms"] == q.latency["int8"]["p50_latency_ms"]
    # artefacts hold paths relative to artifacts/, never the build machine's absolute paths
    assert exported.onnx.path == kept.name and exported.onnx.parity_ok
    session = ort.InferenceSession(str(served), providers=["CPUExecutionProvider"])
    feeds = export.onnx_feeds(SPLITS.test[COLUMNS], exported.onnx.columns, exported.onnx.inputs)
    labels = session.run(None, feeds)[0]
    assert np.mean(labels == trained.pipeline.predict(SPLITS.test[COLUMNS])) >= 0.97
    assert "int8 model served (3 MatMul quantized)" in q.summary


def test_mlp_regressor_compares_regression_metrics(tmp_path: Path) -> None:
    trained = _trained(MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=600, random_state=0), task="regression",
                       target="value")
    exported = workflow.export(trained, SPLITS, out_dir=tmp_path, quantize="int8", metrics=["rmse", "r2"],
                               primary="r2")
    q = exported.quantization
    assert q is not None and q.label_agreement is None and q.label_agreement_single is None
    assert q.compared == "predict vs variable" and q.scale != 1.0
    assert set(q.metrics) == {"rmse", "r2"} and q.primary == "r2"
    assert q.status == "applied", q.reason
    assert q.metrics["r2"]["int8"] == pytest.approx(q.metrics["r2"]["float32"], abs=0.01)


def test_a_rerun_without_quantization_removes_the_old_float_copy(tmp_path: Path) -> None:
    trained = _trained(MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=0))
    workflow.export(trained, SPLITS, out_dir=tmp_path, quantize="int8", metrics=["accuracy"])
    assert (tmp_path / "model.fp32.onnx").exists()
    exported = workflow.export(trained, SPLITS, out_dir=tmp_path, metrics=["accuracy"])
    assert exported.quantization is None and not (tmp_path / "model.fp32.onnx").exists()
    assert "MatMulInteger" not in _ops(tmp_path / "model.onnx")


# ------------------------------------------------------------------------------ skipped and fallbacks


def test_random_forest_is_skipped_and_the_float_model_served(tmp_path: Path) -> None:
    trained = _trained(RandomForestClassifier(n_estimators=20, random_state=0))
    path, onnx_report = _float_export(tmp_path, trained)
    before = path.read_bytes()
    q = quantize.quantize(path, SPLITS.test[COLUMNS], mode="int8", columns=onnx_report.columns,
                          inputs=onnx_report.inputs, compared=onnx_report.compared)
    assert q is not None and q.status == "skipped" and q.served == "float32"
    assert q.reason.startswith("no MatMul operator with constant weights (its model operators: "
                               "TreeEnsembleClassifier)") and "the int8 model would be identical; skipped" in q.reason
    assert q.quantized_ops == {} and q.int8_bytes is None and q.float_file is None
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]
    assert "float32 model served (skipped)" in q.summary


def test_an_int8_model_beyond_the_tolerances_falls_back_to_float(tmp_path: Path) -> None:
    trained = _trained(MLPClassifier(hidden_layer_sizes=(64, 64), max_iter=400, random_state=0))
    path, onnx_report = _float_export(tmp_path, trained)
    before = path.read_bytes()
    q = quantize.quantize(path, SPLITS.test[COLUMNS], mode="int8", columns=onnx_report.columns,
                          inputs=onnx_report.inputs, compared=onnx_report.compared, tol=0.0, max_tol=0.0)
    assert q is not None and q.status == "rejected" and q.served == "float32" and q.float_file is None
    assert any("largest score difference" in f for f in q.failed_checks), q.failed_checks
    assert q.reason.startswith("the int8 model disagrees with the float32 model beyond the tolerances: ")
    assert q.int8_bytes is not None and q.latency  # measured, and kept in the report
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_a_primary_metric_drop_falls_back_to_float(tmp_path: Path) -> None:
    trained = _trained(MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=0))
    path, onnx_report = _float_export(tmp_path, trained)
    calls: list[Mapping[str, Any]] = []

    def score(outputs: Mapping[str, Any]) -> dict[str, float]:  # float model first, then int8
        calls.append(outputs)
        return {"accuracy": 0.80 if len(calls) == 1 else 0.78, "f1_macro": 0.5}

    q = quantize.quantize(path, SPLITS.test[COLUMNS], mode="int8", columns=onnx_report.columns,
                          inputs=onnx_report.inputs, compared=onnx_report.compared, score=score)
    assert len(calls) == 2 and q is not None and q.primary == "accuracy"  # default: the first metric
    assert q.status == "rejected" and q.served == "float32"
    assert q.metrics["accuracy"] == {"float32": 0.8, "int8": 0.78, "change": pytest.approx(-0.02)}
    assert "accuracy 0.78 against 0.8 for float32" in q.reason
    # lower is better for rmse, and 1.009 is within 1 % of 1.0: accepted
    calls.clear()

    def rmse(outputs: Mapping[str, Any]) -> dict[str, float]:
        calls.append(outputs)
        return {"rmse": 1.0 if len(calls) == 1 else 1.009}

    q = quantize.quantize(path, SPLITS.test[COLUMNS], mode="int8", columns=onnx_report.columns,
                          inputs=onnx_report.inputs, compared=onnx_report.compared, score=rmse)
    assert q is not None and q.status == "applied", q.reason


def test_a_quantizer_failure_falls_back_to_float(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trained = _trained(MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=0))
    path, onnx_report = _float_export(tmp_path, trained)

    def broken(src: Path, dst: Path) -> int:
        dst.write_bytes(b"half written")
        raise RuntimeError("Unable to find data type for weight_name='W'\nmore detail")

    monkeypatch.setattr(quantize, "quantize_int8", broken)
    q = quantize.quantize(path, SPLITS.test[COLUMNS], mode="int8", columns=onnx_report.columns,
                          inputs=onnx_report.inputs)
    assert q is not None and q.status == "failed" and q.served == "float32"
    assert q.reason == "onnxruntime could not quantize the model: Unable to find data type for weight_name='W'"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_fp16_and_none(tmp_path: Path) -> None:
    trained = _trained(MLPClassifier(hidden_layer_sizes=(16,), max_iter=200, random_state=0))
    path, onnx_report = _float_export(tmp_path, trained)
    q = quantize.quantize(path, SPLITS.test[COLUMNS], mode="fp16", columns=onnx_report.columns,
                          inputs=onnx_report.inputs)
    assert q is not None and q.status == "unsupported" and q.served == "float32" and "AIS383" in q.reason
    (tmp_path / "model.fp32.onnx").write_bytes(b"stale")
    assert quantize.quantize(path, SPLITS.test[COLUMNS], mode="none", columns={}, inputs={}) is None
    assert not (tmp_path / "model.fp32.onnx").exists()
    with pytest.raises(ConfigError, match="must be one of none, int8, fp16"):
        quantize.quantize(path, SPLITS.test[COLUMNS], mode="int4", columns={}, inputs={})


def test_quantizing_leaves_logging_as_it_was(tmp_path: Path) -> None:
    import logging

    trained = _trained(MLPClassifier(hidden_layer_sizes=(16,), max_iter=200, random_state=0))
    path, _ = _float_export(tmp_path, trained)
    root = logging.getLogger()
    handlers, disabled = list(root.handlers), logging.root.manager.disable
    assert quantize.quantize_int8(path, tmp_path / "q.onnx") == 2
    assert root.handlers == handlers and logging.root.manager.disable == disabled


# ------------------------------------------------------------------------------ which families benefit


COMBOS = sorted((name, task.value) for name, fam in FAMILIES.items()
                if name != "auto" and Backend.sklearn in fam.backends and name not in models.NO_PREDICT
                for task in fam.tasks if task.value in ("classification", "regression", "clustering",
                                                        "anomaly_detection"))
SMALL: dict[str, dict[str, Any]] = {"random_forest": {"n_estimators": 5}, "extra_trees": {"n_estimators": 5},
                                    "gradient_boosting": {"max_iter": 5}, "isolation_forest": {"n_estimators": 5},
                                    "mlp": {"hidden_layer_sizes": [8], "max_iter": 50}}


@pytest.mark.parametrize(("family", "task"), COMBOS)
def test_int8_quantizable_families_are_exactly_those_with_matmul(family: str, task: str) -> None:
    """schemas.vocabulary.INT8_QUANTIZABLE (behind check-time warning AIS385) matches the real graphs."""
    from skl2onnx import to_onnx as skl_to_onnx

    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4)).astype(np.float32)
    y = {"classification": (X[:, 0] > 0).astype(int), "regression": X[:, 0] * 2}.get(task)
    est = models.make_estimator(family, task=task, params=SMALL.get(family, {}), seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = Pipeline([("scale", StandardScaler()), ("model", est)]).fit(X, y)
        options = {"zipmap": False} if task == "classification" else None
        register_converters(pipe)  # XGBoost and LightGBM convert through onnxmltools
        model = skl_to_onnx(pipe, X[:1], options=options, target_opset={"": 17, "ai.onnx.ml": 3})
    assert bool(quantize.quantizable_ops(model)) == (family in INT8_QUANTIZABLE)


# ---------------------------------------------------------------------------- report, card, serving.json


def _applied() -> dict[str, Any]:
    return quantize.QuantizationReport(
        requested="int8", status="applied", served="int8", reason="the int8 model agrees", float_file="model.fp32.onnx",
        method="onnxruntime quantize_dynamic", quantized_ops={"MatMul": 3}, float_bytes=80_000, int8_bytes=26_000,
        size_ratio=0.325, n_rows=200, label_agreement=0.995, label_agreement_single=1.0, max_abs_diff=0.07,
        mean_abs_diff=0.004, compared="predict_proba vs probabilities", primary="accuracy",
        metrics={"accuracy": {"float32": 0.9, "int8": 0.895, "change": -0.005}},
        latency={"float32": {"p50_latency_ms": 0.03, "batch_rows": 200.0, "batch_p50_ms": 0.4},
                 "int8": {"p50_latency_ms": 0.035, "batch_rows": 200.0, "batch_p50_ms": 0.2}},
        speedup={"single_row": 0.857, "batch": 2.0},
        thresholds={"min_label_agreement": 0.99, "tol": 0.01, "max_tol": 0.25, "max_metric_drop": 0.01},
    ).to_dict()


def test_report_metrics_json_and_model_card_record_quantization(tmp_path: Path) -> None:
    run = {"spec": {"project": {"name": "q"}, "problem": {"task": "classification"}}, "quantization": _applied(),
           "environment": {"python": "3.11", "packages": {}}}
    paths = report.write(tmp_path, run)
    doc = json.loads(paths.metrics_json.read_text(encoding="utf-8"))
    assert doc["quantization"]["served"] == "int8" and doc["quantization"]["speedup"] == {"single_row": 0.857,
                                                                                         "batch": 2.0}
    html = paths.html.read_text(encoding="utf-8")
    assert 'id="quantization"' in html and "INT8 SERVED" in html and "model.fp32.onnx" in html
    assert "×2" in html and "78.1 → 25.4" in html
    card = cards.model_card(run)
    line = next(x for x in card.splitlines() if x.startswith("- **Quantization:**"))
    assert line == ("- **Quantization:** int8 model served (3 MatMul quantized); 32 % of the float32 size; "
                    "accuracy 0.9 (float32) → 0.895 (int8); single-row speed-up x0.86; batch speed-up x2.00")
    assert "Quantization" not in cards.model_card({**run, "quantization": None})
    assert report.metrics_document({**run, "quantization": None})["quantization"] is None


def test_serving_json_carries_the_served_precision_and_stays_readable(tmp_path: Path) -> None:
    onnx_dict = {"columns": {"x0": "x0"}, "inputs": {"x0": "float"}, "outputs": ["variable"],
                 "opset": {"": 17}, "size_bytes": 26_000, "parity_ok": True, "compared": "predict vs variable"}
    common: dict[str, Any] = {"onnx": onnx_dict, "features": ["x0"], "columns": None, "frame": FRAME[["x0"]],
                              "task": "regression", "target": "value", "classes": None, "project_name": "q",
                              "project_version": "1", "spec_hash": "", "created_at": "now"}
    old = serving_metadata(**common)
    assert "quantization" not in old["model"]  # no key when the spec does not ask: old files look the same
    new = serving_metadata(**common, quantization=_applied())
    assert new["model"]["quantization"] == {"requested": "int8", "served": "int8", "status": "applied",
                                            "float_file": "model.fp32.onnx", "reason": "the int8 model agrees"}
    assert new["model"]["size_bytes"] == 26_000 and new["model"]["file"] == "model.onnx"
    for meta in (old, new):
        read = read_serving_metadata(write_serving_metadata(tmp_path / "serving.json", meta))
        assert read["model"].get("quantization") == meta["model"].get("quantization")
