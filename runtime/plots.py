"""Evaluation plots as PNG bytes.

Figures are drawn on matplotlib's Agg canvas directly (``matplotlib.figure.Figure`` +
``FigureCanvasAgg``): no pyplot, so no global backend is chosen and nothing is left open. Output is
deterministic: fixed size and dpi, fixed style, and ``metadata={"Software": None}`` so the PNG
carries no version string; the same input gives the same bytes on the same matplotlib.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from cycler import cycler
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import NDArray

from .errors import ConfigError

__all__ = [
    "confusion_matrix",
    "feature_importance",
    "learning_curve",
    "pr_curve",
    "residuals",
    "roc_curve",
]

DPI = 100
_BLUE, _ORANGE, _GREY = "#2563eb", "#ea580c", "#6b7280"
_PALETTE = ["#2563eb", "#ea580c", "#16a34a", "#dc2626", "#9333ea", "#0891b2", "#ca8a04", "#db2777",
            "#4b5563", "#65a30d"]
_STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e5e7eb",
    "grid.linewidth": 0.8,
    "axes.edgecolor": "#9ca3af",
    "axes.prop_cycle": cycler(color=_PALETTE),
    "legend.frameon": False,
    "legend.fontsize": 9,
    "svg.hashsalt": "aispec",
    "path.simplify": True,
    "image.interpolation": "nearest",
}


@contextmanager
def _figure(width: float = 6.4, height: float = 4.8, ncols: int = 1) -> Iterator[tuple[Figure, list[Axes]]]:
    style: Any = _STYLE
    with rc_context(style):
        fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
        yield fig, axes


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None}, facecolor="white")
    return buf.getvalue()


def _arr(values: Any) -> NDArray[Any]:
    to_numpy = getattr(values, "to_numpy", None)
    return np.asarray(to_numpy() if callable(to_numpy) else values)


def _short(label: Any, width: int = 18) -> str:
    text = str(label)
    return text if len(text) <= width else text[: width - 1] + "…"


# ------------------------------------------------------------------------------------ classification


def confusion_matrix(y_true: Any, y_pred: Any, labels: Sequence[Any], *, normalize: bool = False,
                     title: str = "Confusion matrix") -> bytes:
    """Counts (or row-normalised rates) of true class (rows) against predicted class (columns)."""
    labels = list(labels)
    yt, yp = _arr(y_true), _arr(y_pred)
    index = {label: i for i, label in enumerate(labels)}
    k = len(labels)
    counts = np.zeros((k, k), dtype=float)
    for t, p in zip(yt.tolist(), yp.tolist(), strict=True):
        if t in index and p in index:
            counts[index[t], index[p]] += 1
    values = counts
    if normalize:
        rows = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, rows, out=np.zeros_like(counts), where=rows != 0)
    size = min(4.0 + 0.45 * k, 12.0)
    with _figure(size + 1.2, size) as (fig, (ax,)):
        image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else max(values.max(), 1))
        ax.grid(False)
        names = [_short(label) for label in labels]
        if k > 4:
            ax.set_xticks(range(k), names, rotation=45, ha="right", rotation_mode="anchor")
        else:
            ax.set_xticks(range(k), names)
        ax.set_yticks(range(k), names)
        ax.set_xlabel("Predicted")
        ax.set_ylabel("True")
        ax.set_title(title)
        if k <= 20:
            threshold = (1.0 if normalize else max(values.max(), 1)) / 2
            for i in range(k):
                for j in range(k):
                    text = f"{values[i, j]:.2f}" if normalize else f"{int(values[i, j])}"
                    ax.text(j, i, text, ha="center", va="center", fontsize=9 if k <= 10 else 7,
                            color="white" if values[i, j] > threshold else "#111827")
        fig.colorbar(image, ax=ax, shrink=0.8)
        return _png(fig)


def _class_scores(y_score: Any, labels: Sequence[Any], positive_class: Any) -> tuple[list[Any], NDArray[Any]]:
    """The classes to draw one curve for and their score columns."""
    scores = _arr(y_score).astype(float)
    labels = list(labels)
    if scores.ndim == 1:
        if len(labels) != 2:
            raise ConfigError(f"a 1-D y_score needs two labels, got {len(labels)}")
        pos = positive_class if positive_class is not None else labels[1]
        return [pos], (scores if pos == labels[1] else 1.0 - scores)[:, None]
    if scores.shape[1] != len(labels):
        raise ConfigError(f"y_score has {scores.shape[1]} columns but there are {len(labels)} labels")
    if len(labels) == 2:
        pos = positive_class if positive_class is not None else labels[1]
        return [pos], scores[:, [labels.index(pos)]]
    return labels, scores


def _roc(truth: NDArray[np.bool_], score: NDArray[np.float64]) -> tuple[NDArray[Any], NDArray[Any], float]:
    from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]
    from sklearn.metrics import roc_curve as _sk_roc

    fpr, tpr, _ = _sk_roc(truth, score)
    return fpr, tpr, float(roc_auc_score(truth, score))


def roc_curve(y_true: Any, y_score: Any, labels: Sequence[Any], *, positive_class: Any = None,
              title: str = "ROC curve") -> bytes:
    """ROC curve of the positive class (binary) or one-vs-rest curves per class (multiclass)."""
    yt = _arr(y_true)
    classes, scores = _class_scores(y_score, labels, positive_class)
    with _figure(6.4, 5.2) as (fig, (ax,)):
        ax.plot([0, 1], [0, 1], linestyle="--", color=_GREY, linewidth=1, label="chance")
        for i, cls in enumerate(classes):
            truth = yt == cls
            if truth.all() or not truth.any():
                continue
            fpr, tpr, auc = _roc(truth, scores[:, i])
            name = f"{_short(cls)} vs rest" if len(classes) > 1 else f"{_short(cls)}"
            ax.plot(fpr, tpr, linewidth=2, label=f"{name} (AUC {auc:.3f})", color=_PALETTE[i % len(_PALETTE)])
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.01)
        ax.set_xlabel("False positive rate")
        ax.set_ylabel("True positive rate")
        ax.set_title(title)
        ax.legend(loc="lower right")
        return _png(fig)


def pr_curve(y_true: Any, y_score: Any, labels: Sequence[Any], *, positive_class: Any = None,
             title: str = "Precision-recall curve") -> bytes:
    """Precision against recall for the positive class (binary) or each class one-vs-rest."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    yt = _arr(y_true)
    classes, scores = _class_scores(y_score, labels, positive_class)
    with _figure(6.4, 5.2) as (fig, (ax,)):
        for i, cls in enumerate(classes):
            truth = yt == cls
            if not truth.any():
                continue
            precision, recall, _ = precision_recall_curve(truth, scores[:, i])
            ap = float(average_precision_score(truth, scores[:, i]))
            color = _PALETTE[i % len(_PALETTE)]
            ax.step(recall, precision, where="post", linewidth=2, color=color,
                    label=f"{_short(cls)} (AP {ap:.3f})")
            if len(classes) == 1:
                ax.axhline(float(truth.mean()), linestyle="--", color=_GREY, linewidth=1,
                           label=f"prevalence {truth.mean():.2f}")
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.05)
        ax.set_xlabel("Recall")
        ax.set_ylabel("Precision")
        ax.set_title(title)
        ax.legend(loc="lower left")
        return _png(fig)


