"""The form view: widgets drawn from :mod:`.fields` (the spec models' description), one section at a
time, each field's diagnostics beside it. A change becomes a text edit through the compiler
(``api.edit_text``: printed as ``aispec fmt`` prints, comments kept, read back before it is used), so
the text view shows it at once and the compiler checks it like any typed text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from aispec.compiler.api import DELETE, edit_text
from aispec.compiler.diagnostics import Diagnostic
from aispec.compiler.source import SourceFile
from aispec.schemas.vocabulary import TASK_FIELDS

from . import state
from .diagnostics_view import show_diagnostic
from .fields import MISSING, Field, Records, choices, lookup

UNSET = "\u2060(unset)"  # a choice no value can spell: "leave it to the default"


def parse_value(text: str) -> tuple[Any, str | None]:
    """A value typed as YAML (``0.8``, ``[a, b]``, ``{x: 1}``), read by the compiler's YAML front end, so
    it gets the same defences as a spec (no tags, anchors, ...): (value, None) or (None, the problem)."""
    from aispec.compiler.yaml_front import parse_yaml

    if "\n" in text or "\r" in text:
        return None, "one line only"
    parsed = parse_yaml(SourceFile("value.yaml", f"value: {text}\n"))
    errors = [d for d in parsed.diagnostics if d.is_error]
    if errors or parsed.raw is None:
        return None, errors[0].message if errors else "not a value"
    return parsed.raw.get("value"), None


def flow(value: Any) -> str:
    """A value as one line of YAML for a text input."""
    if value is MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    from aispec.compiler.yaml_printer import scalar

    if isinstance(value, list):
        return "[" + ", ".join(flow(v) if not isinstance(v, str) else scalar(v, flow=True) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v) if not isinstance(v, str) else scalar(v, flow=True)}"
                               for k, v in value.items()) + "}"
    return scalar(value)


class Form:
    """Draws one section of the spec for the current text; remembers which diagnostics it placed."""

    def __init__(self, raw: Mapping[str, Any], diagnostics: tuple[Diagnostic, ...], *, version: str,
                 disabled: bool, records: Records, source: SourceFile) -> None:
        self.raw = raw
        self.diagnostics = diagnostics
        self.version = version
        self.disabled = disabled
        self.records = records
        self.source = source
        self.placed: set[int] = set()

    # ------------------------------------------------------------------ plumbing

    def key(self, loc: tuple[Any, ...], part: str = "") -> str:
        # the widgets are made afresh for every new text (a widget keeps its own value over its default)
        return f"form:{self.version}:{json.dumps(list(loc))}{part}"

    def value(self, loc: tuple[Any, ...]) -> Any:
        return lookup(self.raw, loc)

    def here(self, loc: tuple[Any, ...], *, below: bool = False) -> None:
        """The diagnostics at ``loc`` (and under it with ``below``), shown beside the field."""
        for d in self.diagnostics:
            if id(d) in self.placed:
                continue
            if d.loc == loc or (below and d.loc[: len(loc)] == loc):
                self.placed.add(id(d))
                show_diagnostic(d, self.source, key=self.key(d.loc, f":{d.code}:{d.message[:40]}"))

    def help(self, f: Field) -> str:
        parts = [f.help] if f.help else []
        if f.default is not MISSING and f.default not in (None, [], {}):
            parts.append(f"Default: `{flow(f.default)}`")
        if f.expression:
            parts.append(f"Written as text: a {f.expression} (checked as you type).")
        parts.append(f"`{'.'.join(map(str, f.loc))}`")
        return "\n\n".join(parts)

    def label(self, f: Field) -> str:
        return f"{f.name}{' *' if f.required else ''}"

    def changed(self, loc: tuple[Any, ...], read: Callable[[Any], Any]) -> Callable[[], None]:
        """The on_change callback of the widget at ``loc``: its value, through ``read``, into the text."""
        key = self.key(loc)

        def apply() -> None:
            value = read(st.session_state.get(key))
            if value is _INVALID:
                return
            edit(loc, value)

        return apply

    # ------------------------------------------------------------------ fields

    def field(self, f: Field) -> None:
        draw = {"section": self.section, "choice": self.choice, "bool": self.boolean, "integer": self.scalar,
                "number": self.scalar, "text": self.text, "expression": self.scalar, "list": self.sequence,
                "mapping": self.mapping, "variants": self.variants, "raw": self.raw_value}[f.kind]
        draw(f)

    def section(self, f: Field, *, top: bool = False) -> None:
        if not top:
            st.markdown(f"**{f.name}**" + (f" — {f.help}" if f.help else ""))
        if f.alternatives and not isinstance(self.value(f.loc), dict):
            # written as a plain value (`early_stopping: true`): edit it as one; its fields once it is a mapping
            alternative = Field(**{**f.__dict__, "kind": "raw", "name": f"{f.name} ({' or '.join(f.alternatives)}"
                                                                   " or a mapping)"})
            self.raw_value(alternative)
            if self.value(f.loc) is not MISSING:
                return
        with st.container(border=not top):
            for child in f.children:
                if not self.applies(child):
                    continue
                self.field(child)
        self.here(f.loc)

    def applies(self, f: Field) -> bool:
        """Whether the current task uses ``f`` (``problem.horizon`` is forecasting's): a field of another task is
        left out of the form unless the spec sets it (then it shows, with check's AIS302 beside it)."""
        if len(f.loc) != 2 or f.loc[0] != "problem" or str(f.loc[1]) not in TASK_FIELDS:
            return True
        task = self.value(("problem", "task"))
        if self.value(f.loc) not in (MISSING, None) or task in (MISSING, None):
            return True
        return str(task) in {t.value for t in TASK_FIELDS[str(f.loc[1])]}

    def choice(self, f: Field) -> None:
        current = self.value(f.loc)
        listed = choices(f, self.raw, self.records)
        if f.vocabulary == "column" and f.kind == "text" and not listed:
            return self.scalar(f)
        labels = {v: text for v, text in listed}
        options: list[Any] = [UNSET, *labels]
        if current is not MISSING and current not in labels:
            options.append(current)
            labels[current] = f"{current} (unknown)"
        default_note = f"(default: {flow(f.default)})" if f.default not in (MISSING, None) else "(not set)"
        index = options.index(current) if current is not MISSING and current in options else 0
        st.selectbox(self.label(f), options, index=index, key=self.key(f.loc), help=self.help(f),
                     format_func=lambda v: default_note if v == UNSET else labels.get(v, str(v)),
                     on_change=self.changed(f.loc, lambda v: DELETE if v == UNSET else v), disabled=self.disabled,
                     accept_new_options=f.vocabulary in ("column", "metric"))
        self.here(f.loc)

    def text(self, f: Field) -> None:
        if f.vocabulary in ("column", "metric"):
            return self.choice(f)
        self.scalar(f)

    def boolean(self, f: Field) -> None:
        current = self.value(f.loc)
        if isinstance(f.default, bool) and not f.nullable and current in (MISSING, True, False):
            st.toggle(self.label(f), value=bool(f.default if current is MISSING else current), key=self.key(f.loc),
                      help=self.help(f), on_change=self.changed(f.loc, bool), disabled=self.disabled)
            self.here(f.loc)
            return
        self.choice(Field(**{**f.__dict__, "kind": "choice", "choices": (True, False)}))

    def scalar(self, f: Field) -> None:
        """Numbers, text and expressions: a text input; numbers are read as YAML reads them, text and
        expressions are kept as typed (the compiler checks them, and says so here)."""
        current = self.value(f.loc)
        placeholder = flow(f.default) if f.default not in (MISSING, None) else ""

        def read(text: Any) -> Any:
            text = "" if text is None else str(text)
            if text.strip() == "":
                return DELETE
            if f.kind in ("integer", "number") or (f.kind == "raw"):
                value, problem = parse_value(text)
                return text if problem else value
            return text

        st.text_input(self.label(f), value=flow(current), key=self.key(f.loc), help=self.help(f),
                      placeholder=placeholder, on_change=self.changed(f.loc, read), disabled=self.disabled)
        self.here(f.loc)

    def raw_value(self, f: Field) -> None:
        current = self.value(f.loc)
        key = self.key(f.loc)

        def apply() -> None:
            text = str(st.session_state.get(key) or "")
            if text.strip() == "":
                edit(f.loc, DELETE)
                return
            value, problem = parse_value(text)
            if problem:
                st.session_state[f"form_problem:{f.path}"] = problem
                return
            edit(f.loc, value)

        st.text_input(self.label(f), value=flow(current), key=key, help=self.help(f) + "\n\nWritten as YAML.",
                      on_change=apply, disabled=self.disabled)
        problem = st.session_state.pop(f"form_problem:{f.path}", None)
        if problem:
            st.error(f"not read: {problem}")
        self.here(f.loc, below=True)

    def sequence(self, f: Field) -> None:
        assert f.item is not None
        current = self.value(f.loc)
        items = current if isinstance(current, list) else []
        item = f.item
        if item.kind == "choice" or item.vocabulary in ("column", "metric"):
            listed = choices(f, self.raw, self.records)
            labels = {v: text for v, text in listed}
            options = [*labels, *(v for v in items if v not in labels)]

            def read_many(values: Any) -> Any:
                return list(values) if values else DELETE

            st.multiselect(self.label(f), options, default=[v for v in items if v in options], key=self.key(f.loc),
                           help=self.help(f), format_func=lambda v: labels.get(v, f"{v} (unknown)"),
                           on_change=self.changed(f.loc, read_many), disabled=self.disabled,
                           accept_new_options=item.vocabulary in ("column", "metric"))
        elif item.kind in ("integer", "number"):
            def read_numbers(text: Any) -> Any:
                if not str(text or "").strip():
                    return DELETE
                value, problem = parse_value(f"[{text}]")
                return f"[{text}]" if problem else value

            st.text_input(self.label(f), value=", ".join(flow(v) if v is not None else "null" for v in items),
                          key=self.key(f.loc), help=self.help(f) + "\n\nComma-separated.",
                          on_change=self.changed(f.loc, read_numbers), disabled=self.disabled)
        elif item.kind in ("text", "expression"):
            def read_lines(text: Any) -> Any:
                lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
                return lines if lines else DELETE

            st.text_area(self.label(f), value="\n".join(str(v) for v in items), key=self.key(f.loc),
                         help=self.help(f) + "\n\nOne per line.", on_change=self.changed(f.loc, read_lines),
                         disabled=self.disabled, height=max(68, 26 * (len(items) + 1)))
        else:
            return self.raw_value(f)
        self.here(f.loc, below=True)

    def mapping(self, f: Field) -> None:
        assert f.item is not None
        current = self.value(f.loc)
        entries = current if isinstance(current, dict) else {}
        st.markdown(f"**{self.label(f)}**" + (f" — {f.help}" if f.help else ""))
        if f.item.kind in ("section", "variants"):
            self._mapping_of_sections(f, entries)
        else:
            with st.container(border=True):
                for name in entries:
                    self.field(Field(**{**f.item.at((*f.loc, name)).__dict__, "name": str(name)}))
                self._add_key(f, entries)
        self.here(f.loc, below=False)

    def _mapping_of_sections(self, f: Field, entries: Mapping[str, Any]) -> None:
        assert f.item is not None
        names = list(entries)
        with st.container(border=True):
            if names:
                problems = {n for n in names for d in self.diagnostics if d.loc[: len(f.loc) + 1] == (*f.loc, n)}
                chosen = st.selectbox(f"{f.name}: which one", names, key=self.key(f.loc, ":pick"),
                                      format_func=lambda n: f"{n}  ⚠" if n in problems else str(n))
                if problems:
                    st.caption("⚠ problems in: " + ", ".join(sorted(map(str, problems))))
                if chosen is not None:
                    item = f.item.at((*f.loc, chosen))
                    for child in item.children:
                        self.field(child)
                    self.here(item.loc)
                    if st.button(f"Remove {chosen}", key=self.key(f.loc, ":remove"), disabled=self.disabled):
                        edit((*f.loc, chosen), DELETE)
                        st.rerun()
            self._add_key(f, entries)

    def _add_key(self, f: Field, entries: Mapping[str, Any]) -> None:
        assert f.item is not None
        suggested = [v for v, _ in choices(f, self.raw, self.records) if v not in entries]
        key = self.key(f.loc, ":add")
        cols = st.columns([3, 1], vertical_alignment="bottom")
        with cols[0]:
            new = st.selectbox(f"Add to {f.name}", suggested, index=None, key=key, accept_new_options=True,
                               placeholder="a name", disabled=self.disabled)
        with cols[1]:
            clicked = st.button("Add", key=self.key(f.loc, ":addbutton"), disabled=self.disabled or not new)
        if clicked and new:
            first = f.item.shorthand
            fresh: Any = ({first: f.item.children[0].choices[0]} if f.item.kind == "section" and first
                          and f.item.children and f.item.children[0].choices else "")
            edit((*f.loc, str(new)), fresh)
            st.rerun()

    def variants(self, f: Field) -> None:
        current = self.value(f.loc)
        kinds = list(f.variants)
        chosen = current.get(f.discriminator) if isinstance(current, dict) else None
        options: list[Any] = [*kinds] + ([chosen] if chosen is not None and chosen not in kinds else [])
        key = self.key((*f.loc, str(f.discriminator)))

        def switch() -> None:  # a new kind replaces the section, keeping the fields the new kind has too
            kind = str(st.session_state.get(key))
            old = current if isinstance(current, dict) else {}
            keep = {c.name for c in f.variants[kind].children} if kind in f.variants else set()
            edit(f.loc, {str(f.discriminator): kind,
                         **{k: v for k, v in old.items() if k in keep and k != f.discriminator}})

        st.selectbox(f"{self.label(f)}: {f.discriminator}", options,
                     index=options.index(chosen) if chosen in options else None, key=key, help=self.help(f),
                     on_change=switch, disabled=self.disabled)
        if isinstance(chosen, str) and chosen in f.variants:
            with st.container(border=True):
                for child in f.variants[chosen].children:
                    if child.name != f.discriminator:
                        self.field(child)
        self.here(f.loc, below=chosen not in f.variants)

    def unplaced(self, loc: tuple[Any, ...] = ()) -> list[Diagnostic]:
        return [d for d in self.diagnostics if id(d) not in self.placed and d.loc[: len(loc)] == loc]


class _Invalid:
    pass


_INVALID = _Invalid()


def edit(loc: tuple[Any, ...], value: Any) -> None:
    """Apply a form change to the open spec's text."""
    d = state.doc()
    if d is None:
        return
    result = edit_text(d.text, d.path.name, [(loc, value)])
    if result.text is None:
        st.session_state["form_refused"] = "; ".join(x.message for x in result.diagnostics)
        return
    state.set_text(result.text)


def draw(raw: Mapping[str, Any], diagnostics: tuple[Diagnostic, ...], *, version: str, disabled: bool,
         source: SourceFile, records: Records | None = None, root: Field | None = None) -> Form:
    """The form: a picker of the spec's sections (with their problem counts), then the chosen one."""
    from .fields import describe

    root = root if root is not None else describe()
    records = records if records is not None else Records.live()
    form = Form(raw, diagnostics, version=version, disabled=disabled, records=records, source=source)
    refused = st.session_state.pop("form_refused", None)
    if refused:
        st.error(f"That change was not made: {refused}")
    sections = [c for c in root.children if c.kind == "section"]
    counts = {s.name: sum(1 for d in diagnostics if d.loc[:1] == (s.name,)) for s in sections}
    first = next((s.name for s in sections if counts[s.name]), "problem")
    chosen = st.pills("Section", [s.name for s in sections], default=first, key="form_section",
                      format_func=lambda n: f"{n} ({counts[n]})" if counts[n] else n)
    for top in root.children:  # the version line and other top-level scalars
        if top.kind != "section":
            form.field(top)
    section = next((s for s in sections if s.name == chosen), None)
    if section is not None:
        if section.help:
            st.caption(section.help)
        form.section(section, top=True)
    return form
