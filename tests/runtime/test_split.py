"""aispec.runtime.split: sizes, stratification, time order, groups, determinism."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from aispec.runtime.datasets import load_bundled
from aispec.runtime.errors import ConfigError
from aispec.runtime.split import Split, cv_splitter, split_frame

BASE: dict[str, Any] = {"target": "label", "task": "classification", "train": 0.7, "validation": 0.1, "test": 0.2,
                        "stratify": False, "seed": 0, "time_ordered": False, "time_column": None,
                        "group_column": None}


def _frame(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"x": rng.normal(size=n), "label": np.where(np.arange(n) % 10 < 2, "rare", "common"),
                         "group": np.arange(n) // 5,
                         "t": pd.date_range("2020-01-01", periods=n, freq="D")[rng.permutation(n)]})


def _ids(split: Split) -> tuple[list[int], list[int], list[int]]:
    val = [] if split.validation is None else split.validation.index.tolist()
    return split.train.index.tolist(), val, split.test.index.tolist()


def test_random_split_sizes_and_determinism() -> None:
    frame = _frame()
    split = split_frame(frame, **BASE)
    assert split.sizes() == {"train": 140, "validation": 20, "test": 40}
    train, val, test = _ids(split)
    assert sorted(train + val + test) == list(range(200))  # a partition
    assert _ids(split_frame(frame, **BASE)) == (train, val, test)  # same seed, same split
    assert _ids(split_frame(frame, **{**BASE, "seed": 1})) != (train, val, test)
    no_val = split_frame(frame, **{**BASE, "train": 0.8, "validation": 0.0})
    assert no_val.validation is None and no_val.sizes() == {"train": 160, "validation": 0, "test": 40}


def test_ratios_are_honoured_when_rounding() -> None:
    split = split_frame(_frame(151), **{**BASE, "train": 0.6, "validation": 0.15, "test": 0.25})
    assert split.sizes() == {"train": 90, "validation": 23, "test": 38}  # round(37.75), round(22.65)


def test_stratified_keeps_proportions() -> None:
    frame = _frame()
    split = split_frame(frame, **{**BASE, "stratify": True})
    assert split.sizes() == {"train": 140, "validation": 20, "test": 40}
    for part in (split.train, split.validation, split.test):
        assert (part["label"] == "rare").mean() == pytest.approx(0.2)
    assert _ids(split_frame(frame, **{**BASE, "stratify": True})) == _ids(split)


def test_stratified_on_real_data() -> None:
    iris = load_bundled("iris")
    split = split_frame(iris, **{**BASE, "target": "species", "stratify": True, "train": 0.8, "validation": 0.0})
    assert split.test["species"].value_counts().to_dict() == {"setosa": 10, "versicolor": 10, "virginica": 10}


def test_stratify_with_too_few_rows_is_a_config_error() -> None:
    frame = _frame(40)
    frame.loc[0, "label"] = "lonely"
    with pytest.raises(ConfigError, match="cannot stratify: class 'lonely' \\(1 row\\)") as info:
        split_frame(frame, **{**BASE, "stratify": True})
    assert "stratify: false" in (info.value.hint or "")
    with pytest.raises(ConfigError, match="regression"):
        split_frame(_frame(), **{**BASE, "task": "regression", "target": "x", "stratify": True})


def test_time_ordered_puts_the_latest_rows_last() -> None:
    frame = _frame()
    split = split_frame(frame, **{**BASE, "time_ordered": True, "time_column": "t", "stratify": True})
    assert split.sizes() == {"train": 140, "validation": 20, "test": 40}
    assert split.train["t"].is_monotonic_increasing and split.test["t"].is_monotonic_increasing
    assert split.train["t"].max() < split.validation["t"].min()
    assert split.validation["t"].max() < split.test["t"].min()
    assert split.test["t"].max() == frame["t"].max()
    # without a time column the frame order is the time order
    plain = split_frame(frame, **{**BASE, "time_ordered": True})
    assert plain.test.index.tolist() == list(range(160, 200))


def test_group_split_keeps_groups_whole() -> None:
    frame = _frame()
    split = split_frame(frame, **{**BASE, "group_column": "group", "stratify": True})
    groups = [set(part["group"]) for part in (split.train, split.validation, split.test)]
    assert not (groups[0] & groups[1]) and not (groups[0] & groups[2]) and not (groups[1] & groups[2])
    assert split.sizes() == {"train": 140, "validation": 20, "test": 40}  # groups of 5 fit the ratios exactly
    assert _ids(split_frame(frame, **{**BASE, "group_column": "group"})) == _ids(split)
    assert _ids(split_frame(frame, **{**BASE, "group_column": "group", "seed": 3})) != _ids(split)


def test_group_and_time_ordered() -> None:
    frame = _frame().sort_values("t").reset_index(drop=True)
    split = split_frame(frame, **{**BASE, "group_column": "group", "time_ordered": True, "time_column": "t"})
    assert set(split.test["group"]).isdisjoint(split.train["group"])
    # the test groups are the groups that appear last
    by_first_time = frame.drop_duplicates("group", keep="first").sort_values("t")["group"].tolist()
    last = by_first_time[-len(set(split.test["group"])):]
    assert set(split.test["group"]) == set(last)


def test_split_errors() -> None:
    with pytest.raises(ConfigError, match=r"add up to 0\.9"):
        split_frame(_frame(), **{**BASE, "train": 0.6})
    with pytest.raises(ConfigError, match="too few"):
        split_frame(_frame(2), **BASE)
    with pytest.raises(ConfigError, match="group column 'group' has 2 group"):
        split_frame(_frame(10), **{**BASE, "group_column": "group"})
    with pytest.raises(ConfigError, match="not a column"):
        split_frame(_frame(), **{**BASE, "time_ordered": True, "time_column": "when"})


def test_cv_splitter() -> None:
    from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit

    assert isinstance(cv_splitter(task="classification", folds=5, stratify=True, seed=0, time_ordered=False),
                      StratifiedKFold)
    kfold = cv_splitter(task="regression", folds=4, stratify=True, seed=7, time_ordered=False)
    assert isinstance(kfold, KFold) and kfold.n_splits == 4 and kfold.random_state == 7
    assert isinstance(cv_splitter(task="forecasting", folds=3, stratify=False, seed=0, time_ordered=True),
                      TimeSeriesSplit)
    with pytest.raises(ConfigError):
        cv_splitter(task="regression", folds=1, stratify=False, seed=0, time_ordered=False)
