"""The ``lightgbm`` family: LightGBM's scikit-learn estimators, with early stopping on the validation split
and ONNX conversion (see :mod:`aispec.runtime.boosting`). LightGBM takes any labels and ``class_weight``
itself."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import lightgbm
import numpy as np

from . import Boosted, Stopping, metric_function, register_onnx

__all__ = ["LGBMClassifier", "LGBMRegressor"]


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
