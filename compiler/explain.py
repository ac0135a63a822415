"""``aispec explain``: a diagnostic code's documentation, with the vocabulary it refers to.

Lists of families and metrics are read from ``schemas/vocabulary.py`` when the
command runs, so what ``explain`` shows cannot drift from what ``check`` accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .codes import CODES
from .diagnostics import edit_distance

STAGES = (
    ("1", "syntax: the YAML or DSL text cannot be read"),
    ("2", "schema: a field is missing, unknown, or of the wrong type or range"),
    ("3", "semantic: fields that are valid alone but do not fit together"),
    ("4", "build: what `aispec build` cannot generate yet"),
    ("5", "write: writing or updating the generated project"),
    ("9", "internal: a bug in aispec"),
)


def normalize(code: str) -> str:
    """``313``, ``ais313`` and `` AIS313 `` all mean ``AIS313``."""
    key = code.strip().upper()
    return key if key.startswith("AIS") else f"AIS{key}"


def explain_text(code: str) -> str | None:
    """The documentation of a registered code, or None when there is no such code."""
    info = CODES.get(normalize(code))
    if info is None:
        return None
    lines = [f"{info.code} ({info.severity.value}): {info.title}", "", info.explanation, ""]
    if info.example:
        lines += ["Example:", "", *("    " + ln for ln in info.example.splitlines()), ""]
    lines += [f"Fix: {info.fix}"]
    listing = _LISTINGS.get(info.code)
    if listing is not None:
        lines += ["", *listing()]
    return "\n".join(lines)


def unknown_code_text(code: str) -> str:
    """What to say about a code that does not exist: that it does not, where codes live, and the code
    that was probably meant, only when the typo is plain (two digits swapped, one dropped or doubled)."""
    key = normalize(code)
    lines = [f"unknown code '{code}': aispec has no diagnostic {key}"]
    near = near_codes(key)
    if 0 < len(near) <= 3:  # more than three is not a typo but a guess
        lines.append(f"did you mean {' or '.join(near)}?")
    lines.append("codes are AIS followed by three digits; the first digit is the stage:")
    lines += [f"  AIS{digit}xx  {words}" for digit, words in STAGES]
    lines.append("`aispec explain` with no code lists them all")
    return "\n".join(lines)


def near_codes(key: str) -> list[str]:
    """Registered codes one swap, insertion or deletion away from ``key``.

    A single changed digit is left out on purpose: AIS341 is not a misspelling of AIS340 but another
    diagnostic, and guessing between ten neighbours would mislead more than it helps.
    """
    digits = key.removeprefix("AIS")
    if not re.fullmatch(r"[0-9]{1,5}", digits):
        return []
    near = []
    for other in sorted(CODES):
        theirs = other.removeprefix("AIS")
        if edit_distance(digits, theirs) == 1 and (len(theirs) != len(digits) or sorted(theirs) == sorted(digits)):
            near.append(other)
    return near


def list_codes() -> str:
    """Every code with its severity and title, grouped by stage."""
    lines: list[str] = []
    for digit, words in STAGES:
        codes = [info for code, info in sorted(CODES.items()) if code[3] == digit]
        if codes:
            lines += [f"AIS{digit}xx  {words}", *(f"  {i.code}  {i.severity.value:<7}  {i.title}" for i in codes), ""]
    lines.append("`aispec explain CODE` shows one in full, with an example and its fix")
    return "\n".join(lines)


def _families() -> list[str]:
    from aispec.schemas.vocabulary import FAMILIES

    width = max(len(name) for name in FAMILIES)
    lines = [f"Model families ({len(FAMILIES)}), with the tasks and back ends (default first) each can build:"]
    for name, family in sorted(FAMILIES.items()):
        tasks = ", ".join(sorted(t.value for t in family.tasks))
        backends = ", ".join(b.value for b in family.backends)
        lines.append(f"  {name:<{width}}  {family.description}; tasks: {tasks}; back ends: {backends}")
    return lines


def _typed_params() -> list[str]:
    from aispec.schemas.vocabulary import FAMILIES

    lines = ["Typed parameters (the family record: what each takes, its default, the range auto and a search "
             "without a space tune):"]
    for name, family in sorted(FAMILIES.items()):
        if not family.typed:
            continue
        lines.append(f"  {name}")
        width = max(len(p.name) for p in family.typed)
        for param in family.typed:
            takes = f"one of {', '.join(map(str, param.choices))}" if param.kind == "choice" else \
                "any value" if param.kind == "any" else f"{param.what()} {param.range_text()}"
            default = f"; default {param.default!r}" if param.default is not None else ""
            search = f"; searched {param.search[0]}({', '.join(map(str, param.search[1:]))})" if param.search else ""
            note = f" — {param.description}" if param.description else ""
            lines.append(f"    {param.name:<{width}}  {takes}{default}{search}{note}")
    return lines


def _metrics() -> list[str]:
    from aispec.schemas.vocabulary import METRICS

    width = max(len(name) for name in METRICS)
    lines = [f"Metrics ({len(METRICS)}), with the tasks each applies to:"]
    for name, metric in sorted(METRICS.items()):
        tasks = ", ".join(sorted(t.value for t in metric.tasks))
        better = "higher is better" if metric.higher_is_better else "lower is better"
        needs = f"; needs {metric.needs}" if metric.needs else ""
        lines.append(f"  {name:<{width}}  {better}{needs}; tasks: {tasks}")
    return lines


_LISTINGS: dict[str, Callable[[], list[str]]] = {
    "AIS340": _families,
    "AIS341": _families,
    "AIS357": _typed_params,
    "AIS360": _metrics,
    "AIS361": _metrics,
}
