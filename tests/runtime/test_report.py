"""aispec.runtime.report (report.html + metrics.json) and aispec.runtime.progress (the step runner)."""

from __future__ import annotations

import base64
import io
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from aispec.runtime import metrics as M
from aispec.runtime import plots, report
from aispec.runtime.progress import Steps

EVIL = "<script>alert('owned')</script>"
ENV = {"python": "3.11.0", "implementation": "CPython", "platform": "Linux", "machine": "x86_64",
       "packages": {"scikit-learn": "1.9.1"}}
RNG = np.random.default_rng(5)
LABELS = ["Adelie", "Chinstrap", "Gentoo"]
Y = np.array(LABELS)[RNG.integers(0, 3, 60)]
YP = np.where(RNG.random(60) < 0.15, np.roll(Y, 1), Y)


def spec(**compliance: Any) -> dict[str, Any]:
    return {
        "project": {"name": "penguin-species", "description": f"Penguins {EVIL}", "owner": "ml@example.org",
                    "version": "1.0.0"},
        "problem": {"task": "classification", "target": "species"},
        "data": {"source": {"kind": "csv", "path": "data/penguins.csv"},
                 "columns": {"species": {"type": "categorical", "nullable": False, "allowed": LABELS},
                             "bill": {"type": "numeric", "nullable": True, "range": [25.0, 70.0], "unit": "mm"},
                             f"note{EVIL}": {"type": "text", "nullable": True}},
                 "features": ["bill", f"note{EVIL}"], "drop": [], "min_rows": 10,
                 "split": {"train": 0.8, "validation": 0.0, "test": 0.2, "stratify": True, "seed": 42}},
        "model": {"family": "random_forest", "params": {"n_estimators": 300}},
        "metrics": {"primary": "f1_macro", "report": ["accuracy", "f1_macro"],
                    "acceptance": ["accuracy >= 0.9", "f1_macro >= 0.5"]},
        "compliance": {"regulations": ["gdpr"], "pii": [], "sensitive": ["sex"], "fairness": [],
                       "intended_use": "Field work.", "limitations": [f"Only three species {EVIL}"],
                       **compliance},
    }


