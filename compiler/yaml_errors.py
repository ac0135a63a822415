"""YAML syntax errors in plain words, aimed at the line where the mistake is.

PyYAML reports what its parser expected (``expected <block end>, but found
'<block mapping start>'``) at the place where it gave up, which is often the
line after the mistake. This module re-reads the situation (the marks, the
scanner's last token, the indentation of the lines above) and says what a
person would: which key is misaligned and where it could go, which line lacks
its ``:``, which quote or bracket is never closed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from .codes import make
from .diagnostics import Diagnostic
from .source import SourceFile, Span

_NO_SPACE_AFTER_COLON = re.compile(r"^\s*(- )?[A-Za-z_][\w.-]*:[^\s:/]")
_FOUND = re.compile(r"expected <block end>, but found '(.*)'")
_NESTING = "exceeded maximum nesting depth"

_TOO_DEEP = "nesting too deep: mappings and lists may nest at most {depth} levels"


@dataclass(frozen=True, slots=True)
class _Error:
    """The parts of a ``yaml.MarkedYAMLError`` this module reads."""

    problem: str
    context: str
    problem_mark: Any
    context_mark: Any


def too_deep(source: SourceFile, span: Span | None, depth: int) -> Diagnostic:
    return make("AIS109", _TOO_DEEP.format(depth=depth), span=span, file=source.path,
                hint="flatten the data: real specs nest fewer than 10 levels")


def syntax_error(source: SourceFile, exc: yaml.YAMLError, py_loader: type, depth: int) -> Diagnostic:
    """A YAML syntax error as a diagnostic; ``exc`` is libyaml's, ``py_loader`` words it better."""
    if _NESTING in str(exc):  # libyaml's own guard (1000 levels); the Python parser would recurse
        mark = getattr(exc, "problem_mark", None)
        return too_deep(source, _mark_span(mark) if mark is not None else None, depth)
    py_exc, last_token = _python_error(source.text, exc, py_loader)
    err = _Error(str(getattr(py_exc, "problem", None) or py_exc), str(getattr(py_exc, "context", None) or ""),
                 getattr(py_exc, "problem_mark", None), getattr(py_exc, "context_mark", None))
    lines = source.text.splitlines()
    for reword in _REWORDINGS:
        found = reword(err, lines, last_token)
        if found is not None:
            message, span, hint = found
            return make("AIS101", message, span=span, hint=hint, file=source.path)
    mark = err.problem_mark or err.context_mark
    message = f"{err.problem} ({err.context})" if err.context else err.problem
    return make("AIS101", message, span=_mark_span(mark) if mark is not None else None, file=source.path)


_PY_MAX_FLOW_DEPTH = 100  # the pure-Python scanner is quadratic in flow depth (a scan per open bracket)


def _python_error(text: str, exc: yaml.YAMLError, py_loader: type) -> tuple[yaml.YAMLError, Any]:
    """The pure-Python parser's account of the error (libyaml's is terser) and the last token it scanned.

    It reads only up to a couple of lines past libyaml's error (what comes after cannot change the
    error, and the pure-Python parser is slow), and not at all through deep brackets.
    """
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        cut = mark.index
        for _ in range(3):
            nl = text.find("\n", cut)
            cut = len(text) if nl < 0 else nl + 1
        text = text[:cut]
    if _flow_depth(text) > _PY_MAX_FLOW_DEPTH:
        return exc, None
    last: list[Any] = [None]
    try:
        loader = py_loader(text)
        try:
            scanner_error: yaml.YAMLError | None = None
            try:
                while loader.check_token():
                    last[0] = loader.get_token()
            except yaml.YAMLError as scan_exc:
                scanner_error = scan_exc
        finally:
            loader.dispose()
        if scanner_error is not None:
            return scanner_error, last[0]
        list(yaml.compose_all(text, Loader=py_loader))
    except yaml.YAMLError as py_exc:
        return py_exc, last[0]
    except RecursionError:  # deep but under libyaml's limit: its terser message will do
        return exc, None
    return exc, last[0]


def _flow_depth(text: str) -> int:
    """How deep brackets nest, roughly (quotes ignored): enough to tell a spec from a bracket bomb."""
    depth = deepest = 0
    for c in text:
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}" and depth:
            depth -= 1
    return deepest


