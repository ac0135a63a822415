"""The PyTorch back end, through the code a project generates (its ``Network``, ``build_network`` and
``train_loop``): every ``training`` field changes the training the way it says, a run is reproducible,
``--resume`` continues exactly, the search prunes, pruning and the ONNX export hold what they promise.

Data: two small synthetic tables (a 3-class and a regression problem, seeded), so each fit takes a
fraction of a second on the CPU.
"""

from __future__ import annotations

import importlib
import itertools
import math
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from aispec.compiler.build import build  # noqa: E402
from aispec.runtime import preprocess  # noqa: E402
from aispec.runtime.backends.torch import check_params  # noqa: E402
from aispec.runtime.backends.torch.estimator import FitContext, make_network_estimator  # noqa: E402
from aispec.runtime.errors import ConfigError  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "specs" / "examples" / "penguins-mlp-torch.yaml"
TYPES = {"x1": "numeric", "x2": "numeric", "x3": "numeric", "colour": "categorical"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ModuleType]]:
    """The example's generated model.py and loop.py, imported as a project imports them."""
    folder = tmp_path_factory.mktemp("torch-project")
    result = build(EXAMPLE, folder / "p")
    assert result.ok and result.plan is not None
    package = result.plan.package
    sys.path.insert(0, str(folder / "p"))
    try:
        yield {"model": importlib.import_module(f"{package}.model"), "loop": importlib.import_module(f"{package}.loop")}
    finally:
        sys.path.remove(str(folder / "p"))
        for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
            del sys.modules[name]


def _table(n: int, seed: int, task: str = "classification") -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "x3": rng.normal(size=n) * 100 + 50,
                      "colour": rng.choice(["red", "green", "blue"], size=n).astype(object)})
    signal = X["x1"] * 2 - X["x2"] + (X["colour"] == "red") * 1.5 + rng.normal(scale=0.3, size=n)
    if task == "regression":
        return X, pd.Series(signal * 10 + 200 + X["x3"] * 0.1, name="y")
    labels = np.where(signal > 1.0, "high", np.where(signal < -1.0, "low", "mid"))
    return X, pd.Series(labels.astype(object), name="label")


TRAIN = _table(400, 1)
VALID = _table(120, 2)
TEST = _table(150, 3)


def _estimator(project: Mapping[str, ModuleType], *, task: str = "classification",
               params: Mapping[str, Any] | None = None, **training: Any) -> Any:
    spec_training = {"epochs": 6, "batch_size": 32, "learning_rate": 0.01, "optimizer": "adam", "seed": 0,
                     **training}
    return make_network_estimator(
        task=task, network=project["model"].build_network, loop=project["loop"].train_loop,
        preprocessor=preprocess.build_preprocessor(column_types=TYPES, cleaning={}, task=task),
        params={"hidden_units": 16, "layers": 2, **dict(params or {})}, training=spec_training)


def _fit(estimator: Any, *, train: tuple[Any, Any] = TRAIN, validation: tuple[Any, Any] | None = VALID,
         **context: Any) -> Any:
    return estimator.fit(*train, validation=validation, context=FitContext(**{"progress": False, **context}))


def _weights(estimator: Any) -> dict[str, Any]:
    return {k: v.clone() for k, v in estimator.network_.state_dict().items()}


def _same_weights(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------------------------ the training fields


def test_the_network_is_the_generated_module_with_the_declared_shape(project: dict[str, ModuleType]) -> None:
    model = _fit(_estimator(project, params={"hidden_units": 24, "layers": 3, "activation": "tanh",
                                             "batch_norm": True, "dropout": 0.2}))
    network = model.network_
    assert type(network).__name__ == "Network" and type(network).__module__.endswith(".model")
    linear = [m for m in network.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(model.n_features_in_, 24), (24, 24), (24, 24),
                                                                  (24, 3)]
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in network.modules()) == 3
    assert sum(isinstance(m, torch.nn.Tanh) for m in network.modules()) == 3
    assert {m.p for m in network.modules() if isinstance(m, torch.nn.Dropout)} == {0.2}


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop", "adagrad"])
def test_each_optimizer_is_the_one_asked_with_weight_decay_on_weights_only(name: str) -> None:
    from aispec.runtime.backends.torch.loop import make_optimizer
    from aispec.runtime.deep import training_settings

    network = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))
    settings = training_settings({"optimizer": name, "learning_rate": 0.05,
                                  "regularization": {"l2": 0.01}}, task="classification")
    optimizer = make_optimizer(network, settings)
    assert type(optimizer).__name__.lower() == name
    decayed = {id(p) for g in optimizer.param_groups if g["weight_decay"] == 0.01 for p in g["params"]}
    assert decayed == {id(network[0].weight), id(network[2].weight)}  # no bias, no normalisation parameter
    assert all(g["lr"] == 0.05 for g in optimizer.param_groups)


