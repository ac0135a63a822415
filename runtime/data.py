"""Loading, validating and preparing the data a spec declares.

- :func:`load_frame` reads a ``data.source`` (csv, parquet, jsonl, sql, bundled) into a frame.
- :func:`validate_frame` checks a frame against the declared columns and reports *every* problem
  at once, or returns a :class:`DataReport` (per-column summary for the report and datasheet).
- :func:`prepare_frame` drops the declared ``drop`` and PII columns and coerces types to the
  runtime conventions (numeric/boolean -> float64 with NaN, categorical/text -> Python ``str``
  with missing as ``""``, datetime -> ``datetime64[ns]``).

Every problem a user can cause raises :class:`DataError` carrying the spec location.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from aispec.schemas.labels import label_text
from aispec.schemas.vocabulary import CLASSIFICATION

from .errors import DataError, where

__all__ = [
    "BlockCheck",
    "ClassTally",
    "ColumnSummary",
    "DataReport",
    "DataValidationError",
    "Problem",
    "check_block",
    "load_frame",
    "mark_missing",
    "merge_checks",
    "merge_problems",
    "merge_tallies",
    "prepare_frame",
    "row_problems",
    "substitute_env",
    "table_problems",
    "tally_classes",
    "validate_frame",
]

_NO_LOCATIONS: Mapping[str, str] = MappingProxyType({})
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
CLASSIFICATION_TASKS = CLASSIFICATION
# the sources a distributed engine reads on its workers (hardware.distributed); the others are read here
DISTRIBUTED_SOURCES = frozenset({"csv", "parquet", "sql"})
_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0"})
_MAX_ROWS_SHOWN = 10
# texts pandas would have read as missing: named in the hint when they turn up as bad numbers
_COMMON_MARKERS = frozenset({"na", "n/a", "nan", "-nan", "null", "none", "nil", "-", "--", "?", "missing", "#n/a"})


# ------------------------------------------------------------------ environment


def substitute_env(text: str, *, where_: str | None = None, what: str = "value") -> str:
    """Fill every ``${NAME}`` in ``text`` from ``os.environ``.

    A variable that is not set raises :class:`DataError` naming it (never its would-be value).
    """
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        value = os.environ.get(name)
        if value is None:
            missing.append(name)
            return ""
        return value

    result = _ENV_REF.sub(fill, text)
    if missing:
        names = ", ".join(dict.fromkeys(missing))
        plural = "s" if len(set(missing)) > 1 else ""
        raise DataError(f"environment variable{plural} {names} used in the {what} is not set", where=where_,
                        hint=" ".join(f"export {n}=..." for n in dict.fromkeys(missing)) + " before running")
    return result


# ----------------------------------------------------------------------- loading


def load_frame(source: Mapping[str, Any], *, locations: Mapping[str, str] = _NO_LOCATIONS,
               base_dir: Path = Path("."), column_names: Sequence[str] | None = None,
               columns: Mapping[str, Mapping[str, Any]] | None = None, memory: str | int | None = None,
               target: str | None = None, distributed: Mapping[str, Any] | None = None,
               task: str | None = None, min_rows: int = 0, pii: Sequence[str] = ()) -> Any:
    """Read ``source`` (a resolved ``data.source`` dict) into a ``pandas.DataFrame``.

    Paths are relative to ``base_dir``; ``${VAR}`` in paths and SQL URLs is filled from the
    environment. ``column_names`` names the columns of a header-less CSV (default ``column_1``,
    ``column_2``, ...). Raises :class:`DataError` for a missing or unreadable file, empty data, a
    missing environment variable or a failed database connection (the password is never shown).

    What is missing is decided here, once: an empty (or blank) cell, JSON ``null`` and SQL ``NULL``,
    plus the texts listed in ``data.source.na_values`` and a column's ``na_values`` — nothing else
    (pandas would also turn ``NA``, ``N/A``, ``None``, ``null``, ``NaN``, ... into missing values,
    so a category ``NA`` or a typo in a numeric column would vanish silently). CSV cells are read as
    text and keep their exact spelling: declared categorical and text columns stay as written
    (``01001``, ``1.50``), declared numeric columns are converted (and their non-numbers reported) by
    :func:`validate_frame`; undeclared columns whose every value is a plain number become numbers.

    ``memory`` (``hardware.memory``, e.g. ``"2GiB"``): the data's estimated size in memory must fit,
    checked before the file is read.

    An ``image_folder`` source becomes one row per image (``runtime.images.folder``): an ``image``
    column and the class in ``target`` (``problem.target``, default ``label``).

    ``distributed`` (``hardware.distributed``): with an engine, a CSV or Parquet source (which may be a folder
    of files) or an SQL query is read by the engine's workers in blocks (``aispec.runtime.distributed``), with
    the same cells as a local read, and each block is checked there (:func:`check_block`; ``target``, ``task``,
    ``min_rows`` and ``pii`` as :func:`validate_frame` takes them) before any row reaches this process: a table
    that fails raises the :class:`DataValidationError` a local run's :func:`validate_frame` raises, without
    being gathered.
    """
    kind = source.get("kind")
    declared = dict(columns or {})
    engine = None
    if kind in DISTRIBUTED_SOURCES and distributed and distributed.get("engine", "none") != "none":
        from .distributed import engine_for

        engine = engine_for(distributed, locations=locations)
    if engine is not None:
        checks = {"columns": declared, "target": target, "task": task or "", "min_rows": min_rows,
                  "locations": dict(locations), "pii": list(pii)}
        path = None if kind == "sql" else _source_path(source, locations, base_dir)
        frame = engine.read_table(source, str(kind), path=path, base_dir=Path(base_dir).resolve(), checks=checks,
                                  locations=locations)
    elif kind in ("csv", "parquet", "jsonl"):
        frame = _load_file(source, str(kind), locations, base_dir, column_names, memory)
    elif kind == "sql":
        from .sql_source import sql_frames

        [frame] = sql_frames(source, locations, base_dir)
    elif kind == "bundled":
        from .datasets import load_bundled

        frame = load_bundled(str(source.get("name")), where=where(locations, "data.source.name"))
    elif kind == "image_folder":
        from .images.folder import load_folder

        return load_folder(source, target=target or "label", locations=locations, base_dir=base_dir)
    else:
        raise DataError(f"unknown data source kind {kind!r}", where=where(locations, "data.source.kind"),
                        hint="use csv, parquet, jsonl, sql or bundled")
    if len(frame.columns) == 0 or len(frame) == 0:
        raise DataError(f"the {kind} source holds no data ({len(frame)} rows, {len(frame.columns)} columns)",
                        where=where(locations, "data.source"), hint="check the file, query or table")
    frame = mark_missing(frame, [str(v) for v in source.get("na_values") or []], declared)
    if kind == "csv":
        frame = _infer_undeclared(frame, declared)
    return frame


def mark_missing(frame: Any, markers: Sequence[str], declared: Mapping[str, Mapping[str, Any]]) -> Any:
    """Blank text cells, and cells whose text is one of the declared missing markers, become None."""
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    out = None
    for name in frame.columns:
        series = frame[name]
        if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
            continue
        own = (declared.get(str(name)) or {}).get("na_values") or []
        missing_texts = {*markers, *(str(v) for v in own)}

        def gone(value: Any, texts: set[str] = missing_texts) -> bool:
            return isinstance(value, str) and (not value.strip() or value in texts)

        mask = series.map(gone).astype(bool)
        if bool(mask.any()):
            if out is None:
                out = frame.copy()
            out[name] = series.astype(object).where(~mask, None)
    return frame if out is None else out


_PLAIN_NUMBER = re.compile(r"^\s*[-+]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*$")


def is_plain_number(text: str) -> bool:
    """Whether ``text`` reads as a number when its column is not declared (``007``, ``01001``: codes)."""
    return bool(_PLAIN_NUMBER.match(text))


def _infer_undeclared(frame: Any, declared: Mapping[str, Any]) -> Any:
    """Undeclared CSV columns whose every present value is a plain number become float64. A leading
    zero (``007``, ``01001``) marks a code, not a number: such a column stays text."""
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    out = frame
    for name in frame.columns:
        if str(name) in declared:
            continue
        values = [v for v in frame[name].tolist() if v is not None]
        if values and all(isinstance(v, str) and is_plain_number(v) for v in values):
            if out is frame:
                out = frame.copy()
            out[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    return out


_MEMORY_FACTOR = {"csv": 5.0, "jsonl": 4.0, "parquet": 8.0}  # in-memory frame / file size, roughly


def _check_memory(path: Path, kind: str, memory: str | int | None, locations: Mapping[str, str]) -> None:
    """``hardware.memory`` is a budget: refuse data whose frame would clearly not fit, before reading it."""
    if memory is None:
        return
    from .serving.contract import parse_size

    budget = parse_size(memory)
    needed = int(path.stat().st_size * _MEMORY_FACTOR.get(kind, 5.0))
    if needed > budget:
        raise DataError(f"{path.name} needs about {_size(needed)} in memory as a table "
                        f"({_size(path.stat().st_size)} on disk), more than hardware.memory = {memory}",
                        where=where(locations, "hardware.memory"),
                        hint="raise hardware.memory, or read fewer columns or rows (a SQL query)")


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _source_path(source: Mapping[str, Any], locations: Mapping[str, str], base_dir: Path) -> Path:
    """The source's file or folder (``${VAR}`` filled, relative to ``base_dir``); DataError when it is not there."""
    loc = where(locations, "data.source.path")
    raw = str(source.get("path", ""))
    path = Path(substitute_env(raw, where_=loc, what="data path"))
    if not path.is_absolute():
        path = Path(base_dir) / path
    if not path.exists():
        raise DataError(f"data file not found: {raw}", where=loc,
                        hint=f"looked for {path.resolve()}; paths are relative to the spec's folder")
    return path


