"""The first step of every image model: pixels in [0, 1] standardised per channel, and its ONNX form.

:class:`Standardize` learns each channel's mean and standard deviation on the rows it is fitted on (the
training split, or a training fold during model selection) and returns ``(x - mean) / std`` in float32,
flattened to one row of ``C·H·W`` numbers for the scikit-learn families (``flatten=True``) or as the
``N×C×H×W`` tensor a convolutional network takes (``flatten=False``).

In ONNX it is ``Sub`` and ``Div`` by ``[1, C, 1, 1]`` constants (then ``Flatten``): the graph's input is
the ``N×C×H×W`` tensor of pixels in [0, 1], the same for every model, and the service only decodes,
resizes and divides by 255. scikit-learn and onnxruntime compute the same float32 operations in the same
order, so the standardised pixels agree exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin  # type: ignore[import-untyped]

from . import IMAGE_COLUMN
from .decode import to_tensor

__all__ = ["Standardize", "register_converter", "tensor_of"]

_MIN_STD = 1e-6  # a channel that never varies is centred, not divided by ~0


def tensor_of(X: Any, column: str = IMAGE_COLUMN) -> NDArray[np.float32]:
    """The ``N×C×H×W`` float32 tensor of ``X``: a frame with an image column, a series of images, a
    sequence of ``(H, W, C)`` arrays, or a tensor already (returned as float32)."""
    if isinstance(X, np.ndarray) and X.ndim == 4 and X.dtype != np.uint8:
        as32: NDArray[np.float32] = X.astype(np.float32, copy=False)
        return as32
    if hasattr(X, "columns"):
        X = X[column]
    if hasattr(X, "tolist"):
        X = X.tolist() if not isinstance(X, np.ndarray) else X
    return to_tensor(X)


class Standardize(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Per-channel standardisation of images (see the module docstring); ``mean_`` / ``std_`` are float32."""

    def __init__(self, column: str = IMAGE_COLUMN, flatten: bool = True) -> None:
        self.column = column
        self.flatten = flatten

    def fit(self, X: Any, y: Any = None) -> Standardize:
        tensor = tensor_of(X, self.column)
        as64 = tensor.astype(np.float64)
        mean = as64.mean(axis=(0, 2, 3))
        std = as64.std(axis=(0, 2, 3))
        self.mean_ = mean.astype(np.float32)
        self.std_ = np.where(std < _MIN_STD, 1.0, std).astype(np.float32)
        self.shape_ = tuple(int(d) for d in tensor.shape[1:])  # (C, H, W)
        return self

    def transform(self, X: Any) -> NDArray[np.float32]:
        tensor = tensor_of(X, self.column)
        if tuple(tensor.shape[1:]) != self.shape_:
            raise ValueError(f"images of shape {tuple(tensor.shape[1:])} (C, H, W); the model takes {self.shape_}")
        out: NDArray[np.float32] = (tensor - self.mean_[None, :, None, None]) / self.std_[None, :, None, None]
        return out.reshape(len(out), -1) if self.flatten else out

    def get_feature_names_out(self, input_features: Any = None) -> NDArray[Any]:
        c, h, w = self.shape_
        return np.asarray([f"pixel_{k}_{i}_{j}" for k in range(c) for i in range(h) for j in range(w)], dtype=object)


def _shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType  # type: ignore[import-untyped]

    op = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    c, h, w = op.shape_
    operator.outputs[0].type = FloatTensorType([n, c * h * w] if op.flatten else [n, c, h, w])


def _convert(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    op = operator.raw_operator
    channels = len(op.mean_)
    mean = scope.get_unique_variable_name("image_mean")
    std = scope.get_unique_variable_name("image_std")
    container.add_initializer(mean, TensorProto.FLOAT, [1, channels, 1, 1], op.mean_.astype(np.float32).tolist())
    container.add_initializer(std, TensorProto.FLOAT, [1, channels, 1, 1], op.std_.astype(np.float32).tolist())
    centred = scope.get_unique_variable_name("image_centred")
    container.add_node("Sub", [operator.inputs[0].full_name, mean], [centred],
                       name=scope.get_unique_operator_name("Sub"))
    if op.flatten:
        scaled = scope.get_unique_variable_name("image_scaled")
        container.add_node("Div", [centred, std], [scaled], name=scope.get_unique_operator_name("Div"))
        container.add_node("Flatten", [scaled], [operator.outputs[0].full_name], axis=1,
                           name=scope.get_unique_operator_name("Flatten"))
    else:
        container.add_node("Div", [centred, std], [operator.outputs[0].full_name],
                           name=scope.get_unique_operator_name("Div"))


_registered = False


def register_converter() -> None:
    """Teach skl2onnx to convert :class:`Standardize` (once per process)."""
    global _registered
    if _registered:
        return
    from skl2onnx import update_registered_converter  # type: ignore[import-untyped]

    update_registered_converter(Standardize, "AispecImageStandardize", _shape, _convert)
    _registered = True
