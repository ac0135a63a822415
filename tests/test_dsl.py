"""The aispec DSL front end (``compiler/dsl.py``) and its printer (``compiler/dsl_printer.py``)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aispec.compiler import dsl
from aispec.compiler.dsl import is_bare_value, parse_dsl, parse_dsl_with_comments
from aispec.compiler.dsl_printer import print_dsl
from aispec.compiler.raw import NodeComments, ParseResult
from aispec.compiler.source import ScalarInfo, SourceFile, Span

EXAMPLE = """\
# Penguin species from body measurements.
aispec = 1

project {
  name = penguins
  description = "Classify penguin species from body measurements"
}

problem {
  task = classification
  target = species
}

data {
  source {
    kind = bundled
    name = palmerpenguins
  }
  schema {
    bill_length_mm { type = numeric, nullable = true, range = [30, 65] }
    island = categorical
    "odd column name" = numeric
  }
  split { train = 0.8, test = 0.2, stratify = true, seed = 0 }
}

model {
  family = random_forest
  search {
    method = bayesian
    trials = 40
    timeout = 10m
    space {
      max_depth = int(2, 32)
      criterion = choice(gini, entropy)
      learning_rate = loguniform(1e-4, 1e-1)
    }
  }
  ensemble { kind = voting, members = [random_forest, { family = svm, params { C = 1.0 } }] }
}

metrics {
  primary = f1_macro
  report = [accuracy, f1_macro]
  acceptance = [f1_macro >= 0.9, p95_latency_ms <= 50]
}
hardware { memory = 2GiB }
"""

EXPECTED: dict[str, Any] = {
    "aispec": 1,
    "project": {"name": "penguins", "description": "Classify penguin species from body measurements"},
    "problem": {"task": "classification", "target": "species"},
    "data": {
        "source": {"kind": "bundled", "name": "palmerpenguins"},
        "schema": {
            "bill_length_mm": {"type": "numeric", "nullable": True, "range": [30, 65]},
            "island": "categorical",
            "odd column name": "numeric",
        },
        "split": {"train": 0.8, "test": 0.2, "stratify": True, "seed": 0},
    },
    "model": {
        "family": "random_forest",
        "search": {
            "method": "bayesian",
            "trials": 40,
            "timeout": "10m",
            "space": {
                "max_depth": "int(2, 32)",
                "criterion": "choice(gini, entropy)",
                "learning_rate": "loguniform(1e-4, 1e-1)",
            },
        },
        "ensemble": {"kind": "voting", "members": ["random_forest", {"family": "svm", "params": {"C": 1.0}}]},
    },
    "metrics": {
        "primary": "f1_macro",
        "report": ["accuracy", "f1_macro"],
        "acceptance": ["f1_macro >= 0.9", "p95_latency_ms <= 50"],
    },
    "hardware": {"memory": "2GiB"},
}


def typed(value: Any) -> Any:
    """``value`` with every scalar tagged by its type, so 1, 1.0, True and "1" all differ."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, value)


def parse(text: str) -> ParseResult:
    return parse_dsl(SourceFile("t.aispec", text))


def ok(text: str) -> dict[str, Any]:
    result = parse(text)
    assert result.diagnostics == (), result.diagnostics
    assert result.raw is not None
    raw: dict[str, Any] = result.raw
    return raw


# ---------------------------------------------------------------- parsing


def test_example_parses_to_exact_raw_spec() -> None:
    assert typed(ok(EXAMPLE)) == typed(EXPECTED)


