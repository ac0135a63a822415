"""The model of sms-spam-filter: logistic_regression on scikit-learn."""

from __future__ import annotations

from typing import Any

from aispec.runtime import models
from aispec.runtime.search import Choice, Distribution, Float
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from sms_spam_filter.config import SEED, TASK
from sms_spam_filter.features import build_preprocessor

FAMILY = "logistic_regression"
# Fixed hyperparameters (model.params); the search below overrides the ones it tunes.
PARAMS: dict[str, Any] = {
    "class_weight": "balanced",
    "max_iter": 2000,
    "solver": "liblinear",
}

# model.search: random, 30 trials, timeout 600.0s.
SEARCH_SPACE: dict[str, Distribution] = {
    "C": Float(0.01, 100, log=True),
    "penalty": Choice("l1", "l2"),
}


def build_estimator(params: dict[str, Any] | None = None) -> BaseEstimator:
    """The estimator with PARAMS, overridden by ``params`` (e.g. from the search)."""
    return models.make_estimator(FAMILY, task=TASK, params={**PARAMS, **(params or {})}, seed=SEED)


def build_pipeline(params: dict[str, Any] | None = None) -> Pipeline:
    """Preprocessing and the estimator, as one pipeline (exported to ONNX as a whole)."""
    return Pipeline([("preprocess", build_preprocessor()), ("model", build_estimator(params))])
