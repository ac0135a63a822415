"""The xgboost and lightgbm families: one record read by the check, the plan, `auto` and the runtime; early
stopping that really stops on the validation split; ONNX parity on held-out rows at two batch sizes (the
float32 threshold trap of LightGBM included); labels, class weights, and a coded error when a library is
missing. Outside oracles: scikit-learn's metrics on the validation rows, the libraries' own unmodified
models, onnxruntime."""

from __future__ import annotations

import importlib.util
import math
import warnings
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import f1_score, log_loss, mean_squared_error
from sklearn.pipeline import Pipeline
from sklearn.utils.class_weight import compute_sample_weight

from aispec.compiler.api import check_text
from aispec.compiler.build import build
from aispec.compiler.codes import BASE_EXAMPLE
from aispec.runtime import auto, export, models, preprocess
from aispec.runtime.api import FitSettings
from aispec.runtime.data import prepare_frame
from aispec.runtime.datasets import load_bundled
from aispec.runtime.errors import ConfigError
from aispec.runtime.registry import backend
from aispec.runtime.search import Choice, Float, Int
from aispec.schemas.vocabulary import BOOSTING_PATIENCE, FAMILIES, auto_candidates

GBM = ["xgboost", "lightgbm"]
CASES = ["binary", "multiclass", "regression"]
SKLEARN = backend("sklearn")


# ------------------------------------------------------------------------------------ the family records


@pytest.mark.parametrize("family", GBM)
def test_the_record_is_what_the_runtime_builds(family: str) -> None:
    record = FAMILIES[family]
    assert record.early_stopping and record.scale_invariant and record.predicts and record.extra == "gbm"
    assert ("onnxmltools", "onnxmltools") in record.libraries
    assert record.params == {p.name for p in record.typed}
    for task in ("classification", "regression"):
        assert family in auto_candidates(task)
        # the default search space is the record's
        space = models.default_space(family, task)
        searched = {p.name: p.search for p in record.typed if p.search is not None}
        assert set(space) == set(searched)
        for name, dist in space.items():
            kind, *args = searched[name]
            assert isinstance(dist, Int if kind in ("int", "logint") else Float if "uniform" in kind else Choice)
            if not isinstance(dist, Choice):
                assert (dist.low, dist.high, dist.log) == (args[0], args[1], kind.startswith("log"))
            assert record.param_types[name].problem(dist.low if not isinstance(dist, Choice) else dist.options[0]) \
                is None  # a search range inside what the parameter takes
        # the estimator starts from the record's defaults, and takes every parameter the record names
        params = models.make_estimator(family, task=task, params={}, seed=3).get_params()
        for param in record.typed:
            if param.default is not None:
                assert params[param.name] == param.default, param.name
        assert params["random_state"] == 3 and params["n_jobs"] == 1
    assert family not in auto_candidates("clustering")


@pytest.mark.parametrize(("params", "codes"), [
    ("  params: {learning_rate: 1.0, max_depth: 0, grow_policy: lossguide}\n", []),
    ("  params: {learning_rate: 0}\n", ["AIS357"]),  # a rate of 0 never learns
    ("  search:\n    space:\n      learning_rate: uniform(0, 0.3)\n", ["AIS357"]),
    ("  search:\n    space:\n      learning_rate: loguniform(0.01, 1.0)\n      max_depth: int(2, 10)\n", []),
    ("  search:\n    space:\n      tree_method: choice(hist, gpu_hist)\n", ["AIS357"]),
    ("  params: {num_leaves: 31}\n", ["AIS343"]),  # LightGBM's word: xgboost has max_leaves
])
def test_check_reads_the_typed_parameters(params: str, codes: list[str]) -> None:
    result = check_text(BASE_EXAMPLE + "model:\n  family: xgboost\n" + params, "spec.yaml")
    assert [d.code for d in result.diagnostics] == codes, result.diagnostics


def test_the_resolved_spec_writes_the_early_stopping_rule_out() -> None:
    base = BASE_EXAMPLE.replace("    name: palmerpenguins\n", "    name: palmerpenguins\n  split: {validation: 0.1, "
                                "train: 0.7, test: 0.2}\n") + "model:\n  family: lightgbm\n"
    result = check_text(base + "training:\n  early_stopping: true\n", "spec.yaml")
    assert result.ok and result.resolved is not None
    rule = result.resolved.training.early_stopping
    assert (rule.patience, rule.monitor) == (BOOSTING_PATIENCE, "val_loss")  # type: ignore[union-attr]
    written = check_text(base + "training:\n  early_stopping: {patience: 7, monitor: val_f1_macro}\n", "spec.yaml")
    assert written.resolved is not None and written.diagnostics == ()
    rule = written.resolved.training.early_stopping
    assert (rule.patience, rule.monitor) == (7, "val_f1_macro")  # type: ignore[union-attr]


