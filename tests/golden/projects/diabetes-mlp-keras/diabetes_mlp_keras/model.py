"""The model of diabetes-mlp-keras: a multi-layer perceptron in Keras 3, on its PyTorch back end.

- `build_network` is the network, built from PARAMS (and the search's values);
- `train_network` compiles it with the loss and optimizer of the spec's `training` section and fits it
  with `model.fit` and its callbacks: the learning-rate schedule, early stopping on the validation
  split, a checkpoint of the best epoch and a backup to resume from (checkpoints/), one progress
  line per epoch;
- `build_pipeline` puts the preprocessing of features.py in front of the network: aispec's runtime
  fits that pipeline on the training split (after searching PARAMS), evaluates it,
  and exports both parts to one ONNX graph.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import keras
from aispec.runtime.backends.keras import FitData, KerasRegressor, Training
from aispec.runtime.backends.keras.callbacks import Backup, schedule_callbacks
from aispec.runtime.search import Distribution, Float, Int

from diabetes_mlp_keras.config import SEED, SPEC, TASK
from diabetes_mlp_keras.features import build_preprocessor

FAMILY = "mlp"
# The network's hyperparameters (model.params); the search below overrides the ones it tunes.
PARAMS: dict[str, Any] = {"layers": 2, "activation": "relu"}

# model.search: bayesian, 4 trials, timeout 60.0s, each scored on the validation split.
SEARCH_SPACE: dict[str, Distribution] = {
    "hidden_units": Int(8, 48),
    "learning_rate_init": Float(0.001, 0.02, log=True),
}

# training.optimizer -> the Keras optimizer
OPTIMIZERS: dict[str, type[keras.optimizers.Optimizer]] = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
    "adagrad": keras.optimizers.Adagrad,
}


# scikit-learn's activation names, as Keras calls them (other names are Keras's own)
ACTIVATIONS = {"logistic": "sigmoid", "identity": "linear"}


def build_network(
    input_shape: tuple[int, ...], n_outputs: int, params: dict[str, Any], training: Training
) -> keras.Model:
    """Dense hidden layers (`hidden_layer_sizes`, or `layers` layers of `hidden_units`), each with its
    activation, then batch normalisation (`batch_norm`) and dropout; weights penalised by L1/L2
    (training.regularization, or `alpha`); then one linear output."""
    hidden = params.get("hidden_layer_sizes")
    if hidden is None:
        hidden = [params.get("hidden_units", 64)] * params.get("layers", 2)
    widths = [hidden] if isinstance(hidden, int) else list(hidden)
    activation = params.get("activation", "relu")
    activation = ACTIVATIONS.get(activation, activation)
    penalty = None
    if training.l1 or training.l2:
        penalty = keras.regularizers.L1L2(l1=training.l1, l2=training.l2)
    network = keras.Sequential(name=FAMILY)
    network.add(keras.Input(shape=input_shape, name="features"))
    for width in widths:
        dense = keras.layers.Dense(int(width), activation=activation, kernel_regularizer=penalty)
        network.add(dense)
        if params.get("batch_norm", False):
            network.add(keras.layers.BatchNormalization())
        if training.dropout > 0:
            network.add(keras.layers.Dropout(training.dropout))
    network.add(keras.layers.Dense(n_outputs, name="prediction"))
    return network


def train_network(
    network: keras.Model,
    data: FitData,
    training: Training,
    *,
    checkpoints: Path | None = None,
    resume: bool = False,
) -> keras.callbacks.History:
    """Compile `network` and fit it on `data` with `model.fit` (epochs, batch size, schedule, early
    stopping, checkpoints: the `training` section). With `resume`, training continues from the backup
    of an interrupted run in `checkpoints` (saved every checkpoint_every epochs); without, a fresh
    training starts."""
    network.compile(
        optimizer=OPTIMIZERS[training.optimizer](learning_rate=training.learning_rate),
        loss=training.loss,
        metrics=list(training.metrics),
    )
    callbacks: list[keras.callbacks.Callback] = [*data.callbacks, *schedule_callbacks(training)]
    if training.early_stopping is not None:
        stop = training.early_stopping
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=stop.monitor,
                patience=stop.patience,
                min_delta=stop.min_delta,
                mode=stop.mode,
                restore_best_weights=True,
            )
        )
    if checkpoints is not None:
        if not resume:  # a fresh training: forget the backup of an interrupted one
            shutil.rmtree(checkpoints / "backup", ignore_errors=True)
        checkpoints.mkdir(parents=True, exist_ok=True)
        callbacks.append(
            keras.callbacks.ModelCheckpoint(
                checkpoints / "best.weights.h5",
                monitor=training.monitor,
                mode=training.mode,
                save_best_only=True,
                save_weights_only=True,
            )
        )
        if training.checkpoint_every > 0:  # the backup --resume continues from
            # with the state of the callbacks above (early stopping's patience and best weights, ...)
            callbacks.append(
                Backup(checkpoints / "backup", every=training.checkpoint_every, keep=callbacks)
            )
    return network.fit(
        data.x,
        data.y,
        validation_data=data.validation,
        epochs=training.epochs,
        batch_size=training.batch_size,
        class_weight=data.class_weight,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )


def build_pipeline(params: dict[str, Any] | None = None) -> KerasRegressor:
    """Preprocessing and the network, as one estimator (exported to ONNX as a whole)."""
    return KerasRegressor(
        preprocess=build_preprocessor(),
        build_network=build_network,
        train_network=train_network,
        params={**PARAMS, **(params or {})},
        training=SPEC["training"],
        task=TASK,
        seed=SEED,
    )
