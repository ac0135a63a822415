"""The model of penguin-species: random_forest on scikit-learn."""

from __future__ import annotations

from typing import Any

from aispec.runtime import models
from aispec.runtime.search import Choice, Distribution, Int
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from penguin_species.config import SEED, TASK
from penguin_species.features import build_preprocessor

FAMILY = "random_forest"
# Fixed hyperparameters (model.params); the search below overrides the ones it tunes.
PARAMS: dict[str, Any] = {"n_estimators": 300, "class_weight": "balanced"}

# model.search: bayesian, 25 trials, timeout 120.0s.
SEARCH_SPACE: dict[str, Distribution] = {
    "max_depth": Int(2, 16),
    "min_samples_leaf": Int(1, 10),
    "max_features": Choice("sqrt", "log2"),
    "criterion": Choice("gini", "entropy"),
}


def build_estimator(params: dict[str, Any] | None = None) -> BaseEstimator:
    """The estimator with PARAMS, overridden by ``params`` (e.g. from the search)."""
    return models.make_estimator(FAMILY, task=TASK, params={**PARAMS, **(params or {})}, seed=SEED)


def build_pipeline(params: dict[str, Any] | None = None) -> Pipeline:
    """Preprocessing and the estimator, as one pipeline (exported to ONNX as a whole)."""
    return Pipeline([("preprocess", build_preprocessor()), ("model", build_estimator(params))])
