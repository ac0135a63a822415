"""Spec format migrations: older ``aispec: N`` specs are upgraded to the current format.

Each entry upgrades a RawSpec from version N to N+1 (plain data in, plain data
out) so that old specs keep working; ``aispec fmt`` writes the upgraded form.
Version 1 is the first format, so the table is empty today; the mechanism is
exercised by the tests with a synthetic step.
"""

from __future__ import annotations

from collections.abc import Callable

from aispec.schemas.spec import SPEC_VERSION

from .codes import make
from .diagnostics import Diagnostic
from .raw import RawSpec
from .source import LocationMap

Migration = Callable[[RawSpec], RawSpec]

MIGRATIONS: dict[int, Migration] = {}


def migrate(raw: RawSpec, locations: LocationMap, file: str,
            table: dict[int, Migration] | None = None) -> tuple[RawSpec, tuple[Diagnostic, ...]]:
    """Upgrade ``raw`` step by step to SPEC_VERSION; warn that the file uses an old format."""
    steps = MIGRATIONS if table is None else table
    version = raw.get("aispec")
    if not isinstance(version, int) or isinstance(version, bool) or version >= SPEC_VERSION or version not in steps:
        return raw, ()  # current, newer or unknown: validation reports what is wrong
    start = version
    while isinstance(version, int) and version < SPEC_VERSION and version in steps:
        raw = steps[version](dict(raw))
        version = raw.get("aispec")
    warn = make("AIS208", f"spec uses format version {start}; it was upgraded to version {version} in memory",
                span=locations.value_span(("aispec",)), loc=("aispec",), file=file,
                hint="run `aispec fmt --write` to save it in the current format")
    return raw, (warn,)
