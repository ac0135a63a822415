"""The model of penguin-species-lightgbm: lightgbm on scikit-learn."""

from __future__ import annotations

from typing import Any

from aispec.runtime import models
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from penguin_species_lightgbm.config import SEED, TASK
from penguin_species_lightgbm.features import build_preprocessor

FAMILY = "lightgbm"
# Fixed hyperparameters (model.params); the search below overrides the ones it tunes.
PARAMS: dict[str, Any] = {
    "n_estimators": 1000,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_child_samples": 10,
    "colsample_bytree": 0.8,
}


def build_estimator(params: dict[str, Any] | None = None) -> BaseEstimator:
    """The estimator with PARAMS, overridden by ``params`` (e.g. from the search)."""
    return models.make_estimator(FAMILY, task=TASK, params={**PARAMS, **(params or {})}, seed=SEED)


def build_pipeline(params: dict[str, Any] | None = None) -> Pipeline:
    """Preprocessing and the estimator, as one pipeline (exported to ONNX as a whole)."""
    return Pipeline([("preprocess", build_preprocessor()), ("model", build_estimator(params))])
