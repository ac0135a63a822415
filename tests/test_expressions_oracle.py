"""The hand-written expression parser against the Lark grammar it replaced, and canonical text round trips.

``aispec.schemas.expressions`` reads criteria, search spaces, durations and sizes with a small tokenizer
and recursive descent so that the runtime can share it (no Lark there). The grammar it replaced is kept
here, with the code that turned Lark's errors into messages, as the oracle: for generated texts, valid
and mutated, both must return the same value or raise the same error (message, offset, length, hint), so
every diagnostic a user saw before reads the same now.

Example counts (fixed seed via ``derandomize``): ORACLE_EXAMPLES texts per strategy, each read by all
four parsers; ROUND_TRIP_EXAMPLES values per kind.
"""

from __future__ import annotations

import dataclasses
import math
import re
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import Lark, Token, Tree, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from aispec.compiler.diagnostics import did_you_mean
from aispec.schemas import expressions as E

ORACLE_EXAMPLES = 4000
ROUND_TRIP_EXAMPLES = 2000

# ------------------------------------------------------------------------ the oracle: the Lark version

GRAMMAR = r"""
criterion: NAME COMPARE SIGNED_NUMBER PERCENT?
COMPARE: ">=" | "<=" | "==" | "!=" | ">" | "<"
PERCENT: "%"

distribution: NAME "(" [arg ("," arg)*] ")"
?arg: SIGNED_NUMBER -> number
    | NAME -> word
    | STRING -> string

duration: DURATION
size: SIZE

DURATION: /([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+/
SIZE: /[0-9]+(\.[0-9]+)? ?(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)/
NAME: /[A-Za-z_][A-Za-z0-9_\-\.]*/
STRING: /"([^"\\]|\\.)*"|'[^']*'/

%import common.SIGNED_NUMBER
%import common.WS_INLINE
%ignore WS_INLINE
"""
LARK = Lark(GRAMMAR, parser="lalr", start=["criterion", "distribution", "duration", "size"],
            propagate_positions=True)


def _lark(text: str, start: str, what: str, example: str) -> Tree[Token]:
    if not text.strip():
        raise E.ExpressionError(f"empty {what}", 0, 1, f"write it like `{example}`")
    try:
        return LARK.parse(text, start=start)
    except UnexpectedEOF as exc:
        raise E.ExpressionError(f"incomplete {what}: '{text}'", len(text), 1, f"write it like `{example}`") from exc
    except UnexpectedCharacters as exc:
        pos = exc.pos_in_stream or 0
        raise E.ExpressionError(f"unexpected character {text[pos]!r} in {what} '{text}'", pos, 1,
                                f"write it like `{example}`") from exc
    except UnexpectedToken as exc:
        tok = exc.token
        if tok.type == "$END":
            raise E.ExpressionError(f"incomplete {what}: '{text}' ends too early", len(text), 1,
                                    f"write it like `{example}`") from exc
        pos = tok.start_pos if tok.start_pos is not None else 0
        raise E.ExpressionError(f"unexpected {str(tok)!r} in {what} '{text}'", pos, max(len(tok), 1),
                                f"write it like `{example}`") from exc
    except UnexpectedInput as exc:
        raise E.ExpressionError(f"invalid {what}: '{text}'", 0, len(text)) from exc


def _bounded(tok: Token) -> str:
    if not re.fullmatch(E.NUMBER, str(tok)):
        raise E.ExpressionError(f"number {tok} has too many digits", tok.start_pos or 0, len(tok), E._BOUNDS_HINT)
    return str(tok)


def oracle_criterion(text: str) -> E.Criterion:
    tree = _lark(text, "criterion", "acceptance criterion", "f1_macro >= 0.9")
    name, op, number, *pct = tree.children
    assert isinstance(name, Token) and isinstance(op, Token) and isinstance(number, Token)
    value = float(_bounded(number))
    if pct:
        value /= 100.0
    return E.Criterion(str(name), op.value, value, name.start_pos or 0, str(number).lstrip("+"), bool(pct))


def _arg(node: Any) -> tuple[E.Scalar, int]:
    tok = node.children[0]
    pos = tok.start_pos or 0
    if node.data == "number":
        s = _bounded(tok)
        return (float(s) if any(c in s for c in ".eE") else int(s)), pos
    if node.data == "string":
        return str(tok)[1:-1], pos
    return {"true": True, "false": False, "null": None}.get(str(tok), str(tok)), pos


