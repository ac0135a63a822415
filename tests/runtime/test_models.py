"""aispec.runtime.models: every scikit-learn family x task builds, fits, overrides and exports."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from aispec.runtime import models
from aispec.runtime.errors import ConfigError
from aispec.runtime.export import register_converters
from aispec.runtime.search import Choice, Float, Int
from aispec.runtime.series.forecasters import BASELINES, STATISTICAL
from aispec.schemas.vocabulary import FAMILIES, Backend

# the scikit-learn estimators; the forecasters that are not (naive baselines, ETS and ARIMA on statsmodels)
# are runtime.series's and tested there (tests/runtime/test_series.py)
COMBOS = sorted((name, task.value) for name, fam in FAMILIES.items()
                if name != "auto" and Backend.sklearn in fam.backends for task in fam.tasks
                if name not in (*BASELINES, *STATISTICAL))
# Small sizes so that every combination fits and converts quickly.
SMALL: dict[str, dict[str, Any]] = {
    "random_forest": {"n_estimators": 10}, "extra_trees": {"n_estimators": 10},
    "gradient_boosting": {"max_iter": 20}, "isolation_forest": {"n_estimators": 10},
    "mlp": {"hidden_layer_sizes": [16], "max_iter": 200},
}


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """OpenMP's two threads made HistGradientBoosting fits here 10-100x slower than one thread."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def _data(kind: str) -> tuple[np.ndarray, np.ndarray | None]:
    rng = np.random.RandomState(0)
    X = rng.normal(size=(90, 5)).astype(np.float32)
    if kind in ("classifier", "text"):
        y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8).astype(int)
        return (np.abs(X) if kind == "text" else X), y
    if kind == "regressor":
        return X, (3 * X[:, 0] - 2 * X[:, 1] + 0.1 * rng.normal(size=90)).astype(np.float32)
    return X, None


def _pipeline(est: Any, kind: str) -> Any:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    # trees get no scaler, as aispec builds them: a float64 scaler in front of float32 trees moves rows across
    # split thresholds in the ONNX graph (XGBoost: probabilities off by 0.26 here; PITFALLS.md)
    if models.scale_invariant(est):
        return Pipeline([("model", est)])
    # text variants (MultinomialNB) need non-negative inputs: scaling without centring keeps them so
    return Pipeline([("scale", StandardScaler(with_mean=kind != "text")), ("model", est)])


def test_every_sklearn_family_and_task_is_covered() -> None:
    assert len(COMBOS) > 40
    for family, task in COMBOS:
        assert models.variant(family, task) in ("classifier", "regressor", "text", "cluster", "anomaly")
    assert set(models.sklearn_families("classification")) >= {"logistic_regression", "svm", "gradient_boosting"}


