"""The text view: a plain-text editor (a Streamlit component) that sends every keystroke and shows the
compiler's diagnostics at their lines.

The browser sends ``{"text", "version", "seq"}`` on each input; the app checks the text with the
compiler's in-process API and mounts the component again with the diagnostics and the ``seq`` it
checked. ``version`` says which text the app last put in the editor (opening a file, a form edit):
an edit made on an older version is stale and ignored, and the editor replaces its text only when
the app's version is newer than its own, so fast typing is never overwritten by a slower answer.

For measurements the page keeps ``window.__aispecEditor.latencies``: milliseconds from a keystroke
to the diagnostics of the text that keystroke made being drawn (benchmarks/bench_editor.py reads it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aispec.compiler.diagnostics import Diagnostic

HTML = """
<div class="ais-editor">
  <div class="ais-scroll">
    <div class="ais-gutter" aria-hidden="true"></div>
    <div class="ais-wrap">
      <pre class="ais-mirror" aria-hidden="true"></pre>
      <textarea class="ais-text" spellcheck="false" autocapitalize="off" autocomplete="off" wrap="off"
                aria-label="spec text"></textarea>
    </div>
  </div>
  <div class="ais-status" role="status"></div>
</div>
"""

CSS = """
.ais-editor { font-family: "Source Code Pro", ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 13px; line-height: 19px; border: 1px solid rgba(128,128,128,.35); border-radius: .5rem; }
.ais-scroll { display: flex; max-height: 68vh; overflow: auto; position: relative; }
.ais-gutter { flex: none; padding: 8px 6px 8px 8px; text-align: right; color: #8a8f98; user-select: none;
  white-space: pre; background: rgba(128,128,128,.06); min-width: 3.2em; }
