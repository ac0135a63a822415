"""The model's input: images, standardised per channel.

Every image is read at one size and channel count (aispec.runtime.images). The pipeline's first step
standardises each channel with the mean and standard deviation of the rows it is fitted on (the training
split) and, for the scikit-learn families, flattens the pixels into one row. It is exported to ONNX with
the model: the graph takes the N×C×H×W tensor of pixels in [0, 1], which the service makes from a PNG or
JPEG exactly as training made it from the files.
"""

from __future__ import annotations

from aispec.runtime.images.standardize import Standardize

FEATURES: list[str] = ["image"]
FEATURE_TYPES: dict[str, str] = {"image": "image"}


def build_preprocessor(flatten: bool = True) -> Standardize:
    """Standardise each channel; `flatten`: one row of C·H·W pixels (scikit-learn families) rather than
    the N×C×H×W tensor a convolutional network takes."""
    return Standardize(column="image", flatten=flatten)
