"""Validation: RawSpec → ``Spec``, with pydantic's errors turned into diagnostics.

Pydantic reports a ``type`` slug and a ``loc`` path for each problem; the loc
is mapped back to the source through the LocationMap (a missing key points at
its parent), and the slug picks the stable aispec code.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Iterable
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from aispec.schemas.spec import SPEC_VERSION, Spec

from .codes import make
from .diagnostics import Diagnostic, choices_hint, did_you_mean
from .migrations import migrate
from .raw import MAX_DEPTH, ParseResult
from .source import Loc, LocationMap, Span

_FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_UNION_TAGS = {"bool", "int", "float", "str", "none", "list", "dict", "tuple"}

_TYPE_WORDS = {
    "string_type": "text", "int_type": "a whole number", "int_parsing": "a whole number",
    "int_from_float": "a whole number", "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false", "dict_type": "a mapping",
    "model_type": "a mapping", "model_attributes_type": "a mapping", "list_type": "a list",
    "none_required": "nothing (null)", "finite_number": "a finite number", "literal_error": "one of the listed values",
}
_BOUND_WORDS = {
    "greater_than": "greater than {gt}", "greater_than_equal": "at least {ge}", "less_than": "less than {lt}",
    "less_than_equal": "at most {le}", "too_short": "at least {min_length} item(s)",
    "too_long": "at most {max_length} item(s)", "string_too_short": "at least {min_length} character(s)",
    "string_too_long": "at most {max_length} character(s)",
}


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 40 else f"'{value[:37]}...'"
    return f"the number {value}"


def _real_loc(raw: Any, loc: tuple[Any, ...]) -> tuple[Loc, bool, Any]:
    """Drop pydantic's union-branch tags from ``loc``: return (path in raw, came-from-union, value there)."""
    out: list[str | int] = []
    cur: Any = raw
    union = False
    for seg in loc:
        in_dict = isinstance(cur, dict) and isinstance(seg, str) and seg in cur
        in_list = isinstance(cur, list) and isinstance(seg, int) and 0 <= seg < len(cur)
        if in_dict or in_list:
            out.append(seg)
            cur = cur[seg]
        elif seg == "[key]":
            continue  # the error is about the mapping key itself; ``_convert`` points at the key
        elif isinstance(cur, dict) and isinstance(seg, str) and cur.get("kind") == seg:
            continue  # discriminated union: pydantic adds the tag, the text does not have it
        elif isinstance(seg, str) and (seg.lower() in _UNION_TAGS or "[" in seg or not _FIELD_NAME.match(seg)):
            union = True  # smart-union branch name, e.g. 'EarlyStopping' or 'bool'
        elif isinstance(cur, str) and isinstance(seg, str) and _FIELD_NAME.match(seg):
            continue  # a shorthand (`x: numeric` for `x: {type: numeric}`): the text holds the value
        else:
            out.append(seg)  # a key that is missing from the text
            cur = None
    return tuple(out), union, cur


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types behind Annotated / Optional / Union."""
    origin = get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        return [t for a in get_args(tp) for t in _unwrap(a)]
    return [tp]


def _model_at(raw: Any, loc: Loc) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``loc`` (for 'did you mean' on unknown keys)."""
    candidates: list[Any] = [Spec]
    cur: Any = raw
    for seg in loc:
        nxt: list[Any] = []
        for tp in candidates:
            if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(seg, str):
                field = tp.model_fields.get(seg)
                if field is not None:
                    nxt.extend(_unwrap(field.annotation))
            elif get_origin(tp) is dict and isinstance(seg, str):
                nxt.extend(_unwrap(get_args(tp)[1]))
            elif get_origin(tp) is list and isinstance(seg, int):
                nxt.extend(_unwrap(get_args(tp)[0]))
        cur = cur.get(seg) if isinstance(cur, dict) else (cur[seg] if isinstance(cur, list) and
                                                           isinstance(seg, int) and seg < len(cur) else None)
        candidates = nxt
    models = [t for t in candidates if isinstance(t, type) and issubclass(t, BaseModel)]
    if len(models) > 1 and isinstance(cur, dict):
        kind = cur.get("kind")
        tagged = [m for m in models
                  if "kind" in m.model_fields and kind in get_args(m.model_fields["kind"].annotation)]
        models = tagged or models
    return models[0] if models else None