@pytest.mark.parametrize(("schedule", "expected"), [
    ({"kind": "constant"}, [0.01] * 6),
    ({"kind": "step", "step_size": 2, "gamma": 0.5}, [0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025]),
    ({"kind": "exponential", "gamma": 0.5}, [0.01 * 0.5**i for i in range(6)]),
    ({"kind": "cosine"}, [0.005 * (1 + math.cos(math.pi * i / 6)) for i in range(6)]),
])
def test_the_learning_rate_follows_the_declared_schedule(project: dict[str, ModuleType], schedule: dict[str, Any],
                                                         expected: list[float]) -> None:
    model = _fit(_estimator(project, schedule=schedule))
    assert [e["lr"] for e in model.history_["epochs"]] == pytest.approx(expected, rel=1e-9)


def test_a_plateau_schedule_lowers_the_rate_when_the_monitored_value_stalls(project: dict[str, ModuleType]) -> None:
    # a rate so high that the validation loss does not improve for long
    model = _fit(_estimator(project, epochs=12, learning_rate=0.5, optimizer="sgd",
                            schedule={"kind": "plateau", "gamma": 0.1, "patience": 1}))
    rates = [e["lr"] for e in model.history_["epochs"]]
    assert rates[0] == 0.5 and min(rates) < 0.5
    assert all(b in (a, pytest.approx(a * 0.1)) for a, b in itertools.pairwise(rates))


def test_batch_size_and_epochs_decide_the_batches_the_loop_sees(project: dict[str, ModuleType]) -> None:
    seen: list[int] = []
    loop = project["loop"].train_loop

    def counting(network: Any, batches: Any, validation: Any, setup: Any) -> Any:
        original = batches.epoch

        def epoch(e: int | None) -> Iterator[Any]:
            for inputs, targets in original(e):
                seen.append(len(inputs))
                yield inputs, targets

        batches.epoch = epoch
        return loop(network, batches, validation, setup)

    estimator = _estimator(project, epochs=3, batch_size=64)
    estimator.set_params(loop=counting)
    _fit(estimator)
    # 400 rows: six batches of 64 and one of 16, every epoch
    assert seen == [64] * 6 + [16] + [64] * 6 + [16] + [64] * 6 + [16]
    assert len(estimator.history_["epochs"]) == 3


def test_a_last_batch_of_one_row_joins_the_one_before_for_batch_normalisation(project: dict[str, ModuleType]) -> None:
    X, y = TRAIN[0].iloc[:65], TRAIN[1].iloc[:65]
    model = _fit(_estimator(project, epochs=2, batch_size=32, params={"batch_norm": True}), train=(X, y))
    assert len(model.history_["epochs"]) == 2


def test_early_stopping_stops_and_keeps_the_best_epochs_weights(project: dict[str, ModuleType]) -> None:
    from aispec.runtime.backends.torch.loop import make_loss

    model = _fit(_estimator(project, epochs=60, learning_rate=0.05,
                            early_stopping={"patience": 3, "monitor": "val_loss", "min_delta": 0.0}))
    history = model.history_
    losses = [e["val_loss"] for e in history["epochs"]]
    assert history["stopped_early"] and len(losses) < 60
    best = history["best_epoch"]
    assert best == int(np.argmin(losses)) and len(losses) == best + 1 + 3  # patience epochs after the best
    # the network is the best epoch's: its validation loss, recomputed here, is the best one
    outputs = torch.from_numpy(model.outputs(VALID[0]))
    targets = torch.from_numpy(model._targets(VALID[1].to_numpy()))
    assert float(make_loss("cross_entropy")(outputs, targets)) == pytest.approx(losses[best], rel=1e-5)


