"""``api.edit_text``: what the form writes. The edited text reads back (with a second YAML 1.2 loader,
ruamel.yaml, as the outside oracle) as exactly the edited data, in both syntaxes, comments kept."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from aispec.compiler.api import DELETE, check_text, edit_text, parse
from aispec.compiler.source import SourceFile

ROOT = Path(__file__).resolve().parents[2]
PENGUINS_YAML = (ROOT / "specs" / "examples" / "penguins-classification.yaml").read_text(encoding="utf-8")
PENGUINS_DSL = (ROOT / "specs" / "examples" / "penguins-classification.aispec").read_text(encoding="utf-8")


def _yaml(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(io.StringIO(text))


def _comments(text: str) -> list[str]:
    return [line.split("#", 1)[1].strip() for line in text.splitlines() if "#" in line and "'#" not in line]


def test_a_value_set_in_yaml_reads_back_and_keeps_every_comment() -> None:
    result = edit_text(PENGUINS_YAML, "p.yaml", [(("problem", "target"), "island"),
                                                 (("model", "search", "trials"), 10)])
    assert result.text is not None, result.diagnostics
    data, before = _yaml(result.text), _yaml(PENGUINS_YAML)
    assert data["problem"]["target"] == "island" and data["model"]["search"]["trials"] == 10
    before["problem"]["target"], before["model"]["search"]["trials"] = "island", 10
    assert data == before  # nothing else changed
    assert sorted(_comments(result.text)) == sorted(_comments(PENGUINS_YAML))


def test_the_same_edit_in_the_dsl_gives_the_same_data() -> None:
    changes = [(("metrics", "acceptance"), ["accuracy >= 0.8"]), (("data", "split", "seed"), 7)]
    yaml_text = edit_text(PENGUINS_YAML, "p.yaml", changes).text
    dsl_text = edit_text(PENGUINS_DSL, "p.aispec", changes).text
    assert yaml_text is not None and dsl_text is not None
    assert parse(SourceFile("p.yaml", yaml_text)).raw == parse(SourceFile("p.aispec", dsl_text)).raw
    assert "stratify = true  # Chinstraps are the smallest class" in dsl_text


def test_delete_returns_a_field_to_its_default_and_takes_its_comments() -> None:
    result = edit_text(PENGUINS_YAML, "p.yaml", [(("data", "columns", "sex"), DELETE)])
    assert result.text is not None
    assert "sex" not in _yaml(result.text)["data"]["columns"]
    assert "Kept for per-group reporting only" not in result.text


def test_missing_parents_are_made_and_a_shorthand_is_expanded() -> None:
    text = ("aispec: 1\nproject: {name: p}\nproblem: {task: classification, target: y}\n"
            "data:\n  source: {kind: csv, path: d.csv}\n  columns:\n    y: categorical  # the label\n    x: numeric\n")
    result = edit_text(text, "p.yaml", [(("data", "columns", "x", "nullable"), True),
                                        (("model", "search", "space", "C"), "loguniform(0.01, 10)")])
    assert result.text is not None
    data = _yaml(result.text)
    assert data["data"]["columns"]["x"] == {"type": "numeric", "nullable": True}
    assert data["model"]["search"]["space"] == {"C": "loguniform(0.01, 10)"}
    assert "# the label" in result.text


@pytest.mark.parametrize("value", ["yes", "no", "1e3", "null", "0x10", "- item", "#not a comment", "a: b", "",
                                   "line\nbreak", "'quoted'", "${HOME}", "  spaced  "])
def test_any_text_typed_in_the_form_stays_that_text(value: str) -> None:
    result = edit_text(PENGUINS_YAML, "p.yaml", [(("project", "description"), value)])
    assert result.text is not None, result.diagnostics
    assert _yaml(result.text)["project"]["description"] == value
    assert check_text(result.text, "p.yaml").raw["project"]["description"] == value  # type: ignore[index]


def test_text_that_does_not_read_as_a_spec_cannot_be_edited() -> None:
    result = edit_text("aispec: 1\nproject: [\n", "p.yaml", [(("project", "name"), "x")])
    assert result.text is None and result.diagnostics and result.diagnostics[0].code.startswith("AIS1")
