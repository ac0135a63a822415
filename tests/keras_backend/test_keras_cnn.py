"""The Keras CNN for images, through the code the digits-cnn-keras example generates: a channels-first
``keras.Sequential`` of the declared blocks, augmentation drawn afresh every epoch (and the right epoch's
after ``--resume``), an ONNX graph on the image service's ``N×C×H×W`` tensor that gives Keras's answers at
several batch sizes, int8 on the dense layers only, and a search on image frames.

Outside oracles: Keras's own predictions, ``altered_copies`` for the augmented images, onnxruntime.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aispec.runtime.errors import ConfigError

from .conftest import EXAMPLES, Project, _project

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

AUGMENT = {"image": {"rotate": 10, "crop": 0.1}, "factor": 1.5}
SMALL = 360  # training images per fit: a few seconds each


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    yield _project(tmp_path_factory.mktemp("keras-digits"), EXAMPLES / "digits-cnn-keras.yaml")


def _training(project: Project, **changes: Any) -> dict[str, Any]:
    return {**project.config.SPEC["training"], "epochs": 3, "early_stopping": None, **changes}


def _fit(project: Project, params: dict[str, Any] | None = None, *, callbacks: list[Any] | None = None,
         **settings: Any) -> Any:
    X, y = project.xy("train")
    pipeline = project.model.build_pipeline({"filters": 8, "dropout": 0.1, **(params or {})})
    pipeline.set_params(**{"training": _training(project), "accelerator": "cpu", **settings})
    return pipeline.fit(X.iloc[:SMALL], y.iloc[:SMALL], validation=project.xy("validation"), callbacks=callbacks)


def test_the_network_is_a_channels_first_sequential_of_the_declared_blocks(digits: Project) -> None:
    from aispec.runtime.backends.keras.settings import resolve_training

    training = resolve_training(_training(digits, regularization={"dropout": 0.25, "l2": 0.001}), {},
                                task="image_classification", has_validation=True)
    network = digits.model.build_network((1, 8, 8), 10, {"conv_layers": 3, "filters": 4, "kernel_size": 5,
                                                         "dense_units": [24, 12]}, training)
    kinds = [type(layer).__name__ for layer in network.layers]
    assert kinds == ["Conv2D", "BatchNormalization", "Activation", "MaxPooling2D"] * 3 + [
        "Flatten", "Dropout", "Dense", "Dropout", "Dense", "Dropout", "Dense"]
    convs = [layer for layer in network.layers if type(layer).__name__ == "Conv2D"]
    assert [(c.filters, tuple(c.kernel_size), c.data_format) for c in convs] == [
        (4, (5, 5), "channels_first"), (8, (5, 5), "channels_first"), (16, (5, 5), "channels_first")]
    assert all(c.kernel_regularizer is not None for c in convs)  # training.regularization.l2
    norms = [layer for layer in network.layers if type(layer).__name__ == "BatchNormalization"]
    assert {(n.axis, n.momentum) for n in norms} == {(1, 0.9)}  # the channel axis; PyTorch's momentum
    dense = [layer.units for layer in network.layers if type(layer).__name__ == "Dense"]
    assert dense == [24, 12, 10] and network.output_shape == (None, 10)
    assert {layer.rate for layer in network.layers if type(layer).__name__ == "Dropout"} == {0.25}
    with pytest.raises(ConfigError, match="at most 3 blocks fit"):
        digits.model.build_network((1, 8, 8), 10, {"conv_layers": 4}, training)


def test_each_epoch_draws_fresh_copies_and_resume_draws_the_right_epochs(digits: Project, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from aispec.runtime.backends.keras.augment import AugmentedImages
    from aispec.runtime.backends.keras.env import keras
    from aispec.runtime.images.augment import altered_copies

    X, _ = digits.xy("train")
    images = X["image"].iloc[:SMALL].tolist()
    fitted = _fit(digits)
    standardize = fitted.preprocess_
    targets = np.arange(SMALL)
    dataset = AugmentedImages(images, targets, standardize=standardize, settings=AUGMENT["image"], extra=180,
                              batch_size=64, seed=5)
    assert len(dataset) == 9  # 540 rows in batches of 64
    x0, t0 = dataset.epoch_data(0)
    x1, _ = dataset.epoch_data(1)
    made, sources = altered_copies(images, AUGMENT["image"], extra=180, rng=np.random.default_rng([5, 0]))
    expected = np.concatenate([standardize.transform(images), standardize.transform(made)])
    assert sorted(r.tobytes() for r in x0) == sorted(r.tobytes() for r in expected.astype(np.float32))
    assert sorted(t0.tolist()) == sorted([*range(SMALL), *sources.tolist()])
    assert not np.array_equal(np.sort(x0, axis=None), np.sort(x1, axis=None))  # other copies next epoch
    assert np.array_equal(AugmentedImages(images, targets, standardize=standardize, settings=AUGMENT["image"],
                                          extra=180, batch_size=64, seed=5).epoch_data(0)[0], x0)

    # in model.fit: the dataset is told each epoch's number, also after --resume
    drawn: list[int] = []
    draw = AugmentedImages.epoch_data

    def recorded(self: Any, epoch: int) -> Any:
        if not drawn or drawn[-1] != epoch:
            drawn.append(epoch)
        return draw(self, epoch)

    class Crash(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
            if epoch == 2:
                raise KeyboardInterrupt("after the second epoch")

    monkeypatch.setattr(AugmentedImages, "epoch_data", recorded)
    settings = {"augmentation": AUGMENT, "checkpoint_dir": tmp_path / "checkpoints",
                "training": _training(digits, epochs=4)}
    with pytest.raises(KeyboardInterrupt):
        _fit(digits, callbacks=[Crash()], **settings)
    assert drawn == [0, 1]
    drawn.clear()
    resumed = _fit(digits, resume=True, **settings)
    # (Keras reads one batch to build the model before training starts: epoch 0's, unused)
    assert [e for e in drawn if e != 0] == [2, 3] and resumed.history_["resumed_from"] == 2
    # without augmentation the dataset is not used at all
    drawn.clear()
    _fit(digits)
    assert drawn == []


def test_the_graph_takes_the_services_tensor_and_gives_keras_answers(digits: Project, tmp_path: Path) -> None:
    import onnx
    import onnxruntime as ort
    from sklearn.metrics import accuracy_score

    from aispec.runtime import quantize
    from aispec.runtime.images.decode import to_tensor
    from aispec.runtime.registry import backend

    pipeline = _fit(digits, training=_training(digits, epochs=6))
    X_test, y_test = digits.xy("test")
    assert accuracy_score(y_test, pipeline.predict(X_test)) > 0.6  # learnt: chance is 0.1 (360 images, 6 epochs)
    path = tmp_path / "model.onnx"
    report = backend("keras").export(pipeline, X_test, path, task="image_classification")
    assert report.parity_ok and report.label_agreement == 1.0 and report.reference == "Keras"
    assert report.columns == {"image": "image"} and report.inputs == {"image": "image"}
    graph = onnx.load(str(path))
    [given] = graph.graph.input
    dims = [d.dim_value or d.dim_param for d in given.type.tensor_type.shape.dim]
    assert given.name == "image" and dims[1:] == [1, 8, 8]  # channels first: no Transpose needed
    assert "Transpose" not in {n.op_type for n in graph.graph.node}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    tensor = to_tensor(X_test["image"].tolist())
    keras_proba = pipeline.predict_proba(X_test)
    for chunk in (1, 7, len(tensor)):
        parts = [session.run(None, {"image": tensor[i:i + chunk]}) for i in range(0, len(tensor), chunk)]
        assert np.max(np.abs(np.concatenate([p[1] for p in parts]) - keras_proba)) < 1e-5
        assert list(np.concatenate([p[0] for p in parts])) == list(pipeline.predict(X_test))
    assert quantize.quantizable_ops(path) == {"MatMul": 2}
    assert quantize.quantize_int8(path, tmp_path / "int8.onnx") == 2
    ops = [n.op_type for n in onnx.load(str(tmp_path / "int8.onnx")).graph.node]
    assert "ConvInteger" not in ops and ops.count("Conv") == 2


def test_the_search_runs_on_image_frames(digits: Project) -> None:
    from aispec.runtime.api import SearchRequest
    from aispec.runtime.registry import backend
    from aispec.runtime.search import Choice

    engine = backend("keras")
    X, y = digits.xy("train")
    request = SearchRequest(space={"filters": Choice(4, 8)}, method="grid", trials=2, timeout_s=None, cv=None,
                            scoring="accuracy", greater_is_better=True, seed=1, validation=digits.xy("validation"))

    def make(params: dict[str, Any]) -> Any:
        return digits.model.build_pipeline(params).set_params(training=_training(digits, epochs=2))

    result = engine.search(engine.prepare(make, task="image_classification", rebalance="none", seed=1),
                           X.iloc[:SMALL], y.iloc[:SMALL], request)
    assert result.n_trials == 2 and {t["params"]["filters"] for t in result.trials} == {4, 8}
    assert all(t["state"] == "complete" for t in result.trials)
