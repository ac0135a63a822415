"""Every diagnostic code is documented with an example that really produces it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from aispec.compiler.api import check_text
from aispec.compiler.codes import BASE_EXAMPLE, CODES

ROOT = Path(__file__).resolve().parents[1]
# Codes whose example cannot be a spec text (file errors, internal errors, migrations need an old version).
# not produced by `check`: file errors, convert-only, migrations, build and write stages, internal errors
NO_TEXT_EXAMPLE = {"AIS100", "AIS108", "AIS112", "AIS208", "AIS401", "AIS402", "AIS403", "AIS420", "AIS490", "AIS501",
                   "AIS502", "AIS503", "AIS504", "AIS505", "AIS900"}
STANDALONE = {"AIS101", "AIS102", "AIS103", "AIS105", "AIS106", "AIS107", "AIS201"}

# Whole specs too: deep nesting, aliases and a flood of duplicate keys do not survive a merge through yaml.safe_load.
STANDALONE |= {"AIS109", "AIS110", "AIS111"}


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        # a mapping with 'kind' (a data source) is replaced whole, like a union member
        mergeable = isinstance(v, dict) and isinstance(out.get(k), dict) and "kind" not in v
        out[k] = _merge(out[k], v) if mergeable else v
    return out


def example_text(code: str) -> tuple[str, str]:
    info = CODES[code]
    if code in STANDALONE or code == "AIS207":
        text = info.example if code in STANDALONE else BASE_EXAMPLE.replace("aispec: 1", info.example.strip())
        return text, "example.aispec" if info.example_syntax == "dsl" else "example.yaml"
    merged = _merge(yaml.safe_load(BASE_EXAMPLE), yaml.safe_load(info.example))
    return yaml.safe_dump(merged, sort_keys=False), "example.yaml"


@pytest.mark.parametrize("code", sorted(set(CODES) - NO_TEXT_EXAMPLE))
def test_example_produces_its_code(code: str) -> None:
    text, name = example_text(code)
    result = check_text(text, name)
    codes = [d.code for d in result.diagnostics]
    assert code in codes, f"{code} example gave {codes}:\n{text}"


def test_codes_are_numbered_by_stage() -> None:
    for code, info in CODES.items():
        assert re.fullmatch(r"AIS[1-9]\d\d", code)
        assert info.title and info.explanation and info.fix


def test_every_code_used_in_source_is_registered() -> None:
    used: set[str] = set()
    for path in (ROOT / "compiler").rglob("*.py"):
        if path.name == "codes.py":
            continue
        used |= set(re.findall(r'"(AIS\d{3})"', path.read_text()))
    assert used <= set(CODES), used - set(CODES)
    # and every registered code is emitted somewhere (no dead documentation)
    assert set(CODES) == used, sorted(set(CODES) - used)


def test_at_least_25_semantic_codes() -> None:
    assert len([c for c in CODES if c.startswith("AIS3")]) >= 25
