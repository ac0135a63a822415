"""The Keras back end: Keras 3 on its PyTorch back end, behind the scikit-learn preprocessing of
``features.py``, trained with ``model.fit`` and callbacks, searched with Optuna on the validation split,
exported with the preprocessing to one ONNX graph.

What differs between back ends lives in the back end (this package) and in its template overlay
(``templates/backends/keras/``); the workflow only calls the methods of ``aispec.runtime.api.Backend``.

- :mod:`.backend`: :class:`KerasBackend`, the ``Backend`` the registry names;
- :mod:`.pipeline`: :class:`KerasClassifier` / :class:`KerasRegressor`, what a project's ``build_pipeline``
  returns;
- :mod:`.settings`: the ``training`` section and the family's parameters, resolved (:class:`Training`);
- :mod:`.callbacks`: the progress line per epoch and the search's pruning (import Keras);
- :mod:`.search`: Optuna on the validation split;
- :mod:`.export`: preprocessing (skl2onnx) + network (Keras) → one ONNX graph, with its parity check;
- :mod:`.env`: imports Keras on PyTorch.

Importing this package does not import Keras or PyTorch; fitting, exporting and the callbacks do.
"""

from __future__ import annotations

from .backend import KerasBackend
from .pipeline import KerasClassifier, KerasPipeline, KerasRegressor
from .settings import EarlyStop, FitData, Training

__all__ = ["EarlyStop", "FitData", "KerasBackend", "KerasClassifier", "KerasPipeline", "KerasRegressor", "Training"]