def _mark_span(mark: Any) -> Span:
    return Span.point(mark.line + 1, mark.column + 1, mark.index)


def _line_span(lines: list[str], number: int) -> Span:
    """The content of line ``number`` (0-based), from its first non-blank character."""
    line = lines[number] if 0 <= number < len(lines) else ""
    start = len(line) - len(line.lstrip(" "))
    return Span(number + 1, start + 1, number + 1, max(start + 2, len(line.rstrip()) + 1))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _name(line: str) -> str:
    """How a line is named in a message: a key by its name, a list item as written."""
    text = line.strip()
    if not text.startswith("- ") and ":" in text:
        text = text.split(":", 1)[0]
    return text if len(text) <= 30 else text[:27] + "..."


def _spaces(n: int) -> str:
    return f"{n} space{'s' if n != 1 else ''}"


Reworded = tuple[str, Span | None, str | None]


def _unclosed_quote(err: _Error, lines: list[str], last: Any) -> Reworded | None:
    if err.context != "while scanning a quoted scalar" or not _late(err):
        return None
    return ("this quoted text is never closed", _mark_span(err.context_mark),
            "add the closing quote; a quote inside the text is doubled ('') or escaped (\\\")")


def _unclosed_bracket(err: _Error, lines: list[str], last: Any) -> Reworded | None:
    if err.context not in ("while parsing a flow sequence", "while parsing a flow mapping") or not _late(err):
        return None
    opener, closer = ("[", "]") if "sequence" in err.context else ("{", "}")
    what = "list" if opener == "[" else "mapping"
    return (f"this '{opener}' is never closed", _mark_span(err.context_mark),
            f"add '{closer}' at the end of the {what}, and separate items with ', '")


def _late(err: _Error) -> bool:
    return err.problem_mark is not None and err.context_mark is not None and \
        err.problem_mark.line != err.context_mark.line


def _tab(err: _Error, lines: list[str], last: Any) -> Reworded | None:
    if "'\\t'" not in err.problem or err.problem_mark is None:
        return None
    mark = err.problem_mark
    line = lines[mark.line] if mark.line < len(lines) else ""
    if not line[: mark.column].strip():
        return "a tab is used for indentation", _mark_span(mark), "YAML does not allow tabs for indentation; use spaces"
    return "a tab cannot appear here", _mark_span(mark), "use spaces"


def _missing_space(err: _Error, lines: list[str], last: Any) -> Reworded | None:
    """`key:value` written without a space, on the line of the error or the one above."""
    if "could not find expected ':'" not in err.problem and "mapping values are not allowed" not in err.problem:
        return None
    marks = [m for m in (err.context_mark, err.problem_mark) if m is not None]
    for number in sorted({n for m in marks for n in (m.line, m.line - 1)}, reverse=True):
        if 0 <= number < len(lines) and _NO_SPACE_AFTER_COLON.match(lines[number]):
            line = lines[number]
            colon = line.index(":")
            return ("a key needs a space after ':'", Span.point(number + 1, colon + 1),
                    f"write '{line[:colon + 1].strip()} {line[colon + 1:].strip()}'")
    return None


def _key_without_colon(err: _Error, lines: list[str], last: Any) -> Reworded | None:
    """A line that should be a key but has no ':' (PyYAML notices only on a later line)."""
    if "could not find expected ':'" in err.problem and err.context == "while scanning a simple key":
        number = err.context_mark.line
    elif "mapping values are not allowed" in err.problem and _plain_from_line_start(last, lines, err):
        number = last.start_mark.line
    else:
        return None
    text = lines[number].strip() if number < len(lines) else ""
    shown = text if len(text) <= 40 else text[:37] + "..."
    word, _, rest = text.partition(" ")
    example = f"{word}: {rest.strip()}" if rest.strip() else f"{word}: <value>"
    return (f"'{shown}' has no ':', so YAML cannot read it as 'key: value'",
            _line_span(lines, number),
            f"write '{example if len(example) <= 50 else word + ': ...'}'; if the line continues the text of the "
            "line above, indent it further than that line's key")


def _plain_from_line_start(last: Any, lines: list[str], err: _Error) -> bool:
    """The scanner's last token is unquoted text that began at the start of an earlier line."""
    if not isinstance(last, yaml.ScalarToken) or not last.plain or err.problem_mark is None:
        return False
    start = last.start_mark
    if start.line >= err.problem_mark.line or start.line >= len(lines):
        return False
    before = lines[start.line][: start.column].strip()
    return before in ("", "-")


