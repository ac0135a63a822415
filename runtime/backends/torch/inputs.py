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

Built: ``tabular`` (the shared preprocessing ``ColumnTransformer``; its float32 output is the network's input)
and ``text`` (a text column as token ids: the project's tokenizer, ``aispec.runtime.text.tokens``; the network
takes an int64 ``[batch, tokens]`` matrix padded with the padding id, and the exported graph reads
``input_ids`` and ``attention_mask``, see :mod:`.export_tokens`). Image and window inputs register here as
they are built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ...errors import ConfigError
from .loop import TensorBatches

__all__ = ["INPUT_KINDS", "TabularInputs", "TokenBatches", "TokenInputs", "input_kind"]


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


class TokenBatches:
    """Batches of token rows, each padded to its longest row (the loop's :class:`~.loop.Batches`): reshuffled
    every epoch from ``(seed, epoch)`` alone, as :class:`~.loop.TensorBatches` are, so ``--resume`` sees the same
    batches."""

    def __init__(self, rows: Any, targets: Any, *, pad_id: int, batch_size: int, seed: int = 0,
                 shuffle: bool = True) -> None:
        self.tokens, self.targets = rows, targets
        self.pad_id = pad_id
        self.batch_size = max(1, int(batch_size))
        self.seed, self.shuffle = seed, shuffle
        self.rows = len(rows)
        starts = list(range(0, self.rows, self.batch_size))
        self._bounds = [(start, min(start + self.batch_size, self.rows)) for start in starts]

    def __len__(self) -> int:
        return len(self._bounds)

    def _batch(self, index: Any) -> tuple[Any, Any]:
        import torch

        from ...text.tokens import pad

        ids = pad([self.tokens[int(i)] for i in index], self.pad_id)
        return torch.from_numpy(ids), self.targets[torch.as_tensor(index)]

    def epoch(self, epoch: int | None) -> Iterator[tuple[Any, Any]]:
        import torch

        if not self.shuffle or epoch is None:
            order = torch.arange(self.rows)
        else:
            order = torch.randperm(self.rows, generator=torch.Generator().manual_seed(self.seed * 1_000_003 + epoch))
        for start, stop in self._bounds:
            yield self._batch(order[start:stop].tolist())


class TokenInputs:
    """A text column as token ids through the project's tokenizer (``features.build_preprocessor``, fitted on the
    training rows): ``n_features`` is the vocabulary's size, a batch an int64 matrix padded with ``pad_id``."""

    kind = "tokens"
    # rows per forward pass when predicting: a pretrained encoder's attention over 8,192 padded rows would not
    # fit in memory
    predict_batch = 64

    def __init__(self, preprocessor: Any) -> None:
        if preprocessor is None or not hasattr(preprocessor, "encode"):
            raise ConfigError("a network reading token ids needs the project's tokenizer (features.build_preprocessor)")
        self.tokenizer = preprocessor
        self.n_features = 0

    @property
    def pad_id(self) -> int:
        return int(self.tokenizer.pad_id)

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        self.tokenizer.fit(X)
        self.n_features = self.tokenizer.n_tokens
        return self.transform(X)

    def transform(self, X: Any) -> Any:
        return self.tokenizer.transform(X)

    def tensor(self, rows: Any) -> Any:
        import torch

        from ...text.tokens import pad

        return torch.from_numpy(pad(list(rows), self.pad_id))

    def batches(self, inputs: Any, targets: Any, *, batch_size: int, seed: int, shuffle: bool) -> TokenBatches:
        import torch

        return TokenBatches(inputs, torch.from_numpy(targets), pad_id=self.pad_id, batch_size=batch_size, seed=seed,
                            shuffle=shuffle)


INPUT_KINDS: dict[str, Callable[[Any], Any]] = {"tabular": TabularInputs, "text": TokenInputs}


def input_kind(modality: str, preprocessor: Any) -> Any:
    """The input kind of ``modality`` around ``preprocessor``; ConfigError for one not built yet."""
    if modality not in INPUT_KINDS:
        raise ConfigError(f"the torch back end has no {modality} inputs yet",
                          hint=f"built: {', '.join(sorted(INPUT_KINDS))}")
    return INPUT_KINDS[modality](preprocessor)