def _load_file(source: Mapping[str, Any], kind: str, locations: Mapping[str, str], base_dir: Path,
               column_names: Sequence[str] | None, memory: str | int | None = None) -> Any:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    loc = where(locations, "data.source.path")
    raw = str(source.get("path", ""))
    path = _source_path(source, locations, base_dir)
    if path.is_dir():
        raise DataError(f"data path is a folder, not a {kind} file: {raw}", where=loc,
                        hint="a folder of files is read with hardware.distributed.engine: ray")
    _check_memory(path, kind, memory, locations)
    declared_encoding = str(source.get("encoding") or "utf-8")
    encoding = declared_encoding
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"  # the same, but a byte-order mark does not end up in the first column name
    try:
        if kind == "csv":
            header = bool(source.get("header", True))
            # every cell as the text it is: no type guessing, no default missing markers (see load_frame)
            frame = pd.read_csv(path, sep=str(source.get("delimiter") or ","), encoding=encoding,
                                header=0 if header else None, dtype=str, keep_default_na=False, na_filter=False)
            if not header:
                n = len(frame.columns)
                if column_names is not None and len(column_names) == n:
                    frame.columns = list(column_names)
                else:
                    frame.columns = [f"column_{i + 1}" for i in range(n)]
        elif kind == "parquet":
            frame = pd.read_parquet(path)
        else:
            with open(path, encoding=encoding) as fh:
                # JSON's own types; no date guessing from column names; floats parsed exactly
                frame = pd.read_json(fh, lines=True, dtype=False, precise_float=True)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"data file is empty: {raw}", where=loc) from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"cannot decode {raw} as {declared_encoding}: {exc.reason} at byte {exc.start}", where=loc,
                        hint="set data.source.encoding (e.g. latin-1)") from exc
    except PermissionError as exc:
        raise DataError(f"no permission to read {raw}", where=loc) from exc
    except (ValueError, OSError) as exc:  # pandas ParserError, pyarrow ArrowInvalid, JSON errors
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read {raw} as {kind}: {message}", where=loc,
                        hint=f"check that the file is valid {kind}") from exc
    return frame