def test_early_stopping_can_watch_a_metric_of_the_task(project: dict[str, ModuleType]) -> None:
    from sklearn.metrics import f1_score

    model = _fit(_estimator(project, epochs=40, early_stopping={"patience": 4, "monitor": "val_f1_macro"}),
                 scoring="accuracy")
    epochs = model.history_["epochs"]
    assert all("val_f1_macro" in e and "val_accuracy" in e for e in epochs)
    best = model.history_["best_epoch"]
    assert best == int(np.argmax([e["val_f1_macro"] for e in epochs]))  # the first of the highest
    assert f1_score(VALID[1], model.predict(VALID[0]), average="macro") == pytest.approx(epochs[best]["val_f1_macro"])


def test_l1_shrinks_the_weights_and_l2_decays_them(project: dict[str, ModuleType]) -> None:
    def size(model: Any) -> float:
        return float(sum(float(m.weight.detach().abs().sum()) for m in model.network_.modules()
                         if isinstance(m, torch.nn.Linear)))

    plain = size(_fit(_estimator(project, epochs=8)))
    l1 = size(_fit(_estimator(project, epochs=8, regularization={"l1": 0.01})))
    l2 = size(_fit(_estimator(project, epochs=8, optimizer="adamw", regularization={"l2": 5.0})))
    assert l1 < 0.8 * plain and l2 < 0.8 * plain


def test_dropout_from_training_or_params(project: dict[str, ModuleType]) -> None:
    from_training = _estimator(project, regularization={"dropout": 0.3}).network_params()["dropout"]
    from_params = _estimator(project, params={"dropout": 0.1}, regularization={"dropout": 0.3}).network_params()
    assert from_training == 0.3 and from_params["dropout"] == 0.1  # model.params overrides training


def test_the_loss_is_the_one_asked(project: dict[str, ModuleType]) -> None:
    from aispec.runtime.backends.torch.loop import make_loss

    assert isinstance(make_loss("huber"), torch.nn.HuberLoss) and isinstance(make_loss("mae"), torch.nn.L1Loss)
    a = _fit(_estimator(project, task="regression", loss="mse"), train=_table(300, 4, "regression"), validation=None)
    b = _fit(_estimator(project, task="regression", loss="l1"), train=_table(300, 4, "regression"), validation=None)
    assert a.settings_.loss == "mse" and b.settings_.loss == "mae"
    assert a.history_["epochs"][0]["loss"] != b.history_["epochs"][0]["loss"]
    with pytest.raises(ConfigError, match="does not fit a classification task"):
        _estimator(project, loss="mse")


def test_class_weight_balanced_weighs_the_loss_by_class(project: dict[str, ModuleType]) -> None:
    estimator = _estimator(project)
    estimator.set_params(class_weight="balanced")
    estimator.classes_ = np.array(["a", "b"], dtype=object)
    weights = estimator._weights(np.array([0, 0, 0, 1]))
    assert weights.tolist() == pytest.approx([4 / 6, 2.0])


# ----------------------------------------------------------------------------------- reproducibility


def test_the_same_seed_gives_the_same_network_and_another_seed_another(project: dict[str, ModuleType]) -> None:
    a = _weights(_fit(_estimator(project, seed=3, params={"dropout": 0.2})))
    b = _weights(_fit(_estimator(project, seed=3, params={"dropout": 0.2})))
    c = _weights(_fit(_estimator(project, seed=4, params={"dropout": 0.2})))
    assert _same_weights(a, b) and not _same_weights(a, c)
    assert torch.are_deterministic_algorithms_enabled()


class _Interrupt(Exception):
    pass


