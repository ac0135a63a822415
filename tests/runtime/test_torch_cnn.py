"""The PyTorch CNN for images, through the code the digits example generates (its ``Network``,
``build_network`` and ``train_loop``): the network has the declared shape, augmentation is drawn afresh
every epoch (reproducibly, so ``--resume`` stays exact), the exported graph takes the image service's
``N×C×H×W`` tensor and gives the eager network's answers at several batch sizes, int8 touches the dense
layers only, and the search works on image frames.

Data: the bundled digits (8×8), a few hundred images and a few epochs per fit.
"""

from __future__ import annotations

import importlib
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
from aispec.runtime.backends.torch.estimator import FitContext, make_network_estimator  # noqa: E402
from aispec.runtime.backends.torch.inputs import AugmentedImageBatches  # noqa: E402
from aispec.runtime.errors import ConfigError  # noqa: E402
from aispec.runtime.images.augment import altered_copies  # noqa: E402
from aispec.runtime.images.folder import load_digits  # noqa: E402
from aispec.runtime.images.standardize import Standardize  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "specs" / "examples" / "digits-image.yaml"
AUGMENT = {"image": {"rotate": 10, "crop": 0.1}, "factor": 1.5}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ModuleType]]:
    """The digits example's generated model.py and loop.py, imported as a project imports them."""
    folder = tmp_path_factory.mktemp("torch-cnn")
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


@pytest.fixture(scope="module")
def digits() -> dict[str, tuple[pd.DataFrame, pd.Series]]:
    frame = load_digits()
    frame["digit"] = frame["digit"].astype(str)
    rows = np.random.default_rng(0).permutation(len(frame))
    parts = {"train": rows[:360], "validation": rows[360:480], "test": rows[480:600]}
    return {name: (frame.iloc[index][["image"]], frame.iloc[index]["digit"]) for name, index in parts.items()}


def _estimator(project: Mapping[str, ModuleType], params: Mapping[str, Any] | None = None, **training: Any) -> Any:
    spec_training = {"epochs": 3, "batch_size": 32, "learning_rate": 0.003, "optimizer": "adam", "seed": 0,
                     **training}
    return make_network_estimator(
        task="image_classification", network=project["model"].build_network, loop=project["loop"].train_loop,
        preprocessor=Standardize(flatten=False), params={"filters": 8, "dense_units": 32, **dict(params or {})},
        training=spec_training)


def _fit(estimator: Any, digits: Mapping[str, Any], **context: Any) -> Any:
    return estimator.fit(*digits["train"], validation=digits["validation"],
                         context=FitContext(**{"progress": False, "accelerator": "cpu", **context}))


def _weights(estimator: Any) -> dict[str, Any]:
    return {k: v.clone() for k, v in estimator.network_.state_dict().items()}


def _same_weights(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------------------------------ the network


def test_the_network_is_the_generated_module_with_the_declared_blocks(project: dict[str, ModuleType]) -> None:
    network = project["model"].build_network((1, 8, 8), 10, {"conv_layers": 3, "filters": 4, "kernel_size": 5,
                                                             "dense_units": [24, 12], "dropout": 0.3})
    assert type(network).__name__ == "Network" and type(network).__module__.endswith(".model")
    convs = [m for m in network.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [(1, 4, (5, 5)), (4, 8, (5, 5)),
                                                                                (8, 16, (5, 5))]
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in network.modules()) == 3  # batch_norm defaults on
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in network.modules()) == 3
    # three poolings leave 1×1 of 16 channels for the dense layers 24 and 12, then the 10 classes
    linear = [(m.in_features, m.out_features) for m in network.modules() if isinstance(m, torch.nn.Linear)]
    assert linear == [(16, 24), (24, 12), (12, 10)]
    assert {m.p for m in network.modules() if isinstance(m, torch.nn.Dropout)} == {0.3}
    assert network(torch.zeros(5, 1, 8, 8)).shape == (5, 10)
    # filters as a list, one per block; no batch normalisation
    plain = project["model"].build_network((3, 16, 16), 2, {"filters": [5, 7], "batch_norm": False})
    assert [m.out_channels for m in plain.modules() if isinstance(m, torch.nn.Conv2d)] == [5, 7]
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())


def test_more_blocks_than_the_image_can_halve_is_a_config_error(project: dict[str, ModuleType]) -> None:
    with pytest.raises(ConfigError, match="at most 3 blocks fit"):
        project["model"].build_network((1, 8, 8), 10, {"conv_layers": 4})


# ---------------------------------------------------------------------------------------- augmentation