@pytest.mark.parametrize(("family", "task"), COMBOS)
def test_builds_and_fits(family: str, task: str) -> None:
    kind = models.variant(family, task)
    est = models.make_estimator(family, task=task, params=SMALL.get(family, {}), seed=3)
    X, y = _data(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = _pipeline(est, kind).fit(X, y)
    if family in models.NO_PREDICT:
        assert not hasattr(pipe, "predict")
        assert len(pipe.named_steps["model"].labels_) == len(X)
        return
    pred = pipe.predict(X)
    assert len(pred) == len(X)
    if kind in ("classifier", "text"):
        assert set(np.unique(pred)) <= set(np.unique(y))
    if "random_state" in est.get_params():
        assert est.get_params()["random_state"] == 3


@pytest.mark.parametrize(("family", "task"), [c for c in COMBOS if c[0] not in models.NO_PREDICT])
def test_converts_to_onnx_behind_a_scaler_except_trees(family: str, task: str) -> None:
    import onnxruntime as ort
    from skl2onnx import to_onnx

    kind = models.variant(family, task)
    est = models.make_estimator(family, task=task, params=SMALL.get(family, {}), seed=0)
    X, y = _data(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = _pipeline(est, kind).fit(X, y)
        options = {"zipmap": False} if kind in ("classifier", "text") else None
        register_converters(pipe)  # XGBoost and LightGBM convert through onnxmltools
        # skl2onnx 1.20 knows ai.onnx.ml up to opset 3 (IsolationForest would otherwise ask for 4)
        onx = to_onnx(pipe, X[:1], options=options, target_opset={"": 17, "ai.onnx.ml": 3})
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    outputs = sess.run(None, {sess.get_inputs()[0].name: X})
    label = np.asarray(outputs[0]).ravel()
    if kind == "regressor":
        ref = pipe.predict(X)
        assert np.max(np.abs(label - ref)) <= 1e-4 * max(1.0, float(np.max(np.abs(ref))))
        return
    assert np.mean(label == pipe.predict(X)) >= 0.98
    if kind in ("classifier", "text") and hasattr(pipe, "predict_proba"):
        assert np.max(np.abs(outputs[1] - pipe.predict_proba(X))) < 1e-3
    elif kind == "anomaly":
        assert np.max(np.abs(np.asarray(outputs[1]).ravel() - pipe.decision_function(X))) < 1e-3


def test_no_predict_families_are_documented() -> None:
    assert {"dbscan", "agglomerative"} == set(models.NO_PREDICT)
    doc = models.__doc__ or ""
    assert "dbscan" in doc and "agglomerative" in doc and "cannot be served" in doc


# ------------------------------------------------------------------------------------ defaults


def test_documented_defaults() -> None:
    lr = models.make_estimator("logistic_regression", task="classification", params={}, seed=7)
    assert lr.max_iter == 1000 and lr.random_state == 7
    rf = models.make_estimator("random_forest", task="regression", params={}, seed=1)
    assert rf.n_jobs == 1 and rf.random_state == 1
    assert type(models.make_estimator("gradient_boosting", task="forecasting", params={}, seed=0)).__name__ \
        == "HistGradientBoostingRegressor"
    mlp = models.make_estimator("mlp", task="classification", params={}, seed=0)
    assert type(mlp).__name__ == "MLPClassifier" and mlp.early_stopping is False
    assert models.make_estimator("local_outlier_factor", task="anomaly_detection", params={}, seed=0).novelty
    nb = models.make_estimator("naive_bayes", task="classification", params={}, seed=0)
    assert type(nb).__name__ == "GaussianNB"
    assert type(models.make_estimator("naive_bayes", task="text_classification", params={}, seed=0)).__name__ \
        == "MultinomialNB"
    svm = models.make_estimator("svm", task="image_classification", params={"C": 3.0}, seed=0)
    assert hasattr(svm, "predict_proba") and svm.estimator.C == 3.0
    bare = models.make_estimator("svm", task="classification", params={"probability": False}, seed=0)
    assert type(bare).__name__ == "SVC"
    assert type(models.make_estimator("ridge", task="classification", params={}, seed=0)).__name__ \
        == "RidgeClassifier"


def test_params_override_defaults() -> None:
    rf = models.make_estimator("random_forest", task="classification",
                               params={"n_estimators": 7, "max_depth": 3, "class_weight": "balanced", "n_jobs": 2},
                               seed=0)
    assert (rf.n_estimators, rf.max_depth, rf.class_weight, rf.n_jobs) == (7, 3, "balanced", 2)
    lr = models.make_estimator("logistic_regression", task="classification", params={"max_iter": 50}, seed=0)
    assert lr.max_iter == 50
    mlp = models.make_estimator("mlp", task="regression", params={"hidden_units": 32, "layers": 2}, seed=0)
    assert mlp.hidden_layer_sizes == (32, 32)
    mlp = models.make_estimator("mlp", task="regression", params={"hidden_layer_sizes": [8, 4]}, seed=0)
    assert mlp.hidden_layer_sizes == (8, 4)
    l1 = models.make_estimator("logistic_regression", task="classification", params={"penalty": "l1"}, seed=0)
    X, y = _data("classifier")
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # no deprecated 'penalty' reaches scikit-learn
        l1.fit(X, y)


@pytest.mark.parametrize(("family", "task", "params", "words"), [
    ("random_forest", "classification", {"n_trees": 10}, ["random_forest", "n_trees", "n_estimators"]),
    ("random_forest", "regression", {"class_weight": "balanced"}, ["random_forest", "class_weight", "regression"]),
    ("svm", "classification", {"epsilon": 0.1}, ["svm", "epsilon"]),
    ("naive_bayes", "classification", {"alpha": 1.0}, ["naive_bayes", "alpha"]),
    ("mlp", "classification", {"dropout": 0.2}, ["mlp", "dropout", "torch"]),
    ("local_outlier_factor", "anomaly_detection", {"novelty": False}, ["novelty"]),
    ("knn", "regression", {"n_neighbors": -3}, ["knn", "n_neighbors"]),
])
def test_bad_params_are_config_errors(family: str, task: str, params: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        models.make_estimator(family, task=task, params=params, seed=0)
    text = str(info.value)
    for word in words:
        assert word in text


@pytest.mark.parametrize(("family", "task", "word"), [
    ("no_such_family", "classification", "unknown model family"),
    ("lasso", "classification", "does not fit task"),
    ("cnn", "image_classification", "not built by scikit-learn"),
    ("auto", "classification", "auto_select"),
    ("svm", "no_such_task", "unknown task"),
])
def test_bad_family_or_task(family: str, task: str, word: str) -> None:
    with pytest.raises(ConfigError, match=word):
        models.make_estimator(family, task=task, params={}, seed=0)


# ----------------------------------------------------------------------------------- ensembles


@pytest.mark.parametrize(("kind", "task", "voting", "final"), [
    ("voting", "classification", "soft", None),
    ("voting", "classification", "hard", None),
    ("voting", "regression", "soft", None),
    ("stacking", "classification", "soft", None),
    ("stacking", "classification", "soft", "random_forest"),
    ("stacking", "forecasting", "soft", None),
])
def test_ensembles_fit_and_predict(kind: str, task: str, voting: str, final: str | None) -> None:
    second = "ridge" if task == "forecasting" else "knn"
    members = [{"family": "random_forest", "params": {"n_estimators": 10}},
               {"family": second}, {"family": "random_forest", "params": {"n_estimators": 5}}]
    if task == "classification":
        members.append({"family": "logistic_regression", "params": {"C": 0.5}})
    ens = models.make_ensemble(kind, members, task=task, voting=voting, final_estimator=final, seed=0)
    names = [name for name, _ in ens.estimators]
    assert names[:3] == ["random_forest", second, "random_forest_2"]
    X, y = _data("classifier" if task == "classification" else "regressor")
    pred = ens.fit(X, y).predict(X)
    assert len(pred) == len(X)
    if task == "classification":
        assert np.mean(pred == y) > 0.8
        if kind == "stacking":
            expected = "RandomForestClassifier" if final else "LogisticRegression"
            assert type(ens.final_estimator).__name__ == expected
    elif kind == "stacking":
        assert type(ens.final_estimator).__name__ == "Ridge"


def test_ensemble_errors() -> None:
    members = [{"family": "ridge"}, {"family": "knn"}]
    with pytest.raises(ConfigError, match="ridge"):
        models.make_ensemble("voting", members, task="classification", voting="soft", final_estimator=None, seed=0)
    hard = models.make_ensemble("voting", members, task="classification", voting="hard", final_estimator=None,
                                seed=0)
    assert hard.voting == "hard"
    with pytest.raises(ConfigError, match="clustering"):
        models.make_ensemble("voting", [{"family": "kmeans"}, {"family": "kmeans"}], task="clustering",
                             voting="soft", final_estimator=None, seed=0)
    with pytest.raises(ConfigError, match="kind"):
        models.make_ensemble("bagging", members, task="regression", voting="soft", final_estimator=None, seed=0)


def test_ensembles_convert_to_onnx() -> None:
    import onnxruntime as ort
    from skl2onnx import to_onnx

    members = [{"family": "random_forest", "params": {"n_estimators": 5}}, {"family": "logistic_regression"}]
    X, y = _data("classifier")
    for kind in ("voting", "stacking"):
        ens = models.make_ensemble(kind, members, task="classification", voting="soft", final_estimator=None,
                                   seed=0)
        pipe = _pipeline(ens, "classifier").fit(X, y)
        onx = to_onnx(pipe, X[:1], options={"zipmap": False})
        sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
        label, proba = sess.run(None, {sess.get_inputs()[0].name: X})
        assert np.mean(label == pipe.predict(X)) >= 0.98
        assert np.max(np.abs(proba - pipe.predict_proba(X))) < 1e-3


# ------------------------------------------------------------------------------- search spaces


def _points(dist: Any) -> list[Any]:
    if isinstance(dist, Choice):
        return list(dist.options)
    if isinstance(dist, Int):
        return [dist.low, dist.high]
    assert isinstance(dist, Float)
    return [dist.low, dist.high]


@pytest.mark.parametrize(("family", "task"), COMBOS)
def test_default_space_builds_at_its_corners(family: str, task: str) -> None:
    space = models.default_space(family, task)
    # compact; XGBoost and LightGBM: the seven parameters their tuning guides name (rounds, learning rate,
    # depth or leaves, row and column subsampling, L2, minimum child size)
    assert 1 <= len(space) <= (7 if FAMILIES[family].typed else 5)
    for name, dist in space.items():
        assert isinstance(dist, Int | Float | Choice)
        for value in _points(dist):
            models.make_estimator(family, task=task, params={name: value}, seed=0)
