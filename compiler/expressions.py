"""Small expressions inside spec strings, parsed with Lark (positions kept).

- acceptance criteria: ``f1_macro >= 0.9``, ``p95_latency_ms <= 50``, ``recall > 80%``
- search spaces: ``int(2, 32)``, ``loguniform(1e-4, 1e-1)``, ``choice(gini, entropy)``
- durations: ``10m``, ``1h30m``, ``500ms``; sizes: ``2GiB``, ``512MB``
- environment references: ``postgresql://${DB_USER}@host/db``

Each parser returns a small frozen value object whose ``str()`` is the
canonical text, or raises ``ExpressionError`` with the character offset of
the problem inside the string.

Every text form a parser accepts is also written out below as a regular
expression (``*_PATTERN``); the JSON Schema publishes those, and
tests/test_schema_agreement.py checks that the two accept the same strings.
Numbers inside expressions are bounded (``NUMBER``: at most 15 digits before
and after the point, a two-digit exponent) so that "finite", "positive" and
"whole" are properties of the text a regular expression can see.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Literal

from lark import Lark, Token, Tree, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .diagnostics import did_you_mean
from .grammars import build


class ExpressionError(ValueError):
    def __init__(self, message: str, offset: int = 0, length: int = 1, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.length = length
        self.hint = hint


@cache
def _parser() -> Lark:
    return build("expr.lark", parser="lalr", start=["criterion", "distribution", "duration", "size"],
                 propagate_positions=True)


def _parse(text: str, start: str, what: str, example: str) -> Tree[Token]:
    if not text.strip():
        raise ExpressionError(f"empty {what}", 0, 1, f"write it like `{example}`")
    try:
        return _parser().parse(text, start=start)
    except UnexpectedEOF as exc:
        raise ExpressionError(f"incomplete {what}: '{text}'", len(text), 1, f"write it like `{example}`") from exc
    except UnexpectedCharacters as exc:
        pos = exc.pos_in_stream or 0
        raise ExpressionError(f"unexpected character {text[pos]!r} in {what} '{text}'", pos, 1,
                              f"write it like `{example}`") from exc
    except UnexpectedToken as exc:
        tok = exc.token
        if tok.type == "$END":
            raise ExpressionError(f"incomplete {what}: '{text}' ends too early", len(text), 1,
                                  f"write it like `{example}`") from exc
        pos = tok.start_pos if tok.start_pos is not None else 0
        raise ExpressionError(f"unexpected {str(tok)!r} in {what} '{text}'", pos, max(len(tok), 1),
                              f"write it like `{example}`") from exc
    except UnexpectedInput as exc:  # pragma: no cover - the three above are exhaustive for LALR
        raise ExpressionError(f"invalid {what}: '{text}'", 0, len(text)) from exc


# ------------------------------------------------------- text forms as regexes

# Written in the common subset of Python's `re` and ECMA-262 (what JSON Schema validators and editors use):
# explicit classes instead of \d and \s (both are Unicode-aware in Python), and `$(?!\n)` as the end, since
# Python's `$` also matches before a final newline.
_WS = r"[ \t]*"  # Lark's WS_INLINE, ignored between tokens
_UNSIGNED = r"(?:[0-9]{1,15}(?:\.[0-9]{0,15})?|\.[0-9]{1,15})(?:[eE][+-]?[0-9]{1,2})?"
NUMBER = r"[+-]?" + _UNSIGNED
_POSITIVE = r"\+?(?=[0-9.]*[1-9])" + _UNSIGNED  # a non-zero digit before any exponent
_WHOLE = r"[+-]?[0-9]{1,15}"
_POSITIVE_WHOLE = r"\+?(?=0*[1-9])[0-9]{1,15}"
_NAME = r"[A-Za-z_][A-Za-z0-9_.-]*"  # the grammar's NAME
_STRING = r'"(?:[^"\\]|\\[^\n])*"' + r"|'[^']*'"  # the grammar's STRING
_NONZERO = "(?=[^1-9]*[1-9])"  # some digit is not 0 (durations and sizes hold no other digits)
_DURATION_BODY = r"(?:[0-9]{1,15}(?:\.[0-9]{1,15})?(?:ms|s|m|h|d))+"
_SIZE_BODY = r"[0-9]{1,15}(?:\.[0-9]{1,15})? ?(?:B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)"


def anchored(body: str) -> str:
    """A pattern that matches the whole string only (``re.search`` semantics, as JSON Schema's ``pattern``)."""
    return rf"^(?:{body})$(?!\n)"


def _call(name: str, *args: str) -> str:
    return rf"{name}{_WS}\({_WS}" + rf"{_WS},{_WS}".join(args) + rf"{_WS}\)"


CRITERION_PATTERN = anchored(rf"{_WS}{_NAME}{_WS}(?:>=|<=|==|!=|>|<){_WS}{NUMBER}{_WS}%?{_WS}")
_ARG = f"(?:{NUMBER}|{_NAME}|{_STRING})"
DISTRIBUTION_PATTERN = anchored(_WS + "(?:" + "|".join((
    _call("int", _WHOLE, _WHOLE),
    _call("logint", _POSITIVE_WHOLE, _POSITIVE_WHOLE),
    _call("uniform", NUMBER, NUMBER),
    _call("loguniform", _POSITIVE, _POSITIVE),
    rf"choice{_WS}\({_WS}{_ARG}(?:{_WS},{_WS}{_ARG})*{_WS}\)",
)) + ")" + _WS)
DURATION_PATTERN = anchored(f"{_WS}{_NONZERO}{_DURATION_BODY}{_WS}")
SIZE_PATTERN = anchored(f"{_WS}{_NONZERO}{_SIZE_BODY}{_WS}")
TEMPLATE_PATTERN = anchored(r"(?:[^$]|\$(?!\{)|\$\{[A-Za-z_][A-Za-z0-9_]*\})*")
_NUMBER_RE = re.compile(NUMBER)
_BOUNDS_HINT = "numbers have at most 15 digits before and after the point and an exponent of at most two digits"


def _bounded(tok: Token) -> str:
    """The text of a number token, refused when it has more digits than NUMBER allows."""
    text = str(tok)
    if not _NUMBER_RE.fullmatch(text):
        raise ExpressionError(f"number {text} has too many digits", tok.start_pos or 0, len(text), _BOUNDS_HINT)
    return text


# ------------------------------------------------------------------ criteria

Comparison = Literal[">=", "<=", ">", "<", "==", "!="]


@dataclass(frozen=True, slots=True)
class Criterion:
    metric: str
    op: Comparison
    value: float
    metric_offset: int = 0  # where the metric name starts inside the original text
    number: str = ""  # the threshold as written (digits kept: a gate compares with exactly this value)
    percent: bool = False  # written as a percentage: `value` is the number divided by 100

    def __str__(self) -> str:
        shown = self.number or exact_number(self.value * 100 if self.percent else self.value)
        return f"{self.metric} {self.op} {shown}{'%' if self.percent else ''}"

    def holds(self, observed: float) -> bool:
        return {
            ">=": observed >= self.value,
            "<=": observed <= self.value,
            ">": observed > self.value,
            "<": observed < self.value,
            "==": observed == self.value,
            "!=": observed != self.value,
        }[self.op]


def parse_criterion(text: str) -> Criterion:
    tree = _parse(text, "criterion", "acceptance criterion", "f1_macro >= 0.9")
    name, op, number, *pct = tree.children
    assert isinstance(name, Token) and isinstance(op, Token) and isinstance(number, Token)
    value = float(_bounded(number))
    if not math.isfinite(value):  # pragma: no cover - bounded numbers are finite
        raise ExpressionError(f"threshold {number} is not a finite number", number.start_pos or 0, len(number))
    if pct:
        value /= 100.0
    literal = str(number).lstrip("+")
    return Criterion(str(name), op.value, value, name.start_pos or 0, literal, bool(pct))


def exact_number(value: float) -> str:
    """The shortest text that reads back as exactly ``value`` (``50.0`` → ``50``, ``0.5158513`` as is)."""
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


# ------------------------------------------------------------- search spaces

DISTRIBUTIONS = ("int", "logint", "uniform", "loguniform", "choice")
Scalar = int | float | str | bool | None


@dataclass(frozen=True, slots=True)
class Distribution:
    kind: str
    args: tuple[Scalar, ...]

    def __str__(self) -> str:
        def fmt(a: Scalar) -> str:
            if isinstance(a, str):
                return a if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-\.]*", a) else f'"{a}"'
            if a is None:
                return "null"
            if isinstance(a, bool):
                return "true" if a else "false"
            return repr(a) if isinstance(a, float) else str(a)

        return f"{self.kind}({', '.join(fmt(a) for a in self.args)})"

    @property
    def low(self) -> float:
        return float(self.args[0])  # type: ignore[arg-type]

    @property
    def high(self) -> float:
        return float(self.args[1])  # type: ignore[arg-type]


