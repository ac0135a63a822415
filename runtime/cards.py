"""Model card and datasheet (Markdown) for a run.

* ``model_card`` follows "Model Cards for Model Reporting" (Mitchell et al., 2019): model details,
  intended use, out-of-scope uses, factors, metrics and gates, evaluation data, training data,
  quantitative analyses (per class, per group, fairness), ethical considerations, caveats and
  recommendations, plus a compliance section (regulations, PII handling, sensitive attributes).
* ``datasheet`` follows "Datasheets for Datasets" (Gebru et al., 2021): motivation, composition,
  collection process, preprocessing, uses, distribution, maintenance. Questions the spec cannot
  answer are marked for the owner to fill in.

Both take the ``run`` mapping documented in :mod:`aispec.runtime.report` (plus an optional
``card`` mapping: ``date``, ``out_of_scope`` (list), ``license``, ``citation``). No date is written
unless ``card.date`` is given, so the same run gives the same bytes. Templates render with
autoescape off; every value from the spec or the data goes through the ``md`` filter
(:func:`md_escape`), so it cannot inject Markdown structure, links or HTML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from .quantize import summary as quantization_summary
from .report import context, fmt_number, fmt_value, plain

__all__ = ["datasheet", "md_escape", "model_card"]

TEMPLATES = Path(__file__).parent / "report_templates"
_MD_ALWAYS = re.compile(r"([\\`*_\[\]<>|~])")
_MD_LINE_START = re.compile(r"^(#{1,6}(?=\s|$)|>|[+-](?=\s|$)|=+$|\d{1,9}[.)](?=\s|$))")
_REGULATIONS = {
    "gdpr": "GDPR (EU General Data Protection Regulation)",
    "ccpa": "CCPA (California Consumer Privacy Act)",
    "hipaa": "HIPAA (US Health Insurance Portability and Accountability Act)",
    "eu_ai_act": "EU AI Act",
    "sox": "SOX (Sarbanes-Oxley Act)",
}


def md_escape(value: Any) -> str:
    """Untrusted text as inline Markdown that renders literally.

    Whitespace (newlines included) collapses to single spaces, so a value cannot open a new block
    (heading, list, table row, code fence). ``\\ ` * _ [ ] < > | ~`` are backslash-escaped, so it
    cannot make emphasis, code, links, images, raw HTML or table cells; a leading ``# ``, ``>``,
    ``+ ``, ``- ``, ``===`` or ``1. `` (the forms that open a block) is escaped too. Other
    punctuation stays as it is, so prose and numbers remain readable in the raw file.
    """
    if value is None:
        return ""
    text = _MD_ALWAYS.sub(r"\\\1", " ".join(str(value).split()))
    match = _MD_LINE_START.match(text)
    if match:  # escape the character that makes the marker: '#', '>', '-', '=', or the ')' / '.' of '1.'
        pos = match.end(1) - 1 if match.group(1)[0].isdigit() else 0
        text = text[:pos] + "\\" + text[pos:]
    return text


def md_code(value: Any) -> str:
    """A value as an inline code span: a fence longer than any backtick run inside; ``|`` escaped
    (GitHub tables split cells on it even inside code spans)."""
    text = " ".join(str(value).split()).replace("|", "\\|")
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=False, undefined=StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["md"] = md_escape
    env.filters["code"] = md_code
    env.filters["num"] = fmt_number
    env.filters["val"] = fmt_value
    return env


def _source_text(source: Mapping[str, Any]) -> str:
    """Where the data came from, without connection strings or credentials."""
    kind = str(source.get("kind") or "unknown")
    if kind == "bundled":
        return f"the bundled data set '{source.get('name')}'"
    if kind in {"csv", "parquet", "jsonl"}:
        return f"a {kind.upper() if kind != 'jsonl' else 'JSON Lines'} file '{source.get('path')}'"
    if kind == "sql":
        table = source.get("table")
        return f"the SQL table '{table}'" if table else "an SQL query"
    return f"a '{kind}' source"


def _card_context(run: Mapping[str, Any]) -> dict[str, Any]:
    ctx = context(run)
    spec = ctx["spec"]
    data_spec = ctx["data_spec"]
    compliance = ctx["compliance"]
    columns = data_spec.get("columns") or {}
    target = ctx["problem"]["target"]
    features = list(data_spec.get("features") or [c for c in columns if c != target])
    sensitive = list(compliance.get("sensitive") or [])
    pii = list(compliance.get("pii") or [])
    card = plain(run.get("card") or {})
    split_spec = data_spec.get("split") or {}
    return {
        **ctx,
        "card": {"date": card.get("date"), "out_of_scope": list(card.get("out_of_scope") or []),
                 "license": card.get("license"), "citation": card.get("citation")},
        "features": features,
        "dropped": list(data_spec.get("drop") or []),
        "columns": columns,
        "sensitive": sensitive,
        "sensitive_as_features": [c for c in sensitive if c in features],
        "pii": pii,
        "regulations": [_REGULATIONS.get(r, str(r)) for r in compliance.get("regulations") or []],
        "risk_level": compliance.get("risk_level"),
        "limitations": list(compliance.get("limitations") or []),
        "intended_use": compliance.get("intended_use"),
        "notes": compliance.get("notes"),
        "fairness_criteria": list(compliance.get("fairness") or []),
        "acceptance": list((spec.get("metrics") or {}).get("acceptance") or []),
        "report_metrics": list((spec.get("metrics") or {}).get("report") or []),
        "source_text": _source_text(data_spec.get("source") or {}),
        "cleaning": data_spec.get("cleaning") or {},
        "split_spec": split_spec,
        "monitoring": spec.get("monitoring") or {},
        "deployment": spec.get("deployment") or {},
        "min_rows": data_spec.get("min_rows"),
        "quantization_summary": quantization_summary(ctx["quantization"]) if ctx["quantization"] else "",
    }


def model_card(run: Mapping[str, Any]) -> str:
    """The model card as Markdown."""
    return _environment().get_template("model_card.md.j2").render(**_card_context(run))


def datasheet(run: Mapping[str, Any]) -> str:
    """The datasheet of the training data as Markdown."""
    return _environment().get_template("datasheet.md.j2").render(**_card_context(run))
