"""The Run and Try pages under AppTest, with real training runs and a real service (slow): the results of
a run, a failed or cancelled run leaving the last good project alone, and a prediction (or the 4xx that
names the field) from the served model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from .conftest import messages

pytestmark = pytest.mark.slow

NewApp = Callable[[], AppTest]

FAST = """\
# a small, quick spec: a linear model on the penguins, no search
aispec: 1
project:
  name: quick
problem:
  task: classification
  target: species
data:
  source: {kind: bundled, name: palmerpenguins}
  drop: [year, sex]
model:
  family: logistic_regression
metrics:
  acceptance: [GATE]
"""


def _open(at: AppTest, workspace: Path, gate: str = "accuracy >= 0.8") -> AppTest:
    (workspace / "quick.yaml").write_text(FAST.replace("GATE", gate), encoding="utf-8")
    at.sidebar.radio(key="page").set_value("Start").run()
    at.selectbox(key="open_choice").set_value("quick.yaml")
    return at.button(key="open_button").click().run()


def _run_to_the_end(at: AppTest) -> AppTest:
    at.sidebar.radio(key="page").set_value("Run").run()
    at.button(key="run_button").click().run()
    run = at.session_state["run"]
    assert run.job.wait(300) is not None, "the run did not end"
    return at.run().run()  # the progress view sees the end, then the page shows the results


def test_a_run_shows_its_gates_and_results_then_the_model_answers(new_app: NewApp, workspace: Path) -> None:
    at = _run_to_the_end(_open(new_app(), workspace))
    assert not at.exception
    run = at.session_state["run"]
    assert run.promoted and run.job.returncode == 0
    assert any("every gate passed" in s.value for s in at.success)
    assert any(h.value == "Gates passed" for h in at.subheader)
    gates = at.table[0].value
    metrics = json.loads((workspace / "quick" / "artifacts" / "metrics.json").read_text(encoding="utf-8"))
    accuracy = metrics["metrics"]["accuracy"]
    row = gates[gates["criterion"] == "`accuracy >= 0.8`"].iloc[0]
    assert row["gate"] == "pass" and float(row["measured"]) == pytest.approx(accuracy, rel=1e-3)
    assert next(m.label for m in at.metric) == metrics["primary"]
    assert (workspace / "quick" / "artifacts" / "report.html").exists()
    assert any(r"Model card" in t.label for t in at.tabs)

    # Try: the service, a prediction, and a 4xx that names the field
    at.button(key="run_try").click().run()
    assert at.session_state["page"] == "Try"
    service = at.session_state["service"]
    try:
        assert service.url is not None and service.url.startswith("http://127.0.0.1:")
        at.form_submit_button[0].click().run()  # the form comes filled with the service's example row
        assert any("Prediction:" in s.value for s in at.success), messages(at)
        answer = at.session_state["serve_answer"]
        assert answer[0] == 200 and answer[1]["label"] in ("Adelie", "Chinstrap", "Gentoo")
        at.text_input(key="row:bill_length_mm").set_value("very long")
        at.form_submit_button[0].click().run()
        status, body = at.session_state["serve_answer"]
        assert status == 422
        assert any("bill_length_mm" in m for m in messages(at)), messages(at)
        assert body["problems"][0]["field"].endswith("bill_length_mm")
    finally:
        service.stop()
    assert not service.job.running


def test_a_failed_gate_leaves_the_last_good_project(new_app: NewApp, workspace: Path) -> None:
    at = _run_to_the_end(_open(new_app(), workspace))
    good = (workspace / "quick" / "artifacts" / "metrics.json").read_bytes()
    spec = workspace / "quick.yaml"
    at = _open(at, workspace, gate="accuracy <= 0.01")
    assert "accuracy <= 0.01" in spec.read_text(encoding="utf-8")
    at = _run_to_the_end(at)
    run = at.session_state["run"]
    assert run.job.returncode == 1 and not run.promoted
    assert any("a gate failed; the last good project quick/ is unchanged" in m for m in messages(at))
    assert any(h.value == "Gates failed" for h in at.subheader)  # the failed run's own results are shown
    assert (workspace / "quick" / "artifacts" / "metrics.json").read_bytes() == good


def test_a_cancelled_run_stops_and_leaves_the_last_good_project(new_app: NewApp, workspace: Path) -> None:
    at = _open(new_app(), workspace)
    at.sidebar.radio(key="page").set_value("Run").run()
    at.button(key="run_button").click().run()
    run = at.session_state["run"]
    assert run.job.running
    at.button(key="run_cancel").click().run()
    assert run.job.wait(30) is not None
    at.run().run()
    assert run.job.stopped == "cancelled" and not run.promoted
    assert any("stopped (cancelled)" in m for m in messages(at))
    assert not (workspace / "quick").exists()  # there was no good project, and there still is none
