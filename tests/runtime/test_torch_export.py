"""The PyTorch back end's export, pruning, int8 quantization and search, measured against outside oracles:
onnxruntime run here at several batch sizes, the scikit-learn project's ONNX inputs for the same columns,
the network's own weights.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402

from aispec.compiler.build import build  # noqa: E402
from aispec.runtime import preprocess  # noqa: E402
from aispec.runtime.backends.torch.estimator import FitContext, make_network_estimator  # noqa: E402
from aispec.runtime.export import onnx_feeds  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "specs" / "examples" / "penguins-mlp-torch.yaml"
TYPES = {"x1": "numeric", "x 2": "numeric", "colour": "categorical", "flag": "boolean"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ModuleType]]:
    folder = tmp_path_factory.mktemp("torch-export")
    result = build(EXAMPLE, folder / "p")
    assert result.ok and result.plan is not None
    package = result.plan.package
    sys.path.insert(0, str(folder / "p"))
    try:
        yield {"model": importlib.import_module(f"{package}.model"), "loop": importlib.import_module(f"{package}.loop")}
    finally:
        sys.path.remove(str(folder / "p"))
        for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
            del sys.modules[name]


def _table(n: int, seed: int, task: str = "classification") -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n) * 1000 + 5000, "x 2": rng.normal(size=n),
                      "colour": rng.choice(["red", "green", ""], size=n).astype(object),
                      "flag": rng.choice([0.0, 1.0], size=n)})
    X.loc[rng.choice(n, 10, replace=False), "x 2"] = np.nan  # missing values go through the imputer
    signal = (X["x1"] - 5000) / 500 - X["x 2"].fillna(0) + (X["colour"] == "red") * 1.5 + X["flag"]
    if task == "regression":
        return X, pd.Series(signal * 10 + 200, name="y")
    labels = np.where(signal > 1.0, "high", np.where(signal < -1.0, "low", "mid"))
    return X, pd.Series(labels.astype(object), name="label")


def _trained(project: Mapping[str, ModuleType], task: str = "classification", *, hidden: int = 32,
             epochs: int = 15) -> tuple[Any, pd.DataFrame, pd.Series]:
    X, y = _table(500, 1, task)
    Xv, yv = _table(100, 2, task)
    model = make_network_estimator(
        task=task, network=project["model"].build_network, loop=project["loop"].train_loop,
        preprocessor=preprocess.build_preprocessor(column_types=TYPES, cleaning={}, task=task),
        params={"hidden_units": hidden, "layers": 2, "batch_norm": True},
        training={"epochs": epochs, "batch_size": 32, "learning_rate": 0.01, "seed": 1})
    model.fit(X, y, validation=(Xv, yv), context=FitContext(progress=False, scoring="accuracy"
                                                             if task == "classification" else "r2"))
    X_test, y_test = _table(211, 3, task)
    return model, X_test, y_test


def _run(path: Path, feeds: Mapping[str, Any], chunk: int) -> list[Any]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    n = len(next(iter(feeds.values())))
    parts = [session.run(None, {k: v[i:i + chunk] for k, v in feeds.items()}) for i in range(0, n, chunk)]
    return [np.concatenate([p[j] for p in parts]) for j in range(len(parts[0]))]


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_one_graph_with_the_scikit_learn_projects_inputs_and_outputs(project: dict[str, ModuleType], task: str,
                                                                     tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import Pipeline

    from aispec.runtime.export import to_onnx as sklearn_to_onnx
    from aispec.runtime.registry import backend

    model, X_test, _ = _trained(project, task)
    report = backend("torch").export(model, X_test, tmp_path / "model.onnx", task=task)
    graph = onnx.load(str(tmp_path / "model.onnx"))
    # the same columns as a scikit-learn project on the same preprocessing: the service cannot tell them apart
    final = LogisticRegression() if task == "classification" else LinearRegression()
    reference = Pipeline([("preprocess", preprocess.build_preprocessor(column_types=TYPES, cleaning={}, task=task)),
                          ("model", final)]).fit(*_table(200, 5, task))
    sk = sklearn_to_onnx(reference, X_test, tmp_path / "sk.onnx")
    assert report.inputs == sk.inputs and report.columns == sk.columns  # "x 2" -> "x_2", double for numbers
    assert [i.name for i in graph.graph.input] == [i.name for i in onnx.load(str(tmp_path / "sk.onnx")).graph.input]
    assert report.outputs == sk.outputs  # label + probabilities, or variable
    assert report.contract == sk.contract | ({"classes": list(model.classes_)} if task == "classification" else {})
    assert not (tmp_path / "model.onnx.data").exists()  # one file
    assert report.parity_ok, report


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_onnxruntime_gives_the_eager_networks_answers_at_any_batch_size(project: dict[str, ModuleType], task: str,
                                                                        tmp_path: Path) -> None:
    from aispec.runtime.registry import backend

    model, X_test, _ = _trained(project, task)
    report = backend("torch").export(model, X_test, tmp_path / "model.onnx", task=task)
    feeds = onnx_feeds(X_test, report.columns, report.inputs)
    for chunk in (1, 7, 64, len(X_test)):
        outputs = dict(zip(report.outputs, _run(tmp_path / "model.onnx", feeds, chunk), strict=True))
        if task == "classification":
            np.testing.assert_array_equal(outputs["label"].astype(str), model.predict(X_test).astype(str))
            np.testing.assert_allclose(outputs["probabilities"], model.predict_proba(X_test), atol=2e-6)
        else:
            np.testing.assert_allclose(outputs["variable"].ravel(), model.predict(X_test), rtol=2e-6)
    assert report.max_abs_diff / report.scale < 1e-5  # far inside the exact-parity tolerance (1e-3)


def test_linear_layers_become_matmul_that_int8_quantizes(project: dict[str, ModuleType], tmp_path: Path) -> None:
    from aispec.runtime import quantize
    from aispec.runtime.registry import backend

    model, X_test, _ = _trained(project, hidden=256)
    report = backend("torch").export(model, X_test, tmp_path / "model.onnx", task="classification")
    ops = [n.op_type for n in onnx.load(str(tmp_path / "model.onnx")).graph.node]
    assert "Gemm" not in ops and quantize.quantizable_ops(tmp_path / "model.onnx") == {"MatMul": 3}
    result = quantize.quantize(tmp_path / "model.onnx", X_test, mode="int8", columns=report.columns,
                               inputs=report.inputs, compared=report.compared)
    assert result is not None and result.status == "applied", result
    served = {n.op_type for n in onnx.load(str(tmp_path / "model.onnx")).graph.node}
    assert served & {"MatMulInteger", "DynamicQuantizeMatMul"} and result.int8_bytes < result.float_bytes
    assert result.label_agreement is not None and result.label_agreement >= 0.99


def test_gemm_rewrite_computes_the_same_product() -> None:
    from onnx import TensorProto, helper, numpy_helper

    from aispec.runtime.backends.torch.export import gemm_to_matmul

    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(3, 5)).astype(np.float32), rng.normal(size=3).astype(np.float32)
    graph = helper.make_graph([helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1, name="g")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
                              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x = rng.normal(size=(4, 5)).astype(np.float32)
    before = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    after_model = gemm_to_matmul(model)
    assert [n.op_type for n in after_model.graph.node] == ["MatMul", "Add"]
    after = ort.InferenceSession(after_model.SerializeToString()).run(None, {"x": x})[0]
    np.testing.assert_allclose(after, before, rtol=1e-6)
    np.testing.assert_allclose(after, x @ w.T + b, rtol=1e-5)


def test_pruning_zeros_the_smallest_weights_and_is_kept_only_when_it_holds(project: dict[str, ModuleType]) -> None:
    from aispec.runtime.registry import backend

    model, X_test, y_test = _trained(project)
    Xv, yv = _table(150, 4)
    before = {k: v.clone() for k, v in model.network_.state_dict().items()}
    pruned, report = backend("torch").prune(model, 0.1, decide=(Xv, yv, "validation"), test=(X_test, y_test),
                                            metrics=["accuracy"], primary="accuracy")
    assert report.served == "pruned" and pruned is not model, report.reason
    linear = [m.weight.detach() for m in pruned.network_.modules() if isinstance(m, torch.nn.Linear)]
    zeros = sum(int((w == 0).sum()) for w in linear)
    total = sum(w.numel() for w in linear)
    assert report.zeros == zeros and report.weights == total and abs(zeros / total - 0.1) < 0.01
    # global magnitude pruning: every weight kept is at least as large as every weight removed
    originals = torch.cat([before[k].abs().ravel() for k in before if k.endswith("weight") and before[k].ndim == 2])
    kept = torch.cat([w.abs().ravel() for w in linear])
    assert float(originals[kept == 0].max()) <= float(kept[kept != 0].min())
    assert set(report.metrics) == {"validation", "test"}
    figures = report.metrics["validation"]["accuracy"]
    assert figures["pruned"] >= 0.99 * figures["trained"]  # what "holds" means
    assert figures["pruned"] == pytest.approx(float((pruned.predict(Xv) == yv).mean()))
    assert all(torch.equal(v, model.network_.state_dict()[k]) for k, v in before.items())  # the trained one is kept
    # pruning almost everything cannot hold: the trained network stays the model
    kept_model, refused = backend("torch").prune(model, 0.98, decide=(Xv, yv, "validation"), test=None,
                                                 metrics=["accuracy"], primary="accuracy")
    assert kept_model is model and refused.served == "trained" and "accuracy" in refused.reason


def test_the_search_scores_on_the_validation_split_and_prunes_bad_trials(project: dict[str, ModuleType]) -> None:
    from aispec.runtime.api import SearchRequest
    from aispec.runtime.registry import backend
    from aispec.runtime.search import Choice

    X, y = _table(400, 1)
    Xv, yv = _table(100, 2)

    def make(params: dict[str, Any]) -> Any:
        return make_network_estimator(
            task="classification", network=project["model"].build_network, loop=project["loop"].train_loop,
            preprocessor=preprocess.build_preprocessor(column_types=TYPES, cleaning={}, task="classification"),
            params={"hidden_units": 16, **params}, training={"epochs": 12, "batch_size": 32, "seed": 0})

    engine = backend("torch")
    request = SearchRequest(space={"learning_rate": Choice(0.03, 1e-6)}, method="grid", trials=2, timeout_s=None,
                            cv=None, scoring="accuracy", greater_is_better=True, seed=0, validation=(Xv, yv))
    result = engine.search(engine.prepare(make, task="classification", rebalance="none", seed=0), X, y, request)
    assert result.validation == "the validation split" and result.best_params == {"learning_rate": 0.03}
    # random search over a space where half the rates learn nothing: the median pruner stops some early
    request = SearchRequest(space={"learning_rate": Choice(0.03, 0.02, 1e-7)}, method="random", trials=10,
                            timeout_s=None, cv=None, scoring="accuracy", greater_is_better=True, seed=0,
                            validation=(Xv, yv))
    result = engine.search(engine.prepare(make, task="classification", rebalance="none", seed=0), X, y, request)
    states = [t["state"] for t in result.trials]
    assert "pruned" in states and "complete" in states
    # Optuna's median rule: a trial stops when its score at an epoch is below the median of the trials
    # that finished before it, at that epoch
    for i, trial in enumerate(result.trials):
        if trial["state"] == "pruned":
            epoch = trial["pruned_at"] - 1
            earlier = [t["per_epoch"][epoch] for t in result.trials[:i] if t["state"] == "complete"]
            assert len(earlier) >= 3 and trial["per_epoch"][epoch] < np.median(earlier)
    # every trial with the rate that learns nothing was either stopped early or scored as guessing
    assert all(t["state"] == "pruned" or t["score"] < 0.5 for t in result.trials
               if t["params"]["learning_rate"] == 1e-7)
    complete = [t for t in result.trials if t["state"] == "complete"]
    best = max(t["score"] for t in complete)
    assert result.best_params == next(t["params"] for t in complete if t["score"] == best)  # the first best


def test_without_a_validation_split_the_search_holds_out_the_first_fold(project: dict[str, ModuleType]) -> None:
    from sklearn.model_selection import StratifiedKFold

    from aispec.runtime.api import SearchRequest
    from aispec.runtime.registry import backend
    from aispec.runtime.search import Choice

    X, y = _table(300, 1)

    def make(params: dict[str, Any]) -> Any:
        return make_network_estimator(
            task="classification", network=project["model"].build_network, loop=project["loop"].train_loop,
            preprocessor=preprocess.build_preprocessor(column_types=TYPES, cleaning={}, task="classification"),
            params={"hidden_units": 8, **params}, training={"epochs": 3, "seed": 0})

    engine = backend("torch")
    request = SearchRequest(space={"hidden_units": Choice(8, 16)}, method="grid", trials=2, timeout_s=None,
                            cv=StratifiedKFold(4, shuffle=True, random_state=0), scoring="accuracy",
                            greater_is_better=True, seed=0)
    result = engine.search(engine.prepare(make, task="classification", rebalance="none", seed=0), X, y, request)
    assert "first cross-validation fold" in result.validation and result.n_trials == 2