# --------------------------------------------------------------------- validation


@dataclass(slots=True)
class Problem:
    """One thing wrong with the data: which column, what, how often, examples and where."""

    column: str | None
    problem: str
    count: int
    examples: list[Any] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    where: str | None = None
    note: str = ""  # what the user can do about this one problem

    def render(self) -> str:
        subject = f"column '{self.column}'" if self.column is not None else "data"
        text = f"{subject}: {self.problem}"
        if self.count:
            text += f" ({self.count} {'row' if self.count == 1 else 'rows'})"
        details: list[str] = []
        if self.examples:
            details.append("e.g. " + ", ".join(repr(e) for e in self.examples))
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:_MAX_ROWS_SHOWN])
            more = ", ..." if self.count > _MAX_ROWS_SHOWN else ""
            details.append(f"{'row' if self.count == 1 else 'rows'} {shown}{more}")
        if details:
            text += " [" + "; ".join(details) + "]"
        if self.where:
            text += f" at {self.where}"
        if self.note:
            text += f"; {self.note}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "examples": [_plain(e) for e in self.examples]}


class DataValidationError(DataError):
    """Raised by :func:`validate_frame`; ``problems`` lists every :class:`Problem` found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        lines = [f"the data has {n} problem{'s' if n != 1 else ''}:"]
        lines += [f"  - {p.render()}" for p in self.problems]
        first = next((p.where for p in self.problems if p.where), None)
        super().__init__("\n".join(lines), where=first,
                         hint="fix the data or the declared columns (row numbers count data rows from 0)")


@dataclass(slots=True)
class ColumnSummary:
    """What one column of the data looks like (for the report and the datasheet).

    A PII column (``compliance.pii``) contributes counts only: rows and missing values, never its
    values, their range, mean or most frequent entries (``pii`` is then True and the rest empty)."""

    name: str
    dtype: str
    declared_type: str | None
    missing: int
    unique: int | None
    min: float | str | None = None
    max: float | str | None = None
    mean: float | None = None
    std: float | None = None
    top: list[tuple[str, int]] = field(default_factory=list)
    pii: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["top"] = [[value, count] for value, count in self.top]
        return out


@dataclass(slots=True)
class RowStep:
    """One step that removed, added or divided rows: what it did to how many rows.

    ``part``: the data the step worked on: ``all`` (before the split) or a split's name."""

    step: str
    rows_in: int
    rows_out: int
    detail: str = ""
    part: str = "all"

    @property
    def removed(self) -> int:
        return self.rows_in - self.rows_out

    def line(self) -> str:
        change = self.rows_out - self.rows_in
        where_ = "" if self.part == "all" else f" ({self.part} split)"
        if change:
            text = f"{self.step}{where_}: {self.rows_in:,} → {self.rows_out:,} rows ({change:+,})"
        else:
            text = f"{self.step}{where_}: {self.rows_out:,} rows"
        return f"{text}: {self.detail}" if self.detail else text

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "removed": self.removed}


@dataclass(slots=True)
class DataReport:
    """Summary of a validated frame, what each cleaning step did to the rows, and warnings about the data.

    ``rows``: every step that removed, added or divided rows, in order (:class:`RowStep`), so the
    run output, the report and the datasheet can say where every row went. ``warnings``: findings a
    user must see (copies of training rows in the test split, values that look like personal data in
    undeclared columns, a split far from the asked ratios), never holding PII values."""

    n_rows: int
    n_columns: int
    columns: dict[str, ColumnSummary]
    duplicates: int = 0
    rows: list[RowStep] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    split: dict[str, Any] = field(default_factory=dict)

    def record(self, step: str, rows_in: int, rows_out: int, detail: str = "", part: str = "all") -> RowStep:
        entry = RowStep(step, int(rows_in), int(rows_out), detail, part)
        self.rows.append(entry)
        return entry

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def to_dict(self) -> dict[str, Any]:
        return {"n_rows": self.n_rows, "n_columns": self.n_columns, "duplicates": self.duplicates,
                "columns": {name: summary.to_dict() for name, summary in self.columns.items()},
                "rows": [r.to_dict() for r in self.rows], "warnings": list(self.warnings),
                "split": dict(self.split)}


