"""Input kinds: how the rows a project loads become the tensors a network takes, and the front of the
exported ONNX graph that does the same for a client's request.

Each kind is one class with the same small interface, chosen by the task's modality
(``vocabulary.task_info(task).modality``), so the estimator, the training loop and the export do not
change when a network takes another input:

- ``fit_transform(X, y)`` / ``transform(X)``: the network's inputs (a NumPy array) for a frame of rows;
- ``n_features``: the width a network's first layer takes;
- ``batches(inputs, targets, ...)``: the :class:`~.loop.Batches` the training loop iterates;
- ``tensor(inputs)``: a batch for prediction;
- ``onnx_front(X_sample)``: the ONNX graph from the client's inputs to the network's, with its output name
  and the input contract (``columns``, ``inputs``) serving.json carries.

Built: ``tabular`` (the shared preprocessing ``ColumnTransformer``; its float32 output is the network's input).
Image, token and window inputs register here as they are built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import ConfigError
from .loop import TensorBatches

__all__ = ["INPUT_KINDS", "TabularInputs", "input_kind"]


class TabularInputs:
    """Table rows through the project's preprocessing (impute, encode, scale): a float32 matrix."""

    kind = "tabular"

    def __init__(self, preprocessor: Any) -> None:
        self.preprocessor = preprocessor
        self.n_features = 0

    @staticmethod
    def _dense(values: Any) -> Any:
        import numpy as np

        values = values.toarray() if hasattr(values, "toarray") else values
        return np.ascontiguousarray(values, dtype=np.float32)

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        if self.preprocessor is None:
            raise ConfigError("a tabular network needs the project's preprocessor (features.build_preprocessor)")
        out = self._dense(self.preprocessor.fit_transform(X, y))
        self.n_features = int(out.shape[1])
        return out

    def transform(self, X: Any) -> Any:
        return self._dense(self.preprocessor.transform(X))

    def tensor(self, inputs: Any) -> Any:
        import torch

        return torch.from_numpy(inputs)

    def batches(self, inputs: Any, targets: Any, *, batch_size: int, seed: int, shuffle: bool) -> TensorBatches:
        import torch

        return TensorBatches(torch.from_numpy(inputs), torch.from_numpy(targets), batch_size=batch_size, seed=seed,
                             shuffle=shuffle)

    def onnx_front(self, X_sample: Any) -> tuple[Any, str, dict[str, str], dict[str, str]]:
        """The preprocessing as ONNX (skl2onnx, like the scikit-learn projects: one input per column)."""
        import warnings

        from skl2onnx import convert_sklearn  # type: ignore[import-untyped]
        from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]

        from ...export import _INPUT_KIND, TARGET_OPSET, _double_columns, onnx_inputs
        from ...preprocess import onnx_options

        # the columns whose first step is a Float32Center take float64 (found by walking a pipeline)
        types = onnx_inputs(X_sample, _double_columns(Pipeline([("preprocess", self.preprocessor)])))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"onnx(\.|$)")
            model = convert_sklearn(self.preprocessor, initial_types=types,
                                    options=onnx_options(self.preprocessor) or None,
                                    target_opset=dict(TARGET_OPSET))
        names = [i.name for i in model.graph.input]
        columns = {str(col): name for col, name in zip(X_sample.columns, names, strict=True)}
        inputs = {name: _INPUT_KIND[type(kind).__name__] for name, (_, kind) in zip(names, types, strict=True)}
        return model, model.graph.output[0].name, columns, inputs


INPUT_KINDS: dict[str, Callable[[Any], Any]] = {"tabular": TabularInputs}


def input_kind(modality: str, preprocessor: Any) -> Any:
    """The input kind of ``modality`` around ``preprocessor``; ConfigError for one not built yet."""
    if modality not in INPUT_KINDS:
        raise ConfigError(f"the torch back end has no {modality} inputs yet",
                          hint=f"built: {', '.join(sorted(INPUT_KINDS))}")
    return INPUT_KINDS[modality](preprocessor)
