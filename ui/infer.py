"""A first spec from a data file: the columns' types, nullability, ranges and categories, a target and
a task, and the columns that look like personal data — proposed for the user to confirm.

The file is read by the runtime's own loader (``aispec.runtime.data.load_frame``), so what the editor
shows is what a training run will read: only empty cells are missing, categorical text stays as
written. Personal data is found by the same two rules as everywhere else: the compiler's column-name
rule (AIS329) and the runtime's value patterns (e-mail addresses, phone and card numbers). A column
proposed as personal data contributes its type only: never its values (no ``allowed`` list, no range)
to the spec or to any summary.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aispec.compiler.api import looks_personal
from aispec.compiler.raw import Comments, NodeComments
from aispec.compiler.templates_init import slugify
from aispec.schemas.vocabulary import DEFAULT_PRIMARY, TASKS, Task

MAX_CATEGORIES = 50  # more distinct texts than this: no `allowed` list is proposed
_TARGET_NAMES = ("target", "label", "class", "y", "outcome", "result")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?(Z|[+-][0-9:]+)?$")
_TRUE_FALSE = {"true", "false"}
# How files spell a missing number (compared lower-cased); proposed as a column's na_values when found
_MISSING_MARKERS = {"na", "n/a", "nan", "null", "none", "-", "--", "?", "missing", "#n/a", "n.a.", "."}
# The gate a first spec proposes per kind of task: a floor to edit, not a promise (shown as such).
_PROPOSED_FLOOR = {"classification": 0.7, "regression": 0.5}


class InferenceError(ValueError):
    """The file cannot become a spec as it is; the message says why and what to do."""


@dataclass
class ColumnGuess:
    name: str
    type: str  # a ColumnType value
    nullable: bool
    missing: int
    distinct: int
    range: list[float | int] | None = None
    allowed: list[Any] | None = None
    personal: list[str] = field(default_factory=list)  # why it looks personal (never its values)
    note: str = ""  # why it is proposed for data.drop, when it is
    na_values: list[str] | None = None  # the texts that mean missing in it (a number column's "n/a")

    @property
    def drop(self) -> bool:
        return bool(self.note)

    def declared(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.nullable:
            out["nullable"] = True
        if self.na_values:
            out["na_values"] = self.na_values
        if self.personal:
            return out  # personal data: its type only, never its values
        if self.range is not None:
            out["range"] = self.range
        if self.allowed is not None and self.type != "numeric":  # a numeric column's values are a range
            out["allowed"] = self.allowed
        return out


@dataclass
class Proposal:
    """What the editor proposes for a data file; the user confirms target, task and personal data."""

    file: str  # the data file's path relative to the spec's folder (posix)
    kind: str  # csv | parquet | jsonl
    delimiter: str
    rows: int
    columns: list[ColumnGuess]
    target: str | None
    notes: list[str]
    preview: Any = None  # the first rows, as read (the user's own upload: shown to them only)

    @property
    def pii(self) -> list[str]:
        return [c.name for c in self.columns if c.personal]

    def task_for(self, target: str | None, *, unsupervised: str = "clustering") -> str:
        """The task the target's type and cardinality suggest (no target: ``unsupervised``)."""
        if target is None:
            return unsupervised
        column = next(c for c in self.columns if c.name == target)
        if column.type == "numeric":
            whole = column.allowed is not None
            return "classification" if whole and column.distinct <= 10 else "regression"
        return "classification"


def read_frame(path: Path, *, base_dir: Path) -> tuple[Any, str, str]:
    """The file as the runtime reads it, with its kind and CSV delimiter (sniffed: a ``;`` file is not
    one column)."""
    from aispec.runtime.data import load_frame
    from aispec.runtime.errors import DataError

    kind = path.suffix.lower().lstrip(".")
    source: dict[str, Any] = {"kind": kind, "path": path.relative_to(base_dir).as_posix()}
    delimiter = ","
    if kind == "csv":
        delimiter = sniff_delimiter(path)
        if delimiter != ",":
            source["delimiter"] = delimiter
    try:
        frame = load_frame(source, base_dir=base_dir)
    except DataError as exc:
        raise InferenceError(exc.message + (f" ({exc.hint})" if exc.hint else "")) from None
    return frame, kind, delimiter