def oracle_distribution(text: str) -> E.Distribution:
    tree = _lark(text, "distribution", "search space", "int(2, 32)")
    name_tok = tree.children[0]
    assert isinstance(name_tok, Token)
    kind = str(name_tok)
    if kind not in E.DISTRIBUTIONS:
        raise E.ExpressionError(f"unknown distribution '{kind}'", name_tok.start_pos or 0, len(kind),
                                did_you_mean(kind, E.DISTRIBUTIONS) or f"use one of: {', '.join(E.DISTRIBUTIONS)}")
    parsed = [_arg(c) for c in tree.children[1:] if c is not None]
    args = tuple(a for a, _ in parsed)
    end = len(text.rstrip())
    if kind == "choice":
        if not args:
            raise E.ExpressionError("choice() needs at least one option", end - 1, 1, "e.g. choice(gini, entropy)")
        return E.Distribution(kind, args)
    if len(args) != 2:
        raise E.ExpressionError(f"{kind}() takes two bounds, got {len(args)}", 0, end, f"e.g. {kind}(1, 10)")
    for (a, pos) in parsed:
        if isinstance(a, bool) or not isinstance(a, int | float):
            raise E.ExpressionError(f"{kind}() bounds must be numbers, got '{a}'", pos, len(str(a)))
        if kind in ("int", "logint") and not isinstance(a, int):
            raise E.ExpressionError(f"{kind}() bounds must be whole numbers, got {a}", pos, len(str(a)),
                                    "use uniform() or loguniform() for real-valued parameters")
        if kind.startswith("log") and a <= 0:
            raise E.ExpressionError(f"{kind}() bounds must be positive, got {a}", pos, len(str(a)))
    if float(args[0]) >= float(args[1]):  # type: ignore[arg-type]
        raise E.ExpressionError(f"{kind}() lower bound {args[0]} is not below upper bound {args[1]}",
                                parsed[0][1], len(str(args[0])), "write the smaller bound first")
    return E.Distribution(kind, args)


def oracle_duration(text: str) -> E.Duration:
    value = text.strip(" \t")
    try:
        tree = _lark(value, "duration", "duration", "10m")
    except E.ExpressionError as exc:
        raise E.ExpressionError(f"invalid duration '{text}'", 0, max(len(text), 1),
                                "a number and a unit: ms, s, m, h or d, e.g. 10m or 1h30m") from exc
    tok = str(tree.children[0])
    if not re.fullmatch(E._DURATION_BODY, tok):
        raise E.ExpressionError(f"duration '{text}' has a number with too many digits", 0, len(text),
                                "at most 15 digits before and after the point")
    # One change on purpose: the seconds are exact (rounded once), where the Lark version summed float
    # products ('1.1h' was 3960.0000000000005 seconds, '9ms' 0.009000000000000001).
    units = {"ms": Fraction(1, 1000), "s": 1, "m": 60, "h": 3600, "d": 86400}
    seconds = sum(Fraction(n) * units[u] for n, u in re.findall(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)", tok))
    if seconds <= 0:
        raise E.ExpressionError(f"duration '{text}' must be positive", 0, len(text))
    return E.Duration(value, float(seconds))


def oracle_size(text: str) -> E.Size:
    value = text.strip(" \t")
    try:
        tree = _lark(value, "size", "size", "2GiB")
    except E.ExpressionError as exc:
        raise E.ExpressionError(f"invalid size '{text}'", 0, max(len(text), 1),
                                "a number and a unit: B, KB, MB, GB, TB, KiB, MiB, GiB or TiB, e.g. 2GiB") from exc
    tok = str(tree.children[0])
    if not re.fullmatch(E._SIZE_BODY, tok):
        raise E.ExpressionError(f"size '{text}' has a number with too many digits", 0, len(text),
                                "at most 15 digits before and after the point")
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?) ?([A-Za-z]+)", tok)
    assert m is not None
    units = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
             "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
    n = math.ceil(Fraction(m.group(1)) * units[m.group(2)])
    if n <= 0:
        raise E.ExpressionError(f"size '{text}' must be positive", 0, len(text))
    return E.Size(value, n)


# ------------------------------------------------------------------------ texts to read

PAIRS = [
    (oracle_criterion, E.parse_criterion),
    (oracle_distribution, lambda text: E.parse_distribution(text, did_you_mean)),
    (oracle_duration, E.parse_duration),
    (oracle_size, E.parse_size),
]


