"""aispec.runtime.auto: budgeted selection across families."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pytest

from aispec.runtime import auto
from aispec.runtime.errors import ConfigError


def _pipeline(estimator: Any) -> Any:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("preprocess", StandardScaler()), ("model", estimator)])


def _classification(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification

    X, y = make_classification(n, 12, n_informative=6, n_classes=3, class_sep=0.8, flip_y=0.05, random_state=seed)
    return X, y


def test_respects_the_budget_and_beats_a_dummy() -> None:
    from sklearn.dummy import DummyClassifier
    from sklearn.model_selection import StratifiedKFold, train_test_split

    X, y = _classification()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    started = time.perf_counter()
    result = auto.auto_select(task="classification", candidates=[], make_pipeline=_pipeline, X=X_tr, y=y_tr,
                              budget_s=5, cv=StratifiedKFold(4, shuffle=True, random_state=0), scoring="accuracy",
                              greater_is_better=True, seed=0)
    wall = time.perf_counter() - started
    assert wall < 7, wall
    assert result.elapsed_s <= wall
    dummy = DummyClassifier().fit(X_tr, y_tr).score(X_te, y_te)
    accuracy = float(np.mean(result.estimator.predict(X_te) == y_te))
    assert accuracy > dummy + 0.3
    assert result.score is not None and result.score > 0.6
    assert result.family in auto.default_candidates("classification")
    assert result.leaderboard[0]["score"] == result.score
    scores = [r["score"] for r in result.leaderboard]
    assert scores == sorted(scores, reverse=True)
    assert {r["phase"] for r in result.leaderboard} == {"default", "search"}
    assert result.estimator.named_steps["model"] is not None
    data = json.loads(json.dumps(result.to_dict()))
    assert data["family"] == result.family and data["budget_s"] == 5


def test_regression_with_named_candidates() -> None:
    from sklearn.datasets import make_regression

    X, y = make_regression(200, 6, noise=5.0, random_state=0)
    result = auto.auto_select(task="regression", candidates=["ridge", "knn", "decision_tree"],
                              make_pipeline=_pipeline, X=X, y=y, budget_s=2, cv=3, scoring="rmse",
                              greater_is_better=False, seed=0)
    assert result.family == "ridge"  # a linear target
    assert result.score is not None and 0 < result.score < 10
    assert {r["family"] for r in result.leaderboard} <= {"ridge", "knn", "decision_tree"}
    assert result.leaderboard[0]["score"] == min(r["score"] for r in result.leaderboard)


def test_stops_early_at_a_perfect_score() -> None:
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(int)
    X[:, 0] = np.sign(X[:, 0]) * (np.abs(X[:, 0]) + 3)  # separated by a wide margin
    started = time.perf_counter()
    result = auto.auto_select(task="classification", candidates=["logistic_regression", "random_forest"],
                              make_pipeline=_pipeline, X=X, y=y, budget_s=20, cv=3, scoring="accuracy",
                              greater_is_better=True, seed=0)
    assert time.perf_counter() - started < 5
    assert result.score == 1.0 and result.family == "logistic_regression"


def test_bad_candidates() -> None:
    X, y = _classification(60)
    for family in ("cnn", "lasso", "no_such_family"):
        with pytest.raises(ConfigError):
            auto.auto_select(task="classification", candidates=[family], make_pipeline=_pipeline, X=X, y=y,
                             budget_s=1, cv=3, scoring="accuracy", greater_is_better=True, seed=0)


def test_clustering_and_unlabelled_anomalies() -> None:
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(150, 2, centers=3, random_state=0)
    result = auto.auto_select(task="clustering", candidates=["kmeans"], make_pipeline=_pipeline, X=X, y=None,
                              budget_s=2, cv=3, scoring="silhouette", greater_is_better=True, seed=0)
    assert result.family == "kmeans" and result.params.get("n_clusters", 8) == 3
    anomalies = auto.auto_select(task="anomaly_detection", candidates=[], make_pipeline=_pipeline, X=X, y=None,
                                 budget_s=2, cv=3, scoring="roc_auc", greater_is_better=True, seed=0)
    assert anomalies.score is None and anomalies.notes
    assert len(anomalies.estimator.predict(X)) == len(X)


def test_large_data_probes_slow_families_instead_of_overrunning() -> None:
    from sklearn.datasets import make_classification

    X, y = make_classification(15000, 20, n_informative=8, random_state=0)
    started = time.perf_counter()
    result = auto.auto_select(task="classification", candidates=["svm", "knn", "logistic_regression"],
                              make_pipeline=_pipeline, X=X, y=y, budget_s=3, cv=5, scoring="accuracy",
                              greater_is_better=True, seed=0)
    assert time.perf_counter() - started < 5
    assert result.family in ("knn", "logistic_regression") and result.score is not None
    assert "svm" in " ".join(result.notes)  # too slow at its defaults for 3 s on 12,000 rows
