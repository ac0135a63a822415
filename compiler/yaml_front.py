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
from .raw import MAX_DEPTH, ParseResult
from .source import Loc, LocationMap, ScalarInfo, SourceFile, Span
from .yaml_errors import syntax_error, too_deep

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
        self.nested_too_deep = False  # one AIS109 is enough: deeper branches say nothing new

    def error(self, code: str, message: str, span: Span, loc: Loc, hint: str | None = None) -> None:
        self.diagnostics.append(make(code, message, span=span, loc=loc, hint=hint, file=self.source.path))

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        span = _span(node)
        self.locations.values[loc] = span
        if len(loc) > MAX_DEPTH:
            if not self.nested_too_deep:
                self.nested_too_deep = True
                self.diagnostics.append(too_deep(self.source, span, MAX_DEPTH))
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


def _aliases(source: SourceFile) -> tuple[list[Diagnostic], bool]:
    """AIS110 for anchors and aliases: a spec is plain data, written out in full.

    libyaml's composer shares an aliased node rather than copying it, so composing stays linear; the
    expansion would happen only when the node graph is walked as a tree, which ``_Builder`` never
    gets to. One diagnostic per anchor name, at its first alias (or at the anchor if never used);
    the flag says whether there was any alias (then the node graph must not be walked at all).
    Only called once the text composed, so the event scan cannot fail.
    """
    text = source.text
    if "&" not in text and "*" not in text:  # no anchor or alias can be written without them
        return [], False
    anchors: dict[str, Any] = {}  # name -> mark of the anchor
    aliases: dict[str, tuple[Any, int]] = {}  # name -> (mark of the first alias, number of aliases)
    merged: set[str] = set()  # anchors used as `<<: *name`
    merge_key = False  # the event before was the plain key `<<`
    for event in yaml.parse(text, Loader=_Loader):
        name = getattr(event, "anchor", None)
        if name is None:
            merge_key = isinstance(event, yaml.ScalarEvent) and event.value == "<<" and event.implicit[0]
            continue
        if isinstance(event, yaml.AliasEvent):
            first, count = aliases.get(name, (event.start_mark, 0))
            aliases[name] = (first, count + 1)
            if merge_key:
                merged.add(name)
        else:
            anchors.setdefault(name, event.start_mark)
        merge_key = False
    found: list[Diagnostic] = []
    for name, (mark, count) in aliases.items():
        if name in merged:  # `<<: *defaults`: say what the user wrote, a merge key
            found.append(make("AIS110", f"YAML merge keys ('<<: *{name}') are not supported",
                              span=_mark_width(mark, len(name) + 1), file=source.path,
                              hint=f"write the keys of '&{name}' out here, and remove '&{name}': a spec is "
                                   "plain data"))
            continue
        times = f", used {count} times" if count > 1 else ""
        anchored = f" (it repeats the value anchored as '&{name}' at line {anchors[name].line + 1})" \
            if name in anchors else ""
        found.append(make("AIS110", f"YAML alias '*{name}' is not supported{times}{anchored}",
                          span=_mark_width(mark, len(name) + 1), file=source.path,
                          hint=f"write the value out in full where '*{name}' is used, and remove '&{name}': "
                               "a spec is plain data"))
    for name, mark in anchors.items():
        if name not in aliases:
            found.append(make("AIS110", f"YAML anchor '&{name}' is not supported", file=source.path,
                              span=_mark_width(mark, len(name) + 1),
                              hint=f"remove '&{name}': a spec is plain data"))
    return found[:_MAX_ALIAS_REPORTS], bool(aliases)


def _mark_width(mark: Any, width: int) -> Span:
    return Span(mark.line + 1, mark.column + 1, mark.line + 1, mark.column + 1 + width, mark.index,
                mark.index + width)


_MAX_ALIAS_REPORTS = 20  # a bomb holds hundreds; the first few say everything


_ALIAS_NAME = re.compile(r"\*([^\s,\[\]{}]+)")


def _undefined_alias(source: SourceFile, exc: yaml.YAMLError) -> Diagnostic | None:
    """An alias with no anchor: refused like any alias (defining the anchor would not help)."""
    if "found undefined alias" not in str(exc):
        return None
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return None
    found = _ALIAS_NAME.match(source.text, mark.index)
    name = found.group(1) if found else ""
    return make("AIS110", f"YAML alias '*{name}' is not supported (and no anchor '&{name}' defines it)",
                span=_mark_width(mark, len(name) + 1), file=source.path,
                hint="write the value out here in full: a spec is plain data")


def _failed(source: SourceFile, locations: LocationMap, diagnostic: Diagnostic) -> ParseResult:
    return ParseResult(source, None, locations, (diagnostic,))


def parse_yaml(source: SourceFile) -> ParseResult:
    builder = _Builder(source)
    try:
        nodes = list(yaml.compose_all(source.text, Loader=_Loader))
    except yaml.YAMLError as exc:
        undefined = _undefined_alias(source, exc)
        if undefined is not None:
            return _failed(source, builder.locations, undefined)
        return _failed(source, builder.locations, syntax_error(source, exc, _PyLoader, MAX_DEPTH))
    except RecursionError:  # only the pure-Python composer (no libyaml) recurses per level
        return _failed(source, builder.locations, too_deep(source, Span.point(1, 1), MAX_DEPTH))
    nodes = [n for n in nodes if n is not None]
    anchors, shared = _aliases(source)
    if shared:  # aliased nodes are shared: walking them as a tree is what makes a bomb explode
        return ParseResult(source, None, builder.locations, tuple(anchors))
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
    raw = builder.build(nodes[0], ())
    if builder.nested_too_deep:  # as in the DSL: no half-built data for later stages to walk
        raw = None
    diags = (*anchors, *builder.diagnostics)
    return ParseResult(source, raw, builder.locations, diags)
