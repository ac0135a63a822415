r"""Small expressions inside spec strings, shared by the compiler and the runtime (plain Python, no imports
beyond the standard library's ``re`` and ``dataclasses``: the serving image loads it too).

- acceptance criteria: ``f1_macro >= 0.9``, ``p95_latency_ms <= 50``, ``recall > 80%``
- search spaces: ``int(2, 32)``, ``loguniform(1e-4, 1e-1)``, ``choice(gini, entropy)``
- durations: ``10m``, ``1h30m``, ``500ms``; sizes: ``2GiB``, ``512MB``
- environment references: ``postgresql://${DB_USER}@host/db``

Each parser returns a small frozen value object whose ``str()`` is the canonical text, or raises
``ExpressionError`` with the character offset of the problem inside the string (the compiler turns it
into diagnostic AIS104 pointing inside the string; the runtime into a ``ConfigError`` with that code).

The parser is a tokenizer and a recursive descent over the grammar this module replaced (a Lark LALR
grammar with a contextual lexer), and it says the same thing for the same text: in each position only
the tokens the grammar allows there are read; when none fits, the error names what any token of the
language would have read there (``unexpected 'and'``), else the character (``unexpected character '='``).
tests/test_expressions_oracle.py holds the two to the same values and errors.

Every text form a parser accepts is also written out below as a regular expression (``*_PATTERN``), built
from the same pieces as the tokenizer; the JSON Schema publishes those, and tests/test_schema_agreement.py
checks that the two accept the same strings. Numbers inside expressions are bounded (``NUMBER``: at most
15 digits before and after the point, a two-digit exponent) so that "finite", "positive" and "whole" are
properties of the text a regular expression can see.

Patterns are written in the common subset of Python's ``re`` and ECMA-262 (what JSON Schema validators
and editors use): explicit classes instead of ``\d`` and ``\s`` (both are Unicode-aware in Python), and
``$(?!\n)`` as the end, since Python's ``$`` also matches before a final newline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Literal

CODE = "AIS104"
"""The diagnostic code of an expression that does not parse (compiler/codes.py registers it)."""


class ExpressionError(ValueError):
    code = CODE

    def __init__(self, message: str, offset: int = 0, length: int = 1, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.length = length
        self.hint = hint


Suggest = Callable[[str, Iterable[str]], str | None]
"""A spelling hint for a word among choices (the compiler passes ``did_you_mean``), or None."""

# ------------------------------------------------------------------- the pieces, bounded or not

_DURATION_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}  # order: `ms` before `m`
_SIZE_UNITS = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
}
_DIGITS = "[0-9]{1,15}"  # the bounds of NUMBER (see the module's docstring)


def _number(digits: str = "[0-9]+", fraction: str = "[0-9]*", exponent: str = "[0-9]+") -> str:
    """A signed decimal number. Unbounded, the tokenizer reads the longest number there, as Lark's SIGNED_NUMBER
    did (``1e`` reads ``1``, ``1.`` reads ``1.``); bounded, it is what the schema and the parser accept."""
    return rf"[+-]?(?:{digits}(?:\.{fraction})?|\.{digits})(?:[eE][+-]?{exponent})?"


def _duration(digits: str = "[0-9]+") -> str:
    return rf"(?:{digits}(?:\.{digits})?(?:{'|'.join(_DURATION_MS)}))+"


def _size(digits: str = "[0-9]+") -> str:
    return rf"{digits}(?:\.{digits})? ?(?:{'|'.join(_SIZE_UNITS)})"


_NAME = r"[A-Za-z_][A-Za-z0-9_.-]*"
_STRING = r'"(?:[^"\\]|\\[^\n])*"' + r"|'[^']*'"
_COMPARE = ">=|<=|==|!=|>|<"
_WS = r"[ \t]*"  # spaces and tabs, ignored between tokens

NUMBER = _number(_DIGITS, "[0-9]{0,15}", "[0-9]{1,2}")
_UNSIGNED = NUMBER.removeprefix("[+-]?")
_POSITIVE = r"\+?(?=[0-9.]*[1-9])" + _UNSIGNED  # a non-zero digit before any exponent
_WHOLE = rf"[+-]?{_DIGITS}"
_POSITIVE_WHOLE = rf"\+?(?=0*[1-9]){_DIGITS}"
_NONZERO = "(?=[^1-9]*[1-9])"  # some digit is not 0 (durations and sizes hold no other digits)
_DURATION_BODY = _duration(_DIGITS)
_SIZE_BODY = _size(_DIGITS)


@cache
def _re(pattern: str) -> re.Pattern[str]:
    """``pattern``, compiled on first use: compiling every pattern here would add milliseconds to each import."""
    return re.compile(pattern)


def anchored(body: str) -> str:
    """A pattern that matches the whole string only (``re.search`` semantics, as JSON Schema's ``pattern``)."""
    return rf"^(?:{body})$(?!\n)"


def _call(name: str, *args: str) -> str:
    return rf"{name}{_WS}\({_WS}" + rf"{_WS},{_WS}".join(args) + rf"{_WS}\)"


# ------------------------------------------------------------------- text forms as regexes (JSON Schema)

CRITERION_PATTERN = anchored(rf"{_WS}{_NAME}{_WS}(?:{_COMPARE}){_WS}{NUMBER}{_WS}%?{_WS}")
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

# ------------------------------------------------------------------- the tokenizer

# Every token of the language, in the order the grammar's lexer tried them (Lark's: tokens of unbounded
# length first, longer patterns first): where two could start at one place, the first one is read. Only
# the error messages can tell: `accuracy 10m` says unexpected '10', not '10m'.
_TOKENS = {
    "NUMBER": _number(), "SIZE": _size(), "DURATION": _duration(), "NAME": _NAME, "STRING": _STRING,
    "COMPARE": _COMPARE, "COMMA": ",", "LPAR": r"\(", "PERCENT": "%", "RPAR": r"\)",
}
_lexers: dict[tuple[str, ...], re.Pattern[str]] = {}


def _lexer(kinds: tuple[str, ...]) -> re.Pattern[str]:
    """One regex that reads the first of ``kinds`` (in ``_TOKENS`` order) that matches; made on first use."""
    lexer = _lexers.get(kinds)
    if lexer is None:
        lexer = _lexers[kinds] = _re("|".join(f"(?P<{k}>{p})" for k, p in _TOKENS.items() if k in kinds))
    return lexer


_ALL = tuple(_TOKENS)


class _Token:
    __slots__ = ("kind", "pos", "text")

    def __init__(self, kind: str, text: str, pos: int) -> None:
        self.kind, self.text, self.pos = kind, text, pos


class _Reader:
    """Reads the tokens of ``text`` one at a time, each from the kinds the grammar allows at that point."""

    def __init__(self, text: str, what: str, example: str) -> None:
        self.text, self.what, self.pos = text, what, 0
        self.hint = f"write it like `{example}`"
        if not text.strip():
            raise ExpressionError(f"empty {what}", 0, 1, self.hint)

    def next(self, *kinds: str) -> _Token | None:
        """The next token, one of ``kinds``; None at the end of the text."""
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos == len(text):
            return None
        m = _lexer(kinds).match(text, pos) if kinds else None
        if m is None:
            # not allowed here: name the token the text holds, as far as the language knows one
            m = _lexer(_ALL).match(text, pos)
            if m is None:
                raise ExpressionError(f"unexpected character {text[pos]!r} in {self.what} '{text}'", pos, 1, self.hint)
            raise ExpressionError(f"unexpected {m.group()!r} in {self.what} '{text}'", pos, max(len(m.group()), 1),
                                  self.hint)
        self.pos = m.end()
        return _Token(m.lastgroup or "", m.group(), pos)

    def need(self, *kinds: str) -> _Token:
        token = self.next(*kinds)
        if token is None:
            raise ExpressionError(f"incomplete {self.what}: '{self.text}' ends too early", len(self.text), 1,
                                  self.hint)
        return token

    def end(self) -> None:
        self.next()  # raises unless only spaces and tabs are left


_BOUNDS_HINT = "numbers have at most 15 digits before and after the point and an exponent of at most two digits"


def _bounded(token: _Token) -> str:
    """The text of a number token, refused when it has more digits than NUMBER allows."""
    if not _re(NUMBER).fullmatch(token.text):
        raise ExpressionError(f"number {token.text} has too many digits", token.pos, len(token.text), _BOUNDS_HINT)
    return token.text


# ------------------------------------------------------------------- criteria

Comparison = Literal[">=", "<=", ">", "<", "==", "!="]
_HOLDS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    "<": lambda a, b: a < b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


def exact_number(value: float) -> str:
    """The shortest text that reads back as exactly ``value`` (``50.0`` → ``50``, ``0.5158513`` as is)."""
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


@dataclass(frozen=True, slots=True)
class Criterion:
    metric: str
    op: Comparison
    value: float
    metric_offset: int = 0  # where the metric name starts inside the original text
    number: str = ""  # the threshold as written (digits kept: a gate compares with exactly this value)
    percent: bool = False  # written as a percentage: `value` is the number divided by 100

    @property
    def threshold(self) -> str:
        """The threshold as written: ``0.9``, ``80%``."""
        shown = self.number or exact_number(self.value * 100 if self.percent else self.value)
        return f"{shown}{'%' if self.percent else ''}"

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.threshold}"

    def holds(self, observed: float) -> bool:
        return _HOLDS[self.op](observed, self.value)


