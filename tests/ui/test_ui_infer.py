"""A first spec from a data file: read as a training run reads it, personal data proposed by the same
rules as `check` and the runtime, and never a personal value in the spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aispec.compiler.api import check_text, looks_personal
from aispec.compiler.codes import CODES
from aispec.ui.infer import InferenceError, propose, spec_text

from .data import loans_rows, write_loans


def _spec(tmp_path: Path, path: Path, **choices: object) -> tuple[str, object]:
    proposal = propose(path, spec_dir=tmp_path)
    target = choices.get("target", proposal.target)
    task = choices.get("task", proposal.task_for(target))  # type: ignore[arg-type]
    text = spec_text(proposal, name=path.stem, target=target, task=str(task),  # type: ignore[arg-type]
                     pii=list(choices.get("pii", proposal.pii)))  # type: ignore[call-overload]
    return text, check_text(text, str(tmp_path / "spec.yaml"))


def test_the_proposed_spec_checks_and_declares_what_the_file_holds(tmp_path: Path) -> None:
    _text, result = _spec(tmp_path, write_loans(tmp_path / "loans.csv"))
    assert result.ok, result.diagnostics  # type: ignore[attr-defined]
    spec = result.spec  # type: ignore[attr-defined]
    rows = loans_rows()
    columns = spec.data.columns
    assert columns["age"].range == [min(r["age"] for r in rows), max(r["age"] for r in rows)]
    assert columns["employment"].allowed == sorted({r["employment"] for r in rows})
    assert columns["has_guarantor"].type.value == "boolean"
    assert spec.problem.target == "approved" and spec.problem.task.value == "classification"
    assert spec.data.source.path.text == "loans.csv"


def test_personal_data_by_name_and_by_value_and_none_of_its_values(tmp_path: Path) -> None:
    proposal = propose(write_loans(tmp_path / "loans.csv"), spec_dir=tmp_path)
    found = {c.name: c.personal for c in proposal.columns if c.personal}
    assert found == {"applicant_email": ["its name", "its values"], "contact": ["its values"]}
    assert looks_personal("applicant_email") and not looks_personal("contact")
    text, _result = _spec(tmp_path, tmp_path / "loans.csv")
    assert "example.org" not in text and "7946" not in text
    # declining a proposal: AIS329 (the name rule) says so at check time
    _, declined = _spec(tmp_path, tmp_path / "loans.csv", pii=["contact"])
    assert [d.code for d in declined.diagnostics] == ["AIS329"]  # type: ignore[attr-defined]
    assert CODES["AIS329"].severity.value == "warning"


def test_na_and_leading_zeros_stay_values_as_the_runtime_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "regions.csv"
    lines = ["region,zip,amount,label"] + [f"{r},{z},{a},{lab}" for r, z, a, lab in
                                         [("NA", "01001", "1.5", "x"), ("EU", "02002", "", "y")] * 15]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proposal = propose(path, spec_dir=tmp_path)
    by = {c.name: c for c in proposal.columns}
    assert by["region"].allowed == ["EU", "NA"] and not by["region"].nullable  # 'NA' is North America
    assert by["zip"].type == "categorical" and by["zip"].allowed == ["01001", "02002"]  # a code, not a number
    assert by["amount"].type == "numeric" and by["amount"].nullable and by["amount"].missing == 15


def test_a_number_column_with_missing_markers_is_numeric_with_its_na_values(tmp_path: Path) -> None:
    """`n/a` and `-` among numbers: proposed numeric with those markers as the column's na_values, which the
    runtime's loader then reads as missing (only empty cells are missing by default, so without them the
    column was proposed as categorical, its numbers as categories). Codes with leading zeros stay codes."""
    from aispec.runtime.data import load_frame, validate_frame

    path = tmp_path / "ages.csv"
    ages = ["34", "n/a", "51", "-", "29.5"] * 6
    lines = ["age,code,score,label"] + [f"{a},{c},{s},{lab}" for a, c, s, lab in
                                        zip(ages, ["007", "n/a"] * 15, ["1", "unknown"] * 15, ["x", "y"] * 15,
                                            strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _text, result = _spec(tmp_path, path, target="label")
    by = {c.name: c for c in propose(path, spec_dir=tmp_path).columns}
    assert by["age"].type == "numeric" and by["age"].na_values == ["-", "n/a"] and by["age"].missing == 12
    assert by["age"].range == [29.5, 51]
    assert by["code"].type == "categorical" and by["code"].na_values is None  # '007' is a code
    assert by["score"].type == "categorical"  # 'unknown' is not a spelling of missing: nothing is guessed
    assert result.ok, result.diagnostics  # type: ignore[attr-defined]
    columns = {name: column.model_dump(mode="json", exclude_none=True)
               for name, column in result.spec.data.columns.items()}  # type: ignore[attr-defined]
    frame = load_frame({"kind": "csv", "path": path.name}, columns=columns, base_dir=tmp_path)
    validate_frame(frame, columns=columns, target="label", task="classification", min_rows=20)  # markers: missing
    assert int(frame["age"].isna().sum()) == 12


def test_parquet_and_jsonl_are_read_by_the_runtime_loaders(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    rows = loans_rows(60)
    pd.DataFrame(rows).to_parquet(tmp_path / "loans.parquet")
    (tmp_path / "loans.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    for name in ("loans.parquet", "loans.jsonl"):
        text, result = _spec(tmp_path, tmp_path / name)
        assert result.ok, (name, result.diagnostics)  # type: ignore[attr-defined]
        assert f"kind: {name.split('.')[1]}" in text


def test_a_regression_target_and_an_unsupervised_task(tmp_path: Path) -> None:
    path = write_loans(tmp_path / "loans.csv")
    _, regression = _spec(tmp_path, path, target="income")
    assert regression.ok and regression.spec.problem.task.value == "regression"  # type: ignore[attr-defined]
    _, clustering = _spec(tmp_path, path, target=None, task="clustering")
    assert clustering.ok and clustering.spec.problem.target is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(("content", "expected"), [
    ("only\n1\n2\n3\n", "single column"),
    ("", "empty"),
    ("a,b\n", "no data"),
])
def test_files_that_cannot_become_a_spec_say_why(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InferenceError, match=expected):
        propose(path, spec_dir=tmp_path)
