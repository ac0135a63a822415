"""One image, read the same way for training and for serving.

1. The format by its first bytes (PNG or JPEG), never by the file's name or a declared content type.
2. The pixel count from the header before any pixel is decoded: a few hundred bytes of PNG can declare
   50,000×50,000 pixels (a decompression bomb); Pillow's ``Image.open`` reads only the header, so the
   size is checked before ``load()`` allocates anything.
3. Decoded, the EXIF orientation applied, transparency composited over black, 16-bit grey scaled to
   8 bits, converted to the project's mode (``L`` grey or ``RGB``) and resized (bilinear, Pillow's
   antialiased resampling) to its size.

Only numpy and Pillow are imported: the service uses this module. A rejected image raises
:class:`ImageRejected`, whose ``status`` is the HTTP status the service answers with (413 for too
many pixels, 422 otherwise).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["DEFAULT_MAX_PIXELS", "FORMATS", "RESAMPLE", "ImageRejected", "encode_png", "is_grey", "open_image",
           "read_image", "sniff", "to_array", "to_tensor"]

FORMATS = ("PNG", "JPEG")
# The service's default limit (serving.json `image.max_pixels`): 4096×4096 pixels decode to at most
# 48 MiB (RGB), and a real photo that large is bigger than any sensible deployment.api.max_body.
DEFAULT_MAX_PIXELS = 4096 * 4096
RESAMPLE = "bilinear"
_GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_SIXTEEN_BIT = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})


class ImageRejected(ValueError):
    """An image the project does not take: ``kind`` is ``format``, ``pixels``, ``unreadable`` or ``empty``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    @property
    def status(self) -> int:
        return 413 if self.kind == "pixels" else 422


def sniff(data: bytes) -> str | None:
    """``PNG`` or ``JPEG`` from the first bytes (the formats' signatures), else None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    return None


def open_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Any:  # a PIL.Image.Image
    """The decoded Pillow image of ``data`` (PNG or JPEG by its bytes, at most ``max_pixels`` pixels)."""
    from PIL import Image, ImageOps

    if not data:
        raise ImageRejected("empty", "the image is empty (0 bytes)")
    kind = sniff(data)
    if kind is None:
        raise ImageRejected("format", "not a PNG or JPEG image (judged by its first bytes, not its name)")
    try:
        with warnings.catch_warnings():
            # our own limit is checked below, on the header, before any pixel is decoded
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image: Any = Image.open(io.BytesIO(data), formats=[kind])
    except Image.DecompressionBombError:
        raise ImageRejected("pixels", f"the {kind} declares more than {2 * (Image.MAX_IMAGE_PIXELS or 0):,} "
                                      f"pixels (a decompression bomb); at most {max_pixels:,} are accepted "
                                      "(image.max_pixels)") from None
    except Exception as exc:  # Pillow raises UnidentifiedImageError, SyntaxError, ValueError, OSError, ...
        raise ImageRejected("unreadable", f"cannot read the {kind} header: {_reason(exc)}") from None
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageRejected("unreadable", f"the {kind} declares {width}×{height} pixels")
    if width * height > max_pixels:
        raise ImageRejected("pixels", f"the {kind} declares {width:,}×{height:,} = {width * height:,} pixels, more "
                                      f"than the {max_pixels:,} accepted (image.max_pixels)")
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
    except Exception as exc:  # truncated or corrupt data
        raise ImageRejected("unreadable", f"cannot decode the {kind}: {_reason(exc)}") from None
    return image


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def is_grey(image: Any) -> bool:
    """Whether ``image`` is stored without colour (grey modes, or a palette of greys)."""
    if image.mode in _GREY_MODES:
        return True
    if image.mode in ("P", "PA"):
        palette = image.getpalette() or []
        return all(palette[i] == palette[i + 1] == palette[i + 2] for i in range(0, len(palette) - 2, 3))
    return False


def _without_alpha(image: Any) -> Any:
    """Transparency composited over black (``value × alpha``), so a transparent pixel reads as dark."""
    from PIL import Image

    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode in ("P", "L", "RGB") and "transparency" in image.info)
    if not has_alpha:
        return image
    rgba = image.convert("RGBA")
    black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
    return Image.alpha_composite(black, rgba).convert("RGB")


def to_array(image: Any, *, channels: int, size: Sequence[int]) -> NDArray[np.uint8]:
    """``image`` as ``uint8`` ``(height, width, channels)`` at ``size`` = (height, width)."""
    from PIL import Image

    height, width = int(size[0]), int(size[1])
    if image.mode in _SIXTEEN_BIT:
        # 16-bit grey: the high byte (Pillow's own conversion to L would clip at 255 instead)
        wide = np.asarray(image, dtype=np.int64)
        image = Image.fromarray((np.clip(wide, 0, 65535) >> 8).astype(np.uint8))  # 2-D uint8: mode L
    image = _without_alpha(image)
    mode = "L" if channels == 1 else "RGB"
    if image.mode != mode:
        image = image.convert(mode)
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    array = np.asarray(image, dtype=np.uint8)
    return array.reshape(height, width, channels)


def read_image(data: bytes, *, channels: int, size: Sequence[int],
               max_pixels: int = DEFAULT_MAX_PIXELS) -> NDArray[np.uint8]:
    """:func:`open_image` then :func:`to_array`: raw bytes to the project's ``(H, W, C)`` array."""
    return to_array(open_image(data, max_pixels=max_pixels), channels=channels, size=size)


def to_tensor(images: Any) -> NDArray[np.float32]:
    """Images (a sequence of ``(H, W, C)`` uint8 arrays, or one ``(N, H, W, C)`` array) as the ``float32``
    ``N×C×H×W`` tensor every model takes: pixels divided by 255 (in float32, the same in every caller)."""
    if isinstance(images, np.ndarray) and images.ndim == 4:
        stacked = images
    else:
        cells = list(images)
        if not cells:
            raise ValueError("no images")
        stacked = np.stack([np.asarray(c) for c in cells])
    if stacked.ndim != 4:
        raise ValueError(f"images must be (height, width, channels) arrays, got shape {stacked.shape[1:]}")
    return np.ascontiguousarray(stacked.transpose(0, 3, 1, 2)).astype(np.float32) / np.float32(255.0)


def encode_png(array: NDArray[Any]) -> bytes:
    """A ``(H, W, C)`` uint8 array as PNG bytes (lossless: a client sending them gets the same pixels)."""
    from PIL import Image

    pixels = np.asarray(array, dtype=np.uint8)
    image = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)  # uint8: L or RGB
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
