"""``fmt`` and ``convert``: a spec's raw data printed canonically in either syntax, comments kept."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .api import parse
from .codes import make
from .diagnostics import Diagnostic, has_errors
from .raw import Comments, ParseResult
from .source import Loc, SourceFile


@dataclass(frozen=True)
class FormatResult:
    text: str | None
    diagnostics: tuple[Diagnostic, ...]


def parse_with_comments(source: SourceFile) -> tuple[ParseResult, Comments]:
    if source.syntax == "dsl":
        from .dsl import parse_dsl_with_comments

        return parse_dsl_with_comments(source)
    from .yaml_front import parse_yaml
    from .yaml_printer import yaml_comments

    parsed = parse_yaml(source)
    return parsed, (yaml_comments(source, parsed.locations) if parsed.raw is not None else {})


def format_source(source: SourceFile, syntax: str | None = None) -> FormatResult:
    """Print ``source`` canonically in ``syntax`` ("yaml" or "dsl"; default: its own).

    Only syntax errors stop formatting: a spec with semantic mistakes can still be
    formatted (and converted) so a user can tidy it while fixing it.
    """
    parsed, comments = parse_with_comments(source)
    if parsed.raw is None or has_errors(parsed.diagnostics):
        return FormatResult(None, tuple(parsed.diagnostics))
    target = syntax or source.syntax
    if target == "dsl":
        from .dsl_printer import print_dsl

        unwritable = _non_finite(parsed.raw, ())
        if unwritable is not None:
            return FormatResult(None, (make(
                "AIS108", "this value (infinity or not-a-number) has no spelling in the aispec language",
                span=parsed.locations.value_span(unwritable), loc=unwritable, file=source.path,
                hint="use a finite number, or keep this spec in YAML"),))
        return FormatResult(print_dsl(parsed.raw, comments), tuple(parsed.diagnostics))
    from .yaml_printer import print_yaml

    return FormatResult(print_yaml(parsed.raw, comments), tuple(parsed.diagnostics))


def _non_finite(value: Any, loc: Loc) -> Loc | None:
    """Where the first inf/nan float sits (YAML has .inf and .nan; the DSL has no such literal)."""
    if isinstance(value, float) and not math.isfinite(value):
        return loc
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        found = _non_finite(child, (*loc, key))
        if found is not None:
            return found
    return None


def reparse_equal(original: SourceFile, text: str, syntax: str) -> bool:
    """Whether ``text`` (in ``syntax``) holds exactly the data of ``original``: the lossless guarantee."""
    suffix = ".aispec" if syntax == "dsl" else ".yaml"
    return parse(SourceFile("converted" + suffix, text)).raw == parse(original).raw
