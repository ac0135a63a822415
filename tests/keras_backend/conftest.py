"""Generated Keras projects, built once per session and imported, so the tests run the code users get."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from aispec.compiler.build import build

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "specs" / "examples"

# penguins with a categorical column, missing values and a class imbalance: a Keras classifier
PENGUINS_SPEC = """\
aispec: 1
project: {name: keras-penguins}
problem: {task: classification, target: species}
data:
  source: {kind: bundled, name: palmerpenguins}
  columns:
    species: {type: categorical, allowed: [Adelie, Chinstrap, Gentoo]}
    island: categorical
    bill_length_mm: {type: numeric, nullable: true}
    bill_depth_mm: {type: numeric, nullable: true}
    flipper_length_mm: {type: numeric, nullable: true}
    body_mass_g: {type: numeric, nullable: true}
    sex: {type: categorical, nullable: true}
    year: numeric
  drop: [year]
  cleaning: {imbalance: class_weight}
  split: {train: 0.6, validation: 0.2, test: 0.2, seed: 3}
model:
  family: mlp
  backend: keras
  params: {hidden_units: 16, layers: 1}
training:
  epochs: 40
  batch_size: 16
  learning_rate: 0.01
  early_stopping: {patience: 4}
  seed: 5
hardware: {cpus: 1}
deployment: {target: batch}
"""


class Project:
    """A built and imported Keras project: its data split and its model module."""

    def __init__(self, folder: Path, package: str) -> None:
        sys.path.insert(0, str(folder))
        self.folder = folder
        self.package = package
        self.model: ModuleType = importlib.import_module(f"{package}.model")
        self.config: ModuleType = importlib.import_module(f"{package}.config")
        data = importlib.import_module(f"{package}.data")
        features = importlib.import_module(f"{package}.features")
        frame = data.load()
        report = data.validate(frame)
        self.splits = data.split_data(data.prepare(frame, report), report)
        self.features: list[str] = list(features.FEATURES)
        self.target: str = self.config.TARGET

    def xy(self, part: str) -> tuple[Any, Any]:
        frame = getattr(self.splits, part)
        return frame[self.features], frame[self.target]

    def fitted(self, params: dict[str, Any] | None = None, **settings: Any) -> Any:
        pipeline = self.model.build_pipeline(params)
        pipeline.set_params(**settings)
        X, y = self.xy("train")
        return pipeline.fit(X, y, validation=self.xy("validation") if self.splits.validation is not None else None)


def _project(tmp: Path, spec: Path) -> Project:
    result = build(spec, tmp / spec.stem)
    assert result.ok and result.plan is not None, result.diagnostics
    return Project(tmp / spec.stem, result.plan.package)


@pytest.fixture(scope="session")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    tmp = tmp_path_factory.mktemp("keras-penguins")
    spec = tmp / "keras-penguins.yaml"
    spec.write_text(PENGUINS_SPEC)
    yield _project(tmp, spec)


@pytest.fixture(scope="session")
def diabetes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    yield _project(tmp_path_factory.mktemp("keras-diabetes"), EXAMPLES / "diabetes-mlp-keras.yaml")
