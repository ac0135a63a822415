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
    if isinstance(exc, yaml.reader.ReaderError):
        return _reader_error(source, exc)
    py_exc, last_token = _python_error(source.text, exc, py_loader)
    if _line_of(py_exc) != _line_of(exc):  # the two parsers disagree (escapes, Unicode): libyaml decides
        py_exc, last_token = exc, None
    err = _Error(str(getattr(py_exc, "problem", None) or py_exc), str(getattr(py_exc, "context", None) or ""),
                 getattr(py_exc, "problem_mark", None), getattr(py_exc, "context_mark", None))
    if "found undefined alias" in err.problem:  # refused like every alias, defined or not
        name = err.problem.rsplit(" ", 1)[-1].strip("'")
        return make("AIS110", f"YAML alias '*{name}' is not supported (and no anchor '&{name}' defines it)",
                    span=_mark_span(err.problem_mark) if err.problem_mark is not None else None, file=source.path,
                    hint="write the value out here in full: a spec is plain data")
    lines = _YAML_BREAK.split(source.text)  # numbered as YAML numbers lines
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
    try:
        list(yaml.compose_all(text, Loader=py_loader))
    except yaml.scanner.ScannerError as py_exc:
        # The heuristics want the scanner's last token. Scanning alone reaches this same error: the
        # parser did not stop earlier (scanning alone can run past a parser error, hence this order).
        return py_exc, _last_token(text, py_loader)
    except yaml.YAMLError as py_exc:
        return py_exc, None
    except RecursionError:  # deep but under libyaml's limit: its terser message will do
        return exc, None
    return exc, None


def _last_token(text: str, py_loader: type) -> Any:
    loader = py_loader(text)
    last = None
    try:
        while loader.check_token():
            last = loader.get_token()
    except yaml.YAMLError:
        pass
    finally:
        loader.dispose()
    return last


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


def _line_of(exc: Any) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return None if mark is None else int(mark.line)


_YAML_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _reader_error(source: SourceFile, exc: yaml.reader.ReaderError) -> Diagnostic:
    """A character YAML does not allow anywhere in a file (NUL, ESC, DEL, ...): say which, and where."""
    position = int(exc.position)
    text = source.text
    breaks = list(_YAML_BREAK.finditer(text, 0, position))
    line_start = breaks[-1].end() if breaks else 0
    span = Span(len(breaks) + 1, position - line_start + 1, len(breaks) + 1, position - line_start + 2, position,
                position + 1)
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
    return make("AIS101", f"the control character U+{code:04X} is not allowed in a YAML file", span=span,
                hint="remove it; inside a double-quoted value it can be written as an escape such as \\t or "
                     "\\x1b", file=source.path)


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
        text = text.split(":", 1)[0].strip()
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":  # a quoted key: its name
            text = text[1:-1]
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
    word, _, rest = text.partition("=") if "=" in text else text.partition(" ")  # `range = [1, 2]`: DSL habit
    word = word.strip()
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
    before: str = lines[start.line][: int(start.column)].strip()
    return before == ""  # a list item's text ("- a b") is a value, not a key


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
    line = lines[mark.line] if mark.line < len(lines) else ""
    char = line[mark.column] if mark.column < len(line) else ""
    if "could not find expected ':'" in err.problem:
        return "a key needs ': ' after it", _mark_span(mark), "check the indentation of the line above"
    if "did not find expected key" in err.problem:
        return ("expected a key ('name: value') here", _mark_span(mark),
                "check the indentation of this line and of the line above")
    if "node content" in err.problem:
        shown = f"'{char}'" if char.strip() else "nothing"
        return (f"expected a value, found {shown}", _mark_span(mark),
                "quote a value that starts with '}', ']', ',' or another YAML indicator")
    if "expected '-' indicator" in err.problem:
        return ("expected a list item ('- ...') at this indentation", _mark_span(mark),
                "line the items of one list up in the same column")
    if "found unexpected ':'" in err.problem:
        return ("a ':' inside [...] or {...} must be followed by a space", _mark_span(mark),
                "quote the value, or add a space after ':' if it starts a 'key: value'")
    return None


