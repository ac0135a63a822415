"""XGBoost and LightGBM as scikit-learn estimators of the scikit-learn back end: what the two share.

The families ``xgboost`` and ``lightgbm`` (``schemas/vocabulary.py``) are built by
``runtime.models.make_estimator`` as the classes of :mod:`.xgb` and :mod:`.lgbm`: the libraries' own
scikit-learn estimators, subclassed only to add what aispec needs of every model of the back end —

- **labels as they are**: the classifiers take and return the target's own labels (XGBoost's takes only
  0..k-1), and ``classes_`` holds them, so metrics, reports and the ONNX graph's ``label`` output name
  the classes;
- **early stopping on the validation split** (:meth:`Boosted.fit_rounds`, called by the back end's fit
  when the spec holds a validation split out and sets ``training.early_stopping``): ``n_estimators`` is the
  ceiling, the monitored value is the model's loss on the validation split (``val_loss``: log loss for
  classification, RMSE for regression) or a metric of the task (``val_f1_macro``, ...) computed by
  ``runtime.metrics`` on the decoded labels; the model keeps the best round's trees and ``rounds_`` says
  how many of the ceiling it kept and why;
- **one ONNX graph**: onnxmltools' converters registered with skl2onnx for these classes
  (:func:`register_onnx`), so a whole pipeline — preprocessing and trees — converts in one
  ``convert_sklearn`` call.

The library modules are imported only by :mod:`.xgb` / :mod:`.lgbm`, so a project that uses neither
never imports them, and one that uses LightGBM does not need XGBoost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from aispec.schemas.vocabulary import BOOSTING_PATIENCE

__all__ = ["Boosted", "Stopping", "register_onnx", "stopping_rule"]


@dataclass(frozen=True, slots=True)
class Stopping:
    """``training.early_stopping`` as a boosting fit applies it: stop after ``patience`` rounds in which
    ``monitor`` (on the validation split) has not improved by more than ``min_delta``."""

    patience: int
    min_delta: float
    monitor: str  # "val_loss" or "val_<metric of the task>"
    higher_is_better: bool
    task: str
    positive_class: Any = None

    @property
    def metric(self) -> str | None:
        """The task metric watched (``f1_macro`` for ``val_f1_macro``), or None for the model's own loss."""
        return None if self.monitor == "val_loss" else self.monitor.removeprefix("val_")


def stopping_rule(training: Mapping[str, Any] | None, task: str, positive_class: Any = None) -> Stopping | None:
    """The early-stopping rule of the spec's ``training`` section, or None when early stopping is off.

    ``early_stopping: true`` is ``BOOSTING_PATIENCE`` rounds watching ``val_loss``; a mapping gives
    ``patience``, ``monitor`` (``val_loss``, or a quality metric of the task with or without ``val_``) and
    ``min_delta``. A monitor the check refuses (AIS355) is a ConfigError here too.
    """
    from aispec.schemas.vocabulary import monitor_target

    from ..errors import ConfigError

    setting = (training or {}).get("early_stopping")
    if not setting:
        return None
    rule: Mapping[str, Any] = setting if isinstance(setting, Mapping) else {}
    monitor = rule.get("monitor") or "val_loss"
    target = monitor_target(monitor, task)
    if target is None or target[0] == "loss":
        raise ConfigError(f"early stopping of a boosting model cannot watch '{monitor}'", code="AIS355",
                          hint="watch the validation split: val_loss, or a metric of the task such as "
                               "val_accuracy or val_rmse")
    key, higher = target
    return Stopping(patience=int(rule.get("patience") or BOOSTING_PATIENCE),
                    min_delta=float(rule.get("min_delta") or 0), monitor=key, higher_is_better=higher, task=task,
                    positive_class=positive_class)


def _proba(y_score: Any, n_classes: int) -> Any:
    """Class probabilities from what a library hands a custom metric: one column per class, or the
    positive class's probability alone for a binary model."""
    scores = np.asarray(y_score, dtype=float)
    if scores.ndim == 1 or scores.shape[1] == 1:
        p = scores.reshape(-1)
        return np.column_stack([1.0 - p, p]) if n_classes == 2 else scores.reshape(-1, 1)
    return scores


def metric_function(rule: Stopping, classes: Any) -> Callable[[Any, Any], float]:
    """``f(y_true, y_score)`` of the watched metric, on labels the library encoded as 0..k-1 (classification)
    or on values (regression): what both libraries call once per round on the validation split."""
    from .. import metrics

    name = rule.metric
    assert name is not None
    labels = None if classes is None else np.asarray(classes)

    def value(y_true: Any, y_score: Any) -> float:
        if labels is None:
            result = metrics.compute(rule.task, [name], y_true=np.asarray(y_true), y_pred=np.asarray(y_score))
        else:
            proba = _proba(y_score, len(labels))
            truth = labels[np.asarray(y_true).astype(int)]
            predicted = labels[np.argmax(proba, axis=1)]
            result = metrics.compute(rule.task, [name], y_true=truth, y_pred=predicted, y_score=proba,
                                     labels=list(labels), positive_class=rule.positive_class)
        return float(result[name])

    value.__name__ = rule.monitor  # the name the libraries log it under
    return value


class Boosted:
    """What aispec adds to a library's estimator (mixed into the classes of :mod:`.xgb` and :mod:`.lgbm`)."""

    #: after :meth:`fit_rounds`: ``{"ceiling", "rounds", "trained", "stopped_early", "monitor", "best",
    #: "patience", "min_delta", "history": {monitor: [value per round]}}``; None after a plain fit
    rounds_: dict[str, Any] | None = None

    def fit_rounds(self, X: Any, y: Any, X_val: Any, y_val: Any, rule: Stopping) -> Any:
        """Fit with early stopping on ``(X_val, y_val)`` (already through the pipeline's preprocessing)."""
        raise NotImplementedError

    def _record(self, rule: Stopping, history: list[float], best: int) -> None:
        ceiling = int(self.get_params()["n_estimators"])  # type: ignore[attr-defined]
        values = [float(v) for v in history]
        self.rounds_ = {"ceiling": ceiling, "rounds": best + 1, "trained": len(values),
                        "stopped_early": len(values) < ceiling, "monitor": rule.monitor,
                        "higher_is_better": rule.higher_is_better,
                        "best": values[best] if 0 <= best < len(values) else None, "patience": rule.patience,
                        "min_delta": rule.min_delta, "history": {rule.monitor: values}}


_REGISTERED: set[type] = set()


def register_onnx(cls: type, name: str, converter: Callable[..., Any], *, classifier: bool) -> None:
    """Make skl2onnx convert ``cls`` with onnxmltools' ``converter`` (once), so that a pipeline holding it
    converts as one graph. Classifiers take skl2onnx's usual options (``zipmap: False`` gives the
    ``label`` / ``probabilities`` outputs the service reads)."""
    if cls in _REGISTERED:
        return
    from skl2onnx import update_registered_converter  # type: ignore[import-untyped]
    from skl2onnx.common.shape_calculator import (  # type: ignore[import-untyped]
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    if classifier:
        update_registered_converter(cls, name, calculate_linear_classifier_output_shapes, converter,
                                    options={"nocl": [True, False], "zipmap": [True, False, "columns"]})
    else:
        update_registered_converter(cls, name, calculate_linear_regressor_output_shapes, converter)
    _REGISTERED.add(cls)