def full_run() -> dict[str, Any]:
    values = M.compute("classification", ["accuracy", "f1_macro", "mcc"], y_true=Y, y_pred=YP, labels=LABELS)
    values["p95_latency_ms"] = 1.25
    values["nan_metric"] = float("nan")
    gates = M.check_gates(["accuracy >= 0.9", "f1_macro >= 0.5", "p99_latency_ms <= 10"], values,
                          locations={"metrics.acceptance.0": "spec.yaml:30:7"})
    sensitive = {"sex": np.where(np.arange(60) % 2 == 0, "female", EVIL)}
    import pandas as pd

    frame = pd.DataFrame(sensitive)
    return {
        "spec": spec(),
        "model": {"family": "random_forest", "estimator": "RandomForestClassifier(n_estimators=300)",
                  "params": {"n_estimators": 300, "max_depth": None}},
        "metrics": values,
        "train_metrics": {"accuracy": 1.0, "f1_macro": 1.0},
        "gates": gates,
        "per_class": M.per_class(Y, YP, LABELS),
        "per_group": M.per_group(frame, Y, YP, task="classification"),
        "fairness": M.fairness(frame, Y, YP, ["demographic_parity_difference"]),
        "latency": {"p50_latency_ms": 1.0, "p95_latency_ms": 1.25, "p99_latency_ms": 2.0, "throughput_per_s": 900.0,
                    "n_calls": 200.0},
        "plots": {"confusion_matrix": plots.confusion_matrix(Y, YP, LABELS),
                  "feature_importance": plots.feature_importance({"bill": 0.4, f"note{EVIL}": 0.1})},
        "data": {"n_rows": 60, "n_columns": 3, "duplicates": 0,
                 "columns": {"species": {"name": "species", "dtype": "str", "declared_type": "categorical",
                                         "missing": 0, "unique": 3, "min": None, "max": None, "mean": None,
                                         "std": None, "top": [["Adelie", 25], [EVIL, 1]]},
                             "bill": {"name": "bill", "dtype": "float64", "declared_type": "numeric", "missing": 2,
                                      "unique": 50, "min": 32.1, "max": 59.6, "mean": 43.9, "std": float("nan"),
                                      "top": []}}},
        "split": {"train": 48, "test": 12},
        "search": {"method": "random", "scoring": "f1_macro", "greater_is_better": True,
                   "best_params": {"max_depth": 4, "criterion": EVIL}, "best_score": 0.97, "n_trials": 3,
                   "n_failed": 1, "elapsed_s": 1.5,
                   "trials": [{"number": 0, "params": {"max_depth": 2}, "score": 0.9, "state": "complete"},
                              {"number": 1, "params": {"max_depth": 4}, "score": 0.97, "state": "complete"},
                              {"number": 2, "params": {"max_depth": 8}, "score": None, "state": "failed"}]},
        "auto": {"family": "random_forest", "leaderboard": [{"family": "random_forest", "params": {}, "score": 0.97},
                                                            {"family": "knn", "params": {"k": 5}, "score": 0.9}],
                 "elapsed_s": 3.0},
        "onnx": {"path": "model.onnx", "n_rows": 12, "label_agreement": 1.0, "max_abs_diff": 1e-7,
                 "mean_abs_diff": 1e-8, "scale": 1.0, "compared": "predict_proba vs probabilities",
                 "inputs": {"bill": "float", "note_script_": "string"},
                 "columns": {"bill": "bill", f"note{EVIL}": "note_script_"}, "outputs": ["label", "probabilities"],
                 "opset": {"": 17, "ai.onnx.ml": 3}, "size_bytes": 2048, "tol": 0.01, "max_tol": 0.25,
                 "min_label_agreement": 0.99, "parity_ok": True, "warnings": []},
        "timings": {"Load data": 0.1, "Fit": 1.2},
        "environment": ENV,
    }


def test_write_creates_report_metrics_and_plots(tmp_path: Path) -> None:
    run = full_run()
    paths = report.write(tmp_path, run)
    assert paths.html == tmp_path / "report.html" and paths.metrics_json == tmp_path / "metrics.json"
    assert [p.name for p in paths.plots] == ["confusion_matrix.png", "feature_importance.png"]
    assert paths.plots[0].read_bytes() == run["plots"]["confusion_matrix"]
    html = paths.html.read_text(encoding="utf-8")
    for section in ("summary", "metrics", "per-class", "fairness", "plots", "data", "search", "onnx", "environment"):
        assert f'id="{section}"' in html, section


def test_report_is_self_contained(tmp_path: Path) -> None:
    run = full_run()
    html = report.write(tmp_path, run).html.read_text(encoding="utf-8")
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html)
    assert refs and all(r.startswith(("data:", "#")) for r in refs), refs
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower() and "<link" not in html.lower() and "@import" not in html
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    assert [base64.b64decode(i) for i in images] == list(run["plots"].values())
    assert "<style>" in html


def test_untrusted_text_is_escaped(tmp_path: Path) -> None:
    html = report.write(tmp_path, full_run()).html.read_text(encoding="utf-8")
    assert EVIL not in html
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in html
    # in the description, a per-group name, a data column's top value, a search parameter, an ONNX column
    assert html.count("&lt;script&gt;") >= 5


def test_gate_banner_states(tmp_path: Path) -> None:
    failing = report.render_html(full_run())
    assert "1 of 3 gates failed" in failing and "p99_latency_ms was not computed" in failing
    assert "spec.yaml:30:7" in failing
    passing_run = full_run() | {"gates": M.check_gates(["accuracy >= 0.1"], {"accuracy": 0.5})}
    assert "All 1 gate passed" in report.render_html(passing_run)
    assert "No gates declared" in report.render_html(full_run() | {"gates": None})


