"""The ``lightgbm`` family: LightGBM's scikit-learn estimators, with early stopping on the validation split
and ONNX conversion (see :mod:`aispec.runtime.boosting`). LightGBM takes any labels and ``class_weight``
itself."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any

import lightgbm
import numpy as np

from . import Boosted, Stopping, metric_function, register_onnx

__all__ = ["LGBMClassifier", "LGBMRegressor", "adopt", "booster_job"]


def _fit_rounds(model: Any, library_fit: Callable[..., Any], X: Any, y: Any, X_val: Any, y_val: Any,
                rule: Stopping, *, classes: Any, loss: str) -> None:
    """Fit ``model`` with LightGBM's own ``library_fit``, stopping on the validation split; the model keeps the
    best round's trees (:func:`_keep`), so predictions and the ONNX graph agree."""
    custom = rule.metric is not None
    callbacks = [lightgbm.early_stopping(rule.patience, first_metric_only=True, verbose=False,
                                         min_delta=rule.min_delta)]
    before = model.get_params().get("metric")
    eval_metric: Any = None
    if custom:
        watched = metric_function(rule, classes)

        def eval_metric(y_true: Any, y_pred: Any) -> tuple[str, float, bool]:
            return rule.monitor, watched(y_true, y_pred), rule.higher_is_better

        model.set_params(metric="None")  # only the watched metric: early stopping reads the first one
    else:
        model.set_params(metric=loss)
    # LightGBM 4.7 takes the validation rows as eval_X / eval_y (eval_set is deprecated there), older ones as
    # eval_set; its classifier encodes the labels of eval_set only, so eval_y gets them encoded here
    if "eval_X" in inspect.signature(library_fit).parameters:
        given: dict[str, Any] = {"eval_X": (X_val,), "eval_y": (_codes(y_val, classes),)}
    else:
        given = {"eval_set": [(X_val, y_val)]}
    try:
        library_fit(X, y, eval_metric=eval_metric, callbacks=callbacks, **given)
    finally:
        model.set_params(metric=before)
        if before is None:
            model._other_params.pop("metric", None)  # set_params keeps unknown names: leave no trace
    history = list(model.evals_result_["valid_0"][rule.monitor if custom else loss])
    best = int(model.best_iteration_ or len(history)) - 1
    _float32_trees(model, best + 1)
    model._record(rule, history, best)


def _float32_trees(model: Any, rounds: int | None = None) -> None:
    """Rewrite the fitted booster so that ONNX's float32 trees decide exactly as LightGBM does, keeping only the
    first ``rounds`` rounds' trees (None: all).

    LightGBM splits on ``x <= t`` with ``t`` a double (a midpoint between two training values); onnxmltools
    writes ``t`` as the nearest float32, so a value between the two — ``2.285`` when the training rows hold
    ``2.28`` and ``2.29`` — goes the other way in the graph. The pipeline feeds the model float32 numbers
    (``preprocess.Float32Center``), and for a float32 ``x``, ``x <= t`` exactly when ``x <= t'`` with ``t'``
    the largest float32 not above ``t``: the thresholds are replaced by ``t'``, which changes none of the
    model's answers on float32 inputs and makes the graph's exact. Early stopping keeps the best round's trees
    only (LightGBM keeps the later ones and skips them when it predicts, but onnxmltools would convert them)."""
    booster = model.booster_
    text = booster.model_to_string(num_iteration=rounds if rounds is not None else -1)
    text = _THRESHOLDS.sub(lambda m: m[1] + _floor32(m[2]), text)
    kept = lightgbm.Booster(model_str=_TREE_SIZES.sub("", text))  # the trees' byte sizes changed: read them in turn
    if rounds is not None:
        kept.best_iteration = rounds
    model._Booster = kept


_THRESHOLDS = re.compile(r"^(threshold=)(.*)$", re.MULTILINE)
_TREE_SIZES = re.compile(r"^tree_sizes=.*\n", re.MULTILINE)


def _floor32(values: str) -> str:
    """The thresholds of one tree's line, each replaced by the largest float32 not above it (as a double)."""
    t = np.array(values.split(), dtype=np.float64)
    t32 = t.astype(np.float32)
    above = t32.astype(np.float64) > t
    t32[above] = np.nextafter(t32[above], np.float32(-np.inf))
    return " ".join(repr(float(v)) for v in t32)


def _codes(y: Any, classes: Any) -> Any:
    """``y`` as LightGBM's classifier encodes labels (the index in the sorted classes); values unchanged for
    regression (``classes`` None)."""
    if classes is None:
        return y
    values = np.asarray(y)
    codes = np.searchsorted(classes, values)
    known = (codes < len(classes)) & (np.asarray(classes)[np.minimum(codes, len(classes) - 1)] == values)
    if not known.all():
        from ..errors import DataError

        unseen = sorted({str(v) for v in values[~known]})
        raise DataError(f"the validation split holds class(es) {', '.join(unseen)} that the training split lacks",
                        hint="stratify the split (data.split.stratify: true) or give rare classes more rows")
    return codes


