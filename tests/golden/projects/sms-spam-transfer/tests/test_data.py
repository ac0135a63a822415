"""The data contract: the data loads and satisfies the schema declared in spec.yaml."""

from __future__ import annotations

import pandas as pd
from aispec.runtime.data import DataReport

from sms_spam_transfer import data
from sms_spam_transfer.config import TARGET
from sms_spam_transfer.features import FEATURES


def test_data_loads_and_matches_the_declared_schema() -> None:
    frame = data.load()
    report = data.validate(frame)  # raises DataError listing every problem
    assert report.n_rows == len(frame) > 0


def _prepared() -> tuple[pd.DataFrame, DataReport]:
    frame = data.load()
    report = data.validate(frame)
    return data.prepare(frame, report), report


def test_every_feature_is_in_the_prepared_data() -> None:
    prepared, _ = _prepared()
    missing = [name for name in FEATURES if name not in prepared.columns]
    assert not missing, f"features missing from the data: {missing}"
    if TARGET is not None:
        assert TARGET in prepared.columns


def test_split_is_disjoint_and_complete() -> None:
    prepared, report = _prepared()
    splits = data.split_data(prepared, report)
    parts = [splits.train, splits.test]
    if splits.validation is not None:
        parts.append(splits.validation)
    assert sum(len(part) for part in parts) == len(prepared)
    seen: set[object] = set()
    for part in parts:
        assert seen.isdisjoint(part.index)
        seen.update(part.index)
