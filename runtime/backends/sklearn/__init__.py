"""The scikit-learn back end: pipelines of ``runtime.preprocess`` and ``runtime.models`` estimators,
searched with Optuna over cross-validation folds, selected by ``runtime.auto``, exported with skl2onnx.

What differs between back ends lives in the back end (this package) and in its template overlay; the
workflow only calls the methods of ``aispec.runtime.api.Backend``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aispec.schemas.vocabulary import CLASSIFICATION

from ...api import FitSettings, SearchRequest
from ...registry import BackendInfo

__all__ = ["SklearnBackend"]

_RESAMPLING = ("oversample", "undersample", "smote")


def _threads(cpus: int | None) -> Any:
    """BLAS and OpenMP threads for a fit: ``hardware.cpus``, else whatever the libraries pick."""
    import contextlib

    if not cpus:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    return threadpool_limits(limits=cpus)


def class_weight(pipeline: Any, rebalance: str) -> None:
    """`cleaning.imbalance: class_weight` → the estimator's own class weights, where it has them."""
    if rebalance != "class_weight":
        return
    model = pipeline.named_steps["model"]
    if "class_weight" in model.get_params() and model.get_params()["class_weight"] is None:
        pipeline.set_params(model__class_weight="balanced")


def _parallel(pipeline: Any, cpus: int | None) -> None:
    """``hardware.cpus`` → the estimator's ``n_jobs``, where it parallelises."""
    from ...models import parallel_estimator

    if not cpus or not hasattr(pipeline, "named_steps"):
        return
    model = pipeline.named_steps["model"]
    if parallel_estimator(model):
        pipeline.set_params(model__n_jobs=cpus)


def _fit_rounds(pipeline: Any, X: Any, y: Any, *, settings: FitSettings, task: str) -> bool:
    """A model fitted in boosting rounds (``runtime.boosting``) with ``training.early_stopping`` and a validation
    split: the preprocessing is fitted on the training rows, the validation rows go through it, and the
    model stops on them (``n_estimators`` the ceiling). False when this does not apply (a plain fit follows)."""
    steps = getattr(pipeline, "steps", None)
    final = steps[-1][1] if steps else pipeline
    if not hasattr(final, "fit_rounds") or settings.validation is None or y is None:
        return False
    from ...boosting import stopping_rule

    rule = stopping_rule(settings.training, task, settings.positive_class)
    if rule is None:
        return False
    X_val, y_val = settings.validation
    if steps and len(steps) > 1:
        front = pipeline[:-1]  # the same step objects: fitting them fits the pipeline's own
        X, X_val = front.fit_transform(X, y), front.transform(X_val)
    final.fit_rounds(X, y, X_val, y_val, rule)
    return True


def _fit_on_cluster(pipeline: Any, X: Any, y: Any, *, settings: FitSettings, task: str) -> bool:
    """A model the distributed engine's runner trains (``hardware.distributed``: XGBoost on Ray Train's
    workers): the preprocessing is fitted here, the estimator on the cluster, with early stopping on the
    validation split as :func:`_fit_rounds` does locally. False when the engine does not train this model."""
    runner = settings.loop_runner
    steps = getattr(pipeline, "steps", None)
    final = steps[-1][1] if steps else pipeline
    if runner is None or not hasattr(runner, "accepts") or not runner.accepts(final) or y is None:
        return False
    from ...boosting import stopping_rule

    rule = stopping_rule(settings.training, task, settings.positive_class) if settings.validation else None
    X_val, y_val = settings.validation if rule is not None and settings.validation else (None, None)
    if steps and len(steps) > 1:
        front = pipeline[:-1]  # the same step objects: fitting them fits the pipeline's own
        X = front.fit_transform(X, y)
        X_val = front.transform(X_val) if X_val is not None else None
    runner.fit(final, X, y, X_val, y_val, rule)
    return True


class SklearnBackend:
    """The scikit-learn back end (``aispec.runtime.api.Backend``)."""

    def __init__(self, info: BackendInfo) -> None:
        self.info = info

    def prepare(self, make: Callable[[Any], Any], *, task: str, rebalance: str,
                seed: int) -> Callable[[Any], Any]:
        from ...preprocess import Resampled

        def build(arg: Any) -> Any:
            pipeline = make(arg)
            class_weight(pipeline, rebalance)
            if task in CLASSIFICATION and rebalance in _RESAMPLING:
                return Resampled(pipeline, rebalance, seed)
            return pipeline

        return build

    def fit(self, model: Any, X: Any, y: Any, *, settings: FitSettings, task: str, report: Any = None) -> Any:
        from ...preprocess import rebalance

        class_weight(model, settings.rebalance)
        _parallel(model, settings.cpus)
        X_fit, y_fit = X, y
        if y is not None and task in CLASSIFICATION and settings.rebalance in _RESAMPLING:
            X_fit, y_fit = rebalance(X, y, method=settings.rebalance, seed=settings.seed)
            if report is not None:
                report.record(settings.rebalance, len(X), len(X_fit), "cleaning.imbalance: classes balanced for "
                              "the fit", part="train")
        with _threads(settings.cpus):
            if not _fit_on_cluster(model, X_fit, y_fit, settings=settings, task=task) and \
                    not _fit_rounds(model, X_fit, y_fit, settings=settings, task=task):
                model.fit(X_fit, y_fit)
        return model

    def search(self, make: Callable[[dict[str, Any]], Any], X: Any, y: Any, request: SearchRequest) -> Any:
        from ...search import search

        return search(make, request.space, X, y, method=request.method, trials=request.trials,
                      timeout_s=request.timeout_s, cv=request.cv, scoring=request.scoring,
                      greater_is_better=request.greater_is_better, seed=request.seed,
                      positive_class=request.positive_class, n_jobs=request.n_jobs, runner=request.runner,
                      checkpoint_dir=request.checkpoint_dir, resume=request.resume)

    def auto(self, make: Callable[[Any], Any], X: Any, y: Any, *, task: str, candidates: Sequence[str],
             budget_s: float, request: SearchRequest) -> Any:
        from ...auto import auto_select

        return auto_select(task=task, candidates=candidates, make_pipeline=make, X=X, y=y, budget_s=budget_s,
                           cv=request.cv, scoring=request.scoring, greater_is_better=request.greater_is_better,
                           seed=request.seed, positive_class=request.positive_class, n_jobs=request.n_jobs)

    def export(self, model: Any, X_sample: Any, path: Path, *, task: str) -> Any:
        from ...export import to_onnx

        return to_onnx(model, X_sample, path)

    def window_model(self, family: str, *, params: dict[str, Any], seed: int, scaling: str, outputs: int) -> Any:
        """Forecasting: the family's regressor on lag windows (see ``windows.py``)."""
        from .windows import window_model

        return window_model(family, params=params, seed=seed, scaling=scaling, outputs=outputs)

    def export_windows(self, model: Any, *, n_lags: int, outputs: int, path: Path) -> dict[str, Any]:
        """Forecasting: the lag model as ONNX with one ``lags`` input (see ``windows.py``)."""
        from .windows import export_windows

        return export_windows(model, n_lags=n_lags, outputs=outputs, path=path)

    def describe(self, model: Any) -> str:
        steps = getattr(model, "named_steps", None)
        return repr(steps["model"] if steps is not None and "model" in steps else model)