def parse_criterion(text: str) -> Criterion:
    reader = _Reader(text, "acceptance criterion", "f1_macro >= 0.9")
    name = reader.need("NAME")
    op = reader.need("COMPARE")
    number = reader.need("NUMBER")
    percent = reader.next("PERCENT")
    if percent is not None:
        reader.end()
    value = float(_bounded(number))  # finite: a bounded number has at most a two-digit exponent
    if percent is not None:
        value /= 100.0
    return Criterion(name.text, op.text, value, name.pos, number.text.lstrip("+"), percent is not None)  # type: ignore[arg-type]


# ------------------------------------------------------------------- search spaces

DISTRIBUTIONS = ("int", "logint", "uniform", "loguniform", "choice")
Scalar = int | float | str | bool | None
_WORDS: dict[str, Scalar] = {"true": True, "false": False, "null": None}


def _number_text(x: float) -> str:
    """``repr(x)``, or where that has more digits or a longer exponent than NUMBER allows (``1e+16``,
    ``1000000000000000.0``), the same digits with the point moved: text that reads back as ``x``."""
    text = repr(x)
    if _re(NUMBER).fullmatch(text):
        return text
    mantissa, _, exponent = text.partition("e")
    sign = "-" if mantissa.startswith("-") else ""
    whole, _, fraction = mantissa.lstrip("-").partition(".")
    digits = (whole + fraction).lstrip("0")
    kept = digits.rstrip("0")
    scale = int(exponent or 0) - len(fraction) + len(digits) - len(kept)  # x = sign kept * 10**scale
    candidates = []
    for t in range(-99, 100):  # x = sign (kept * 10**(scale - t)) * 10**t, the mantissa written out
        shift = t - scale
        if shift <= 0:
            head, tail = kept + "0" * -shift, ""
        else:
            padded = kept.rjust(shift, "0")
            head, tail = padded[:len(padded) - shift], padded[len(padded) - shift:]
        candidate = f"{sign}{head}{'.' + tail if tail else ''}{f'e{t}' if t else ''}"
        if not tail and not t:
            candidate += ".0"  # still a float
        if _re(NUMBER).fullmatch(candidate):
            candidates.append((len(candidate), abs(t), candidate))
    return min(candidates)[2] if candidates else text  # none: beyond what NUMBER can write at all


