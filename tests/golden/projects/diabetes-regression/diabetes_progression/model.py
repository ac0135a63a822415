"""The model of diabetes-progression: ridge on scikit-learn."""

from __future__ import annotations

from typing import Any

from aispec.runtime import models
from aispec.runtime.search import Choice, Distribution, Float
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from diabetes_progression.config import SEED, TASK
from diabetes_progression.features import build_preprocessor

FAMILY = "ridge"
# Fixed hyperparameters (model.params); the search below overrides the ones it tunes.
PARAMS: dict[str, Any] = {"fit_intercept": True}

# model.search: bayesian, 50 trials.
SEARCH_SPACE: dict[str, Distribution] = {
    "alpha": Float(0.001, 100, log=True),
    "solver": Choice("auto", "svd", "cholesky", "lsqr"),
}


def build_estimator(params: dict[str, Any] | None = None) -> BaseEstimator:
    """The estimator with PARAMS, overridden by ``params`` (e.g. from the search)."""
    return models.make_estimator(FAMILY, task=TASK, params={**PARAMS, **(params or {})}, seed=SEED)


def build_pipeline(params: dict[str, Any] | None = None) -> Pipeline:
    """Preprocessing and the estimator, as one pipeline (exported to ONNX as a whole)."""
    return Pipeline([("preprocess", build_preprocessor()), ("model", build_estimator(params))])
