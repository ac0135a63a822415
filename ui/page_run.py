"""Run: build, then train in a background process (progress, cancel), then the gates, the metrics and
plots, the report, the model card and the datasheet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from . import jobs, projects, state
from .diagnostics_view import show_diagnostic
from .page_build import project_dir, saved_or_say


def limits() -> jobs.Limits:
    return jobs.Limits.from_env()


def page() -> None:
    d = state.doc()
    if d is None:
        st.info("Open or create a spec on the Start page first.")
        return
    st.header("Run")
    result = state.check(d.text, str(d.path))
    project = project_dir()
    if not result.ok or project is None:
        st.error(f"{d.name} has errors; fix them on the Edit page first.")
        return
    run: projects.Run | None = st.session_state.get("run")
    busy = run is not None and run.job.running
    cols = st.columns([2, 5], vertical_alignment="center")
    start = cols[0].button("Run: train, evaluate, gate", type="primary", key="run_button", disabled=busy)
    lim = limits()
    cols[1].caption(f"A background process in a copy of `{project.name}/`, limited to {lim.seconds / 60:.0f} min"
                    + (f" and {lim.memory / 2**30:.1f} GiB" if lim.memory else "")
                    + "; the project is replaced only when every gate passes.")
    if (start or st.session_state.pop("run_now", False)) and not busy and saved_or_say(d):
        try:
            new, built = projects.start_run(d.path, project, limits=lim)
        except RuntimeError as exc:
            st.error(str(exc))
            return
        if new is None:
            st.error("The build failed; nothing was trained and the last good project is unchanged.")
            for i, diag in enumerate(built.diagnostics):
                show_diagnostic(diag, built.check.source, key=f"run-build:{i}")
            return
        st.session_state["run"] = run = new
    if run is not None and run.project == project:
        progress(run)
    elif (project / "artifacts" / "metrics.json").exists():
        st.caption(f"The last good project's results (`{project.name}/artifacts/`)")
        show_results(project)


def progress(run: projects.Run) -> None:
    @st.fragment(run_every=1.0 if run.job.running else None)
    def live() -> None:
        job = run.job
        if not job.running and not run.outcome:
            run.finish()
            st.rerun()  # the whole page: the results replace the progress
        log = job.output()
        done = projects.steps(log)
        if job.running:
            current = next((name for name, status in reversed(done) if status == "running"), "starting")
            st.progress(min(0.95, sum(1 for _, s in done if s == "done") / 9),
                        text=f"{current} · {job.elapsed:.0f} s")
            if st.button("Cancel", key="run_cancel"):
                job.stop("cancelled")
                st.rerun()
        marks = [f"{ {'done': ':green[✓]', 'running': ':blue[…]', 'failed': ':red[✗]'}[status]} {name}"
                 for name, status in done]
        if job.running:
            for mark in marks:
                st.markdown(mark)
        elif marks:  # over: one line, so the gates and results come first into view
            st.markdown(" · ".join(marks) + f" · {job.elapsed:.0f} s")
        with st.expander("Output", expanded=not job.running and job.returncode not in (0, 1)):
            st.code(log[-20_000:] or "(nothing yet)", language=None)

    live()
    if run.outcome:
        (st.success if run.promoted else st.error)(run.outcome)
        if (run.folder / "artifacts" / "metrics.json").exists():
            show_results(run.folder)
            if run.promoted and st.button("Try the model", type="primary", key="run_try",
                                          help="Start the model's REST service and send it a prediction"):
                st.session_state["serve_now"] = True
                state.go("Try")
                st.rerun()


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def show_results(folder: Path) -> None:
    res = projects.results(folder)
    if res.metrics is None:
        return
    gates = res.gates
    if gates:
        st.subheader("Gates " + ("passed" if res.passed else "failed"))
        # the criterion as code: as written in the spec (markdown would print >= as a typographic sign)
        st.table([{"gate": "pass" if g.get("passed") else "FAIL",
                   "criterion": f"`{g.get('criterion') or g.get('metric')}`",
                   "measured": _number(g.get("observed")), "detail": g.get("message", "")} for g in gates],
                 hide_index=True)
    metrics = res.metrics.get("metrics") or {}
    primary = res.metrics.get("primary")
    shown = [m for m in ([primary] if primary else []) + list(metrics) if m in metrics][:6]
    if shown:
        st.subheader("Key metrics")
        cols = st.columns(len(dict.fromkeys(shown)))
        for col, name in zip(cols, dict.fromkeys(shown), strict=False):
            col.metric(name, _number(metrics[name]))
    if res.plots:
        st.subheader("Plots")
        cols = st.columns(min(3, len(res.plots)))
        for i, plot in enumerate(res.plots):
            cols[i % len(cols)].image(str(plot), caption=plot.stem.replace("_", " "))
    report, card, sheet = st.tabs(["Report", "Model card", "Datasheet"])
    with report:
        if res.report is not None:
            st.iframe(res.report, height=900)
    with card:
        st.markdown(res.model_card or "(none)")
    with sheet:
        st.markdown(res.datasheet or "(none)")
