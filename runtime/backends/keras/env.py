"""Keras 3 on its PyTorch back end, imported once the back end is chosen.

Importing this module sets ``KERAS_BACKEND=torch`` unless the environment already names a back end,
then imports Keras: modules that need Keras at import time (the callbacks) import it from here. A
generated Keras project sets the same variable in its package ``__init__`` so that its ``model.py``
can ``import keras`` like any Keras code. Only the torch back end is supported (one framework
installed, and the ONNX export goes through ``torch.onnx``): another one is a ConfigError.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # type: ignore[import-untyped]

from ...errors import ConfigError

__all__ = ["keras", "require_torch"]


def require_torch() -> None:
    """ConfigError unless Keras runs on PyTorch."""
    name = keras.backend.backend()
    if name != "torch":
        raise ConfigError(f"Keras runs on its '{name}' back end here; aispec's Keras back end needs 'torch'",
                          hint="unset KERAS_BACKEND (or set KERAS_BACKEND=torch) before the project starts")
