"""Whether the served model passed the gates of its training run, and what follows from it.

``serving.json``'s ``gates`` section is the training run's gate report (acceptance, fairness and any
other gate, ONNX parity included: every failed gate counts the same, whatever its metric). Policy:

* **passed**: served as usual.
* **failed**: ``aispec serve``, ``python -m aispec.runtime.serving``, batch scoring and
  ``aispec image build`` refuse the model (exit 1), naming each failed gate with its measured value,
  unless told otherwise: ``--allow-failed-gates`` (or ``AISPEC_ALLOW_FAILED_GATES=1``, which an image
  built with ``aispec image build --allow-failed-gates`` carries). An overridden model is served, but
  the start-up log says so loudly, ``/v1/model`` shows ``"gates_passed": false`` and the gates, and
  ``/metrics`` exposes ``aispec_model_gates_passed 0``.
* **unknown** (a ``serving.json`` written before gates were recorded, or by another tool): served,
  with a warning at start-up; ``/v1/model`` shows ``"gates_passed": null`` and the gauge is ``-1``.
  Refusing would stop every model trained before this rule; retraining records the gates.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from .contract import GateContract, ServingMetadata

__all__ = ["ALLOW_ENV", "GatesFailed", "allowed_by_env", "describe", "failed", "gauge_value", "refusal", "status"]

ALLOW_ENV = "AISPEC_ALLOW_FAILED_GATES"
Status = Literal["passed", "failed", "unknown"]


class GatesFailed(Exception):
    """The model failed gates of its training run and no override was given."""

    def __init__(self, message: str, failed: list[GateContract]) -> None:
        super().__init__(message)
        self.message = message
        self.failed = failed


def status(meta: ServingMetadata | Mapping[str, Any]) -> Status:
    """``failed`` when the report says so or any gate failed (a hand-edited ``passed: true`` does not hide one)."""
    gates = meta.get("gates")
    if gates is None:
        return "unknown"
    return "passed" if gates["passed"] and all(g["passed"] for g in gates["gates"]) else "failed"


def failed(meta: ServingMetadata | Mapping[str, Any]) -> list[GateContract]:
    gates = meta.get("gates")
    return [g for g in gates["gates"] if not g["passed"]] if gates is not None else []


def gauge_value(meta: ServingMetadata | Mapping[str, Any]) -> float:
    """``aispec_model_gates_passed``: 1 passed, 0 failed, -1 unknown."""
    return {"passed": 1.0, "failed": 0.0, "unknown": -1.0}[status(meta)]


def _line(gate: GateContract) -> str:
    observed = gate.get("observed")
    shown = "not computed" if observed is None else f"{observed:.6g}"
    criterion = gate.get("criterion") or gate["metric"]
    text = gate.get("message") or f"{gate['metric']} = {shown}"
    where = gate.get("where")
    return f"{criterion}: measured {shown} ({text})" + (f" [{where}]" if where else "")


def describe(meta: ServingMetadata | Mapping[str, Any]) -> str:
    """One line per failed gate: criterion, measured value, message and where the spec declares it."""
    lines = [f"  - {_line(g)}" for g in failed(meta)]
    return "\n".join(lines) or "  - the gate report says the run failed (gates.passed: false) but names no gate"


def allowed_by_env() -> bool:
    return os.environ.get(ALLOW_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def refusal(meta: ServingMetadata | Mapping[str, Any], what: str, override: str) -> GatesFailed:
    """The error for a model that failed its gates: ``what`` is refused; ``override`` says how to force it."""
    gates = failed(meta)
    project = meta.get("project") or {}
    title = f"{project.get('name', 'the model')} {project.get('version', '')}".strip()
    count = f"{len(gates)} gate{'s' if len(gates) != 1 else ''}"
    message = (f"{title} failed {count} of its training run; {what}:\n{describe(meta)}\n"
               f"fix the model and retrain, or {override} to use it anyway")
    return GatesFailed(message, gates)
