"""The report's picture of an image model: test images with their true and predicted class."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import plots
from . import IMAGE_COLUMN

__all__ = ["examples"]


def examples(X: Any, y_true: Any, y_pred: Any, *, count: int = 24, columns: int = 8) -> bytes:
    """Up to ``count`` test images, the mistakes first (in test order), each titled ``true → predicted``."""
    images = X[IMAGE_COLUMN].tolist()
    truth = [str(v) for v in np.asarray(y_true, dtype=object)]
    predicted = [str(v) for v in np.asarray(y_pred, dtype=object)]
    wrong = [i for i in range(len(images)) if truth[i] != predicted[i]]
    right = [i for i in range(len(images)) if truth[i] == predicted[i]]
    chosen = (wrong + right)[:count]
    rows = max(1, -(-len(chosen) // columns))
    with plots._figure(width=1.3 * columns, height=1.5 * rows) as (fig, _):
        fig.clear()
        for k, i in enumerate(chosen):
            ax = fig.add_subplot(rows, columns, k + 1)
            pixels = np.asarray(images[i])
            if pixels.shape[2] == 1:
                ax.imshow(pixels[:, :, 0], cmap="gray", vmin=0, vmax=255)
            else:
                ax.imshow(pixels)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            mistake = truth[i] != predicted[i]
            ax.set_title(f"{plots._short(truth[i], 8)} → {plots._short(predicted[i], 8)}", fontsize=8,
                         color="#b91c1c" if mistake else "#374151", fontweight="bold" if mistake else "normal")
        return plots._png(fig)
