"""Image data as a frame: an ``image_folder`` source (one sub-folder of PNG/JPEG files per class) or the
bundled digits.

The frame has one row per image: ``image`` (a ``uint8`` ``(H, W, C)`` array, every one of the same size
and channel count) and the target (the class folder's name), indexed by the file's path relative to the
folder (``cat/0001.png``), so ``predictions.csv`` names the file of every test row.

What was read and removed travels with the frame as ``frame.attrs["aispec.images"]`` (a
:class:`FolderReport` as a dict); ``data.validate_frame`` turns it into the row ledger and warnings:

- files whose name does not end in one of ``extensions`` are not images of the data set (counted);
- a file that is not PNG or JPEG by its bytes, declares more pixels than Pillow's bomb limit, or
  cannot be decoded is removed (counted, with a few paths);
- a class folder with no image left is named in a warning (the class cannot be learnt);
- images of another size than ``image_size`` (default: the most common size) are resized, counted;
- the channels are 1 (grey) when most images are stored grey, else 3 (RGB): a colour image in a grey
  set is converted to grey, a grey image in a colour set to RGB (counted), as the service converts a
  request's image.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DataError, where
from . import IMAGE_COLUMN
from .decode import ImageRejected, is_grey, open_image, sniff, to_array

__all__ = ["ATTRS_KEY", "FolderReport", "load_digits", "load_folder"]

ATTRS_KEY = "aispec.images"
_SHOWN = 5  # paths quoted per kind of problem


@dataclass
class FolderReport:
    """What loading the images found: counts, the removed files by reason, the size and channels chosen."""

    source: str  # "image_folder" or "bundled"
    files: int = 0  # image files found (by extension)
    other_files: int = 0  # files that do not end in one of the extensions
    outside: int = 0  # files directly in the folder, in no class folder
    removed: dict[str, list[str]] = field(default_factory=dict)  # reason -> paths
    resized: int = 0
    converted: int = 0  # colour images made grey or grey images made RGB
    size: list[int] = field(default_factory=list)  # [height, width]
    size_source: str = ""  # "data.source.image_size" or "the most common size"
    channels: int = 1
    classes: dict[str, int] = field(default_factory=dict)
    empty_classes: list[str] = field(default_factory=list)
    formats: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _paths(root: Path, extensions: Sequence[str]) -> tuple[dict[str, list[Path]], int, int]:
    wanted = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    classes: dict[str, list[Path]] = {}
    other = outside = 0
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file():
            outside += 1
            continue
        if not entry.is_dir():
            continue
        files: list[Path] = []
        for path in sorted(entry.rglob("*")):
            if not path.is_file() or any(part.startswith(".") for part in path.relative_to(root).parts):
                continue
            if path.suffix.lower() in wanted:
                files.append(path)
            else:
                other += 1
        classes[entry.name] = files
    return classes, other, outside


def load_folder(source: Mapping[str, Any], *, target: str, locations: Mapping[str, str],
                base_dir: Path) -> Any:
    """Read an ``image_folder`` source into a frame (see the module docstring)."""
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]
    from PIL import Image

    from ..data import substitute_env

    loc = where(locations, "data.source.path")
    raw = str(source.get("path", ""))
    root = Path(substitute_env(raw, where_=loc, what="image folder path"))
    if not root.is_absolute():
        root = Path(base_dir) / root
    if not root.exists():
        raise DataError(f"image folder not found: {raw}", where=loc,
                        hint=f"looked for {root.resolve()}; paths are relative to the spec's folder")
    if not root.is_dir():
        raise DataError(f"image_folder path is a file, not a folder: {raw}", where=loc,
                        hint="point it at a folder holding one sub-folder of images per class")
    extensions = [str(e) for e in source.get("extensions") or (".png", ".jpg", ".jpeg")]
    by_class, other, outside = _paths(root, extensions)
    report = FolderReport(source="image_folder", other_files=other, outside=outside)
    if not by_class:
        raise DataError(f"{raw} has no class folders: an image_folder holds one sub-folder of images per class",
                        where=loc, hint="e.g. images/cat/*.png and images/dog/*.png")
    limit = int(Image.MAX_IMAGE_PIXELS or 0) or 2**31  # Pillow's own bomb limit for training data

    # pass 1: headers only (format, size, mode), so the size and channels are known before decoding
    headers: list[tuple[str, str, Path, tuple[int, int], bool]] = []
    for label, files in by_class.items():
        for path in files:
            report.files += 1
            rel = path.relative_to(root).as_posix()
            try:
                data = path.read_bytes()
                image = open_image(data, max_pixels=limit)
            except ImageRejected as exc:
                report.removed.setdefault(_reason(exc.kind), []).append(rel)
                continue
            except OSError:
                report.removed.setdefault("unreadable", []).append(rel)
                continue
            kind = sniff(data) or "?"
            report.formats[kind] = report.formats.get(kind, 0) + 1
            headers.append((rel, label, path, (image.size[1], image.size[0]), is_grey(image)))
            image.close()
    if not headers:
        raise DataError(f"no readable PNG or JPEG image in {raw} ({report.files} files with the extensions "
                        f"{', '.join(extensions)})", where=loc, hint="check the folder and data.source.extensions")
    declared = source.get("image_size")
    if declared:
        size = (int(declared[0]), int(declared[1]))
        report.size_source = "data.source.image_size"
    else:
        size = Counter(h[3] for h in headers).most_common(1)[0][0]
        report.size_source = "the most common size"
    report.size = [size[0], size[1]]
    grey = sum(1 for h in headers if h[4])
    report.channels = 1 if grey > len(headers) - grey else 3  # like the size: what most images are

    # pass 2: decode, convert and resize
    index: list[str] = []
    images: list[Any] = []
    labels: list[str] = []
    for rel, label, path, shape, grey in headers:
        try:
            image = open_image(path.read_bytes(), max_pixels=limit)
            images.append(to_array(image, channels=report.channels, size=size))
        except (ImageRejected, OSError):
            report.removed.setdefault("unreadable", []).append(rel)
            continue
        report.resized += shape != size
        report.converted += grey != (report.channels == 1)
        index.append(rel)
        labels.append(label)
    counts = Counter(labels)
    report.classes = {label: counts.get(label, 0) for label in by_class}
    report.empty_classes = [label for label, n in report.classes.items() if n == 0]
    frame = pd.DataFrame({IMAGE_COLUMN: pd.Series(images, index=index, dtype=object),
                          target: pd.Series(labels, index=index, dtype=object)})
    frame.index.name = "path"
    frame.attrs[ATTRS_KEY] = report.to_dict()
    return frame


def _reason(kind: str) -> str:
    return {"format": "not PNG or JPEG by its bytes", "pixels": "more pixels than Pillow's decompression-bomb limit",
            "empty": "empty file"}.get(kind, "unreadable")


def load_digits() -> Any:
    """scikit-learn's 8×8 digits as grey images: the 17 intensity levels 0-16 scaled to 0-255
    (``round(v × 255 / 16)``: 16 → 255, 8 → 128), so a PNG of a digit holds the pixels the model saw."""
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]
    from sklearn.datasets import load_digits as sk_digits  # type: ignore[import-untyped]

    bunch = sk_digits()
    pixels = np.rint(np.asarray(bunch.images, dtype=np.float64) * 255.0 / 16.0).astype(np.uint8)[..., None]
    frame = pd.DataFrame({IMAGE_COLUMN: pd.Series(list(pixels), dtype=object),
                          "digit": pd.Series(bunch.target.astype("int64"))})
    report = FolderReport(source="bundled", files=len(frame), size=[8, 8], size_source="the data set",
                          channels=1, classes={str(k): int(v) for k, v in
                                               sorted(Counter(bunch.target.tolist()).items())})
    frame.attrs[ATTRS_KEY] = report.to_dict()
    return frame
