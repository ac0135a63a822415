"""Train / validation / test splits and cross-validation splitters, deterministic for a seed.

Sizes: ``n_test = round(n * test)``, ``n_validation = round(n * validation)``, the rest is train
(each split that has a positive ratio gets at least one row). Four modes, in this precedence:

- time-ordered: rows sorted by ``time_column`` (stable; frame order when None); the first rows
  train, then validation, the last rows test. With a ``group_column`` whole groups move together,
  ordered by their earliest time.
- group-aware: groups shuffled with the seed and assigned whole to test, then validation, until
  each split holds about its share of rows (GroupShuffleSplit style, but sized by rows).
  ``stratify`` is not combined with groups and is ignored.
- stratified: class proportions kept in every split (scikit-learn ``train_test_split`` with
  ``stratify``); a class with too few rows raises :class:`ConfigError`.
- random: a seeded shuffle.

Frames keep the original index labels, so rows can be traced back to the source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aispec.schemas.vocabulary import CLASSIFICATION

from .errors import ConfigError

__all__ = ["Split", "cv_splitter", "split_frame"]

CLASSIFICATION_TASKS = CLASSIFICATION


@dataclass(slots=True)
class Split:
    """The three parts of a split; ``validation`` is None when its ratio is 0."""

    train: Any
    validation: Any | None
    test: Any

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": 0 if self.validation is None else len(self.validation),
                "test": len(self.test)}


def _sizes(n: int, train: float, validation: float, test: float) -> tuple[int, int, int]:
    for name, ratio in (("train", train), ("validation", validation), ("test", test)):
        if not 0 <= ratio <= 1:
            raise ConfigError(f"split.{name} = {ratio:g} is not a ratio between 0 and 1")
    total = train + validation + test
    if abs(total - 1.0) > 1e-6:
        raise ConfigError(f"split ratios add up to {total:g}, not 1 (train {train:g}, validation "
                          f"{validation:g}, test {test:g})", hint="make train + validation + test = 1")
    n_test = round(n * test)
    n_val = round(n * validation)
    if test > 0:
        n_test = max(n_test, 1)
    if validation > 0:
        n_val = max(n_val, 1)
    n_train = n - n_test - n_val
    if n_train < 1:
        raise ConfigError(f"{n} rows are too few to split into train {train:g} / validation {validation:g} / "
                          f"test {test:g}", hint="gather more rows or change data.split")
    return n_train, n_val, n_test


def split_frame(frame: Any, *, target: str | None, task: str, train: float, validation: float, test: float,
                stratify: bool, seed: int, time_ordered: bool, time_column: str | None,
                group_column: str | None, report: Any = None) -> Split:
    """Split ``frame`` into train / validation / test frames (see the module docstring).

    ``report`` (a ``data.DataReport``): records the sizes, and warns when a split is far from its
    asked share (whole groups cannot always be divided as asked) or when rows of the test split are
    exact copies of training rows (the test score then measures memory, not generalisation)."""
    result = _split_frame(frame, target=target, task=task, train=train, validation=validation, test=test,
                          stratify=stratify, seed=seed, time_ordered=time_ordered, time_column=time_column,
                          group_column=group_column)
    if report is not None:
        _account(result, report, len(frame), {"train": train, "validation": validation, "test": test},
                 mode=_mode(time_ordered, group_column, stratify))
    return result


def _mode(time_ordered: bool, group_column: str | None, stratify: bool) -> str:
    if time_ordered:
        return "time-ordered" + (f", whole groups of '{group_column}'" if group_column else "")
    if group_column is not None:
        return f"whole groups of '{group_column}'"
    return "stratified by the target" if stratify else "random"


def _account(result: Split, report: Any, n: int, asked: dict[str, float], *, mode: str) -> None:
    sizes = result.sizes()
    report.split = {**sizes, "mode": mode}
    parts = ", ".join(f"{name} {sizes[name]:,}" for name in ("train", "validation", "test") if sizes[name])
    report.record("split", n, n, f"{mode}: {parts}")
    for name, share in asked.items():
        if share <= 0 or n == 0:
            continue
        got = sizes[name] / n
        if abs(got - share) > max(0.05, 0.25 * share):
            report.warn(f"the {name} split holds {got:.1%} of the rows, {share:.0%} was asked ({mode}): "
                        "figures on it are less (or more) certain than planned")
    copies = _test_copies(result)
    if copies:
        report.warn(f"{copies:,} of the {sizes['test']:,} test rows are exact copies of training rows: the test "
                    "score partly measures memory (set data.cleaning.deduplicate: true if the copies are not "
                    "real repeats)")


def _test_copies(result: Split) -> int:
    """Test rows whose every value equals a training row's."""
    from .data import row_keys

    if len(result.test) == 0 or len(result.train) == 0:
        return 0
    train_keys = set(row_keys(result.train).tolist())
    return sum(1 for key in row_keys(result.test).tolist() if key in train_keys)


