"""aispec.runtime.cards: model card and datasheet sections, Markdown escaping, determinism."""

from __future__ import annotations

import re
from typing import Any

import pytest

from aispec.runtime import cards
from aispec.runtime import metrics as M

EVIL = "<img src=x onerror=alert(1)> [click](javascript:alert(1)) **bold** | cell\n# Heading\n- item"


def run(**overrides: Any) -> dict[str, Any]:
    spec = {
        "project": {"name": "loan-approval", "description": f"Approve loans. {EVIL}", "owner": "risk@example.org",
                    "version": "2.1.0"},
        "problem": {"task": "classification", "target": "approved", "positive_class": "yes"},
        "data": {
            "source": {"kind": "sql", "url": "postgresql://admin:hunter2@db/prod", "table": "loans"},
            "columns": {
                "approved": {"type": "categorical", "nullable": False, "allowed": ["yes", "no"],
                             "description": "Decision | final"},
                "income": {"type": "numeric", "nullable": True, "range": [0.0, 1000000.0], "unit": "EUR"},
                "email": {"type": "text", "nullable": False},
                "gender": {"type": "categorical", "nullable": True},
                "age": {"type": "numeric", "nullable": False},
            },
            "features": ["income", "age"], "drop": ["email"], "min_rows": 100,
            "cleaning": {"deduplicate": True, "impute": {"numeric": "median"},
                         "outliers": {"method": "iqr", "threshold": 3.0, "action": "clip"}, "scaling": "standard",
                         "encoding": "onehot", "imbalance": "oversample"},
            "split": {"train": 0.8, "validation": 0.0, "test": 0.2, "stratify": True, "seed": 7},
        },
        "model": {"family": "logistic_regression", "params": {"C": 1.0}},
        "metrics": {"primary": "f1", "report": ["accuracy", "f1"], "acceptance": ["f1 >= 0.8"]},
        "monitoring": {"drift": {"method": "psi", "threshold": 0.2, "window": 500},
                       "retraining": {"trigger": "drift"}},
        "compliance": {"regulations": ["gdpr", "eu_ai_act"], "pii": ["email"], "sensitive": ["gender", "age"],
                       "fairness": ["demographic_parity_difference <= 0.1"],
                       "intended_use": f"Pre-screening with human review. {EVIL}",
                       "limitations": [f"Trained on 2023 data only. {EVIL}"], "notes": "Reviewed quarterly.",
                       "risk_level": "high"},
    }
    values = {"accuracy": 0.91, "f1": 0.75, "demographic_parity_difference": 0.04}
    fairness_gates = M.check_gates(["demographic_parity_difference <= 0.1"], values, section="compliance.fairness")
    gates = M.merge_gates(M.check_gates(["f1 >= 0.8"], values), fairness_gates)
    base: dict[str, Any] = {
        "spec": spec,
        "model": {"family": "logistic_regression", "estimator": "LogisticRegression(C=1.0)", "params": {"C": 1.0}},
        "metrics": values,
        "gates": gates,
        "per_class": {"no": {"precision": 0.9, "recall": 0.95, "f1": 0.92, "support": 80.0},
                      f"yes{EVIL}": {"precision": 0.8, "recall": 0.7, "f1": 0.75, "support": 20.0}},
        "per_group": {"gender": {"metrics": ["n", "accuracy"], "groups": {"f": {"n": 50.0, "accuracy": 0.9},
                                                                          EVIL: {"n": 50.0, "accuracy": 0.92}},
                                 "overall": {"n": 100.0, "accuracy": 0.91}, "difference": {"n": 0.0, "accuracy": 0.02},
                                 "ratio": {"n": 1.0, "accuracy": 0.98}}},
        "fairness": {"demographic_parity_difference": 0.04},
        "data": {"n_rows": 500, "n_columns": 5, "duplicates": 3,
                 "columns": {"income": {"missing": 4, "unique": 300}, "approved": {"missing": 0, "unique": 2}}},
        "split": {"train": 400, "test": 100},
        "onnx": {"n_rows": 100, "label_agreement": 1.0, "max_abs_diff": 1e-7, "opset": {"": 17, "ai.onnx.ml": 3}},
    }
    base.update(overrides)
    return base


MODEL_CARD_SECTIONS = ["## Model details", "## Intended use", "### Primary intended uses", "### Out-of-scope uses",
                       "## Factors", "## Metrics", "## Evaluation data", "## Training data",
                       "## Quantitative analyses", "## Ethical considerations", "## Caveats and recommendations",
                       "## Compliance"]
DATASHEET_SECTIONS = ["## Motivation", "## Composition", "## Collection process",
                      "## Preprocessing, cleaning and labelling", "## Uses", "## Distribution", "## Maintenance"]


def headings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("#")]


def test_model_card_sections_in_order() -> None:
    text = cards.model_card(run())
    found = headings(text)
    assert found[0] == "# Model card: loan-approval"
    assert [h for h in found if h in MODEL_CARD_SECTIONS] == MODEL_CARD_SECTIONS
    assert set(found) <= {found[0], *MODEL_CARD_SECTIONS, "### Per class", "### Fairness", "### By `gender`"}