@dataclass(frozen=True, slots=True)
class Distribution:
    kind: str
    args: tuple[Scalar, ...]

    def __str__(self) -> str:
        def fmt(a: Scalar) -> str:
            if isinstance(a, str):
                if _re(_NAME).fullmatch(a) and a not in _WORDS:
                    return a
                # as it was read: single quotes carry any text but a quote of their own, double ones keep escapes
                quoted = f'"{a}"'
                return quoted if _re(_STRING).fullmatch(quoted) or "'" in a else f"'{a}'"
            if a is None:
                return "null"
            if isinstance(a, bool):
                return "true" if a else "false"
            return _number_text(a) if isinstance(a, float) else str(a)

        return f"{self.kind}({', '.join(fmt(a) for a in self.args)})"

    @property
    def low(self) -> float:
        return float(self.args[0])  # type: ignore[arg-type]

    @property
    def high(self) -> float:
        return float(self.args[1])  # type: ignore[arg-type]


def _arg(token: _Token) -> Scalar:
    if token.kind == "NUMBER":
        s = _bounded(token)
        return float(s) if any(c in s for c in ".eE") else int(s)
    if token.kind == "STRING":
        return token.text[1:-1]
    return _WORDS.get(token.text, token.text)


def parse_distribution(text: str, suggest: Suggest | None = None) -> Distribution:
    """``suggest`` words the hint for an unknown distribution (a spelling suggestion); without one, or when it
    has none, the hint lists the distributions."""
    reader = _Reader(text, "search space", "int(2, 32)")
    name = reader.need("NAME")
    reader.need("LPAR")
    tokens: list[_Token] = []
    token = reader.need("NUMBER", "NAME", "STRING", "RPAR")
    while token.kind != "RPAR":
        tokens.append(token)
        if reader.need("COMMA", "RPAR").kind == "COMMA":
            token = reader.need("NUMBER", "NAME", "STRING")
        else:
            break
    reader.end()
    kind = name.text
    if kind not in DISTRIBUTIONS:
        raise ExpressionError(
            f"unknown distribution '{kind}'", name.pos, len(kind),
            (suggest and suggest(kind, DISTRIBUTIONS)) or f"use one of: {', '.join(DISTRIBUTIONS)}",
        )
    parsed = [(_arg(t), t.pos) for t in tokens]
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