def _split_frame(frame: Any, *, target: str | None, task: str, train: float, validation: float, test: float,
                 stratify: bool, seed: int, time_ordered: bool, time_column: str | None,
                 group_column: str | None) -> Split:
    import numpy as np

    n = len(frame)
    n_train, n_val, n_test = _sizes(n, train, validation, test)
    positions = np.arange(n)
    for name, column in (("time_column", time_column), ("group_column", group_column)):
        if column is not None and column not in frame.columns:
            raise ConfigError(f"split {name} '{column}' is not a column of the data")

    if time_ordered:
        order = _time_order(frame, time_column)
        if group_column is not None:
            parts = _group_parts(frame, group_column, order, n_val, n_test, ordered=True)
        else:
            parts = (order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:])
    elif group_column is not None:
        parts = _group_parts(frame, group_column, positions, n_val, n_test, ordered=False, seed=seed)
    elif stratify:
        parts = _stratified(frame, target, task, positions, n_val, n_test, seed)
    else:
        perm = np.random.default_rng(seed).permutation(n)
        parts = (perm[n_test + n_val:], perm[n_test:n_test + n_val], perm[:n_test])

    train_pos, val_pos, test_pos = parts
    return Split(train=frame.iloc[train_pos],
                 validation=frame.iloc[val_pos] if validation > 0 else None,
                 test=frame.iloc[test_pos])


def _time_order(frame: Any, time_column: str | None) -> Any:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    if time_column is None:
        return np.arange(len(frame))
    values = frame[time_column]
    if not (pd.api.types.is_datetime64_any_dtype(values) or pd.api.types.is_numeric_dtype(values)):
        converted = pd.to_datetime(values, errors="coerce", format="mixed")
        if bool(converted.isna().any()):
            raise ConfigError(f"time column '{time_column}' has values that are not times",
                              hint="declare it as datetime or numeric and clean it")
        values = converted
    if bool(pd.isna(values).any()):
        raise ConfigError(f"time column '{time_column}' has missing values; rows cannot be ordered")
    return np.argsort(values.to_numpy(), kind="stable")


def _group_parts(frame: Any, group_column: str, order: Any, n_val: int, n_test: int, *, ordered: bool,
                 seed: int = 0) -> tuple[Any, Any, Any]:
    """Assign whole groups: test first, then validation; the rest trains.

    ``ordered``: groups in order of first appearance in ``order`` (time), test/validation from the
    end. Otherwise groups are shuffled with ``seed``.
    """
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    keys = frame[group_column].astype(object).where(frame[group_column].notna(), "<missing>").to_numpy()
    codes, uniques = pd.factorize(keys[order])
    # groups in order of first appearance along `order`
    first = np.full(len(uniques), -1)
    for pos, code in enumerate(codes):
        if first[code] < 0:
            first[code] = pos
    group_order = np.argsort(first, kind="stable")
    if not ordered:
        group_order = np.random.default_rng(seed).permutation(len(uniques))
    n_splits = 1 + (n_val > 0) + (n_test > 0)
    if len(uniques) < n_splits:
        raise ConfigError(f"group column '{group_column}' has {len(uniques)} group(s); a split into {n_splits} "
                          "parts needs at least as many groups", hint="drop split.group_column or add groups")
    sizes = np.bincount(codes, minlength=len(uniques))
    # test and validation take groups from the end of the group order (the latest, when ordered)
    sequence = list(group_order[::-1])
    taken: dict[str, list[int]] = {"test": [], "validation": []}
    for name, want in (("test", n_test), ("validation", n_val)):
        if want == 0:
            continue
        count = 0
        reserve = 1 + (name == "test" and n_val > 0)  # groups left for the splits still to fill
        while len(sequence) > reserve:
            g = int(sequence[0])
            # stop when adding the group moves the count further from the wanted size
            if taken[name] and abs(count + sizes[g] - want) > abs(count - want):
                break
            taken[name].append(g)
            count += int(sizes[g])
            sequence.pop(0)
            if count >= want:
                break
    test_groups, val_groups = set(taken["test"]), set(taken["validation"])
    ordered_pos = np.asarray(order)
    in_test = np.isin(codes, list(test_groups))
    in_val = np.isin(codes, list(val_groups))
    train_pos = ordered_pos[~in_test & ~in_val]
    val_pos = ordered_pos[in_val]
    test_pos = ordered_pos[in_test]
    if not ordered:
        rng = np.random.default_rng(seed + 1)
        train_pos, val_pos, test_pos = rng.permutation(train_pos), rng.permutation(val_pos), rng.permutation(test_pos)
    return train_pos, val_pos, test_pos


