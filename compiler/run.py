"""`aispec run`: execute a built project with the current interpreter and summarise its results.

Nothing is installed behind the user's back: when the project's libraries are missing, the command
says which and how to install them.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

# Import names a built scikit-learn project needs at run time.
REQUIRED = {"sklearn": "scikit-learn", "pandas": "pandas", "numpy": "numpy", "optuna": "optuna",
            "skl2onnx": "skl2onnx", "onnxruntime": "onnxruntime", "matplotlib": "matplotlib"}


def missing_libraries() -> list[str]:
    return [dist for module, dist in REQUIRED.items() if importlib.util.find_spec(module) is None]


def run_project(project: Path, package: str, *, no_color: bool = False) -> int:
    from rich.console import Console
    from rich.table import Table

    console = Console(no_color=no_color, highlight=False)
    missing = missing_libraries()
    if missing:
        console.print(f"[bold red]missing libraries:[/] {', '.join(missing)}\n"
                      "install them with: pip install 'aispec[sklearn]'  (or: pip install -r "
                      f"{project / 'requirements.txt'})")
        return 2
    code = subprocess.call([sys.executable, "-m", package], cwd=project)
    metrics_path = project / "artifacts" / "metrics.json"
    if code == 2 or not metrics_path.exists():
        return code or 2
    summary = json.loads(metrics_path.read_text(encoding="utf-8"))
    table = Table(title=f"{summary.get('project', {}).get('name', package)}: results", show_lines=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("gate")
    gates = {g["metric"]: g for g in summary.get("gates", {}).get("gates", [])}
    for name, value in summary.get("metrics", {}).items():
        gate = gates.get(name)
        mark = "" if gate is None else (f"[green]pass[/] {gate['criterion']}" if gate["passed"]
                                        else f"[red]FAIL[/] {gate['criterion']}")
        shown = f"{value:.4g}" if isinstance(value, int | float) else str(value)
        table.add_row(name, shown, mark)
    console.print(table)
    quantization = summary.get("quantization")
    if isinstance(quantization, dict):  # deployment.optimize.quantize: what is served, and why
        console.print(f"quantization: {quantization.get('requested')} requested, {quantization.get('served')} "
                      f"served ({quantization.get('status')}): {quantization.get('reason')}", markup=False)
    artifacts = project / "artifacts"
    for label, name in (("report", "report.html"), ("model", "model.onnx"), ("float model", "model.fp32.onnx"),
                        ("model card", "model_card.md"), ("datasheet", "datasheet.md"), ("metrics", "metrics.json")):
        if (artifacts / name).exists():
            console.print(f"{label:>11}: {artifacts / name}")
    return code