def _expected_values(ctx: dict[str, Any]) -> list[str]:
    text = str(ctx.get("expected") or ctx.get("expected_tags") or "")
    return re.findall(r"'([^']*)'", text) or [t.strip() for t in text.replace(" or ", ",").split(",") if t.strip()]


def _loc_name(loc: Loc) -> str:
    return ".".join(str(s) for s in loc) if loc else "the spec"


def _convert(err: dict[str, Any], raw: Any, locs: LocationMap, file: str) -> Diagnostic | None:
    etype: str = err["type"]
    loc, _, value = _real_loc(raw, tuple(err["loc"]))
    if "[key]" in err["loc"]:
        return _key_error(err, loc, locs, file)
    ctx: dict[str, Any] = err.get("ctx") or {}
    where = _loc_name(loc)
    field: str = str(loc[-1]) if loc else "spec"

    if etype == "missing":
        parent = loc[:-1]
        span = locs.key_span(parent) if parent else locs.value_span(())
        if span is not None and not parent:
            span = type(span).point(span.line, span.column, span.offset)
        section = _loc_name(parent) if parent else "the spec"
        return make("AIS201", f"missing required field '{field}' in {section}", span=span, loc=loc, file=file,
                    hint=f"add '{field}:' under '{section}'" if parent else f"add a top-level '{field}:' section")
    if etype == "extra_forbidden":
        model = _model_at(raw, loc[:-1])
        valid = sorted(model.model_fields) if model else []
        hint = did_you_mean(field, valid) or (f"valid fields here: {', '.join(valid)}" if valid else None)
        return make("AIS202", f"unknown field '{field}' in {_loc_name(loc[:-1])}", span=locs.key_span(loc),
                    loc=loc, file=file, hint=hint)
    if etype in ("literal_error", "enum", "union_tag_invalid"):
        if loc == ("aispec",):
            return _version_error(value, locs, file)
        options = _expected_values(ctx)
        if etype == "union_tag_invalid":
            loc = (*loc, "kind")
            value = value.get("kind") if isinstance(value, dict) else value
            where = _loc_name(loc)
        return make("AIS203", f"invalid value {_describe(value)} for '{where}'", loc=loc, file=file,
                    span=locs.value_span(loc), hint=choices_hint(str(value), options))
    if etype == "union_tag_not_found":
        return make("AIS201", f"missing required field 'kind' in {where}", span=locs.key_span(loc), loc=(*loc, "kind"),
                    file=file, hint="set kind to one of: csv, parquet, jsonl, sql, image_folder, bundled")
    if etype == "expression":
        span = locs.inner_span(loc, int(ctx.get("offset", 0)), int(ctx.get("length", 1)))
        return make("AIS104", str(ctx.get("message", err["msg"])), span=span, loc=loc, file=file,
                    hint=str(ctx.get("hint") or "") or None)
    if etype == "expression_type":
        return make("AIS204", f"'{where}' must be {ctx.get('what')} written as text, got {_describe(value)}",
                    span=locs.value_span(loc), loc=loc, file=file, hint=_expression_hint(str(ctx.get("what")), value))
    if etype in _BOUND_WORDS:
        bound = _BOUND_WORDS[etype].format(**{k: _num(v) for k, v in ctx.items()})
        bound = re.sub(r"\b1 (item|character)\(s\)", r"1 \1", bound).replace("(s)", "s")
        got = f"{ctx['actual_length']}" if "actual_length" in ctx else _describe(value)
        return make("AIS205", f"'{where}' must be {bound}, got {got}", span=locs.value_span(loc), loc=loc, file=file)
    if etype == "string_pattern_mismatch":
        return make("AIS205", f"'{where}' has an invalid format: {_describe(value)}", span=locs.value_span(loc),
                    loc=loc, file=file, hint=_pattern_hint(loc))
    if etype in _TYPE_WORDS:
        return make("AIS204", f"'{where}' must be {_TYPE_WORDS[etype]}, got {_describe(value)}",
                    span=_value_or_key_span(loc, value, locs), loc=loc, file=file, hint=_type_hint(etype, value))
    if etype == "value_error":
        message = str(ctx.get("error", err["msg"])).removeprefix("Value error, ")
        return make("AIS206", f"{where}: {message}", span=locs.key_span(loc) if loc else None, loc=loc, file=file)
    return make("AIS204", f"'{where}': {err['msg']}", span=locs.value_span(loc), loc=loc, file=file)


