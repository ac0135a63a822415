"""Golden diagnostics: a corpus of broken specs and the exact report ``check`` gives for each.

Each ``tests/golden/broken/NNN-name.yaml`` (or ``.aispec``) sits next to
``NNN-name.expected``: the output of ``format_text`` without colour, with the
file shown by its name only.  Any change to a message, a hint or a position
shows up here as a diff.

To accept deliberate changes, regenerate and review the diff::

    AISPEC_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_diagnostics.py

The example specs under ``specs/examples`` must check with no diagnostics at all.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from aispec.compiler.api import CheckResult, check_source
from aispec.compiler.codes import CODES
from aispec.compiler.diagnostics import format_text
from aispec.compiler.source import SourceFile

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "golden" / "broken"
EXAMPLES = ROOT / "specs" / "examples"
SPEC_SUFFIXES = (".yaml", ".aispec")

# AIS100: no file to read; AIS108: only `convert` emits it; AIS208: needs an old format version; AIS900: a bug;
# AIS111: needs over 100 problems in one file (tests/test_fuzz.py and the code's own example produce it);
# AIS4xx and AIS5xx come from `build` (tests/test_build.py).
NOT_COVERABLE = {"AIS100", "AIS108", "AIS111", "AIS112", "AIS208", "AIS900"} | {c for c in CODES if c[3] in "45"}
MIN_CASES = 60
UPDATE = os.environ.get("AISPEC_UPDATE_GOLDEN") == "1"


def _specs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in SPEC_SUFFIXES)


CASES = _specs(CORPUS)


def _check(path: Path) -> CheckResult:
    # newline="" keeps the text byte for byte (a CRLF case stays CRLF)
    with path.open(encoding="utf-8", newline="") as fh:
        text = fh.read()
    return check_source(SourceFile(path.name, text))


def _report(path: Path) -> str:
    result = _check(path)
    return format_text(result.diagnostics, result.source, color=False) + "\n"


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_golden_diagnostics(path: Path) -> None:
    expected_path = path.with_suffix(".expected")
    actual = _report(path)
    if UPDATE:
        expected_path.write_text(actual, encoding="utf-8", newline="\n")
        return
    assert expected_path.exists(), (
        f"{expected_path.name} is missing; run AISPEC_UPDATE_GOLDEN=1 pytest {Path(__file__).name} "
        "and review the new file"
    )
    expected = expected_path.read_text(encoding="utf-8")
    assert actual == expected, f"diagnostics for {path.name} changed; got:\n{actual}"


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= MIN_CASES, f"only {len(CASES)} broken specs in {CORPUS}"


def test_corpus_covers_every_code() -> None:
    produced: set[str] = set()
    for path in CASES:
        produced |= {d.code for d in _check(path).diagnostics}
    missing = sorted(set(CODES) - NOT_COVERABLE - produced)
    assert not missing, f"no broken spec produces {', '.join(missing)}"
    assert "AIS900" not in produced, "a broken spec made the checker fail internally (AIS900)"


def test_every_case_has_an_expected_file_and_no_orphans() -> None:
    specs = {p.stem for p in CASES}
    expected = {p.stem for p in CORPUS.glob("*.expected")}
    assert not expected - specs, f".expected files without a spec: {sorted(expected - specs)}"
    if not UPDATE:
        assert not specs - expected, f"specs without an .expected file: {sorted(specs - expected)}"


def test_cases_say_what_is_wrong() -> None:
    """Every case starts with a comment line saying what is wrong (the empty-file case excepted)."""
    for path in CASES:
        text = path.read_text(encoding="utf-8")
        if not text:
            continue
        first = text.splitlines()[0]
        assert re.match(r"#\s*\S", first), f"{path.name} does not start with a '# what is wrong' comment"


def test_case_names_are_numbered() -> None:
    numbers = []
    for path in CASES:
        m = re.fullmatch(r"(\d{3})-[a-z0-9]+(?:-[a-z0-9]+)*", path.stem)
        assert m, f"{path.name} is not named NNN-short-name{path.suffix}"
        numbers.append(m.group(1))
    assert len(numbers) == len(set(numbers)), "two cases share a number"


def test_every_case_reports_something() -> None:
    for path in CASES:
        assert _check(path).diagnostics, f"{path.name} is in the broken corpus but checks clean"


EXAMPLE_SPECS = _specs(EXAMPLES) if EXAMPLES.is_dir() else []


@pytest.mark.parametrize("path", EXAMPLE_SPECS, ids=[p.name for p in EXAMPLE_SPECS])
def test_example_spec_is_clean(path: Path) -> None:
    """Examples of what `aispec build` builds are clean; the others only say what is not built yet (AIS410)."""
    from aispec.compiler.buildable import unbuildable

    result = _check(path)
    assert result.resolved is not None
    buildable = not list(unbuildable(result.resolved))
    allowed = set() if buildable else {"AIS410"}
    unexpected = [d for d in result.diagnostics if d.code not in allowed]
    assert not unexpected, format_text(tuple(unexpected), result.source)


@pytest.mark.parametrize("path", EXAMPLE_SPECS, ids=[p.name for p in EXAMPLE_SPECS])
def test_example_spec_matches_json_schema(path: Path) -> None:
    """Editors check the examples against the published JSON Schema (their first line names it)."""
    import jsonschema  # a dev dependency: this check must run in CI, never skip

    schema = json.loads((ROOT / "schemas" / "aispec-spec-v1.schema.json").read_text(encoding="utf-8"))
    raw = _check(path).raw
    errors = [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in jsonschema.Draft202012Validator(schema).iter_errors(raw)
    ]
    assert not errors, "\n".join(errors)


def test_there_are_example_specs() -> None:
    assert len(EXAMPLE_SPECS) >= 9
