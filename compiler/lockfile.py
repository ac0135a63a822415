"""The versions CI installs and tests with: ``compiler/lock/ci.lock``, read as package data.

The lock is ``uv pip compile`` output (its first lines say the command). CI installs with it as
constraints (``pip install -c compiler/lock/ci.lock '.[dev]'``) and ``aispec build`` pins generated
projects from it, so a generated ``requirements.txt`` names exactly the versions the tests ran with.
It ships inside the wheel (``aispec.compiler`` package data) because the built wheel, not the source
tree, is what CI and users run.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

LOCK = "lock/ci.lock"
_LINE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


def normalize(name: str) -> str:
    """PEP 503: `SQLAlchemy`, `sqlalchemy` and `Sql_Alchemy` are one project; extras dropped."""
    return re.sub(r"[-_.]+", "-", name.split("[", 1)[0]).lower()


def parse_lock(text: str) -> dict[str, str]:
    """``name==version`` lines (comments, options and blank lines skipped) → {normalized name: version}."""
    pins: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            pins[normalize(match.group(1))] = match.group(2)
    return pins


@cache
def locked() -> dict[str, str]:
    text = resources.files("aispec.compiler").joinpath(LOCK).read_text(encoding="utf-8")
    return parse_lock(text)


def locked_version(requirement: str) -> str:
    """The locked version of ``requirement`` (a project name, extras allowed: ``psycopg[binary]``)."""
    try:
        return locked()[normalize(requirement)]
    except KeyError:
        raise KeyError(f"{requirement} is not in {LOCK}: add it to pyproject.toml's extras and re-lock") from None
