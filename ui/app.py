"""The aispec editor: ``aispec ui`` (or ``streamlit run`` on this file).

Pages: Start (a spec from a starter, a file or a data file), Edit (form and text, diagnostics as you
type, autosave), Build (the generated project, what changed, a zip), Run (train with progress, then
gates, metrics, report), Try (the model's service, a prediction). Everything is a call into the
compiler's and the runtime's own functions.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from aispec.ui import page_build, page_edit, page_run, page_start, page_try, state

PAGES = {"Start": page_start.page, "Edit": page_edit.page, "Build": page_build.page, "Run": page_run.page,
         "Try": page_try.page}


def _first_run() -> None:
    """Once per tab: open the spec ``aispec ui`` was given (AISPEC_UI_SPEC)."""
    if st.session_state.get("started"):
        return
    st.session_state["started"] = True
    spec = os.environ.get("AISPEC_UI_SPEC")
    if spec and Path(spec).is_file():
        ws = state.workspace()
        path = Path(spec).resolve()
        if path.parent == ws.root:
            state.open_spec(path)
            state.go("Edit")


@st.fragment(run_every=5.0)
def _heartbeat() -> None:
    """Keep this tab's hold on its spec alive (a closed tab's hold lapses; see Workspace.claim)."""
    d = state.doc()
    if d is not None and d.other_tab is None:
        state.claim(d)
        state.flush()  # a keystroke whose run was cut short by the next one is saved here at the latest


def _sidebar() -> str:
    if "go" in st.session_state:
        st.session_state["page"] = st.session_state.pop("go")
    with st.sidebar:
        st.title("aispec")
        page = st.radio("Step", list(PAGES), key="page", label_visibility="collapsed") or "Start"
        d = state.doc()
        if d is not None:
            if page == "Edit":  # the text view says it as you type (this part is not redrawn per keystroke)
                st.caption(f"**{d.name}**")
            else:
                result = state.check(d.text, str(d.path))
                st.caption(f"**{d.name}** · {len(result.errors)} errors, {len(result.warnings)} warnings")
                st.caption(d.saved or "saved")
            _heartbeat()
    return page


def main() -> None:
    st.set_page_config(page_title="aispec editor", layout="wide")
    _first_run()
    page = _sidebar()
    d = state.doc()
    if d is not None:
        state.claim(d)  # keep the hold (or learn that another tab took it, or that it was released)
        state.flush()  # every page reads the file as saved (Build and Run build from it)
    try:
        PAGES[page]()
    except Exception as exc:  # a bug in the editor: say so plainly, keep the details one click away
        st.error(f"The editor hit an internal error ({type(exc).__name__}: {exc}). Your spec is saved; "
                 "please report this with the details below.")
        with st.expander("Details"):
            st.exception(exc)


main()