def sniff_delimiter(path: Path) -> str:
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        head = handle.read(64 * 1024)
    lines = head.splitlines()[:50]
    if not lines:
        return ","
    try:
        found = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        return ","
    # only when the first line really splits on it (a comma inside quotes is not a reason to switch)
    first = next(csv.reader(io.StringIO(lines[0]), delimiter=found))
    return found if len(first) > 1 else ","


def propose(path: Path, *, spec_dir: Path) -> Proposal:
    """Read ``path`` and propose its declared schema, target and personal data. Raises InferenceError."""
    frame, kind, delimiter = read_frame(path, base_dir=spec_dir)
    if len(frame.columns) < 2:
        only = str(frame.columns[0]) if len(frame.columns) else ""
        hint = ""
        if any(ch in only for ch in ";\t|"):
            hint = " Its header looks separated by another character than ',' or ';' that was not recognised."
        raise InferenceError(
            f"{path.name} has a single column ({only[:60]!r}): a model needs a column to predict and at least "
            f"one to learn from.{hint} Check that the file is comma-separated, with a header line.")
    columns = [_guess(frame, str(name)) for name in frame.columns]
    notes: list[str] = []
    from aispec.runtime.data import personal_data_warnings

    for column in columns:
        if looks_personal(column.name):
            column.personal.append("its name")
        # one column at a time, so the finding is tied to the column without reading the message's words
        if personal_data_warnings(frame[[column.name]]):
            column.personal.append("its values")
        if column.personal:
            column.note = ""  # personal data is never a model input anyway: no other reason to drop it
    if len(frame) < 20:
        notes.append(f"{path.name} has {len(frame)} rows; training needs at least 20 (data.min_rows)")
    return Proposal(path.relative_to(spec_dir).as_posix(), kind, delimiter, len(frame), columns,
                    _target(columns), notes, frame.head(8))


def _target(columns: list[ColumnGuess]) -> str | None:
    usable = [c for c in columns if not c.personal and not c.drop]
    for name in _TARGET_NAMES:
        for c in usable:
            if c.name.lower() == name:
                return c.name
    return usable[-1].name if usable else None


