"""Evaluation: quality metrics, per-class and per-group results, fairness, latency and gates.

Conventions (beyond ``docs/runtime-api.md``):

* ``labels`` is the class order of the columns of ``y_score`` (an estimator's ``classes_``). When it
  is not given, the sorted union of ``y_true`` and ``y_pred`` is used.
* ``y_score`` for classification is a probability matrix ``(n, len(labels))`` or, for a binary
  problem, the 1-D probability (or decision score) of the positive class.
* The positive class of a binary problem is ``positive_class``; without it the last label in
  ``labels`` order (scikit-learn's ``classes_[1]``).
* Anomaly detection: ``y_pred`` follows scikit-learn (``-1`` = anomaly, ``1`` = normal) or is
  boolean (``True`` = anomaly); ``y_score`` is an anomaly score, *higher = more anomalous* (pass
  ``-estimator.score_samples(X)`` or ``-decision_function(X)``). ``y_true`` is the evaluation
  label: boolean or 0/1 (1 = anomaly), -1/1 (scikit-learn convention), or any two labels with
  ``positive_class`` naming the anomalous one (without it, the rarer label is the anomaly).
* Percentage-like errors (``mape``, ``smape``) are fractions, as in scikit-learn (0.05 = 5 %), so
  the canonical criterion ``mape <= 0.01`` (written ``mape <= 1%`` in a spec) compares directly.
* A metric that is mathematically undefined for the data (a silhouette with one cluster, a
  ``mase`` on a constant series) is ``nan``; reports write it as ``null`` and a gate on it fails.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from numpy.typing import NDArray
from sklearn import metrics as skm  # type: ignore[import-untyped]
from sklearn.preprocessing import label_binarize  # type: ignore[import-untyped]

from aispec.schemas import expressions
from aispec.schemas.expressions import Criterion
from aispec.schemas.labels import label_text
from aispec.schemas.vocabulary import CLASSIFICATION, METRICS, REGRESSION, Task

from .errors import ConfigError, where

__all__ = [
    "GateReport",
    "anomaly_flags",
    "anomaly_truth",
    "check_gates",
    "compute",
    "fairness",
    "latency",
    "mase_scale",
    "merge_gates",
    "parse_criterion",
    "per_class",
    "per_group",
]

_CLASSIFICATION = CLASSIFICATION
_REGRESSION = REGRESSION
_CLUSTERING = Task.clustering.value
_ANOMALY = Task.anomaly_detection.value
_TASKS = {t.value for t in Task}

FAIRNESS_METRICS = tuple(n for n, m in METRICS.items() if m.kind == "fairness")


def _cfg(message: str, hint: str | None = None) -> ConfigError:
    return ConfigError(message, hint=hint)


def _arr(values: Any) -> NDArray[Any]:
    if isinstance(values, pd.DataFrame | pd.Series):
        return np.asarray(values.to_numpy())
    return np.asarray(values)


def _f(value: Any) -> float:
    return float(value)


# ------------------------------------------------------------------------------------------------ compute


def compute(task: str, names: Sequence[str], *, y_true: Any, y_pred: Any, y_score: Any = None,
            labels: Sequence[Any] | None = None, positive_class: Any = None, X: Any = None,
            notes: dict[str, str] | None = None, mase_scale: float | None = None) -> dict[str, float]:
    """Compute the quality metrics ``names`` (from ``vocabulary.METRICS``) for ``task``.

    Returns ``{name: value}`` in the order asked. Unknown names, names of another task, operational
    or fairness metrics (see :func:`latency` / :func:`fairness`) and names whose inputs are missing
    (``roc_auc`` without ``y_score``, ``silhouette`` without ``X``, ``nmi`` without ``y_true``)
    raise :class:`~aispec.runtime.errors.ConfigError`. A metric that has no value for these inputs
    (``mape`` with a zero target, ``log_loss`` with a class the model has no score for) is ``nan``, and
    ``notes`` (when given) receives why, by metric name. ``mase_scale`` (forecasting): the denominator of
    ``mase``, the in-sample MAE of the seasonal-naive forecast on the training part of the series
    (:func:`mase_scale`); ``mase`` has no value without it.
    """
    task = str(getattr(task, "value", task))
    if task not in _TASKS:
        raise _cfg(f"unknown task '{task}'", f"one of: {', '.join(sorted(_TASKS))}")
    for name in names:
        info = METRICS.get(name)
        if info is None:
            known = sorted(n for n, m in METRICS.items() if m.kind == "quality" and task in {t.value for t in m.tasks})
            raise _cfg(f"unknown metric '{name}'", f"metrics for {task}: {', '.join(known)}")
        if info.kind != "quality":
            how = "metrics.latency()" if info.kind == "operational" else "metrics.fairness()"
            raise _cfg(f"'{name}' is an {info.kind} metric, not computed from predictions",
                       f"measure it with {how} and merge the values before checking gates")
        if task not in {t.value for t in info.tasks}:
            raise _cfg(f"metric '{name}' does not apply to task '{task}'")
    if task in _CLASSIFICATION:
        ctx: _Ctx = _ClassificationCtx(y_true, y_pred, y_score, labels, positive_class)
    elif task in _REGRESSION:
        ctx = _RegressionCtx(y_true, y_pred, mase_scale)
    elif task == _CLUSTERING:
        ctx = _ClusteringCtx(y_true, y_pred, X)
    else:
        ctx = _AnomalyCtx(y_true, y_pred, y_score, positive_class)
    values = {name: ctx.metric(name) for name in names}
    if notes is not None:
        notes.update(ctx.undefined)
    return values


class _Undefined(Exception):
    """A metric with no value for these inputs (reported as nan, so a gate on it fails)."""


def _union(a: NDArray[Any], b: NDArray[Any]) -> list[Any]:
    """The labels of ``a`` and ``b``, sorted (by text when the types differ)."""
    values = list(dict.fromkeys([*a.tolist(), *b.tolist()]))
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


class _Ctx:
    undefined: dict[str, str]

    def metric(self, name: str) -> float:
        fn: Callable[[], float] | None = getattr(self, f"m_{name}", None)
        if fn is None:  # pragma: no cover - every quality metric of every task has a method
            raise _cfg(f"metric '{name}' is not implemented for this task")
        if not hasattr(self, "undefined"):
            self.undefined = {}
        try:
            return fn()
        except _Undefined as why:
            self.undefined[name] = str(why)
            return math.nan
        except ValueError as exc:  # scikit-learn's complaint about the inputs, as a readable error
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise _cfg(f"cannot compute '{name}': {first}") from exc


def _ranking(truth: NDArray[np.bool_], score: NDArray[Any], fn: Callable[..., Any]) -> float:
    """A ranking metric (ROC AUC, average precision); nan when only one class is present."""
    if truth.all() or not truth.any():
        return math.nan
    return _f(fn(truth, score))


def _need(value: Any, what: str, name: str, hint: str) -> Any:
    if value is None:
        raise _cfg(f"metric '{name}' needs {what}, and none was given", hint)
    return value


class _ClassificationCtx(_Ctx):
    def __init__(self, y_true: Any, y_pred: Any, y_score: Any, labels: Sequence[Any] | None,
                 positive_class: Any) -> None:
        if y_true is None:
            raise _cfg("classification metrics need y_true")
        self.y_true = _arr(y_true)
        self.y_pred = _arr(y_pred)
        present = _union(self.y_true, self.y_pred)
        # ``labels``: the order of the score columns (the model's classes); ``present``: the classes in the
        # truth or the predictions, over which averages run (as scikit-learn does), so a class the model
        # never saw in training still counts in macro averages and per-class results
        self.labels = list(labels) if labels is not None else present
        self.present = present
        self.y_score = None if y_score is None else _arr(y_score)
        self.positive_class = positive_class
        # scores say nothing about classes they have no column for: metrics on scores are undefined then
        unscored = set(map(str, self.y_true.tolist())) - set(map(str, self.labels))
        self.unscored = sorted(unscored)

    # -- helpers
    def _pos(self, name: str) -> Any:
        if self.positive_class is not None:
            candidates = [*self.labels, *self.present]
            if self.positive_class in candidates:
                return self.positive_class
            same_text = list(dict.fromkeys(lab for lab in candidates if label_text(lab) == label_text(
                self.positive_class)))
            if len(same_text) == 1:  # "1" in the spec, 1 in the data
                return same_text[0]
            shown = ", ".join(repr(label_text(label)) for label in self.labels[:10])
            raise _cfg(f"positive class {label_text(self.positive_class)!r} is not one of the labels: {shown}",
                       "set problem.positive_class to one of the target's values")
        if len(self.labels) == 2:
            return self.labels[-1]
        raise _cfg(f"'{name}' is a binary metric and there are {len(self.labels)} classes",
                   f"use '{name}_macro' or set problem.positive_class" if f"{name}_macro" in METRICS
                   else "set problem.positive_class")

    def _scores(self, name: str) -> NDArray[Any]:
        if self.unscored:
            raise _Undefined(f"'{name}' is undefined: the test split holds class(es) "
                             f"{', '.join(map(repr, self.unscored[:5]))} that the model has no score for")
        return np.asarray(_need(self.y_score, "y_score (class probabilities)", name,
                                "pass y_score=pipeline.predict_proba(X)"))

    def _proba(self, name: str) -> NDArray[np.float64]:
        """Scores as an (n, n_labels) matrix in ``labels`` order."""
        s = self._scores(name).astype(float)
        if s.ndim == 1:
            if len(self.labels) != 2:
                raise _cfg(f"'{name}' needs a probability column per class, got a 1-D y_score for "
                           f"{len(self.labels)} classes")
            pos = self._pos(name)
            p = s if pos == self.labels[1] else 1.0 - s
            return np.column_stack([1.0 - p, p])
        if s.shape[1] != len(self.labels):
            raise _cfg(f"y_score has {s.shape[1]} columns but there are {len(self.labels)} labels",
                       "pass labels=estimator.classes_ in the order of the predict_proba columns")
        return s

    def _pos_score(self, name: str) -> NDArray[np.float64]:
        s = self._scores(name).astype(float)
        pos = self._pos(name)
        if s.ndim == 1:
            return s
        if s.shape[1] != len(self.labels):
            raise _cfg(f"y_score has {s.shape[1]} columns but there are {len(self.labels)} labels")
        return s[:, self.labels.index(pos)]

    def _binary_prf(self, fn: Callable[..., Any], name: str) -> float:
        pos = self._pos(name)
        if len(self.labels) == 2:
            return _f(fn(self.y_true, self.y_pred, pos_label=pos, average="binary", zero_division=0))
        # a named class of a multiclass problem: that class against the rest
        return _f(fn(self.y_true, self.y_pred, labels=[pos], average="macro", zero_division=0))

    def _avg(self, fn: Callable[..., Any], average: str) -> float:
        return _f(fn(self.y_true, self.y_pred, labels=self.present, average=average, zero_division=0))

    # -- metrics
    def m_accuracy(self) -> float:
        return _f(skm.accuracy_score(self.y_true, self.y_pred))

    def m_balanced_accuracy(self) -> float:
        return _f(skm.balanced_accuracy_score(self.y_true, self.y_pred))

    def m_precision(self) -> float:
        return self._binary_prf(skm.precision_score, "precision")

    def m_recall(self) -> float:
        return self._binary_prf(skm.recall_score, "recall")

    def m_f1(self) -> float:
        return self._binary_prf(skm.f1_score, "f1")

    def m_precision_macro(self) -> float:
        return self._avg(skm.precision_score, "macro")

    def m_recall_macro(self) -> float:
        return self._avg(skm.recall_score, "macro")

    def m_f1_macro(self) -> float:
        return self._avg(skm.f1_score, "macro")

    def m_f1_weighted(self) -> float:
        return self._avg(skm.f1_score, "weighted")

    def m_f1_micro(self) -> float:
        return self._avg(skm.f1_score, "micro")

    def m_roc_auc(self) -> float:
        if len(self.labels) > 2:  # documented: the one-vs-rest macro average, as roc_auc_ovr
            return self.m_roc_auc_ovr()
        pos = self._pos("roc_auc")
        return _ranking(self.y_true == pos, self._pos_score("roc_auc"), skm.roc_auc_score)

    def m_roc_auc_ovr(self) -> float:
        if len(self.labels) == 2:
            pos = self._pos("roc_auc_ovr")
            return _ranking(self.y_true == pos, self._pos_score("roc_auc_ovr"), skm.roc_auc_score)
        proba = self._proba("roc_auc_ovr")
        return _f(skm.roc_auc_score(self.y_true, proba, multi_class="ovr", average="macro", labels=self.labels))

    def m_average_precision(self) -> float:
        if len(self.labels) == 2:
            pos = self._pos("average_precision")
            return _ranking(self.y_true == pos, self._pos_score("average_precision"), skm.average_precision_score)
        onehot = label_binarize(self.y_true, classes=self.labels)
        return _f(skm.average_precision_score(onehot, self._proba("average_precision"), average="macro"))

    def m_log_loss(self) -> float:
        return _f(skm.log_loss(self.y_true, self._proba("log_loss"), labels=self.labels))

    def m_mcc(self) -> float:
        return _f(skm.matthews_corrcoef(self.y_true, self.y_pred))

    def m_cohen_kappa(self) -> float:
        return _f(skm.cohen_kappa_score(self.y_true, self.y_pred, labels=self.present))

    def m_brier(self) -> float:
        pos = self._pos("brier")
        return _f(skm.brier_score_loss(self.y_true == pos, self._pos_score("brier")))


def mase_scale(train: Any, season: int = 1) -> float:
    """The MASE denominator (Hyndman & Koehler 2006; the M4 competition's): the mean absolute difference
    between each training value and the value one season (``season``; 1 without one) before it, i.e. the
    in-sample MAE of the seasonal-naive forecast on the training part. nan when there are too few values."""
    y = _arr(train).astype(float).ravel()
    m = max(1, int(season))
    if len(y) <= m:
        return math.nan
    return _f(np.mean(np.abs(y[m:] - y[:-m])))


class _RegressionCtx(_Ctx):
    def __init__(self, y_true: Any, y_pred: Any, mase_scale: float | None = None) -> None:
        if y_true is None:
            raise _cfg("regression metrics need y_true")
        self.y_true = _arr(y_true).astype(float)
        self.y_pred = _arr(y_pred).astype(float)
        self.mase_scale = mase_scale

    def m_mse(self) -> float:
        return _f(skm.mean_squared_error(self.y_true, self.y_pred))

    def m_rmse(self) -> float:
        return _f(skm.root_mean_squared_error(self.y_true, self.y_pred))

    def m_mae(self) -> float:
        return _f(skm.mean_absolute_error(self.y_true, self.y_pred))

    def m_r2(self) -> float:
        return _f(skm.r2_score(self.y_true, self.y_pred))

    def m_mape(self) -> float:
        zeros = int(np.sum(self.y_true == 0))
        if zeros:  # scikit-learn divides by machine epsilon instead: figures like 1e15
            raise _Undefined(f"'mape' is undefined: {zeros} true value(s) are 0 (use mae, or smape)")
        return _f(skm.mean_absolute_percentage_error(self.y_true, self.y_pred))

    def m_median_ae(self) -> float:
        return _f(skm.median_absolute_error(self.y_true, self.y_pred))

    def m_explained_variance(self) -> float:
        return _f(skm.explained_variance_score(self.y_true, self.y_pred))

    def m_smape(self) -> float:
        """Symmetric MAPE as a fraction in [0, 2]: mean(2|y - ŷ| / (|y| + |ŷ|)), 0/0 counted as 0."""
        num = 2.0 * np.abs(self.y_true - self.y_pred)
        den = np.abs(self.y_true) + np.abs(self.y_pred)
        ratio = np.divide(num, den, out=np.zeros_like(num), where=den != 0)
        return _f(np.mean(ratio))

    def m_mase(self) -> float:
        """MAE over ``mase_scale``: the in-sample MAE of the seasonal-naive forecast on the training part
        (:func:`mase_scale`), so below 1 beats what repeating last season did on the training data."""
        scale = self.mase_scale
        if scale is None:
            raise _Undefined("'mase' is undefined without the training series: its scale is the seasonal-naive "
                             "forecast's MAE on the training part")
        if not math.isfinite(scale) or scale == 0.0:
            raise _Undefined("'mase' is undefined: the training series does not change from one season to the next")
        return _f(np.mean(np.abs(self.y_true - self.y_pred))) / scale


class _ClusteringCtx(_Ctx):
    def __init__(self, y_true: Any, y_pred: Any, X: Any) -> None:
        self.y_true = None if y_true is None else _arr(y_true)
        self.y_pred = _arr(y_pred)
        self.X = X

    def _x(self, name: str) -> NDArray[np.float64]:
        x = _need(self.X, "X (the features the clusters were fitted on)", name,
                  "pass X=pipeline[:-1].transform(X) (the numeric matrix the clusterer saw)")
        try:
            return np.asarray(_arr(x), dtype=float)
        except (TypeError, ValueError) as exc:
            raise _cfg(f"metric '{name}' needs a numeric X", "pass the preprocessed matrix, not the raw frame") \
                from exc

    def _internal(self, fn: Callable[..., Any], name: str) -> float:
        x = self._x(name)
        n_clusters = len(np.unique(self.y_pred))
        if n_clusters < 2 or n_clusters > len(self.y_pred) - 1:
            return math.nan  # undefined: scikit-learn would raise
        return _f(fn(x, self.y_pred))

    def _yt(self, name: str) -> NDArray[Any]:
        return np.asarray(_need(self.y_true, "y_true (reference labels)", name,
                                "set problem.target to a label column used only for evaluation"))

    def m_silhouette(self) -> float:
        return self._internal(skm.silhouette_score, "silhouette")

    def m_calinski_harabasz(self) -> float:
        return self._internal(skm.calinski_harabasz_score, "calinski_harabasz")

    def m_davies_bouldin(self) -> float:
        return self._internal(skm.davies_bouldin_score, "davies_bouldin")

    def m_adjusted_rand(self) -> float:
        return _f(skm.adjusted_rand_score(self._yt("adjusted_rand"), self.y_pred))

    def m_nmi(self) -> float:
        return _f(skm.normalized_mutual_info_score(self._yt("nmi"), self.y_pred))


def anomaly_flags(y_pred: Any) -> NDArray[np.bool_]:
    """Predictions of an outlier detector as booleans (True = anomaly).

    Accepts scikit-learn's ``-1``/``1`` (``-1`` = anomaly) or booleans.
    """
    a = _arr(y_pred)
    if a.dtype == bool:
        return a
    values = set(np.unique(a).tolist())
    if values <= {-1, 1}:
        return np.asarray(a == -1)
    raise _cfg(f"anomaly predictions must be -1/1 (scikit-learn) or booleans, got {sorted(values, key=str)[:5]}")


def anomaly_label(y: Any, positive_class: Any = None) -> str:
    """The label (as canonical text) that marks an anomaly: ``positive_class``; else ``true`` among
    booleans, ``1`` among 0/1, ``-1`` among -1/1 (scikit-learn's outlier), else the rarer of two labels.

    Decide it once, on the training labels, and pass it to :func:`anomaly_truth` for every split: the
    rarer label of a small test split can differ from the training split's."""
    texts = np.asarray([label_text(v) for v in _arr(y).tolist()], dtype=object)
    present = [t for t in dict.fromkeys(texts.tolist()) if t != ""]
    if positive_class is not None:
        wanted = label_text(positive_class)
        if wanted not in present:
            raise _cfg(f"positive class {wanted!r} does not occur in the labels {sorted(present)[:5]}",
                       "set problem.positive_class to the label that marks an anomaly")
        return wanted
    values = set(present)
    for labels, anomalous in (({"true", "false"}, "true"), ({"0", "1"}, "1"), ({"-1", "1"}, "-1")):
        if values <= labels:
            return anomalous
    if len(values) == 2:
        counts = sorted((int(np.sum(texts == v)), v) for v in values)
        if counts[0][0] == counts[1][0]:
            raise _cfg("cannot tell which label marks an anomaly: both are equally frequent",
                       "set problem.positive_class to the anomalous label")
        return str(counts[0][1])
    raise _cfg(f"anomaly labels must have two values, got {len(values)}",
               "set problem.positive_class to the anomalous label")


def anomaly_truth(y_true: Any, positive_class: Any = None) -> NDArray[np.bool_]:
    """Evaluation labels of an anomaly task as booleans (True = anomaly): rows whose label is
    ``positive_class`` (compared as label text), or :func:`anomaly_label`'s choice without it."""
    a = _arr(y_true)
    if a.dtype == bool and positive_class is None:
        return a
    anomalous = anomaly_label(a, positive_class)
    return np.asarray([label_text(v) == anomalous for v in a.tolist()], dtype=bool)


class _AnomalyCtx(_Ctx):
    def __init__(self, y_true: Any, y_pred: Any, y_score: Any, positive_class: Any) -> None:
        self.y_true = y_true
        self.y_pred = y_pred
        self.y_score = None if y_score is None else np.asarray(_arr(y_score), dtype=float).ravel()
        self.positive_class = positive_class

    def _truth(self, name: str) -> NDArray[np.bool_]:
        _need(self.y_true, "y_true (anomaly labels)", name,
              "set problem.target to a label column used only for evaluation")
        return anomaly_truth(self.y_true, self.positive_class)

    def _score(self, name: str) -> NDArray[np.float64]:
        return np.asarray(_need(self.y_score, "y_score (an anomaly score, higher = more anomalous)", name,
                                "pass y_score=-pipeline.score_samples(X)"))

    def m_roc_auc(self) -> float:
        return _ranking(self._truth("roc_auc"), self._score("roc_auc"), skm.roc_auc_score)

    def m_average_precision(self) -> float:
        return _ranking(self._truth("average_precision"), self._score("average_precision"),
                        skm.average_precision_score)

    def m_anomaly_rate(self) -> float:
        flags = anomaly_flags(_need(self.y_pred, "y_pred", "anomaly_rate", "pass y_pred=pipeline.predict(X)"))
        return _f(np.mean(flags)) if len(flags) else math.nan

    def m_precision_at_contamination(self) -> float:
        """Precision of the samples the detector flags (its threshold is set by ``contamination``)."""
        truth = self._truth("precision_at_contamination")
        flags = anomaly_flags(self.y_pred)
        return _f(skm.precision_score(truth, flags, zero_division=0))


# ------------------------------------------------------------------------------------------- per class


def labels_of(*arrays: Any) -> list[Any]:
    """The distinct labels of ``arrays``, sorted (by text when the types differ)."""
    out: list[Any] = []
    for a in arrays:
        out = _union(np.asarray(out, dtype=object), _arr(a))
    return out


def per_class(y_true: Any, y_pred: Any, labels: Sequence[Any] = ()) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support of every class, keyed by its label text: the classes of
    ``labels`` (the model's), then any other class in the truth or the predictions (a class the model
    never saw in training has recall 0: it must show, not vanish)."""
    labels = list(dict.fromkeys([*labels, *_union(_arr(y_true), _arr(y_pred))]))
    p, r, f, s = skm.precision_recall_fscore_support(_arr(y_true), _arr(y_pred), labels=labels, zero_division=0)
    return {label_text(label): {"precision": _f(p[i]), "recall": _f(r[i]), "f1": _f(f[i]), "support": _f(s[i])}
            for i, label in enumerate(labels)}


# ---------------------------------------------------------------------------------- groups and fairness


def _sensitive_frame(sensitive: Any) -> pd.DataFrame:
    frame = sensitive.to_frame() if isinstance(sensitive, pd.Series) else pd.DataFrame(sensitive)
    out = pd.DataFrame(index=range(len(frame)))
    for col in frame.columns:
        values = frame[col]
        out[str(col)] = ["(missing)" if _missing(v) else str(v) for v in values]
    return out


def _missing(v: Any) -> bool:
    if v is None or v == "":
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _selection_rate(y_true: Any, y_pred: Any, *, pos: Any) -> float:
    return _f(np.mean(np.asarray(y_pred) == pos)) if len(y_pred) else math.nan


def _safe(fn: Callable[..., Any]) -> Callable[..., float]:
    def wrapped(y_true: Any, y_pred: Any) -> float:
        try:
            return _f(fn(y_true, y_pred))
        except ValueError:
            return math.nan
    return wrapped


def _r2(y_true: Any, y_pred: Any) -> float:
    if len(y_true) < 2:
        return math.nan
    return _f(skm.r2_score(y_true, y_pred))


# A group with fewer test rows than this has rates too noisy to judge alone: the report flags it.
SMALL_GROUP = 30


def per_group(sensitive: pd.DataFrame, y_true: Any, y_pred: Any, *, task: str,
              positive_class: Any = None) -> dict[str, Any]:
    """Metrics per group of each sensitive column (fairlearn ``MetricFrame``).

    Classification: ``n``, ``accuracy``, ``f1_macro`` and, for a binary problem, ``selection_rate``
    (share predicted as the positive class: ``positive_class`` or the last sorted label).
    Regression/forecasting: ``n``, ``mae``, ``r2`` (``nan`` for a group of one row).
    Missing group values form the group ``"(missing)"``.

    Returns ``{column: {"metrics": [...], "groups": {group: {metric: value}}, "overall": {...},
    "difference": {metric: max - min}, "ratio": {metric: min / max}, "small": [groups with fewer
    than SMALL_GROUP rows]}}``; groups in sorted order.
    """
    from fairlearn.metrics import MetricFrame  # type: ignore[import-untyped]

    task = str(getattr(task, "value", task))
    yt, yp = _arr(y_true), _arr(y_pred)
    frame = _sensitive_frame(sensitive)
    if len(frame) != len(yt):
        raise _cfg(f"sensitive features have {len(frame)} rows and y_true has {len(yt)}")
    fns: dict[str, Callable[..., Any]]
    if task in _CLASSIFICATION:
        labels = list(np.unique(np.concatenate([yt, yp])))
        fns = {"accuracy": skm.accuracy_score,
               "f1_macro": partial(skm.f1_score, average="macro", labels=labels, zero_division=0)}
        if len(labels) == 2 or positive_class is not None:
            pos = positive_class if positive_class is not None else labels[-1]
            fns["selection_rate"] = partial(_selection_rate, pos=pos)
    elif task in _REGRESSION:
        yt, yp = yt.astype(float), yp.astype(float)
        fns = {"mae": skm.mean_absolute_error, "r2": _r2}
    else:
        raise _cfg(f"per-group metrics are not defined for task '{task}'")
    out: dict[str, Any] = {}
    for col in frame.columns:
        mf = MetricFrame(metrics={k: _safe(v) for k, v in fns.items()}, y_true=yt, y_pred=yp,
                         sensitive_features=frame[col].to_numpy())
        sizes = frame[col].value_counts()
        by_group = mf.by_group
        groups: dict[str, dict[str, float]] = {}
        for group in sorted(by_group.index, key=str):
            row: dict[str, float] = {"n": _f(sizes[group])}
            row.update({k: _f(by_group.loc[group, k]) for k in fns})
            groups[str(group)] = row
        overall = {"n": _f(len(yt)), **{k: _f(mf.overall[k]) for k in fns}}
        difference: dict[str, float] = {}
        ratio: dict[str, float] = {}
        for k in fns:
            vals = [g[k] for g in groups.values() if not math.isnan(g[k])]
            difference[k] = max(vals) - min(vals) if vals else math.nan
            ratio[k] = (min(vals) / max(vals) if max(vals) != 0 else math.nan) if vals else math.nan
        small = [g for g, row in groups.items() if row["n"] < SMALL_GROUP]
        out[str(col)] = {"metrics": ["n", *fns], "groups": groups, "overall": overall,
                         "difference": difference, "ratio": ratio, "small": small}
    return out


def fairness(sensitive: Any, y_true: Any, y_pred: Any, names: Sequence[str], *,
             positive_class: Any = None) -> dict[str, float]:
    """Fairness metrics (fairlearn) over the sensitive columns.

    * Binary problem with ``positive_class``: fairlearn's metric for that class.
    * Otherwise (multiclass, or binary without a named positive class) every class is taken in turn
      as the positive class (one-vs-rest) and the *worst* value is reported: the largest
      difference, the smallest ratio. (For a binary problem both classes give the same difference.)
    * Several sensitive columns: each column on its own, worst value over the columns (not the
      intersection of groups, whose cells are often too small to say anything).
    """
    from fairlearn import metrics as flm  # type: ignore[import-untyped]

    fns: dict[str, tuple[Callable[..., Any], bool]] = {
        "demographic_parity_difference": (flm.demographic_parity_difference, False),
        "demographic_parity_ratio": (flm.demographic_parity_ratio, True),
        "equalized_odds_difference": (flm.equalized_odds_difference, False),
        "equalized_odds_ratio": (flm.equalized_odds_ratio, True),
    }
    for name in names:
        if name not in fns:
            raise _cfg(f"'{name}' is not a fairness metric", f"one of: {', '.join(fns)}")
    yt, yp = _arr(y_true), _arr(y_pred)
    frame = _sensitive_frame(sensitive)
    if frame.shape[1] == 0:
        raise _cfg("fairness metrics need at least one sensitive column", "list columns in compliance.sensitive")
    if len(frame) != len(yt):
        raise _cfg(f"sensitive features have {len(frame)} rows and y_true has {len(yt)}")
    classes = [positive_class] if positive_class is not None else list(np.unique(np.concatenate([yt, yp])))
    out: dict[str, float] = {}
    for name in names:
        fn, is_ratio = fns[name]
        values: list[float] = []
        for col in frame.columns:
            feature = frame[col].to_numpy()
            for cls in classes:
                bt, bp = (yt == cls).astype(int), (yp == cls).astype(int)
                values.append(_f(fn(bt, bp, sensitive_features=feature)))
        finite = [v for v in values if not math.isnan(v)]
        out[name] = (min(finite) if is_ratio else max(finite)) if finite else math.nan
    return out


# -------------------------------------------------------------------------------------------- latency


def latency(predict_one: Callable[[Any], Any], rows: Sequence[Any], repeat: int = 200,
            warmup: int = 20) -> dict[str, float]:
    """Time ``predict_one(row)`` one call at a time.

    ``rows`` is a sequence of single inputs (or a DataFrame: each call gets a one-row frame); calls
    cycle through them. ``warmup`` untimed calls come first. Returns ``p50_latency_ms``,
    ``p95_latency_ms``, ``p99_latency_ms``, ``mean_latency_ms``, ``max_latency_ms``,
    ``throughput_per_s`` (sequential calls per second) and ``n_calls``.
    """
    if repeat < 1:
        raise _cfg("latency needs repeat >= 1")
    if isinstance(rows, pd.DataFrame):
        frame = rows
        items: list[Any] = [frame.iloc[i:i + 1] for i in range(len(frame))]
    else:
        items = list(rows)
    if not items:
        raise _cfg("latency needs at least one row")
    for i in range(max(0, warmup)):
        predict_one(items[i % len(items)])
    timings = np.empty(repeat, dtype=np.int64)
    clock = time.perf_counter_ns
    for i in range(repeat):
        row = items[i % len(items)]
        start = clock()
        predict_one(row)
        timings[i] = clock() - start
    ms = timings.astype(float) / 1e6
    mean = _f(np.mean(ms))
    return {
        "p50_latency_ms": _f(np.percentile(ms, 50)),
        "p95_latency_ms": _f(np.percentile(ms, 95)),
        "p99_latency_ms": _f(np.percentile(ms, 99)),
        "mean_latency_ms": mean,
        "max_latency_ms": _f(np.max(ms)),
        "throughput_per_s": 1000.0 / mean if mean > 0 else math.inf,
        "n_calls": float(repeat),
    }


# ---------------------------------------------------------------------------------------------- gates

def parse_criterion(text: str) -> Criterion:
    """Parse criterion text ``metric OP number`` (a trailing ``%`` divides by 100), as the compiler does.
    The threshold is kept exactly as written: no rounding between the spec and the gate."""
    try:
        return expressions.parse_criterion(text)
    except expressions.ExpressionError as exc:
        raise ConfigError(exc.message, hint=exc.hint, code=exc.code) from None


def _fmt(value: float, threshold: float | None = None) -> str:
    """``value`` with 4 significant digits, or as many more as it takes for the shown value to fall on
    the same side of ``threshold`` as the real one (0.89996 against 0.9 shows 0.89996, not 0.9)."""
    if math.isnan(value):
        return "nan"
    for digits in range(4, 18):
        text = f"{value:.{digits}g}"
        if threshold is None:
            return text
        shown = float(text)
        if (shown < threshold) == (value < threshold) and (shown > threshold) == (value > threshold):
            return text
    return repr(value)


@dataclass(slots=True)
class GateReport:
    """Every gate with its observed value; ``passed`` when all hold (and vacuously with no gates)."""

    passed: bool
    gates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [g for g in self.gates if not g["passed"]]

    def messages(self) -> list[str]:
        """One line per failed gate, prefixed with its spec location when known."""
        return [f"{g['where']}: {g['message']}" if g["where"] else str(g["message"]) for g in self.failed]

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "gates": [dict(g) for g in self.gates]}


def check_gates(criteria: Sequence[str], values: Mapping[str, float], *, locations: Mapping[str, str] | None = None,
                section: str = "metrics.acceptance") -> GateReport:
    """Check each criterion (canonical text) against ``values``.

    A gate whose metric is missing from ``values`` fails with "not computed"; a ``nan`` value
    fails with "not a number". The location of gate *i* is ``where(locations, f"{section}.{i}")``
    (use ``section="compliance.fairness"`` for fairness gates). Each gate is a dict with
    ``criterion, metric, op, threshold, observed, passed, message, where``.
    """
    gates: list[dict[str, Any]] = []
    for i, text in enumerate(criteria):
        loc = where(locations or {}, f"{section}.{i}")
        try:
            crit = parse_criterion(text)
        except ConfigError as exc:
            raise ConfigError(exc.message, where=loc, hint=exc.hint, code=exc.code) from None
        observed_raw = values.get(crit.metric)
        observed: float | None
        threshold = crit.threshold
        if observed_raw is None:
            observed, passed = None, False
            message = f"{crit.metric} was not computed, required {crit.op} {threshold}"
        else:
            observed = float(observed_raw)
            if math.isnan(observed):
                passed = False
                message = f"{crit.metric} is not a number, required {crit.op} {threshold}"
            else:
                passed = crit.holds(observed)
                verb = "meets" if passed else "required"
                message = f"{crit.metric} = {_fmt(observed, crit.value)}, {verb} {crit.op} {threshold}"
        gates.append({"criterion": str(crit), "metric": crit.metric, "op": crit.op, "threshold": crit.value,
                      "observed": observed, "passed": passed, "message": message, "where": loc})
    return GateReport(passed=all(g["passed"] for g in gates), gates=gates)


def merge_gates(*reports: GateReport) -> GateReport:
    """One report over several (acceptance and fairness gates)."""
    gates = [g for r in reports for g in r.gates]
    return GateReport(passed=all(g["passed"] for g in gates), gates=gates)
