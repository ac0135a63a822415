"""``fmt`` and ``convert``: a spec's raw data printed canonically in either syntax, comments kept.

Whatever is printed is read back before anyone writes it: text that would not parse, would read as
other data (types included) or would lose or add a comment is refused with AIS112, so neither
command can change what a spec means.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .codes import make
from .diagnostics import Diagnostic, has_errors
from .raw import Comments, ParseResult
from .source import Loc, SourceFile

# What a YAML comment can hold: printable characters, no line break (YAML 1.1 readers also break
# lines at NEL, LS and PS) and no byte-order mark.
_YAML_COMMENT = re.compile("[\t\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]*")
_BUG = "this is a bug in aispec: please report it with the spec; the file is left as it was"


@dataclass(frozen=True)
class FormatResult:
    text: str | None
    diagnostics: tuple[Diagnostic, ...]


def parse_with_comments(source: SourceFile) -> tuple[ParseResult, Comments]:
    if source.syntax == "dsl":
        from .dsl import parse_dsl_with_comments

        return parse_dsl_with_comments(source)
    from .yaml_comments import yaml_comments
    from .yaml_front import parse_yaml

    parsed = parse_yaml(source)
    return parsed, (yaml_comments(source) if parsed.raw is not None else {})


def format_source(source: SourceFile, syntax: str | None = None) -> FormatResult:
    """Print ``source`` canonically in ``syntax`` ("yaml" or "dsl"; default: its own).

    Only syntax errors stop formatting: a spec with semantic mistakes can still be
    formatted (and converted) so a user can tidy it while fixing it.
    """
    parsed, comments = parse_with_comments(source)
    if parsed.raw is None or has_errors(parsed.diagnostics):
        return FormatResult(None, tuple(parsed.diagnostics))
    target = syntax or source.syntax
    if target == "dsl":
        from .dsl_printer import print_dsl

        unwritable = _non_finite(parsed.raw, ())
        if unwritable is not None:
            return FormatResult(None, (make(
                "AIS108", "this value (infinity or not-a-number) has no spelling in the aispec language",
                span=parsed.locations.value_span(unwritable), loc=unwritable, file=source.path,
                hint="use a finite number, or keep this spec in YAML"),))
        text = print_dsl(parsed.raw, comments)
    else:
        from .yaml_printer import print_yaml

        bad_comment = next((c for c in _comment_texts(comments) if not _YAML_COMMENT.fullmatch(c)), None)
        if bad_comment is not None:
            char = next(ch for ch in bad_comment if not _YAML_COMMENT.fullmatch(ch))
            return FormatResult(None, (make(
                "AIS112", f"the comment {bad_comment!r} holds U+{ord(char):04X}, which a YAML comment cannot hold",
                file=source.path, hint="remove that character from the comment, or keep this spec in the DSL"),))
        text = print_yaml(parsed.raw, comments)
    refused = _check(source, parsed, comments, text, target)
    return FormatResult(None, (refused,)) if refused is not None else FormatResult(text, tuple(parsed.diagnostics))


def _check(source: SourceFile, parsed: ParseResult, comments: Comments, text: str, target: str) -> Diagnostic | None:
    """Why ``text`` may not replace ``source`` (it reads back as other data, or other comments), or None."""
    what = "formatted text" if target == source.syntax else f"conversion to {'the DSL' if target == 'dsl' else 'YAML'}"
    printed = SourceFile("printed" + (".aispec" if target == "dsl" else ".yaml"), text)
    again, again_comments = parse_with_comments(printed)
    errors = [d for d in again.diagnostics if d.is_error]
    if again.raw is None or errors:
        where = f" (line {errors[0].span.line})" if errors and errors[0].span is not None else ""
        why = errors[0].message if errors else "it is not a spec"
        return make("AIS112", f"the {what} would not read back: {why}{where}; nothing written",
                    file=source.path, hint=_BUG)
    difference = first_difference(parsed.raw, again.raw)
    if difference is not None:
        loc, detail = difference
        return make("AIS112", f"the {what} would change {'.'.join(map(str, loc)) or 'the spec'}: {detail}; "
                    "nothing written", span=parsed.locations.value_span(loc), loc=loc, file=source.path, hint=_BUG)
    before, after = Counter(_comment_texts(comments)), Counter(_comment_texts(again_comments))
    if before != after:
        lost, added = before - after, after - before
        detail = f"lose the comment {next(iter(lost))!r}" if lost else f"add the comment {next(iter(added))!r}"
        return make("AIS112", f"the {what} would {detail}; nothing written", file=source.path, hint=_BUG)
    return None


def _comment_texts(comments: Comments) -> list[str]:
    return [text for node in comments.values()
            for text in (*node.leading, *([node.trailing] if node.trailing is not None else []), *node.closing)]


def first_difference(a: Any, b: Any, loc: Loc = ()) -> tuple[Loc, str] | None:
    """Where two data trees first differ, types included (1, 1.0 and true differ; NaN equals NaN)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            missing = [k for k in a if k not in b]
            return (loc, f"key {missing[0]!r} would be lost") if missing else (loc, "its keys would change")
        for key in a:
            found = first_difference(a[key], b[key], (*loc, key))
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return loc, f"{len(a)} items would become {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, (*loc, i))
            if found is not None:
                return found
        return None
    same = type(a) is type(b) and (repr(a) == repr(b) if isinstance(a, float) else a == b)
    return None if same else (loc, f"{a!r} would become {b!r}")


def _non_finite(value: Any, loc: Loc) -> Loc | None:
    """Where the first inf/nan float sits (YAML has .inf and .nan; the DSL has no such literal)."""
    if isinstance(value, float) and not math.isfinite(value):
        return loc
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        found = _non_finite(child, (*loc, key))
        if found is not None:
            return found
    return None

