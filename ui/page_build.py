"""Build: generate the project (``aispec build``), see what changed, browse its files, download a zip."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from aispec.compiler.diagnostics import Diagnostic
from aispec.compiler.source import SourceFile

from . import projects, state
from .diagnostics_view import show_diagnostic
from .workspace import digest

LANGUAGES = {".py": "python", ".md": "markdown", ".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json",
             ".txt": None, ".html": "html", ".cfg": "ini", ".j2": "jinja2", ".sh": "bash", "Dockerfile": "docker",
             "Makefile": "makefile", ".gitignore": None, ".aispec": None}
TEXT_LIMIT = 400_000  # characters of one file shown; more is offered as a download of the zip only


def project_dir() -> Path | None:
    """The open spec's project folder in the workspace (None while the spec does not check)."""
    d = state.doc()
    if d is None:
        return None
    result = state.check(d.text, str(d.path))
    if result.spec is None:
        return None
    return state.workspace().project_dir(result.spec.project.name)


def saved_or_say(d: state.Doc) -> bool:
    """Building reads the file: it must hold what the editor shows."""
    if d.disk != digest(d.text):
        st.error(f"{d.name} on disk differs from the editor ({d.saved}); the build reads the file. "
                 "Resolve that on the Edit page first.")
        return False
    return True


def page() -> None:
    d = state.doc()
    if d is None:
        st.info("Open or create a spec on the Start page first.")
        return
    result = state.check(d.text, str(d.path))
    st.header("Build")
    if not result.ok:
        st.error(f"{d.name} has {len(result.errors)} error(s); fix them on the Edit page first.")
        for i, diag in enumerate(result.errors):
            show_diagnostic(diag, result.source, key=f"build-err:{i}")
        return
    project = project_dir()
    assert project is not None
    st.caption(f"`{d.name}` → `{project}`")
    if (st.button("Build", type="primary", key="build_button") or st.session_state.pop("build_now", False)) \
            and saved_or_say(d):
        built = projects.build_project(d.path, project)
        changes = built.write_plan.changes if built.write_plan is not None else ()
        st.session_state["last_build"] = LastBuild(built.ok, project, [(c.action, c.path, c.reason, c.diff)
                                                                       for c in changes],
                                                   built.diagnostics, built.check.source)
    last: LastBuild | None = st.session_state.get("last_build")
    if last is not None and last.project == project:
        _last_build(last)
    if project.is_dir():
        _browse(project)


@dataclass(frozen=True)
class LastBuild:
    """What the last build from this tab said."""

    ok: bool
    project: Path
    changes: list[tuple[str, str, str, str]]  # action, path, reason, diff
    diagnostics: tuple[Diagnostic, ...]
    source: SourceFile


def _last_build(last: LastBuild) -> None:
    changes = last.changes
    if last.ok:
        counts: dict[str, int] = {}
        for action, *_ in changes:
            counts[action] = counts.get(action, 0) + 1
        summary = ", ".join(f"{n} {a}" for a, n in counts.items() if a != "unchanged") or "nothing changed"
        cols = st.columns([5, 1], vertical_alignment="center")
        cols[0].success(f"Built: {summary}.")
        if cols[1].button("Run", type="primary", key="build_run", help="Train, evaluate and gate it (aispec run)"):
            st.session_state["run_now"] = True
            state.go("Run")
            st.rerun()
    else:
        st.error("The build failed; the last good project is unchanged.")
    for i, diag in enumerate(last.diagnostics):
        show_diagnostic(diag, last.source, key=f"build-diag:{i}")
    shown = [c for c in changes if c[0] != "unchanged"]
    if shown:
        with st.expander(f"What changed since the last build ({len(shown)} files)", expanded=len(shown) <= 5):
            for action, path, reason, diff in shown:
                st.markdown(f"`{action:<8}` **{path}**" + (f" — {reason}" if reason else ""))
                if diff:
                    st.code(diff, language="diff")


def _browse(project: Path) -> None:
    names = projects.files(project)
    cols = st.columns([3, 1], vertical_alignment="bottom")
    with cols[0]:
        chosen = st.selectbox(f"Files of {project.name}/ ({len(names)})", names,
                              index=names.index(_first_code(names)) if _first_code(names) in names else 0,
                              key="build_file")
    with cols[1]:
        stamp = max((project / n).stat().st_mtime_ns for n in names) if names else 0
        cache = st.session_state.get("zip_cache")
        if not cache or cache[0] != (str(project), stamp):
            cache = ((str(project), stamp), projects.zip_bytes(project))
            st.session_state["zip_cache"] = cache
        st.download_button(f"Download {project.name}.zip", cache[1], file_name=f"{project.name}.zip",
                           mime="application/zip", key="build_zip", on_click="ignore", type="primary")
    if chosen:
        path = project / chosen
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            st.caption(f"{chosen}: binary, {len(data):,} bytes")
            return
        if len(text) > TEXT_LIMIT:
            st.caption(f"{chosen}: {len(text):,} characters; the first {TEXT_LIMIT:,} are shown")
            text = text[:TEXT_LIMIT]
        language = LANGUAGES.get(path.name, LANGUAGES.get(path.suffix))
        st.code(text, language=language, line_numbers=True)


def _first_code(names: list[str]) -> str:
    return next((n for n in names if n.endswith("/model.py") and not n.startswith(".")), names[0] if names else "")
