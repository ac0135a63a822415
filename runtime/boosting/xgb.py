"""The ``xgboost`` family: XGBoost's scikit-learn estimators, with the target's own labels, class weights,
early stopping on the validation split and ONNX conversion (see :mod:`aispec.runtime.boosting`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import xgboost

from . import Boosted, Stopping, metric_function, register_onnx

__all__ = ["XGBClassifier", "XGBRegressor", "adopt", "booster_job"]

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



# ------------------------------------------------------------ training elsewhere (a distributed engine)
# The booster is trained by ``xgboost.train`` on workers (``hardware.distributed``); these two functions are
# the estimator's side of it: what the workers need (booster parameters, labels as XGBoost takes them, the
# watched metric), and putting the trained booster back into the estimator, so that prediction, the report
# and the ONNX export see the model a local fit would have made.


def booster_job(model: Any, X: Any, y: Any, X_val: Any, y_val: Any, rule: Stopping | None) -> dict[str, Any]:
    """``xgboost.train``'s arguments for ``model`` (an estimator of this module) on rows already through the
    pipeline's preprocessing: ``params``, ``rounds``, ``X``/``y``/``weight`` (to be split among workers),
    ``X_val``/``y_val`` (every worker gets the whole validation split, so a metric is the local one),
    ``metric`` (the monitored name), ``custom`` (a ``(predt, dmatrix) -> (name, value)`` function or None),
    ``maximize``, ``classes``."""
    params = dict(model.get_xgb_params())
    classes = None
    weight = None
    labels, labels_val = np.asarray(y), None if y_val is None else np.asarray(y_val)
    if isinstance(model, XGBClassifier):
        encoder, weight = model._encode(y)
        classes = encoder.classes_
        labels = encoder.transform(labels)
        labels_val = None if y_val is None else encoder.transform(labels_val)
        if len(classes) > 2:  # what XGBClassifier.fit sets
            params.update(objective="multi:softprob", num_class=len(classes))
        loss = _LOSS["binary" if len(classes) == 2 else "multiclass"]
    else:
        loss = _LOSS["regression"]
    custom = None
    metric = loss
    if rule is not None and rule.metric is not None:
        watched = metric_function(rule, classes)
        metric = rule.monitor

        def custom(predt: Any, dmatrix: Any) -> tuple[str, float]:
            return rule.monitor, watched(dmatrix.get_label(), predt)

        params["disable_default_eval_metric"] = 1
    else:
        params["eval_metric"] = loss
    params = {k: v for k, v in params.items() if v is not None}
    return {"params": params, "rounds": int(model.get_params()["n_estimators"]), "X": np.asarray(X, dtype=np.float32),
            "y": labels, "weight": weight, "X_val": None if X_val is None else np.asarray(X_val, dtype=np.float32),
            "y_val": labels_val, "metric": metric, "custom": custom,
            "maximize": bool(rule.higher_is_better) if rule is not None else False, "classes": classes}


def adopt(model: Any, raw: bytes, job: Mapping[str, Any], history: list[float] | None, rule: Stopping | None) -> Any:
    """Put a booster trained elsewhere (``raw``: ``Booster.save_raw("ubj")``) into ``model``, as its own fit
    would have left it; ``history``: the monitored value per round (early stopping), whose best round the
    booster already ends at."""
    booster = xgboost.Booster()
    booster.load_model(bytearray(raw))
    model._Booster = booster
    if isinstance(model, XGBClassifier):
        model.n_classes_ = len(job["classes"])
        model.labels_ = job["classes"]
    model.rounds_ = None
    if rule is not None and history is not None:
        best = booster.attr("best_iteration")
        model._record(rule, history, int(best) if best is not None else len(history) - 1)
    return model