def _bad_escape(err: _Error, lines: list[str], last: Any) -> Reworded | None:
    if "quoted scalar" not in err.context or err.problem_mark is None or ("escape" not in err.problem \
            and "hexdecimal" not in err.problem):
        return None
    return ("invalid escape in double-quoted text", _mark_span(err.problem_mark),
            "escapes are \\n \\t \\\" \\\\ \\xXX \\uXXXX ...; write a backslash as \\\\, or use single "
            "quotes, where a backslash is just a backslash")


def _block_scalar_header(err: _Error, lines: list[str], last: Any) -> Reworded | None:
    if err.context != "while scanning a block scalar" or err.problem_mark is None:
        return None
    return ("after '|' or '>' the text starts on the next line", _mark_span(err.problem_mark),
            "put the text on the lines below, indented; only '-', '+' or an indentation digit may follow '|' or "
            "'>' (and a comment)")


def _document_start(err: _Error, lines: list[str], last: Any) -> Reworded | None:
    if "<document start>" not in err.problem or err.problem_mark is None:
        return None
    return ("more content after the end of the YAML document", _line_span(lines, err.problem_mark.line),
            "a spec is one document: remove the '...' line or the '%' directive above, and write a top-level "
            "value as 'key: value' lines, not in brackets")


def _flow(err: _Error, lines: list[str], last: Any) -> Reworded | None:
    if "flow" not in err.context or err.problem_mark is None:
        return None
    mark = err.problem_mark
    line = lines[mark.line] if mark.line < len(lines) else ""
    found = line[mark.column] if mark.column < len(line) else "the end of the line"
    shown = f"'{found}'" if len(found) == 1 else found
    if "node content" in err.problem:
        return (f"expected a value in the brackets, found {shown}", _mark_span(mark),
                "remove the extra ',' (or put a value before it)")
    if "sequence" in err.context:
        return (f"expected ',' or ']' in this list, found {shown}", _mark_span(mark),
                "separate items with ', ' and close the list with ']'; quote an item that contains ': ' or ','")
    return (f"expected ',' or '}}' in this mapping, found {shown}", _mark_span(mark),
            "separate entries with ', ' and close the mapping with '}'; quote a value that contains ': ' or ','")


def _no_token(err: _Error, lines: list[str], last: Any) -> Reworded | None:
    if err.context in ("while scanning an alias", "while scanning an anchor") and err.context_mark is not None:
        char = "*" if "alias" in err.context else "&"
        return (f"a value cannot start with '{char}' in YAML (it marks an {err.context.rsplit(' ', 1)[-1]})",
                _mark_span(err.context_mark), f"quote the value: \"{char}...\"")
    found = re.match(r"found character '(.)' that cannot start any token", err.problem)
    if found is None or err.problem_mark is None:
        return None
    char = found.group(1)
    return (f"a value cannot start with '{char}' in YAML", _mark_span(err.problem_mark),
            f"quote the value: \"{char}...\"")


def _text_after_quote(err: _Error, lines: list[str], last: Any) -> Reworded | None:
    mark = err.problem_mark
    if mark is None or ("<scalar>" not in err.problem and "did not find expected key" not in err.problem):
        return None
    line = lines[mark.line] if mark.line < len(lines) else ""
    before = line[: mark.column].rstrip()
    if not before.endswith(("'", '"')):
        return None
    key, sep, value = line.partition(": ")
    hint = "put the whole value inside the quotes"
    if sep and len(line) <= 80:
        inner = value.strip().replace(before[-1], "")
        hint += f": {key.strip()}: {before[-1]}{inner}{before[-1]}"
    return "text after the closing quote of a value", _mark_span(mark), hint


# Tried in order; the first that recognises the error words it.
_REWORDINGS: tuple[Callable[[_Error, list[str], Any], Reworded | None], ...] = (
    _unclosed_quote, _unclosed_bracket, _tab, _bad_escape, _block_scalar_header, _document_start, _missing_space,
    _key_without_colon, _over_indented_key, _colon_in_value, _text_after_quote, _misaligned, _flow, _no_token,
    _simple_hints,
)
