"""Annotated field types for values written as expressions inside strings.

Each parses its string with the expression grammar and stores a typed value
object; it serialises back to canonical text and shows as a string in the
JSON Schema.  A parse failure becomes a pydantic error of type
``expression`` whose context carries the character offset, so the
diagnostic points inside the string.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator, PlainSerializer, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from aispec.compiler.expressions import (
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
                      r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*(>=|<=|==|!=|>|<)\s*[-+]?[0-9.eE+-]+\s*%?\s*$")
DistributionExpr = _expr(parse_distribution, Distribution, "a search space",
                         "A search space: `int(lo, hi)`, `logint(lo, hi)`, `uniform(lo, hi)`, "
                         "`loguniform(lo, hi)` or `choice(a, b, ...)`.")
DurationExpr = _expr(parse_duration, Duration, "a duration",
                     "A duration: a number and a unit (ms, s, m, h, d), e.g. `10m`, `1h30m`.",
                     r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$")
SizeExpr = _expr(parse_size, Size, "a size",
                 "A size: a number and a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. `2GiB`.",
                 r"^[0-9]+(\.[0-9]+)?\s?(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")
TemplateStr = _expr(parse_template, EnvTemplate, "text",
                    "Text that may reference environment variables as `${NAME}`, filled in at run time.")

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
ColumnName = Annotated[str, StringConstraints(min_length=1, max_length=256)]
EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Label = str | int | bool