def test_example_spans() -> None:
    result = parse(EXAMPLE)
    locs = result.locations
    assert locs.values[()] == Span(1, 1, EXAMPLE.count("\n") + 1, 1, 0, len(EXAMPLE))
    assert locs.keys[("project",)] == Span(4, 1, 4, 8, 54, 61)
    assert locs.values[("project",)] == Span(4, 9, 7, 2, 62, 149)
    assert EXAMPLE[62] == "{" and EXAMPLE[148] == "}"
    key = locs.keys[("model", "search", "space", "max_depth")]
    value = locs.values[("model", "search", "space", "max_depth")]
    assert (key.line, key.column, key.end_column) == (34, 7, 16)
    assert (value.line, value.column, value.end_column) == (34, 19, 29)
    assert EXAMPLE[value.offset : value.end_offset] == "int(2, 32)"
    first = locs.values[("metrics", "acceptance", 0)]
    assert EXAMPLE[first.offset : first.end_offset] == "f1_macro >= 0.9"
    assert (first.line, first.column) == (45, 17)
    odd = locs.keys[("data", "schema", "odd column name")]
    assert EXAMPLE[odd.offset : odd.end_offset] == '"odd column name"'
    member = locs.values[("model", "ensemble", "members", 1)]
    assert EXAMPLE[member.offset : member.end_offset] == "{ family = svm, params { C = 1.0 } }"


def test_scalar_info() -> None:
    result = parse(EXAMPLE)
    assert result.locations.scalars[("project", "description")] == ScalarInfo(1, True)
    assert result.locations.scalars[("project", "name")] == ScalarInfo(0, True)
    assert result.locations.scalars[("metrics", "acceptance", 1)] == ScalarInfo(0, True)
    assert ("aispec",) not in result.locations.scalars  # only strings get ScalarInfo
    # inner_span points into an expression: "p95_latency_ms" in "... <= 50"
    inner = result.locations.inner_span(("metrics", "acceptance", 1), 18, 2)
    assert inner is not None and EXAMPLE[inner.offset : inner.end_offset] == "50"
    described = result.locations.inner_span(("project", "description"), 0, 8)
    assert described is not None and EXAMPLE[described.offset : described.end_offset] == "Classify"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a = 1", 1),
        ("a = -2", -2),
        ("a = 0.5", 0.5),
        ("a = 1e-4", 1e-4),
        ("a = 1E5", 1e5),
        ("a = 1_000", 1000),
        ("a = -0.25", -0.25),
        ("a = 10m", "10m"),
        ("a = 1.5h", "1.5h"),
        ("a = 512MB", "512MB"),
        ("a = true", True),
        ("a = false", False),
        ("a = null", None),
        ("a = no", "no"),
        ("a = yes", "yes"),
        ("a = on", "on"),
        ("a = True", "True"),
        ("a = trueish", "trueish"),
        ("a = x-y.z", "x-y.z"),
        ('a = "1"', "1"),
        ('a = "tab\\there \\u00e9 \\ud83d\\ude00"', "tab\there \u00e9 \U0001f600"),
        ('a = ""', ""),
        ("a = p95_latency_ms<=50", "p95_latency_ms<=50"),
        ("a = x   !=   -1", "x   !=   -1"),
        ("a = latency < 50ms", "latency < 50ms"),
        ('a = choice("a b", 3, 10m)', 'choice("a b", 3, 10m)'),
        ("a = f()", "f()"),
        ("a = []", []),
        ("a = {}", {}),
        ("a = {min = 0}", {"min": 0}),
        ("a = [\n  1,\n  # comment\n  2,\n]", [1, 2]),
        ("a = [[1, 2], [], {x = [3]}]", [[1, 2], [], {"x": [3]}]),
    ],
)
def test_values(text: str, expected: Any) -> None:
    assert typed(ok(text)) == typed({"a": expected})


def test_statement_separators_and_layout() -> None:
    text = '\n\n# head\n  a = 1, b { c = 2, d = 3, }\n"e f" {\n\n  g = [1,\n2]\n}\r\nh = x # end'
    assert ok(text) == {"a": 1, "b": {"c": 2, "d": 3}, "e f": {"g": [1, 2]}, "h": "x"}
    assert ok("") == {}
    assert ok("# only a comment") == {}
    assert ok("true = 1\nnull { false = 2 }") == {"true": 1, "null": {"false": 2}}
    assert ok("range = { min = 0 }") == ok("range { min = 0 }")


