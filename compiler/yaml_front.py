"""The YAML front end: text → RawSpec + LocationMap, with YAML 1.2 scalars.

PyYAML's composer gives a node tree with marks; we resolve scalars ourselves
with the YAML 1.2 core schema so that ``no``, ``on`` and ``yes`` stay strings
(a class label ``no`` must survive), refuse duplicate keys and custom tags, and
record where every key and value came from.
"""

from __future__ import annotations

import math
import re
import typing
from typing import Any

import yaml

from .codes import make
from .diagnostics import Diagnostic
from .raw import ParseResult
from .source import Loc, LocationMap, ScalarInfo, SourceFile, Span

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT10 = re.compile(r"^[-+]?[0-9]+$")
_INT8 = re.compile(r"^0o[0-7]+$")
_INT16 = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")

_STD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}

MAX_DEPTH = 64


_IMPLICIT = "tag:aispec,2026:implicit"


class _ImplicitScalars:
    """Resolver override: scalars written without a tag resolve later, by YAML 1.2 rules."""

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        # Called only for nodes written without a tag; plain and quoted scalars are
        # told apart later by their style (None or "" for plain, depending on the parser).
        if kind is yaml.ScalarNode:
            return _IMPLICIT
        return str(super().resolve(kind, value, implicit))  # type: ignore[misc]


class _PyLoader(_ImplicitScalars, yaml.SafeLoader):
    """Pure-Python composer: slower, but its syntax errors name the offending character."""


# libyaml's C parser when PyYAML was built with it (about 6x faster), else the pure-Python one.
_Loader: type = type("_Loader", (_ImplicitScalars, yaml.CSafeLoader), {}) if yaml.__with_libyaml__ else _PyLoader


def _span(node: yaml.Node) -> Span:
    s, e = node.start_mark, node.end_mark
    return Span(s.line + 1, s.column + 1, e.line + 1, e.column + 1, s.index, e.index)


def resolve_plain(value: str) -> Any:
    """What a plain (unquoted) scalar means under the YAML 1.2 core schema."""
    if _NULL.match(value):
        return None
    if _BOOL.match(value):
        return value.lower() == "true"
    if _INT10.match(value):
        return int(value)
    if _INT8.match(value):
        return int(value[2:], 8)
    if _INT16.match(value):
        return int(value[2:], 16)
    if _FLOAT.match(value):
        return float(value)
    if _INF.match(value):
        return -math.inf if value.startswith("-") else math.inf
    if _NAN.match(value):
        return math.nan
    return value


_TAG_TYPES: dict[str, type | tuple[type, ...]] = {
    "tag:yaml.org,2002:int": int,
    "tag:yaml.org,2002:float": (int, float),
    "tag:yaml.org,2002:bool": bool,
    "tag:yaml.org,2002:null": type(None),
}


def _scalar(node: yaml.ScalarNode) -> Any:
    """The value of a scalar: quoted and block scalars are strings, plain ones resolve."""
    if node.tag == _IMPLICIT:
        return node.value if node.style not in (None, "") else resolve_plain(node.value)
    if node.tag == "tag:yaml.org,2002:str":
        return node.value
    value = resolve_plain(node.value)
    expected = _TAG_TYPES[node.tag]
    if not isinstance(value, expected) or (node.tag == "tag:yaml.org,2002:int" and isinstance(value, bool)):
        raise ValueError(f"'{node.value}' is not a valid {node.tag.rsplit(':', 1)[-1]}")
    return float(typing.cast(float, value)) if node.tag == "tag:yaml.org,2002:float" else value