def _plain(value: Any) -> Any:
    """A JSON-friendly Python scalar."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        with contextlib.suppress(ValueError, AttributeError):
            value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _is_missing(series: Any, kind: str | None) -> Any:
    missing = series.isna()
    if kind in ("categorical", "text"):
        missing = missing | series.map(lambda v: isinstance(v, str) and v.strip() == "")
    return missing.astype(bool)


def _to_bool(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if value in (0, 1) else None
    try:
        import numpy as np

        if isinstance(value, np.bool_):
            return float(bool(value))
        if isinstance(value, (np.integer, np.floating)):
            return float(value) if value in (0, 1) else None
    except ImportError:  # pragma: no cover
        pass
    text = str(value).strip().lower()
    if text in _TRUE:
        return 1.0
    if text in _FALSE:
        return 0.0
    return None


def _numeric_values(series: Any) -> Any:
    """The column as float64 (NaN where missing or not a number)."""
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64")
    return pd.to_numeric(series.map(lambda v: float(v) if isinstance(v, bool) else v), errors="coerce") \
        .astype("float64")


def _datetime_values(series: Any) -> Any:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    try:
        return pd.to_datetime(series, errors="coerce", format="mixed")
    except (ValueError, TypeError):  # mixed time zones: compare in UTC
        return pd.to_datetime(series, errors="coerce", format="mixed", utc=True)


def _examples(values: Iterable[Any], limit: int = 3) -> list[Any]:
    out: list[Any] = []
    seen: set[str] = set()
    for v in values:
        key = repr(v)
        if key not in seen:
            seen.add(key)
            out.append(_plain(v))
        if len(out) >= limit:
            break
    return out


def _problem(column: str | None, text: str, mask: Any, values: Any, loc: str | None) -> Problem:
    """A problem for the rows where ``mask`` holds (``values`` gives the examples)."""
    import numpy as np

    positions = np.flatnonzero(np.asarray(mask, dtype=bool))
    return Problem(column=column, problem=text, count=int(positions.size),
                   examples=_examples(values.iloc[positions]) if values is not None else [],
                   rows=[int(p) for p in positions[:_MAX_ROWS_SHOWN]], where=loc)


def _fmt_bound(value: Any) -> str:
    return "-inf" if value is None else f"{value:g}" if isinstance(value, (int, float)) else str(value)


def validate_frame(frame: Any, *, columns: Mapping[str, Mapping[str, Any]] | None, target: str | None, task: str,
                   min_rows: int, locations: Mapping[str, str] = _NO_LOCATIONS, pii: Sequence[str] = ()) -> DataReport:
    """Check ``frame`` against the declared ``columns``; report every problem at once.

    Problems: a declared column missing, values not of the declared type, nulls in a non-nullable
    column, values outside ``range`` or ``allowed``, the target missing (or with missing values
    when undeclared), fewer than ``min_rows`` rows, and for classification tasks fewer than two
    classes or a class with fewer than two rows. Raises :class:`DataValidationError` (a
    :class:`DataError`) listing them one per line; returns a :class:`DataReport` otherwise.
    Row numbers are 0-based positions in the frame. For categorical and text columns an empty
    (or blank) string counts as missing, as :func:`prepare_frame` treats it. Problems in a ``pii``
    column never quote its values (counts and row numbers only); the report summarises it by counts.
    """
    problems: list[Problem] = []
    declared = dict(columns or {})
    private = {str(p) for p in pii}
    n_rows = len(frame)

    tally = tally_classes(frame, columns=declared, target=target, task=task)
    problems += table_problems(n_rows, tally, target=target, min_rows=min_rows, locations=locations, head=True)
    problems += row_problems(frame, columns=declared, target=target, locations=locations, pii=private)
    problems += table_problems(n_rows, tally, target=target, min_rows=min_rows, locations=locations, head=False,
                               pii=private)  # personal data never reaches a message: counts and row numbers only
    if problems:
        raise DataValidationError(problems)
    report = _report(frame, declared, private)
    images = frame.attrs.get("aispec.images")
    if images:
        from .images.ledger import record_loading

        record_loading(report, images, n_rows, locations)
    else:
        report.record("read", n_rows, n_rows, f"{len(frame.columns)} columns, validated against the declared schema")
    for warning in personal_data_warnings(frame, exclude=private, columns=declared):
        report.warn(warning)
    return report


@dataclass(slots=True)
class ClassTally:
    """What the class checks of :func:`validate_frame` need from a table of a classification task, per class
    (its canonical text): how many rows, the first row's number and value; and the first distinct values of the
    target. A block's tally is small (one entry per class), and :func:`merge_tallies` adds blocks up."""

    classes: dict[str, list[Any]] = field(default_factory=dict)  # label text -> [rows, first row, first value]
    examples: list[Any] = field(default_factory=list)


def tally_classes(frame: Any, *, columns: Mapping[str, Mapping[str, Any]] | None, target: str | None,
                  task: str) -> ClassTally | None:
    """The class tally of ``frame``'s target (None: not a classification task, or no target column)."""
    if task not in CLASSIFICATION_TASKS or target is None or target not in frame.columns:
        return None
    import numpy as np

    y = frame[target]
    positions = np.flatnonzero(~np.asarray(_is_missing(y, dict(columns or {}).get(target, {}).get("type"))))
    present = y.iloc[positions]
    keys = present.map(label_text)
    counts = keys.value_counts(sort=False)
    first = ~keys.duplicated().to_numpy()
    tally = ClassTally(examples=_examples(present))
    for key, position, value in zip(keys.to_numpy()[first], positions[first], present.to_numpy()[first],
                                    strict=True):
        tally.classes[str(key)] = [int(counts[key]), int(position), _plain(value)]
    return tally


