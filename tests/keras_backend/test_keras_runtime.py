"""The Keras back end at run time, on generated projects' own model code (Keras 3 on PyTorch).

Outside oracles: Keras's own predictions for the ONNX graph (at three batch sizes), numpy for the target's
unit, scikit-learn for class weights and metrics, Keras's ModelCheckpoint for the epoch early stopping
keeps, the number of epochs a resumed ``model.fit`` runs.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from sklearn.metrics import f1_score, r2_score
from sklearn.utils.class_weight import compute_class_weight

from aispec.runtime import quantize
from aispec.runtime.api import FitSettings, SearchRequest
from aispec.runtime.backends.keras import KerasClassifier, KerasRegressor
from aispec.runtime.errors import ConfigError
from aispec.runtime.export import onnx_feeds
from aispec.runtime.registry import backend
from aispec.runtime.search import Float, Int

from .conftest import Project

# Keras's torch back end converts tensors with np.array(x, copy=False)-style calls NumPy 2 warns about
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def _session(path: object) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _run(session: ort.InferenceSession, feeds: dict[str, np.ndarray], chunk: int) -> list[np.ndarray]:
    n = len(next(iter(feeds.values())))
    parts = [session.run(None, {k: v[i:i + chunk] for k, v in feeds.items()}) for i in range(0, n, chunk)]
    return [np.concatenate([p[j] for p in parts]) for j in range(len(parts[0]))]


def test_same_seed_same_network_other_seed_other_network(penguins: Project) -> None:
    X_test, _ = penguins.xy("test")
    first = penguins.fitted().predict_proba(X_test)
    again = penguins.fitted().predict_proba(X_test)
    other = penguins.fitted(seed=6).predict_proba(X_test)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_classifier_exports_one_graph_that_gives_keras_answers_at_any_batch_size(penguins: Project,
                                                                                 tmp_path: object) -> None:
    pipeline = penguins.fitted()
    assert isinstance(pipeline, KerasClassifier)
    X_test, y_test = penguins.xy("test")
    X_test = X_test.copy()
    X_test.iloc[:4, X_test.columns.get_loc("bill_length_mm")] = np.nan  # missing values reach the graph's imputers
    X_test.iloc[4:7, X_test.columns.get_loc("sex")] = ""  # (a missing category is "")
    path = tmp_path / "model.onnx"  # type: ignore[operator]
    report = backend("keras").export(pipeline, X_test, path, task="classification")
    assert report.parity_ok and report.label_agreement == 1.0 and report.reference == "Keras"
    assert report.contract == {"task": "classification", "label": "label", "value": None, "scores": "probabilities",
                               "score_kind": "probabilities", "classes": ["Adelie", "Chinstrap", "Gentoo"],
                               "anomaly_flag": None, "higher_is_anomalous": False}
    # one input per column, named like it, as the scikit-learn back end's graphs: the service is unchanged
    graph = onnx.load(str(path))
    assert [i.name for i in graph.graph.input] == penguins.features
    assert report.inputs["island"] == "string" and report.inputs["bill_length_mm"] in ("float", "double")
    session = _session(path)
    feeds = onnx_feeds(X_test, report.columns, report.inputs)
    keras_proba = pipeline.predict_proba(X_test)
    for chunk in (1, 13, len(X_test)):
        labels, proba = _run(session, feeds, chunk)
        assert labels.dtype == object and list(labels) == list(pipeline.predict(X_test))
        assert np.max(np.abs(proba - keras_proba)) < 1e-5
    assert f1_score(y_test, labels, average="macro") > 0.85  # the network learnt the species


def test_regressor_answers_in_the_target_unit(diabetes: Project, tmp_path: object) -> None:
    pipeline = diabetes.fitted({"hidden_units": 16})
    assert isinstance(pipeline, KerasRegressor)
    X_test, y_test = diabetes.xy("test")
    # the network learns the standardised target; the served model turns it back (numpy as the oracle)
    raw = np.asarray(pipeline.network_.predict(pipeline.transform_features(X_test), verbose=0))[:, 0]
    _, y_train = diabetes.xy("train")
    expected = raw * np.std(np.asarray(y_train, dtype=float)) + np.mean(np.asarray(y_train, dtype=float))
    assert np.allclose(pipeline.predict(X_test), expected, rtol=1e-5, atol=1e-3)
    assert r2_score(y_test, pipeline.predict(X_test)) > 0.3
    path = tmp_path / "model.onnx"  # type: ignore[operator]
    report = backend("keras").export(pipeline, X_test, path, task="regression")
    assert report.parity_ok and report.outputs == ["variable"] and report.contract["value"] == "variable"
    [value] = _run(_session(path), onnx_feeds(X_test, report.columns, report.inputs), 5)
    assert np.max(np.abs(value[:, 0] - pipeline.predict(X_test))) / np.std(pipeline.predict(X_test)) < 1e-5
    # Keras's float32 Casts are gone: the graph is the preprocessing's and the network's own operators
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert "Cast" not in ops[ops.index("MatMul"):] and ops.count("MatMul") == 3


def test_early_stopping_keeps_the_epoch_the_best_checkpoint_holds(penguins: Project, tmp_path: object) -> None:
    checkpoints = tmp_path / "checkpoints"  # type: ignore[operator]
    pipeline = penguins.fitted(checkpoint_dir=checkpoints)
    history = pipeline.history_
    assert history["best_epoch"] == int(np.argmin([e["val_loss"] for e in history["epochs"]]))
    # Keras restored the best epoch's weights; ModelCheckpoint saved the same epoch on its own
    saved = penguins.model.build_network((pipeline.transform_features(penguins.xy("test")[0]).shape[1],), 3,
                                         pipeline.params, pipeline.settings_)
    saved.load_weights(checkpoints / "best.weights.h5")
    x = pipeline.transform_features(penguins.xy("test")[0])
    assert np.allclose(saved.predict(x, verbose=0), pipeline.network_.predict(x, verbose=0), atol=1e-6)
    assert not (checkpoints / "backup").exists()  # a finished training leaves no backup to resume from


def test_an_interrupted_training_resumes_where_it_stopped(diabetes: Project, tmp_path: object) -> None:
    from aispec.runtime.backends.keras.env import keras

    class Crash(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
            if epoch == 4:
                raise KeyboardInterrupt("power cut after the fourth epoch")

    checkpoints = tmp_path / "checkpoints"  # type: ignore[operator]
    training = {**diabetes.config.SPEC["training"], "epochs": 10, "early_stopping": None}
    X, y = diabetes.xy("train")
    first = diabetes.model.build_pipeline().set_params(training=training, checkpoint_dir=checkpoints)
    with pytest.raises(KeyboardInterrupt):
        first.fit(X, y, callbacks=[Crash()])
    assert (checkpoints / "backup").is_dir()
    resumed = diabetes.model.build_pipeline().set_params(training=training, checkpoint_dir=checkpoints, resume=True)
    resumed.fit(X, y)
    assert resumed.history_["resumed_from"] == 4  # epochs 5..10 ran; the history holds all ten, as torch's does
    assert len(resumed.history_["epochs"]) == 10
    fresh = diabetes.model.build_pipeline().set_params(training=training, checkpoint_dir=checkpoints)
    fresh.fit(X, y)
    assert len(fresh.history_["epochs"]) == 10 and fresh.history_["resumed_from"] is None


def test_class_weight_and_resampling_follow_cleaning_imbalance(penguins: Project) -> None:
    pipeline = penguins.model.build_pipeline().set_params(rebalance="class_weight")
    _, y = penguins.xy("train")
    targets = np.searchsorted(sorted(set(y)), np.asarray(y, dtype=object))
    pipeline.classes_ = np.array(sorted(set(y)), dtype=object)
    weights = pipeline._class_weight(targets)
    expected = compute_class_weight("balanced", classes=np.arange(3), y=targets)
    assert np.allclose([weights[i] for i in range(3)], expected)
    oversampled = penguins.fitted(rebalance="oversample", training={**penguins.config.SPEC["training"], "epochs": 2})
    assert oversampled.rows_out_ > oversampled.rows_in_ == len(y)


def test_search_scores_each_trial_on_the_validation_split(diabetes: Project) -> None:
    engine = backend("keras")
    X, y = diabetes.xy("train")
    validation = diabetes.xy("validation")
    request = SearchRequest(space={"hidden_units": Int(4, 32), "learning_rate_init": Float(0.001, 0.02, log=True)},
                            method="random", trials=5, timeout_s=None, cv=None, scoring="r2", greater_is_better=True,
                            seed=1, validation=validation)
    make = engine.prepare(diabetes.model.build_pipeline, task="regression", rebalance="none", seed=7)
    result = engine.search(make, X, y, request)
    assert result.n_trials == 5 and "validation split" in result.validation
    complete = [t for t in result.trials if t["state"] == "complete"]
    best = max(complete, key=lambda t: t["score"])
    assert result.best_params == best["params"] and result.best_score == best["score"]
    # the best trial's score is r2 on the validation rows of the same (deterministic) fit: scikit-learn agrees
    refit = make(dict(result.best_params)).fit(X, y, validation=validation)
    assert r2_score(validation[1], refit.predict(validation[0])) == pytest.approx(result.best_score, abs=1e-9)


def test_search_without_a_validation_split_holds_out_a_fold(penguins: Project) -> None:
    from sklearn.model_selection import StratifiedKFold

    X, y = penguins.xy("train")
    request = SearchRequest(space={"hidden_units": Int(4, 8)}, method="grid", trials=2, timeout_s=None,
                            cv=StratifiedKFold(4, shuffle=True, random_state=0), scoring="f1_macro",
                            greater_is_better=True, seed=1)
    result = backend("keras").search(penguins.model.build_pipeline, X, y, request)
    assert "hold-out fold of StratifiedKFold" in result.validation and result.n_trials == 2


def test_the_final_fit_follows_the_fit_settings(diabetes: Project) -> None:
    X, y = diabetes.xy("train")
    settings = FitSettings(seed=7, cpus=1, training={**diabetes.config.SPEC["training"], "epochs": 3},
                           accelerator="cpu", validation=diabetes.xy("validation"))
    fitted = backend("keras").fit(diabetes.model.build_pipeline(), X, y, settings=settings, task="regression")
    epochs = fitted.history_["epochs"]
    assert len(epochs) <= 3 and all("val_loss" in e for e in epochs) and fitted.device_ == "cpu"
    assert backend("keras").describe(fitted).startswith("mlp(Keras Sequential: Dense")


def test_a_gpu_that_is_not_there_is_a_config_error(diabetes: Project) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="no CUDA device"):
        diabetes.fitted(accelerator="gpu")


def test_int8_quantization_quantizes_the_networks_matmuls(penguins: Project, tmp_path: object) -> None:
    pipeline = penguins.fitted({"hidden_units": 64, "layers": 2})
    X_test, _ = penguins.xy("test")
    path = tmp_path / "model.onnx"  # type: ignore[operator]
    report = backend("keras").export(pipeline, X_test, path, task="classification")
    assert quantize.quantizable_ops(path) == {"MatMul": 3}
    result = quantize.quantize(path, X_test, mode="int8", columns=report.columns, inputs=report.inputs,
                               compared=report.compared)
    assert result is not None and result.quantized_ops == {"MatMul": 3} and result.status in ("applied", "rejected")
    assert result.label_agreement is not None and result.label_agreement >= 0.95


def test_the_schedule_sets_the_learning_rate_of_each_epoch(diabetes: Project) -> None:
    X, y = diabetes.xy("train")
    training = {**diabetes.config.SPEC["training"], "epochs": 5, "early_stopping": None, "learning_rate": 0.02,
                "schedule": {"kind": "step", "step_size": 2, "gamma": 0.5}}
    fitted = diabetes.model.build_pipeline().set_params(training=training).fit(X, y)
    # the rate each epoch trained with (Keras logs it): halved every second epoch
    assert [e["learning_rate"] for e in fitted.history_["epochs"]] == pytest.approx([0.02, 0.02, 0.01, 0.01, 0.005])

    # plateau: the rule replayed on the recorded losses (cut by gamma once the loss has not improved by
    # Keras's min_delta 1e-4 for `patience` epochs) gives the rates the training used; a tiny rate keeps
    # the loss from improving, so the rate is cut
    plateau = {**training, "schedule": {"kind": "plateau", "patience": 2, "gamma": 0.5}, "epochs": 7,
               "learning_rate": 1e-7}
    fitted = diabetes.model.build_pipeline().set_params(training=plateau).fit(X, y)
    epochs = fitted.history_["epochs"]
    rate, best, wait, expected = 1e-7, np.inf, 0, []
    for logs in epochs:
        expected.append(rate)
        if logs["loss"] < best - 1e-4:
            best, wait = logs["loss"], 0
        else:
            wait += 1
            if wait >= 2:
                rate, wait = rate * 0.5, 0
    assert [e["learning_rate"] for e in epochs] == pytest.approx(expected, rel=1e-6)
    assert expected[-1] < 1e-7  # the rule did cut the rate


def test_the_backup_is_saved_every_checkpoint_every_epochs(diabetes: Project, tmp_path: object) -> None:
    import json

    from aispec.runtime.backends.keras.env import keras

    class Crash(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
            if epoch == 5:
                raise KeyboardInterrupt("power cut after the fifth epoch")

    X, y = diabetes.xy("train")
    checkpoints = tmp_path / "checkpoints"  # type: ignore[operator]
    training = {**diabetes.config.SPEC["training"], "epochs": 8, "early_stopping": None, "checkpoint_every": 3}
    with pytest.raises(KeyboardInterrupt):
        diabetes.model.build_pipeline().set_params(training=training, checkpoint_dir=checkpoints).fit(
            X, y, callbacks=[Crash()])
    # saved after epoch 3, not after 4 or 5: --resume runs epochs 4..8
    metadata = json.loads((checkpoints / "backup" / "training_metadata.json").read_text())
    assert metadata["epoch"] == 3
    resumed = diabetes.model.build_pipeline().set_params(training=training, checkpoint_dir=checkpoints, resume=True)
    resumed.fit(X, y)
    assert resumed.history_["resumed_from"] == 3 and len(resumed.history_["epochs"]) == 8
    # checkpoint_every: 0 saves no backup at all: an interrupted training starts over
    never = tmp_path / "never"  # type: ignore[operator]
    with pytest.raises(KeyboardInterrupt):
        diabetes.model.build_pipeline().set_params(training={**training, "checkpoint_every": 0},
                                                   checkpoint_dir=never).fit(X, y, callbacks=[Crash()])
    assert not (never / "backup").exists()
