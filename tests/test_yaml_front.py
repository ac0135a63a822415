"""The YAML front end: YAML 1.2 scalars, positions, duplicate keys, refused tags."""

from __future__ import annotations

import math

import pytest

from aispec.compiler.source import SourceFile, Span
from aispec.compiler.yaml_front import parse_yaml


def parse(text: str):  # type: ignore[no-untyped-def]
    return parse_yaml(SourceFile("s.yaml", text))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("no", "no"), ("yes", "yes"), ("on", "on"), ("off", "off"), ("y", "y"), ("NO", "NO"),
        ("true", True), ("False", False), ("~", None), ("null", None), ("", None),
        ("12", 12), ("-3", -3), ("0o17", 15), ("0x1F", 31), ("1e-4", 1e-4), ("2.5", 2.5), (".inf", math.inf),
        ("'1'", "1"), ('"true"', "true"), ("2001-12-14", "2001-12-14"), ("10m", "10m"), ("1_000", "1_000"),
        ("!!str 12", "12"), ("!!float 1", 1.0),
    ],
)
def test_yaml_1_2_scalars(text: str, value: object) -> None:
    result = parse(f"v: {text}\n")
    assert result.diagnostics == ()
    assert result.raw is not None
    got = result.raw["v"]
    assert got == value and type(got) is type(value)


def test_class_label_no_survives_in_lists() -> None:
    result = parse("allowed: [yes, no, maybe]\n")
    assert result.raw == {"allowed": ["yes", "no", "maybe"]}


def test_positions_of_keys_values_and_scalars() -> None:
    text = "project:\n  name: demo\nmetrics:\n  acceptance:\n    - \"accuracy >= 0.9\"\n"
    result = parse(text)
    locs = result.locations
    assert locs.keys[("project", "name")] == Span(2, 3, 2, 7, 11, 15)
    assert locs.values[("project", "name")] == Span(2, 9, 2, 13, 17, 21)
    span = locs.values[("metrics", "acceptance", 0)]
    assert (span.line, span.column) == (5, 7)
    # an error 9 characters into the quoted expression lands on the '>' (quote + 9)
    inner = locs.inner_span(("metrics", "acceptance", 0), 9, 2)
    assert inner is not None and (inner.line, inner.column, inner.end_column) == (5, 17, 19)
    # a missing key maps to its longest existing prefix
    assert locs.value_span(("project", "owner")) == locs.values[("project",)]


def test_duplicate_keys_are_refused_and_point_at_the_second() -> None:
    result = parse("a: 1\nb:\n  c: 1\n  c: 2\n")
    [d] = result.diagnostics
    assert (d.code, d.span.line if d.span else None, d.span.column if d.span else None) == ("AIS103", 4, 3)
    assert "line 3" in (d.hint or "")


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system [echo hi]\n",
        "a: !custom 1\n",
        "<<: {b: 2}\n",
        "a: !!int abc\n",
    ],
)
def test_non_data_yaml_is_refused(text: str) -> None:
    result = parse(text)
    assert [d.code for d in result.diagnostics] == ["AIS106"]


@pytest.mark.parametrize(
    ("text", "code", "line", "column"),
    [
        ("a: [1, 2\n", "AIS101", 1, 4),
        ("a:\n\tb: 1\n", "AIS101", 2, 1),
        ("a: 'unclosed\n", "AIS101", 1, 4),
        ("a: 1\n---\nb: 2\n", "AIS101", 3, 1),
        ("", "AIS105", 1, 1),
        ("# only a comment\n", "AIS105", 1, 1),
        ("- a\n- b\n", "AIS105", 1, 1),
        ("just text\n", "AIS105", 1, 1),
    ],
)
def test_syntax_errors(text: str, code: str, line: int, column: int) -> None:
    result = parse(text)
    assert result.raw is None
    [d] = result.diagnostics
    assert (d.code, d.span and d.span.line, d.span and d.span.column) == (code, line, column)


def test_tab_indentation_hint() -> None:
    [d] = parse("a:\n\tb: 1\n").diagnostics
    assert d.hint is not None and "tabs" in d.hint