def outcome(parse: Any, text: str) -> tuple[Any, ...]:
    """What ``parse`` makes of ``text``: the value's repr (which tells 1 from 1.0 and True, unlike ==) or the error."""
    try:
        return ("value", repr(parse(text)))
    except E.ExpressionError as exc:
        return ("error", exc.message, exc.offset, exc.length, exc.hint)


_blank = st.sampled_from(["", "", "", " ", "  ", "\t", " \t"])
_digits = st.text("0123456789", min_size=1, max_size=18)
# numbers of every shape the tokenizer may meet: mostly well formed, some past the digit bounds, some broken
_number = st.one_of(
    st.from_regex(E.NUMBER, fullmatch=True),
    st.from_regex(r"[+-]?[0-9]{1,3}", fullmatch=True),
    st.builds(
        lambda sign, whole, point, frac, exp: f"{sign}{whole}{point}{frac}{exp}",
        st.sampled_from(["", "", "+", "-"]), st.one_of(_digits, st.just("")), st.sampled_from(["", ".", "."]),
        st.one_of(st.just(""), _digits),
        st.one_of(st.just(""), st.builds(lambda e, s, d: f"{e}{s}{d}", st.sampled_from("eE"),
                                         st.sampled_from(["", "+", "-"]), st.text("0123456789", max_size=4))),
    ),
)
_name = st.one_of(
    st.sampled_from(["accuracy", "f1_macro", "p95_latency_ms", "r2", "x", "ac-cu.racy", "_a", "true", "null",
                     "int", "logint", "uniform", "loguniform", "choice", "randint", "intt", "and", "e", "ms", "GiB"]),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,8}", fullmatch=True),
)
_string = st.one_of(st.from_regex(r'"(?:[^"\\\n]|\\[^\n]){0,6}"', fullmatch=True),
                    st.from_regex(r"'[^'\n]{0,6}'", fullmatch=True))
_op = st.sampled_from([">=", "<=", "==", "!=", ">", "<"] * 3 + ["=>", "=", "=<", ">>"])
_criterion = st.builds(lambda *p: "".join(p), _blank, _name, _blank, _op, _blank, _number, _blank,
                       st.sampled_from(["", "", "%", "%%"]), _blank)
_argument = st.one_of(_number, _name, _string)
_distribution = st.builds(
    lambda b1, name, b2, args, seps, b3: f"{b1}{name}{b2}(" + "".join(
        f"{s}{a}" for s, a in zip(seps, args, strict=False)) + f"){b3}",
    _blank, _name, _blank, st.lists(_argument, max_size=4),
    st.lists(st.sampled_from(["", ", ", ",", " , ", ",\t"]), min_size=4, max_size=4).map(lambda s: ["", *s[1:]]),
    _blank,
)
_search_space = st.one_of(  # mostly valid: a known kind with arguments of its kind
    st.builds(lambda args: f"choice({', '.join(args)})", st.lists(_argument, min_size=1, max_size=4)),
    st.builds(lambda kind, a, b: f"{kind}({a}, {b})", st.sampled_from(["int", "logint"]),
              st.from_regex(r"\+?[0-9]{1,15}", fullmatch=True), st.from_regex(r"\+?[0-9]{1,15}", fullmatch=True)),
    st.builds(lambda kind, a, b: f"{kind}({a},{b})", st.sampled_from(["uniform", "loguniform"]), _number, _number),
)
_unit_duration = st.sampled_from([*E._DURATION_MS] * 3 + ["M", "min", ""])
_duration = st.builds(lambda b1, parts, b2: b1 + "".join(parts) + b2, _blank,
                      st.lists(st.builds(lambda n, u: n + u, _number, _unit_duration), min_size=1, max_size=3),
                      _blank)
_size = st.builds(lambda b1, n, sp, u, b2: f"{b1}{n}{sp}{u}{b2}", _blank, _number,
                  st.sampled_from(["", "", " ", "  ", "\t"]),
                  st.sampled_from([*E._SIZE_UNITS, *E._SIZE_UNITS, "gb", "G", "iB", ""]),
                  _blank)
# characters that matter to the grammar, and some that look like them
_ALPHABET = "0123456789.eE+-_aZ ()\t,%<>=!\"'\\\n$}{٣\u00a0msKiBh"
_valid = st.one_of(_criterion, _distribution, _search_space, _duration, _size)