def test_crlf_bom_and_odd_whitespace() -> None:
    assert ok("\ufeffa = 1\r\nb {\r\n  c = x\r\n}\r\n") == {"a": 1, "b": {"c": "x"}}
    assert ok("a = 1\n\f\n \r\n\t# c\r\n\nb = [1,\n\f\n2]") == {"a": 1, "b": [1, 2]}


# ---------------------------------------------------------------- errors

BAD_INPUTS = [
    # (text, line, column, message substring)
    ("a = }", 1, 5, "expected a value after '='"),
    ("project {\n  name =\n}\n", 2, 9, "expected a value after '='"),
    ('aispec = 1\nproject {\n  name = "demo"\n', 2, 9, "unclosed block: '{' opened at line 2 is never closed"),
    ("a = 1\n}\nb = 2\n", 2, 1, "unexpected '}'"),
    ("name\n", 1, 5, "expected '=' or '{' after key 'name'"),
    ("x {\n  name 3\n}", 2, 8, "expected '=' or '{' after key 'name'"),
    ('a = "abc\n', 1, 5, "unterminated string"),
    ('a = "a\\qb"\n', 1, 7, "invalid escape '\\q' in string"),
    ('a = "\tb"\n', 1, 6, "control character U+0009 in string"),
    ("a: 1\n", 1, 2, "unexpected character ':'"),
    ("a = 'x'\n", 1, 5, "unexpected character '''"),
    ("a = [1 2]\n", 1, 8, "expected ',' or ']' after a list element, found '2'"),
    ("a = [1, ,]\n", 1, 9, "expected a list element, found ','"),
    ("a = [\n  1,\n  2\n", 1, 5, "unclosed list: '[' opened at line 1 is never closed"),
    ("a = f(1 2)\n", 1, 9, "expected ',' or ')' in the argument list"),
    ("a = f(1,\n", 1, 9, "expected an argument, found end of line"),
    ("a = x >=\n", 1, 9, "expected a number after '>='"),
    ("m {\n  acc = x >= y\n}", 2, 14, "expected a number after '>='"),
    ("a = b c\n", 1, 7, "unexpected 'c' at the end of a statement"),
    ("a {} b\n", 1, 6, "unexpected 'b' at the end of a statement"),
    ("= 1\n", 1, 1, "expected a key, found '='"),
    ("x {\n  a = [1, 2}\n}", 2, 12, "unexpected '}': the list opened at line 2 is still open"),
    ("a = -x\n", 1, 5, "unexpected character '-'"),
    ("a = 1e999\n", 1, 5, "number '1e999' is out of range"),
    ("a {\n  b {\n    c = 1\n", 2, 5, "unclosed block: '{' opened at line 2 is never closed"),
    ("a = x >=", 1, 9, "expected a number after '>='"),
]


@pytest.mark.parametrize(("text", "line", "column", "message"), BAD_INPUTS)
def test_syntax_errors(text: str, line: int, column: int, message: str) -> None:
    result = parse(text)
    assert result.raw is None
    assert result.diagnostics, "expected a diagnostic"
    first = result.diagnostics[0]
    assert (first.code, first.span.line if first.span else None, first.span.column if first.span else None) == (
        "AIS102",
        line,
        column,
    ), first
    assert message in first.message
    assert first.file == "t.aispec"
    assert first.hint
    assert "Token(" not in first.message and "Expected one of" not in first.message


def test_several_errors_in_one_file() -> None:
    text = "a = 1\n= 2\nb = @\nc = 3 4\nd = [1, 2\ne = 5\nf {\n  g =\n}\nh = ok\n"
    result = parse(text)
    where = [(d.span.line, d.span.column) for d in result.diagnostics if d.span]
    assert where == [(2, 1), (3, 5), (4, 7), (6, 1), (8, 6)]
    assert all(d.code == "AIS102" for d in result.diagnostics)


