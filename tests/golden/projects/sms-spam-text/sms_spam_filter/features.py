"""The model's inputs and how they are cleaned, encoded and scaled.

One scikit-learn ColumnTransformer, fitted on the training split only (no leakage), exported to ONNX
together with the model.
"""

from __future__ import annotations

from aispec.runtime import preprocess
from sklearn.compose import ColumnTransformer

from sms_spam_filter.config import SPEC, TASK

FEATURES: list[str] = ["text"]
FEATURE_TYPES: dict[str, str] = {"text": "text"}


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