# ------------------------------------------------------------------- durations, sizes


@dataclass(frozen=True, slots=True)
class Duration:
    text: str
    seconds: float  # the written duration, exactly as far as a float can hold it (``1.1h`` is 3960.0)

    def __str__(self) -> str:
        return self.text

    @property
    def milliseconds(self) -> float:
        """As exact as ``seconds``, which ``seconds * 1000`` is not (``9ms`` would be 9.000000000000002)."""
        numerator, denominator = _milliseconds(self.text)
        return numerator / denominator


@dataclass(frozen=True, slots=True)
class Size:
    text: str
    bytes: int

    def __str__(self) -> str:
        return self.text


_DURATION_PART = rf"([0-9]+)(?:\.([0-9]+))?({'|'.join(_DURATION_MS)})"
_SIZE_PARTS = r"([0-9]+)(?:\.([0-9]+))? ?([A-Za-z]+)"


def _one_token(pattern: str, value: str) -> str | None:
    """The token ``value`` is made of (after the spaces and tabs around it are removed), or None."""
    m = _re(pattern).match(value)
    return m.group() if m is not None and not value[m.end():].strip(" \t") else None


def _milliseconds(text: str) -> tuple[int, int]:
    """The duration ``text`` in milliseconds as an exact fraction: numerator, denominator (a power of ten)."""
    parts = _re(_DURATION_PART).findall(text)
    scale = max((len(fraction) for _, fraction, _ in parts), default=0)
    return sum(int(whole + fraction) * 10 ** (scale - len(fraction)) * _DURATION_MS[unit]
               for whole, fraction, unit in parts), 10**scale


def parse_duration(text: str) -> Duration:
    # spaces and tabs around the value are allowed (as around any expression), other whitespace is not
    value = text.strip(" \t")
    tok = _one_token(_TOKENS["DURATION"], value)
    if tok is None:
        raise ExpressionError(f"invalid duration '{text}'", 0, max(len(text), 1),
                              "a number and a unit: ms, s, m, h or d, e.g. 10m or 1h30m")
    if not _re(_DURATION_BODY).fullmatch(tok):
        raise ExpressionError(f"duration '{text}' has a number with too many digits", 0, len(text),
                              "at most 15 digits before and after the point")
    # exact arithmetic, one rounding at the end: '1.1h' is 3960 seconds, not 3960.0000000000005
    numerator, denominator = _milliseconds(tok)
    if numerator <= 0:
        raise ExpressionError(f"duration '{text}' must be positive", 0, len(text))
    return Duration(value, numerator / (denominator * 1000))


def parse_size(text: str) -> Size:
    value = text.strip(" \t")
    tok = _one_token(_TOKENS["SIZE"], value)
    if tok is None:
        raise ExpressionError(f"invalid size '{text}'", 0, max(len(text), 1),
                              "a number and a unit: B, KB, MB, GB, TB, KiB, MiB, GiB or TiB, e.g. 2GiB")
    if not _re(_SIZE_BODY).fullmatch(tok):
        raise ExpressionError(f"size '{text}' has a number with too many digits", 0, len(text),
                              "at most 15 digits before and after the point")
    m = _re(_SIZE_PARTS).fullmatch(tok)
    assert m is not None
    whole, fraction, unit = m.group(1), m.group(2) or "", m.group(3)
    # exact arithmetic, rounded up to whole bytes: '0.1KB' is 100 bytes and any non-zero size is at least 1
    n = -(-int(whole + fraction) * _SIZE_UNITS[unit] // 10 ** len(fraction))
    if n <= 0:
        raise ExpressionError(f"size '{text}' must be positive", 0, len(text))
    return Size(value, n)


# ------------------------------------------------------------------- environment references

_TEMPLATE = r"\$\{([^}]*)\}|\$\{"
_ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


@dataclass(frozen=True, slots=True)
class EnvTemplate:
    """A string that may hold ``${NAME}`` references, filled from the environment at run time."""

    text: str
    variables: tuple[str, ...]

    def __str__(self) -> str:
        return self.text


def parse_template(text: str) -> EnvTemplate:
    names: list[str] = []
    for m in _re(_TEMPLATE).finditer(text):
        if m.group(1) is None:
            raise ExpressionError("unclosed '${' in environment reference", m.start(), 2, "write ${NAME}")
        name = m.group(1)
        if not _re(_ENV_NAME).fullmatch(name):
            raise ExpressionError(f"invalid environment variable name '{name}'", m.start() + 2, max(len(name), 1),
                                  "names are letters, digits and '_' and do not start with a digit")
        names.append(name)
    return EnvTemplate(text, tuple(names))
