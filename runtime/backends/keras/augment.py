"""``data.augmentation.image`` on Keras: fresh altered copies of the training images every epoch.

:class:`AugmentedImages` is a ``keras.utils.PyDataset`` that ``model.fit`` reads instead of the training
arrays: each epoch holds the original images and ``extra`` altered copies
(:func:`aispec.runtime.images.augment.altered_copies`, the same alterations as the scikit-learn back
end's static copies), standardised by the fitted preprocessing and shuffled. Epoch ``e``'s copies and
order come from ``(seed, e)`` alone; :class:`EpochOf` tells the dataset which epoch ``model.fit`` is in
(after ``--resume`` too, where Keras starts at a later epoch).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .env import keras

__all__ = ["AugmentedImages", "EpochOf"]


class AugmentedImages(keras.utils.PyDataset):  # type: ignore[misc]
    """The training batches of one epoch (see the module docstring). ``images``: the training images (uint8
    ``(H, W, C)`` arrays); ``targets``: their class indices; ``standardize``: the fitted preprocessing; a last
    batch of one row joins the one before it (batch normalisation cannot train on one row)."""

    def __init__(self, images: list[Any], targets: Any, *, standardize: Any, settings: dict[str, Any], extra: int,
                 batch_size: int, seed: int) -> None:
        super().__init__()
        self.images, self.settings, self.extra = images, dict(settings), int(extra)
        self.standardize, self.seed = standardize, int(seed)
        self.originals = np.ascontiguousarray(standardize.transform(images), dtype=np.float32)
        self.targets = np.asarray(targets)
        self.rows = len(images) + self.extra
        size = max(1, int(batch_size))
        starts = list(range(0, self.rows, size))
        if len(starts) > 1 and self.rows - starts[-1] == 1:
            starts.pop()
        self.bounds = [(start, starts[i + 1] if i + 1 < len(starts) else self.rows) for i, start in enumerate(starts)]
        self.epoch = 0
        self._data: tuple[int, Any, Any] | None = None

    def __len__(self) -> int:
        return len(self.bounds)

    def epoch_data(self, epoch: int) -> tuple[Any, Any]:
        """Epoch ``epoch``'s images (originals and fresh copies, standardised) and targets, shuffled."""
        from aispec.runtime.images.augment import altered_copies

        if self._data is not None and self._data[0] == epoch:
            return self._data[1], self._data[2]
        rng = np.random.default_rng([self.seed, epoch])
        made, sources = altered_copies(self.images, self.settings, extra=self.extra, rng=rng)
        x = np.concatenate([self.originals, np.asarray(self.standardize.transform(made), dtype=np.float32)])
        y = np.concatenate([self.targets, self.targets[sources]])
        order = rng.permutation(len(x))
        self._data = (epoch, x[order], y[order])
        return self._data[1], self._data[2]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        x, y = self.epoch_data(self.epoch)
        start, stop = self.bounds[index]
        return x[start:stop], y[start:stop]


class EpochOf(keras.callbacks.Callback):  # type: ignore[misc]
    """Sets ``dataset.epoch`` at the start of each epoch ``model.fit`` runs."""

    def __init__(self, dataset: AugmentedImages) -> None:
        super().__init__()
        self.dataset = dataset

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.dataset.epoch = epoch
