"""Real model directories for the serving tests: small scikit-learn pipelines trained on palmerpenguins
with the runtime's own data, preprocessing and model code, exported to ONNX and described by
``serving_metadata`` exactly as a training run does."""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("prometheus_client")
pytest.importorskip("palmerpenguins")

from aispec.runtime import data, datasets, models, preprocess
from aispec.runtime.export import to_onnx
from aispec.runtime.serving.contract import serving_metadata, spec_digest, write_serving_metadata
from aispec.runtime.split import split_frame

PII = ["observer_email"]
COLUMNS: dict[str, dict[str, Any]] = {
    "species": {"type": "categorical", "nullable": False, "allowed": ["Adelie", "Chinstrap", "Gentoo"]},
    "island": {"type": "categorical", "nullable": False, "allowed": ["Biscoe", "Dream", "Torgersen"],
               "description": "Island where the bird was observed."},
    "bill_length_mm": {"type": "numeric", "nullable": True, "range": [25.0, 70.0], "unit": "mm"},
    "bill_depth_mm": {"type": "numeric", "nullable": True, "range": [10.0, 25.0], "unit": "mm"},
    "flipper_length_mm": {"type": "numeric", "nullable": True, "range": [150.0, 250.0], "unit": "mm"},
    "body_mass_g": {"type": "numeric", "nullable": True, "range": [2000.0, 7000.0], "unit": "g"},
    "sex": {"type": "categorical", "nullable": True, "allowed": ["male", "female"]},
    "tagged": {"type": "boolean", "nullable": False},
    "year": {"type": "numeric", "range": [2007, 2009]},
    "observer_email": {"type": "categorical", "nullable": False},
}
NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
FEATURES = {
    "classification": ["island", *NUMERIC, "sex", "tagged"],
    "regression": ["species", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "sex", "tagged"],
    "anomaly_detection": ["island", *NUMERIC],
    "clustering": [*NUMERIC, "tagged"],
}
TARGET = {"classification": "species", "regression": "body_mass_g", "anomaly_detection": None, "clustering": None}
SPEC_TEXT = "aispec: 1\nproject: {name: penguins}\n"
DEPLOYMENT: dict[str, Any] = {"target": "rest", "api": {"version": "v1", "max_batch": 50, "max_body": "64KiB",
                                                       "auth": "none"}, "latency_budget": "50ms"}
MONITORING: dict[str, Any] = {"drift": {"method": "both", "threshold": 0.2, "window": 300}, "log_predictions": True}


def penguins() -> Any:
    """The prepared frame (PII and `year` dropped) with a boolean column added."""
    raw = datasets.load_bundled("palmerpenguins")
    rng = np.random.default_rng(7)
    raw["tagged"] = rng.random(len(raw)) < 0.3
    raw["observer_email"] = [f"observer{i % 17}@example.org" for i in range(len(raw))]
    return data.prepare_frame(raw, columns=COLUMNS, drop=["year"], pii=PII)