def merge_tallies(blocks: Iterable[tuple[int, ClassTally | None]]) -> ClassTally | None:
    """The tallies of consecutive blocks (each with the row number of its first row) as the whole table's."""
    merged: ClassTally | None = None
    for offset, tally in blocks:
        if tally is None:
            continue
        merged = merged or ClassTally()
        merged.examples = _examples([*merged.examples, *tally.examples])
        for label, (count, first, value) in tally.classes.items():
            entry = merged.classes.setdefault(label, [0, offset + first, value])
            entry[0] += count
    return merged


def table_problems(n_rows: int, tally: ClassTally | None, *, target: str | None, min_rows: int,
                   locations: Mapping[str, str] = _NO_LOCATIONS, head: bool, pii: Iterable[str] = ()) -> list[Problem]:
    """The checks of :func:`validate_frame` on the table as a whole: too few rows (``head``, reported before
    the rows' problems), and for a classification task fewer than two classes or a class with fewer than two
    rows (after them; a ``pii`` target's values never quoted)."""
    problems = _table_problems(n_rows, tally, target=target, min_rows=min_rows, locations=locations, head=head)
    if target in {str(p) for p in pii}:
        for problem in problems:
            problem.examples = []
    return problems


def _table_problems(n_rows: int, tally: ClassTally | None, *, target: str | None, min_rows: int,
                    locations: Mapping[str, str], head: bool) -> list[Problem]:
    if head:
        return [Problem(None, f"{n_rows} rows, fewer than min_rows = {min_rows}", 0,
                        where=where(locations, "data.min_rows"))] if n_rows < min_rows else []
    if tally is None:
        return []
    loc = where(locations, "problem.target")
    if len(tally.classes) < 2:
        return [Problem(target, f"classification needs at least 2 classes, found {len(tally.classes)}", 0,
                        examples=list(tally.examples), where=loc)]
    rare = sorted((first, value) for count, first, value in tally.classes.values() if count < 2)
    if not rare:
        return []
    return [Problem(target, f"{len(rare)} class(es) with fewer than 2 rows", len(rare),
                    examples=_examples(value for _, value in rare),
                    rows=[first for first, _ in rare[:_MAX_ROWS_SHOWN]], where=loc)]



@dataclass(slots=True)
class BlockCheck:
    """One block of a table checked alone (:func:`check_block`): its rows, their problems, its class tally."""

    rows: int
    problems: list[Problem]
    tally: ClassTally | None


def check_block(frame: Any, *, columns: Mapping[str, Mapping[str, Any]] | None, target: str | None, task: str,
                locations: Mapping[str, str] = _NO_LOCATIONS, pii: Iterable[str] = ()) -> BlockCheck:
    """What :func:`validate_frame` needs from one block of a larger table (a cluster's worker runs this)."""
    return BlockCheck(len(frame), row_problems(frame, columns=columns, target=target, locations=locations, pii=pii),
                      tally_classes(frame, columns=columns, target=target, task=task))


def merge_checks(blocks: Sequence[BlockCheck], *, columns: Mapping[str, Mapping[str, Any]] | None,
                 target: str | None, min_rows: int, locations: Mapping[str, str] = _NO_LOCATIONS,
                 pii: Iterable[str] = ()) -> list[Problem]:
    """The consecutive blocks' checks, in order, as the problems :func:`validate_frame` reports for the whole
    table (the same problems, counts, examples, row numbers and order)."""
    offsets = [0, *itertools.accumulate(block.rows for block in blocks)]
    n_rows = offsets.pop()
    tally = merge_tallies(zip(offsets, (block.tally for block in blocks), strict=True))
    private = list(pii)
    return [*table_problems(n_rows, tally, target=target, min_rows=min_rows, locations=locations, head=True),
            *merge_problems(zip(offsets, (block.problems for block in blocks), strict=True), columns=columns),
            *table_problems(n_rows, tally, target=target, min_rows=min_rows, locations=locations, head=False,
                            pii=private)]

# the order validate_frame reports problems in, within one column (see merge_problems)
_KINDS = ("declared column is missing", "missing values in a column", "values that are not",
          "values outside the range", "values not in the allowed set", "target column is missing",
          "target has missing values")


def row_problems(frame: Any, *, columns: Mapping[str, Mapping[str, Any]] | None, target: str | None,
                 locations: Mapping[str, str] = _NO_LOCATIONS, pii: Iterable[str] = ()) -> list[Problem]:
    """The checks of :func:`validate_frame` that look at each row on its own: every declared column present,
    of its type, not null unless nullable, in its range and allowed set; the target present and, when
    undeclared, never missing. A block of a larger table can be checked alone (on a cluster's workers, say);
    :func:`merge_problems` joins the blocks' answers into what the whole table gives. Row numbers are positions
    in ``frame``; a ``pii`` column's problems carry no examples."""
    problems: list[Problem] = []
    declared = dict(columns or {})
    for name, spec in declared.items():
        loc = where(locations, f"data.columns.{name}")
        if name not in frame.columns:
            problems.append(Problem(name, "declared column is missing from the data", 0, where=loc))
            continue
        problems += _check_column(frame[name], name, spec, loc)
    if target is not None and target not in frame.columns and target not in declared:
        problems.append(Problem(target, "target column is missing from the data", 0,
                                where=where(locations, "problem.target")))
    elif target is not None and target in frame.columns and target not in declared:
        y = frame[target]
        missing = _is_missing(y, None)
        if bool(missing.any()):
            problems.append(_problem(target, "target has missing values", missing, y,
                                     where(locations, "problem.target")))
    private = {str(p) for p in pii}
    for problem in problems:
        if problem.column in private:  # counts and row numbers only: no value, not even in a hint
            problem.examples, problem.note = [], ""
    return problems