def test_missing_bracket_does_not_cascade() -> None:
    text = "a = [1, 2\nb = 3\nc = 4\nd { e = 5 }\n"
    result = parse(text)
    assert len(result.diagnostics) == 1
    assert result.diagnostics[0].span is not None and result.diagnostics[0].span.line == 2


def test_duplicate_keys() -> None:
    result = parse("a = 1\nb {\n  c = 1\n  c = 2\n}\na = { x = 1 }\n")
    assert result.raw == {"a": 1, "b": {"c": 1}}
    codes_and_places = [(d.code, d.span.line, d.span.column, d.loc) for d in result.diagnostics if d.span]
    assert codes_and_places == [("AIS103", 4, 3, ("b", "c")), ("AIS103", 6, 1, ("a",))]
    assert result.diagnostics[0].hint is not None and "line 3" in result.diagnostics[0].hint
    assert result.diagnostics[1].hint is not None and "line 1" in result.diagnostics[1].hint
    # the first value keeps its locations
    span = result.locations.values[("a",)]
    assert (span.line, span.column) == (1, 5)
    assert ("a", "x") not in result.locations.values


def test_nesting_too_deep() -> None:
    depth = 5000
    result = parse("a = " + "[" * depth + "]" * depth)
    assert result.raw is None
    assert [d.code for d in result.diagnostics] == ["AIS109"]
    assert "at most 64 levels" in result.diagnostics[0].message
    assert ok("a = " + "[" * 64 + "]" * 64) is not None  # the value of `a` is level 1: 64 levels, the limit
    assert [d.code for d in parse("a = " + "[" * 65 + "]" * 65).diagnostics] == ["AIS109"]


def test_error_examples_all_fail_and_grammar_is_strict() -> None:
    pytest.importorskip("interegular")
    dsl.build_parser(strict=True)  # no LALR conflicts, no colliding terminals
    for examples in dsl._EXAMPLES.values():
        for example in examples:
            assert dsl.example_signature(example) is not None, example


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_arbitrary_text_never_raises(text: str) -> None:
    result = parse(text)
    assert (result.raw is None) == any(d.code == "AIS102" for d in result.diagnostics)
    for d in result.diagnostics:
        assert d.code in ("AIS102", "AIS103") and d.span is not None
        assert 1 <= d.span.line <= text.count("\n") + 1


DSL_PIECES = [
    "a", "b", "=", "{", "}", "[", "]", "(", ")", ",", "\n", " ", "1", "-2.5", "10m", '"s"', '"x', ">=", "#c\n",
    "true", "@", ":", "f(", "\\", "\r\n",
]


@given(st.lists(st.sampled_from(DSL_PIECES), max_size=40))
@settings(max_examples=300, deadline=None)
def test_token_soup_never_raises(pieces: list[str]) -> None:
    text = "".join(pieces)
    result = parse(text)
    for d in result.diagnostics:
        assert d.span is not None and 0 <= d.span.offset <= len(text)
    assert len(result.diagnostics) <= dsl.MAX_ERRORS


# ---------------------------------------------------------------- printer


def test_print_example_is_canonical() -> None:
    printed = print_dsl(EXPECTED)
    assert printed.startswith("aispec = 1\n\nproject {\n  name = penguins\n")
    assert "  split {\n    train = 0.8\n    test = 0.2\n" in printed
    assert "    members = [random_forest, { family = svm, params { C = 1.0 } }]\n" in printed
    assert "    max_depth = int(2, 32)\n" in printed
    assert "  acceptance = [f1_macro >= 0.9, p95_latency_ms <= 50]\n" in printed
    assert '    "odd column name" = numeric\n' in printed
    assert "}\n\nhardware {\n  memory = 2GiB\n}\n" in printed
    assert printed.endswith("}\n") and not printed.endswith("\n\n")
    assert typed(ok(printed)) == typed(EXPECTED)