def test_resume_continues_an_interrupted_training_exactly(project: dict[str, ModuleType], tmp_path: Path) -> None:
    settings = {"epochs": 8, "checkpoint_every": 1, "schedule": {"kind": "step", "step_size": 3, "gamma": 0.5},
                "early_stopping": {"patience": 20}, "params": {"dropout": 0.3}}
    params = settings.pop("params")
    whole = _fit(_estimator(project, params=params, **settings), checkpoint_dir=tmp_path / "whole")

    def stop_after_three(epoch: int, logs: Mapping[str, float]) -> None:
        if epoch == 2:
            raise _Interrupt  # as a Ctrl-C or a killed job would, after epoch 3's checkpoint
    with pytest.raises(_Interrupt):
        _fit(_estimator(project, params=params, **settings), checkpoint_dir=tmp_path / "cut", on_epoch=stop_after_three)
    resumed = _fit(_estimator(project, params=params, **settings), checkpoint_dir=tmp_path / "cut", resume=True)
    assert resumed.history_["resumed_from"] == 3
    assert _same_weights(_weights(whole), _weights(resumed))
    assert [e | {"seconds": 0} for e in whole.history_["epochs"]] == [e | {"seconds": 0}
                                                                      for e in resumed.history_["epochs"]]


def test_resume_refuses_a_checkpoint_of_other_settings(project: dict[str, ModuleType], tmp_path: Path) -> None:
    _fit(_estimator(project, epochs=2), checkpoint_dir=tmp_path)
    with pytest.raises(ConfigError, match="other settings, parameters or data"):
        _fit(_estimator(project, epochs=2, learning_rate=0.02), checkpoint_dir=tmp_path, resume=True)
    # without a checkpoint, --resume simply trains from the start
    fresh = _fit(_estimator(project, epochs=2), checkpoint_dir=tmp_path / "none", resume=True)
    assert fresh.history_["resumed_from"] is None and len(fresh.history_["epochs"]) == 2


def test_a_finished_run_resumed_trains_nothing_and_gives_the_same_network(project: dict[str, ModuleType],
                                                                         tmp_path: Path) -> None:
    first = _fit(_estimator(project, epochs=3), checkpoint_dir=tmp_path)
    again = _fit(_estimator(project, epochs=3), checkpoint_dir=tmp_path, resume=True)
    assert _same_weights(_weights(first), _weights(again)) and again.history_["resumed_from"] == 3


# ------------------------------------------------------------------------------------------ device


def test_device_auto_is_the_cpu_here_and_gpu_is_refused_without_cuda() -> None:
    from aispec.runtime.backends.torch.device import choose_device, mixed_precision

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert choose_device("auto").type == "cpu" and not mixed_precision(choose_device("auto"))
    assert choose_device("cpu").type == "cpu"
    with pytest.raises(ConfigError, match="no CUDA device"):
        choose_device("gpu")


# ------------------------------------------------------------------------------------------- progress


def test_progress_is_one_plain_line_per_epoch_off_a_terminal(project: dict[str, ModuleType]) -> None:
    import io

    from rich.console import Console

    from aispec.runtime.progress import Steps

    out = io.StringIO()
    steps = Steps(console=Console(file=out, force_terminal=False, width=200))
    with steps.step("Train"):  # the epochs print on the running step's console
        _fit(_estimator(project, epochs=3), progress=True)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("  epoch")]
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert all("loss" in line and "val_loss" in line and "\x1b" not in line for line in lines)


def test_progress_on_a_terminal_is_a_bar_per_epoch() -> None:
    import io

    from rich.console import Console

    from aispec.runtime.deep import EpochProgress

    out = io.StringIO()
    bar = EpochProgress(2, console=Console(file=out, force_terminal=True, width=100))
    assert list(bar.batches(iter(range(5)), 0, 5)) == [0, 1, 2, 3, 4]
    bar.end(0, {"loss": 0.5})
    assert "epoch 1/2" in out.getvalue() and "5/5" in out.getvalue()


# ----------------------------------------------------------------------------------------- parameters


def test_scikit_learn_words_are_refused_with_their_torch_equivalent(project: dict[str, ModuleType]) -> None:
    accepted = project["model"].NETWORK_PARAMS
    with pytest.raises(ConfigError, match="scikit-learn parameter") as error:
        check_params("mlp", {"alpha": 0.1}, accepted=accepted, locations={"model.params.alpha": "spec.yaml:9:5"})
    assert error.value.where == "spec.yaml:9:5" and "regularization.l2" in (error.value.hint or "")
    check_params("mlp", {"hidden_units": 8, "learning_rate": 0.1, "batch_size": 8, "optimizer": "sgd"},
                 accepted=accepted)
    with pytest.raises(ConfigError, match="activation 'swish'"):
        project["model"].build_network(4, 2, {"activation": "swish"})
