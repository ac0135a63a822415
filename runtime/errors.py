"""Errors a user can cause: bad data, settings the runtime cannot honour, failed exports.

Every one carries a ``message``, the spec location that declared the offending thing (``where``,
e.g. ``spec.yaml:12:5``), an optional ``hint`` and, where the compiler has a diagnostic for the same
mistake, its ``code`` (``AIS104``: an expression that does not parse); ``str(error)`` renders
``where: message (hint: ...)``, or with a code as the compiler does: ``where: error[AIS104]: message (hint: ...)``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

__all__ = ["AispecRuntimeError", "ConfigError", "DataError", "DistributedError", "ExportError", "where"]


class AispecRuntimeError(Exception):
    """Base class of every error the runtime raises for bad input."""

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint
        self.code = code

    def __str__(self) -> str:
        text = f"error[{self.code}]: {self.message}" if self.code else self.message
        if self.where:
            text = f"{self.where}: {text}"
        if self.hint:
            text = f"{text} (hint: {self.hint})"
        return text

    def __repr__(self) -> str:
        code = f", code={self.code!r}" if self.code else ""
        return f"{type(self).__name__}({self.message!r}, where={self.where!r}, hint={self.hint!r}{code})"


class DataError(AispecRuntimeError):
    """Loading or validating data failed."""


class ConfigError(AispecRuntimeError):
    """A setting the runtime cannot honour (e.g. smote without imbalanced-learn)."""


class DistributedError(AispecRuntimeError):
    """The cluster could not run the work: it could not be reached, or lost workers beyond the retries."""


class ExportError(AispecRuntimeError):
    """ONNX conversion or parity failed."""


SPEC_PATH_ENV = "AISPEC_SPEC_PATH"


def where(locations: Mapping[str, str], path: str) -> str | None:
    """The most specific known location for the dotted spec ``path``.

    Tries ``path`` itself, then each shorter dotted prefix (``data.columns.age`` ->
    ``data.columns`` -> ``data``); None when nothing matches. Locations name the project's copy of
    the spec (``spec.yaml:12:5``): artefacts keep that; :func:`for_user` rewrites it for display.
    """
    parts = path.split(".")
    while parts:
        key = ".".join(parts)
        if key in locations:
            return locations[key]
        parts.pop()
    return None


_LOCATION = re.compile(r"(?<![\w/.-])spec\.(?:yaml|aispec):(?=\d+:\d+)")


def for_user(text: str) -> str:
    """``text`` with the project's ``spec.yaml:12:5`` locations pointing at the file the user wrote,
    when ``aispec run`` says which (``AISPEC_SPEC_PATH``; the project's copy is the same text)."""
    user = os.environ.get(SPEC_PATH_ENV)
    return _LOCATION.sub(lambda _: f"{user}:", text) if user else text
