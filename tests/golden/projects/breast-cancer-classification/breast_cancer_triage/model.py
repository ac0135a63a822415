"""The model of breast-cancer-triage: gradient_boosting on scikit-learn."""

from __future__ import annotations

from typing import Any

from aispec.runtime import models
from aispec.runtime.search import Distribution, Float, Int
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from breast_cancer_triage.config import SEED, TASK
from breast_cancer_triage.features import build_preprocessor

FAMILY = "gradient_boosting"
# Fixed hyperparameters (model.params); the search below overrides the ones it tunes.
PARAMS: dict[str, Any] = {"class_weight": "balanced", "early_stopping": True}

# model.search: random, 25 trials, timeout 120.0s.
SEARCH_SPACE: dict[str, Distribution] = {
    "learning_rate": Float(0.01, 0.3, log=True),
    "max_depth": Int(2, 8),
    "max_leaf_nodes": Int(8, 64),
    "min_samples_leaf": Int(5, 40),
    "l2_regularization": Float(0.0, 1.0),
}


def build_estimator(params: dict[str, Any] | None = None) -> BaseEstimator:
    """The estimator with PARAMS, overridden by ``params`` (e.g. from the search)."""
    return models.make_estimator(FAMILY, task=TASK, params={**PARAMS, **(params or {})}, seed=SEED)


def build_pipeline(params: dict[str, Any] | None = None) -> Pipeline:
    """Preprocessing and the estimator, as one pipeline (exported to ONNX as a whole)."""
    return Pipeline([("preprocess", build_preprocessor()), ("model", build_estimator(params))])