def test_minimal_run_renders(tmp_path: Path) -> None:
    paths = report.write(tmp_path, {"metrics": {"r2": 0.5}, "environment": ENV})
    html = paths.html.read_text(encoding="utf-8")
    assert "<h1>model</h1>" in html and "r2" in html and 'id="plots"' not in html
    doc = json.loads(paths.metrics_json.read_text(encoding="utf-8"))
    assert doc["metrics"] == {"r2": 0.5} and doc["passed"] is None and doc["plots"] == []


def test_result_objects_are_accepted(tmp_path: Path) -> None:
    run = full_run()
    assert isinstance(run["gates"], M.GateReport)  # a dataclass with to_dict()
    doc = json.loads(report.write(tmp_path, run).metrics_json.read_text(encoding="utf-8"))
    assert doc["gates"]["passed"] is False and len(doc["gates"]["gates"]) == 3


def _no_nan(text: str) -> Any:
    def refuse(token: str) -> Any:
        raise AssertionError(f"non-JSON constant {token}")
    return json.loads(text, parse_constant=refuse)


def test_metrics_json_is_strict_stable_and_deterministic(tmp_path: Path) -> None:
    run = full_run()
    first = report.write(tmp_path / "a", run).metrics_json.read_bytes()
    second = report.write(tmp_path / "b", run).metrics_json.read_bytes()
    assert first == second
    doc = _no_nan(first.decode("utf-8"))
    assert list(doc) == ["format", "project", "problem", "model", "passed", "primary", "metrics", "train_metrics",
                         "gates", "per_class", "per_group", "fairness", "latency", "plots", "data", "split", "search",
                         "auto", "onnx", "quantization", "training", "boosting", "pruning", "timings", "validation",
                         "positive_class",
                         "scored_on", "metric_notes", "warnings", "predictions", "environment"]
    assert doc["metrics"]["nan_metric"] is None
    assert doc["data"]["columns"]["bill"]["std"] is None
    assert doc["passed"] is False
    assert doc["plots"] == ["plots/confusion_matrix.png", "plots/feature_importance.png"]
    assert doc["environment"] == ENV
    assert list(doc["metrics"]) == ["accuracy", "f1_macro", "mcc", "p95_latency_ms", "nan_metric"]
    html_a = (tmp_path / "a" / "report.html").read_bytes()
    assert html_a == (tmp_path / "b" / "report.html").read_bytes()


def test_plot_names_cannot_escape_the_plots_folder(tmp_path: Path) -> None:
    png = plots.residuals([1.0, 2.0], [1.5, 2.5])
    paths = report.write(tmp_path, {"plots": {"../../evil": png}, "environment": ENV})
    assert [p.parent for p in paths.plots] == [tmp_path / "plots"]


def test_top_trials_sorted_by_score() -> None:
    ctx = report.context(full_run())
    assert [t["number"] for t in ctx["top_trials"]] == [1, 0]  # the failed trial (no score) is left out


def test_environment_lists_python_and_packages() -> None:
    env = report.environment()
    assert env["python"].count(".") == 2
    assert "numpy" in env["packages"] and "scikit-learn" in env["packages"]


def test_plain_data() -> None:
    from dataclasses import dataclass

    @dataclass
    class Thing:
        a: float
        b: tuple[int, ...]

    assert report.plain({"x": np.float32(0.5), "y": np.int64(3), "z": float("inf"), 1: Thing(float("nan"), (1, 2)),
                         "p": Path("a/b"), "arr": np.array([1.0, np.nan]), "s": {"b", "a"}, "raw": b"\x00"}) == {
        "x": 0.5, "y": 3, "z": None, "1": {"a": None, "b": [1, 2]}, "p": "a/b", "arr": [1.0, None],
        "s": ["a", "b"], "raw": None}


@pytest.mark.parametrize(("value", "text"), [
    (None, "—"), (3, "3"), (3.0, "3"), (0.98765432, "0.9877"), (12.3456, "12.35"), (123456.7, "123456.7"),
    (1e-7, "1.000e-07"), (float("nan"), "—"), (True, "yes"), ("x", "x"),
])
def test_number_format(value: Any, text: str) -> None:
    assert report.fmt_number(value) == text


