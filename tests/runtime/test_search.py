"""aispec.runtime.search: distributions, scorers and Optuna searches."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import precision_score

from aispec.runtime import metrics, models, search
from aispec.runtime.errors import ConfigError
from aispec.runtime.search import Choice, Float, Int


def _classification(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] - X[:, 1] + 0.3 * rng.normal(size=n) > 0).astype(int)
    return X, y


def _lr(params: dict[str, Any]) -> Any:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    est = models.make_estimator("logistic_regression", task="classification", params=params, seed=0)
    return Pipeline([("scale", StandardScaler()), ("model", est)])


# ------------------------------------------------------------------------------ distributions


def test_distributions_validate() -> None:
    assert Choice(1, "a", None).options == (1, "a", None)
    with pytest.raises(ConfigError):
        Int(5, 1)
    with pytest.raises(ConfigError):
        Float(0.0, 1.0, log=True)
    with pytest.raises(ConfigError):
        Choice()


def test_grid_values() -> None:
    assert search.grid_values(Int(2, 6)) == [2, 3, 4, 5, 6]
    wide = search.grid_values(Int(1, 1000))
    assert len(wide) == 10 and wide[0] == 1 and wide[-1] == 1000
    logged = search.grid_values(Int(1, 1000, log=True))
    assert logged[:3] == [1, 2, 5] and logged[-1] == 1000
    assert search.grid_values(Choice("a", "b")) == ["a", "b"]
    with pytest.raises(ConfigError, match="grid search cannot enumerate"):
        search.grid_values(Float(0.1, 1.0), name="C")
    assert search.grid_size({"a": Int(1, 3), "b": Choice(True, False)}) == 6


# ------------------------------------------------------------------------------------ searches


def test_grid_enumerates_exactly() -> None:
    X, y = _classification()
    space = {"C": Choice(0.01, 1.0, 100.0), "fit_intercept": Choice(True, False), "tol": Int(1, 2)}
    result = search.search(lambda p: _lr({**p, "tol": p["tol"] * 1e-4}), space, X, y, method="grid", trials=1000,
                           timeout_s=None, cv=3, scoring="accuracy", greater_is_better=True, seed=0)
    seen = sorted((t["params"]["C"], t["params"]["fit_intercept"], t["params"]["tol"]) for t in result.trials)
    assert seen == sorted(itertools.product([0.01, 1.0, 100.0], [True, False], [1, 2]))
    assert result.n_trials == 12 and result.grid_size == 12 and result.method == "grid"
    capped = search.search(_lr, {"C": Choice(0.01, 0.1, 1.0, 10.0)}, X, y, method="grid", trials=2, timeout_s=None,
                           cv=3, scoring="accuracy", greater_is_better=True, seed=0)
    assert capped.n_trials == 2
    with pytest.raises(ConfigError, match="continuous"):
        search.search(_lr, {"C": Float(0.1, 1.0)}, X, y, method="grid", trials=5, timeout_s=None, cv=3,
                      scoring="accuracy", greater_is_better=True, seed=0)


@pytest.mark.parametrize("method", ["bayesian", "random"])
def test_finds_good_params_and_is_deterministic(method: str) -> None:
    X, y = _classification()
    space = {"C": Float(1e-6, 100.0, log=True)}
    runs = [search.search(_lr, space, X, y, method=method, trials=12, timeout_s=None, cv=3, scoring="accuracy",
                          greater_is_better=True, seed=5) for _ in range(2)]
    assert runs[0].best_params == runs[1].best_params
    assert [t["params"] for t in runs[0].trials] == [t["params"] for t in runs[1].trials]
    best = runs[0]
    assert best.best_params["C"] > 1e-3  # tiny C predicts one class only
    assert best.best_score > 0.85
    assert best.n_trials == 12 and all(t["state"] == "complete" for t in best.trials)
    other = search.search(_lr, space, X, y, method=method, trials=12, timeout_s=None, cv=3, scoring="accuracy",
                          greater_is_better=True, seed=6)
    assert [t["params"] for t in other.trials] != [t["params"] for t in best.trials]


def test_minimising_metric_in_its_own_units() -> None:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 3))
    y = 5 * X[:, 0] + rng.normal(size=100)

    def ridge(p: dict[str, Any]) -> Any:
        return make_pipeline(StandardScaler(), models.make_estimator("ridge", task="regression", params=p, seed=0))

    result = search.search(ridge, {"alpha": Choice(0.01, 1000.0)}, X, y, method="grid", trials=10, timeout_s=None,
                           cv=3, scoring="rmse", greater_is_better=False, seed=0)
    assert result.best_params == {"alpha": 0.01}
    assert 0 < result.best_score < 2  # rmse, positive, near the noise level
    assert result.best_score == min(t["score"] for t in result.trials)


def test_failed_trials_are_recorded_and_all_failed_is_an_error() -> None:
    X, y = _classification()
    result = search.search(_lr, {"solver": Choice("lbfgs", "no_such_solver")}, X, y, method="grid", trials=10,
                           timeout_s=None, cv=3, scoring="accuracy", greater_is_better=True, seed=0)
    states = {t["params"]["solver"]: t for t in result.trials}
    assert states["no_such_solver"]["state"] == "failed" and "solver" in states["no_such_solver"]["error"]
    assert states["lbfgs"]["state"] == "complete"
    assert result.best_params == {"solver": "lbfgs"} and result.n_failed == 1

    def broken(params: dict[str, Any]) -> Any:
        raise ValueError("boom")

    with pytest.raises(ConfigError, match="boom"):
        search.search(broken, {"C": Float(0.1, 1.0)}, X, y, method="random", trials=3, timeout_s=None, cv=3,
                      scoring="accuracy", greater_is_better=True, seed=0)


def test_fit_errors_inside_cross_validation_fail_the_trial() -> None:
    X, y = _classification()
    X = X.copy()
    X[0, 0] = np.nan  # LogisticRegression without imputation refuses NaN

    with pytest.raises(ConfigError, match="NaN"):
        search.search(_lr, {"C": Float(0.1, 1.0)}, X, y, method="random", trials=2, timeout_s=None, cv=3,
                      scoring="accuracy", greater_is_better=True, seed=0)


def test_timeout_is_respected() -> None:
    X, y = _classification(60)
    started = time.perf_counter()
    result = search.search(_lr, {"C": Float(1e-3, 1e3, log=True)}, X, y, method="bayesian", trials=10**6,
                           timeout_s=2, cv=2, scoring="accuracy", greater_is_better=True, seed=0)
    assert time.perf_counter() - started < 5
    assert 1 < result.n_trials < 10**6


def test_tuple_choices_and_empty_space() -> None:
    from sklearn.neural_network import MLPClassifier

    X, y = _classification(60)
    seen: list[Any] = []

    def mlp(params: dict[str, Any]) -> Any:
        seen.append(params["hidden_layer_sizes"])
        return MLPClassifier(max_iter=50, random_state=0, **params)

    search.search(mlp, {"hidden_layer_sizes": Choice((4,), (4, 2))}, X, y, method="bayesian", trials=3,
                  timeout_s=None, cv=2, scoring="accuracy", greater_is_better=True, seed=0)
    assert all(isinstance(s, tuple) for s in seen)
    empty = search.search(_lr, {}, X, y, method="bayesian", trials=5, timeout_s=None, cv=2, scoring="accuracy",
                          greater_is_better=True, seed=0)
    assert empty.best_params == {}


def test_result_to_dict_is_json() -> None:
    X, y = _classification(60)
    result = search.search(_lr, {"C": Float(0.1, 10.0, log=True)}, X, y, method="random", trials=3, timeout_s=None,
                           cv=2, scoring="log_loss", greater_is_better=False, seed=0)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["method"] == "random" and data["scoring"] == "log_loss" and len(data["trials"]) == 3
    assert set(data["trials"][0]) >= {"params", "score", "duration_s", "state"}
    assert data["best_score"] > 0  # log loss in its own units


def test_optuna_logging_is_restored() -> None:
    import optuna

    before = optuna.logging.get_verbosity()
    X, y = _classification(60)
    search.search(_lr, {"C": Float(0.1, 1.0)}, X, y, method="random", trials=2, timeout_s=None, cv=2,
                  scoring="accuracy", greater_is_better=True, seed=0)
    assert optuna.logging.get_verbosity() == before
    with pytest.raises(ConfigError, match="method"):
        search.search(_lr, {}, X, y, method="annealing", trials=2, timeout_s=None, cv=2, scoring="accuracy",
                      greater_is_better=True, seed=0)


# ------------------------------------------------------------------------------------- scorers


def test_scorers() -> None:
    from sklearn.cluster import KMeans
    from sklearn.ensemble import IsolationForest
    from sklearn.linear_model import LinearRegression, LogisticRegression

    X, y = _classification(80)
    labels = np.where(y == 1, "yes", "no")
    clf = LogisticRegression().fit(X, labels)
    with pytest.raises(ConfigError, match="positive class"):
        search.get_scorer("f1", y=labels)
    f1 = search.get_scorer("f1", y=labels, positive_class="yes")(clf, X, labels)
    assert 0.8 < f1 <= 1
    assert search.get_scorer("roc_auc", y=labels)(clf, X, labels) > 0.9
    three = np.digitize(X[:, 0], [-0.5, 0.5])
    clf3 = LogisticRegression().fit(X, three)
    assert search.get_scorer("roc_auc", y=three)(clf3, X, three) > 0.9  # one-vs-rest
    assert search.get_scorer("log_loss", y=three)(clf3, X, three) > 0
    with pytest.raises(ConfigError, match="binary"):
        search.get_scorer("f1", y=three)

    reg = LinearRegression().fit(X, X[:, 0] * 3)
    assert search.get_scorer("mae")(reg, X, X[:, 0] * 3) < 1e-9
    assert search.get_scorer("smape")(reg, X, X[:, 0] * 3) < 1e-6

    km = KMeans(2, n_init=2, random_state=0).fit(X)
    assert -1 <= search.get_scorer("silhouette")(km, X, None) <= 1

    truth = np.zeros(80, dtype=int)
    Xa = X.copy()
    Xa[:8] += 6
    truth[:8] = 1
    iso = IsolationForest(random_state=0, contamination=0.1).fit(Xa)
    assert search.get_scorer("roc_auc", y=truth)(iso, Xa, truth) > 0.9
    # the precision of the rows the detector flags (its threshold set by contamination), as in the report
    flagged = iso.predict(Xa) == -1
    expected = precision_score(truth, flagged)
    assert search.get_scorer("precision_at_contamination", y=truth)(iso, Xa, truth) == pytest.approx(expected)
    reported = metrics.compute("anomaly_detection", ["precision_at_contamination"], y_true=truth,
                               y_pred=iso.predict(Xa))["precision_at_contamination"]
    assert reported == pytest.approx(expected) and expected > 0.7
    with pytest.raises(ConfigError, match="unknown scoring"):
        search.get_scorer("no_such_metric")


@pytest.mark.parametrize("method", ["random", "bayesian", "grid"])
def test_a_resumed_search_runs_only_the_missing_trials_and_ends_as_an_uninterrupted_one(method: str) -> None:
    """--resume hands a runner the trials an interrupted search finished: the sampler must go on from where it
    stopped (a fresh seeded RandomSampler, or TPE's random start-up, would propose the first configurations
    again), so the resumed search tries exactly the configurations the uninterrupted one tries after them."""
    import dataclasses

    from aispec.runtime.trials import LocalRunner, Study

    space: dict[str, Any] = {"a": Int(1, 4), "b": Choice(1, 2)} if method == "grid" else \
        {"a": Float(0.0, 1.0), "b": Choice(1, 2, 3)}
    study = Study(space=space, method=method, seed=5, n_trials=8, timeout_s=None, greater_is_better=True)
    calls: list[dict[str, Any]] = []

    def evaluate(params: dict[str, Any], record: dict[str, Any], report: Any) -> float:
        calls.append(dict(params))
        return float(params["a"] * params["b"])

    whole = LocalRunner().run(study, evaluate)
    saved: list[dict[str, Any]] = []
    LocalRunner().run(dataclasses.replace(study, n_trials=3), evaluate, on_finished=saved.append)
    calls.clear()
    resumed = LocalRunner().run(study, evaluate, restored=json.loads(json.dumps(saved)))  # as search.json holds it
    assert calls == [r["params"] for r in whole[3:]]  # only the 5 missing trials ran, the same ones
    assert [r["params"] for r in resumed] == [r["params"] for r in whole]
    assert [r["score"] for r in resumed] == [r["score"] for r in whole]
    assert [r["number"] for r in resumed] == list(range(8))


def test_a_resumed_search_first_runs_a_trial_that_was_proposed_but_not_finished() -> None:
    """On a cluster a later trial can finish before an earlier one is interrupted: the saved trials are 0, 1
    and 3. The resumed search runs trial 2 first (the configuration the sampler had proposed for it), then
    4 to 7, and numbers every trial as the uninterrupted search does."""
    from aispec.runtime.trials import LocalRunner, Study

    study = Study(space={"a": Float(0.0, 1.0), "b": Choice(1, 2, 3)}, method="random", seed=5, n_trials=8,
                  timeout_s=None, greater_is_better=True)
    calls: list[dict[str, Any]] = []

    def evaluate(params: dict[str, Any], record: dict[str, Any], report: Any) -> float:
        calls.append(dict(params))
        return float(params["a"] * params["b"])

    saved: list[dict[str, Any]] = []
    whole = LocalRunner().run(study, evaluate, on_finished=saved.append)
    calls.clear()
    kept = [json.loads(json.dumps(saved[i])) for i in (0, 1, 3)]
    resumed = LocalRunner().run(study, evaluate, restored=kept)
    assert calls == [whole[i]["params"] for i in (2, 4, 5, 6, 7)]
    assert [(r["number"], r["params"], r["score"]) for r in resumed] == \
        [(r["number"], r["params"], r["score"]) for r in whole]


def test_an_interrupted_cross_validated_search_resumed_from_its_store_ends_as_an_uninterrupted_one(
        tmp_path: Any) -> None:
    """The scikit-learn search keeps every finished trial in checkpoints/search.json; --resume keeps them (they
    are not cross-validated again) and runs only the rest: the same trials, scores and best parameters as a
    search that was never interrupted. A store of another search (other data) is not used."""
    X, y = _classification(160)
    space: dict[str, Any] = {"C": Float(0.01, 10.0, log=True), "fit_intercept": Choice(True, False)}
    common: dict[str, Any] = dict(method="bayesian", trials=8, timeout_s=None, cv=3, scoring="accuracy",
                                  greater_is_better=True, seed=3)
    whole = search.search(_lr, space, X, y, **common)

    built: list[dict[str, Any]] = []

    def cut_after_three(params: dict[str, Any]) -> Any:  # one pipeline per trial, cloned for each fold
        built.append(dict(params))
        if len(built) > 3:  # three trials finished, then the power goes
            raise KeyboardInterrupt
        return _lr(params)

    with pytest.raises(KeyboardInterrupt):
        search.search(cut_after_three, space, X, y, checkpoint_dir=tmp_path, **common)
    store = json.loads((tmp_path / "search.json").read_text(encoding="utf-8"))
    assert len(store["trials"]) == 3

    built.clear()

    def counted(params: dict[str, Any]) -> Any:
        built.append(dict(params))
        return _lr(params)

    resumed = search.search(counted, space, X, y, checkpoint_dir=tmp_path, resume=True, **common)
    assert len(built) == 5  # only the five missing trials were cross-validated
    assert [(t["params"], t["score"]) for t in resumed.trials] == [(t["params"], t["score"]) for t in whole.trials]
    assert resumed.best_params == whole.best_params and resumed.best_score == whole.best_score

    built.clear()  # other rows: the store is of another search, so everything runs again
    search.search(counted, space, X[:150], y[:150], checkpoint_dir=tmp_path, resume=True, **common)
    assert len(built) == 8
    built.clear()  # without --resume a search starts over, whatever the store holds
    search.search(counted, space, X, y, checkpoint_dir=tmp_path, **common)
    assert len(built) == 8
