"""Input kinds: how the rows a project loads become the tensors a network takes, and the front of the
exported ONNX graph that does the same for a client's request.

Each kind is one class with the same small interface, chosen by the task's modality
(``vocabulary.task_info(task).modality``), so the estimator, the training loop and the export do not
change when a network takes another input:

- ``fit_transform(X, y)`` / ``transform(X)``: the network's inputs (a NumPy array) for a frame of rows;
- ``n_features``: how many numbers one input holds; ``input_shape``: its shape (without the batch);
  ``network_input``: what ``build_network`` is handed (a width, or the image's ``(C, H, W)``);
- ``batches(inputs, targets, ..., augment=...)``: the :class:`~.loop.Batches` the training loop iterates
  (``augment``: the training batches of the final fit, where an input kind with augmentation draws it);
- ``tensor(inputs)``: a batch for prediction;
- ``onnx_front(X_sample)``: the ONNX graph from the client's inputs to the network's, with its output name
  and the input contract (``columns``, ``inputs``) serving.json carries.

Built: ``tabular`` (the shared preprocessing ``ColumnTransformer``; its float32 output is the network's input)
and ``image`` (the images' per-channel standardisation, ``images.standardize.Standardize``: ``N×C×H×W`` for
a CNN, flattened for an MLP; with ``data.augmentation.image``, fresh altered copies every epoch).
``text``: a text column as token ids (the project's tokenizer, ``aispec.runtime.text.tokens``; the network
takes an int64 ``[batch, tokens]`` matrix padded with the padding id, and the exported graph reads
``input_ids`` and ``attention_mask``, see :mod:`.export_tokens`). Window inputs register here as they are built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ...errors import ConfigError
from .loop import TensorBatches

__all__ = ["INPUT_KINDS", "AugmentedImageBatches", "ImageInputs", "TabularInputs", "TokenBatches", "TokenInputs",
           "input_kind"]


class TabularInputs:
    """Table rows through the project's preprocessing (impute, encode, scale): a float32 matrix."""

    kind = "tabular"

    def __init__(self, preprocessor: Any, augmentation: Mapping[str, Any] | None = None) -> None:
        self.preprocessor = preprocessor
        self.n_features = 0

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.n_features,)

    @property
    def network_input(self) -> int:
        return self.n_features

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

    def batches(self, inputs: Any, targets: Any, *, batch_size: int, seed: int, shuffle: bool,
                augment: bool = False) -> TensorBatches:
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


class AugmentedImageBatches:
    """The training images with ``extra`` altered copies drawn afresh every epoch (``data.augmentation.image``,
    :func:`aispec.runtime.images.augment.altered_copies`): epoch ``e``'s copies come from ``(seed, e)`` alone,
    so a resumed run sees the same images as an uninterrupted one. Each epoch is the originals and that
    epoch's copies, standardised and shuffled as :class:`~.loop.TensorBatches` shuffles (``epoch(None)``:
    the originals in order)."""

    def __init__(self, images: list[Any], targets: Any, *, standardize: Any, settings: Mapping[str, Any],
                 extra: int, batch_size: int, seed: int) -> None:
        import torch

        self.images, self.settings, self.extra = images, dict(settings), int(extra)
        self.standardize = standardize
        self.originals = torch.from_numpy(standardize.transform(images))
        self.targets = torch.from_numpy(targets)
        self.batch_size, self.seed = batch_size, seed
        self.rows = len(images) + self.extra
        self.device: Any = None
        size = max(1, int(batch_size))
        starts = range(0, self.rows, size)
        # as TensorBatches counts them: a last batch of one row joins the one before it
        self._count = len(starts) - (1 if len(starts) > 1 and self.rows - starts[-1] == 1 else 0)

    def __len__(self) -> int:
        return self._count

    def to(self, device: Any) -> AugmentedImageBatches:
        self.device = device
        return self

    def copies(self, epoch: int) -> tuple[Any, Any]:
        """Epoch ``epoch``'s altered copies, standardised, and their targets."""
        import numpy as np
        import torch

        from ...images.augment import altered_copies

        rng = np.random.default_rng([self.seed, epoch])
        made, sources = altered_copies(self.images, self.settings, extra=self.extra, rng=rng)
        return torch.from_numpy(self.standardize.transform(made)), self.targets[torch.from_numpy(sources)]

    def epoch(self, epoch: int | None) -> Iterator[tuple[Any, Any]]:
        import torch

        if epoch is None or self.extra == 0:
            inputs, targets = self.originals, self.targets
        else:
            made, made_targets = self.copies(epoch)
            inputs, targets = torch.cat([self.originals, made]), torch.cat([self.targets, made_targets])
        batches = TensorBatches(inputs, targets, batch_size=self.batch_size, seed=self.seed,
                                shuffle=epoch is not None)
        if self.device is not None:
            batches = batches.to(self.device)
        yield from batches.epoch(epoch)