def merge_problems(blocks: Iterable[tuple[int, Sequence[Problem]]], *,
                   columns: Mapping[str, Any] | None) -> list[Problem]:
    """The :func:`row_problems` of consecutive blocks, each given with the row number of its first row, as one
    list: what :func:`row_problems` gives for the whole table (counts summed, the first examples and row numbers
    kept, in validate_frame's order: by declared column, then by check)."""
    merged: dict[tuple[str | None, str], Problem] = {}
    for offset, problems in blocks:
        for problem in problems:
            key = (problem.column, problem.problem)
            into = merged.get(key)
            if into is None:
                into = merged[key] = Problem(problem.column, problem.problem, 0, [], [], problem.where)
            into.count += problem.count
            into.examples = _examples([*into.examples, *problem.examples])
            room = max(0, _MAX_ROWS_SHOWN - len(into.rows))
            into.rows += [offset + row for row in problem.rows[:room]]
    order = {name: i for i, name in enumerate(columns or {})}
    for problem in merged.values():
        problem.note = _marker_note(problem.examples) if problem.problem.startswith("values that are not") else ""

    def rank(problem: Problem) -> tuple[int, int]:
        kind = next((i for i, prefix in enumerate(_KINDS) if problem.problem.startswith(prefix)), len(_KINDS))
        slot = len(order) if kind >= _KINDS.index("target column is missing") else order.get(str(problem.column), 0)
        return slot, kind

    return sorted(merged.values(), key=rank)


def _marker_note(examples: Sequence[Any]) -> str:
    """For values that are not of a column's type: the hint when some look like a missing-value marker."""
    markers = [e for e in examples if isinstance(e, str) and e.strip().lower() in _COMMON_MARKERS]
    if not markers:
        return ""
    shown = ", ".join(repr(m) for m in markers)
    return (f"if {shown} {'means' if len(markers) == 1 else 'mean'} missing, say so in "
            "data.source.na_values or the column's na_values")


def _check_column(series: Any, name: str, spec: Mapping[str, Any], loc: str | None) -> list[Problem]:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    problems: list[Problem] = []
    kind = spec.get("type")
    missing = _is_missing(series, kind)
    if not spec.get("nullable", False) and bool(missing.any()):
        problems.append(_problem(name, "missing values in a column that is not nullable", missing, None, loc))
    present = ~missing
    if kind in ("numeric", "boolean", "datetime"):
        if kind == "numeric":
            converted = _numeric_values(series)
            bad = present & converted.isna()
        elif kind == "boolean":
            converted = series.map(_to_bool)
            bad = present & converted.isna()
        else:
            converted = _datetime_values(series)
            bad = present & converted.isna()
        if bool(bad.any()):
            problem = _problem(name, f"values that are not {kind}", bad, series, loc)
            problem.note = _marker_note(problem.examples)
            problems.append(problem)
        rng = spec.get("range")
        if kind == "numeric" and rng is not None:
            lo, hi = rng[0], rng[1]
            outside = pd.Series(False, index=series.index)
            if lo is not None:
                outside |= converted < float(lo)
            if hi is not None:
                outside |= converted > float(hi)
            outside &= present & ~bad
            if bool(outside.any()):
                text = f"values outside the range [{_fmt_bound(lo)}, {'inf' if hi is None else _fmt_bound(hi)}]"
                problems.append(_problem(name, text, outside, series, loc))
    allowed = spec.get("allowed")
    if allowed is not None:
        key = _to_bool if kind == "boolean" else label_text
        keys = {key(a) for a in allowed}
        outside = present & ~series.map(lambda v: key(v) in keys).astype(bool)
        if bool(outside.any()):
            shown = ", ".join(str(a) for a in allowed[:10]) + (", ..." if len(allowed) > 10 else "")
            problems.append(_problem(name, f"values not in the allowed set [{shown}]", outside, series, loc))
    return problems


