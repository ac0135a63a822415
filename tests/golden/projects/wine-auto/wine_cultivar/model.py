"""The model of wine-cultivar: a budgeted automatic selection over model families."""

from __future__ import annotations

from aispec.runtime import models
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from wine_cultivar.features import build_preprocessor

# `family: auto`: these families compete for at most BUDGET_S seconds (model.budget).
CANDIDATES: list[str] = [
    "logistic_regression",
    "random_forest",
    "gradient_boosting",
    "svm",
    "knn",
]
BUDGET_S: float = 30.0


def build_pipeline(estimator: BaseEstimator) -> Pipeline:
    """Preprocessing and a candidate estimator, as one pipeline (trees without scaling)."""
    scale = not models.scale_invariant(estimator)
    return Pipeline([("preprocess", build_preprocessor(scale=scale)), ("model", estimator)])