class ImageInputs:
    """Images through the project's per-channel standardisation (``features.build_preprocessor``, an
    :class:`aispec.runtime.images.standardize.Standardize`): ``N×C×H×W`` float32 for a CNN
    (``flatten=False``), one row of ``C·H·W`` numbers for an MLP. ``augmentation``
    (``{"image": settings, "factor": f}``): the final fit's training batches hold fresh altered copies of
    the training images every epoch (:class:`AugmentedImageBatches`)."""

    kind = "image"

    def __init__(self, preprocessor: Any, augmentation: Mapping[str, Any] | None = None) -> None:
        self.preprocessor = preprocessor
        self.augmentation = dict(augmentation) if augmentation else None
        self.input_shape: tuple[int, ...] = ()
        self._images: list[Any] = []

    @property
    def n_features(self) -> int:
        import math

        return math.prod(self.input_shape)

    @property
    def network_input(self) -> Any:
        """``(C, H, W)`` for a network that takes images, the width for one that takes flattened pixels."""
        return self.input_shape if len(self.input_shape) > 1 else self.input_shape[0]

    def _images_of(self, X: Any) -> list[Any]:
        column = getattr(self.preprocessor, "column", "image")
        values = X[column] if hasattr(X, "columns") else X
        return list(values.tolist() if hasattr(values, "tolist") else values)

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        if self.preprocessor is None:
            raise ConfigError("an image network needs the project's preprocessor (features.build_preprocessor)")
        out = self.preprocessor.fit(X).transform(X)
        self.input_shape = tuple(int(d) for d in out.shape[1:])
        self._images = self._images_of(X) if self.augmentation else []
        return out

    def transform(self, X: Any) -> Any:
        return self.preprocessor.transform(X)

    def tensor(self, inputs: Any) -> Any:
        import torch

        return torch.from_numpy(inputs)

    def batches(self, inputs: Any, targets: Any, *, batch_size: int, seed: int, shuffle: bool,
                augment: bool = False) -> Any:
        import torch

        if augment and self.augmentation and self._images:
            from ...images.augment import copies_count

            return AugmentedImageBatches(self._images, targets, standardize=self.preprocessor,
                                         settings=self.augmentation["image"],
                                         extra=copies_count(len(self._images), self.augmentation["factor"]),
                                         batch_size=batch_size, seed=seed)
        return TensorBatches(torch.from_numpy(inputs), torch.from_numpy(targets), batch_size=batch_size, seed=seed,
                             shuffle=shuffle)

    def onnx_front(self, X_sample: Any) -> tuple[Any, str, dict[str, str], dict[str, str]]:
        """The standardisation as ONNX (``Sub``, ``Div`` by ``[1, C, 1, 1]`` constants, then ``Flatten`` for an
        MLP): one input, ``image``, float32 ``N×C×H×W`` of pixels in [0, 1], as every image model takes."""
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType  # type: ignore[import-untyped]

        from ...export import TARGET_OPSET
        from ...images import INPUT_NAME
        from ...images.standardize import register_converter

        register_converter()
        channels, height, width = self.preprocessor.shape_
        model = convert_sklearn(self.preprocessor,
                                initial_types=[(INPUT_NAME, FloatTensorType([None, channels, height, width]))],
                                target_opset=dict(TARGET_OPSET))
        column = str(getattr(self.preprocessor, "column", "image"))
        return model, model.graph.output[0].name, {column: INPUT_NAME}, {INPUT_NAME: "image"}


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

    def __init__(self, preprocessor: Any, augmentation: Mapping[str, Any] | None = None) -> None:
        # text augmentation happens before the fit (runtime.text.augment): nothing is drawn per epoch here
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

    @property
    def network_input(self) -> int:
        """What ``build_network`` is handed: the vocabulary's size."""
        return self.n_features

    def batches(self, inputs: Any, targets: Any, *, batch_size: int, seed: int, shuffle: bool,
                augment: bool = False) -> TokenBatches:
        import torch

        return TokenBatches(inputs, torch.from_numpy(targets), pad_id=self.pad_id, batch_size=batch_size, seed=seed,
                            shuffle=shuffle)


INPUT_KINDS: dict[str, Callable[..., Any]] = {"tabular": TabularInputs, "image": ImageInputs, "text": TokenInputs}


def input_kind(modality: str, preprocessor: Any, augmentation: Mapping[str, Any] | None = None) -> Any:
    """The input kind of ``modality`` around ``preprocessor`` (``augmentation``: the image settings a final fit
    draws per epoch); ConfigError for one not built yet."""
    if modality not in INPUT_KINDS:
        raise ConfigError(f"the torch back end has no {modality} inputs yet",
                          hint=f"built: {', '.join(sorted(INPUT_KINDS))}")
    return INPUT_KINDS[modality](preprocessor, augmentation)
