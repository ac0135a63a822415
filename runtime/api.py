"""What a back end provides, and what its exported model's outputs mean: the contracts the workflow,
the service and the documents are written against.

The workflow (``runtime/workflow.py``) talks to a back end only through :class:`Backend`, obtained
from ``registry.backend(name)``; it never branches on a back end's name. A fitted model follows
scikit-learn's estimator interface (``predict``, and ``predict_proba`` / ``decision_function`` /
``classes_`` where they apply), which every back end's models implement, so metrics, plots and
per-group results need no back-end code.

An export says what its graph's outputs mean as data (:class:`OutputContract`), written into
``serving.json``: nothing downstream parses strings to learn what a model outputs.

A model trained by epochs (a back end with the ``training_options`` capability) may also expose
``history_``: ``{"epochs": [{"loss": ..., "val_loss": ..., ...} per epoch], "best_epoch": the 0-based
epoch whose weights it keeps or None}``, which the evaluation draws as training curves. Refitting such
a model is not cheap, so the learning curve (five sizes x three folds of refits) is drawn only for back
ends that declare ``cheap_refit``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .registry import BackendInfo

__all__ = ["Backend", "FitSettings", "OutputContract", "SearchRequest"]


@dataclass(frozen=True, slots=True)
class OutputContract:
    """The exported graph's outputs, as data.

    - ``label``: the output holding the predicted class, cluster or anomaly flag (None for regression).
    - ``value``: the output holding a predicted number (regression, forecasting).
    - ``scores`` / ``score_kind``: an output of scores and what they are: ``probabilities`` (one column per
      class, in ``classes`` order), ``decision`` (per-class decision scores; a binary one is a single
      value ``d``, positive for ``classes[1]``, however many columns the graph writes), ``anomaly``
      (higher = more anomalous when ``higher_is_anomalous``), ``distances`` (to each cluster centre).
    - ``classes``: the class order of the scores (canonical label text).
    - ``anomaly_flag``: the value of ``label`` that marks an anomaly.
    """

    task: str
    label: str | None = None
    value: str | None = None
    scores: str | None = None
    score_kind: str | None = None
    classes: tuple[str, ...] = ()
    anomaly_flag: Any = None
    higher_is_anomalous: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["classes"] = list(self.classes)
        return out


@dataclass(frozen=True, slots=True)
class FitSettings:
    """How to fit: the spec's ``training`` section and ``hardware`` as one value (back ends that have no
    training loop, such as scikit-learn, use ``seed`` and ``cpus`` only; ``check`` warns about the rest)."""

    seed: int = 0
    cpus: int | None = None
    rebalance: str = "none"
    training: Mapping[str, Any] = field(default_factory=dict)
    accelerator: str = "auto"
    checkpoint_dir: Path | None = None
    resume: bool = False
    validation: tuple[Any, Any] | None = None  # the validation split's (rows, targets), for back ends that use one
    scoring: str | None = None  # the primary metric (what a training loop reports on the validation split)
    positive_class: Any = None
    # data.augmentation for back ends that declare epoch_augmentation: {"image": settings, "factor": f}, the
    # altered copies drawn afresh every epoch inside the training (the rows handed to fit are the originals)
    augmentation: Mapping[str, Any] | None = None
    # hardware.distributed: runs a training loop on the cluster's workers (back ends whose fit the engine
    # distributes, see registry.ENGINES); None: in this process
    loop_runner: Any = None


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """``model.search`` with everything a back end's search needs to score a configuration."""

    space: Mapping[str, Any]
    method: str
    trials: int
    timeout_s: float | None
    cv: Any  # a scikit-learn splitter or a list of (train, test) index pairs, following data.split's rules
    scoring: str
    greater_is_better: bool
    seed: int
    positive_class: Any = None
    n_jobs: int = 1
    validation: tuple[Any, Any] | None = None  # the validation split's (rows, targets): a network's search scores on it
    accelerator: str = "auto"
    checkpoint_dir: Path | None = None  # where a back end that checkpoints keeps its finished trials
    resume: bool = False  # --resume: keep the trials an interrupted search finished
    runner: Any = None  # where the trials run (an aispec.runtime.trials.TrialRunner); None: in this process


@runtime_checkable
class Backend(Protocol):
    """A back end: how to fit, search and export models of its families."""

    info: BackendInfo

    def prepare(self, make: Callable[[Any], Any], *, task: str, rebalance: str,
                seed: int) -> Callable[[Any], Any]:
        """``make`` for model selection: each candidate built as the final model is trained (class weights,
        resampling inside each training fold)."""
        ...

    def fit(self, model: Any, X: Any, y: Any, *, settings: FitSettings, task: str, report: Any = None) -> Any:
        """Fit ``model`` (from the project's ``build_pipeline``) on the training rows; returns it fitted."""
        ...

    def search(self, make: Callable[[dict[str, Any]], Any], X: Any, y: Any, request: SearchRequest) -> Any:
        """Search ``request.space`` (a ``search.SearchResult``)."""
        ...

    def auto(self, make: Callable[[Any], Any], X: Any, y: Any, *, task: str, candidates: Sequence[str],
             budget_s: float, request: SearchRequest) -> Any:
        """``family: auto`` (an ``auto.AutoResult`` whose estimator is fitted)."""
        ...

    def export(self, model: Any, X_sample: Any, path: Path, *, task: str) -> Any:
        """The model as ONNX at ``path``, compared with the back end's own predictions on ``X_sample``
        (an ``export.OnnxReport`` whose ``contract`` is the :class:`OutputContract`)."""
        ...

    def describe(self, model: Any) -> str:
        """A short description of the fitted model for the report and the card."""
        ...
