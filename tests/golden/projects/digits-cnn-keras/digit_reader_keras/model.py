"""The model of digit-reader-keras: a convolutional network in Keras 3, on its PyTorch back end.

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
from aispec.runtime.backends.keras import FitData, KerasClassifier, Training
from aispec.runtime.backends.keras.callbacks import Backup, schedule_callbacks
from aispec.runtime.errors import ConfigError
from aispec.runtime.search import Choice, Distribution, Float

from digit_reader_keras.config import LOCATIONS, SEED, SPEC, TASK
from digit_reader_keras.features import build_preprocessor

FAMILY = "cnn"
# The network's hyperparameters (model.params); the search below overrides the ones it tunes.
PARAMS: dict[str, Any] = {
    "conv_layers": 2,
    "kernel_size": 3,
    "dense_units": 64,
    "batch_norm": True,
}

# model.search: random, 3 trials, timeout 300.0s, each scored on the validation split.
SEARCH_SPACE: dict[str, Distribution] = {
    "filters": Choice(16, 32),
    "dropout": Float(0.1, 0.4),
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
    """A convolutional network for images of `input_shape` (channels, height, width): the images
    stay channels first, the layout they arrive in (the exported graph takes N×C×H×W as is).

    Per block (`conv_layers` of them, `filters` filters in the first, doubled in each next one, or a
    list, one per block): Conv2D of `kernel_size` (padding keeps the size) → batch normalisation
    (`batch_norm`, default on) → activation → 2×2 max pooling, which halves height and width.
    Then Flatten and the dense layers (`dense_units`: a width or a list; default `layers` layers
    of `hidden_units`, one of 128), each after a dropout; weights penalised by L1/L2
    (training.regularization); then one output per class, softmax."""
    blocks = int(params.get("conv_layers", 2))
    filters = params.get("filters", 32)
    if isinstance(filters, int):
        filters = [filters * 2**block for block in range(blocks)]
    smallest = min(input_shape[1:])
    if len(filters) < 1 or smallest < 2 ** len(filters):
        raise ConfigError(
            f"{len(filters)} convolutional blocks halve {input_shape[1]}x{input_shape[2]} images "
            f"{len(filters)} times: at most {max(0, smallest.bit_length() - 1)} blocks fit",
            where=LOCATIONS.get("model.params.conv_layers"),
        )
    dense = params.get("dense_units")
    if dense is None:
        dense = [int(params.get("hidden_units", 128))] * int(params.get("layers", 1))
    elif isinstance(dense, int):
        dense = [dense]
    activation = params.get("activation", "relu")
    activation = ACTIVATIONS.get(activation, activation)
    penalty = None
    if training.l1 or training.l2:
        penalty = keras.regularizers.L1L2(l1=training.l1, l2=training.l2)
    network = keras.Sequential(name=FAMILY)
    network.add(keras.Input(shape=input_shape, name="features"))
    for width in filters:
        network.add(
            keras.layers.Conv2D(
                int(width),
                int(params.get("kernel_size", 3)),
                padding="same",
                data_format="channels_first",
                kernel_regularizer=penalty,
            )
        )
        if params.get("batch_norm", True):
            # axis 1: the channels; momentum 0.9 as PyTorch's default (Keras's 0.99 leaves the
            # statistics of a small training set, with few steps per epoch, far from converged)
            network.add(keras.layers.BatchNormalization(axis=1, momentum=0.9))
        network.add(keras.layers.Activation(activation))
        network.add(keras.layers.MaxPooling2D(2, data_format="channels_first"))
    network.add(keras.layers.Flatten())
    for units in dense:
        if training.dropout > 0:
            network.add(keras.layers.Dropout(training.dropout))
        network.add(
            keras.layers.Dense(int(units), activation=activation, kernel_regularizer=penalty)
        )
    if training.dropout > 0:
        network.add(keras.layers.Dropout(training.dropout))
    network.add(keras.layers.Dense(n_outputs, activation="softmax", name="probabilities"))
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


def build_pipeline(params: dict[str, Any] | None = None) -> KerasClassifier:
    """Preprocessing and the network, as one estimator (exported to ONNX as a whole)."""
    return KerasClassifier(
        preprocess=build_preprocessor(flatten=False),
        build_network=build_network,
        train_network=train_network,
        params={**PARAMS, **(params or {})},
        training=SPEC["training"],
        task=TASK,
        seed=SEED,
    )