class LGBMClassifier(lightgbm.LGBMClassifier, Boosted):
    """``lightgbm.LGBMClassifier`` with early stopping on the validation split."""

    def fit(self, X: Any, y: Any, **fit: Any) -> LGBMClassifier:  # type: ignore[override]
        super().fit(X, y, **fit)
        _float32_trees(self)
        self.rounds_ = None
        return self

    def fit_rounds(self, X: Any, y: Any, X_val: Any, y_val: Any, rule: Stopping) -> LGBMClassifier:
        classes = np.unique(np.asarray(y))  # LightGBM encodes labels in this (sorted) order
        loss = "binary_logloss" if len(classes) == 2 else "multi_logloss"
        _fit_rounds(self, super().fit, X, y, X_val, y_val, rule, classes=classes, loss=loss)
        return self

    @classmethod
    def register_onnx(cls) -> None:
        _register()


class LGBMRegressor(lightgbm.LGBMRegressor, Boosted):
    """``lightgbm.LGBMRegressor`` with early stopping on the validation split."""

    def fit(self, X: Any, y: Any, **fit: Any) -> LGBMRegressor:  # type: ignore[override]
        super().fit(X, y, **fit)
        _float32_trees(self)
        self.rounds_ = None
        return self

    def fit_rounds(self, X: Any, y: Any, X_val: Any, y_val: Any, rule: Stopping) -> LGBMRegressor:
        _fit_rounds(self, super().fit, X, y, X_val, y_val, rule, classes=None, loss="rmse")
        return self

    @classmethod
    def register_onnx(cls) -> None:
        _register()


def _register() -> None:
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import (  # type: ignore[import-untyped]
        convert_lightgbm,
    )

    register_onnx(LGBMClassifier, "AispecLGBMClassifier", convert_lightgbm, classifier=True)
    register_onnx(LGBMRegressor, "AispecLGBMRegressor", convert_lightgbm, classifier=False)


# ------------------------------------------------------------ training elsewhere (a distributed engine)
# As for XGBoost (see xgb.booster_job / xgb.adopt): what the workers need to run ``lightgbm.train``, and the
# trained booster put back into the estimator.


def booster_job(model: Any, X: Any, y: Any, X_val: Any, y_val: Any, rule: Stopping | None) -> dict[str, Any]:
    """``lightgbm.train``'s arguments for ``model`` on rows already through the pipeline's preprocessing:
    ``params`` (the estimator's own, as its fit resolves them: objective, number of classes, aliases),
    ``rounds``, ``X``/``y``/``weight`` (to be split among workers; labels as LightGBM's classifier encodes
    them, class weights as sample weights), ``X_val``/``y_val`` (whole on every worker), ``metric``,
    ``custom`` (an ``feval`` or None), ``maximize``, ``classes``."""
    classes = np.unique(np.asarray(y)) if isinstance(model, lightgbm.LGBMClassifier) else None
    if classes is not None:
        # the estimator resolves its parameters from the classes it saw: let it see them (no tree is built)
        model._le = None
        model._n_classes = len(classes)
        model._objective = model.objective
    params = {k: v for k, v in model._process_params(stage="fit").items() if v is not None}
    weight = None
    if classes is not None and model.class_weight is not None:
        from sklearn.utils.class_weight import compute_sample_weight  # type: ignore[import-untyped]

        weight = compute_sample_weight(model.class_weight, np.asarray(y))
    loss = ("binary_logloss" if len(classes) == 2 else "multi_logloss") if classes is not None else "rmse"
    custom = None
    metric = loss
    if rule is not None and rule.metric is not None:
        watched = metric_function(rule, classes)
        metric = rule.monitor

        def custom(predt: Any, dataset: Any) -> tuple[str, float, bool]:
            return rule.monitor, watched(dataset.get_label(), predt), rule.higher_is_better

        params["metric"] = "None"
    else:
        params["metric"] = loss
    return {"params": params, "rounds": int(model.get_params()["n_estimators"]),
            "X": np.asarray(X, dtype=np.float32), "y": _codes(y, classes), "weight": weight,
            "X_val": None if X_val is None else np.asarray(X_val, dtype=np.float32),
            "y_val": None if y_val is None else _codes(y_val, classes), "metric": metric, "custom": custom,
            "maximize": bool(rule.higher_is_better) if rule is not None else False, "classes": classes}


def adopt(model: Any, text: str, job: Mapping[str, Any], history: list[float] | None, rule: Stopping | None) -> Any:
    """Put a booster trained elsewhere (``text``: ``Booster.model_to_string()``) into ``model`` as its own fit
    would have left it (the float32 thresholds of :func:`_float32_trees` included); ``history``: the monitored
    value per round (early stopping)."""
    from lightgbm.sklearn import _LGBMLabelEncoder  # type: ignore[attr-defined]  # what its fit uses

    booster = lightgbm.Booster(model_str=text)
    model._Booster = booster
    model._n_features = booster.num_feature()
    model._n_features_in = booster.num_feature()
    model._fitted_with_feature_names = False
    model._evals_result = {"valid_0": {job["metric"]: list(history or [])}}
    booster.best_iteration = int(job.get("best") or 0)  # early stopping's best round (1-based; 0: none)
    model._best_iteration = booster.best_iteration
    model._best_score = {}
    if job["classes"] is not None:
        model._le = _LGBMLabelEncoder().fit(job["classes"])
        model._classes = model._le.classes_
        model._n_classes = len(model._classes)
        model._class_map = dict(zip(model._le.classes_, model._le.transform(model._le.classes_), strict=True))
    model.fitted_ = True
    model.rounds_ = None
    if rule is not None and history is not None:
        best = int(booster.best_iteration or len(history)) - 1
        _float32_trees(model, best + 1)
        model._record(rule, history, best)
    else:
        _float32_trees(model)
    return model