def test_print_layout_rules() -> None:
    raw = {
        "empty": {},
        "none": [],
        "long": ["x" * 30, "y" * 30, "z" * 30],
        "objects": [{"a": 1, "b": {}}, {"q": "w" * 90}],
    }
    assert print_dsl(raw) == (
        "empty {}\n"
        "\n"
        "none = []\n"
        "long = [\n"
        f"  {'x' * 30},\n"
        f"  {'y' * 30},\n"
        f"  {'z' * 30},\n"
        "]\n"
        "objects = [\n"
        "  { a = 1, b {} },\n"
        "  {\n"
        f"    q = {'w' * 90}\n"
        "  },\n"
        "]\n"
    )
    assert print_dsl({}) == "\n"


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        ("no", "no"),
        ("gini", "gini"),
        ("10m", "10m"),
        ("accuracy >= 0.9", "accuracy >= 0.9"),
        ("int(2, 32)", "int(2, 32)"),
        ('choice("a b", 3)', 'choice("a b", 3)'),
        ("1", '"1"'),
        ("1e5", '"1e5"'),
        ("1_000", '"1_000"'),
        ("true", '"true"'),
        ("null", '"null"'),
        ("a b", '"a b"'),
        ("${DATABASE_URL}", '"${DATABASE_URL}"'),
        ("", '""'),
        ("x >= 1 ", '"x >= 1 "'),
        ("a # b", '"a # b"'),
        ("line\nbreak", '"line\\nbreak"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("x\u2028y", '"x\\u2028y"'),
        ("é", '"é"'),
        (True, "true"),
        (None, "null"),
        (0.1, "0.1"),
        (1e-05, "1e-05"),
        (1.0, "1.0"),
        (-3, "-3"),
    ],
)
def test_print_scalars(value: Any, printed: str) -> None:
    assert print_dsl({"v": value}) == f"v = {printed}\n"
    assert typed(ok(print_dsl({"v": value}))) == typed({"v": value})


def test_print_keys() -> None:
    raw = {"plain_key-1.x": 1, "true": 2, "a b": 3, "": 4, "1": 5, "é": 6}
    assert print_dsl(raw) == 'plain_key-1.x = 1\n"true" = 2\n"a b" = 3\n"" = 4\n"1" = 5\n"é" = 6\n'


def test_print_escapes_lone_surrogates() -> None:
    raw = {"x": "a\ud800b"}
    printed = print_dsl(raw)
    assert printed == 'x = "a\\ud800b"\n'
    printed.encode("utf-8")
    assert ok(printed) == raw


def test_print_comments_from_elsewhere() -> None:
    """Comments built by another front end (YAML) force the lists and objects they sit in onto several lines."""
    comments = {
        ("tags", 1): NodeComments(leading=["# second"]),
        ("objs", 0, "a"): NodeComments(trailing="# on a"),
        ("empty",): NodeComments(closing=["# nothing yet"]),
        ("missing", "loc"): NodeComments(leading=["# dropped: no such item"]),
    }
    raw = {"tags": ["x", "y"], "objs": [{"a": 1}], "empty": {}}
    assert print_dsl(raw, comments) == (
        "tags = [\n"
        "  x,\n"
        "  # second\n"
        "  y,\n"
        "]\n"
        "objs = [\n"
        "  {\n"
        "    a = 1  # on a\n"
        "  },\n"
        "]\n"
        "\n"
        "empty {\n"
        "  # nothing yet\n"
        "}\n"
    )


def test_print_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError, match="no syntax"):
        print_dsl({"x": math.inf})
    with pytest.raises(TypeError):
        print_dsl({"x": object()})


def test_is_bare_value() -> None:
    assert is_bare_value("random_forest")
    assert is_bare_value("f1_macro>=0.9")
    assert not is_bare_value("true")
    assert not is_bare_value("-1")
    assert not is_bare_value("a\nb = c")


# ---------------------------------------------------------------- round trips