def test_datasheet_sections_in_order() -> None:
    text = cards.datasheet(run())
    found = headings(text)
    assert found[0] == "# Datasheet: data of loan-approval"
    assert [h for h in found if h in DATASHEET_SECTIONS] == DATASHEET_SECTIONS
    assert set(found) <= {found[0], *DATASHEET_SECTIONS, "### Columns"}


def test_untrusted_text_cannot_make_markdown() -> None:
    for text in (cards.model_card(run()), cards.datasheet(run())):
        assert not re.search(r"(?<!\\)<img", text)  # only the escaped form \<img is there
        assert not re.search(r"(?<!\\)\]\(javascript", text) and "**bold**" not in text
        assert "\\<img src=x onerror=alert(1)\\>" in text
        assert "\\[click\\](javascript:alert(1))" in text
        # the value's newlines are gone: '# Heading' and '- item' stay inside the paragraph
        assert "# Heading" not in headings(text)
        assert not any(line.startswith("- item") for line in text.splitlines())
        for line in text.splitlines():  # every table row keeps its column count
            if line.startswith("|") and "\\|" in line:
                assert not re.search(r"(?<!\\)\| cell", line)


def test_model_card_content() -> None:
    text = cards.model_card(run())
    assert "- **Version:** 2.1.0" in text and "- **Owner:** risk@example.org" in text
    assert "**Date:**" not in text  # no date unless given: same run, same bytes
    assert "predicting `approved` (positive class: yes)" in text
    assert "The run **failed** its gates" in text
    assert "| `f1 >= 0.8` | 0.75 | **FAIL**: f1 = 0.75, required \\>= 0.8 |" in text
    assert "| `demographic_parity_difference <= 0.1` | 0.04 | pass |" in text
    assert "100 rows held out from the SQL table 'loans'" in text and "400 rows" in text
    assert "hunter2" not in text and "postgresql" not in text
    assert "Note: `age` is also a model input." in text
    assert "`email` is declared as PII; dropped before training, never a model input and never logged." in text
    assert "GDPR (EU General Data Protection Regulation); EU AI Act" in text
    assert "Fully automated decisions with legal or similarly significant effects" in text
    assert "Declared risk level: **high**" in text
    assert "Trained on 2023 data only." in text
    assert "ONNX (ai.onnx 17, ai.onnx.ml 3)" in text


def test_datasheet_content() -> None:
    text = cards.datasheet(run())
    assert "- **Source:** the SQL table 'loans'" in text and "hunter2" not in text
    assert "- **Instances:** 500 rows, 5 columns; 3 rows repeat another exactly over the columns the model" in text
    assert "| `email` | text | no | — | — | — | — | PII, dropped |  |" in text
    assert "| `income` | numeric | yes | 0 to 1000000 | EUR | 4 | 300 | input |  |" in text
    assert "| `age` | numeric | no | — | — | — | — | sensitive, input |  |" in text
    assert "| `approved` | categorical | no | yes, no | — | 0 | 2 | label | Decision \\| final |" in text
    assert "Class imbalance is handled by oversample on the training split only." in text
    assert "Outliers (iqr, threshold 3) are clipped" in text
    assert "**Drift monitoring:** psi over windows of 500 predictions, threshold 0.2." in text
    assert text.count("To be completed by the owner") >= 5


def test_cards_are_deterministic_and_take_a_date_when_given() -> None:
    assert cards.model_card(run()) == cards.model_card(run())
    dated = cards.model_card(run(card={"date": "2025-01-31", "out_of_scope": ["Credit limits"],
                                       "license": "Apache-2.0"}))
    assert "- **Date:** 2025-01-31" in dated and "- Credit limits" in dated and "**License:** Apache-2.0" in dated


def test_minimal_run() -> None:
    text = cards.model_card({"metrics": {"r2": 0.4}})
    assert text.startswith("# Model card: model\n")
    assert "_Not stated in the spec: add `compliance.intended_use`._" in text
    assert "No sensitive attributes are declared" in text
    sheet = cards.datasheet({})
    assert sheet.startswith("# Datasheet: data of model\n")


@pytest.mark.parametrize(("raw", "escaped"), [
    ("plain text, 3.5 mm (approx.)", "plain text, 3.5 mm (approx.)"),
    ("a_b*c*`d`", "a\\_b\\*c\\*\\`d\\`"),
    ("<b>x</b>", "\\<b\\>x\\</b\\>"),
    ("[t](u)", "\\[t\\](u)"),
    ("x | y", "x \\| y"),
    ("line one\n\nline two", "line one line two"),
    ("# title", "\\# title"),
    ("#tag", "#tag"),
    ("- item", "\\- item"),
    ("-5 degrees", "-5 degrees"),
    ("+ item", "\\+ item"),
    ("> quote", "\\> quote"),
    ("1. first", "1\\. first"),
    ("1.0.0", "1.0.0"),
    ("===", "\\==="),
    ("~~strike~~", "\\~\\~strike\\~\\~"),
    ("back\\slash", "back\\\\slash"),
    (None, ""),
])
def test_md_escape(raw: Any, escaped: str) -> None:
    assert cards.md_escape(raw) == escaped


def test_md_code_spans() -> None:
    assert cards.md_code("bill_length") == "`bill_length`"
    assert cards.md_code("a`b") == "``a`b``"
    assert cards.md_code("`x") == "`` `x ``"
    assert cards.md_code("a|b") == "`a\\|b`"
