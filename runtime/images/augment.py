"""``data.augmentation.image``: more training images made from the training split's own.

Only the training rows of the final fit are augmented (never the test split, never the validation
split, and not the folds model selection scores: their scores stay those of real images). ``factor``
is the size of the augmented training split relative to the original: ``factor: 2`` keeps every
original image and adds one altered copy of each; ``1.5`` adds a copy of a random half. Each copy draws
its own alteration, seeded (``training.seed``), so a run is repeatable:

- ``flip``: ``horizontal`` / ``vertical`` mirror the copy with probability 1/2; ``both`` draws each
  independently;
- ``rotate: r``: an angle uniform in [-r, r] degrees (bilinear; corners filled black);
- ``crop: c``: a window whose sides are ``1 - u·c`` of the image's (``u`` uniform in [0, 1]), at a
  random place, resized back to the image's size;
- ``color_jitter: j``: brightness and contrast factors uniform in [1 - j, 1 + j] (and saturation for
  RGB images).

Copies are rows of the frame like the originals (index ``<original>#aug<k>``) and are counted in the
row ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import IMAGE_COLUMN

__all__ = ["altered_copies", "augment_rows", "copies_count", "describe", "is_active"]


def is_active(settings: Mapping[str, Any] | None) -> bool:
    """Whether ``settings`` (``data.augmentation.image``) alters anything."""
    if not settings:
        return False
    return (settings.get("flip", "none") != "none" or float(settings.get("rotate", 0)) > 0
            or float(settings.get("crop", 0)) > 0 or float(settings.get("color_jitter", 0)) > 0)


def describe(settings: Mapping[str, Any], factor: float) -> str:
    parts = []
    if settings.get("flip", "none") != "none":
        parts.append(f"flip {settings['flip']}")
    if float(settings.get("rotate", 0)) > 0:
        parts.append(f"rotate ±{float(settings['rotate']):g}°")
    if float(settings.get("crop", 0)) > 0:
        parts.append(f"crop up to {float(settings['crop']):.0%}")
    if float(settings.get("color_jitter", 0)) > 0:
        parts.append(f"colour jitter ±{float(settings['color_jitter']):.0%}")
    return f"data.augmentation.image ({', '.join(parts) or 'nothing'}), factor {factor:g}"


def _one(pixels: NDArray[np.uint8], settings: Mapping[str, Any], rng: np.random.Generator) -> NDArray[np.uint8]:
    from PIL import Image, ImageEnhance

    height, width, channels = pixels.shape
    image = Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels)
    flip = settings.get("flip", "none")
    if flip in ("horizontal", "both") and rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if flip in ("vertical", "both") and rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    rotate = float(settings.get("rotate", 0))
    if rotate > 0:
        image = image.rotate(float(rng.uniform(-rotate, rotate)), resample=Image.Resampling.BILINEAR, fillcolor=0)
    crop = float(settings.get("crop", 0))
    if crop > 0:
        keep = 1.0 - float(rng.uniform(0.0, crop))
        w, h = max(1, round(width * keep)), max(1, round(height * keep))
        left, top = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
        image = image.crop((left, top, left + w, top + h)).resize((width, height), Image.Resampling.BILINEAR)
    jitter = float(settings.get("color_jitter", 0))
    if jitter > 0:
        image = ImageEnhance.Brightness(image).enhance(float(rng.uniform(1 - jitter, 1 + jitter)))
        image = ImageEnhance.Contrast(image).enhance(float(rng.uniform(1 - jitter, 1 + jitter)))
        if channels == 3:
            image = ImageEnhance.Color(image).enhance(float(rng.uniform(1 - jitter, 1 + jitter)))
    return np.asarray(image, dtype=np.uint8).reshape(height, width, channels)


def copies_count(n: int, factor: float) -> int:
    """How many altered copies ``factor`` adds to ``n`` training images: ``round(n × (factor - 1))``."""
    return max(0, round(n * (float(factor) - 1.0))) if n else 0


def altered_copies(images: Any, settings: Mapping[str, Any], *, extra: int,
                   rng: np.random.Generator) -> tuple[list[NDArray[np.uint8]], NDArray[np.int64]]:
    """``extra`` altered copies of ``images`` (a sequence of ``(H, W, C)`` uint8 arrays) and the index of the
    image each was made from: every image ``extra // n`` times, then a random set of the rest, each copy
    drawing its own alteration from ``rng``. The static copies of :func:`augment_rows` and a network's
    fresh copies per epoch are both made here."""
    n = len(images)
    whole, part = divmod(extra, n)
    sources = np.concatenate([np.tile(np.arange(n), whole), np.sort(rng.choice(n, size=part, replace=False))])
    made = [_one(np.asarray(images[i]), settings, rng) for i in sources.tolist()]
    return made, sources.astype(np.int64)


def augment_rows(X: Any, y: Any, settings: Mapping[str, Any], *, factor: float, seed: int,
                 column: str = IMAGE_COLUMN) -> tuple[Any, Any]:
    """``X`` (a frame with an image column) and ``y`` with ``round(len(X) × (factor - 1))`` altered copies
    appended (see the module docstring); unchanged when nothing is to be done."""
    import pandas as pd  # type: ignore[import-untyped]

    n = len(X)
    extra = copies_count(n, factor)
    if n == 0 or extra <= 0 or not is_active(settings):
        return X, y
    images = X[column].tolist()
    names = [str(i) for i in X.index]
    made, sources = altered_copies(images, settings, extra=extra, rng=np.random.default_rng(seed))
    copies: dict[str, int] = {}
    index = []
    for i in sources.tolist():
        copies[names[i]] = copies.get(names[i], 0) + 1
        index.append(f"{names[i]}#aug{copies[names[i]]}")
    added = pd.DataFrame({column: pd.Series(made, index=index, dtype=object)})
    for other in X.columns:
        if other != column:
            added[other] = X[other].to_numpy()[sources]
    X_out = pd.concat([X, added[list(X.columns)]])
    y_out = None
    if y is not None:
        y_values = np.asarray(y, dtype=object)
        y_out = pd.Series(np.concatenate([y_values, y_values[sources]]), index=X_out.index,
                          name=getattr(y, "name", None))
    return X_out, y_out