def test_each_epoch_draws_fresh_copies_reproducibly(digits: Mapping[str, Any]) -> None:
    X, _ = digits["train"]
    images = X["image"].tolist()
    standardize = Standardize(flatten=False).fit(X)
    targets = np.arange(len(images), dtype=np.int64)  # each image its own target: where each row came from
    batches = AugmentedImageBatches(images, targets, standardize=standardize, settings=AUGMENT["image"],
                                    extra=180, batch_size=64, seed=7)
    assert batches.rows == 540 and len(batches) == 9  # 360 originals + 180 copies, in batches of 64

    def epoch(e: int | None) -> tuple[Any, Any]:
        parts = list(batches.epoch(e))
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    x0, t0 = epoch(0)
    x1, _ = epoch(1)
    again, _ = epoch(0)
    assert len(x0) == 540 and torch.equal(x0, again)  # the same (seed, epoch): the same images, same order
    # every original is there once per epoch, and the copies are what altered_copies makes for (seed, epoch)
    originals = torch.from_numpy(standardize.transform(images))
    made, sources = altered_copies(images, AUGMENT["image"], extra=180, rng=np.random.default_rng([7, 0]))
    expected = torch.cat([originals, torch.from_numpy(standardize.transform(made))])
    assert sorted(map(bytes, (r.numpy().tobytes() for r in x0))) == sorted(
        map(bytes, (r.numpy().tobytes() for r in expected)))
    assert sorted(t0.tolist()) == sorted([*range(360), *sources.tolist()])
    # another epoch: the originals again, other copies
    assert not torch.equal(torch.sort(x0.flatten())[0], torch.sort(x1.flatten())[0])
    # evaluation order (epoch None): the originals only, as they are
    plain, _ = epoch(None)
    assert torch.equal(plain, originals)


@pytest.mark.slow
def test_augmentation_reaches_the_final_fit_and_resume_stays_exact(project: dict[str, ModuleType],
                                                                   digits: Mapping[str, Any], tmp_path: Path) -> None:
    class Interrupt(Exception):
        pass

    settings = {"epochs": 4, "early_stopping": {"patience": 10}}
    seen: list[int] = []
    whole = _fit(_estimator(project, **settings), digits, augmentation=AUGMENT, checkpoint_dir=tmp_path / "whole")
    plain = _fit(_estimator(project, **settings), digits)
    assert not _same_weights(_weights(whole), _weights(plain))  # the copies changed the training

    def stop_after_two(epoch: int, logs: Mapping[str, float]) -> None:
        seen.append(epoch)
        if epoch == 1:
            raise Interrupt

    with pytest.raises(Interrupt):
        _fit(_estimator(project, **settings), digits, augmentation=AUGMENT, checkpoint_dir=tmp_path / "cut",
             on_epoch=stop_after_two)
    resumed = _fit(_estimator(project, **settings), digits, augmentation=AUGMENT, checkpoint_dir=tmp_path / "cut",
                   resume=True)
    assert resumed.history_["resumed_from"] == 2
    # epochs 3 and 4 drew the copies the uninterrupted run drew: the same network, bit for bit
    assert _same_weights(_weights(whole), _weights(resumed))
    # a checkpoint of a run without augmentation is not continued with it
    _fit(_estimator(project, epochs=2), digits, checkpoint_dir=tmp_path / "other")
    with pytest.raises(ConfigError, match="other settings, parameters or data"):
        _fit(_estimator(project, epochs=2), digits, augmentation=AUGMENT, checkpoint_dir=tmp_path / "other",
             resume=True)


# --------------------------------------------------------------------------------------------- export


@pytest.mark.slow
def test_the_graph_takes_the_services_tensor_and_gives_the_eager_answers(project: dict[str, ModuleType],
                                                                       digits: Mapping[str, Any],
                                                                       tmp_path: Path) -> None:
    import onnx
    import onnxruntime as ort
    from sklearn.metrics import accuracy_score

    from aispec.runtime import quantize
    from aispec.runtime.images.decode import to_tensor
    from aispec.runtime.registry import backend

    model = _fit(_estimator(project, epochs=6), digits)
    X_test, y_test = digits["test"]
    assert accuracy_score(y_test, model.predict(X_test)) > 0.8  # it learnt the digits
    path = tmp_path / "model.onnx"
    report = backend("torch").export(model, X_test, path, task="image_classification")
    assert report.parity_ok and report.label_agreement == 1.0 and report.reference == "PyTorch"
    assert report.columns == {"image": "image"} and report.inputs == {"image": "image"}
    assert report.outputs == ["label", "probabilities"]
    graph = onnx.load(str(path))
    [given] = graph.graph.input
    dims = [d.dim_value or d.dim_param for d in given.type.tensor_type.shape.dim]
    assert given.name == "image" and dims[1:] == [1, 8, 8] and isinstance(dims[0], str)  # N×C×H×W, N free
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    tensor = to_tensor(X_test["image"].tolist())  # what the service feeds: pixels / 255, no standardisation
    eager = model.predict_proba(X_test)
    for chunk in (1, 7, len(tensor)):
        parts = [session.run(None, {"image": tensor[i:i + chunk]}) for i in range(0, len(tensor), chunk)]
        labels = np.concatenate([p[0] for p in parts])
        proba = np.concatenate([p[1] for p in parts])
        assert np.max(np.abs(proba - eager)) < 1e-5
        assert list(labels) == list(model.predict(X_test))
    # int8 quantizes the dense layers' MatMuls only; the convolutions stay float (no ConvInteger)
    assert quantize.quantizable_ops(path) == {"MatMul": 2}
    assert quantize.quantize_int8(path, tmp_path / "int8.onnx") == 2
    ops = [n.op_type for n in onnx.load(str(tmp_path / "int8.onnx")).graph.node]
    assert "ConvInteger" not in ops and ops.count("Conv") == 2 and "MatMul" not in ops
    result = quantize.quantize(path, X_test, mode="int8", columns=report.columns, inputs=report.inputs,
                               compared=report.compared)
    assert result is not None and result.quantized_ops == {"MatMul": 2}
    assert "its 2 Conv nodes stay float32" in result.reason  # said, not silently skipped
    assert result.label_agreement is not None and result.label_agreement >= 0.95