.ais-gutter .err { color: #fff; background: #d33; border-radius: 3px; padding: 0 3px; cursor: help; }
.ais-gutter .warn { color: #000; background: #f5b800; border-radius: 3px; padding: 0 3px; cursor: help; }
.ais-wrap { position: relative; flex: 1; min-width: 0; }
.ais-mirror, .ais-text { margin: 0; padding: 8px; border: 0; font: inherit; line-height: inherit;
  white-space: pre; tab-size: 2; box-sizing: border-box; width: 100%; }
.ais-mirror { position: absolute; inset: 0; color: transparent; pointer-events: none; overflow: hidden; }
.ais-mirror mark { background: transparent; color: transparent; text-decoration: underline wavy #d33;
  text-decoration-skip-ink: none; text-underline-offset: 3px; }
.ais-mirror mark.warn { text-decoration-color: #e0a800; }
.ais-text { position: relative; display: block; resize: none; overflow: hidden; background: transparent;
  color: var(--st-text-color, inherit); outline: none; caret-color: var(--st-text-color, #000); min-height: 12em; }
.ais-text[readonly] { opacity: .7; }
.ais-status { font-size: 12px; padding: 2px 8px; color: #8a8f98; border-top: 1px solid rgba(128,128,128,.2); }
"""

JS = r"""
const CONTROLS = "input, textarea, select, button, a[href], summary, [contenteditable=true], [role=button], " +
  "[role=option], [role=combobox], [role=listbox], [role=tab], [role=radio], [role=checkbox], [role=switch], " +
  "[role=slider], [role=menuitem]";

function esc(s) { return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); }

function offsets(text) {  // start offset of every line (1-based lines -> index line-1)
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") starts.push(i + 1);
  return starts;
}

function draw(state) {
  const { textarea, mirror, gutter, status } = state;
  const text = textarea.value;
  const starts = offsets(text);
  const marks = [];
  const lines = {};
  for (const d of state.diagnostics) {
    if (!d.line) continue;
    const sev = d.severity === "error" ? "err" : "warn";
    const prev = lines[d.line];
    if (!prev || prev.sev === "warn") lines[d.line] = { sev, title: [] };
    (lines[d.line].title).push(`${d.severity}[${d.code}]: ${d.message}`);
    const a = (starts[d.line - 1] ?? text.length) + d.column - 1;
    let b = (starts[(d.end_line || d.line) - 1] ?? text.length) + (d.end_column || d.column + 1) - 1;
    if (b <= a) b = a + 1;
    marks.push([Math.min(a, text.length), Math.min(b, text.length), sev]);
  }
  marks.sort((x, y) => x[0] - y[0]);
  let html = "", at = 0;
  for (const [a, b, sev] of marks) {
    if (a < at) continue;
    html += esc(text.slice(at, a)) + `<mark class="${sev}">` + esc(text.slice(a, b) || " ") + "</mark>";
    at = b;
  }
  mirror.innerHTML = html + esc(text.slice(at)) + "\n";
  let g = "";
  for (let n = 1; n <= starts.length; n++) {
    const l = lines[n];
    const title = l ? esc(l.title.join("\n")).replace(/"/g, "&quot;") : "";
    g += l ? `<span class="${l.sev}" data-line="${n}" title="${title}">${n}</span>\n` : `${n}\n`;
  }
  gutter.innerHTML = g;
  textarea.style.height = "0px";
  textarea.style.height = textarea.scrollHeight + "px";
  const errors = state.diagnostics.filter(d => d.severity === "error").length;
  const warnings = state.diagnostics.length - errors;
  status.textContent = state.pending ? "checking..." :
    `${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`;
  status.dataset.seq = String(state.checked);
  status.dataset.errors = String(errors);
}

export default function (component) {
  const { data, setStateValue, setTriggerValue, parentElement } = component;
  const root = parentElement.querySelector(".ais-editor");
  let state = root.__aispec;
  if (!state) {
    state = root.__aispec = {
      textarea: root.querySelector(".ais-text"), mirror: root.querySelector(".ais-mirror"),
      gutter: root.querySelector(".ais-gutter"), status: root.querySelector(".ais-status"),
      version: -1, seq: 0, checked: 0, sent: {}, diagnostics: [], pending: false,
    };
    window.__aispecEditor = window.__aispecEditor || { latencies: [] };
    const ta = state.textarea;
    ta.addEventListener("input", () => {
      state.seq += 1;
      state.sent[state.seq] = performance.now();
      state.pending = true;
      state.send({ text: ta.value, version: state.version, seq: state.seq });
      draw(state);
    });
    ta.addEventListener("keydown", (e) => {
      if (e.key === "Tab" && !e.shiftKey && !e.ctrlKey && !e.metaKey) {  // indent, do not leave the editor
        e.preventDefault();
        document.execCommand("insertText", false, "  ");
      }
    });
    // Leaving the editor for nothing in particular redraws the whole page (the form shows the text);
    // leaving it for a button or another input does not: that widget's own rerun redraws the page, and a
    // second rerun at the same moment could swallow its click. ("Nothing in particular" is often not
    // null: Streamlit's main area is focusable, so a click on blank space or text focuses it.)
    ta.addEventListener("blur", (e) => {
      const t = e.relatedTarget;
      if (!(t && t.matches && t.matches(CONTROLS))) state.blur(state.seq);
    });
  }
  state.send = (edit) => setStateValue("edit", edit);
  state.blur = (seq) => setTriggerValue("blur", seq);
  if (data.version > state.version) {
    state.version = data.version;
    if (state.textarea.value !== data.text) state.textarea.value = data.text;
    state.seq = Math.max(state.seq, data.seq || 0);
  }
  state.textarea.readOnly = !!data.readonly;
  state.diagnostics = data.diagnostics || [];
  if ((data.seq || 0) >= state.seq) state.pending = false;
  draw(state);
  if (data.seq && state.sent[data.seq] !== undefined) {
    window.__aispecEditor.latencies.push(performance.now() - state.sent[data.seq]);
    for (const k of Object.keys(state.sent)) if (Number(k) <= data.seq) delete state.sent[k];
  }
  if (data.goto && data.goto.nonce !== state.goto) {  // a click on a diagnostic: put the cursor there
    state.goto = data.goto.nonce;
    const starts = offsets(state.textarea.value);
    const at = (starts[data.goto.line - 1] ?? 0) + data.goto.column - 1;
    state.textarea.focus();
    state.textarea.setSelectionRange(at, at);
  }
}
"""

_COMPONENT: Any = None


def _component() -> Any:
    global _COMPONENT
    if _COMPONENT is None:
        import streamlit as st

        _COMPONENT = st.components.v2.component("aispec_spec_editor", html=HTML, css=CSS, js=JS)
    return _COMPONENT


def diagnostics_data(diagnostics: Sequence[Diagnostic]) -> list[dict[str, Any]]:
    return [d.to_dict() for d in diagnostics if d.span is not None]


def mount(*, key: str, text: str, version: int, seq: int, diagnostics: Sequence[Diagnostic], readonly: bool,
          goto: dict[str, int] | None, on_edit: Callable[[], None], on_blur: Callable[[], None]) -> Any:
    """Draw the editor; ``on_edit`` runs (before the script) when the browser sent a keystroke's text,
    readable from ``st.session_state[key]["edit"]``."""
    data = {"text": text, "version": version, "seq": seq, "diagnostics": diagnostics_data(diagnostics),
            "readonly": readonly, "goto": goto}
    return _component()(key=key, data=data, on_edit_change=on_edit, on_blur_change=on_blur)