@st.composite
def _mutated(draw: Any) -> str:
    text: str = draw(_valid)
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["insert", "delete", "replace", "truncate", "duplicate"]))
        i = draw(st.integers(0, len(text)))
        if how == "insert":
            text = text[:i] + draw(st.sampled_from(_ALPHABET)) + text[i:]
        elif how == "delete":
            text = text[:i] + text[i + 1:]
        elif how == "replace":
            text = text[:i] + draw(st.sampled_from(_ALPHABET)) + text[i + 1:]
        elif how == "truncate":
            text = text[:i]
        else:
            j = draw(st.integers(i, len(text)))
            text = text[:j] + text[i:j] + text[j:]
    return text


STRATEGIES = {
    "grammar": _valid,
    "mutated": _mutated(),
    "random": st.text(_ALPHABET, max_size=24),
}


def _settings(n: int) -> settings:
    return settings(max_examples=n, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(STRATEGIES))
def test_the_parser_agrees_with_the_lark_grammar(kind: str) -> None:
    tally = {"texts": 0, "read": 0}  # read: some parser returned a value

    @_settings(ORACLE_EXAMPLES)
    @given(STRATEGIES[kind])
    def agree(text: str) -> None:
        tally["texts"] += 1
        outcomes = []
        for oracle, parse in PAIRS:
            expected = outcome(oracle, text)
            assert outcome(parse, text) == expected, (text, oracle.__name__)
            outcomes.append(expected[0])
        tally["read"] += "value" in outcomes

    agree()
    print(f"{kind}: {tally}")
    # both outcomes were exercised (else the comparison says little)
    assert tally["texts"] == ORACLE_EXAMPLES
    assert ORACLE_EXAMPLES // 20 < tally["read"] < tally["texts"] or kind == "random", tally


@pytest.mark.parametrize("text", [
    "accuracy >=", "f1_macro => 0.85", "balanced_accuracy >= high", "accuracy >= 0.9 and f1_macro >= 0.8", ">= 0.9",
    "acc >= 10m", "acc >= 1e400", "accuracy 0.9", "a\n>= 1", "x >= 0.9 %", " recall>80% ", "a >= 1.e3",
    "randint(100, 500)", "int(32)", "int(20, 1)", "choice(a,)", "choice(,a)", "int(2e, 3)", "int(2,", "int 2 32",
    "choice('a', \"b c\", true, null, 1e3)", "int(2, 32) x", "foo(1e999)", "uniform(a, b)",
    "10m", "0s", "50 milliseconds", " 10m\t", "10m\n", "1m5", "4gb", "2  GiB", "0.1KB", "12345678901234567B",
])
def test_known_texts_agree(text: str) -> None:
    for oracle, parse in PAIRS:
        assert outcome(parse, text) == outcome(oracle, text), (text, oracle.__name__)


# ------------------------------------------------------------------------ canonical text round trips

_PARSERS = {
    "criterion": E.parse_criterion, "distribution": E.parse_distribution, "duration": E.parse_duration,
    "size": E.parse_size, "template": E.parse_template,
}
_TEXTS = {
    "criterion": _criterion, "distribution": _search_space,
    "duration": st.one_of(_duration, st.from_regex(E._DURATION_BODY, fullmatch=True)),
    "size": st.one_of(_size, st.from_regex(E._SIZE_BODY, fullmatch=True)),
    "template": st.text("ab_$ {}X1", max_size=16),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(_PARSERS))
def test_canonical_text_reads_back_as_the_same_value(kind: str) -> None:
    parse = _PARSERS[kind]
    read = {"n": 0}

    @_settings(ROUND_TRIP_EXAMPLES)
    @given(_TEXTS[kind])
    def round_trip(text: str) -> None:
        try:
            value = parse(text)
        except E.ExpressionError:
            return
        read["n"] += 1
        again = parse(str(value))
        if isinstance(value, E.Criterion):  # where the name starts in the text read: canonical text starts with it
            value = dataclasses.replace(value, metric_offset=0)
        assert repr(again) == repr(value), (text, str(value))
        assert str(again) == str(value)

    round_trip()
    print(f"{kind}: {read['n']} of {ROUND_TRIP_EXAMPLES} texts read and written back")
    assert read["n"] > ROUND_TRIP_EXAMPLES // 10, read
