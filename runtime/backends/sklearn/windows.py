"""Lag-window regressors for forecasting: a scaler and a scikit-learn regressor on the lag matrix of
``aispec.runtime.series.windows``, exported to ONNX with one float input ``lags`` (rows, lags).

The forecasting loop around the model (recursive or direct) lives in ``runtime.series.kernels`` and is
the same for every back end; a back end only provides these two functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aispec.schemas.vocabulary import FAMILIES

__all__ = ["export_windows", "window_model"]

# regressors that take a target with several columns (direct multi-step) as they are
_MULTI_OUTPUT = frozenset({"linear", "ridge", "lasso", "elastic_net", "random_forest", "extra_trees", "mlp", "knn",
                           "decision_tree"})


def window_model(family: str, *, params: dict[str, Any], seed: int, scaling: str, outputs: int) -> Any:
    """The unfitted pipeline: ``data.cleaning.scaling`` on the lags (all one variable, so one scale
    per lag column fitted on the training windows), then the family's regressor; one regressor per step
    (``MultiOutputRegressor``) for a direct forecast by a family that predicts one value."""
    from sklearn.multioutput import MultiOutputRegressor  # type: ignore[import-untyped]
    from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler  # type: ignore[import-untyped]

    from ...models import make_estimator

    estimator = make_estimator(family, task="forecasting", params=params, seed=seed)
    if outputs > 1 and family not in _MULTI_OUTPUT:
        estimator = MultiOutputRegressor(estimator)
    steps: list[tuple[str, Any]] = []
    if FAMILIES[family].scale_invariant:  # trees: scaling changes nothing but the ONNX graph's precision
        scaling = "none"
    scaler = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}.get(scaling)
    if scaler is not None:
        steps.append(("scale", scaler()))
    steps.append(("model", estimator))
    return Pipeline(steps)


def export_windows(model: Any, *, n_lags: int, outputs: int, path: Path) -> dict[str, Any]:
    """``model`` as ONNX at ``path``: input ``lags`` float32 (rows, n_lags), output ``variable``
    (rows, outputs). Returns the output names and opsets."""
    from skl2onnx import convert_sklearn  # type: ignore[import-untyped]
    from skl2onnx.common.data_types import FloatTensorType  # type: ignore[import-untyped]

    from ...errors import ExportError

    try:
        onx = convert_sklearn(model, initial_types=[("lags", FloatTensorType([None, n_lags]))],
                              target_opset={"": 17, "ai.onnx.ml": 3})
    except Exception as exc:  # skl2onnx raises many kinds; the user needs the message
        raise ExportError(f"cannot export the lag model to ONNX: {type(exc).__name__}: {exc}") from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(onx.SerializeToString())
    tmp.replace(path)
    return {"outputs": [o.name for o in onx.graph.output],
            "opset": {o.domain: int(o.version) for o in onx.opset_import},
            "framework": "scikit-learn"}
