"""One diagnostic as the editor shows it: the same code, message, place and hint as ``aispec check``,
with ``aispec explain``'s text one click away."""

from __future__ import annotations

import streamlit as st

from aispec.compiler.diagnostics import Diagnostic
from aispec.compiler.explain import explain_text
from aispec.compiler.source import SourceFile


def where(d: Diagnostic) -> str:
    return f"line {d.span.line}, column {d.span.column}" if d.span is not None else "the whole spec"


def headline(d: Diagnostic) -> str:
    """``error[AIS313] line 6, column 11: message`` (the CLI's words, in the CLI's order)."""
    return f"{d.severity.value}[{d.code}] {where(d)}: {d.message}"


def show_diagnostic(d: Diagnostic, source: SourceFile | None, *, key: str) -> None:
    body = headline(d)
    if d.hint:
        body += f"  \nhint: {d.hint}"
    box = st.error if d.is_error else st.warning
    # one row: the message takes the room, the code's explanation button only what its label needs
    with st.container(horizontal=True, vertical_alignment="center", wrap=False):
        box(body, icon=":material/error:" if d.is_error else ":material/warning:")
        with st.popover(d.code, help=f"aispec explain {d.code}", key=f"explain:{key}", wrap=False):
            st.code(explain_text(d.code) or f"no documentation for {d.code}", language=None, wrap_lines=True)