def _stratified(frame: Any, target: str | None, task: str, positions: Any, n_val: int, n_test: int,
                seed: int) -> tuple[Any, Any, Any]:
    import numpy as np
    from sklearn.model_selection import train_test_split  # type: ignore[import-untyped, unused-ignore]

    if target is None or target not in frame.columns:
        raise ConfigError("stratify needs the target column in the data", hint="set data.split.stratify: false")
    if task not in CLASSIFICATION_TASKS and task not in ("clustering", "anomaly_detection"):
        raise ConfigError(f"stratified splits keep class proportions; the task '{task}' has no classes",
                          hint="set data.split.stratify: false")
    y = frame[target].astype(object).where(frame[target].notna(), "<missing>").astype(str).to_numpy()
    labels, counts = np.unique(y, return_counts=True)
    n_parts = 1 + (n_val > 0) + (n_test > 0)
    small = [(str(label), int(c)) for label, c in zip(labels, counts, strict=True) if c < n_parts]
    if small:
        shown = ", ".join(f"'{label}' ({c} row{'s' if c != 1 else ''})" for label, c in small[:5])
        raise ConfigError(f"cannot stratify: class {shown} has fewer rows than the {n_parts} splits",
                          hint="set data.split.stratify: false, merge rare classes or gather more rows")
    for name, size in (("test", n_test), ("validation", n_val)):
        if 0 < size < len(labels):
            raise ConfigError(f"cannot stratify: the {name} split has {size} rows for {len(labels)} classes",
                              hint="raise the split ratio, gather more rows or set data.split.stratify: false")
    try:
        rest, test_pos = (train_test_split(positions, test_size=n_test, stratify=y, random_state=seed)
                          if n_test else (positions, positions[:0]))
        if n_val:
            train_pos, val_pos = train_test_split(rest, test_size=n_val, stratify=y[rest], random_state=seed)
        else:
            train_pos, val_pos = rest, rest[:0]
    except ValueError as exc:
        raise ConfigError(f"cannot stratify: {exc}", hint="set data.split.stratify: false") from None
    return train_pos, val_pos, test_pos


def cv_splitter(*, task: str, folds: int, stratify: bool, seed: int, time_ordered: bool) -> Any:
    """A scikit-learn cross-validation splitter: TimeSeriesSplit for time-ordered data,
    StratifiedKFold for stratified classification, KFold otherwise (shuffled with ``seed``)."""
    from sklearn.model_selection import (  # type: ignore[import-untyped, unused-ignore]
        KFold,
        StratifiedKFold,
        TimeSeriesSplit,
    )

    if folds < 2:
        raise ConfigError(f"cross-validation needs at least 2 folds, got {folds}")
    if time_ordered:
        return TimeSeriesSplit(n_splits=folds)
    if stratify and task in CLASSIFICATION_TASKS:
        return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return KFold(n_splits=folds, shuffle=True, random_state=seed)
