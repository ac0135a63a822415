"""Python literals for generated code: the only way spec values enter generated Python.

Values are plain data (str, int, float, bool, None, list, dict) printed with
``repr``-exact semantics, in the layout ``ruff format`` produces (double quotes,
one item per line with a trailing comma when a collection does not fit), so a
spec string can never become code and the generated files are already formatted.
"""

from __future__ import annotations

import math
import re
from typing import Any

LINE_WIDTH = 88
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEYWORDS = frozenset({
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "match", "case", "type",
})


def py_str(text: str) -> str:
    """A string literal as ruff format writes it: double quotes unless the text holds a double quote."""
    literal = repr(text)
    if literal.startswith("'") and '"' not in text:
        literal = '"' + literal[1:-1].replace("\\'", "'") + '"'
    return literal


def py_scalar(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else '-float("inf")'
        return repr(value)
    if isinstance(value, str):
        return py_str(value)
    raise TypeError(f"not plain data: {type(value).__name__}")  # a compiler bug, never user input


def py_literal(value: Any, indent: int = 0, prefix_width: int = 0) -> str:
    """``value`` as a Python expression; ``indent`` is the current indentation, ``prefix_width``
    the characters already on the first line (e.g. ``NAME = ``)."""
    flat = _flat(value)
    if indent + prefix_width + len(flat) <= LINE_WIDTH or not isinstance(value, dict | list | tuple):
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        items = [f"{pad}{py_scalar(k)}: {py_literal(v, indent + 4, len(py_scalar(k)) + 2)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
    open_, close = ("[", "]") if isinstance(value, list) else ("(", ")")
    items = [f"{pad}{py_literal(v, indent + 4)}," for v in value]
    return open_ + "\n" + "\n".join(items) + "\n" + " " * indent + close


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_scalar(k)}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_flat(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return py_scalar(value)


def identifier(name: str) -> str:
    """A validated Python identifier (module or package name); anything else is a compiler bug."""
    if not _IDENTIFIER.match(name) or name in _KEYWORDS:
        raise ValueError(f"not a safe identifier: {name!r}")
    return name


def package_name(project: str) -> str:
    """The import name of a generated project: `penguin-species` → `penguin_species`."""
    name = re.sub(r"[^a-z0-9_]", "_", project.lower())
    if not name or name[0].isdigit():
        name = f"project_{name}"
    if name in _KEYWORDS:
        name = f"{name}_project"
    return identifier(name)
