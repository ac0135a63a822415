"""The programmatic entry point. The CLI, the tests and the editor call this; none re-implements a stage."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aispec.schemas.spec import Spec

from .codes import make
from .diagnostics import Diagnostic, has_errors, sort_diagnostics
from .passes import PASSES, Context
from .raw import ParseResult, RawSpec
from .resolve import resolve
from .source import Loc, SourceFile
from .validate import validate

if TYPE_CHECKING:
    from .formatting import FormatResult


@dataclass(frozen=True)
class CheckResult:
    """Everything ``check`` learned: the spec at each stage it reached, and all diagnostics."""

    source: SourceFile
    raw: RawSpec | None
    spec: Spec | None
    resolved: Spec | None
    diagnostics: tuple[Diagnostic, ...]
    parsed: ParseResult | None = None

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if not d.is_error)


def read_source(path: str | Path) -> SourceFile | Diagnostic:
    """Read a spec file, or say (AIS100) why it cannot be read."""
    try:
        return SourceFile.read(path)
    except FileNotFoundError:
        return make("AIS100", f"no such file: {path}", file=str(path), hint="check the path")
    except IsADirectoryError:
        return make("AIS100", f"{path} is a directory, not a spec file", file=str(path))
    except UnicodeDecodeError as exc:
        return make("AIS100", f"{path} is not UTF-8 text (byte {exc.start})", file=str(path),
                    hint="save the spec as UTF-8")
    except OSError as exc:
        return make("AIS100", f"cannot read {path}: {exc.strerror}", file=str(path))


def parse(source: SourceFile) -> ParseResult:
    """Front end by file type: ``*.aispec`` is the DSL, anything else YAML."""
    if source.syntax == "dsl":
        from .dsl import parse_dsl

        return parse_dsl(source)
    from .yaml_front import parse_yaml

    return parse_yaml(source)


def check_source(source: SourceFile) -> CheckResult:
    """Parse, validate, run every semantic pass and resolve. Stops between stages that failed."""
    parsed = parse(source)
    if parsed.raw is None or has_errors(parsed.diagnostics):
        return CheckResult(source, parsed.raw, None, None, sort_diagnostics(parsed.diagnostics), parsed)
    spec, diags = validate(parsed)
    all_diags = list(parsed.diagnostics) + list(diags)
    if spec is None:
        return CheckResult(source, parsed.raw, None, None, sort_diagnostics(all_diags), parsed)
    ctx = Context(spec, parsed.raw, parsed.locations, source.path)
    for check in PASSES:
        try:
            all_diags.extend(check(ctx))
        except Exception as exc:  # a bug in a pass must not hide the other passes' findings
            if os.environ.get("AISPEC_DEBUG"):
                raise
            all_diags.append(make("AIS900", f"internal error in {check.__name__}: {type(exc).__name__}: {exc}",
                                  file=source.path, hint="please report this with your spec; --debug shows more"))
    resolved = None if has_errors(all_diags) else resolve(ctx)
    return CheckResult(source, parsed.raw, spec, resolved, sort_diagnostics(all_diags), parsed)


def check_text(text: str, path: str = "spec.yaml") -> CheckResult:
    return check_source(SourceFile(path, text))


def check_file(path: str | Path) -> CheckResult:
    source = read_source(path)
    if isinstance(source, Diagnostic):
        return CheckResult(SourceFile(str(path), ""), None, None, None, (source,))
    return check_source(source)


DELETE = object()
"""For :func:`edit_text`: remove the key at this loc (the field goes back to its default)."""


def edit_text(text: str, path: str, changes: Sequence[tuple[Loc, Any]]) -> FormatResult:
    """The spec ``text`` (file ``path``: its suffix picks the syntax) with each ``(loc, value)`` set
    (``DELETE`` removes the key), printed as `aispec fmt` prints it, comments kept.

    Missing parents are created as mappings; a scalar where a mapping is needed is the shorthand of
    its first field (``species: categorical`` → ``{type: categorical}``) and is expanded. The printed
    text is read back like fmt's: if it would not read as exactly the edited data, with every kept
    comment, it is refused (AIS112). Comments of removed entries go with them. A text with syntax
    errors cannot be edited this way: the result has no text, only those diagnostics.
    """
    import copy

    from .formatting import FormatResult, _check, parse_with_comments

    source = SourceFile(path, text)
    parsed, comments = parse_with_comments(source)
    if parsed.raw is None or has_errors(parsed.diagnostics):
        return FormatResult(None, tuple(parsed.diagnostics))
    raw = copy.deepcopy(parsed.raw)
    for loc, value in changes:
        if not loc:
            raise ValueError("edit_text needs a non-empty loc")
        _set(raw, loc, value)
        if value is DELETE or isinstance(value, list | dict):  # their old children's comments may be gone
            comments = {k: c for k, c in comments.items() if not _below(k, loc) or _exists(raw, k)}
    if source.syntax == "dsl":
        from .dsl_printer import print_dsl

        printed = print_dsl(raw, comments)
    else:
        from .yaml_printer import print_yaml

        printed = print_yaml(raw, comments)
    refused = _check(source, replace(parsed, raw=raw), comments, printed, source.syntax)
    return FormatResult(None, (refused,)) if refused is not None else FormatResult(printed, ())


def _below(loc: Loc, parent: Loc) -> bool:
    return len(loc) > len(parent) and loc[: len(parent)] == parent


def _exists(raw: Any, loc: Loc) -> bool:
    node = raw
    for key in loc:
        if _has(node, key):
            node = node[key]
        else:
            return False
    return True


def _set(raw: dict[str, Any], loc: Loc, value: Any) -> None:
    node: Any = raw
    for i, key in enumerate(loc[:-1]):
        child = node[key] if isinstance(node, dict) and key in node else (
            node[key] if isinstance(node, list) and isinstance(key, int) and key < len(node) else None)
        if not isinstance(child, dict | list):
            if value is DELETE:
                return  # nothing there to remove
            child = _expand_shorthand(loc[: i + 1], child)
            node[key] = child
        node = child
    last = loc[-1]
    if value is DELETE:
        if isinstance(node, dict):
            node.pop(last, None)
        elif isinstance(node, list) and isinstance(last, int) and last < len(node):
            node.pop(last)
        return
    if isinstance(node, list) and isinstance(last, int) and last == len(node):
        node.append(value)
    else:
        node[last] = value


def _expand_shorthand(loc: Loc, value: Any) -> dict[str, Any]:
    """A scalar that stands for a mapping: the mapping. Only two shorthands exist, both a scalar for the
    model's first required field (a column's ``type``, an ensemble member's ``family``)."""
    if value is None:
        return {}
    from aispec.schemas.spec import Column, EnsembleMember

    model = Column if len(loc) == 3 and loc[:2] == ("data", "columns") else EnsembleMember
    first = next(name for name, field in model.model_fields.items() if field.is_required())
    return {first: value}


def looks_personal(name: str) -> bool:
    """Whether a column name looks like personal data (the rule behind AIS329)."""
    from .passes.support import _looks_personal

    return _looks_personal(name)


def _has(node: Any, key: str | int) -> bool:
    """Whether a mapping has ``key`` or a list has index ``key``."""
    if isinstance(node, dict):
        return key in node
    return isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)
