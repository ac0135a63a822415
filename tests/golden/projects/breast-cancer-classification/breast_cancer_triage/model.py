"""The model of breast-cancer-triage: logistic_regression on scikit-learn."""

from __future__ import annotations

from typing import Any

from aispec.runtime import models
from aispec.runtime.search import Choice, Distribution, Float
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from breast_cancer_triage.config import SEED, TASK
from breast_cancer_triage.features import build_preprocessor

FAMILY = "logistic_regression"
# Fixed hyperparameters (model.params); the search below overrides the ones it tunes.
PARAMS: dict[str, Any] = {"class_weight": "balanced", "max_iter": 5000}

# model.search: bayesian, 25 trials, timeout 120.0s.
SEARCH_SPACE: dict[str, Distribution] = {
    "C": Float(0.001, 100, log=True),
    "penalty": Choice("l1", "l2"),
    "solver": Choice("liblinear"),
}


def build_estimator(params: dict[str, Any] | None = None) -> BaseEstimator:
    """The estimator with PARAMS, overridden by ``params`` (e.g. from the search)."""
    return models.make_estimator(FAMILY, task=TASK, params={**PARAMS, **(params or {})}, seed=SEED)


def build_pipeline(params: dict[str, Any] | None = None) -> Pipeline:
    """Preprocessing and the estimator, as one pipeline (exported to ONNX as a whole)."""
    return Pipeline([("preprocess", build_preprocessor()), ("model", build_estimator(params))])