_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?\(?[0-9][0-9 ().-]{6,18}[0-9]$")  # (020) 7946 0958, +44 20 7946 0958
_CARD = re.compile(r"^[0-9][0-9 -]{11,21}[0-9]$")

# Digits with separators that are not phone numbers: a decimal number (25120.78), a date (2020-01-31,
# 31.01.2020) and thousands groups (1.234.567). Without this, an income or a signup date column was
# reported as phone numbers, and the editor proposed it as personal data.
_NOT_PHONE = re.compile(r"^(-?[0-9]+\.[0-9]+|[0-9]{4}[-./][0-9]{1,2}[-./][0-9]{1,2}|[0-9]{1,2}[-./][0-9]{1,2}[-./]"
                        r"[0-9]{2,4}|[0-9]{1,3}(\.[0-9]{3})+)$")
# Declared types whose values are validated as such: numbers, dates and flags are not personal text.
_NOT_TEXT = frozenset({"numeric", "datetime", "boolean"})


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _personal_kind(value: str) -> str | None:
    text = value.strip()
    if _EMAIL.match(text):
        return "e-mail addresses"
    if _CARD.match(text):
        digits = re.sub(r"[ -]", "", text)
        if 13 <= len(digits) <= 19 and _luhn(digits):
            return "payment card numbers"
    if _PHONE.match(text) and (text.startswith("+") or re.search(r"[ ().-]", text)) and not _NOT_PHONE.match(text):
        digits = re.sub(r"[^0-9]", "", text)
        if 7 <= len(digits) <= 15:
            return "phone numbers"
    return None


def personal_data_warnings(frame: Any, *, exclude: Iterable[str] = (), sample: int = 5000,
                           columns: Mapping[str, Mapping[str, Any]] | None = None) -> list[str]:
    """Warnings for text columns (not in ``exclude``, the declared PII, nor declared in ``columns`` as
    numeric, datetime or boolean) whose values look like e-mail addresses, phone numbers or payment card
    numbers (a valid Luhn check): with counts, never values. At most ``sample`` present values per column
    are looked at (the count says so)."""
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    skip = set(exclude) | {str(name) for name, spec in (columns or {}).items() if spec.get("type") in _NOT_TEXT}
    out: list[str] = []
    for name in frame.columns:
        if str(name) in skip:
            continue
        series = frame[name]
        if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
            continue
        values = [v for v in series.tolist() if isinstance(v, str) and v.strip()]
        looked = values[:sample]
        counts: dict[str, int] = {}
        for value in looked:
            kind = _personal_kind(value)
            if kind is not None:
                counts[kind] = counts.get(kind, 0) + 1
        for kind, count in sorted(counts.items()):
            of = f"{count:,} of {len(looked):,}" + (" sampled" if len(values) > sample else "")
            out.append(f"column '{name}': {of} values look like {kind}; if it holds personal data, list it "
                       "under compliance.pii (it is then never a model input, logged or reported)")
    return out


def _report(frame: Any, declared: Mapping[str, Mapping[str, Any]],
            private: AbstractSet[str] = frozenset()) -> DataReport:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    summaries: dict[str, ColumnSummary] = {}
    for name in frame.columns:
        series = frame[name]
        kind = declared.get(str(name), {}).get("type")
        missing = _is_missing(series, kind)
        if str(name) in private:  # counts only
            summaries[str(name)] = ColumnSummary(name=str(name), dtype=str(series.dtype), declared_type=kind,
                                                 missing=int(missing.sum()), unique=None, pii=True)
            continue
        if kind == "image" or _holds_arrays(series):
            from .images.ledger import image_summary

            summaries[str(name)] = image_summary(str(name), series, missing=int(missing.sum()))
            continue
        try:
            unique = int(series[~missing].nunique(dropna=True))
        except TypeError:  # unhashable cells (lists, dicts)
            unique = int(series[~missing].astype(str).nunique())
        summary = ColumnSummary(name=str(name), dtype=str(series.dtype), declared_type=kind,
                                missing=int(missing.sum()), unique=unique)
        is_numeric = kind == "numeric" or (
            kind is None and pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))
        is_datetime = kind == "datetime" or (kind is None and pd.api.types.is_datetime64_any_dtype(series))
        if is_numeric:
            values = _numeric_values(series).dropna()
            if len(values):
                summary.min, summary.max = float(values.min()), float(values.max())
                summary.mean = float(values.mean())
                summary.std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        elif is_datetime:
            values = _datetime_values(series).dropna()
            if len(values):
                summary.min, summary.max = values.min().isoformat(), values.max().isoformat()
        else:
            counts = series[~missing].astype(str).value_counts()
            summary.top = [(str(v), int(c)) for v, c in counts.head(5).items()]
        summaries[str(name)] = summary
    # duplicates are counted by prepare_frame, over the columns the model is trained on
    return DataReport(n_rows=len(frame), n_columns=len(frame.columns), columns=summaries)


# -------------------------------------------------------------------- preparation


