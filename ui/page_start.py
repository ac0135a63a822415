"""Start: open a spec of the workspace, begin from a starter per task, or from a data file."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from . import state
from .workspace import DATA_SUFFIXES, MAX_UPLOAD_MB, SPEC_SUFFIXES, WorkspaceError, inside, safe_name, too_large


def new_spec_path(stem: str, suffix: str = ".yaml") -> Path:
    """A spec file in the workspace that does not exist yet, named after ``stem``."""
    ws = state.workspace()
    base = safe_name(f"{stem}{suffix}", SPEC_SUFFIXES)
    path = ws.spec_path(base)
    n = 1
    while path.exists():
        path = ws.spec_path(f"{Path(base).stem}-{n}{suffix}")
        n += 1
    return path


def page() -> None:
    st.header("Start")
    st.caption(f"Workspace: `{state.workspace().root}` — specs, uploaded data and built projects live here.")
    from_data, starter, existing = st.tabs(["From a data file", "From a starter", "Open a spec"])
    with from_data:
        _from_data()
    with starter:
        _from_starter()
    with existing:
        _open_existing()


def _open_existing() -> None:
    ws = state.workspace()
    specs = ws.specs()
    if specs:
        choice = st.selectbox("Spec", [p.name for p in specs], key="open_choice")
        if st.button("Open", key="open_button") and choice:
            state.open_spec(ws.spec_path(choice))
            state.go("Edit")
            st.rerun()
    else:
        st.info("No spec in the workspace yet.")
    upload = st.file_uploader("Or upload a spec (*.yaml, *.aispec)", type=["yaml", "yml", "aispec"], key="spec_upload",
                              max_upload_size=1)
    if upload is not None:
        try:
            name = safe_name(upload.name, SPEC_SUFFIXES)
            data = upload.getvalue()
            text = data.decode("utf-8")
        except WorkspaceError as exc:
            st.error(str(exc))
            return
        except UnicodeDecodeError:
            st.error(f"{upload.name} is not UTF-8 text")
            return
        if st.button(f"Open {name}", key="open_uploaded"):
            path = new_spec_path(Path(name).stem, Path(name).suffix)
            state.open_spec(path, text)
            state.go("Edit")
            st.rerun()


def _from_starter() -> None:
    from aispec.compiler.templates_init import render_init, starter_tasks

    tasks = starter_tasks()  # only the tasks whose starter `aispec build` builds
    task = st.selectbox("Task", tasks, key="starter_task")
    name = st.text_input("Project name", value=f"my-{task.replace('_', '-')}" if task else "", key="starter_name")
    syntax = st.radio("Syntax", ["yaml", "dsl"], horizontal=True, key="starter_syntax",
                      format_func=lambda s: "YAML (*.yaml)" if s == "yaml" else "aispec language (*.aispec)")
    if st.button("Create from the starter", key="starter_create", type="primary") and task and name:
        path = new_spec_path(name, ".aispec" if syntax == "dsl" else ".yaml")
        state.open_spec(path, render_init(task, name, syntax))
        state.go("Edit")
        st.rerun()


def _from_data() -> None:
    ws = state.workspace()
    upload = st.file_uploader(f"Upload a CSV, Parquet or JSONL file (up to {MAX_UPLOAD_MB} MB)",
                              type=[s.lstrip(".") for s in DATA_SUFFIXES], key="data_upload",
                              max_upload_size=MAX_UPLOAD_MB)
    # the browser refuses a larger file before sending it (its tooltip says so): say here what to do instead
    st.caption(f"A larger file: copy it into `{ws.data}` yourself and pick it below (training reads it from disk).")
    on_disk = sorted(p.name for p in ws.data.iterdir() if p.suffix.lower() in DATA_SUFFIXES and p.is_file()
                     and not p.name.startswith(".")) if ws.data.is_dir() else []
    picked = st.selectbox(f"Or a data file already in `{ws.data.name}/`", on_disk, index=None, key="data_pick",
                          placeholder="(none)" if on_disk else f"(no data file in {ws.data.name}/ yet)",
                          disabled=upload is not None or not on_disk)
    if upload is not None:
        if upload.size > MAX_UPLOAD_MB * 1024 * 1024:  # the browser's own check, again on this side
            st.error(too_large(upload.name, upload.size, MAX_UPLOAD_MB))
            return
        key: tuple[object, ...] = ("upload", upload.name, upload.size, upload.file_id)
    elif picked is not None:
        path = ws.data / picked
        key = ("disk", picked, path.stat().st_size, path.stat().st_mtime_ns)
    else:
        return
    if st.session_state.get("proposal_key") != key:
        from .infer import InferenceError, propose

        try:
            if upload is not None:
                stored = ws.save_upload(upload.name, upload.getvalue())
            else:
                stored = ws.data / safe_name(str(picked), DATA_SUFFIXES)
                if not inside(ws.data, stored) or not stored.is_file():
                    raise WorkspaceError(f"{picked!r} is not a file in {ws.data}")
            proposal = propose(stored, spec_dir=ws.root)
        except (WorkspaceError, InferenceError) as exc:
            st.session_state["proposal_key"] = None
            st.error(str(exc))
            return
        st.session_state["proposal_key"] = key
        st.session_state["proposal"] = proposal
        st.session_state["proposal_frame_path"] = stored
    _review(st.session_state["proposal"])


def _review(proposal: object) -> None:
    from aispec.schemas.vocabulary import TASKS, Task

    from .fields import Records, built_tasks
    from .infer import Proposal

    assert isinstance(proposal, Proposal)
    ws = state.workspace()
    stored: Path = st.session_state["proposal_frame_path"]
    st.success(f"Stored as `{stored.relative_to(ws.root).as_posix()}`: {proposal.rows:,} rows, "
               f"{len(proposal.columns)} columns.")
    for note in proposal.notes:
        st.warning(note)
    st.caption("Preview (the first rows of your file)")
    st.dataframe(proposal.preview, hide_index=True)
    st.caption("Proposed schema (`data.columns`); personal data shows its type only")
    st.table([{
        "column": c.name, "type": c.type, "nullable": c.nullable, "missing": c.missing, "distinct": c.distinct,
        "range / categories": "" if c.personal else (
            f"{c.range[0]} .. {c.range[1]}" if c.range else
            (", ".join(map(str, c.allowed[:8])) + (" ..." if len(c.allowed) > 8 else "")) if c.allowed else ""),
        "personal data?": ("yes: " + " and ".join(c.personal)) if c.personal else "",
        "note": c.note} for c in proposal.columns], hide_index=True)
    names = [c.name for c in proposal.columns]
    none_options = {"(none: find groups)": "clustering", "(none: find unusual rows)": "anomaly_detection"}
    options = names + list(none_options)
    target = st.selectbox("Column to predict (target)", options,
                          index=options.index(proposal.target) if proposal.target in options else 0,
                          key="proposal_target")
    target_column = None if target in none_options else target
    proposed = proposal.task_for(target_column, unsupervised=none_options.get(str(target), "clustering"))
    built = built_tasks(Records.live())
    tasks = [t.value for t, info in TASKS.items() if info.modality == "tabular" and t.value in built]
    supervised = target_column is not None
    tasks = [t for t in tasks if (TASKS[Task(t)].kind == "supervised") == supervised]
    task = st.selectbox("Task (proposed from the target's type and values)", tasks,
                        index=tasks.index(proposed) if proposed in tasks else 0, key="proposal_task")
    pii = st.multiselect("Personal data (`compliance.pii`: never a model input, never logged or reported)", names,
                         default=proposal.pii, key="proposal_pii")
    name = st.text_input("Project name", value=Path(proposal.file).stem, key="proposal_name")
    if st.button("Create the spec", type="primary", key="proposal_create"):
        from .infer import spec_text

        text = spec_text(proposal, name=name, target=target_column, task=task, pii=list(pii))
        path = new_spec_path(name)
        state.open_spec(path, text)
        state.go("Edit")
        st.rerun()
