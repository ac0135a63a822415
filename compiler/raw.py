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
from .source import Loc, LocationMap, SourceFile

RawSpec = dict[str, Any]

# How deep mappings and lists may nest, in both syntaxes (AIS109). Real specs nest fewer than 10
# levels; the limit keeps every recursive walk over the data (validation, printers, fmt, convert,
# show) far from Python's recursion limit, and it is the same for YAML and the DSL so that a spec
# accepted in one syntax converts to the other.
MAX_DEPTH = 64


@dataclass(frozen=True)
class ParseResult:
    source: SourceFile
    raw: RawSpec | None
    locations: LocationMap = field(default_factory=LocationMap)
    diagnostics: tuple[Diagnostic, ...] = ()


@dataclass(slots=True)
class NodeComments:
    """Comments attached to one item (a mapping entry or a list element) or container.

    ``leading``: full-line comments just before the item; ``trailing``: the
    comment at the end of the item's first line; ``closing``: comments after
    the last item inside a block or list (for the root: the end of the file), or the lines
    indented under a YAML item after its value. Both syntaxes use ``#`` comments, so ``fmt`` and
    ``convert`` keep them. ``style``: how a YAML source wrote the value, which ``fmt`` keeps:
    ``"|"`` or ``">"`` (a literal or folded block scalar), ``"block"`` or ``"flow"`` (a collection).
    """

    leading: list[str] = field(default_factory=list)
    trailing: str | None = None
    closing: list[str] = field(default_factory=list)
    style: str | None = None


Comments = dict[Loc, NodeComments]
