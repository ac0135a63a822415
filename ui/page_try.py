"""Try: start the trained project's REST service and send it a prediction from a form built from the
service's request schema; see the answer, or the 4xx and the field it names."""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from . import service
from .page_build import project_dir
from .page_run import limits


def _current(project: Path) -> service.Service | None:
    svc: service.Service | None = st.session_state.get("service")
    if svc is not None and (svc.project != project or not svc.job.running):
        svc.stop()
        st.session_state["service"] = svc = None
    return svc


def page() -> None:
    st.header("Try the model")
    project = project_dir()
    if project is None:
        st.info("Open a spec that checks, then build and run it.")
        return
    if not (project / "artifacts" / "serving.json").exists():
        st.info(f"`{project.name}/` has no trained model yet: run it first (the Run page).")
        return
    svc = _current(project)
    if svc is None:
        if st.button("Start the service", type="primary", key="serve_start") or st.session_state.pop("serve_now",
                                                                                                     False):
            svc = service.start(project, limits=limits())
            st.session_state["service"] = svc
        else:
            return
    with st.spinner("Starting the service..."):
        ready = svc.ready(timeout=60)
    if not ready:
        st.error("The service did not start:")
        st.code(svc.job.output()[-5000:], language=None)
        svc.stop()
        st.session_state["service"] = None
        return
    cols = st.columns([4, 1], vertical_alignment="center")
    cols[0].caption(f"`{project.name}` served at {svc.url} (loopback only)")
    if cols[1].button("Stop the service", key="serve_stop"):
        svc.stop()
        st.session_state["service"] = None
        st.rerun()
    _predict(svc)


def _predict(svc: service.Service) -> None:
    if "serve_inputs" not in st.session_state or st.session_state.get("serve_inputs_url") != svc.url:
        st.session_state["serve_inputs"] = service.request_inputs(svc.get("/openapi.json"))
        st.session_state["serve_inputs_url"] = svc.url
    inputs: list[service.Input] = st.session_state["serve_inputs"]
    with st.form("predict_form"):
        st.caption("One row, as a client sends it (the fields and their limits come from the service's schema)")
        cols = st.columns(2)
        texts: dict[str, str] = {}
        for i, field in enumerate(inputs):
            label = field.name + ("" if field.required else " (optional)")
            where = cols[i % 2]
            if field.kind in ("choice", "boolean"):
                options = ["", *([str(c) for c in field.choices] if field.kind == "choice" else ["true", "false"])]
                example = "" if field.example is None else (
                    str(field.example).lower() if isinstance(field.example, bool) else str(field.example))
                texts[field.name] = where.selectbox(label, options, index=options.index(example)
                                                    if example in options else 0, key=f"row:{field.name}",
                                                    help=field.description) or ""
            else:
                bounds = " ".join(x for x in (f"≥ {field.minimum:g}" if field.minimum is not None else "",
                                              f"≤ {field.maximum:g}" if field.maximum is not None else "") if x)
                texts[field.name] = where.text_input(label, value="" if field.example is None else str(field.example),
                                                     key=f"row:{field.name}",
                                                     help=" ".join(x for x in (field.description, bounds) if x))
        sent = st.form_submit_button("Send", type="primary")
    if sent:
        row = {f.name: service.row_value(f, texts[f.name]) for f in inputs}
        row = {k: v for k, v in row.items() if v is not None}
        st.session_state["serve_answer"] = svc.predict(row)
    answer = st.session_state.get("serve_answer")
    if answer is not None:
        status, body = answer
        if status == 200:
            shown = body.get("label", body.get("value", body.get("prediction"))) if isinstance(body, dict) else body
            st.success(f"Prediction: **{shown}**")
        else:
            st.error(f"{status}: {body.get('message', '') if isinstance(body, dict) else body}")
            for problem in (body.get("problems") or []) if isinstance(body, dict) else []:
                st.error(f"field `{problem.get('field')}`: {problem.get('problem')}")
        st.code(json.dumps(body, indent=2), language="json")
