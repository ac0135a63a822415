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
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import DataError, where

__all__ = [
    "ColumnSummary",
    "DataReport",
    "DataValidationError",
    "Problem",
    "load_frame",
    "prepare_frame",
    "substitute_env",
    "validate_frame",
]

_NO_LOCATIONS: Mapping[str, str] = MappingProxyType({})
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
CLASSIFICATION_TASKS = frozenset({"classification", "text_classification", "image_classification"})
_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0"})
_MAX_ROWS_SHOWN = 10


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
               base_dir: Path = Path("."), column_names: Sequence[str] | None = None) -> Any:
    """Read ``source`` (a resolved ``data.source`` dict) into a ``pandas.DataFrame``.

    Paths are relative to ``base_dir``; ``${VAR}`` in paths and SQL URLs is filled from the
    environment. ``column_names`` names the columns of a header-less CSV (default ``column_1``,
    ``column_2``, ...). Raises :class:`DataError` for a missing or unreadable file, empty data, a
    missing environment variable or a failed database connection (the password is never shown).
    """
    kind = source.get("kind")
    if kind in ("csv", "parquet", "jsonl"):
        frame = _load_file(source, str(kind), locations, base_dir, column_names)
    elif kind == "sql":
        frame = _load_sql(source, locations, base_dir)
    elif kind == "bundled":
        from .datasets import load_bundled

        frame = load_bundled(str(source.get("name")), where=where(locations, "data.source.name"))
    elif kind == "image_folder":
        raise DataError("image folders are loaded by the image back end, not as a table",
                        where=where(locations, "data.source.kind"))
    else:
        raise DataError(f"unknown data source kind {kind!r}", where=where(locations, "data.source.kind"),
                        hint="use csv, parquet, jsonl, sql or bundled")
    if len(frame.columns) == 0 or len(frame) == 0:
        raise DataError(f"the {kind} source holds no data ({len(frame)} rows, {len(frame.columns)} columns)",
                        where=where(locations, "data.source"), hint="check the file, query or table")
    return frame


def _load_file(source: Mapping[str, Any], kind: str, locations: Mapping[str, str], base_dir: Path,
               column_names: Sequence[str] | None) -> Any:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    loc = where(locations, "data.source.path")
    raw = str(source.get("path", ""))
    path = Path(substitute_env(raw, where_=loc, what="data path"))
    if not path.is_absolute():
        path = Path(base_dir) / path
    if not path.exists():
        raise DataError(f"data file not found: {raw}", where=loc,
                        hint=f"looked for {path.resolve()}; paths are relative to the spec's folder")
    if path.is_dir():
        raise DataError(f"data path is a folder, not a {kind} file: {raw}", where=loc)
    declared_encoding = str(source.get("encoding") or "utf-8")
    encoding = declared_encoding
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"  # the same, but a byte-order mark does not end up in the first column name
    try:
        if kind == "csv":
            header = bool(source.get("header", True))
            frame = pd.read_csv(path, sep=str(source.get("delimiter") or ","), encoding=encoding,
                                header=0 if header else None)
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
                frame = pd.read_json(fh, lines=True, dtype=False)
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