def _value_or_key_span(loc: Loc, value: Any, locs: LocationMap) -> Span | None:
    # An empty value (`monitoring:` with nothing after it) has no text: point at its key.
    if value is None and loc in locs.keys:
        return locs.keys[loc]
    return locs.value_span(loc)


def _type_hint(etype: str, value: Any) -> str | None:
    if etype == "string_type" and isinstance(value, dict) and len(value) == 1:
        return "quote the text: an unquoted ': ' inside a value starts a mapping"
    if etype in ("dict_type", "model_type") and value is None:
        return "an empty section: add its fields, or remove the line"
    if etype in ("bool_type", "bool_parsing") and isinstance(value, str) and \
            value.strip().lower() in ("true", "false", "yes", "no", "on", "off", "y", "n", "1", "0"):
        return "write true or false, without quotes"
    if etype in ("int_type", "int_parsing", "float_type", "float_parsing") and isinstance(value, str) \
            and re.fullmatch(r"\s*[-+]?[0-9_.]+([eE][-+]?[0-9]+)?\s*", value):
        return "write the number without quotes"
    return None


def _expression_hint(what: str, value: Any) -> str:
    if "duration" in what:
        return f"add a unit: '{value}s' or '{value}m'" if isinstance(value, int | float) else "e.g. 30s, 10m, 1h"
    if "size" in what:
        return f"add a unit, e.g. '{value}MiB'" if isinstance(value, int | float) else "e.g. 512MiB or 2GiB"
    if "search space" in what:
        if isinstance(value, list):
            return f"write the options as choice({', '.join(str(v) for v in value)})"
        return "e.g. int(2, 32), loguniform(1e-4, 1e-1) or choice(a, b)"
    if "criterion" in what and isinstance(value, dict) and len(value) == 1:
        (k, v), = value.items()
        return f"write the criterion as one text: '{k} {v}'"
    return "e.g. accuracy >= 0.9"


def _key_error(err: dict[str, Any], loc: Loc, locs: LocationMap, file: str) -> Diagnostic:
    key = str(loc[-1]) if loc else ""
    section = _loc_name(loc[:-1])
    reason = "an empty name" if not key else "letters, digits and '_' only, not starting with a digit"
    hint = "e.g. " + key.replace("-", "_").replace(" ", "_") if key and any(c in key for c in "- ") else None
    return make("AIS205", f"invalid name '{key}' in {section}: expected {reason}", span=locs.key_span(loc), loc=loc,
                file=file, hint=hint if err["type"] == "string_pattern_mismatch" else None)


def _num(v: Any) -> Any:
    return int(v) if isinstance(v, float) and v.is_integer() else v


_PATTERN_HINTS: dict[Loc, str] = {
    ("project", "name"): "use lower-case letters, digits, '-' and '_', starting with a letter (e.g. churn-model)",
    ("project", "version"): "use a semantic version such as 1.2.0",
    ("deployment", "api", "version"): "write the API version as v1, v2, ...",
    ("deployment", "api", "api_key_env"): "an environment variable name such as API_KEY",
    ("problem", "frequency"): "a pandas frequency: D (daily), W (weekly), M (monthly), Q, Y, H (hourly), min, S",
    ("deployment", "image", "base"): "an image reference such as python:3.11-slim or registry.local/python:3.11",
    ("deployment", "image", "name"): "lower-case repository name, e.g. team/penguins",
    ("deployment", "image", "registry"): "a registry host, e.g. registry.example.com:5000",
    ("deployment", "kubernetes", "namespace"): "a Kubernetes name: lower-case letters, digits and '-'",
    ("deployment", "kubernetes", "cpu"): "cores (0.5, 2) or millicores (500m)",
}


def _pattern_hint(loc: Loc) -> str:
    plain = tuple(seg for seg in loc if isinstance(seg, str))
    return _PATTERN_HINTS.get(plain, "check the expected format with `aispec schema`")


def _version_error(value: Any, locs: LocationMap, file: str) -> Diagnostic:
    span = locs.value_span(("aispec",))
    if isinstance(value, int) and not isinstance(value, bool) and value > SPEC_VERSION:
        return make("AIS207", f"this spec is written for format version {value}; this aispec reads up to "
                              f"version {SPEC_VERSION}", span=span, loc=("aispec",), file=file,
                    hint="upgrade aispec: pip install -U aispec")
    shown = value if isinstance(value, int) and not isinstance(value, bool) else _describe(value)
    return make("AIS207", f"unknown spec format version {shown}", span=span, loc=("aispec",), file=file,
                hint=f"the current format is 'aispec: {SPEC_VERSION}'")


