"""A table checked in blocks (as a cluster's workers check it, each block alone) reports exactly what the
whole table reports: the oracle is :func:`validate_frame` on the whole frame, compared with
:func:`merge_checks` over :func:`check_block` of the same rows cut at random places, for random messy columns
and targets (types, nulls, ranges, allowed sets, PII, rare and missing classes, too few rows)."""

from __future__ import annotations

import itertools
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from aispec.runtime.data import DataValidationError, check_block, merge_checks, validate_frame

CELLS = st.sampled_from(["1", "2.5", "-3", "99", "", "  ", "n/a", "abc", "x", "y", "true", "no", "2024-01-02",
                         "1e3", None])
LABELS = st.sampled_from(["a", "b", "c", "d", "e", "", None, "1", "1.0"])
COLUMNS: dict[str, dict[str, Any]] = {
    "amount": {"type": "numeric", "range": [0, 50]},
    "kind": {"type": "categorical", "allowed": ["x", "y"], "nullable": True},
    "flag": {"type": "boolean", "nullable": True},
    "when": {"type": "datetime"},
    "absent": {"type": "numeric"},
}
LOCATIONS = {f"data.columns.{name}": f"spec.yaml:{i + 10}:5" for i, name in enumerate(COLUMNS)} | \
    {"problem.target": "spec.yaml:3:11", "data.min_rows": "spec.yaml:20:13"}


def _whole(frame: pd.DataFrame, **checks: Any) -> list[Any]:
    try:
        validate_frame(frame, **checks)
    except DataValidationError as exc:
        return exc.problems
    return []


@seed(20261204)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(CELLS, CELLS, CELLS, CELLS, LABELS), min_size=1, max_size=40),
       cuts=st.lists(st.integers(0, 40), max_size=6), task=st.sampled_from(["classification", "regression"]),
       min_rows=st.integers(0, 30), pii=st.sampled_from([[], ["flag"], ["label"]]),
       declared_target=st.booleans())
def test_blocks_checked_alone_report_what_the_whole_table_reports(
        rows: list[tuple[Any, ...]], cuts: list[int], task: str, min_rows: int, pii: list[str],
        declared_target: bool) -> None:
    frame = pd.DataFrame(rows, columns=["amount", "kind", "flag", "when", "label"], dtype=object)
    columns = {**COLUMNS, "label": {"type": "categorical"}} if declared_target else COLUMNS
    edges = sorted({0, len(frame), *(c for c in cuts if c < len(frame))})
    blocks = [check_block(frame.iloc[start:stop].reset_index(drop=True), columns=columns, target="label", task=task,
                          locations=LOCATIONS, pii=pii)
              for start, stop in itertools.pairwise(edges)]
    merged = merge_checks(blocks, columns=columns, target="label", min_rows=min_rows, locations=LOCATIONS, pii=pii)
    assert merged == _whole(frame, columns=columns, target="label", task=task, min_rows=min_rows,
                            locations=LOCATIONS, pii=pii)


def test_a_personal_columns_problems_carry_no_value_not_even_in_a_hint() -> None:
    frame = pd.DataFrame({"amount": ["n/a", "7"], "label": ["a", "b"]}, dtype=object)
    problems = _whole(frame, columns={"amount": COLUMNS["amount"]}, target="label", task="regression", min_rows=1,
                      pii=["amount"])
    assert [(p.problem, p.examples, p.note) for p in problems] == [("values that are not numeric", [], "")]
    shown = _whole(frame, columns={"amount": COLUMNS["amount"]}, target="label", task="regression", min_rows=1)
    assert shown[0].examples == ["n/a"] and "na_values" in shown[0].note
