"""The editor's form, described from the spec's pydantic models: one :class:`Field` per field, with
its description as help, its choices, and the kind of input it needs.

Nothing here names a spec field: the walk reads the models (``schemas/spec.py``) as they are when
the editor runs, so a field added there appears in the form with no change here. Choices that depend
on the vocabulary (families, tasks, back ends, metrics, the declared columns) are marked with what
they come from and read from those records when the form is drawn (see :func:`choices`).
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from aispec.schemas import expressions, vocabulary
from aispec.schemas import types as spec_types
from aispec.schemas.spec import Spec

Kind = Literal["section", "choice", "bool", "integer", "number", "text", "expression", "list", "mapping", "variants",
               "raw"]
MISSING: Any = PydanticUndefined

# The expression types, and what each is called in a message ("expected a duration").
EXPRESSIONS: dict[type, str] = {
    expressions.Criterion: "criterion",
    expressions.Distribution: "distribution",
    expressions.Duration: "duration",
    expressions.Size: "size",
    expressions.EnvTemplate: "template",
}
PARSERS = {
    "criterion": expressions.parse_criterion,
    "distribution": expressions.parse_distribution,
    "duration": expressions.parse_duration,
    "size": expressions.parse_size,
    "template": expressions.parse_template,
}
# Fields whose values are metric names (free text to the models; the vocabulary lists them per task).
METRIC_FIELDS = frozenset({("metrics", "primary"), ("metrics", "report")})


@dataclass(frozen=True)
class Field:
    """One input of the form. ``loc`` uses ``"*"`` for a mapping key or list index not known yet."""

    loc: tuple[str | int, ...]
    name: str
    kind: Kind
    help: str = ""
    required: bool = False
    default: Any = MISSING  # JSON-like, as the spec would spell it; MISSING: none (required)
    nullable: bool = False
    choices: tuple[Any, ...] = ()  # fixed choices (Literal, Enum)
    vocabulary: str | None = None  # "family" | "task" | "backend" | "metric" | "column": choices read at draw time
    expression: str | None = None  # kind "expression": which parser checks it
    children: tuple[Field, ...] = ()  # kind "section"
    item: Field | None = None  # kind "list" (each item) and "mapping" (each value)
    key_vocabulary: str | None = None  # kind "mapping": "column" when its keys are column names
    discriminator: str | None = None  # kind "variants": the key that picks the variant
    variants: Mapping[str, Field] = field(default_factory=dict)  # kind "variants": choice -> its section
    shorthand: str | None = None  # a section a scalar may stand for: that scalar is this field's value
    minimum: float | None = None
    maximum: float | None = None
    family_at: tuple[str | int, ...] | None = None  # kind "mapping" keyed by parameter names: the family field
    alternatives: tuple[str, ...] = ()  # kind "section": other types the value may be instead (``true``)

    @property
    def path(self) -> str:
        return ".".join(str(p) for p in self.loc)

    def at(self, loc: tuple[str | int, ...]) -> Field:
        """This field (and its children) placed at a concrete ``loc`` (a mapping key or list index filled in)."""
        return _relocate(self, loc)


def _relocate(f: Field, loc: tuple[str | int, ...]) -> Field:
    depth = len(f.loc)

    def move(child: Field) -> Field:
        new = (*loc, *child.loc[depth:])
        family = child.family_at
        if family is not None and family[:depth] == f.loc:
            family = (*loc, *family[depth:])
        return Field(**{**child.__dict__, "loc": new, "family_at": family,
                        "children": tuple(move(c) for c in child.children),
                        "item": move(child.item) if child.item is not None else None,
                        "variants": {k: move(v) for k, v in child.variants.items()}})

    return move(f)


def describe(model: type[BaseModel] = Spec) -> Field:
    """The form of ``model`` (the whole spec by default) as a tree of fields."""
    return _with_params(_section(model, (), "", required=True, default=MISSING, nullable=False, info=None), None)


def _with_params(f: Field, family: tuple[str | int, ...] | None) -> Field:
    """Mark the mappings keyed by parameter names (``params``, ``search.space``) with the family field
    whose parameters they name: the nearest one in the same or an enclosing section."""
    if f.kind == "section":
        own = next((c.loc for c in f.children if c.kind == "choice" and c.vocabulary == "family"), None)
        family = own or family
    if f.kind == "mapping" and f.key_vocabulary == "identifier" and family is not None:
        f = Field(**{**f.__dict__, "key_vocabulary": "params", "family_at": family})
    return Field(**{**f.__dict__, "children": tuple(_with_params(c, family) for c in f.children),
                    "item": _with_params(f.item, family) if f.item is not None else None,
                    "variants": {k: _with_params(v, family) for k, v in f.variants.items()}})


def _doc(model: type[BaseModel]) -> str:
    doc = model.__doc__ or ""
    return "" if doc.startswith(BaseModel.__doc__ or "\0") else " ".join(doc.split())


def _section(model: type[BaseModel], loc: tuple[str | int, ...], name: str, *, required: bool, default: Any,
             nullable: bool, info: FieldInfo | None) -> Field:
    children = tuple(_field(n, f, (*loc, n)) for n, f in model.model_fields.items())
    help_text = (info.description if info is not None and info.description else None) or _doc(model)
    first_required = next((c.name for c in children if c.required), None)
    return Field(loc, name, "section", help_text, required, default, nullable, children=children,
                 shorthand=first_required)


def _default(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return MISSING
    else:
        value = info.default
    return _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if value is not None and type(value) in EXPRESSIONS:
        return str(value)
    return value


def _field(name: str, info: FieldInfo, loc: tuple[str | int, ...]) -> Field:
    base = _describe(info.annotation, loc, name, info.metadata, info)
    return Field(**{**base.__dict__, "help": info.description or base.help, "required": info.is_required(),
                    "default": _default(info)})


def _bound(metadata: list[Any], *attrs: str) -> float | None:
    """The first of the ``attrs`` bounds (``ge``, ``gt``, ...) the field's constraints set."""
    for m in metadata:
        for attr in attrs:
            value = getattr(m, attr, None)
            if isinstance(value, int | float):
                return float(value)
    return None


