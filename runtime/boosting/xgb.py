"""The ``xgboost`` family: XGBoost's scikit-learn estimators, with the target's own labels, class weights,
early stopping on the validation split and ONNX conversion (see :mod:`aispec.runtime.boosting`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xgboost

from . import Boosted, Stopping, metric_function, register_onnx

__all__ = ["XGBClassifier", "XGBRegressor"]

# The model's own loss on the validation split, as XGBoost names it.
_LOSS = {"binary": "logloss", "multiclass": "mlogloss", "regression": "rmse"}


def _fit_rounds(model: Any, library_fit: Callable[..., Any], X: Any, y: Any, X_val: Any, y_val: Any, rule: Stopping,
                *, classes: Any, loss: str, **fit: Any) -> None:
    """Fit ``model`` with XGBoost's own ``library_fit`` (``y`` and ``y_val`` already as XGBoost takes them),
    stopping on the validation split; the booster keeps the best round's trees (``save_best``), so
    predictions and the ONNX graph agree."""
    custom = rule.metric is not None
    name = rule.monitor if custom else loss
    stop = xgboost.callback.EarlyStopping(rounds=rule.patience, metric_name=name, data_name="validation_0",
                                          maximize=rule.higher_is_better, save_best=True, min_delta=rule.min_delta)
    before = {k: model.get_params()[k] for k in ("callbacks", "eval_metric")}
    model.set_params(callbacks=[stop], eval_metric=metric_function(rule, classes) if custom else loss)
    try:
        library_fit(X, y, eval_set=[(X_val, y_val)], verbose=False, **fit)
    finally:
        model.set_params(**before)  # the estimator's parameters stay what the spec said
    history = list(model.evals_result()["validation_0"][name])
    best = int(getattr(model, "best_iteration", len(history) - 1))
    model._record(rule, history, best)


class XGBClassifier(xgboost.XGBClassifier, Boosted):
    """``xgboost.XGBClassifier`` on any labels, with ``class_weight`` (``balanced`` or ``{label: weight}``,
    applied as sample weights; ``cleaning.imbalance: class_weight`` sets ``balanced``)."""

    def __init__(self, *, class_weight: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.class_weight = class_weight

    def _wrapper_params(self) -> set[str]:
        return set(super()._wrapper_params()) | {"class_weight"}  # not a booster parameter

    @property
    def classes_(self) -> Any:
        labels = self.__dict__.get("labels_")
        return labels if labels is not None else np.arange(self.n_classes_)

    def _encode(self, y: Any) -> tuple[Any, Any]:
        from sklearn.preprocessing import LabelEncoder  # type: ignore[import-untyped]

        self.__dict__.pop("labels_", None)  # XGBoost's own fit checks classes_ against 0..k-1
        encoder = LabelEncoder().fit(np.asarray(y))
        weights = None
        if self.class_weight is not None:
            from sklearn.utils.class_weight import compute_sample_weight  # type: ignore[import-untyped]

            weights = compute_sample_weight(self.class_weight, np.asarray(y))
        return encoder, weights

    def fit(self, X: Any, y: Any, **fit: Any) -> XGBClassifier:
        encoder, weights = self._encode(y)
        if weights is not None and fit.get("sample_weight") is None:
            fit["sample_weight"] = weights
        super().fit(X, encoder.transform(np.asarray(y)), **fit)
        self.labels_ = encoder.classes_
        self.rounds_ = None
        return self

    def fit_rounds(self, X: Any, y: Any, X_val: Any, y_val: Any, rule: Stopping) -> XGBClassifier:
        encoder, weights = self._encode(y)
        classes = encoder.classes_
        loss = _LOSS["binary" if len(classes) == 2 else "multiclass"]
        _fit_rounds(self, super().fit, X, encoder.transform(np.asarray(y)), X_val,
                    encoder.transform(np.asarray(y_val)), rule, classes=classes, loss=loss, sample_weight=weights)
        self.labels_ = classes
        return self

    @classmethod
    def register_onnx(cls) -> None:
        _register()

    def predict(self, X: Any, **kwargs: Any) -> Any:
        index = np.asarray(super().predict(X, **kwargs)).astype(int)
        return np.asarray(self.classes_)[index]


class XGBRegressor(xgboost.XGBRegressor, Boosted):
    """``xgboost.XGBRegressor`` with early stopping on the validation split."""

    def fit(self, X: Any, y: Any, **fit: Any) -> XGBRegressor:
        super().fit(X, y, **fit)
        self.rounds_ = None
        return self

    @classmethod
    def register_onnx(cls) -> None:
        _register()

    def fit_rounds(self, X: Any, y: Any, X_val: Any, y_val: Any, rule: Stopping) -> XGBRegressor:
        _fit_rounds(self, super().fit, X, y, X_val, y_val, rule, classes=None, loss=_LOSS["regression"])
        return self


def _register() -> None:
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import (  # type: ignore[import-untyped]
        convert_xgboost,
    )

    register_onnx(XGBClassifier, "AispecXGBClassifier", convert_xgboost, classifier=True)
    register_onnx(XGBRegressor, "AispecXGBRegressor", convert_xgboost, classifier=False)

