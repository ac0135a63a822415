"""The estimator a generated Keras project trains: its preprocessing (``features.py``) and its network
(``model.py``), as one object with scikit-learn's estimator interface.

The workflow, the metrics, the plots and the permutation importance read any back end's models through
``fit`` / ``predict`` / ``predict_proba`` / ``classes_`` (``aispec.runtime.api``); this class gives a
Keras network that interface. ``fit``:

1. resamples the training rows when ``cleaning.imbalance`` asks for it (as the scikit-learn back end
   does), and fits the preprocessing on them only;
2. turns the labels into class indices (classification; ``classes_`` sorted, as scikit-learn sorts
   them) or standardises the target (regression: the network learns ``(y - mean) / std``);
3. seeds Python, NumPy, PyTorch and Keras with ``seed`` and turns on PyTorch's deterministic
   algorithms, so the same data and seed give the same network;
4. calls the project's ``build_network`` and ``train_network`` (``model.fit`` with callbacks) on the
   preprocessed rows, with the validation split's rows (``validation``) for early stopping.

The fitted network that predicts and is exported (``model_``) ends in the inverse of the target's
standardisation for regression, so its output, and the ONNX graph's, is in the target's unit.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone  # type: ignore[import-untyped]

from ...errors import ConfigError
from .settings import FitData, Training, resolve_training

__all__ = ["KerasClassifier", "KerasPipeline", "KerasRegressor"]

_RESAMPLING = ("oversample", "undersample", "smote")
_PREDICT_BATCH = 4096  # rows per forward pass when predicting (memory, not results: a row's output is its own)


def _dense(matrix: Any) -> Any:
    """float32 rows for the network (a sparse TF-IDF block made dense)."""
    if hasattr(matrix, "toarray"):
        matrix = matrix.toarray()
    return np.ascontiguousarray(np.asarray(matrix, dtype=np.float32))


class KerasPipeline(BaseEstimator):  # type: ignore[misc]
    """Preprocessing + Keras network (use :class:`KerasClassifier` or :class:`KerasRegressor`).

    ``build_network(input_shape, n_outputs, params, training)`` returns an uncompiled ``keras.Model``;
    ``train_network(network, data, training, checkpoints=..., resume=...)`` compiles and fits it and
    returns its ``History``. ``params``: ``model.params`` (and a search's values); ``training``: the spec's
    ``training`` section. ``checkpoint_dir`` / ``resume``: where ``train_network`` keeps checkpoints and
    whether it continues an interrupted training (the final fit only). ``accelerator``: ``cpu``, ``gpu``
    (CUDA; a ConfigError without one) or ``auto`` (CUDA when present). ``cpus``: PyTorch threads.
    ``verbose``: one progress line per epoch. ``augmentation`` (image models: ``{"image": settings,
    "factor": f}``): the training images are read through :class:`~.augment.AugmentedImages`, which
    draws fresh altered copies every epoch.
    """

    def __init__(self, preprocess: Any = None, build_network: Callable[..., Any] | None = None,
                 train_network: Callable[..., Any] | None = None, params: Mapping[str, Any] | None = None,
                 training: Mapping[str, Any] | None = None, task: str = "classification", seed: int = 0,
                 rebalance: str = "none", accelerator: str = "auto", cpus: int | None = None,
                 checkpoint_dir: Path | None = None, resume: bool = False, verbose: bool = False,
                 augmentation: Mapping[str, Any] | None = None) -> None:
        self.preprocess = preprocess
        self.build_network = build_network
        self.train_network = train_network
        self.params = params
        self.training = training
        self.task = task
        self.seed = seed
        self.rebalance = rebalance
        self.accelerator = accelerator
        self.cpus = cpus
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume
        self.verbose = verbose
        self.augmentation = augmentation

    # ------------------------------------------------------------------------------------------ fit

    def fit(self, X: Any, y: Any, validation: tuple[Any, Any] | None = None,
            callbacks: list[Any] | None = None) -> KerasPipeline:
        """Fit preprocessing and network on ``X``, ``y``; ``validation``: the validation split's ``(X, y)``
        (early stopping, the checkpoint of the best epoch); ``callbacks``: more Keras callbacks (a search's)."""
        from .env import keras, require_torch

        require_torch()
        if self.build_network is None or self.train_network is None or self.preprocess is None:
            raise ConfigError("a Keras pipeline needs preprocess, build_network and train_network")
        X_fit, y_fit = self._resample(X, y)
        training = resolve_training(self.training, self.params, task=self.task, has_validation=validation is not None)
        self.settings_ = training
        self.device_ = self._device()
        with self._threads(), keras.device(self.device_):
            _seed_everything(self.seed)
            self.preprocess_ = clone(self.preprocess).fit(X_fit, y_fit)
            x = _dense(self.preprocess_.transform(X_fit))
            targets = self._encode_fit(y_fit)
            val = None
            if validation is not None:
                val = (_dense(self.preprocess_.transform(validation[0])), self._encode(validation[1]))
            extra = list(callbacks or [])
            if self.verbose:
                from .callbacks import EpochProgress

                extra.insert(0, EpochProgress(training.epochs))
            data = FitData(x=x, y=targets, validation=val, class_weight=self._class_weight(targets), callbacks=extra)
            self._augmented(data, X_fit, training)
            network = self.build_network(tuple(x.shape[1:]), self._n_outputs(), dict(self.params or {}), training)
            history = self.train_network(network, data, training, checkpoints=self.checkpoint_dir, resume=self.resume)
            self.network_ = network
            self.model_ = self._served(network, x.shape[1])
        self.history_ = _history(history, training)
        self.n_features_in_ = len(getattr(X, "columns", [])) or np.asarray(X).shape[1]
        return self

    def _augmented(self, data: FitData, X: Any, training: Training) -> None:
        """With image augmentation, ``data.x`` becomes the dataset that draws fresh copies every epoch (and
        makes its own batches: ``data.y`` is then None, as ``model.fit`` wants for a dataset)."""
        settings = dict(self.augmentation or {})
        column = getattr(self.preprocess_, "column", None)
        if not settings.get("image") or column is None or not hasattr(X, "columns"):
            return
        from ...images.augment import copies_count
        from .augment import AugmentedImages, EpochOf

        images = X[column].tolist()
        dataset = AugmentedImages(images, data.y, standardize=self.preprocess_, settings=settings["image"],
                                  extra=copies_count(len(images), float(settings.get("factor", 1.0))),
                                  batch_size=training.batch_size, seed=self.seed)
        data.x, data.y = dataset, None
        data.callbacks.insert(0, EpochOf(dataset))

    def _resample(self, X: Any, y: Any) -> tuple[Any, Any]:
        self.rows_in_ = self.rows_out_ = len(X)
        if self.rebalance not in _RESAMPLING or not isinstance(self, ClassifierMixin):
            return X, y
        from ...preprocess import rebalance

        X_fit, y_fit = rebalance(X, y, method=self.rebalance, seed=self.seed)
        self.rows_out_ = len(X_fit)
        return X_fit, y_fit

    def _device(self) -> str:
        import torch

        if self.accelerator == "cpu":
            return "cpu"
        if self.accelerator == "gpu":
            if not torch.cuda.is_available():
                raise ConfigError("hardware.accelerator is gpu, and PyTorch sees no CUDA device here",
                                  hint="use accelerator: auto (CUDA when present) or cpu")
            return "cuda"
        return "cuda" if torch.cuda.is_available() else "cpu"

    @contextlib.contextmanager
    def _threads(self) -> Iterator[None]:
        """``hardware.cpus`` PyTorch threads for the fit (unset: one, as the scikit-learn back end fits), the
        previous count restored after it. Small networks gain nothing from more threads, and on a busy
        machine PyTorch's spinning threads slowed a 20-epoch fit from 2.5 s to 31 s (2 cores, load 8)."""
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(int(self.cpus or 1))
        try:
            yield
        finally:
            torch.set_num_threads(before)

    def _served(self, network: Any, n_features: int) -> Any:
        """The network that predicts and is exported (regression: with the target's unit restored)."""
        return network

    def _encode_fit(self, y: Any) -> Any:
        raise NotImplementedError

    def _encode(self, y: Any) -> Any:
        raise NotImplementedError

    def _n_outputs(self) -> int:
        raise NotImplementedError

    def _class_weight(self, targets: Any) -> dict[int, float] | None:
        return None

    # -------------------------------------------------------------------------------------- predict

    def _forward(self, X: Any) -> Any:
        """The served network's outputs for the rows of ``X`` (float32)."""
        from .env import keras

        x = _dense(self.preprocess_.transform(X))
        with self._threads(), keras.device(self.device_):
            return np.asarray(self.model_.predict(x, batch_size=_PREDICT_BATCH, verbose=0), dtype=np.float32)

    def transform_features(self, X: Any) -> Any:
        """The preprocessed rows the network sees (float32)."""
        return _dense(self.preprocess_.transform(X))

    @property
    def named_steps(self) -> dict[str, Any]:
        """``preprocess`` and ``model`` (the served network), as a scikit-learn Pipeline names its steps."""
        return {"preprocess": getattr(self, "preprocess_", self.preprocess), "model": getattr(self, "model_", None)}


class KerasClassifier(ClassifierMixin, KerasPipeline):  # type: ignore[misc]
    """A Keras classifier: softmax over the classes (``classes_``, sorted canonical label text)."""

    def _encode_fit(self, y: Any) -> Any:
        labels = np.asarray(y, dtype=object)
        self.classes_ = np.array(sorted(set(labels.tolist())), dtype=object)
        if len(self.classes_) < 2:
            raise ConfigError(f"the training split has {len(self.classes_)} class: a classifier needs at least 2")
        return self._encode(labels)

    def _encode(self, y: Any) -> Any:
        index = {label: i for i, label in enumerate(self.classes_.tolist())}
        labels = np.asarray(y, dtype=object).tolist()
        unknown = sorted({str(v) for v in labels if v not in index})
        if unknown:
            raise ConfigError(f"the validation split has classes the training split lacks: {', '.join(unknown)}")
        return np.asarray([index[v] for v in labels], dtype=np.int64)

    def _n_outputs(self) -> int:
        return len(self.classes_)

    def _class_weight(self, targets: Any) -> dict[int, float] | None:
        """``cleaning.imbalance: class_weight``: each class weighted n / (k * count), as scikit-learn's
        ``class_weight="balanced"``."""
        if self.rebalance != "class_weight":
            return None
        counts = np.bincount(targets, minlength=len(self.classes_))
        return {i: float(len(targets) / (len(counts) * c)) for i, c in enumerate(counts) if c > 0}

    def predict_proba(self, X: Any) -> Any:
        return self._forward(X).astype(np.float64)

    def predict(self, X: Any) -> Any:
        return self.classes_[np.argmax(self._forward(X), axis=1)]


class KerasRegressor(RegressorMixin, KerasPipeline):  # type: ignore[misc]
    """A Keras regressor: one linear output, learned on the standardised target."""

    def _encode_fit(self, y: Any) -> Any:
        values = np.asarray(y, dtype=np.float64)
        self.target_mean_ = float(values.mean())
        std = float(values.std())
        self.target_std_ = std if std > 0 and np.isfinite(std) else 1.0
        return self._encode(values)

    def _encode(self, y: Any) -> Any:
        return ((np.asarray(y, dtype=np.float64) - self.target_mean_) / self.target_std_).astype(np.float32)

    def _n_outputs(self) -> int:
        return 1

    def _served(self, network: Any, n_features: int) -> Any:
        from .env import keras

        inputs = keras.Input(shape=(n_features,), name="features")
        unit = keras.layers.Rescaling(scale=self.target_std_, offset=self.target_mean_, name="target_unit")
        return keras.Model(inputs, unit(network(inputs)), name=f"{network.name}_in_target_unit")

    def predict(self, X: Any) -> Any:
        return self._forward(X)[:, 0].astype(np.float64)


def _seed_everything(seed: int) -> None:
    """Python, NumPy, PyTorch and Keras seeded; PyTorch's deterministic algorithms on (on CUDA this needs a
    fixed cuBLAS workspace, set before CUDA starts)."""
    import torch

    from .env import keras

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    keras.utils.set_random_seed(int(seed))
    torch.use_deterministic_algorithms(True, warn_only=True)


def _history(history: Any, training: Training) -> dict[str, Any]:
    """``history_`` (``aispec.runtime.api``) from the ``History`` a fit returned: the per-epoch figures
    (``loss``, ``val_loss``, ``accuracy``, ...; after ``--resume`` the interrupted run's epochs too, which
    ``callbacks.Backup`` puts back), the 0-based index among them of the epoch whose weights the network
    keeps, whether early stopping ended the training, and ``resumed_from``: after ``--resume``, the number
    of epochs the interrupted run had completed, else None."""
    series: Mapping[str, list[Any]] = history.history or {}
    numbers = list(history.epoch or [])
    names = [str(name) for name in series]
    n = max((len(values) for values in series.values()), default=0)
    epochs = [{name: float(series[name][i]) for name in names if i < len(series[name])} for i in range(n)]
    offset = numbers[0] if numbers else 0  # a History without the earlier epochs starts at the resumed one
    resumed = getattr(history, "resumed_from", None) or offset or None
    return {"epochs": epochs, "best_epoch": _kept_epoch(epochs, training),
            "stopped_early": training.early_stopping is not None and offset + n < training.epochs,
            "resumed_from": resumed}


def _kept_epoch(epochs: list[dict[str, float]], training: Training) -> int | None:
    """The 0-based epoch whose weights the network keeps: with early stopping, the best epoch by its monitor
    (Keras restores it at the end of training); without, None (the last epoch's)."""
    stop = training.early_stopping
    if stop is None:
        return None
    values = [logs.get(stop.monitor) for logs in epochs]
    if not values or any(v is None for v in values):
        return None
    best = 0
    for i, value in enumerate(values):
        gain = values[best] - value if stop.mode == "min" else value - values[best]  # type: ignore[operator]
        if gain > stop.min_delta:  # Keras's rule: an improvement beats the best by more than min_delta
            best = i
    return best
