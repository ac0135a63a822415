"""The form is generated from the spec models and the vocabulary records: every field of the models is
in it with its description as help, and a field or family added to a copy of them appears in the form
with no change to the editor."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import Field, create_model
from streamlit.testing.v1 import AppTest

from aispec.schemas import spec as spec_models
from aispec.schemas.vocabulary import FAMILIES, Backend, Family, Task
from aispec.ui.fields import MISSING, PARSERS, Records, choices, describe

PENGUINS = {"aispec": 1, "project": {"name": "p"}, "problem": {"task": "classification", "target": "species"},
            "data": {"source": {"kind": "bundled", "name": "palmerpenguins"},
                     "columns": {"species": "categorical", "island": {"type": "categorical"}}},
            "model": {"family": "random_forest", "params": {"n_estimators": 10}}}


def _index(f: Any, out: dict[tuple[Any, ...], Any]) -> dict[tuple[Any, ...], Any]:
    out.setdefault(tuple(f.loc), f)
    for child in (*f.children, *([f.item] if f.item is not None else []), *f.variants.values()):
        _index(child, out)
    return out


def _all(f: Any, out: dict[tuple[Any, ...], list[Any]]) -> dict[tuple[Any, ...], list[Any]]:
    """Every field by loc (the variants of data.source share locs: a csv and an image folder's path)."""
    out.setdefault(tuple(f.loc), []).append(f)
    for child in (*f.children, *([f.item] if f.item is not None else []), *f.variants.values()):
        _all(child, out)
    return out


def _schema_paths(schema: dict[str, Any], node: dict[str, Any], loc: tuple[Any, ...],
                  out: dict[tuple[Any, ...], set[str]]) -> None:
    """Every property path of the published JSON Schema, with its description (an outside oracle for the
    walk over the models: the schema is pydantic's own export of them)."""
    if "$ref" in node:
        node = {**schema["$defs"][node["$ref"].split("/")[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
    for option in node.get("anyOf", []) + node.get("oneOf", []):
        _schema_paths(schema, option, loc, out)
    for name, prop in (node.get("properties") or {}).items():
        out.setdefault((*loc, name), set()).add(prop.get("description", ""))
        _schema_paths(schema, prop, (*loc, name), out)
    if isinstance(node.get("additionalProperties"), dict):
        _schema_paths(schema, node["additionalProperties"], (*loc, "*"), out)
    if isinstance(node.get("items"), dict):
        _schema_paths(schema, node["items"], (*loc, "*"), out)


def test_every_field_of_the_published_schema_is_in_the_form_with_its_description() -> None:
    schema = spec_models.Spec.model_json_schema()
    expected: dict[tuple[Any, ...], set[str]] = {}
    _schema_paths(schema, schema, (), expected)
    fields = _all(describe(), {})
    # A family's parameters (spelled per family in the schema: an ensemble member's as one branch per family)
    # are the keys of the form's `params` mapping, which offers the names of the family chosen beside it.
    keyed = {loc for loc, fs in fields.items() if any(f.key_vocabulary == "params" for f in fs)}
    named = {loc for loc in expected if loc[:-1] in keyed and any(loc[-1] in f.params for f in FAMILIES.values())}
    missing = sorted(set(expected) - set(fields) - named, key=str)
    assert not missing, missing
    assert named, "the schema spells out the parameters of an ensemble member's family"
    for loc, descriptions in expected.items():
        if loc in named:
            continue
        helps = [f.help for f in fields[loc]]
        for description in descriptions - {""}:
            assert any(description in h for h in helps), (loc, description, helps)


def test_each_kind_of_value_gets_its_input() -> None:
    fields = _index(describe(), {})
    assert fields[("problem", "task")].kind == "choice" and fields[("problem", "task")].vocabulary == "task"
    assert fields[("model", "family")].vocabulary == "family"
    assert fields[("model", "backend")].vocabulary == "backend"
    assert fields[("problem", "target")].vocabulary == "column"
    assert fields[("data", "cleaning", "scaling")].choices == ("standard", "minmax", "robust", "none")
    assert fields[("data", "split", "train")].kind == "number"
    assert fields[("data", "split", "train")].default == 0.8
    assert fields[("data", "min_rows")].default == 20 and fields[("data", "min_rows")].minimum == 0
    assert fields[("data", "source")].kind == "variants"
    assert set(fields[("data", "source")].variants) == {"csv", "parquet", "jsonl", "sql", "image_folder", "bundled"}
    assert fields[("data", "columns")].kind == "mapping" and fields[("data", "columns")].key_vocabulary == "column"
    assert fields[("model", "params")].key_vocabulary == "params"
    # every expression type is a text input checked by the expression parser of its kind
    expressions = {loc: f.expression for loc, f in fields.items() if f.kind == "expression"}
    assert expressions[("metrics", "acceptance", "*")] == "criterion"
    assert expressions[("model", "search", "space", "*")] == "distribution"
    assert expressions[("model", "budget")] == "duration"
    assert expressions[("hardware", "memory")] == "size"
    assert set(expressions.values()) <= set(PARSERS)


def test_a_field_added_to_a_copy_of_the_models_appears_in_the_form() -> None:
    problem = create_model("Problem", __base__=spec_models.Problem,
                           urgency=(Literal["low", "high"] | None,
                                    Field(None, description="How soon the business needs an answer.")))
    copy = create_model("Spec", __base__=spec_models.Spec, problem=(problem, ...))
    fields = _index(describe(copy), {})
    added = fields[("problem", "urgency")]
    assert added.kind == "choice" and added.choices == ("low", "high") and added.nullable
    assert "How soon the business needs an answer." in added.help
    assert ("problem", "urgency") not in _index(describe(), {})  # the real models are untouched

    at = AppTest.from_function(_draw_form, kwargs={"model": copy, "records": None, "raw": PENGUINS})
    at.run()
    assert not at.exception
    box = next(s for s in at.selectbox if s.label == "urgency")
    assert list(box.options)[1:] == ["low", "high"]
    assert "How soon the business needs an answer." in box.help


def test_a_family_added_to_a_copy_of_the_records_appears_in_the_form() -> None:
    new = Family("gradient_forest", frozenset({Task.classification}), (Backend.sklearn,),
                 frozenset({"depth", "leaves"}), "a family that does not exist yet")
    live = Records.live()
    records = replace(live, families={**FAMILIES, new.name: new})
    fields = _index(describe(), {})
    offered = dict(choices(fields[("model", "family")], PENGUINS, records))
    assert offered["gradient_forest"] == "gradient_forest: a family that does not exist yet"
    assert "gradient_forest" not in dict(choices(fields[("model", "family")], PENGUINS, live))
    # its parameters are the keys model.params offers once it is chosen
    raw = {**PENGUINS, "model": {"family": "gradient_forest"}}
    assert [v for v, _ in choices(fields[("model", "params")], raw, records)] == ["depth", "leaves"]
    # a regression spec is not offered a classification-only family
    regression = {**PENGUINS, "problem": {"task": "regression", "target": "body_mass_g"}}
    assert "gradient_forest" not in dict(choices(fields[("model", "family")], regression, records))

    at = AppTest.from_function(_draw_form, kwargs={"model": None, "records": records, "raw": PENGUINS,
                                                   "section": "model"})
    at.run()
    assert not at.exception
    family = next(s for s in at.selectbox if s.label == "family")
    assert "gradient_forest: a family that does not exist yet" in list(family.options)  # options as labelled


def test_back_ends_and_tasks_say_whether_they_are_built() -> None:
    records = Records.live()
    fields = _index(describe(), {})
    backends = dict(choices(fields[("model", "backend")], PENGUINS, records))
    for name, info in records.backends.items():
        assert backends[name.value].endswith("(not built yet)") == (not info.built)
    tasks = dict(choices(fields[("problem", "task")], PENGUINS, records))
    assert set(tasks) == {t.value for t in Task}


def _draw_form(model, records, raw, section="problem"):  # type: ignore[no-untyped-def]
    # run as a script of its own by AppTest (no annotations: nothing is imported around it)
    import streamlit as st

    from aispec.compiler.source import SourceFile
    from aispec.ui import form
    from aispec.ui.fields import describe

    st.session_state.setdefault("form_section", section)
    root = describe(model) if model is not None else None
    form.draw(raw, (), version="t", disabled=False, source=SourceFile("s.yaml", ""), records=records, root=root)


def test_missing_is_not_a_value() -> None:
    fields = _index(describe(), {})
    assert fields[("project", "name")].default is MISSING and fields[("project", "name")].required
