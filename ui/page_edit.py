"""Edit: the form and the text of the open spec side by side, with the compiler's diagnostics beside the
field and at the line they point at. Every change is checked at once and autosaved."""

from __future__ import annotations

from typing import Any

import streamlit as st

from aispec.compiler.source import SourceFile

from . import editor, form, state
from .diagnostics_view import headline, show_diagnostic
from .workspace import digest


def _on_edit() -> None:
    """A keystroke's text from the text view (stale ones, typed on a text the app has since replaced,
    are ignored)."""
    d = state.doc()
    edit = (st.session_state.get("editor") or {}).get("edit")
    if d is None or not isinstance(edit, dict) or d.other_tab is not None:
        return
    if edit.get("version") == d.version and isinstance(edit.get("text"), str):
        state.set_text(edit["text"], seq=int(edit.get("seq") or 0), save=False)


def _on_blur() -> None:
    st.session_state["text_blurred"] = True


@st.fragment
def text_view() -> None:
    """The text editor and the list of diagnostics: a keystroke reruns only this part of the page."""
    _on_edit()  # idempotent: also picks up an edit whose callback did not run (tests set the state directly)
    d = state.doc()
    if d is None:
        return
    result = state.check(d.text, str(d.path))
    goto = st.session_state.get("goto")
    editor.mount(key="editor", text=d.text, version=d.version, seq=d.seq, diagnostics=result.diagnostics,
                 readonly=d.other_tab is not None, goto=goto, on_edit=_on_edit, on_blur=_on_blur)
    state.flush()  # after the editor and its diagnostics are on their way to the browser
    stale = st.session_state.get("form_text") != d.text
    if st.session_state.pop("text_blurred", False) and stale:
        st.rerun()  # the whole page: the form shows what was typed
    if stale and st.session_state.get("page_ok") not in (None, result.ok):
        # the spec went from checking to not (or back): the whole page, so the form shows the problem beside
        # its field and Build and Run are enabled or disabled to match (the diagnostics above are already sent)
        st.rerun()
    errors, warnings = len(result.errors), len(result.warnings)
    st.caption(f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)} · {d.saved}")
    source = result.source
    for i, diag in enumerate(result.diagnostics):
        show_diagnostic(diag, source, key=f"text:{i}:{diag.code}")
        if diag.span is not None and st.button(f"go to line {diag.span.line}", key=f"goto:{i}", type="tertiary"):
            st.session_state["goto"] = {"line": diag.span.line, "column": diag.span.column,
                                        "nonce": (goto or {}).get("nonce", 0) + 1}
            st.rerun(scope="fragment")


def _toolbar(d: state.Doc) -> None:
    result = state.check(d.text, str(d.path))
    st.session_state["page_ok"] = result.ok  # what the page outside the text view was drawn for
    cols = st.columns([5, 1, 1, 1, 1], vertical_alignment="center")
    with cols[0]:
        st.subheader(d.name)
        st.caption(f"`{d.path}`")  # whether it is saved: under the text view, which each keystroke redraws
    with cols[1]:
        if st.button("Build", type="primary", key="edit_build", disabled=not result.ok,
                     help="Generate the project (aispec build)"):
            st.session_state["build_now"] = True
            state.go("Build")
            st.rerun()
    with cols[2]:
        if st.button("Run", key="edit_run", disabled=not result.ok,
                     help="Build, then train, evaluate, gate and document (aispec run)"):
            st.session_state["run_now"] = True
            state.go("Run")
            st.rerun()
    with cols[3]:
        if st.button("Format", key="edit_fmt", help="aispec fmt: canonical layout, comments kept",
                     disabled=d.other_tab is not None):
            _format(d, None)
    with cols[4]:
        other = "yaml" if d.path.suffix == ".aispec" else "dsl"
        if st.button(f"As {'YAML' if other == 'yaml' else 'DSL'}", key="edit_convert",
                     help="aispec convert: the same spec in the other syntax, in a new file"):
            _format(d, other)


def _format(d: state.Doc, syntax: str | None) -> None:
    from aispec.compiler.formatting import format_source

    result = format_source(SourceFile(d.path.name, d.text), syntax)
    if result.text is None:
        st.session_state["format_problem"] = "; ".join(headline(x) for x in result.diagnostics)
        return
    if syntax is None:
        state.set_text(result.text)
    else:
        from .page_start import new_spec_path

        state.open_spec(new_spec_path(d.path.stem, ".aispec" if syntax == "dsl" else ".yaml"), result.text)
    st.rerun()


def _banners(d: state.Doc) -> None:
    problem = st.session_state.pop("format_problem", None)
    if problem:
        st.error(f"Not formatted: {problem}")
    if d.other_tab is not None:
        import time

        since = time.strftime("%H:%M:%S", time.localtime(d.other_tab.since))
        st.warning(f"{d.name} is open in another browser tab (since {since}). This tab shows it read-only and saves "
                   "nothing, so the two cannot overwrite each other.", icon=":material/tab_duplicate:")
        if st.button("Edit in this tab instead", key="take_over"):
            state.claim(d, force=True)
            st.rerun()
    elif d.saved.startswith(d.name + " was changed outside"):
        st.warning(d.saved)
        cols = st.columns(2)
        if cols[0].button("Reload the file (drop my changes)", key="reload"):
            state.open_spec(d.path)
            st.rerun()
        if cols[1].button("Keep mine (overwrite the file)", key="overwrite"):
            d.disk = digest(d.path.read_text(encoding="utf-8"))
            state.autosave(d)
            st.rerun()
    good = state.workspace().last_good(d.path)
    result = state.check(d.text, str(d.path))
    if not result.ok and good is not None and good != d.text:
        with st.expander("Last good version (the newest that checked without errors)"):
            st.code(good, language="yaml" if d.path.suffix != ".aispec" else None, line_numbers=True)
            if st.button("Restore it", key="restore_good", disabled=d.other_tab is not None):
                state.set_text(good)
                st.rerun()


def page() -> None:
    d = state.doc()
    if d is None:
        st.info("Open or create a spec on the Start page first.")
        return
    _on_edit()  # a keystroke not yet applied: the form must show it too
    state.flush()  # and the banners below say how saving it went
    _toolbar(d)
    with st.container():  # always there, empty or not: what follows keeps its place in the page, so the
        _banners(d)       # text view is not mounted afresh (losing a keystroke) when a banner comes or goes
    result = state.check(d.text, str(d.path))
    view = st.segmented_control("View", ["Form and text", "Form", "Text"], default="Form and text",
                                key="edit_view", label_visibility="collapsed") or "Form and text"
    if view == "Form and text":
        left, right = st.columns([1, 1], gap="medium")
    else:
        left = right = st.container()
    if view != "Text":
        with left:
            _form_view(d, result)
    if view != "Form":
        with right:
            text_view()


def _form_view(d: state.Doc, result: Any) -> None:
    st.session_state["form_text"] = d.text
    raw = result.raw
    if raw is None or (result.parsed is not None and any(x.is_error for x in result.parsed.diagnostics)):
        first = next((x for x in result.diagnostics if x.is_error), None)
        st.error("The form needs text that reads as a spec"
                 + (f": {headline(first)}" if first else "") + ". Fix it in the text view.")
        return
    drawn = form.draw(raw, result.diagnostics, version=digest(d.text)[:16], disabled=d.other_tab is not None,
                      source=result.source)
    rest = [x for x in drawn.unplaced() if x.loc[:1] == (st.session_state.get("form_section"),) or not x.loc]
    for i, x in enumerate(rest):
        show_diagnostic(x, result.source, key=f"form-rest:{i}:{x.code}")
