"""What one browser tab holds: the workspace, the open spec (its text, which version of it the views
show, what is on disk), and the tab's id for the two-tabs lock. Every change of the text goes through
:func:`set_text`, which checks it and autosaves it (a keystroke's text is saved just after its diagnostics
are drawn: :func:`flush`).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import streamlit as st

from aispec.compiler.api import CheckResult, check_text

from .workspace import Lock, Workspace, digest

PAGES = ("Start", "Edit", "Build", "Run", "Try")


@dataclass
class Doc:
    """The spec open in this tab."""

    path: Path
    text: str
    version: int = 0  # bumped when the text changes other than by typing in the text view
    disk: str = ""  # digest of what this tab last read from or wrote to the file
    seq: int = 0  # the text view's last keystroke number that the text holds
    saved: str = ""  # what the last autosave said
    other_tab: Lock | None = None  # another tab holds the file: this one does not save
    dirty: bool = False  # the text has changes not yet autosaved (see flush)

    @property
    def name(self) -> str:
        return self.path.name


@lru_cache(maxsize=64)
def check(text: str, path: str) -> CheckResult:
    """The compiler's check of a text (the same call as ``aispec check``), cached: the form, the text view
    and the page header all ask about the same text within one rerun."""
    return check_text(text, path)


def workspace() -> Workspace:
    if "workspace" not in st.session_state:
        root = os.environ.get("AISPEC_UI_WORKSPACE") or os.getcwd()
        st.session_state["workspace"] = Workspace(Path(root))
    ws: Workspace = st.session_state["workspace"]
    return ws


def tab_id() -> str:
    if "tab" not in st.session_state:
        st.session_state["tab"] = uuid.uuid4().hex
    return str(st.session_state["tab"])


def doc() -> Doc | None:
    return st.session_state.get("doc")


def go(page: str) -> None:
    """Show ``page`` on the next run (the navigation widget cannot be set once drawn)."""
    st.session_state["go"] = page


def open_spec(path: Path, text: str | None = None) -> Doc:
    """Open ``path`` in this tab (``text``: a new spec's text, written to the file now)."""
    ws = workspace()
    old = doc()
    if old is not None:
        ws.release(old.path, tab_id())
    if text is None:
        text = path.read_text(encoding="utf-8")
        on_disk = digest(text)
    else:
        on_disk = digest(path.read_text(encoding="utf-8")) if path.exists() else ""
    version = (old.version + 1) if old is not None else 1
    new = Doc(path, text, version=version, disk=on_disk)
    st.session_state["doc"] = new
    claim(new)
    if on_disk != digest(text):
        autosave(new)
    return new


def claim(d: Doc, *, force: bool = False) -> None:
    d.other_tab = workspace().claim(d.path, tab_id(), force=force)


def set_text(text: str, *, seq: int | None = None, save: bool = True) -> None:
    """The spec's text changed: from the text view (``seq``: the keystroke) or elsewhere (the form, a
    restore), which the text view then shows. ``save=False``: autosave at the next :func:`flush` (a
    keystroke: its diagnostics are drawn first, the write and its fsync come after)."""
    d = doc()
    if d is None or text == d.text:
        if d is not None and seq is not None:
            d.seq = seq
        return
    d.text = text
    if seq is None:
        d.version += 1
    else:
        d.seq = seq
    if save:
        autosave(d)
    else:
        d.dirty = True


def flush() -> None:
    """Autosave the open spec if it has changes not yet saved."""
    d = doc()
    if d is not None and d.dirty:
        autosave(d)


def autosave(d: Doc) -> None:
    d.dirty = False
    claim(d)
    if d.other_tab is not None:
        d.saved = "not saved: another tab edits this file"
        return
    ok = check(d.text, str(d.path)).ok
    result = workspace().save(d.path, d.text, ok=ok, expected=d.disk or None)
    d.saved = result.message
    if result.saved:
        d.disk = result.on_disk


def session_value(key: str, default: Any = None) -> Any:
    return st.session_state.get(key, default)
