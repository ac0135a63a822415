"""Errors a user can cause: bad data, settings the runtime cannot honour, failed exports.

Every one carries a ``message``, the spec location that declared the offending thing (``where``,
e.g. ``spec.yaml:12:5``) and an optional ``hint``; ``str(error)`` renders
``where: message (hint: ...)``.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["AispecRuntimeError", "ConfigError", "DataError", "ExportError", "where"]


class AispecRuntimeError(Exception):
    """Base class of every error the runtime raises for bad input."""

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        text = self.message
        if self.where:
            text = f"{self.where}: {text}"
        if self.hint:
            text = f"{text} (hint: {self.hint})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, where={self.where!r}, hint={self.hint!r})"
        )


class DataError(AispecRuntimeError):
    """Loading or validating data failed."""


class ConfigError(AispecRuntimeError):
    """A setting the runtime cannot honour (e.g. smote without imbalanced-learn)."""


class ExportError(AispecRuntimeError):
    """ONNX conversion or parity failed."""


def where(locations: Mapping[str, str], path: str) -> str | None:
    """The most specific known location for the dotted spec ``path``.

    Tries ``path`` itself, then each shorter dotted prefix (``data.columns.age`` ->
    ``data.columns`` -> ``data``); None when nothing matches.
    """
    parts = path.split(".")
    while parts:
        key = ".".join(parts)
        if key in locations:
            return locations[key]
        parts.pop()
    return None