@pytest.mark.slow
def test_the_search_runs_on_image_frames_and_records_its_trials(project: dict[str, ModuleType],
                                                                digits: Mapping[str, Any]) -> None:
    from aispec.runtime.api import SearchRequest
    from aispec.runtime.registry import backend
    from aispec.runtime.search import Choice

    engine = backend("torch")
    X, y = digits["train"]
    request = SearchRequest(space={"filters": Choice(4, 8)}, method="grid", trials=2, timeout_s=None, cv=None,
                            scoring="accuracy", greater_is_better=True, seed=1, validation=digits["validation"])

    def make(params: dict[str, Any]) -> Any:
        return _estimator(project, params, epochs=2)

    result = engine.search(engine.prepare(make, task="image_classification", rebalance="none", seed=1), X, y,
                           request)
    assert result.n_trials == 2 and {t["params"]["filters"] for t in result.trials} == {4, 8}
    assert result.validation == "the validation split" and result.best_params["filters"] in (4, 8)


def test_the_search_fingerprint_reads_images_by_their_pixels(digits: Mapping[str, Any]) -> None:
    from aispec.runtime.trial_store import data_digest as _digest

    X, _ = digits["train"]
    changed = X.copy()
    pixels = changed["image"].iloc[5].copy()
    pixels[0, 0, 0] ^= 1
    changed["image"] = [pixels if i == 5 else v for i, v in enumerate(changed["image"])]
    assert np.array_equal(_digest(X), _digest(X.copy()))
    assert not np.array_equal(_digest(X), _digest(changed))


def test_back_ends_that_draw_per_epoch_get_the_settings_and_the_others_static_copies(
        digits: Mapping[str, Any]) -> None:
    from aispec.runtime.data import DataReport
    from aispec.runtime.registry import info
    from aispec.runtime.workflow import _augment

    X, y = digits["train"]
    spec = {"image": AUGMENT["image"], "factor": 1.5}
    report = DataReport(n_rows=360, n_columns=1, columns={})
    X_out, y_out, per_epoch = _augment("image_classification", X, y, spec, 3, report, per_epoch=True)
    assert X_out is X and y_out is y and per_epoch == {"image": AUGMENT["image"], "factor": 1.5}
    [step] = report.rows
    assert (step.rows_in, step.rows_out, step.part) == (360, 540, "train") and "afresh every epoch" in step.detail
    static, labels, none = _augment("image_classification", X, y, spec, 3, None, per_epoch=False)
    assert none is None and len(static) == len(labels) == 540
    # the network back ends declare it; scikit-learn fits the static copies
    assert info("torch").can("epoch_augmentation") and info("keras").can("epoch_augmentation")
    assert not info("sklearn").can("epoch_augmentation")


@pytest.mark.slow
def test_an_mlp_on_images_takes_the_flattened_pixels(project: dict[str, ModuleType], digits: Mapping[str, Any],
                                                    tmp_path: Path) -> None:
    """`mlp` on image_classification: the same standardisation, flattened; the graph still takes the image."""
    import onnx

    from aispec.runtime.registry import backend

    shapes: list[Any] = []

    def linear(n_inputs: Any, n_outputs: int, params: Mapping[str, Any]) -> Any:
        shapes.append(n_inputs)
        return torch.nn.Sequential(torch.nn.Linear(n_inputs, n_outputs))

    model = make_network_estimator(task="image_classification", network=linear, loop=project["loop"].train_loop,
                                   preprocessor=Standardize(flatten=True), params={},
                                   training={"epochs": 2, "seed": 0})
    model.fit(*digits["train"], context=FitContext(progress=False, accelerator="cpu"))
    assert shapes == [64] and model.inputs_.input_shape == (64,)
    X_test, _ = digits["test"]
    report = backend("torch").export(model, X_test, tmp_path / "model.onnx", task="image_classification")
    assert report.parity_ok and report.inputs == {"image": "image"}
    assert "Flatten" in {n.op_type for n in onnx.load(str(tmp_path / "model.onnx")).graph.node}