def _requirements(tmp_path: Path, name: str, model: str) -> tuple[set[str], set[str]]:
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(BASE_EXAMPLE.replace("name: penguins", f"name: {name}") + model)
    result = build(spec, tmp_path / name)
    assert result.ok, result.diagnostics

    def names(file: str) -> set[str]:
        path = tmp_path / name / file
        lines = path.read_text().splitlines() if path.exists() else []
        return {line.split("==")[0] for line in lines if "==" in line}

    return names("requirements.txt"), names("requirements-serve.txt")


def test_projects_require_a_family_library_only_when_they_may_fit_it(tmp_path: Path) -> None:
    gbm = {"xgboost-cpu", "lightgbm", "onnxmltools"}
    cases = {
        "xgb": ("model:\n  family: xgboost\n", {"xgboost-cpu", "onnxmltools"}),
        "lgbm": ("model:\n  family: lightgbm\n", {"lightgbm", "onnxmltools"}),
        "forest": ("model:\n  family: random_forest\n", set()),
        "auto": ("model:\n  family: auto\n", gbm),  # the default candidates include both
        "chosen": ("model:\n  family: auto\n  candidates: [random_forest, svm]\n", set()),
        "members": ("model:\n  ensemble: {kind: voting, members: [random_forest, lightgbm]}\n",
                    {"lightgbm", "onnxmltools"}),
    }
    for name, (model, wanted) in cases.items():
        training, serving = _requirements(tmp_path, name, model)
        assert training & gbm == wanted, name
        assert serving and not serving & gbm, name  # the image serves ONNX with onnxruntime alone


# ------------------------------------------------------------------------------------------ early stopping