# ---------------------------------------------------------------------------------------- regression


def residuals(y_true: Any, y_pred: Any, *, title: str = "Residuals") -> bytes:
    """Residual (true - predicted) against predicted value, and the residual histogram."""
    yt, yp = _arr(y_true).astype(float), _arr(y_pred).astype(float)
    res = yt - yp
    with _figure(11.0, 4.6, ncols=2) as (fig, (ax1, ax2)):
        ax1.scatter(yp, res, s=14, alpha=0.6, color=_BLUE, edgecolors="none")
        ax1.axhline(0.0, color=_ORANGE, linewidth=1.5)
        ax1.set_xlabel("Predicted")
        ax1.set_ylabel("Residual (true − predicted)")
        ax1.set_title("Residuals vs predicted")
        bins = int(min(40, max(10, np.sqrt(max(len(res), 1)))))
        ax2.hist(res, bins=bins, color=_BLUE, alpha=0.85, edgecolor="white")
        ax2.axvline(0.0, color=_ORANGE, linewidth=1.5)
        ax2.set_xlabel("Residual")
        ax2.set_ylabel("Count")
        ax2.set_title("Residual distribution")
        fig.suptitle(title, fontweight="bold")
        return _png(fig)


# ------------------------------------------------------------------------------ importance and curves