KEYS = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_\-.]{0,10}", fullmatch=True),
    st.text(max_size=8),
    st.sampled_from(["true", "false", "null", "a b", "1", "", "x-y.z", "#", '"', "{"]),
)
WORDS = st.sampled_from(
    [
        "no", "yes", "on", "off", "true", "false", "null", "True", "gini", "10m", "2GiB", "1e5", "1_000", "-1",
        "0.5", "f1 >= 0.9", "a>=1", "int(2, 32)", 'choice(a, "b c")', "f()", "${DATABASE_URL}", "", " ", "a b",
        "#x", "a # b", '"', "\\", "\n", "é", "x\u2028y", "\x85", "\r", "\t", "a,b", "[1]", "{}",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    WORDS,
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=25,
)
RAW_SPECS = st.dictionaries(KEYS, VALUES, max_size=6)


@given(RAW_SPECS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_print_parse_round_trip(raw: dict[str, Any]) -> None:
    printed = print_dsl(raw)
    result = parse(printed)
    assert result.diagnostics == (), (printed, result.diagnostics)
    assert typed(result.raw) == typed(raw)
    assert print_dsl(result.raw or {}) == printed
    # every string scalar's span and ScalarInfo lead back to its text
    for loc, info in result.locations.scalars.items():
        span = result.locations.values[loc]
        text = printed[span.offset : span.end_offset]
        value: Any = result.raw
        for part in loc:
            value = value[part]
        assert (json.loads(text) if info.text_offset == 1 else text) == value


# ---------------------------------------------------------------- comments

COMMENTED = """\
# Penguin species.
# Second header line.
aispec = 1  # the version

project {  # what we build
  # the name
  name = penguins
  tags = [
    tabular,  # kind of data
    # a leading comment in a list
    small,
  ]
  # closing comment of project
}

model { family = svm }  # trailing after a one-line block

# footer
"""


def test_comments_are_attached() -> None:
    result, comments = parse_dsl_with_comments(SourceFile("c.aispec", COMMENTED))
    assert result.diagnostics == ()
    assert comments[("aispec",)].leading == ["# Penguin species.", "# Second header line."]
    assert comments[("aispec",)].trailing == "# the version"
    assert comments[("project",)].trailing == "# what we build"
    assert comments[("project", "name")].leading == ["# the name"]
    assert comments[("project", "tags", 0)].trailing == "# kind of data"
    assert comments[("project", "tags", 1)].leading == ["# a leading comment in a list"]
    assert comments[("project",)].closing == ["# closing comment of project"]
    assert comments[("model",)].trailing == "# trailing after a one-line block"
    assert comments[()].closing == ["# footer"]


def test_comments_survive_formatting() -> None:
    result, comments = parse_dsl_with_comments(SourceFile("c.aispec", COMMENTED))
    assert result.raw is not None
    printed = print_dsl(result.raw, comments)
    assert printed == (
        "# Penguin species.\n"
        "# Second header line.\n"
        "aispec = 1  # the version\n"
        "\n"
        "project {  # what we build\n"
        "  # the name\n"
        "  name = penguins\n"
        "  tags = [\n"
        "    tabular,  # kind of data\n"
        "    # a leading comment in a list\n"
        "    small,\n"
        "  ]\n"
        "  # closing comment of project\n"
        "}\n"
        "\n"
        "model {  # trailing after a one-line block\n"
        "  family = svm\n"
        "}\n"
        "\n"
        "# footer\n"
    )
    again, again_comments = parse_dsl_with_comments(SourceFile("c.aispec", printed))
    assert again.raw == result.raw
    assert print_dsl(again.raw or {}, again_comments) == printed


def test_hash_inside_strings_is_not_a_comment() -> None:
    result, comments = parse_dsl_with_comments(SourceFile("c.aispec", 'a = "x # y"  # real\nb = f("#")\n'))
    assert result.raw == {"a": "x # y", "b": 'f("#")'}
    assert comments == {("a",): comments[("a",)]} and comments[("a",)].trailing == "# real"