def _plain(value: Any) -> Any:
    """A JSON-able number: whole floats as ints (``range: [25, 70]``, not ``[25.0, 70.0]``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if hasattr(value, "item"):
        return _plain(value.item())
    return value


def _numbers_with_markers(texts: Any) -> tuple[Any, list[str]] | None:
    """A column of numbers in which a few cells spell 'missing' (``n/a``, ``NA``, ``-``, ``?``, ...): its
    numbers (the marked cells missing) and the markers as written, for the column's ``na_values``; None
    when the column is not that. Only empty cells are missing by default, so such a column would
    otherwise be proposed as categorical, its numbers as categories."""
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    from aispec.runtime.data import is_plain_number

    plain = texts.map(is_plain_number).astype(bool)
    words = texts[~plain]
    if words.empty or int(plain.sum()) < max(1, len(texts) // 2):
        return None
    markers = sorted(set(words.str.strip()))
    if not all(marker.lower() in _MISSING_MARKERS for marker in markers):
        return None
    values = pd.to_numeric(texts.where(plain), errors="coerce")
    return values, sorted(set(words))  # as written: the loader compares cells with na_values exactly


def _guess(frame: Any, name: str) -> ColumnGuess:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    series = frame[name]
    present = series[series.notna()]
    missing = int(len(series) - len(present))
    nullable = missing > 0
    if len(present) == 0:
        return ColumnGuess(name, "categorical", True, missing, 0, note="every value is missing")
    if pd.api.types.is_bool_dtype(present):
        return ColumnGuess(name, "boolean", nullable, missing, int(present.nunique()))
    if pd.api.types.is_numeric_dtype(present):
        values = pd.to_numeric(present)
        distinct = int(values.nunique())
        whole = bool((values == values.round()).all())
        guess = ColumnGuess(name, "numeric", nullable, missing, distinct,
                            range=[_plain(values.min()), _plain(values.max())])
        if whole and distinct <= 10:  # a code or a count: its values, should it become a class label
            guess.allowed = sorted(_plain(v) for v in values.unique())
        return guess
    texts = present.astype(str)
    numbers = _numbers_with_markers(texts)
    if numbers is not None:
        values, markers = numbers
        guess = _guess(pd.DataFrame({name: values}), name)
        marked = int(values.isna().sum())
        guess.missing, guess.nullable, guess.na_values = missing + marked, True, markers
        return guess
    distinct = int(texts.nunique())
    lowered = set(texts.str.lower().unique())
    if lowered <= _TRUE_FALSE:
        return ColumnGuess(name, "boolean", nullable, missing, distinct)
    if bool(texts.map(lambda v: bool(_ISO_DATE.match(v))).all()):
        return ColumnGuess(name, "datetime", nullable, missing, distinct,
                           note="dates cannot be exported to ONNX yet; dropped (derive numbers from it to use it)")
    if distinct <= MAX_CATEGORIES:
        return ColumnGuess(name, "categorical", nullable, missing, distinct, allowed=sorted(texts.unique()))
    if float(texts.str.len().mean()) >= 30 and texts.str.contains(" ").mean() > 0.5:
        return ColumnGuess(name, "text", nullable, missing, distinct)
    guess = ColumnGuess(name, "categorical", nullable, missing, distinct)
    if distinct >= 0.9 * len(texts):
        guess.note = "almost every value is different (an identifier?); dropped"
    return guess


def spec_data(proposal: Proposal, *, name: str, target: str | None, task: str, pii: list[str]) -> dict[str, Any]:
    """The spec's data (a RawSpec) for the choices the user confirmed."""
    columns: dict[str, Any] = {}
    for column in proposal.columns:
        entry = column.declared()
        if column.name in pii and not column.personal:  # marked by the user: values stay out of the spec too
            entry = {k: v for k, v in entry.items() if k in ("type", "nullable")}
        if column.name == target and TASKS[Task(task)].classification and column.type == "numeric":
            entry = {"type": "categorical", **({"allowed": column.allowed} if column.allowed else {})}
        if column.name == target:
            entry.pop("nullable", None)  # rows without a target are removed and counted, not declared
        columns[column.name] = entry
    source: dict[str, Any] = {"kind": proposal.kind, "path": proposal.file}
    if proposal.delimiter != ",":
        source["delimiter"] = proposal.delimiter
    data: dict[str, Any] = {"source": source, "columns": columns}
    dropped = [c.name for c in proposal.columns if c.drop and c.name != target and c.name not in pii]
    if dropped:
        data["drop"] = dropped
    if proposal.rows < 20:
        data["min_rows"] = max(1, proposal.rows)
    problem: dict[str, Any] = {"task": task}
    if target is not None:
        problem["target"] = target
    primary = DEFAULT_PRIMARY[Task(task)]
    kind = "classification" if TASKS[Task(task)].classification else "regression"
    metrics: dict[str, Any] = {"primary": primary}
    floor = _PROPOSED_FLOOR.get(kind) if TASKS[Task(task)].kind == "supervised" else None
    if floor is not None:
        metrics["acceptance"] = [f"{primary} >= {floor}"]
    raw: dict[str, Any] = {
        "aispec": 1,
        "project": {"name": slugify(name), "version": "0.1.0"},
        "problem": problem,
        "data": data,
        "model": {"family": "auto", "budget": "30s"},
        "metrics": metrics,
        "deployment": {"target": "rest"},
    }
    if pii:
        raw["compliance"] = {"pii": list(pii)}
    return raw


def spec_comments(proposal: Proposal) -> Comments:
    """Comments that say where the first spec came from and what to check (kept by every later edit)."""
    return {
        ("aispec",): NodeComments(leading=[
            f"# Proposed by the aispec editor from {proposal.file} ({proposal.rows:,} rows).",
            "# Check the declared columns, the task and the acceptance gates: they are a starting point.",
        ]),
        ("model",): NodeComments(leading=["# family auto tries the families that fit the task within the budget"]),
    }


def spec_text(proposal: Proposal, *, name: str, target: str | None, task: str, pii: list[str]) -> str:
    from aispec.compiler.yaml_printer import print_yaml

    return print_yaml(spec_data(proposal, name=name, target=target, task=task, pii=pii), spec_comments(proposal))
