r"""Annotated field types for values written as expressions inside strings.

Each parses its string with the shared expression parser (schemas/expressions.py)
and stores a typed value object; it serialises back to canonical text and shows
as a string in the JSON Schema, with a ``pattern`` that accepts exactly the
strings the parser accepts (the patterns live beside the parsers;
tests/test_schema_agreement.py holds the two to the same verdicts).  A parse
failure becomes a pydantic error of type ``expression`` whose context carries
the character offset, so the diagnostic points inside the string.

Patterns here are written for three regex engines at once: Python's ``re``
(pydantic, with ``regex_engine="python-re"``, and the jsonschema package),
and ECMA-262 (editors): explicit ``[0-9]`` classes, never ``\d``/``\s``/``\w``
(Unicode-aware in Python), and ``anchored()``'s ``$(?!\n)`` end.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator, Field, PlainSerializer, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from aispec.compiler.diagnostics import did_you_mean

from .expressions import (
    CRITERION_PATTERN,
    DISTRIBUTION_PATTERN,
    DURATION_PATTERN,
    SIZE_PATTERN,
    TEMPLATE_PATTERN,
    Criterion,
    Distribution,
    Duration,
    EnvTemplate,
    ExpressionError,
    Size,
    parse_criterion,
    parse_distribution,
    parse_duration,
    parse_size,
    parse_template,
)
from .expressions import anchored as anchored
from .vocabulary import FAMILIES

V = TypeVar("V")


def _parsing(parse: Callable[[str], V], cls: type, what: str, allow_number: bool = False) -> Callable[[Any], Any]:
    def validate(value: Any) -> Any:
        if isinstance(value, cls):
            return value
        if allow_number and isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise PydanticCustomError("expression_type", "expected {what} as text, got {got}",
                                      {"what": what, "got": type(value).__name__})
        try:
            return parse(value)
        except ExpressionError as exc:
            raise PydanticCustomError(
                "expression", "{message}",
                {"message": exc.message, "offset": exc.offset, "length": exc.length, "hint": exc.hint or ""},
            ) from None

    return validate


def _expr(parse: Callable[[str], V], cls: type, what: str, description: str, pattern: str | None = None,
          allow_number: bool = False) -> Any:
    schema: dict[str, Any] = {"type": "string", "description": description}
    if pattern:
        schema["pattern"] = pattern
    return Annotated[
        cls,
        BeforeValidator(_parsing(parse, cls, what, allow_number)),
        PlainSerializer(str, return_type=str),
        WithJsonSchema(schema),
    ]


CriterionExpr = _expr(parse_criterion, Criterion, "an acceptance criterion",
                      "A metric compared to a threshold, e.g. `f1_macro >= 0.9` or `p95_latency_ms <= 50`.",
                      CRITERION_PATTERN)
DistributionExpr = _expr(partial(parse_distribution, suggest=did_you_mean), Distribution, "a search space",
                         "A search space: `int(lo, hi)`, `logint(lo, hi)`, `uniform(lo, hi)`, "
                         "`loguniform(lo, hi)` or `choice(a, b, ...)`.", DISTRIBUTION_PATTERN)
DurationExpr = _expr(parse_duration, Duration, "a duration",
                     "A duration: a number and a unit (ms, s, m, h, d), e.g. `10m`, `1h30m`.", DURATION_PATTERN)
SizeExpr = _expr(parse_size, Size, "a size",
                 "A size: a number and a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. `2GiB`.", SIZE_PATTERN)
TemplateStr = _expr(parse_template, EnvTemplate, "text",
                    "Text that may reference environment variables as `${NAME}`, filled in at run time.",
                    TEMPLATE_PATTERN)

_IDENTIFIER = anchored(r"[A-Za-z_][A-Za-z0-9_]*")
Slug = Annotated[str, StringConstraints(pattern=anchored(r"[a-z][a-z0-9_-]{0,62}"))]
Identifier = Annotated[str, StringConstraints(pattern=_IDENTIFIER)]
ColumnName = Annotated[str, StringConstraints(min_length=1, max_length=256)]
EnvVarName = Annotated[str, StringConstraints(pattern=_IDENTIFIER)]


def _whole_number(value: Any) -> Any:
    # JSON, and so JSON Schema's "integer", does not tell 30 from 30.0: a whole-number float is that integer.
    return int(value) if isinstance(value, float) and value.is_integer() else value


WHOLE = BeforeValidator(_whole_number)
"""Put last in ``Annotated[int, Field(...), WHOLE]``: an int field that takes 30.0 as 30 (and still refuses 30.5)."""
WholeNumber = Annotated[int, WHOLE]
Label = str | WholeNumber | bool

FamilyName = Annotated[str, Field(json_schema_extra={"enum": list(FAMILIES)})]
"""A model family: any text to pydantic (an unknown one is AIS340, with a suggestion), an enum in the schema."""


def _identifier_keys(value_schema: dict[str, Any]) -> dict[str, Any]:
    # `propertyNames`, not `patternProperties`: the latter lets any other key through (PITFALLS.md).
    return {"type": "object", "propertyNames": {"pattern": _IDENTIFIER}, "additionalProperties": value_schema}


Params = Annotated[dict[Identifier, Any], WithJsonSchema(_identifier_keys({}))]
"""Parameters of a model family by name: the values are the family's business (checked at run time)."""
SPACE_SCHEMA = WithJsonSchema(_identifier_keys(
    {"type": "string", "pattern": DISTRIBUTION_PATTERN, "description": "A search space, e.g. `int(2, 32)`."}))
"""For ``Annotated[dict[Identifier, DistributionExpr], SPACE_SCHEMA]``: search spaces by parameter name."""

