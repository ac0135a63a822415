"""The model's inputs and how they are cleaned, encoded and scaled.

One scikit-learn ColumnTransformer, fitted on the training split only (no leakage), exported to ONNX
together with the model.
"""

from __future__ import annotations

from aispec.runtime import preprocess
from sklearn.compose import ColumnTransformer

from wine_cultivar.config import SPEC, TASK

FEATURES: list[str] = [
    "alcohol",
    "malic_acid",
    "ash",
    "alcalinity_of_ash",
    "magnesium",
    "total_phenols",
    "flavanoids",
    "nonflavanoid_phenols",
    "proanthocyanins",
    "color_intensity",
    "hue",
    "od280_od315",
    "proline",
]
FEATURE_TYPES: dict[str, str] = {
    "alcohol": "numeric",
    "malic_acid": "numeric",
    "ash": "numeric",
    "alcalinity_of_ash": "numeric",
    "magnesium": "numeric",
    "total_phenols": "numeric",
    "flavanoids": "numeric",
    "nonflavanoid_phenols": "numeric",
    "proanthocyanins": "numeric",
    "color_intensity": "numeric",
    "hue": "numeric",
    "od280_od315": "numeric",
    "proline": "numeric",
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