class _Builder:
    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.locations = LocationMap()
        self.diagnostics: list[Diagnostic] = []

    def error(self, code: str, message: str, span: Span, loc: Loc, hint: str | None = None) -> None:
        self.diagnostics.append(make(code, message, span=span, loc=loc, hint=hint, file=self.source.path))

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        span = _span(node)
        self.locations.values[loc] = span
        if len(loc) > MAX_DEPTH:
            self.error("AIS106", f"nesting deeper than {MAX_DEPTH} levels", span, loc)
            return None
        if node.tag not in _STD_TAGS and node.tag != _IMPLICIT:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.error("AIS106", f"unsupported YAML tag '{tag}'", span, loc, "a spec holds plain data only")
            return None
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.flow_style and self._split_expression(node):
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        try:
            value = _scalar(node)
        except ValueError as exc:
            self.error("AIS106", str(exc), span, loc, "remove the explicit tag")
            return None
        if isinstance(value, str):
            quoted = node.style in ("'", '"')
            single = node.start_mark.line == node.end_mark.line and node.style not in ("|", ">")
            self.locations.scalars[loc] = ScalarInfo(1 if quoted else 0, single)
        return value

    def _split_expression(self, node: yaml.MappingNode | yaml.SequenceNode) -> bool:
        """Report an expression that YAML cut in two at a comma inside ``{...}`` or ``[...]``.

        ``{max_depth: int(2, 32)}`` is, to YAML, the entries ``max_depth: int(2`` and ``32)``.
        """
        scalars = [n for pair in node.value for n in (pair if isinstance(pair, tuple) else (pair,))
                   if isinstance(n, yaml.ScalarNode) and not n.style]
        for item in scalars:
            text = str(item.value)
            if text.count("(") > text.count(")"):
                start = item.start_mark.index
                end = self.source.text.find(")", start)
                whole = self.source.text[start:end + 1] if end != -1 else text
                what = "mapping" if isinstance(node, yaml.MappingNode) else "list"
                self.error("AIS107", f"the expression '{text}' was cut at a comma: inside {{...}} and [...] a "
                           "comma separates entries", _span(item), (),
                           f"quote it: '{whole}', or write this {what} in block style (one entry per line)")
                return True
        return False

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_seen: dict[str, Span] = {}
        for key_node, value_node in node.value:
            key_span = _span(key_node)
            if key_node.tag == "tag:yaml.org,2002:merge" or (key_node.value == "<<" and not key_node.style):
                self.error("AIS106", "YAML merge keys ('<<') are not supported", key_span, loc,
                           "write the keys out; aispec specs are plain data")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.error("AIS106", "a mapping key must be a plain name, not a list or mapping", key_span, loc)
                continue
            # Keys are names: ``no:`` or ``1:`` as a key stays the text as written.
            key = str(key_node.value)
            child: Loc = (*loc, key)
            if key in first_seen:
                first = first_seen[key]
                self.error("AIS103", f"duplicate key '{key}'", key_span, child,
                           f"'{key}' is already set at line {first.line}; remove one of the two")
                continue
            first_seen[key] = key_span
            self.locations.keys[child] = key_span
            out[key] = self.build(value_node, child)
        return out


_NO_SPACE_AFTER_COLON = re.compile(r"^\s*(- )?[A-Za-z_][\w.-]*:[^\s:/]")


def _missing_space(lines: list[str], line: int) -> tuple[int, int] | None:
    """(line, column) of a `key:value` written without a space, on this line or the one above."""
    for number in (line, line - 1):
        if 0 <= number < len(lines) and _NO_SPACE_AFTER_COLON.match(lines[number]):
            return number, lines[number].index(":")
    return None


def _mark_span(mark: Any) -> Span:
    return Span.point(mark.line + 1, mark.column + 1, mark.index)