def prepare_frame(frame: Any, *, columns: Mapping[str, Mapping[str, Any]] | None, drop: Sequence[str],
                  pii: Sequence[str], target: str | None = None, task: str | None = None,
                  features: Sequence[str] | None = None, cleaning: Mapping[str, Any] | None = None,
                  report: DataReport | None = None) -> Any:
    """Drop the ``drop`` and ``pii`` columns, coerce types to the runtime conventions, then remove the
    rows a model cannot learn from, each removal recorded in ``report.rows``.

    Types: numeric and boolean -> ``float64`` (NaN for missing; booleans as 0.0/1.0), categorical and
    text -> ``object`` columns of Python ``str`` in the canonical label text (``schemas.labels``;
    ``""`` for missing), datetime -> ``datetime64[ns]`` (NaT for missing). A classification target
    becomes label text too, so every later step compares labels one way. Without declared columns
    types are inferred from the dtypes. Image columns are left alone. Values that cannot be converted
    become missing: run :func:`validate_frame` first to report them.

    Rows (supervised tasks and ``cleaning``): rows without a target are removed; ``impute: drop``
    removes rows with a missing value in a feature of that kind (numeric, categorical, text); with
    ``cleaning.deduplicate`` rows that repeat another exactly are removed (the first is kept).
    """
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    removed = [c for c in dict.fromkeys([*drop, *pii]) if c in frame.columns]
    out = frame.drop(columns=removed).copy()
    declared = dict(columns or {})
    kinds: dict[str, str] = {}
    for name in list(out.columns):
        series = out[name]
        kind = declared.get(str(name), {}).get("type") if declared else None
        if kind is None:
            if _holds_arrays(series):
                kind = "image"
            elif pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
                kind = "numeric"
            elif pd.api.types.is_datetime64_any_dtype(series):
                kind = "datetime"
            else:
                kind = "categorical"
        if str(name) == target and task in CLASSIFICATION_TASKS:
            labels = series.map(lambda v: None if _is_na(v) else _to_bool(v)) if kind == "boolean" else series
            out[name] = pd.Series([label_text(v == 1.0 if kind == "boolean" and v is not None else v)
                                   if not _is_na(v) else "" for v in labels], index=series.index, dtype=object)
            kinds[str(name)] = "label"
            continue
        kinds[str(name)] = kind
        if kind == "numeric":
            out[name] = _numeric_values(series)
        elif kind == "boolean":
            out[name] = series.map(lambda v: None if _is_na(v) else _to_bool(v)).astype("float64")
        elif kind in ("categorical", "text"):
            out[name] = pd.Series([label_text(v) for v in series], index=series.index, dtype=object)
        elif kind == "datetime":
            values = _datetime_values(series)
            if getattr(values.dt, "tz", None) is not None:
                values = values.dt.tz_convert("UTC").dt.tz_localize(None)
            out[name] = values.astype("datetime64[ns]")
    out = _drop_unlearnable(out, kinds, target=target, task=task, features=features,
                            impute=dict((cleaning or {}).get("impute") or {}), report=report)
    return _deduplicate(out, bool((cleaning or {}).get("deduplicate", False)), report)


def _missing_mask(series: Any, kind: str) -> Any:
    if kind in ("categorical", "text", "label"):
        return series.map(lambda v: v is None or (isinstance(v, str) and not v.strip())).astype(bool)
    return series.isna().astype(bool)


def _drop_unlearnable(frame: Any, kinds: Mapping[str, str], *, target: str | None, task: str | None,
                      features: Sequence[str] | None, impute: Mapping[str, Any], report: DataReport | None) -> Any:
    supervised = task not in (None, "clustering", "anomaly_detection")
    if supervised and target is not None and target in frame.columns:
        keep = ~_missing_mask(frame[target], kinds.get(target, "numeric"))
        if not bool(keep.all()):
            before = len(frame)
            frame = frame.loc[keep]
            if report is not None:
                report.record("rows without a target", before, len(frame), "removed: a model cannot learn from them")
    inputs = [c for c in (features if features is not None else frame.columns) if c in frame.columns and c != target]
    for kind, setting in (("numeric", "numeric"), ("boolean", "numeric"), ("categorical", "categorical"),
                          ("text", "text")):
        if impute.get(setting) != "drop":
            continue
        cols = [c for c in inputs if kinds.get(str(c)) == kind]
        if not cols:
            continue
        gone = pd_any([_missing_mask(frame[c], kind) for c in cols], len(frame))
        if bool(gone.any()):
            before = len(frame)
            frame = frame.loc[~gone]
            if report is not None:
                report.record(f"missing {kind} values", before, len(frame),
                              f"cleaning.impute.{setting}: drop, over {', '.join(map(str, cols))}")
    return frame


def pd_any(masks: Sequence[Any], n: int) -> Any:
    """Row-wise OR of boolean masks (all False for none)."""
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    if not masks:
        return pd.Series(np.zeros(n, dtype=bool))
    out = masks[0].copy()
    for mask in masks[1:]:
        out = out | mask
    return out


def _holds_arrays(series: Any) -> bool:
    """Whether a column holds arrays (images) rather than scalars."""
    import numpy as np

    if str(getattr(series, "dtype", "")) != "object" or len(series) == 0:
        return False
    return isinstance(series.iloc[0], np.ndarray)


def row_keys(frame: Any) -> Any:
    """A hash per row over every column: cells compared by their text when they cannot be hashed, and
    arrays (images) by a digest of their shape and bytes (their text elides most pixels)."""
    import hashlib

    import numpy as np
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    arrays = [c for c in frame.columns if _holds_arrays(frame[c])]
    if arrays:
        frame = frame.copy()
        for column in arrays:
            frame[column] = [hashlib.blake2b(repr(np.shape(v)).encode() + np.ascontiguousarray(v).tobytes(),
                                             digest_size=16).hexdigest() if isinstance(v, np.ndarray) else str(v)
                             for v in frame[column].tolist()]
    try:
        return pd.util.hash_pandas_object(frame, index=False)
    except TypeError:
        return pd.util.hash_pandas_object(frame.astype(str), index=False)


_row_keys = row_keys


def _deduplicate(frame: Any, remove: bool, report: DataReport | None) -> Any:
    keys = _row_keys(frame)
    repeated = keys.duplicated()
    count = int(repeated.sum())
    if report is not None:
        report.duplicates = count
    if remove and count:
        before = len(frame)
        frame = frame.loc[~repeated.to_numpy()]
        if report is not None:
            report.record("duplicates", before, len(frame), "cleaning.deduplicate: rows repeating another exactly "
                                                             "(the first is kept)")
    return frame


def _is_na(value: Any) -> bool:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
