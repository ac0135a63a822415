"""The model of breast-cancer-outliers: isolation_forest on scikit-learn."""

from __future__ import annotations

from typing import Any

from aispec.runtime import models
from aispec.runtime.search import Choice, Distribution
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from breast_cancer_outliers.config import SEED, TASK
from breast_cancer_outliers.features import build_preprocessor

FAMILY = "isolation_forest"
# Fixed hyperparameters (model.params); the search below overrides the ones it tunes.
PARAMS: dict[str, Any] = {"n_estimators": 500, "contamination": 0.35}

# model.search: random, 25 trials.
SEARCH_SPACE: dict[str, Distribution] = {
    "max_samples": Choice(64, 128, 256),
    "bootstrap": Choice(True, False),
}


def build_estimator(params: dict[str, Any] | None = None) -> BaseEstimator:
    """The estimator with PARAMS, overridden by ``params`` (e.g. from the search)."""
    return models.make_estimator(FAMILY, task=TASK, params={**PARAMS, **(params or {})}, seed=SEED)


def build_pipeline(params: dict[str, Any] | None = None) -> Pipeline:
    """Preprocessing and the estimator, as one pipeline (exported to ONNX as a whole)."""
    return Pipeline([("preprocess", build_preprocessor()), ("model", build_estimator(params))])