# ---------------------------------------------------------------------------------------------- progress


def plain_console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=False, width=100, highlight=False), buffer


def test_steps_plain_output_when_not_a_terminal() -> None:
    console, buffer = plain_console()
    steps = Steps(title="train [penguins]", console=console)
    with steps.step("Load data"):
        pass
    with steps.step("Search") as step:
        step.update("3 trials")
    with pytest.raises(ValueError, match="boom"), steps.step("Export"):
        raise ValueError("boom")
    total = steps.done()
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "train [penguins]"
    assert re.fullmatch(r"(→|->) Load data", lines[1])
    assert re.fullmatch(r"(✓|ok) Load data in \d+\.\d\d s", lines[2])
    assert re.fullmatch(r"(✓|ok) Search \(3 trials\) in \d+\.\d\d s", lines[4])
    assert re.fullmatch(r"(✗|FAILED) Export failed after \d+\.\d\d s \(ValueError\)", lines[6])
    assert re.fullmatch(r"3 steps in \d+\.\d\d s, failed: Export", lines[7])
    assert "\x1b" not in buffer.getvalue()
    assert [s.status for s in steps.steps] == ["done", "done", "failed"]
    assert list(steps.timings) == ["Load data", "Search", "Export"]
    assert all(v >= 0 for v in steps.timings.values()) and total >= 0


def test_steps_on_a_terminal_show_marks_and_times() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100, color_system="standard")
    steps = Steps(console=console)
    assert steps.interactive
    with steps.step("Fit [model]"):
        pass
    out = buffer.getvalue()
    assert "Fit [model]" in out and re.search(r"\d+\.\d\d s", out)
    assert not math.isnan(steps.timings["Fit [model]"])


def test_a_location_is_never_read_as_an_emoji_code() -> None:
    """rich turns ``:100:`` into an emoji: a spec location on line 100 printed as ``spec.yaml💯7``."""
    from aispec.runtime.errors import DataError

    buffer = io.StringIO()
    steps = Steps("penguins", file=buffer)
    steps.fail(DataError("recall = 0.81, required >= 85%", where="spec.yaml:100:7"))
    assert "spec.yaml:100:7: recall" in buffer.getvalue()


def test_steps_fail_and_summary() -> None:
    from aispec.runtime.errors import DataError

    console, buffer = plain_console()
    steps = Steps("penguins", console=console)
    with steps.step("Fit"):
        pass
    steps.fail(DataError("column 'bill' is missing", where="spec.yaml:12:5", hint="check the data"))
    gates = M.check_gates(["accuracy >= 0.9", "f1_macro >= 0.9"], {"accuracy": 0.95, "f1_macro": 0.8},
                          locations={"metrics.acceptance.1": "spec.yaml:40:7"})
    outputs = report.ReportPaths(html=Path("artifacts/report.html"), metrics_json=Path("artifacts/metrics.json"),
                                 plots=[Path("artifacts/plots/roc_curve.png")])
    total = steps.summary(gates, outputs)
    lines = buffer.getvalue().splitlines()
    assert "error: spec.yaml:12:5: column 'bill' is missing (hint: check the data)" in lines
    assert "Gates: 1 of 2 passed" in lines
    assert re.search(r"^  (✗|FAILED) spec.yaml:40:7: f1_macro = 0.8, required >= 0.9$", "\n".join(lines), re.M)
    assert lines[-5:-1] == ["Wrote:", "  artifacts/report.html", "  artifacts/metrics.json", "  artifacts/plots/"]
    assert re.fullmatch(r"1 step in \d+\.\d\d s", lines[-1]) and total >= 0
    console, buffer = plain_console()
    Steps(console=console).summary({"passed": True, "gates": []}, {"card": "artifacts/model_card.md"})
    assert buffer.getvalue().splitlines()[:2] == ["Wrote:", "  artifacts/model_card.md"]
