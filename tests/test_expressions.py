"""Expressions inside spec strings: criteria, search spaces, durations, sizes, environment references."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction

import pytest

from aispec.compiler.codes import CODES
from aispec.compiler.diagnostics import did_you_mean
from aispec.schemas.expressions import (
    CODE,
    Criterion,
    Distribution,
    ExpressionError,
    parse_criterion,
    parse_distribution,
    parse_duration,
    parse_size,
    parse_template,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the threshold keeps the spelling it was written with: the gate compares exactly that value
        ("f1_macro >= 0.9", Criterion("f1_macro", ">=", 0.9, 0, "0.9")),
        ("p95_latency_ms<=50", Criterion("p95_latency_ms", "<=", 50.0, 0, "50")),
        ("  recall > 80%", Criterion("recall", ">", 0.8, 2, "80", percent=True)),
        ("rmse < 1e-3", Criterion("rmse", "<", 1e-3, 0, "1e-3")),
        ("mcc != -1", Criterion("mcc", "!=", -1.0, 0, "-1")),
    ],
)
def test_criteria(text: str, expected: Criterion) -> None:
    assert parse_criterion(text) == expected


def test_criterion_holds() -> None:
    assert parse_criterion("accuracy >= 0.9").holds(0.9)
    assert not parse_criterion("accuracy > 0.9").holds(0.9)
    assert parse_criterion("p95_latency_ms <= 50").holds(12.0)


@pytest.mark.parametrize(
    ("text", "offset", "fragment"),
    [
        ("accuracy >=", 11, "incomplete"),
        ("accuracy => 0.9", 9, "unexpected character '='"),
        (">= 0.9", 0, "unexpected '>='"),
        ("accuracy 0.9", 9, "unexpected '0.9'"),
        ("", 0, "empty"),
    ],
)
def test_criterion_errors_point_inside_the_text(text: str, offset: int, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_criterion(text)
    assert info.value.offset == offset
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("int(2, 32)", Distribution("int", (2, 32))),
        ("logint(1, 1000)", Distribution("logint", (1, 1000))),
        ("uniform(0, 0.5)", Distribution("uniform", (0, 0.5))),
        ("loguniform(1e-4, 1e-1)", Distribution("loguniform", (1e-4, 1e-1))),
        ("choice(gini, entropy)", Distribution("choice", ("gini", "entropy"))),
        ('choice("a b", 3, true, null)', Distribution("choice", ("a b", 3, True, None))),
    ],
)
def test_distributions(text: str, expected: Distribution) -> None:
    got = parse_distribution(text)
    assert got == expected
    assert parse_distribution(str(got)) == got  # canonical text round-trips


@pytest.mark.parametrize(
    ("text", "fragment", "hint"),
    [
        ("intt(2, 3)", "unknown distribution 'intt'", "did you mean 'int'?"),
        ("int(2.5, 32)", "whole numbers", "uniform"),
        ("int(5, 2)", "not below", "smaller bound first"),
        ("loguniform(0, 1)", "positive", None),
        ("choice()", "at least one option", "choice(gini, entropy)"),
        ("uniform(a, b)", "must be numbers", None),
        ("int(1, 2, 3)", "takes two bounds", None),
        ("int(2,", "incomplete", None),
    ],
)
def test_distribution_errors(text: str, fragment: str, hint: str | None) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_distribution(text, suggest=did_you_mean)
    assert fragment in info.value.message
    if hint:
        assert info.value.hint is not None and hint in info.value.hint


def test_without_a_speller_an_unknown_distribution_lists_the_known_ones() -> None:
    # the runtime has no spelling suggestions (they live in the compiler); the hint still says what to write
    with pytest.raises(ExpressionError) as info:
        parse_distribution("intt(2, 3)")
    assert info.value.hint == "use one of: int, logint, uniform, loguniform, choice"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        # quoted words that read as keywords stay text (they were written unquoted and read back as booleans)
        ('choice("true", "null", gini)', 'choice("true", "null", gini)'),
        # a double quote inside single quotes, a trailing backslash: single quotes carry them as they are
        ("""choice('say "hi"', 'a\\')""", """choice('say "hi"', 'a\\')"""),
        ('choice("a \\" b")', 'choice("a \\" b")'),
        # repr would write 1000000000000000.0 (16 digits) and 1e-114 (three-digit exponent): both refused
        ("uniform(100000000000000e1, 100000000000000e2)", "uniform(1e15, 1e+16)"),
        ("loguniform(.000000000000001e-99, 1)", "loguniform(.000000000000001e-99, 1)"),
    ],
)
def test_canonical_text_of_search_spaces_reads_back(text: str, canonical: str) -> None:
    space = parse_distribution(text)
    assert str(space) == canonical
    assert parse_distribution(canonical) == space


@pytest.mark.parametrize(("text", "seconds"), [("10m", 600), ("1h30m", 5400), ("500ms", 0.5), ("2d", 172800),
                                               ("1.5h", 5400)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text).seconds == seconds


@pytest.mark.parametrize("text", ["10", "10x", "", "m", "-5m", "0s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_duration(text)


@pytest.mark.parametrize(("text", "n"), [("2GiB", 2 * 2**30), ("512MB", 512 * 10**6), ("1.5 KiB", 1536),
                                         ("100B", 100)])
def test_sizes(text: str, n: int) -> None:
    assert parse_size(text).bytes == n


@pytest.mark.parametrize("text", ["2G", "GiB", "10", "-1GiB"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_size(text)


def test_environment_references() -> None:
    t = parse_template("postgresql://${DB_USER}:${DB_PASSWORD}@db:5432/app")
    assert t.variables == ("DB_USER", "DB_PASSWORD")
    assert parse_template("plain text").variables == ()


@pytest.mark.parametrize(("text", "offset"), [("${", 0), ("a ${1X}", 4), ("${A-B}", 2), ("x${}", 3)])
def test_bad_environment_references(text: str, offset: int) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_template(text)
    assert info.value.offset == offset


@pytest.mark.parametrize(("text", "seconds"), [("1.1h", 3960.0), ("9ms", 0.009), ("0.7m", 42.0), ("1d1ms", 86400.001)])
def test_duration_seconds_are_exact(text: str, seconds: float) -> None:
    # one rounding of the exact value (summed float products made 1.1h 3960.0000000000005 s)
    duration = parse_duration(text)
    assert duration.seconds == seconds
    assert duration.milliseconds == float(Fraction(str(seconds)) * 1000)


def test_errors_carry_the_code_the_compiler_reports() -> None:
    # the runtime raises ConfigError(code=exc.code) for an expression it cannot read: a registered code
    with pytest.raises(ExpressionError) as info:
        parse_size("lots")
    assert info.value.code == CODE == "AIS104" and CODES[CODE].title == "invalid expression"


def test_the_module_imports_only_the_standard_library() -> None:
    # the runtime and the serving image load it: no pydantic, no Lark, nothing of the compiler
    code = ("import json, sys; before = set(sys.modules); import aispec.schemas.expressions; "
            "print(json.dumps(sorted(set(sys.modules) - before)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = json.loads(out)
    assert "aispec.schemas.expressions" in loaded
    outside = [m for m in loaded if m.split(".")[0] not in sys.stdlib_module_names and not m.startswith("aispec")]
    assert outside == [] and [m for m in loaded if m.startswith("aispec.")] == ["aispec.schemas",
                                                                                 "aispec.schemas.expressions"]
