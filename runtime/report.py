"""The evaluation report: one self-contained ``report.html`` plus ``metrics.json``.

The ``run`` mapping
-------------------
:func:`write`, :func:`aispec.runtime.cards.model_card` and :func:`~aispec.runtime.cards.datasheet`
take the same ``run`` mapping. Every key is optional; a section without data is left out. Values
may be plain dicts or the runtime's result objects (anything with ``to_dict()`` or a dataclass).

``spec``
    The resolved spec as plain data (``aispec show --resolved --format json``): ``project`` (name,
    description, owner, version), ``problem`` (task, target, positive_class, ...), ``data``
    (source, columns, features, drop, split, ...), ``model`` (family, params, search), ``metrics``
    (primary, report, acceptance), ``compliance`` (regulations, pii, sensitive, fairness,
    intended_use, limitations, notes, risk_level), ``deployment``.
``model``
    The model that was trained: ``{"family": str, "estimator": str, "params": {...}}``
    (``estimator``: a short description such as the estimator's repr).
``metrics``
    ``{name: value}`` on the test split: quality metrics from ``metrics.compute`` and operational
    ones (``p95_latency_ms``, ``model_size_mb``, ``train_time_s``, ...). The values the gates saw.
``train_metrics``
    Optional ``{name: value}`` on the training split (shown beside the test values).
``gates``
    ``metrics.GateReport`` (or its ``to_dict()``) over the acceptance and fairness criteria.
``per_class``
    ``metrics.per_class(...)``: ``{label: {precision, recall, f1, support}}``.
``per_group``
    ``metrics.per_group(...)``: ``{column: {"metrics", "groups", "overall", "difference", "ratio"}}``.
``fairness``
    ``metrics.fairness(...)``: ``{name: value}``.
``latency``
    ``metrics.latency(...)``: p50/p95/p99 ms, mean, max, throughput: the figures latency gates read;
    optional ``source`` (``"http"``: single-row requests to the REST service over loopback HTTP;
    ``"in_process"``: the model call alone) and ``model`` (the in-process figures, when ``source`` is
    http).
``plots``
    ``{name: png_bytes}`` in display order; names such as ``confusion_matrix``, ``roc_curve``,
    ``pr_curve``, ``residuals``, ``feature_importance``, ``learning_curve``.
``data``
    ``data.DataReport`` (or its ``to_dict()``): ``n_rows``, ``n_columns``, ``duplicates``,
    ``columns: {name: {dtype, declared_type, missing, unique, min, max, mean, std, top}}``.
``split``
    Rows per split: ``{"train": n, "validation": n, "test": n}``.
``search``
    ``search.SearchResult`` (or its ``to_dict()``): method, scoring, best_params, best_score,
    n_trials, n_failed, elapsed_s, trials.
``auto``
    ``auto.AutoResult`` (or dict): family, params, leaderboard ``[{family, params, score}]``,
    elapsed_s.
``onnx``
    ``export.OnnxReport`` (or its ``to_dict()``).
``quantization``
    ``quantize.QuantizationReport`` (or its ``to_dict()``): ``deployment.optimize.quantize``, the
    served model (int8 or float32) and why, the metric change, speed-up and sizes; absent when the
    spec does not ask for quantization.
``timings``
    ``{step: seconds}`` (e.g. ``progress.Steps.timings``).
``environment``
    Overrides :func:`environment` (python, platform, packages) — tests pass a fixed one.
``validation``
    How model selection scored candidates: the cross-validation splitter and what it keeps apart.
``positive_class``
    ``{"label", "source"}``: the class the binary metrics measure and whether the spec named it.
``metric_notes``
    ``{metric: why}`` for metrics without a value (``mape`` with a zero target, ...).
``scored_on``
    ``test`` (default), or ``train`` for a family that labels only the rows it was fitted on.
``warnings``
    Findings the user must see (data, metrics, export), never holding personal data.

Everything from the spec is untrusted text: the HTML template autoescapes (Jinja
``autoescape=True``), the Markdown cards escape with ``md_escape``.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import platform
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from aispec.schemas.vocabulary import METRICS

__all__ = ["ReportPaths", "environment", "plain", "write"]

TEMPLATES = Path(__file__).parent / "report_templates"
PACKAGES = ("aispec", "scikit-learn", "numpy", "pandas", "scipy", "optuna", "fairlearn", "skl2onnx", "onnx",
            "onnxruntime", "matplotlib", "imbalanced-learn", "torch", "keras", "xgboost-cpu", "xgboost", "lightgbm",
            "onnxmltools", "jinja2", "rich")
PLOT_TITLES = {
    "confusion_matrix": "Confusion matrix", "confusion_matrix_normalized": "Confusion matrix (normalised)",
    "roc_curve": "ROC curve", "pr_curve": "Precision-recall curve", "residuals": "Residuals",
    "feature_importance": "Feature importance", "learning_curve": "Learning curve",
    "training_curves": "Training curves (per epoch)",
    "examples": "Test images: mistakes first, with the true and predicted class",
    "forecast_vs_actual": "Forecast vs actual",
    "boosting_rounds": "Early stopping (per boosting round)",
}


# Figures a run reports that no spec can name (so they are not in the vocabulary).
_EXTRA_MEANINGS = {
    "model_p50_latency_ms": "median time of the model call alone, in process, without the web stack",
    "model_p95_latency_ms": "95th percentile of the model call alone, in process, without the web stack",
    "model_p99_latency_ms": "99th percentile of the model call alone, in process, without the web stack",
}


@dataclass(frozen=True, slots=True)
class ReportPaths:
    html: Path
    metrics_json: Path
    plots: list[Path] = field(default_factory=list)


# ------------------------------------------------------------------------------------------- plain data


def plain(value: Any) -> Any:
    """JSON-safe plain data: dataclasses and ``to_dict()`` objects expanded, numpy scalars unwrapped,
    NaN and infinities as None, tuples as lists, mapping keys as strings; bytes are dropped."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bytes | bytearray):
        return None
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, Mapping) and not _is_pandas(value):
        return plain(to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        return plain(item())
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return plain(tolist())
    if isinstance(value, Sequence | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [plain(v) for v in items]
    return str(value)


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip(".") or "plot"


def _is_pandas(value: Any) -> bool:
    return type(value).__module__.startswith("pandas")


def environment() -> dict[str, Any]:
    """Python, platform and the versions of the packages that matter for a run (installed ones only)."""
    packages: dict[str, str] = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "executable": Path(sys.executable).name,
        "packages": packages,
    }


# -------------------------------------------------------------------------------------------- context


def _get(mapping: Any, *path: str, default: Any = None) -> Any:
    for key in path:
        if not isinstance(mapping, Mapping) or key not in mapping:
            return default
        mapping = mapping[key]
    return mapping


def _section(run: Mapping[str, Any], key: str) -> Any:
    value = run.get(key)
    return None if value is None else plain(value)


def context(run: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the report, the model card and the datasheet render, as plain data."""
    spec = plain(run.get("spec") or {})
    metrics = {str(k): v for k, v in (plain(run.get("metrics") or {})).items()}
    train_metrics = plain(run.get("train_metrics") or {})
    gates = plain(run.get("gates")) or {"passed": None, "gates": []}
    gates = {"passed": gates.get("passed"), "gates": [
        {"criterion": g.get("criterion", ""), "metric": g.get("metric"), "observed": g.get("observed"),
         "passed": bool(g.get("passed")), "message": g.get("message") or g.get("criterion", ""),
         "where": g.get("where"), **{k: v for k, v in g.items() if k not in {"criterion", "metric", "observed",
                                                                           "passed", "message", "where"}}}
        for g in gates.get("gates") or []]}
    primary = _get(spec, "metrics", "primary")
    baselines = {str(k): v for k, v in (plain(run.get("baselines") or {}) or {}).items() if isinstance(v, Mapping)}
    gate_by_metric: dict[str, bool] = {}
    for gate in gates.get("gates", []):
        metric = gate.get("metric")
        gate_by_metric[metric] = gate_by_metric.get(metric, True) and bool(gate.get("passed"))
    rows = []
    for name, value in metrics.items():
        info = METRICS.get(name)
        rows.append({
            "name": name,
            "value": value,
            "train": train_metrics.get(name) if isinstance(train_metrics, Mapping) else None,
            "direction": None if info is None else ("higher" if info.higher_is_better else "lower"),
            "kind": "other" if info is None else info.kind,
            "primary": name == primary,
            "gate": gate_by_metric.get(name),
            "meaning": _EXTRA_MEANINGS.get(name, "") if info is None else info.description,
            "note": (plain(run.get("metric_notes") or {}) or {}).get(name),
            "baselines": {family: values.get(name) for family, values in baselines.items()},
        })
    has_gates = bool(gates.get("gates"))
    status = "none" if not has_gates else ("pass" if gates.get("passed") else "fail")
    plots = []
    for name, png in (run.get("plots") or {}).items():
        if isinstance(png, bytes | bytearray) and png:
            plots.append({"name": str(name), "title": PLOT_TITLES.get(str(name), str(name).replace("_", " ").title()),
                          "data_uri": "data:image/png;base64," + base64.b64encode(bytes(png)).decode("ascii"),
                          "file": f"plots/{_file_name(str(name))}.png"})
    search = _section(run, "search")
    top_trials: list[dict[str, Any]] = []
    if isinstance(search, Mapping):
        trials = [dict(t) for t in search.get("trials") or [] if isinstance(t, Mapping) and t.get("score") is not None]
        higher = search.get("greater_is_better", True)
        trials.sort(key=lambda t: (-(t["score"]) if higher else t["score"], t.get("number", 0)))
        top_trials = trials[:10]
    data = _section(run, "data")
    project = _get(spec, "project", default={}) or {}
    problem = _get(spec, "problem", default={}) or {}
    given_model = _section(run, "model") or {}
    model = {
        "family": given_model.get("family", _get(spec, "model", "family")),
        "estimator": given_model.get("estimator"),
        "params": given_model.get("params", _get(spec, "model", "params", default={})) or {},
        "backend": given_model.get("backend") or "scikit-learn",  # the back end's title
        # whether the back end trains on the validation split (early stopping, model selection)
        "uses_validation": bool(given_model.get("uses_validation")),
    }
    onnx = _section(run, "onnx")
    onnx_inputs: list[dict[str, Any]] = []
    if isinstance(onnx, Mapping):
        by_input = {name: col for col, name in (onnx.get("columns") or {}).items()}
        onnx_inputs = [{"input": name, "type": kind, "column": by_input.get(name, name)}
                       for name, kind in (onnx.get("inputs") or {}).items()]
    return {
        "spec": spec,
        "project": {
            "name": project.get("name") or "model",
            "description": project.get("description") or "",
            "owner": project.get("owner"),
            "version": project.get("version"),
        },
        "problem": {
            "task": problem.get("task"),
            "target": problem.get("target"),
            "positive_class": problem.get("positive_class"),
        },
        "model": model,
        "status": status,
        "gates": gates,
        "n_failed": sum(1 for g in gates.get("gates", []) if not g.get("passed")),
        "metric_rows": rows,
        "has_train": any(r["train"] is not None for r in rows),
        "primary": primary,
        "per_class": _section(run, "per_class"),
        "per_group": _section(run, "per_group"),
        "fairness": _section(run, "fairness"),
        "latency": _section(run, "latency"),
        "plots": plots,
        "data": data,
        "split": _section(run, "split"),
        "search": search,
        "top_trials": top_trials,
        "auto": _section(run, "auto"),
        "onnx": onnx,
        "onnx_inputs": onnx_inputs,
        "quantization": _section(run, "quantization"),
        "training": _section(run, "training"),
        "boosting": _section(run, "boosting"),
        "pruning": _section(run, "pruning"),
        "distributed": _section(run, "distributed"),
        "trials_per_node": _trials_per_node(search),
        "timings": _section(run, "timings"),
        "compliance": _get(spec, "compliance", default={}) or {},
        "data_spec": _get(spec, "data", default={}) or {},
        "environment": plain(run["environment"]) if run.get("environment") is not None else environment(),
        # how candidates were scored (the cross-validation splitter), None when nothing was selected
        "validation": run.get("validation"),
        # the class binary metrics measure: {"label", "source"}
        "evaluated_positive": _section(run, "positive_class"),
        "scored_on": run.get("scored_on") or "test",
        "warnings": list(run.get("warnings") or []),
        "rows": list((data or {}).get("rows") or []) if isinstance(data, Mapping) else [],
        "selected": bool(search) or bool(run.get("auto")),
        # reference models scored on the same rows (forecasting: naive, seasonal_naive), by metric
        "baselines": baselines,
        "forecast": plain(run.get("forecast")) or None,
    }


# ------------------------------------------------------------------------------------------ rendering


def fmt_number(value: Any, digits: int = 4) -> str:
    """A readable number: integers as integers, floats to ``digits`` significant digits, None as '—'."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        if abs(value) >= 1e9 or abs(value) < 1e-4:
            return f"{value:.3e}"
        if abs(value) >= 10 ** digits:
            return f"{value:.1f}"
        return f"{value:.{digits}g}"
    return str(value)


def fmt_value(value: Any) -> str:
    """Parameters and other mixed values: numbers via :func:`fmt_number`, containers as JSON."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        return fmt_number(value)
    if isinstance(value, Mapping | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=False, default=str)
    if value is None:
        return "—"
    return str(value)


def html_environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["num"] = fmt_number
    env.filters["val"] = fmt_value
    return env


def _trials_per_node(search: Any) -> dict[str, int]:
    """How many search trials ran on each node of a cluster (trials record ``node`` there), by node id."""
    counts: dict[str, int] = {}
    if isinstance(search, Mapping):
        for trial in search.get("trials") or []:
            node = trial.get("node") if isinstance(trial, Mapping) else None
            if isinstance(node, Mapping) and node.get("node_id"):
                counts[str(node["node_id"])] = counts.get(str(node["node_id"]), 0) + 1
    return counts


def render_html(run: Mapping[str, Any]) -> str:
    """The report as one HTML string (no external resources)."""
    return html_environment().get_template("report.html.j2").render(**context(run))


def metrics_document(run: Mapping[str, Any], ctx: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The content of metrics.json: fixed section order, plain JSON values (NaN as null)."""
    c = context(run) if ctx is None else ctx
    doc: dict[str, Any] = {
        "format": "aispec-metrics/1",
        "project": c["project"],
        "problem": c["problem"],
        "model": c["model"],
        "passed": None if c["status"] == "none" else c["status"] == "pass",
        "primary": c["primary"],
        "metrics": {r["name"]: r["value"] for r in c["metric_rows"]},
        "train_metrics": plain(run.get("train_metrics")) or None,
        "gates": c["gates"],
        "per_class": c["per_class"],
        "per_group": c["per_group"],
        "fairness": c["fairness"],
        "latency": c["latency"],
        "plots": [p["file"] for p in c["plots"]],
        "data": c["data"],
        "split": c["split"],
        "search": c["search"],
        "auto": c["auto"],
        "onnx": c["onnx"],
        "quantization": c["quantization"],
        "training": c["training"],
        "boosting": c["boosting"],
        "pruning": c["pruning"],
        "timings": c["timings"],
        "validation": c["validation"],
        "positive_class": c["evaluated_positive"],
        "scored_on": c["scored_on"],
        "metric_notes": plain(run.get("metric_notes")) or {},
        "warnings": c["warnings"],
        "predictions": run.get("predictions"),  # the file of the evaluated rows' predictions, in artifacts/
        "environment": c["environment"],
    }
    if c["distributed"]:  # hardware.distributed: the cluster that ran the search and the fit (absent without one)
        doc["distributed"] = {**c["distributed"], "trials_per_node": c["trials_per_node"]}
    if c["baselines"]:  # forecasting: the naive baselines' figures on the same forecast steps
        doc["baselines"] = c["baselines"]
    if c["forecast"]:  # forecasting: how the test split was forecast (origins, horizon, season, MASE scale)
        doc["forecast"] = c["forecast"]
    return plain(doc)  # type: ignore[no-any-return]


def write(out_dir: Path, run: Mapping[str, Any]) -> ReportPaths:
    """Write ``report.html``, ``metrics.json`` and ``plots/<name>.png`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = context(run)
    html = html_environment().get_template("report.html.j2").render(**ctx)
    html_path = out_dir / "report.html"
    html_path.write_text(html, encoding="utf-8")
    plot_paths: list[Path] = []
    plots = run.get("plots") or {}
    if plots:
        (out_dir / "plots").mkdir(exist_ok=True)
    for name, png in plots.items():
        if isinstance(png, bytes | bytearray) and png:
            path = out_dir / "plots" / f"{_file_name(str(name))}.png"
            path.write_bytes(bytes(png))
            plot_paths.append(path)
    json_path = out_dir / "metrics.json"
    text = json.dumps(metrics_document(run, ctx), indent=2, ensure_ascii=False, allow_nan=False)
    json_path.write_text(text + "\n", encoding="utf-8")
    return ReportPaths(html=html_path, metrics_json=json_path, plots=plot_paths)
