"""The model of breast-cancer-xgboost: xgboost on scikit-learn."""

from __future__ import annotations

from typing import Any

from aispec.runtime import models
from aispec.runtime.search import Distribution, Float
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from breast_cancer_xgboost.config import SEED, TASK
from breast_cancer_xgboost.features import build_preprocessor

FAMILY = "xgboost"
# Fixed hyperparameters (model.params); the search below overrides the ones it tunes.
PARAMS: dict[str, Any] = {"n_estimators": 400, "max_depth": 3}

# model.search: bayesian, 8 trials, timeout 120.0s.
SEARCH_SPACE: dict[str, Distribution] = {
    "learning_rate": Float(0.03, 0.3, log=True),
    "subsample": Float(0.6, 1.0),
    "colsample_bytree": Float(0.5, 1.0),
    "min_child_weight": Float(0.5, 8, log=True),
}


def build_estimator(params: dict[str, Any] | None = None) -> BaseEstimator:
    """The estimator with PARAMS, overridden by ``params`` (e.g. from the search)."""
    return models.make_estimator(FAMILY, task=TASK, params={**PARAMS, **(params or {})}, seed=SEED)


def build_pipeline(params: dict[str, Any] | None = None) -> Pipeline:
    """Preprocessing and the estimator, as one pipeline (exported to ONNX as a whole)."""
    return Pipeline([("preprocess", build_preprocessor()), ("model", build_estimator(params))])