def _arg(node: Tree[Token] | Token) -> tuple[Scalar, int]:
    assert isinstance(node, Tree)
    tok = node.children[0]
    assert isinstance(tok, Token)
    pos = tok.start_pos or 0
    if node.data == "number":
        s = _bounded(tok)
        return (float(s) if any(c in s for c in ".eE") else int(s)), pos
    if node.data == "string":
        return str(tok)[1:-1], pos
    word = str(tok)
    return {"true": True, "false": False, "null": None}.get(word, word), pos


def parse_distribution(text: str) -> Distribution:
    tree = _parse(text, "distribution", "search space", "int(2, 32)")
    name_tok = tree.children[0]
    assert isinstance(name_tok, Token)
    kind = str(name_tok)
    if kind not in DISTRIBUTIONS:
        raise ExpressionError(
            f"unknown distribution '{kind}'", name_tok.start_pos or 0, len(kind),
            did_you_mean(kind, DISTRIBUTIONS) or f"use one of: {', '.join(DISTRIBUTIONS)}",
        )
    parsed = [_arg(c) for c in tree.children[1:] if c is not None]
    args = tuple(a for a, _ in parsed)
    end = len(text.rstrip())
    if kind == "choice":
        if not args:
            raise ExpressionError("choice() needs at least one option", end - 1, 1, "e.g. choice(gini, entropy)")
        return Distribution(kind, args)
    if len(args) != 2:
        raise ExpressionError(f"{kind}() takes two bounds, got {len(args)}", 0, end, f"e.g. {kind}(1, 10)")
    # Each bound on its own first, the order of the two last: a regular expression (the JSON Schema's
    # pattern) can check the former but cannot compare two numbers.
    for (a, pos) in parsed:
        if isinstance(a, bool) or not isinstance(a, int | float):
            raise ExpressionError(f"{kind}() bounds must be numbers, got '{a}'", pos, len(str(a)))
        if kind in ("int", "logint") and not isinstance(a, int):
            raise ExpressionError(f"{kind}() bounds must be whole numbers, got {a}", pos, len(str(a)),
                                  "use uniform() or loguniform() for real-valued parameters")
        if kind.startswith("log") and a <= 0:
            raise ExpressionError(f"{kind}() bounds must be positive, got {a}", pos, len(str(a)))
    lo, hi = float(args[0]), float(args[1])  # type: ignore[arg-type]
    if lo >= hi:
        raise ExpressionError(f"{kind}() lower bound {args[0]} is not below upper bound {args[1]}",
                              parsed[0][1], len(str(args[0])), "write the smaller bound first")
    return Distribution(kind, args)


