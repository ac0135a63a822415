"""The one text form of a label or category, from the spec through training, ONNX, the service and drift.

A class label or a categorical value is compared as text, written one way everywhere:

- ``None`` / NaN / NaT → ``""`` (missing);
- booleans → ``"true"`` / ``"false"`` (the YAML and JSON spelling, so ``positive_class: true`` in a
  spec, ``true`` in a request and ``true`` in a CSV are the same class);
- integers → their digits; whole floats → the integer's digits (``1.0`` → ``"1"``, so a class read
  as 1 by one tool and 1.0 by another stays one class); other floats → the shortest text that reads
  back as the same float (``repr``);
- text → unchanged, byte for byte (``"01001"`` stays ``"01001"``, ``"1.50"`` stays ``"1.50"``, ``"NA"``
  stays ``"NA"``).

No heavy imports: the compiler (``positive_class``), the training runtime and the service all use it.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

__all__ = ["label_text"]


def label_text(value: Any) -> str:
    """The canonical text of a label or categorical value (see the module docstring)."""
    if value is None:
        return ""
    item = getattr(value, "item", None)  # numpy scalars → Python scalars
    if callable(item) and not isinstance(value, str | bytes):
        with contextlib.suppress(TypeError, ValueError):
            value = item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 2**63:
            return str(int(value))
        return repr(value)
    if isinstance(value, str):
        return value
    text = str(value)
    return "" if text in ("NaT", "<NA>", "nan") else text
