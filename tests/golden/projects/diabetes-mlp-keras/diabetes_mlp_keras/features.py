"""The model's inputs and how they are cleaned, encoded and scaled.

One scikit-learn ColumnTransformer, fitted on the training split only (no leakage), exported to ONNX
together with the model.
"""

from __future__ import annotations

from aispec.runtime import preprocess
from sklearn.compose import ColumnTransformer

from diabetes_mlp_keras.config import SPEC, TASK

FEATURES: list[str] = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
FEATURE_TYPES: dict[str, str] = {
    "age": "numeric",
    "sex": "numeric",
    "bmi": "numeric",
    "bp": "numeric",
    "s1": "numeric",
    "s2": "numeric",
    "s3": "numeric",
    "s4": "numeric",
    "s5": "numeric",
    "s6": "numeric",
}


def build_preprocessor(scale: bool = True) -> ColumnTransformer:
    """Impute, clip outliers, scale and encode, per `data.cleaning`.

    ``scale=False`` leaves scaling out: trees see the features unscaled (scaling changes nothing for
    them but the exported model's precision).
    """
    return preprocess.build_preprocessor(
        column_types=FEATURE_TYPES,
        cleaning=SPEC["data"]["cleaning"],
        task=TASK,
        scale=scale,
    )