# ---------------------------------------------------------- durations, sizes

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE_UNITS = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
}


@dataclass(frozen=True, slots=True)
class Duration:
    text: str
    seconds: float

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Size:
    text: str
    bytes: int

    def __str__(self) -> str:
        return self.text


def parse_duration(text: str) -> Duration:
    # spaces and tabs around the value are allowed (as around any expression), other whitespace is not
    value = text.strip(" \t")
    try:
        tree = _parse(value, "duration", "duration", "10m")
    except ExpressionError as exc:
        raise ExpressionError(f"invalid duration '{text}'", 0, max(len(text), 1),
                              "a number and a unit: ms, s, m, h or d, e.g. 10m or 1h30m") from exc
    tok = str(tree.children[0])
    if not re.fullmatch(_DURATION_BODY, tok):
        raise ExpressionError(f"duration '{text}' has a number with too many digits", 0, len(text),
                              "at most 15 digits before and after the point")
    parts = re.findall(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)", tok)
    seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ExpressionError(f"duration '{text}' must be positive", 0, len(text))
    return Duration(value, seconds)


def parse_size(text: str) -> Size:
    value = text.strip(" \t")
    try:
        tree = _parse(value, "size", "size", "2GiB")
    except ExpressionError as exc:
        raise ExpressionError(f"invalid size '{text}'", 0, max(len(text), 1),
                              "a number and a unit: B, KB, MB, GB, TB, KiB, MiB, GiB or TiB, e.g. 2GiB") from exc
    tok = str(tree.children[0])
    if not re.fullmatch(_SIZE_BODY, tok):
        raise ExpressionError(f"size '{text}' has a number with too many digits", 0, len(text),
                              "at most 15 digits before and after the point")
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?) ?([A-Za-z]+)", tok)
    assert m is not None
    # exact arithmetic, rounded up to whole bytes: '0.1KB' is 100 bytes and any non-zero size is at least 1
    n = math.ceil(Fraction(m.group(1)) * _SIZE_UNITS[m.group(2)])
    if n <= 0:
        raise ExpressionError(f"size '{text}' must be positive", 0, len(text))
    return Size(value, n)


# -------------------------------------------------------- environment refs

_TEMPLATE = re.compile(r"\$\{([^}]*)\}|\$\{")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class EnvTemplate:
    """A string that may hold ``${NAME}`` references, filled from the environment at run time."""

    text: str
    variables: tuple[str, ...]

    def __str__(self) -> str:
        return self.text


def parse_template(text: str) -> EnvTemplate:
    names: list[str] = []
    for m in _TEMPLATE.finditer(text):
        if m.group(1) is None:
            raise ExpressionError("unclosed '${' in environment reference", m.start(), 2, "write ${NAME}")
        name = m.group(1)
        if not _ENV_NAME.fullmatch(name):
            raise ExpressionError(f"invalid environment variable name '{name}'", m.start() + 2, max(len(name), 1),
                                  "names are letters, digits and '_' and do not start with a digit")
        names.append(name)
    return EnvTemplate(text, tuple(names))