def _mask_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (works even when SQLAlchemy cannot parse it)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _load_sql(source: Mapping[str, Any], locations: Mapping[str, str], base_dir: Path) -> Any:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    url_loc = where(locations, "data.source.url")
    try:  # the `sql` extra, not the `sklearn` one: most projects never read a database
        import sqlalchemy as sa
        from sqlalchemy import exc as sa_exc
    except ImportError:
        raise DataError("an sql source needs SQLAlchemy, which is not installed", where=url_loc,
                        hint="pip install 'aispec[sql]' (or the project's requirements.txt)") from None
    raw_url = str(source.get("url", ""))
    url = substitute_env(raw_url, where_=url_loc, what="SQL URL")
    masked = _mask_url(url)
    secrets: list[str] = []
    try:
        parsed = sa.engine.make_url(url)
        if parsed.password:
            secrets.append(str(parsed.password))
    except Exception:
        raise DataError(f"not a valid SQLAlchemy URL: {_mask_url(url)}", where=url_loc,
                        hint="write dialect+driver://user:${DB_PASSWORD}@host:port/database") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:" \
            and not parsed.database.startswith("file:"):
        # a file database: relative to the spec's folder like every other path, and never created
        db_path = Path(parsed.database)
        if not db_path.is_absolute():
            db_path = Path(base_dir) / db_path
            parsed = parsed.set(database=str(db_path))
        if not db_path.is_file():
            raise DataError(f"SQLite database file not found: {parsed.database}", where=url_loc,
                            hint=f"looked for {db_path.resolve()}; relative paths start at the spec's folder")
    query = source.get("query")
    table = source.get("table")
    if query:
        statement: Any = str(query)
        target_loc = where(locations, "data.source.query")
        what = "query"
    elif table:
        statement = sa.select(sa.literal_column("*")).select_from(sa.table(str(table)))
        target_loc = where(locations, "data.source.table")
        what = f"table {table!r}"
    else:
        raise DataError("an sql source needs a 'query' or a 'table'", where=where(locations, "data.source"))
    try:
        engine = sa.create_engine(parsed)
    except sa_exc.NoSuchModuleError:
        raise DataError(f"no SQLAlchemy dialect or driver for {masked}", where=url_loc,
                        hint="install the database driver package (e.g. psycopg[binary], pymysql)") from None
    except ImportError as exc:
        raise DataError(f"the database driver for {masked} is not installed: {exc.name}", where=url_loc,
                        hint=f"pip install {exc.name}") from None
    except Exception as exc:
        raise DataError(f"cannot use the SQL URL {masked}: {_scrub(str(exc), secrets)}", where=url_loc) from None
    try:
        try:
            conn = engine.connect()
        except sa_exc.DBAPIError as exc:
            detail = _scrub(_db_detail(exc), secrets)
            raise DataError(f"cannot connect to {masked}: {detail}", where=url_loc,
                            hint="check host, port, user and that the password variable is right") from None
        except Exception as exc:
            detail = _scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, secrets)
            raise DataError(f"cannot connect to {masked}: {detail}", where=url_loc) from None
        if isinstance(statement, str) and engine.dialect.paramstyle in ("format", "pyformat"):
            # the query runs verbatim: drivers such as psycopg read a lone '%' as a placeholder
            statement = statement.replace("%", "%%")
        with conn:
            try:
                frame = pd.read_sql(statement, conn)
            except (sa_exc.DBAPIError, pd.errors.DatabaseError) as exc:
                cause = exc if isinstance(exc, sa_exc.DBAPIError) else (exc.__cause__ or exc)
                detail = _scrub(_db_detail(cause), secrets)
                raise DataError(f"the {what} failed on {masked}: {detail}", where=target_loc) from None
            except sa_exc.ResourceClosedError:
                raise DataError(f"the {what} returned no rows (is it a SELECT?)", where=target_loc) from None
    finally:
        engine.dispose()
    if len(frame) == 0:
        raise DataError(f"the {what} returned no rows", where=target_loc)
    return frame


