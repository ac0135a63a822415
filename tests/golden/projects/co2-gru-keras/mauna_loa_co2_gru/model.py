"""The model of mauna-loa-co2-gru: a GRU network in Keras 3 (on its PyTorch back end) that
forecasts the series from a window of its recent values.

- `build_network` is the network, built from PARAMS (and the search's values). The run shows
  it windows of the series (the values at problem.lags, oldest first), each relative to its last
  value and divided by a scale learned on the training part (data.cleaning.scaling); it predicts
  every step of the horizon at once, in the same units;
- `train_network` compiles it with the loss and optimizer of the spec's `training` section and fits it
  with `model.fit` and its callbacks: early stopping on the validation part's windows, a checkpoint
  of the best epoch and a backup to resume from (checkpoints/), one progress line per epoch;
- `build_pipeline` puts the windows, the scaling and the network together: aispec's runtime trains it
  on the training part (after searching PARAMS), forecasts the test part from rolling origins, and
  exports the scaling and the network to one ONNX graph (its window length fixed, see docs/keras.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import keras
from aispec.runtime.backends.keras import FitData, Training
from aispec.runtime.backends.keras.callbacks import Backup, schedule_callbacks
from aispec.runtime.search import Choice, Distribution
from aispec.runtime.series.forecasters import Forecaster, make_forecaster

from mauna_loa_co2_gru.config import BACKEND, SEED, SPEC
from mauna_loa_co2_gru.features import SETTINGS

FAMILY = "gru"
# The network's hyperparameters (model.params); the search below overrides the ones it tunes.
# learning_rate, optimizer, batch_size and dropout given here override the spec's `training` section.
PARAMS: dict[str, Any] = {"num_layers": 1}

# model.search: grid, 30 trials, each scored by rolling-origin forecasts over the
# validation steps; trials whose validation loss is worse than the median of earlier trials at the
# same epoch are stopped early.
SEARCH_SPACE: dict[str, Distribution] = {
    "hidden_size": Choice(16, 32),
}

# training.optimizer -> the Keras optimizer
OPTIMIZERS: dict[str, type[keras.optimizers.Optimizer]] = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
    "adagrad": keras.optimizers.Adagrad,
}

CELLS: dict[str, type[keras.layers.Layer]] = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def build_network(
    input_shape: tuple[int | None, ...], n_outputs: int, params: dict[str, Any], training: Training
) -> keras.Model:
    """`num_layers` stacked GRU layers of `hidden_size` units over the window (each
    read both ways with `bidirectional`), dropout after each, weights penalised by L1/L2
    (training.regularization); then a Dense layer from the last step's output to `n_outputs` values.

    Input: (batch, time, 1) scaled values, oldest first, any length; output: (batch, n_outputs) in the
    same scaled units."""
    units = int(params.get("hidden_size", 32))
    layers = int(params.get("num_layers", 1))
    penalty = None
    if training.l1 or training.l2:
        penalty = keras.regularizers.L1L2(l1=training.l1, l2=training.l2)
    network = keras.Sequential(name=FAMILY)
    network.add(keras.Input(shape=input_shape, name="window"))
    for layer in range(layers):
        cell = CELLS[FAMILY](units, return_sequences=layer < layers - 1, kernel_regularizer=penalty)
        network.add(keras.layers.Bidirectional(cell) if params.get("bidirectional") else cell)
        if training.dropout > 0:
            network.add(keras.layers.Dropout(training.dropout))
    network.add(keras.layers.Dense(n_outputs, name="forecast"))
    return network


def train_network(
    network: keras.Model,
    data: FitData,
    training: Training,
    *,
    checkpoints: Path | None = None,
    resume: bool = False,
) -> keras.callbacks.History:
    """Compile `network` and fit it on `data` with `model.fit` (epochs, batch size, early stopping,
    checkpoints: the `training` section). With `resume`, training continues from the backup of an
    interrupted run in `checkpoints`; without, a fresh training starts. The windows are shuffled
    between epochs: each one carries its own history, so their order in time is not needed."""
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
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )


def build_pipeline(params: dict[str, Any] | None = None) -> Forecaster:
    """The forecaster: windows of the series (features.py's SETTINGS), the scaling and the network, with
    PARAMS overridden by `params` (e.g. from the search)."""
    return make_forecaster(
        FAMILY,
        settings=SETTINGS,
        params={**PARAMS, **(params or {})},
        seed=SEED,
        scaling=SPEC["data"]["cleaning"]["scaling"],
        backend=BACKEND,
        build_network=build_network,
        train_network=train_network,
        training=SPEC["training"],
    )