def _importances(source: Any, names: Sequence[str] | None,
                 std: Sequence[float] | None) -> tuple[list[str], NDArray[np.float64], NDArray[np.float64] | None]:
    spread: NDArray[np.float64] | None
    if hasattr(source, "importances_mean"):  # sklearn.inspection.permutation_importance result (a Bunch)
        values = np.asarray(source.importances_mean, dtype=float)
        spread = np.asarray(source.importances_std, dtype=float)
    elif isinstance(source, Mapping):
        names = [str(k) for k in source]
        values = np.asarray([float(v) for v in source.values()])
        spread = None
    else:
        model = source
        steps = getattr(model, "steps", None)
        if steps:  # a Pipeline: the final estimator's importances over the preprocessed features
            if names is None and len(steps) > 1:
                try:
                    names = [str(n) for n in model[:-1].get_feature_names_out()]
                except (AttributeError, ValueError):
                    names = None
            model = steps[-1][1]
        raw = getattr(model, "feature_importances_", None)
        if raw is None:
            coef = getattr(model, "coef_", None)
            if coef is None:
                raise ConfigError(f"{type(model).__name__} has neither feature_importances_ nor coef_",
                                  hint="pass permutation importances instead")
            coef = np.atleast_2d(np.asarray(coef, dtype=float))
            raw = np.abs(coef).mean(axis=0)
        values = np.asarray(raw, dtype=float)
        spread = None if std is None else np.asarray(std, dtype=float)
        if names is None:
            feature_names = getattr(model, "feature_names_in_", None)
            names = [str(n) for n in feature_names] if feature_names is not None else None
    if names is None:
        names = [f"feature {i}" for i in range(len(values))]
    if len(names) != len(values):
        raise ConfigError(f"{len(names)} feature names for {len(values)} importances")
    if std is not None:
        spread = np.asarray(std, dtype=float)
    return [str(n) for n in names], values, spread


def feature_importance(source: Any, names: Sequence[str] | None = None, *, std: Sequence[float] | None = None,
                       top: int = 20, title: str = "Feature importance") -> bytes:
    """Horizontal bars of the ``top`` most important features.

    ``source`` is a ``{feature: importance}`` mapping, the result of
    ``sklearn.inspection.permutation_importance`` (with ``names``), or a fitted estimator / Pipeline
    with ``feature_importances_`` (or ``coef_``: mean absolute coefficient). Ties are broken by
    name so the order is deterministic.
    """
    labels, values, spread = _importances(source, names, std)
    order = sorted(range(len(values)), key=lambda i: (-values[i], labels[i]))[: max(top, 1)]
    order.reverse()  # largest on top
    height = 1.2 + 0.32 * len(order)
    with _figure(7.5, max(2.8, height)) as (fig, (ax,)):
        ypos = np.arange(len(order))
        err = None if spread is None else spread[order]
        ax.barh(ypos, values[order], xerr=err, color=_BLUE, alpha=0.9, ecolor=_GREY, capsize=2)
        ax.set_yticks(ypos, [_short(labels[i], 32) for i in order])
        ax.grid(axis="y", visible=False)
        ax.axvline(0.0, color="#9ca3af", linewidth=0.8)
        ax.set_xlabel("Importance")
        ax.set_title(title)
        return _png(fig)