def _over_indented_key(err: _Error, lines: list[str], last: Any) -> Reworded | None:
    """`key: value` indented further than the key above: YAML reads it as more text of that value."""
    if "mapping values are not allowed" not in err.problem or err.problem_mark is None:
        return None
    mark = err.problem_mark
    if not isinstance(last, yaml.ScalarToken) or not last.plain or last.start_mark.line >= mark.line:
        return None
    above = lines[last.start_mark.line] if last.start_mark.line < len(lines) else ""
    here = lines[mark.line] if mark.line < len(lines) else ""
    key, above_key = _name(here), _name(above)
    return (f"'{key}' is indented more than '{above_key}' (line {last.start_mark.line + 1}), so YAML reads it as "
            f"more text of that value", _line_span(lines, mark.line),
            f"line '{key}' up with '{above_key}' ({_spaces(_indent(above))}); if ': ' belongs to the text, "
            "quote the text")


def _colon_in_value(err: _Error, lines: list[str], last: Any) -> Reworded | None:
    if "mapping values are not allowed" not in err.problem or err.problem_mark is None:
        return None
    mark = err.problem_mark
    line = lines[mark.line] if mark.line < len(lines) else ""
    key, sep, value = line.partition(": ")
    hint = "quote a value that contains ': '"
    if sep and value.strip() and len(line) <= 80 and '"' not in value:
        hint = f"quote the value: {key.strip()}: \"{value.strip()}\""
    return "this value contains ': ', which YAML reads as the start of another key", _mark_span(mark), \
        hint + "; or check the indentation of this line"


def _misaligned(err: _Error, lines: list[str], last: Any) -> Reworded | None:
    """A key or list item whose indentation matches no level above it."""
    found = _FOUND.match(err.problem)
    if found is None or err.problem_mark is None:
        return None
    mark = err.problem_mark
    number = mark.line
    here = lines[number] if number < len(lines) else ""
    token = found.group(1)
    if token == "-" and "mapping" in err.context:
        return (f"a list item ('{_name(here)}') cannot stand among the keys of a mapping", _line_span(lines, number),
                "give it a key: indent it under a line such as 'reported:', or write it as 'key: value'")
    if token == "?" and "collection" in err.context:
        return (f"the key '{_name(here)}' cannot follow the items of a list at the same indentation",
                _line_span(lines, number),
                "indent it less, to line up with the key that holds the list, or make it an item ('- ...')")
    what = {"<block mapping start>": "key", "<block sequence start>": "list item"}.get(token)
    if what is None:
        return (f"'{_name(here)}' does not line up with the lines above it", _line_span(lines, number),
                "keys of one mapping line up in the same column; check the indentation here and above")
    n = _indent(here)
    inner = _nearest_above(lines, number, lambda i: i > n)
    outer = _nearest_above(lines, number, lambda i: i < n)
    options = [f"{_spaces(_indent(lines[k]))} to line it up with '{_name(lines[k])}' (line {k + 1})"
               for k in (inner, outer) if k is not None]
    hint = "indent it " + " or ".join(options) if options else None
    return (f"the {what} '{_name(here)}' is indented {_spaces(n)}, which lines up with no "
            f"{'key' if what == 'key' else 'list'} above it", _line_span(lines, number), hint)


def _nearest_above(lines: list[str], number: int, fits: Callable[[int], bool]) -> int | None:
    for k in range(min(number, len(lines)) - 1, -1, -1):
        if _content(lines[k]) and fits(_indent(lines[k])):
            return k
    return None


def _simple_hints(err: _Error, lines: list[str], last: Any) -> Reworded | None:
    mark = err.problem_mark or err.context_mark
    if mark is None:
        return None
    if "could not find expected ':'" in err.problem:
        return "a key needs ': ' after it", _mark_span(mark), "check the indentation of the line above"
    return None


# Tried in order; the first that recognises the error words it.
_REWORDINGS: tuple[Callable[[_Error, list[str], Any], Reworded | None], ...] = (
    _unclosed_quote, _unclosed_bracket, _tab, _missing_space, _key_without_colon, _over_indented_key,
    _colon_in_value, _misaligned, _simple_hints,
)