def build_model_dir(directory: Path, task: str, *, family: str, params: Mapping[str, Any] | None = None,
                    version: str = "1.0.0", deployment: Mapping[str, Any] | None = None,
                    monitoring: Mapping[str, Any] | None = None, seed: int = 0,
                    gates: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Train, export and describe one model in ``directory``; returns the serving.json dict."""
    return train_model_dir(directory, task, family=family, params=params, version=version, deployment=deployment,
                           monitoring=monitoring, seed=seed, gates=gates)[0]


def train_model_dir(directory: Path, task: str, *, family: str, params: Mapping[str, Any] | None = None,
                    version: str = "1.0.0", deployment: Mapping[str, Any] | None = None,
                    monitoring: Mapping[str, Any] | None = None, seed: int = 0,
                    gates: Mapping[str, Any] | None = None, rows: Callable[[Any], Any] | None = None,
                    require_parity: bool = True) -> tuple[dict[str, Any], Any, Any]:
    """:func:`build_model_dir`, also returning the fitted pipeline and the test split's features;
    ``rows`` filters the frame first (e.g. two species for a binary classifier)."""
    frame = penguins()
    if rows is not None:
        frame = rows(frame)
    target = TARGET[task]
    features = FEATURES[task]
    if target is not None:
        frame = frame[frame[target].notna()] if task == "regression" else frame
    split = split_frame(frame, target=target, task=task, train=0.8, validation=0.0, test=0.2,
                        stratify=task == "classification", seed=seed, time_ordered=False, time_column=None,
                        group_column=None)
    column_types = {name: COLUMNS[name]["type"] for name in features}
    pipeline_steps = [
        ("preprocess", preprocess.build_preprocessor(column_types=column_types, cleaning={"scaling": "standard"},
                                                     task=task)),
        ("model", models.make_estimator(family, task=task, params=dict(params or {}), seed=seed)),
    ]
    from sklearn.pipeline import Pipeline

    pipeline = Pipeline(pipeline_steps)
    X_train, X_test = split.train[features], split.test[features]
    y_train = split.train[target] if target is not None else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline.fit(X_train, y_train)
    report = to_onnx(pipeline, X_test, directory / "model.onnx")
    assert report.parity_ok or not require_parity, report
    metrics: dict[str, float] = {}
    if task == "classification":
        metrics["accuracy"] = float(np.mean(pipeline.predict(X_test) == split.test[target]))
    elif task == "regression":
        metrics["mae"] = float(np.mean(np.abs(pipeline.predict(X_test) - split.test[target])))
    classes = list(pipeline.classes_) if task == "classification" else None
    meta = serving_metadata(
        onnx=report.to_dict(), features=features, columns=COLUMNS, frame=X_train, task=task, target=target,
        classes=classes, project_name="penguins", project_version=version, spec_hash=spec_digest(SPEC_TEXT),
        metrics=metrics, deployment=deployment if deployment is not None else DEPLOYMENT,
        monitoring=monitoring if monitoring is not None else MONITORING, pii=PII, seed=seed, gates=gates)
    write_serving_metadata(directory / "serving.json", meta)
    return dict(meta), pipeline, X_test


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("serving-models")
    dirs = {
        "classification": base / "classification",
        "regression": base / "regression",
        "anomaly_detection": base / "anomaly",
        "clustering": base / "clustering",
    }
    build_model_dir(dirs["classification"], "classification", family="random_forest",
                    params={"n_estimators": 25, "max_depth": 6})
    build_model_dir(dirs["regression"], "regression", family="ridge")
    build_model_dir(dirs["anomaly_detection"], "anomaly_detection", family="isolation_forest",
                    params={"n_estimators": 25})
    build_model_dir(dirs["clustering"], "clustering", family="kmeans", params={"n_clusters": 3})
    return dirs


def with_settings(source: Path, target: Path, **changes: Any) -> Path:
    """A copy of the model dir ``source`` at ``target`` whose serving.json has top-level keys replaced."""
    import shutil

    shutil.copytree(source, target, ignore=shutil.ignore_patterns("logs", "challenger"))
    meta = json.loads((target / "serving.json").read_text())
    for key, value in changes.items():
        meta[key] = copy.deepcopy(value)
    (target / "serving.json").write_text(json.dumps(meta))
    return target


@pytest.fixture(scope="session")
def ab_dirs(tmp_path_factory: pytest.TempPathFactory, model_dirs: dict[str, Path]) -> dict[str, Path]:
    """Champion (random forest) + challenger (logistic regression) in split and shadow set-ups."""
    base = tmp_path_factory.mktemp("serving-ab")
    challenger = base / "challenger-model"
    build_model_dir(challenger, "classification", family="logistic_regression", version="2.0.0")
    import shutil

    out: dict[str, Path] = {}
    for mode, weight in (("split", 0.3), ("shadow", 0.5)):
        ab = {"challenger": "models/challenger", "weight": weight, "mode": mode, "sticky_key": "customer_id"}
        directory = with_settings(model_dirs["classification"], base / mode, ab_test=ab)
        shutil.copytree(challenger, directory / "challenger")
        out[mode] = directory
    return out
