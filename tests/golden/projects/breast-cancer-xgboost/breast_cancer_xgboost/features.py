"""The model's inputs and how they are cleaned, encoded and scaled.

One scikit-learn ColumnTransformer, fitted on the training split only (no leakage), exported to ONNX
together with the model.
"""

from __future__ import annotations

from aispec.runtime import preprocess
from sklearn.compose import ColumnTransformer

from breast_cancer_xgboost.config import SPEC, TASK

FEATURES: list[str] = [
    "mean_radius",
    "mean_texture",
    "mean_perimeter",
    "mean_area",
    "mean_smoothness",
    "mean_compactness",
    "mean_concavity",
    "mean_concave_points",
    "mean_symmetry",
    "mean_fractal_dimension",
    "error_radius",
    "error_texture",
    "error_perimeter",
    "error_area",
    "error_smoothness",
    "error_compactness",
    "error_concavity",
    "error_concave_points",
    "error_symmetry",
    "error_fractal_dimension",
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
    "mean_radius": "numeric",
    "mean_texture": "numeric",
    "mean_perimeter": "numeric",
    "mean_area": "numeric",
    "mean_smoothness": "numeric",
    "mean_compactness": "numeric",
    "mean_concavity": "numeric",
    "mean_concave_points": "numeric",
    "mean_symmetry": "numeric",
    "mean_fractal_dimension": "numeric",
    "error_radius": "numeric",
    "error_texture": "numeric",
    "error_perimeter": "numeric",
    "error_area": "numeric",
    "error_smoothness": "numeric",
    "error_compactness": "numeric",
    "error_concavity": "numeric",
    "error_concave_points": "numeric",
    "error_symmetry": "numeric",
    "error_fractal_dimension": "numeric",
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