def _data(case: str, n: int = 900, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    if case == "regression":
        X, y = make_regression(n_samples=n, n_features=8, n_informative=5, noise=25.0, random_state=seed)
        target = pd.Series(y)
    else:
        classes = 2 if case == "binary" else 3
        X, y = make_classification(n_samples=n, n_features=8, n_informative=5, n_classes=classes, flip_y=0.15,
                                   random_state=seed)
        target = pd.Series(np.array(["setosa", "versicolor", "virginica"])[y])  # labels, not 0..k-1
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    return frame, target


def _pipeline(family: str, task: str, columns: Any, **params: Any) -> Pipeline:
    types = {str(c): "numeric" if pd.api.types.is_numeric_dtype(columns[c]) else "categorical" for c in columns}
    pre = preprocess.build_preprocessor(column_types=types, cleaning={"scaling": "none"}, task=task)
    return Pipeline([("preprocess", pre), ("model", models.make_estimator(family, task=task, params=params, seed=0))])


def _fit(family: str, case: str, training: dict[str, Any] | None, *, validation: bool = True,
         **params: Any) -> tuple[Pipeline, pd.DataFrame, pd.Series]:
    X, y = _data(case)
    task = "regression" if case == "regression" else "classification"
    X_train, y_train, X_val, y_val = X.iloc[:600], y.iloc[:600], X.iloc[600:], y.iloc[600:]
    pipe = _pipeline(family, task, X, **{"n_estimators": 500, "learning_rate": 0.3, **params})
    settings = FitSettings(seed=0, training=training or {}, validation=(X_val, y_val) if validation else None)
    SKLEARN.fit(pipe, X_train, y_train, settings=settings, task=task)
    return pipe, X_val, y_val


def _trees(model: Any) -> int:
    return int(model.get_booster().num_boosted_rounds() if hasattr(model, "get_booster")
               else model.booster_.current_iteration())


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("family", GBM)
def test_early_stopping_stops_on_the_validation_split(family: str, case: str) -> None:
    rule = {"early_stopping": {"patience": 10, "monitor": "val_loss", "min_delta": 0.0}}
    pipe, X_val, y_val = _fit(family, case, rule)
    model = pipe.named_steps["model"]
    rounds = model.rounds_
    history = rounds["history"]["val_loss"]
    assert rounds["ceiling"] == 500 and rounds["stopped_early"]
    assert len(history) == rounds["trained"] == rounds["rounds"] + 10 < 500  # patience 10 after the best
    assert rounds["rounds"] == int(np.argmin(history)) + 1  # the first best round is kept ...
    assert _trees(model) == rounds["rounds"]  # ... and only its trees
    # the watched value is the kept model's loss on the validation rows (scikit-learn's, as the oracle)
    if case == "regression":
        loss = math.sqrt(mean_squared_error(y_val, pipe.predict(X_val)))
    else:
        loss = log_loss(y_val, pipe.predict_proba(X_val), labels=model.classes_)
    assert loss == pytest.approx(rounds["best"], rel=1e-4)


@pytest.mark.parametrize("family", GBM)
def test_a_task_metric_can_be_watched(family: str) -> None:
    rule = {"early_stopping": {"patience": 15, "monitor": "val_f1_macro"}}
    pipe, X_val, y_val = _fit(family, "multiclass", rule, learning_rate=0.1)
    rounds = pipe.named_steps["model"].rounds_
    history = rounds["history"]["val_f1_macro"]
    assert rounds["higher_is_better"] and rounds["rounds"] == int(np.argmax(history)) + 1
    # (XGBoost logs evaluation results with six decimals)
    assert f1_score(y_val, pipe.predict(X_val), average="macro") == pytest.approx(rounds["best"], abs=1e-6)


@pytest.mark.parametrize("family", GBM)
def test_without_a_validation_split_or_a_rule_every_round_is_fitted(family: str) -> None:
    rule = {"early_stopping": {"patience": 10}}
    for pipe, _, _ in (_fit(family, "binary", rule, validation=False), _fit(family, "binary", None)):
        model = pipe.named_steps["model"]
        assert model.rounds_ is None and _trees(model) == 500


def test_a_monitor_boosting_cannot_watch_is_refused_at_run_time_too() -> None:
    with pytest.raises(ConfigError) as error:
        _fit("xgboost", "binary", {"early_stopping": {"monitor": "loss"}})
    assert error.value.code == "AIS355"


# ------------------------------------------------------------------------------------------- ONNX parity


def _penguins() -> tuple[pd.DataFrame, pd.Series]:
    frame = prepare_frame(load_bundled("palmerpenguins"), columns=None, drop=["year"], pii=[], target="species",
                          task="classification")
    return frame.drop(columns=["species"]), frame["species"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("family", GBM)
def test_held_out_rows_get_the_same_answers_from_onnx_at_two_batch_sizes(family: str, case: str,
                                                                          tmp_path: Path) -> None:
    """The project's own preprocessing (one-hot island, imputed missing measurements) and an early-stopped
    model, exported as one graph, compared on rows the model never saw."""
    X, y = _penguins()
    task = "classification"
    if case == "regression":
        task, y, X = "regression", X["body_mass_g"], X.drop(columns=["body_mass_g"])
        keep = y.notna()
        X, y = X[keep], y[keep]
    elif case == "binary":
        y = y.where(y == "Gentoo", "other")
    order = np.random.default_rng(1).permutation(len(X))
    train, val, test = order[:200], order[200:260], order[260:]
    pipe = _pipeline(family, task, X, n_estimators=300, learning_rate=0.1)
    settings = FitSettings(training={"early_stopping": {"patience": 10}}, validation=(X.iloc[val], y.iloc[val]))
    SKLEARN.fit(pipe, X.iloc[train], y.iloc[train], settings=settings, task=task)
    report = export.to_onnx(pipe, X.iloc[test], tmp_path / "m.onnx", strict=True)
    assert report.batch_sizes == [len(test), 1]
    assert report.parity_ok and report.max_abs_diff / report.scale < 2e-5, report
    assert report.label_agreement in (None, 1.0)
    contract = report.contract
    if task == "classification":
        assert contract["label"] == "label" and contract["score_kind"] == "probabilities"
        assert contract["classes"] == sorted(set(y))  # the labels themselves, in classes_ order
    else:
        assert contract["value"] == "variable"


def _grid_data() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Training values on a 0.01 grid and held-out values at the midpoints LightGBM splits at, where the
    float32 value lies above the double midpoint (2.285 -> 2.2850000858...)."""
    rng = np.random.default_rng(0)
    grid = np.round(np.arange(0, 10, 0.01), 2)
    X = pd.DataFrame({"a": rng.permutation(grid), "b": rng.permutation(grid)})
    y = pd.Series(np.sin(3 * X["a"]) + np.cos(2 * X["b"]) + rng.normal(0, 0.05, len(X)))
    mid = grid[:-1] + 0.005
    up = mid[mid.astype(np.float32).astype(np.float64) > mid]
    probe = pd.DataFrame({"a": up, "b": rng.permutation(up)})
    return X, y, probe


def test_lightgbm_split_thresholds_decide_in_float32_as_lightgbm_does(tmp_path: Path) -> None:
    import onnxruntime as ort
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from skl2onnx import to_onnx, update_registered_converter
    from skl2onnx.common.shape_calculator import calculate_linear_regressor_output_shapes

    X, y, probe = _grid_data()
    X32, probe32 = X.to_numpy(np.float32), probe.to_numpy(np.float32)  # what the pipeline feeds a model
    params = {"n_estimators": 60, "num_leaves": 63, "min_child_samples": 2, "learning_rate": 0.1}
    library = {"verbose": -1, "random_state": 0, "n_jobs": 1, "subsample_freq": 1}  # as make_estimator sets them
    raw = lightgbm.LGBMRegressor(**params, **library).fit(X32, y)  # the library's model, untouched
    ours = models.make_estimator("lightgbm", task="regression", params=params, seed=0).fit(X32, y)
    # the rewritten thresholds change no answer on float32 inputs, the midpoints included
    np.testing.assert_array_equal(ours.predict(probe32), raw.predict(probe32))
    np.testing.assert_array_equal(ours.predict(X32), raw.predict(X32))
    # the trap is real: the library's model, converted as it is, answers otherwise on those rows
    update_registered_converter(type(raw), "LightGbmLGBMRegressor", calculate_linear_regressor_output_shapes,
                                convert_lightgbm)
    onx = to_onnx(raw, X32[:1], target_opset={"": 17, "ai.onnx.ml": 3})
    got = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"X": probe32})[0].ravel()
    assert np.max(np.abs(got - raw.predict(probe32))) > 0.01
    # and ours is exact through the project's export
    pipe = Pipeline([("preprocess", preprocess.build_preprocessor(column_types={"a": "numeric", "b": "numeric"},
                                                                  cleaning={"scaling": "none"}, task="regression")),
                     ("model", models.make_estimator("lightgbm", task="regression", params=params, seed=0))])
    pipe.fit(X, y)
    report = export.to_onnx(pipe, probe, tmp_path / "m.onnx", strict=True)
    assert report.max_abs_diff / report.scale < 2e-5


# ------------------------------------------------------------------------------------ labels and weights


def test_xgboost_takes_and_returns_the_labels_themselves() -> None:
    X, y = _data("multiclass", n=300)
    model = models.make_estimator("xgboost", task="classification", params={"n_estimators": 20}, seed=0)
    model.fit(X.to_numpy(np.float32), y)
    assert list(model.classes_) == ["setosa", "versicolor", "virginica"]
    assert set(model.predict(X.to_numpy(np.float32))) <= set(y)
    assert clone(model).get_params() == model.get_params()  # a search clones it with every parameter


def test_xgboost_class_weight_is_balanced_sample_weights() -> None:
    X, y = _data("binary", n=400)
    y = y.where(np.arange(len(y)) % 4 != 0, "versicolor")  # imbalanced
    X32 = X.to_numpy(np.float32)
    pipe = Pipeline([("model", models.make_estimator("xgboost", task="classification",
                                                     params={"n_estimators": 30}, seed=0))])
    SKLEARN.fit(pipe, X32, y, settings=FitSettings(rebalance="class_weight"), task="classification")
    assert pipe.named_steps["model"].get_params()["class_weight"] == "balanced"  # cleaning.imbalance reached it
    by_hand = models.make_estimator("xgboost", task="classification", params={"n_estimators": 30}, seed=0)
    by_hand.fit(X32, y, sample_weight=compute_sample_weight("balanced", y))
    np.testing.assert_array_equal(pipe.predict_proba(X32), by_hand.predict_proba(X32))


# --------------------------------------------------------------------------------- a missing library


@pytest.fixture
def without_xgboost(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name.split(".")[0] == "xgboost" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


@pytest.mark.usefixtures("without_xgboost")
def test_a_missing_library_is_a_coded_error_never_a_skip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from aispec.compiler.run import missing_libraries, run_project

    with pytest.raises(ConfigError) as error:
        models.make_estimator("xgboost", task="classification", params={}, seed=0)
    assert error.value.code == "AIS420" and "aispec[gbm]" in str(error.value)
    # auto does not drop the candidate and carry on: it stops before fitting anything
    X, y = _data("binary", n=60)
    with pytest.raises(ConfigError) as error:
        auto.auto_select(task="classification", candidates=["naive_bayes", "xgboost"], make_pipeline=lambda e: e,
                         X=X, y=y, budget_s=5, cv=3, scoring="accuracy", greater_is_better=True, seed=0)
    assert error.value.code == "AIS420" and "model.candidates" in str(error.value)
    # `aispec run` checks before it starts the project
    assert missing_libraries("sklearn", ["random_forest"]) == []
    assert missing_libraries("sklearn", ["xgboost", "lightgbm"]) == ["xgboost-cpu"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = run_project(tmp_path, "nothing_here", no_color=True, families=["xgboost"])
    out = capsys.readouterr().out
    assert code == 2 and "error[AIS420]" in out and "xgboost-cpu" in out and "aispec[gbm]" in out
