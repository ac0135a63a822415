"""Quality of ``family: auto`` against hand-tuned scikit-learn and FLAML.

Run: python benchmarks/bench_auto_quality.py [--budget 30] [--datasets wine,diabetes] [--no-flaml]

Datasets: breast_cancer, wine, digits (8x8 images flattened to 64 columns), diabetes
(regression) and palmerpenguins (species; two categorical columns, a few missing values).
Split: 80/20 with random_state 0, stratified for classification. Score on the test split:
accuracy (classification) or R² (regression).

Contestants, all fitted on the training split only:

- ``auto``: ``aispec.runtime.auto.auto_select`` with every scikit-learn family of the task,
  ``budget_s`` seconds, 5-fold shuffled (stratified) CV (seed 0), preprocessing = median
  imputation + standard scaling for numbers, most-frequent imputation + one-hot for categories.
- ``tuned``: a hand-tuned scikit-learn baseline with the same preprocessing: GridSearchCV (same
  folds) over SVC/SVR (C 0.1..1000, gamma scale/1e-3/1e-2/1e-1), logistic regression (C
  0.01..100) or ridge (alpha 0.01..1000), random forest (500 trees, max_features
  sqrt/0.5/1.0) and HistGradientBoosting (learning_rate 0.05/0.1, max_iter 100/300); the
  best by CV is refit on the training split.
- ``flaml`` / ``flaml1``: FLAML ``AutoML.fit(time_budget=budget_s, metric=accuracy|r2, seed=0)``
  with its default learners (LightGBM, XGBoost, random forest, extra trees, L1 logistic
  regression when installed) on the raw training frame, with its default ``n_jobs=-1`` and
  with ``n_jobs=1``; only when flaml is importable.

The budget is wall time on this machine; auto uses one thread (n_jobs=1, OpenMP and BLAS limited
to one thread).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from aispec.runtime import auto

DATASETS = ("breast_cancer", "wine", "digits", "diabetes", "penguins")


def load(name: str) -> tuple[pd.DataFrame, pd.Series, str]:
    from sklearn import datasets

    if name == "penguins":
        from palmerpenguins import load_penguins

        frame = load_penguins()
        return frame.drop(columns=["species"]), frame["species"].astype(str), "classification"
    loader = {"breast_cancer": datasets.load_breast_cancer, "wine": datasets.load_wine,
              "digits": datasets.load_digits, "diabetes": datasets.load_diabetes}[name]
    bunch = loader(as_frame=True)
    task = "regression" if name == "diabetes" else "classification"
    return bunch.data, bunch.target, task


def preprocessor(X: pd.DataFrame) -> ColumnTransformer:
    from sklearn.impute import SimpleImputer

    categorical = [c for c in X.columns if X[c].dtype == object or pd.api.types.is_string_dtype(X[c])]
    numeric = [c for c in X.columns if c not in categorical]
    steps: list[Any] = [("num", Pipeline([("impute", SimpleImputer(strategy="median")),
                                         ("scale", StandardScaler())]), numeric)]
    if categorical:
        steps.append(("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                                       ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False))]),
                      categorical))
    return ColumnTransformer(steps)


def split(X: pd.DataFrame, y: pd.Series, task: str) -> tuple[Any, Any, Any, Any]:
    parts: tuple[Any, Any, Any, Any] = tuple(train_test_split(  # type: ignore[assignment]
        X, y, test_size=0.2, random_state=0, stratify=y if task == "classification" else None))
    return parts


def cv_for(task: str) -> Any:
    return (StratifiedKFold(5, shuffle=True, random_state=0) if task == "classification"
            else KFold(5, shuffle=True, random_state=0))


def test_score(task: str, y_true: Any, y_pred: Any) -> float:
    return float(accuracy_score(y_true, y_pred) if task == "classification" else r2_score(y_true, y_pred))


def run_auto(X_tr: pd.DataFrame, y_tr: pd.Series, task: str, budget: float) -> tuple[Any, str, float]:
    def make_pipeline(estimator: Any) -> Pipeline:
        return Pipeline([("preprocess", preprocessor(X_tr)), ("model", estimator)])

    scoring = "accuracy" if task == "classification" else "r2"
    result = auto.auto_select(task=task, candidates=[], make_pipeline=make_pipeline, X=X_tr, y=y_tr,
                              budget_s=budget, cv=cv_for(task), scoring=scoring, greater_is_better=True, seed=0)
    n_search = sum(1 for r in result.leaderboard if r["phase"] == "search")
    detail = f"{result.family} (cv {result.score:.4f}, {len(result.leaderboard)} evals, {n_search} search)"
    return result.estimator, detail, result.elapsed_s


def run_tuned(X_tr: pd.DataFrame, y_tr: pd.Series, task: str) -> tuple[Any, str, float]:
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.svm import SVC, SVR

    started = time.perf_counter()
    gammas = ["scale", 1e-3, 1e-2, 1e-1]
    if task == "classification":
        grids: list[tuple[str, Any, dict[str, list[Any]]]] = [
            ("svm", SVC(), {"C": [0.1, 1, 10, 100, 1000], "gamma": gammas}),
            ("logistic_regression", LogisticRegression(max_iter=5000), {"C": [0.01, 0.1, 1, 10, 100]}),
            ("random_forest", RandomForestClassifier(500, random_state=0, n_jobs=-1),
             {"max_features": ["sqrt", 0.5, 1.0]}),
            ("hist_gradient_boosting", HistGradientBoostingClassifier(random_state=0),
             {"learning_rate": [0.05, 0.1], "max_iter": [100, 300]}),
        ]
    else:
        grids = [
            ("svm", SVR(), {"C": [0.1, 1, 10, 100, 1000], "gamma": gammas}),
            ("ridge", Ridge(), {"alpha": [0.01, 0.1, 1, 10, 100, 1000]}),
            ("random_forest", RandomForestRegressor(500, random_state=0, n_jobs=-1),
             {"max_features": ["sqrt", 0.5, 1.0]}),
            ("hist_gradient_boosting", HistGradientBoostingRegressor(random_state=0),
             {"learning_rate": [0.05, 0.1], "max_iter": [100, 300]}),
        ]
    best: tuple[float, str, Any] | None = None
    for name, estimator, grid in grids:
        pipe = Pipeline([("preprocess", preprocessor(X_tr)), ("model", estimator)])
        gs = GridSearchCV(pipe, {f"model__{k}": v for k, v in grid.items()}, cv=cv_for(task),
                          scoring="accuracy" if task == "classification" else "r2", n_jobs=-1)
        gs.fit(X_tr, y_tr)
        if best is None or gs.best_score_ > best[0]:
            params = {k.removeprefix("model__"): v for k, v in gs.best_params_.items()}
            best = (gs.best_score_, f"{name} {params} (cv {gs.best_score_:.4f})", gs.best_estimator_)
    assert best is not None
    return best[2], best[1], time.perf_counter() - started


def run_flaml(X_tr: pd.DataFrame, y_tr: pd.Series, task: str, budget: float,
              n_jobs: int = -1) -> tuple[Any, str, float]:
    from flaml import AutoML

    automl = AutoML()
    started = time.perf_counter()
    X = X_tr.copy()
    for c in X.columns:
        if pd.api.types.is_string_dtype(X[c]) or X[c].dtype == object:
            X[c] = X[c].astype("category")
    automl.fit(X, y_tr, task=task, time_budget=budget, metric="accuracy" if task == "classification" else "r2",
               seed=0, verbose=0, n_jobs=n_jobs)
    return automl, f"{automl.best_estimator} (val {1 - automl.best_loss:.4f})", time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--no-flaml", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    try:
        import flaml  # noqa: F401

        have_flaml = not args.no_flaml
    except ImportError:
        have_flaml = False
    print(f"machine: {os.cpu_count()} CPUs; budget {args.budget:g} s; "
          f"FLAML {'on' if have_flaml else 'not installed / off'}")
    rows = []
    for name in args.datasets.split(","):
        X, y, task = load(name)
        X_tr, X_te, y_tr, y_te = split(X, y, task)
        row: dict[str, Any] = {"dataset": name, "task": task, "n_train": len(X_tr), "n_test": len(X_te)}
        contestants = ["auto", "tuned"] + (["flaml", "flaml1"] if have_flaml else [])
        for label in contestants:
            if label == "auto":
                model, detail, seconds = run_auto(X_tr, y_tr, task, args.budget)
            elif label == "tuned":
                model, detail, seconds = run_tuned(X_tr, y_tr, task)
            else:
                model, detail, seconds = run_flaml(X_tr, y_tr, task, args.budget, -1 if label == "flaml" else 1)
            X_eval = X_te
            if label.startswith("flaml"):
                X_eval = X_te.copy()
                for c in X_eval.columns:
                    if pd.api.types.is_string_dtype(X_eval[c]) or X_eval[c].dtype == object:
                        X_eval[c] = X_eval[c].astype("category")
            row[label] = test_score(task, y_te, np.asarray(model.predict(X_eval)))
            row[f"{label}_detail"] = detail
            row[f"{label}_s"] = seconds
            print(f"  {name:14s} {label:6s} {row[label]:.4f}  {seconds:6.1f} s  {detail}", flush=True)
        rows.append(row)

    metric = {"classification": "accuracy", "regression": "R²"}
    labels = ["auto", "tuned"] + (["flaml", "flaml1"] if have_flaml else [])
    heads = {"auto": f"aispec auto {args.budget:g}s", "tuned": "tuned sklearn",
             "flaml": f"FLAML {args.budget:g}s (n_jobs=-1)", "flaml1": f"FLAML {args.budget:g}s (n_jobs=1)"}
    print()
    print("| dataset | metric (test) | " + " | ".join(heads[lb] for lb in labels) + " |")
    print("|---|---|" + "---|" * len(labels))
    for row in rows:
        cells = [f"{row[lb]:.4f} ({row[f'{lb}_s']:.0f} s)" for lb in labels]
        print(f"| {row['dataset']} | {metric[row['task']]} | " + " | ".join(cells) + " |")
    print()
    for row in rows:
        for lb in labels:
            print(f"{row['dataset']:14s} {lb:6s} {row[f'{lb}_detail']}")


if __name__ == "__main__":
    main()
