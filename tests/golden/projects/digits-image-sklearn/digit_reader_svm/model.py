"""The model of digit-reader-svm: svm on scikit-learn."""

from __future__ import annotations

from typing import Any

from aispec.runtime import models
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from digit_reader_svm.config import SEED, TASK
from digit_reader_svm.features import build_preprocessor

FAMILY = "svm"
# Fixed hyperparameters (model.params); the search below overrides the ones it tunes.
PARAMS: dict[str, Any] = {"C": 10, "gamma": "scale"}


def build_estimator(params: dict[str, Any] | None = None) -> BaseEstimator:
    """The estimator with PARAMS, overridden by ``params`` (e.g. from the search)."""
    return models.make_estimator(FAMILY, task=TASK, params={**PARAMS, **(params or {})}, seed=SEED)


def build_pipeline(params: dict[str, Any] | None = None) -> Pipeline:
    """Preprocessing and the estimator, as one pipeline (exported to ONNX as a whole)."""
    return Pipeline([("preprocess", build_preprocessor()), ("model", build_estimator(params))])
