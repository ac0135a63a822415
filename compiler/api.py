"""The programmatic entry point. The CLI, the tests and the editor call this; none re-implements a stage."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from aispec.schemas.spec import Spec

from .codes import make
from .diagnostics import Diagnostic, has_errors, sort_diagnostics
from .passes import PASSES, Context
from .raw import ParseResult, RawSpec
from .resolve import resolve
from .source import SourceFile
from .validate import validate


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