def _unwrap(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """``Annotated[X, ...]`` → X with the metadata collected (nested Annotated included)."""
    while get_origin(annotation) is typing.Annotated:
        args = get_args(annotation)
        annotation, metadata = args[0], [*metadata, *args[1:]]
    return annotation, metadata


def _family_enum(metadata: list[Any], info: FieldInfo | None) -> bool:
    extras = [m.json_schema_extra for m in metadata if isinstance(m, FieldInfo)]
    if info is not None:
        extras.append(info.json_schema_extra)
    names = set(vocabulary.FAMILIES)
    return any(isinstance(e, dict) and isinstance(e.get("enum"), list) and set(e["enum"]) == names  # type: ignore[arg-type]
               for e in extras)


def _describe(annotation: Any, loc: tuple[str | int, ...], name: str, metadata: list[Any],
              info: FieldInfo | None = None) -> Field:
    if annotation == spec_types.ColumnName:
        return Field(loc, name, "text", vocabulary="column")
    annotation, metadata = _unwrap(annotation, metadata)
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        nullable = len(options) < len(get_args(annotation))
        if len(options) == 1:
            inner = _describe(options[0], loc, name, metadata, info)
            return Field(**{**inner.__dict__, "nullable": True}) if nullable else inner
        models = [a for a in options if isinstance(a, type) and issubclass(a, BaseModel)]
        if len(models) == len(options) and all("kind" in m.model_fields for m in models):
            variants = {get_args(m.model_fields["kind"].annotation)[0]:
                        _section(m, loc, name, required=True, default=MISSING, nullable=False, info=None)
                        for m in models}
            return Field(loc, name, "variants", nullable=nullable, discriminator="kind", variants=variants)
        if len(models) == 1:  # a section, or a plain value instead (`early_stopping: true`)
            section = _section(models[0], loc, name, required=False, default=MISSING, nullable=nullable, info=info)
            others = tuple(getattr(a, "__name__", str(a)) for a in options if a is not models[0])
            return Field(**{**section.__dict__, "alternatives": others})
        return Field(loc, name, "raw", nullable=nullable)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _section(annotation, loc, name, required=False, default=MISSING, nullable=False, info=info)
    if isinstance(annotation, type) and annotation in EXPRESSIONS:
        described = [m.json_schema.get("description", "") for m in metadata if hasattr(m, "json_schema")
                     and isinstance(m.json_schema, dict)]
        return Field(loc, name, "expression", help=next((d for d in described if d), ""),
                     expression=EXPRESSIONS[annotation])
    if origin is Literal:
        return Field(loc, name, "choice", choices=get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        marker = {vocabulary.Task: "task", vocabulary.Backend: "backend"}.get(annotation)
        return Field(loc, name, "choice", choices=tuple(m.value for m in annotation), vocabulary=marker)
    if origin is list:
        (item_type,) = get_args(annotation) or (Any,)
        item = _describe(item_type, (*loc, "*"), "item", [])
        vocab = "metric" if tuple(loc) in METRIC_FIELDS else None
        if vocab is not None:
            item = Field(**{**item.__dict__, "vocabulary": vocab})
        return Field(loc, name, "list", item=item)
    if origin is dict:
        key_type, value_type = get_args(annotation) or (str, Any)
        value = _describe(value_type, (*loc, "*"), "value", [])
        keys = ("column" if key_type == spec_types.ColumnName else
                "identifier" if key_type == spec_types.Identifier else None)
        return Field(loc, name, "mapping", item=value, key_vocabulary=keys)
    if annotation is bool:
        return Field(loc, name, "bool")
    if annotation is int:
        return Field(loc, name, "integer", minimum=_bound(metadata, "ge", "gt"), maximum=_bound(metadata, "le", "lt"))
    if annotation is float:
        return Field(loc, name, "number", minimum=_bound(metadata, "ge", "gt"), maximum=_bound(metadata, "le", "lt"))
    if annotation is str:
        if _family_enum(metadata, info):
            return Field(loc, name, "choice", vocabulary="family")
        vocab = "metric" if tuple(loc) in METRIC_FIELDS else None
        return Field(loc, name, "text", vocabulary=vocab)
    return Field(loc, name, "raw")


# ------------------------------------------------------------------------- vocabulary choices


@dataclass(frozen=True)
class Records:
    """The records the form's choices come from (the live ones by default; tests pass copies)."""

    families: Mapping[str, vocabulary.Family]
    tasks: Mapping[vocabulary.Task, vocabulary.TaskInfo]
    metrics: Mapping[str, vocabulary.Metric]
    backends: Mapping[Any, Any]

    @staticmethod
    def live() -> Records:
        from aispec.runtime.registry import BACKENDS

        return Records(vocabulary.FAMILIES, vocabulary.TASKS, vocabulary.METRICS, BACKENDS)


def built_tasks(records: Records) -> set[str]:
    return {t.value for info in records.backends.values() if info.built for t in info.tasks}


def choices(f: Field, raw: Mapping[str, Any], records: Records) -> list[tuple[Any, str]]:
    """The (value, label) choices of ``f`` for the spec ``raw`` as it is now: a family list for its
    task, the declared columns, ... Labels say what a choice is and whether it is built yet."""
    vocab = f.vocabulary if f.kind != "list" else (f.item.vocabulary if f.item is not None else None)
    task = (raw.get("problem") or {}).get("task") if isinstance(raw.get("problem"), dict) else None
    if vocab == "family":
        built = {b.value if hasattr(b, "value") else str(b) for b, info in records.backends.items() if info.built}
        out = []
        for name, family in records.families.items():
            if task is not None and not any(t.value == task for t in family.tasks):
                continue
            backends = {b.value for b in family.backends}
            note = "" if backends & built else " (not built yet)"
            out.append((name, f"{name}: {family.description}{note}"))
        return out
    if vocab == "task":
        built = built_tasks(records)
        return [(t.value, f"{t.value} ({info.modality}{'' if t.value in built else ', not built yet'})")
                for t, info in records.tasks.items()]
    if vocab == "backend":
        return [(b.value if hasattr(b, "value") else str(b),
                 f"{info.title}{'' if info.built else ' (not built yet)'}") for b, info in records.backends.items()]
    if vocab == "metric":
        return [(name, f"{name}: {m.description}" if m.description else name) for name, m in records.metrics.items()
                if task is None or any(t.value == task for t in m.tasks)]
    if f.kind == "mapping" and f.key_vocabulary == "params" and f.family_at is not None:
        family_name = lookup(raw, f.family_at)
        record = records.families.get(family_name) if isinstance(family_name, str) else None
        return [(p, p) for p in sorted(record.params)] if record is not None else []
    if vocab == "column" or (f.kind == "mapping" and f.key_vocabulary == "column"):
        columns = ((raw.get("data") or {}).get("columns") or {}) if isinstance(raw.get("data"), dict) else {}
        return [(name, name) for name in columns] if isinstance(columns, dict) else []
    return [(c, str(c)) for c in f.choices]


def lookup(raw: Any, loc: tuple[str | int, ...]) -> Any:
    """The value at ``loc`` in the raw spec, or MISSING. A scalar standing for a section (a column's
    shorthand ``numeric``) answers for that section's first required field."""
    node = raw
    for i, key in enumerate(loc):
        if _has(node, key):
            node = node[key]
        elif isinstance(node, str | int | float | bool) and i == len(loc) - 1 and key == _shorthand_key(loc[:i]):
            return node
        else:
            return MISSING
    return node


_SHORTHANDS: dict[tuple[str, ...], str] = {}


def _shorthand_key(parent: tuple[str | int, ...]) -> str | None:
    """The field a scalar at ``parent`` stands for (from the form's description of the models)."""
    if not _SHORTHANDS:
        _index(describe())
    pattern = tuple("*" if isinstance(p, int) else p for p in parent)
    for known, key in _SHORTHANDS.items():
        if len(known) == len(pattern) and all(k in ("*", p) for k, p in zip(known, pattern, strict=True)):
            return key
    return None


def _index(f: Field) -> None:
    if f.kind == "section" and f.shorthand is not None and f.loc and f.loc[-1] == "*":
        _SHORTHANDS[tuple(str(p) for p in f.loc)] = f.shorthand
    for child in (*f.children, *([f.item] if f.item else []), *f.variants.values()):
        _index(child)


def _has(node: Any, key: str | int) -> bool:
    """Whether a mapping has ``key`` or a list has index ``key``."""
    if isinstance(node, dict):
        return key in node
    return isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)
