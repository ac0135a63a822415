"""The Keras back end's reading of the spec's ``training`` section and the mlp parameters (no Keras import).

Every ``training`` field must take effect on a Keras model: each one, changed alone, changes the
resolved :class:`Training` the generated ``train_network`` compiles and fits with.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

import pytest

from aispec.runtime.backends.keras.settings import EarlyStop, resolve_training
from aispec.runtime.errors import ConfigError

# the training section as `aispec show --resolved` gives it for a Keras model (defaults filled in)
RESOLVED: dict[str, Any] = {"loss": None, "optimizer": "adam", "learning_rate": 0.001, "batch_size": 32,
                            "epochs": 20, "early_stopping": None, "regularization": None, "seed": 0}


def _resolve(training: dict[str, Any] | None = None, params: dict[str, Any] | None = None,
             task: str = "classification", validation: bool = True) -> Any:
    return resolve_training(training if training is not None else RESOLVED, params or {}, task=task,
                            has_validation=validation)


def test_defaults_for_each_task() -> None:
    cls = _resolve()
    assert (cls.epochs, cls.batch_size, cls.optimizer, cls.learning_rate) == (20, 32, "adam", 0.001)
    assert cls.loss == "sparse_categorical_crossentropy" and cls.metrics == ("accuracy",)
    assert cls.early_stopping is None and (cls.monitor, cls.mode) == ("val_loss", "min")
    reg = _resolve(task="regression", validation=False)
    assert reg.loss == "mean_squared_error" and reg.metrics == () and reg.monitor == "loss"


# (field set in the spec, its value) -> the change each must make; `seed` is read by the pipeline itself
MUTATIONS: list[tuple[str, Any]] = [
    ("loss", "mae"),
    ("optimizer", "sgd"),
    ("learning_rate", 0.05),
    ("batch_size", 8),
    ("epochs", 3),
    ("early_stopping", True),
    ("early_stopping", {"patience": 2}),
    ("early_stopping", {"monitor": "val_loss", "min_delta": 0.01}),
    ("early_stopping", {"monitor": "loss"}),
    ("regularization", {"l1": 0.01}),
    ("regularization", {"l2": 0.01}),
    ("regularization", {"dropout": 0.2}),
    ("schedule", "cosine"),
    ("schedule", {"kind": "step", "step_size": 3, "gamma": 0.5}),
    ("schedule", {"kind": "plateau", "patience": 4}),
    ("checkpoint_every", 5),
    ("checkpoint_every", 0),
]


@pytest.mark.parametrize(("field", "value"), MUTATIONS, ids=[f"{f}={v}" for f, v in MUTATIONS])
def test_every_training_field_takes_effect(field: str, value: Any) -> None:
    base = _resolve(task="regression")
    changed = _resolve({**copy.deepcopy(RESOLVED), field: value}, task="regression")
    assert changed != base


def test_the_training_section_is_read_in_full() -> None:
    """A field added to the schema's Training fails here until it is in MUTATIONS (or is the seed)."""
    from aispec.schemas.spec import Training

    covered = {field for field, _ in MUTATIONS} | {"seed"}
    assert set(Training.model_fields) == covered


@pytest.mark.parametrize("schedule", [
    {"kind": "constant"},
    {"kind": "step", "step_size": 3, "gamma": 0.5},
    {"kind": "exponential", "gamma": 0.8},
    {"kind": "cosine"},
])
def test_schedules_give_the_learning_rates_torch_schedulers_give(schedule: dict[str, Any]) -> None:
    """The rate of each epoch equals what the torch back end's scheduler (torch.optim.lr_scheduler, the
    oracle) sets for that epoch, so a spec trains on the same rates on either back end."""
    torch = pytest.importorskip("torch")
    from aispec.runtime.backends.torch.loop import make_scheduler
    from aispec.runtime.deep import training_settings

    training = {**RESOLVED, "learning_rate": 0.1, "epochs": 12, "schedule": schedule}
    resolved = _resolve(training)
    settings = training_settings(training, task="classification")
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = make_scheduler(optimizer, settings)
    expected = []
    for _ in range(12):
        expected.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert [resolved.learning_rate_at(epoch) for epoch in range(12)] == pytest.approx(expected, rel=1e-12)


def test_schedule_and_checkpoint_values_keras_cannot_use_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="not one of"):
        _resolve({**RESOLVED, "schedule": "linear"})
    with pytest.raises(ConfigError, match="gamma"):
        _resolve({**RESOLVED, "schedule": {"kind": "step", "gamma": 1.5}})
    with pytest.raises(ConfigError, match="checkpoint_every"):
        _resolve({**RESOLVED, "checkpoint_every": -1})


def test_model_params_override_the_training_section() -> None:
    training = {**RESOLVED, "regularization": {"l2": 0.5, "dropout": 0.5}, "early_stopping": {"patience": 9}}
    resolved = _resolve(training, {"learning_rate_init": 0.02, "max_iter": 7, "batch_size": 4, "solver": "sgd",
                                   "alpha": 0.003, "dropout": 0.1, "early_stopping": False})
    assert (resolved.learning_rate, resolved.epochs, resolved.batch_size, resolved.optimizer) == (0.02, 7, 4, "sgd")
    assert (resolved.l2, resolved.dropout, resolved.early_stopping) == (0.003, 0.1, None)
    # early_stopping: true in the params keeps the section's own settings
    kept = _resolve(training, {"early_stopping": True})
    assert kept.early_stopping == EarlyStop(monitor="val_loss", patience=9, min_delta=0.0, mode="min")


@pytest.mark.parametrize(("name", "task", "keras_name"), [
    ("cross_entropy", "classification", "sparse_categorical_crossentropy"),
    ("log_loss", "classification", "sparse_categorical_crossentropy"),
    ("MSE", "regression", "mean_squared_error"),
    ("mae", "regression", "mean_absolute_error"),
    ("huber", "regression", "huber"),
    ("logcosh", "regression", "log_cosh"),
])
def test_loss_names(name: str, task: str, keras_name: str) -> None:
    assert _resolve({**RESOLVED, "loss": name}, task=task).loss == keras_name


def test_values_keras_cannot_use_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="a regression loss"):
        _resolve({**RESOLVED, "loss": "mse"}, task="classification")
    with pytest.raises(ConfigError, match="not a loss aispec knows"):
        _resolve({**RESOLVED, "loss": "hinge_squared"}, task="regression")
    with pytest.raises(ConfigError, match="no Keras optimizer"):
        _resolve(params={"solver": "lbfgs"})
    with pytest.raises(ConfigError, match="not a series the training records"):
        _resolve({**RESOLVED, "early_stopping": {"monitor": "val_auc"}})
    with pytest.raises(ConfigError, match="below 1"):
        _resolve(params={"dropout": 1.0})
    with pytest.raises(ConfigError, match="greater than 0"):
        _resolve(params={"learning_rate_init": 0})


def test_validation_series_fall_back_to_training_ones_without_a_validation_split() -> None:
    # aispec check warns about early stopping without a validation split (AIS351); the run watches the training loss
    resolved = _resolve({**RESOLVED, "early_stopping": {"monitor": "val_accuracy"}}, validation=False)
    assert resolved.early_stopping is not None and resolved.early_stopping.monitor == "accuracy"
    assert resolved.early_stopping.mode == "max" and resolved.monitor == "accuracy"


def test_reading_the_settings_imports_neither_keras_nor_torch() -> None:
    import subprocess

    code = ("import sys; import aispec.runtime.backends.keras as k; k.settings.resolve_training({}, {}, "
            "task='regression', has_validation=False); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'torch')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout
