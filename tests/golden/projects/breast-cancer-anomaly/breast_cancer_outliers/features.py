"""The model's inputs and how they are cleaned, encoded and scaled.

One scikit-learn ColumnTransformer, fitted on the training split only (no leakage), exported to ONNX
together with the model.
"""

from __future__ import annotations

from aispec.runtime import preprocess
from sklearn.compose import ColumnTransformer

from breast_cancer_outliers.config import SPEC, TASK

FEATURES: list[str] = [
    "worst_radius",
    "worst_texture",
    "worst_perimeter",
    "worst_area",
    "worst_smoothness",
    "worst_compactness",
    "worst_concavity",
    "worst_concave_points",
    "worst_symmetry",
    "worst_fractal_dimension",
]
FEATURE_TYPES: dict[str, str] = {
    "worst_radius": "numeric",
    "worst_texture": "numeric",
    "worst_perimeter": "numeric",
    "worst_area": "numeric",
    "worst_smoothness": "numeric",
    "worst_compactness": "numeric",
    "worst_concavity": "numeric",
    "worst_concave_points": "numeric",
    "worst_symmetry": "numeric",
    "worst_fractal_dimension": "numeric",
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