def learning_curve(train_sizes: Sequence[float], train_scores: Any, val_scores: Any, *, metric: str = "score",
                   title: str = "Learning curve") -> bytes:
    """Training and validation score against training-set size.

    Scores are 1-D (one value per size) or 2-D ``(n_sizes, n_folds)`` as returned by
    ``sklearn.model_selection.learning_curve``: the mean is drawn with a ±1 std band.
    """
    sizes = np.asarray(train_sizes, dtype=float)
    with _figure(6.4, 4.8) as (fig, (ax,)):
        for scores, name, color in ((train_scores, "training", _BLUE), (val_scores, "validation", _ORANGE)):
            s = np.asarray(scores, dtype=float)
            if s.ndim == 1:
                s = s[:, None]
            if s.shape[0] != len(sizes):
                raise ConfigError(f"{s.shape[0]} {name} scores for {len(sizes)} training sizes")
            mean, sd = s.mean(axis=1), s.std(axis=1)
            ax.plot(sizes, mean, marker="o", linewidth=2, color=color, label=name)
            if s.shape[1] > 1:
                ax.fill_between(sizes, mean - sd, mean + sd, color=color, alpha=0.15, linewidth=0)
        ax.set_xlabel("Training examples")
        ax.set_ylabel(metric)
        ax.set_title(title)
        ax.legend(loc="best")
        return _png(fig)


def training_curves(epochs: Sequence[Mapping[str, float]], *, best_epoch: int | None = None,
                    title: str = "Training curves") -> bytes:
    """Per-epoch figures of a network's training (``deep.History``): the training and validation loss on the
    left, the validation metrics on the right when there are any; the best epoch (early stopping's) marked."""
    numbers = list(range(1, len(epochs) + 1))
    metrics = sorted({k for logs in epochs for k in logs if k.startswith("val_") and k != "val_loss"})
    with _figure(10.0 if metrics else 6.4, 4.4, ncols=2 if metrics else 1) as (fig, axes):
        panels = [(axes[0], ["loss", "val_loss"], "loss")]
        if metrics:
            panels.append((axes[1], metrics, "validation metric"))
        for ax, names, label in panels:
            for i, name in enumerate(names):
                values = [logs.get(name, float("nan")) for logs in epochs]
                if all(np.isnan(v) for v in values):
                    continue
                ax.plot(numbers, values, marker="o" if len(numbers) <= 30 else None, markersize=3, linewidth=2,
                        color=(_BLUE, _ORANGE, _GREY)[i % 3], label=name)
            if best_epoch is not None:
                ax.axvline(best_epoch + 1, color="#9ca3af", linewidth=1, linestyle="--", label="best epoch")
            ax.set_xlabel("Epoch")
            ax.set_ylabel(label)
            ax.legend(loc="best")
        axes[0].set_title(title)
        return _png(fig)


def boosting_rounds(values: Sequence[float], *, monitor: str, best_round: int, ceiling: int) -> bytes:
    """The watched value on the validation split after each boosting round of an early-stopped model, the
    kept round marked (its trees are the model) and the ceiling (``n_estimators``) in the title."""
    rounds = list(range(1, len(values) + 1))
    with _figure(6.4, 4.4) as (fig, (ax,)):
        ax.plot(rounds, list(values), linewidth=2, color=_BLUE, label=monitor)
        ax.axvline(best_round, color="#9ca3af", linewidth=1, linestyle="--", label=f"kept: {best_round} rounds")
        ax.set_xlabel("Boosting round")
        ax.set_ylabel(monitor)
        ax.set_title(f"Early stopping on the validation split ({len(values)} of at most {ceiling} rounds)")
        ax.legend(loc="best")
        return _png(fig)