def _syntax_error(source: SourceFile, exc: yaml.YAMLError) -> Diagnostic:
    """A YAML syntax error as a diagnostic, re-aimed at the real culprit where PyYAML's mark is late."""
    problem_mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    problem = str(getattr(exc, "problem", None) or exc)
    context = str(getattr(exc, "context", None) or "")
    mark = problem_mark or context_mark
    span = _mark_span(mark) if mark is not None else None
    message = f"{problem} ({context})" if context else problem
    hint: str | None = None
    lines = source.text.splitlines()
    late = problem_mark is not None and context_mark is not None and problem_mark.line != context_mark.line
    if context == "while scanning a quoted scalar" and late and context_mark is not None:
        span = _mark_span(context_mark)
        message = "this quoted text is never closed"
        hint = "add the closing quote; a quote inside the text is doubled ('') or escaped (\\\")"
    elif context in ("while parsing a flow sequence", "while parsing a flow mapping") and late \
            and context_mark is not None:
        opener, closer = ("[", "]") if "sequence" in context else ("{", "}")
        span = _mark_span(context_mark)
        message = f"this '{opener}' is never closed"
        what = "list" if opener == "[" else "mapping"
        hint = f"add '{closer}' at the end of the {what}, and separate items with ', '"
    elif "'\\t'" in problem:
        line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
        indentation = mark is not None and not line[: mark.column].strip()
        hint = "YAML does not allow tabs for indentation; use spaces" if indentation else \
            "a tab cannot appear here; use spaces"
    elif ("could not find expected ':'" in problem or "mapping values are not allowed" in problem) \
            and mark is not None and (culprit := _missing_space(lines, mark.line)) is not None:
        number, colon = culprit
        span = Span.point(number + 1, colon + 1)
        message = "a key needs a space after ':'"
        hint = f"write '{lines[number][:colon + 1].strip()} {lines[number][colon + 1:].strip()}'"
    elif "could not find expected ':'" in problem:
        hint = "a key needs ': ' after it; check the indentation of the line above"
    elif "mapping values are not allowed" in problem:
        hint = "check the indentation of this line, or quote a value that contains ': '"
    elif "found undefined alias" in problem:
        hint = "an alias ('*name') must refer to an anchor ('&name') defined earlier"
    elif "expected <block end>" in problem:
        hint = "check that keys of one mapping line up in the same column"
    return make("AIS101", message, span=span, hint=hint, file=source.path)


def _python_error(source: SourceFile, exc: yaml.YAMLError) -> yaml.YAMLError:
    """The pure-Python parser's account of a syntax error (libyaml's messages are terser)."""
    try:
        list(yaml.compose_all(source.text, Loader=_PyLoader))
    except yaml.YAMLError as py_exc:
        return py_exc
    return exc


def parse_yaml(source: SourceFile) -> ParseResult:
    builder = _Builder(source)
    try:
        nodes = list(yaml.compose_all(source.text, Loader=_Loader))
    except yaml.YAMLError as exc:
        return ParseResult(source, None, builder.locations, (_syntax_error(source, _python_error(source, exc)),))
    except RecursionError:
        return ParseResult(source, None, builder.locations,
                           (make("AIS106", "nesting too deep", span=Span.point(1, 1), file=source.path),))
    nodes = [n for n in nodes if n is not None]
    if len(nodes) > 1:
        span = _span(nodes[1])
        return ParseResult(source, None, builder.locations, (
            make("AIS101", "a spec file holds one YAML document, found more than one", span=span,
                 hint="remove the '---' separator and merge the documents", file=source.path),))
    if not nodes or not isinstance(nodes[0], yaml.MappingNode):
        span = _span(nodes[0]) if nodes else Span.point(1, 1)
        what = "empty" if not nodes else "not a mapping"
        return ParseResult(source, None, builder.locations, (
            make("AIS105", f"the spec is {what}: expected a mapping of sections", span=span,
                 hint="start with 'aispec: 1' followed by 'project:', 'problem:', 'data:' ...",
                 file=source.path),))
    try:
        raw = builder.build(nodes[0], ())
    except RecursionError:
        return ParseResult(source, None, builder.locations,
                           (make("AIS106", "nesting too deep", span=Span.point(1, 1), file=source.path),))
    diags = tuple(builder.diagnostics)
    return ParseResult(source, raw, builder.locations, diags)
