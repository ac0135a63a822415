"""A ``data.source`` of kind ``sql``: a query or a table read through SQLAlchemy, the password never shown.

:func:`sql_frames` is the one reader, used twice: by a local run (one frame, ``pandas.read_sql`` as it always
was) and by a distributed engine's read task on a worker (``chunk_rows``: the rows streamed from the database
cursor, one frame per block, so no process holds the whole result). The ``${VAR}`` in the URL is filled from
the environment of the process that reads it: on a cluster, each worker's own (a secret never travels in a
task's arguments or the object store).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import DataError, where

__all__ = ["sql_frames"]


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


def sql_frames(source: Mapping[str, Any], locations: Mapping[str, str], base_dir: Path, *,
               chunk_rows: int | None = None, worker: str | None = None) -> Iterator[Any]:
    """The rows of an sql ``source`` as pandas frames: one frame (``chunk_rows`` None), or frames of at most
    ``chunk_rows`` rows streamed from a server-side cursor; ``worker`` names the cluster when a worker reads
    (its environment fills the URL). Raises :class:`DataError` (with the spec line) for a
    bad URL, a missing driver or SQLite file, a failed connection or query, or no rows at all."""
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    from .data import substitute_env

    url_loc = where(locations, "data.source.url")
    try:  # the `sql` extra, not the `sklearn` one: most projects never read a database
        import sqlalchemy as sa
        from sqlalchemy import exc as sa_exc
    except ImportError:
        raise DataError("an sql source needs SQLAlchemy, which is not installed", where=url_loc,
                        hint="pip install 'aispec[sql]' (or the project's requirements.txt)") from None
    raw_url = str(source.get("url", ""))
    try:
        url = substitute_env(raw_url, where_=url_loc, what="SQL URL")
    except DataError as exc:
        if worker is None:
            raise
        raise DataError(f"{exc.message} on a worker of the {worker} cluster", where=url_loc,
                        hint="the workers read the database: set it in their environment (before `ray start` on each "
                             "node, or in the RayJob's pod env from a Kubernetes Secret)") from None
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
    rows = 0
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
        if chunk_rows is not None:
            # a server-side cursor where the driver has one (PostgreSQL, MySQL): rows arrive as they are read
            conn = conn.execution_options(stream_results=True)
        with conn:
            try:
                if chunk_rows is None:
                    frame = pd.read_sql(statement, conn)
                    rows = len(frame)
                    if rows:
                        yield frame
                else:
                    for chunk in pd.read_sql(statement, conn, chunksize=chunk_rows):
                        if len(chunk):
                            rows += len(chunk)
                            yield chunk
            except (sa_exc.DBAPIError, pd.errors.DatabaseError) as exc:
                cause = exc if isinstance(exc, sa_exc.DBAPIError) else (exc.__cause__ or exc)
                detail = _scrub(_db_detail(cause), secrets)
                raise DataError(f"the {what} failed on {masked}: {detail}", where=target_loc) from None
            except sa_exc.ResourceClosedError:
                raise DataError(f"the {what} returned no rows (is it a SELECT?)", where=target_loc) from None
    finally:
        engine.dispose()
    if rows == 0:
        raise DataError(f"the {what} returned no rows", where=target_loc)


def _db_detail(exc: Any) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig) if orig is not None else str(exc)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " ".join(lines[:3]) if lines else type(exc).__name__