def _db_detail(exc: Any) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig) if orig is not None else str(exc)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " ".join(lines[:3]) if lines else type(exc).__name__


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
    """What one column of the data looks like (for the report and the datasheet)."""

    name: str
    dtype: str
    declared_type: str | None
    missing: int
    unique: int
    min: float | str | None = None
    max: float | str | None = None
    mean: float | None = None
    std: float | None = None
    top: list[tuple[str, int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["top"] = [[value, count] for value, count in self.top]
        return out


@dataclass(slots=True)
class DataReport:
    """Summary of a validated frame."""

    n_rows: int
    n_columns: int
    columns: dict[str, ColumnSummary]
    duplicates: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"n_rows": self.n_rows, "n_columns": self.n_columns, "duplicates": self.duplicates,
                "columns": {name: summary.to_dict() for name, summary in self.columns.items()}}


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


def _label_key(value: Any) -> str:
    """Compare labels across types: True == 'true', 1 == 1.0 == '1'."""
    value = _plain(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if text.lower() in ("true", "false"):
        return text.lower()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else str(number)


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
                   min_rows: int, locations: Mapping[str, str] = _NO_LOCATIONS) -> DataReport:
    """Check ``frame`` against the declared ``columns``; report every problem at once.

    Problems: a declared column missing, values not of the declared type, nulls in a non-nullable
    column, values outside ``range`` or ``allowed``, the target missing (or with missing values
    when undeclared), fewer than ``min_rows`` rows, and for classification tasks fewer than two
    classes or a class with fewer than two rows. Raises :class:`DataValidationError` (a
    :class:`DataError`) listing them one per line; returns a :class:`DataReport` otherwise.
    Row numbers are 0-based positions in the frame. For categorical and text columns an empty
    (or blank) string counts as missing, as :func:`prepare_frame` treats it.
    """
    problems: list[Problem] = []
    declared = dict(columns or {})
    n_rows = len(frame)

    if n_rows < min_rows:
        problems.append(Problem(None, f"{n_rows} rows, fewer than min_rows = {min_rows}", 0,
                                where=where(locations, "data.min_rows")))

    for name, spec in declared.items():
        loc = where(locations, f"data.columns.{name}")
        if name not in frame.columns:
            problems.append(Problem(name, "declared column is missing from the data", 0, where=loc))
            continue
        problems += _check_column(frame[name], name, spec, loc)

    if target is not None and target not in frame.columns and target not in declared:
        problems.append(Problem(target, "target column is missing from the data", 0,
                                where=where(locations, "problem.target")))
    elif target is not None and target in frame.columns:
        y = frame[target]
        kind = declared.get(target, {}).get("type")
        missing = _is_missing(y, kind)
        if target not in declared and bool(missing.any()):
            problems.append(_problem(target, "target has missing values", missing, y,
                                     where(locations, "problem.target")))
        if task in CLASSIFICATION_TASKS:
            keys = y.map(_label_key).where(~missing)
            counts = keys[~missing].value_counts()
            loc = where(locations, "problem.target")
            if len(counts) < 2:
                problems.append(Problem(target, f"classification needs at least 2 classes, found {len(counts)}",
                                        0, examples=_examples(y[~missing]), where=loc))
            rare = [label for label, count in counts.items() if count < 2]
            if rare and len(counts) >= 2:
                mask = (~missing) & keys.isin(rare)
                problems.append(_problem(target, f"{len(rare)} class(es) with fewer than 2 rows",
                                         mask, y, loc))

    if problems:
        raise DataValidationError(problems)
    return _report(frame, declared)


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
            problems.append(_problem(name, f"values that are not {kind}", bad, series, loc))
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
        key = _to_bool if kind == "boolean" else _label_key
        keys = {key(a) for a in allowed}
        outside = present & ~series.map(lambda v: key(v) in keys).astype(bool)
        if bool(outside.any()):
            shown = ", ".join(str(a) for a in allowed[:10]) + (", ..." if len(allowed) > 10 else "")
            problems.append(_problem(name, f"values not in the allowed set [{shown}]", outside, series, loc))
    return problems


def _report(frame: Any, declared: Mapping[str, Mapping[str, Any]]) -> DataReport:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    summaries: dict[str, ColumnSummary] = {}
    for name in frame.columns:
        series = frame[name]
        kind = declared.get(str(name), {}).get("type")
        missing = _is_missing(series, kind)
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
    try:
        duplicates = int(frame.duplicated().sum())
    except TypeError:
        duplicates = 0
    return DataReport(n_rows=len(frame), n_columns=len(frame.columns), columns=summaries, duplicates=duplicates)


# -------------------------------------------------------------------- preparation


def _as_label_text(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def prepare_frame(frame: Any, *, columns: Mapping[str, Mapping[str, Any]] | None, drop: Sequence[str],
                  pii: Sequence[str]) -> Any:
    """Drop the ``drop`` and ``pii`` columns and coerce types to the runtime conventions.

    numeric and boolean -> ``float64`` (NaN for missing; booleans as 0.0/1.0), categorical and text
    -> ``object`` columns of Python ``str`` with ``""`` for missing (whole-number floats such as
    ``1.0`` become ``"1"``), datetime -> ``datetime64[ns]`` (NaT for missing). Without declared
    columns types are inferred from the dtypes. Image columns are left alone. Values that cannot
    be converted become missing: run :func:`validate_frame` first to report them.
    """
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    removed = [c for c in dict.fromkeys([*drop, *pii]) if c in frame.columns]
    out = frame.drop(columns=removed).copy()
    declared = dict(columns or {})
    for name in list(out.columns):
        series = out[name]
        kind = declared.get(str(name), {}).get("type") if declared else None
        if kind is None:
            if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
                kind = "numeric"
            elif pd.api.types.is_datetime64_any_dtype(series):
                kind = "datetime"
            else:
                kind = "categorical"
        if kind == "numeric":
            out[name] = _numeric_values(series)
        elif kind == "boolean":
            out[name] = series.map(lambda v: None if _is_na(v) else _to_bool(v)).astype("float64")
        elif kind in ("categorical", "text"):
            out[name] = pd.Series([_as_label_text(v) for v in series], index=series.index, dtype=object)
        elif kind == "datetime":
            values = _datetime_values(series)
            if getattr(values.dt, "tz", None) is not None:
                values = values.dt.tz_convert("UTC").dt.tz_localize(None)
            out[name] = values.astype("datetime64[ns]")
    return out


def _is_na(value: Any) -> bool:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