def _merge_union_errors(errors: Iterable[dict[str, Any]], raw: Any) -> list[dict[str, Any]]:
    """One smart-union failure yields an error per branch: keep the useful ones.

    When some branch got deeper (the user wrote a mapping and one key is wrong),
    report those; otherwise report a single type error for the value.
    """
    grouped: dict[Loc, list[dict[str, Any]]] = {}
    plain: list[dict[str, Any]] = []
    for err in errors:
        _, union, _ = _real_loc(raw, tuple(err["loc"]))
        if union:
            # group by the path up to the first union tag
            grouped.setdefault(_prefix_before_union(raw, tuple(err["loc"])), []).append(err)
        else:
            plain.append(err)
    for prefix, errs in grouped.items():
        deeper = [e for e in errs if len(_real_loc(raw, tuple(e["loc"]))[0]) > len(prefix)]
        if deeper:
            plain.extend(deeper)
        else:
            kinds = sorted({_TYPE_WORDS.get(e["type"], e["type"]) for e in errs})
            plain.append({"type": "union_type", "loc": prefix, "msg": " or ".join(kinds), "ctx": {"kinds": kinds}})
    return plain


def _prefix_before_union(raw: Any, loc: tuple[Any, ...]) -> Loc:
    for n in range(len(loc) + 1):
        _, union, _ = _real_loc(raw, loc[:n])
        if union:
            return _real_loc(raw, loc[: n - 1])[0]
    return _real_loc(raw, loc)[0]


def too_deep(raw: Any) -> Loc | None:
    """Where data nests deeper than MAX_DEPTH (without recursing: the point is deep data), or None.

    The front ends refuse such data (AIS109); this guards callers that build raw data themselves
    (the editor), since pydantic, ``json.dumps`` and the printers all recurse over it.
    """
    stack: list[tuple[Any, Loc]] = [(raw, ())]
    while stack:
        value, loc = stack.pop()
        if len(loc) > MAX_DEPTH:
            return loc
        if isinstance(value, dict):
            stack.extend((v, (*loc, str(k))) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*loc, i)) for i, v in enumerate(value))
    return None


def validate(parsed: ParseResult) -> tuple[Spec | None, tuple[Diagnostic, ...]]:
    """Validate a parsed spec. Returns the model (None on errors) and the diagnostics."""
    raw = parsed.raw
    file = parsed.source.path
    if raw is None:
        return None, ()
    deep = too_deep(raw)
    if deep is not None:
        return None, (make("AIS109", f"nesting too deep: mappings and lists may nest at most {MAX_DEPTH} levels",
                           span=parsed.locations.value_span(deep), loc=deep[: MAX_DEPTH + 1], file=file,
                           hint="flatten the data: real specs nest fewer than 10 levels"),)
    raw, migration_diags = migrate(raw, parsed.locations, file)
    if any(d.is_error for d in migration_diags):
        return None, migration_diags
    if isinstance(raw.get("aispec"), bool):
        return None, (*migration_diags, _version_error(raw["aispec"], parsed.locations, file))
    # An optional section left empty (`monitoring:` with its lines commented out) means its defaults.
    raw = {k: v for k, v in raw.items() if not (v is None and k in Spec.model_fields
                                                 and not Spec.model_fields[k].is_required())}
    try:
        # Strict JSON-mode validation: a quoted "yes" or "500" stays text and is reported,
        # instead of being coerced to a boolean or a number behind the user's back.
        spec = Spec.model_validate_json(json.dumps(raw), strict=True)
    except ValidationError as exc:
        diags: list[Diagnostic] = list(migration_diags)
        errors: list[dict[str, Any]] = [dict(e) for e in exc.errors()]
        for err in _merge_union_errors(errors, raw):
            if err["type"] == "union_type":
                loc, _, value = _real_loc(raw, tuple(err["loc"]))
                diags.append(make("AIS204", f"'{_loc_name(loc)}' must be {err['msg']}, got {_describe(value)}",
                                  span=parsed.locations.value_span(loc), loc=loc, file=file))
                continue
            d = _convert(err, raw, parsed.locations, file)
            if d is not None:
                diags.append(d)
        return None, tuple(diags)
    return spec, migration_diags
