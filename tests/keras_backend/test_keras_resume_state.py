"""``--resume`` on the Keras back end carries on where the interrupted fit stopped: not only the weights,
optimizer and epoch (Keras's ``BackupAndRestore``) but early stopping's patience count, best value and best
weights, the plateau schedule's counters, the best checkpoint's value, and the figures of the epochs already
run. The oracle is the interrupted fit's own callbacks, read at the moment it was cut off."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aispec.runtime.backends.keras.callbacks import Backup
from aispec.runtime.backends.keras.env import keras

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CUT = 6  # the fit is cut off before this epoch (0-based): 6 epochs ran


class Cut(keras.callbacks.Callback):  # type: ignore[misc]
    """A power cut before epoch ``at``; ``seen`` keeps each epoch's figures as the fit reported them."""

    def __init__(self, at: int | None) -> None:
        super().__init__()
        self.at, self.seen = at, []  # type: ignore[var-annotated]

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        if epoch == self.at:
            raise KeyboardInterrupt(f"power cut before epoch {epoch}")

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.seen.append(dict(logs or {}))


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 4)).astype("float32")
    return x, (x @ np.array([1.0, -2.0, 0.5, 0.0], dtype="float32") + rng.normal(scale=2.0, size=64)).astype(
        "float32")


def _fit(folder: Path, cut_at: int | None, epochs: int = 12) -> tuple[Any, list[Any], Cut]:
    keras.utils.set_random_seed(0)
    network = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    network.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="mse")
    x, y = _data()
    # a patience longer than the fit and a noisy target: the counters are non-trivial when the cut comes
    kept = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=50, restore_best_weights=True),
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, cooldown=1),
            keras.callbacks.ModelCheckpoint(folder / "best.weights.h5", monitor="val_loss", save_best_only=True,
                                            save_weights_only=True)]
    cut = Cut(cut_at)
    callbacks = [cut, *kept]
    callbacks.append(Backup(folder / "backup", every=1, keep=callbacks))
    history = None
    with contextlib.suppress(KeyboardInterrupt):  # the cut: the backup stays for the next fit
        history = network.fit(x[:48], y[:48], validation_data=(x[48:], y[48:]), epochs=epochs, batch_size=8,
                              verbose=0, callbacks=callbacks)
    return history, kept, cut


def _state(kept: list[Any]) -> dict[str, Any]:
    stop, plateau, checkpoint = kept
    return {"stop": (stop.wait, stop.best, stop.best_epoch), "plateau": (plateau.wait, plateau.best,
                                                                         plateau.cooldown_counter),
            "checkpoint": checkpoint.best}


def test_a_resumed_fit_goes_on_with_the_callbacks_state_and_history(tmp_path: Path) -> None:
    _, before, first = _fit(tmp_path, CUT)
    assert len(first.seen) == CUT and (tmp_path / "backup").is_dir()
    was = _state(before)
    assert was["stop"][0] > 0 or was["plateau"][2] > 0, "the counters should be under way when the cut comes"
    best_weights = [np.asarray(w) for w in before[0].best_weights]

    # cut again at once after resuming: the callbacks hold what the interrupted fit had
    _, after, second = _fit(tmp_path, CUT)
    assert second.seen == []
    assert _state(after) == was
    # the plateau schedule had lowered the rate; the optimizer's state comes back with the weights
    rate = float(first.model.optimizer.learning_rate)
    assert rate < 0.05 and float(second.model.optimizer.learning_rate) == rate
    assert all(np.array_equal(a, b) for a, b in zip(after[0].best_weights, best_weights, strict=True))

    # resume to the end: every epoch's figures, the interrupted ones first, and where it resumed
    history, _, third = _fit(tmp_path, None)
    assert history is not None and history.resumed_from == CUT
    assert history.epoch == list(range(12))
    assert history.history["val_loss"][:CUT] == pytest.approx([e["val_loss"] for e in first.seen])
    assert history.history["val_loss"][CUT:] == pytest.approx([e["val_loss"] for e in third.seen])
    assert not (tmp_path / "backup").exists()  # a finished fit leaves no backup


def test_a_fresh_fit_ignores_a_state_that_does_not_match_the_backup(tmp_path: Path) -> None:
    """A fit cut off between writing the backup and the callbacks' state: the state is of another epoch
    and is not applied (the callbacks start afresh, as Keras's own backup would have them)."""
    _fit(tmp_path, CUT)
    state = tmp_path / "backup" / "callbacks.json"
    state.write_text(state.read_text(encoding="utf-8").replace(f'"epoch": {CUT}', '"epoch": 2'), encoding="utf-8")
    _, after, second = _fit(tmp_path, CUT)
    assert second.seen == [] and after[0].wait == 0 and after[2].best is None
