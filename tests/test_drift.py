"""Checked-in artefacts that are generated from code must not drift from it."""

from __future__ import annotations

import json
from pathlib import Path

from aispec.compiler.docs_gen import diagnostics_markdown
from aispec.compiler.schema_export import SCHEMA_FILE, schema_dict, schema_text

ROOT = Path(__file__).resolve().parents[1]


def test_checked_in_json_schema_equals_the_models() -> None:
    checked_in = json.loads((ROOT / "schemas" / SCHEMA_FILE).read_text())
    assert checked_in == schema_dict(), "regenerate with: aispec schema -o schemas/" + SCHEMA_FILE
    assert (ROOT / "schemas" / SCHEMA_FILE).read_text() == schema_text()


def test_every_diagnostic_code_is_documented() -> None:
    page = (ROOT / "docs" / "diagnostics.md").read_text()
    assert page == diagnostics_markdown(), "regenerate with: python -m aispec.compiler.docs_gen > docs/diagnostics.md"


def test_installed_package_carries_the_schema() -> None:
    from importlib import resources

    text = (resources.files("aispec.schemas") / SCHEMA_FILE).read_text()
    assert json.loads(text)["title"] == "aispec spec v1"
