"""What a front end hands to validation: a plain-data spec plus where each part came from.

Both front ends (YAML and the aispec DSL) produce the same ``RawSpec`` shape, so
there is exactly one validator.  A RawSpec is JSON-like data: ``dict`` with
``str`` keys (insertion-ordered as written), ``list``, ``str``, ``int``,
``float``, ``bool`` and ``None``.  Expressions (``accuracy >= 0.9``,
``int(2, 32)``, ``10m``, ``2GiB``) are kept as strings and parsed later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Diagnostic
from .source import LocationMap, SourceFile

RawSpec = dict[str, Any]


@dataclass(frozen=True)
class ParseResult:
    source: SourceFile
    raw: RawSpec | None
    locations: LocationMap = field(default_factory=LocationMap)
    diagnostics: tuple[Diagnostic, ...] = ()
