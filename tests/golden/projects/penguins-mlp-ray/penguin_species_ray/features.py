"""The model's inputs and how they are cleaned, encoded and scaled.

One scikit-learn ColumnTransformer, fitted on the training split only (no leakage), exported to ONNX
together with the model.
"""

from __future__ import annotations

from aispec.runtime import preprocess
from sklearn.compose import ColumnTransformer

from penguin_species_ray.config import SPEC, TASK

FEATURES: list[str] = [
    "island",
    "bill_length_mm",
    "bill_depth_mm",
    "flipper_length_mm",
    "body_mass_g",
]
FEATURE_TYPES: dict[str, str] = {
    "island": "categorical",
    "bill_length_mm": "numeric",
    "bill_depth_mm": "numeric",
    "flipper_length_mm": "numeric",
    "body_mass_g": "numeric",
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
