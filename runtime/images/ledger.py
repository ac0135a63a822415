"""What loading images did, for the row ledger, the warnings and the column summary of the data report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import where

__all__ = ["image_summary", "record_loading"]

_SHOWN = 3
_SAMPLE = 2000  # images the column summary looks at


def _examples(paths: list[str]) -> str:
    shown = ", ".join(paths[:_SHOWN])
    return f"{shown}, ..." if len(paths) > _SHOWN else shown


def record_loading(report: Any, info: Mapping[str, Any], n_rows: int, locations: Mapping[str, str]) -> None:
    """The loading steps of ``info`` (``images.folder.FolderReport.to_dict()``) as rows of ``report``'s
    ledger (``data.DataReport``), and its findings as warnings naming the spec line."""
    size = info.get("size") or []
    shape = f"{size[0]}×{size[1]}" if len(size) == 2 else "?"
    colour = "grey (1 channel)" if info.get("channels") == 1 else "RGB (3 channels)"
    loc = where(locations, "data.source.path") or where(locations, "data.source")
    at = f" ({loc})" if loc else ""
    if info.get("source") != "image_folder":
        report.record("read", n_rows, n_rows, f"{n_rows:,} images of {shape} pixels, {colour}")
        return
    files = int(info.get("files", 0))
    classes = info.get("classes") or {}
    formats = ", ".join(f"{n:,} {kind}" for kind, n in sorted((info.get("formats") or {}).items()))
    report.record("read", files, files, f"{files:,} image files in {len(classes)} class folders"
                  + (f" ({formats})" if formats else ""))
    rows = files
    for reason, paths in sorted((info.get("removed") or {}).items()):
        before, rows = rows, rows - len(paths)
        report.record(f"image files {reason}", before, rows, f"removed: {_examples(paths)}")
        report.warn(f"{len(paths):,} image file(s) {reason} were removed{at}: {_examples(paths)}")
    resized = int(info.get("resized", 0))
    report.record("resize", rows, rows, f"every image {shape} pixels ({info.get('size_source')}), {colour}; "
                  f"{resized:,} resized from another size, {int(info.get('converted', 0)):,} converted to {colour}")
    if rows != n_rows:  # pragma: no cover - the frame is made from exactly these files
        report.record("read", rows, n_rows, "images in the frame")
    for label in info.get("empty_classes") or []:
        report.warn(f"class folder '{label}' holds no readable image: the model cannot learn that class{at}")
    if info.get("other_files"):
        report.warn(f"{int(info['other_files']):,} file(s) in the class folders do not end in one of "
                    f"data.source.extensions and were not read{at}")
    if info.get("outside"):
        report.warn(f"{int(info['outside']):,} file(s) lie directly in the image folder, in no class folder, and "
                    f"were not read{at}")


def image_summary(name: str, series: Any, *, missing: int) -> Any:
    """The data report's summary of an image column: its shape, and pixel statistics (0-255) over up to
    2,000 images."""
    from ..data import ColumnSummary

    present = [v for v in series.tolist() if isinstance(v, np.ndarray)]
    if not present:
        return ColumnSummary(name=name, dtype="image", declared_type="image", missing=missing, unique=None)
    shape = "×".join(str(d) for d in present[0].shape)
    step = max(1, len(present) // _SAMPLE)
    pixels = np.stack(present[::step]).astype(np.float64)
    return ColumnSummary(name=name, dtype=f"image {shape}", declared_type="image", missing=missing, unique=None,
                         min=float(pixels.min()), max=float(pixels.max()), mean=float(pixels.mean()),
                         std=float(pixels.std()))
