"""Tables on Ray Data: a CSV or Parquet file or a folder of them, or an SQL query, read in blocks by the
workers; and batch scoring with ``map_batches`` over onnxruntime.

- :func:`read_table`: the cells a local read gives (CSV cells as the text they are, nothing but what the
  spec says counts as missing; SQL rows streamed from the database cursor in the order it returns them). Each
  block is checked on a worker against the declared columns (:func:`aispec.runtime.data.row_problems`: types,
  nulls, ranges, allowed values, the target) and only the problems come back; a table with any is reported as
  a local run reports it (every problem, row numbers of the whole table, the spec line) and is never gathered.
  A table that passes is gathered as one pandas frame on the driver for the split and the fit (the driver
  holds the table; the workers hold a block at a time, and a training worker its share).
- :func:`score`: the local batch scorer's chunk function (:func:`aispec.runtime.serving.batch.score_chunk`:
  the same checks per row, a bad row gets an empty answer and its ``error``) as at most ``workers`` tasks at
  once, each worker process loading the model once; blocks stream through (a bounded object store, rows in
  input order) to one output file written on the driver under a temporary name and renamed at the end: a
  failed run leaves no output, not a partial one. Memory stays flat whatever the input's size.
"""
from __future__ import annotations

import csv
import logging
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ...errors import AispecRuntimeError, DataError, where
from .. import Cluster

__all__ = ["SQL_BLOCK_ROWS", "read_table", "score"]

_CSV = (".csv", ".txt", ".tsv")
_PARQUET = (".parquet", ".pq")
_BLOCK_BYTES = 8 * 1024 * 1024


def _files(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes
                  and not any(part.startswith(".") for part in p.relative_to(path).parts))


def _dataset(path: Path, kind: str, *, delimiter: str = ",", encoding: str = "utf-8", empty_is_null: bool) -> Any:
    """A Ray dataset of ``path`` (file or folder); CSV columns all read as text."""
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
    import pyarrow.csv as pacsv  # type: ignore[import-untyped, unused-ignore]
    import pyarrow.fs as pafs  # type: ignore[import-untyped, unused-ignore]
    import ray.data

    files = _files(path, _PARQUET if kind == "parquet" else _CSV)
    if not files:
        raise DataError(f"no {kind} files in {path}")
    # reading is I/O: its tasks reserve no CPU (Ray Data's file listing before it still takes one: see score()).
    # One read task per file, whose output is cut at the block size as it is read: left to itself, Ray Data aims
    # at 200 blocks and cuts small files into tiny ones, each then a task of its own (a 344-row table took 80 s)
    # the files are local paths (on a cluster: a shared file system): no URL resolution through fsspec
    local = pafs.LocalFileSystem()
    if kind == "parquet":
        return ray.data.read_parquet([str(f) for f in files], num_cpus=0, filesystem=local,
                                     override_num_blocks=len(files))
    delimiter = "\t" if files[0].suffix.lower() == ".tsv" and delimiter == "," else delimiter
    with open(files[0], encoding="utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding,
              newline="") as fh:
        header = next(csv.reader(fh, delimiter=delimiter), [])
    convert = pacsv.ConvertOptions(column_types={name: pa.string() for name in header},
                                   strings_can_be_null=empty_is_null, quoted_strings_can_be_null=empty_is_null,
                                   null_values=[""] if empty_is_null else [])
    return ray.data.read_csv([str(f) for f in files], parse_options=pacsv.ParseOptions(delimiter=delimiter),
                             convert_options=convert, read_options=pacsv.ReadOptions(encoding=encoding),
                             num_cpus=0, filesystem=local, override_num_blocks=len(files))


def read_table(source: Mapping[str, Any], kind: str, *, path: Path | None, base_dir: Path,
               checks: Mapping[str, Any] | None, cluster: Cluster, locations: Mapping[str, str]) -> Any:
    """``data.source`` read on the workers in blocks, checked there, then gathered (see the module docstring)."""
    from ray.data import DataContext

    context = DataContext.get_current()
    context.execution_options.preserve_order = True  # rows in the order a local read gives (row numbers, split)
    context.target_max_block_size = _BLOCK_BYTES
    # the run's own "Load data" step says what is going on: Ray Data's progress lines every 10 s (its INFO
    # logging when stdout is no terminal) would bury it; its warnings and errors still show
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    if kind == "sql":
        ds = _sql_dataset(source, base_dir, locations)
        what = "the sql source"
    else:
        assert path is not None
        if not path.exists():
            raise DataError(f"no such file or folder: {path}")
        if checks is not None:
            _check_files(_files(path, _PARQUET if kind == "parquet" else _CSV), kind, checks)
        ds = _dataset(path, kind, delimiter=str(source.get("delimiter") or ","),
                      encoding=str(source.get("encoding") or "utf-8"), empty_is_null=False)
        what = f"{path} as {kind}"
    with _worker_errors(what, hint=f"check that every file is valid {kind} with the same columns"), \
            warnings.catch_warnings():
        # a table of fewer blocks than workers checks them with fewer tasks: nothing for the user to do
        warnings.filterwarnings("ignore", message="The maximum number of concurrent tasks", category=UserWarning)
        if checks is not None:
            _check_blocks(ds, checks, markers=[str(v) for v in source.get("na_values") or []], cluster=cluster)
        return _gather(ds)


def _gather(ds: Any) -> Any:
    """The dataset as one pandas frame, converted as a local read converts it (``pyarrow.Table.to_pandas``:
    numpy and string columns; Ray's own ``to_pandas`` gives ArrowDtype columns, which the rest of a run does
    not expect)."""
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

    tables: list[Any] = []
    frames: list[Any] = []
    for block in ds.iter_batches(batch_format=None, batch_size=None, prefetch_batches=1):
        (frames if isinstance(block, pd.DataFrame) else tables).append(block)
    if frames:
        frames += [table.to_pandas() for table in tables]
        return pd.concat(frames, ignore_index=True)
    return pa.concat_tables(tables, promote_options="default").to_pandas()


def _check_files(files: list[Path], kind: str, checks: Mapping[str, Any]) -> None:
    """Every file holds every declared column (and the target): Ray Data unifies the files' schemas and would
    fill a column one file lacks with nulls. Reads only each file's schema (Parquet footer, CSV header)."""
    from ...data import DataValidationError, Problem

    declared = dict(checks.get("columns") or {})
    locations = dict(checks.get("locations") or {})
    wanted = {name: f"data.columns.{name}" for name in declared}
    if checks.get("target") is not None and checks["target"] not in declared:
        wanted[str(checks["target"])] = "problem.target"
    problems: list[Problem] = []
    for path in files:
        names = _column_names(path, kind)
        problems += [Problem(name, f"column is missing from {path.name}", 0, where=where(locations, key))
                     for name, key in wanted.items() if name not in names]
    if problems:
        raise DataValidationError(problems)


def _column_names(path: Path, kind: str) -> list[str]:
    import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

    try:
        if kind == "parquet":
            return list(pq.read_schema(path).names)
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return next(csv.reader(fh, delimiter=delimiter), [])
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path} as {kind}: {_cause(exc)}") from exc


def _check_of_block(batch: Any, checks: Mapping[str, Any], markers: list[str]) -> Any:
    """On a worker: one block's :func:`~aispec.runtime.data.check_block` as one row (pickled: it goes back to the
    driver only; a PII column's values are not in it). The block becomes pandas as the gathered frame does."""
    import pickle

    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    from ...data import check_block, mark_missing

    frame = batch if isinstance(batch, pd.DataFrame) else batch.to_pandas()
    frame = mark_missing(frame, markers, checks.get("columns") or {})
    found = check_block(frame, columns=checks.get("columns"), target=checks.get("target"),
                        task=str(checks.get("task") or ""), locations=checks.get("locations") or {},
                        pii=checks.get("pii") or ())
    return pd.DataFrame({"check": [pickle.dumps(found)]})


def _check_blocks(ds: Any, checks: Mapping[str, Any], *, markers: list[str], cluster: Cluster) -> None:
    """Each block checked on a worker, at most ``workers`` at once; only the checks come back, in row order
    (row numbers count from the first row of the whole table). Raises the DataValidationError validate_frame
    would raise for the whole table."""
    import pickle

    from ray.data import TaskPoolStrategy

    from ...data import DataValidationError, merge_checks

    found = ds.map_batches(_check_of_block, fn_kwargs={"checks": dict(checks), "markers": markers},
                           batch_size=None, batch_format=None, compute=TaskPoolStrategy(size=cluster.workers),
                           num_cpus=cluster.cpus_per_worker)
    blocks = [pickle.loads(check)  # this run's own workers' answer
              for batch in found.iter_batches(batch_format="pandas", batch_size=None) for check in batch["check"]]
    problems = merge_checks(blocks, columns=checks.get("columns"), target=checks.get("target"),
                            min_rows=int(checks.get("min_rows") or 0), locations=checks.get("locations") or {},
                            pii=checks.get("pii") or ())
    if problems:
        raise DataValidationError(problems)


def _sql_dataset(source: Mapping[str, Any], base_dir: Path, locations: Mapping[str, str]) -> Any:
    """An SQL query as a Ray dataset: one read task on a worker streams the rows from the database cursor,
    ``SQL_BLOCK_ROWS`` rows a fetch (Ray Data joins them into blocks of up to the block size), in the order the
    database returns them (the order a local read gets); the URL's ``${VAR}`` is filled from that worker's
    environment."""
    import ray.data
    from ray.data import Datasource, ReadTask
    from ray.data.block import BlockMetadata

    settings, locations = dict(source), dict(locations)
    rows = SQL_BLOCK_ROWS

    class SqlBlocks(Datasource):  # type: ignore[misc, unused-ignore]
        def __init__(self) -> None:
            super().__init__()  # type: ignore[no-untyped-call, unused-ignore]

        def estimate_inmemory_data_size(self) -> None:
            return None

        def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                           data_context: Any = None) -> list[Any]:
            def read() -> Any:
                from ...sql_source import sql_frames

                yield from sql_frames(settings, locations, base_dir, chunk_rows=rows, worker="Ray")

            return [ReadTask(read, BlockMetadata(None, None, None, None))]

    return ray.data.read_datasource(SqlBlocks(), num_cpus=0, override_num_blocks=1)


SQL_BLOCK_ROWS = 50_000


@contextmanager
def _worker_errors(what: str, *, hint: str) -> Iterator[None]:
    """A DataError raised on a worker comes back as the driver's own; any other failure of a read becomes a
    DataError that says what was being read."""
    import ray

    try:
        yield
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, AispecRuntimeError):
            raise cause from None
        raise DataError(f"cannot read {what}: {_cause(exc)}", hint=hint) from exc
    except AispecRuntimeError:
        raise
    except Exception as exc:
        raise DataError(f"cannot read {what}: {_cause(exc)}", hint=hint) from exc


# the model of each worker process, loaded by its first batch: Ray reuses a process for the tasks of one function
_MODELS: dict[str, tuple[Any, Any]] = {}


def _score_batch(batch: Any, artifacts: str) -> Any:
    """One batch's answers (the local scorer's chunk function), the model loaded once per worker process. The
    batch comes as Arrow and becomes pandas as the local scorer's chunks do (``to_pandas()``): Ray's own pandas
    batches hold nullable extension columns (``Float64`` with ``pd.NA``), which the row checks do not take."""
    from ...serving.batch import load_model, score_chunk

    chunk = batch.to_pandas()
    if artifacts not in _MODELS:
        _MODELS[artifacts] = load_model(Path(artifacts), allow_failed_gates=True)  # the driver decided
    model, meta = _MODELS[artifacts]
    return score_chunk(model, meta, chunk)


def _check_columns(files: list[Path], kind: str, wanted: list[str]) -> None:
    """Every file holds every model input, as the local scorer requires of its file: Ray Data unifies the
    files' schemas and would fill a missing column with nulls (rows scored as if the value were missing).
    Reads only each file's schema (Parquet footer, CSV header)."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

    for path in files:
        try:
            if kind == "parquet":
                names = list(pq.read_schema(path).names)
            else:
                delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
                with open(path, encoding="utf-8-sig", newline="") as fh:
                    names = next(csv.reader(fh, delimiter=delimiter), [])
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read {path} as {kind}: {_cause(exc)}") from exc
        missing = [name for name in wanted if name not in names]
        if missing:
            raise DataError(f"{path} has no column '{missing[0]}', a model input",
                            hint=f"the model reads: {', '.join(wanted)}")


def score(artifacts: Path, source: Path, output: Path, *, cluster: Cluster, batch_rows: int,
          allow_failed_gates: bool | None = None) -> Any:
    """Score ``source`` (a file or a folder of CSV / Parquet files) into ``output`` on the cluster."""
    import numpy as np
    import ray
    from ray.data import DataContext, TaskPoolStrategy

    from ...serving.batch import BatchReport, load_model

    if not source.exists():
        raise DataError(f"no such input: {source}")
    _, meta = load_model(artifacts, allow_failed_gates)  # refuses a model that failed its gates, here
    if meta.get("image") is not None:
        raise DataError("batch scoring on Ray reads tables; an image model scores a folder of images locally",
                        hint="run without --engine ray")
    kind = "parquet" if (source.is_file() and source.suffix.lower() in _PARQUET) or \
        (source.is_dir() and _files(source, _PARQUET)) else "csv"
    _check_columns(_files(source, _PARQUET if kind == "parquet" else _CSV), kind,
                   [column["name"] for column in meta["columns"]])
    context = DataContext.get_current()
    context.execution_options.preserve_order = True  # row numbers join back to the input
    # small blocks: the read splits each file into them as it goes, so a task, the object store and the driver
    # hold a few MiB at a time whatever the input's size (Ray's default of 128 MiB put a 2-million-row
    # input through as one block, the driver's memory growing with it)
    context.target_max_block_size = _BLOCK_BYTES
    ds = _dataset(source, kind, empty_is_null=True)
    per_worker = {"num_cpus": cluster.cpus_per_worker}
    if cluster.memory_per_worker is not None:
        per_worker["memory"] = float(cluster.memory_per_worker)
    if cluster.gpus_per_worker > 0:
        per_worker["num_gpus"] = cluster.gpus_per_worker
    # tasks, not an actor pool: a pool of actors reserves its CPUs for the whole run, and when it holds every CPU
    # of the cluster (2 workers x 1 CPU on 2 CPUs) Ray Data's ListFiles task, which needs one CPU before any
    # block exists, waits forever (seen on the test cluster: "Pending Demands: {'CPU': 1.0}", 0 rows scored).
    # A task gives its CPU back after each batch; the model is still loaded once per worker process.
    scored = ds.map_batches(_score_batch, fn_kwargs={"artifacts": str(artifacts.resolve())}, batch_format="pyarrow",
                            batch_size=batch_rows, compute=TaskPoolStrategy(size=cluster.workers), **per_worker)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.partial")
    parquet = output.suffix.lower() in _PARQUET
    writer: Any = None
    columns: list[str] | None = None
    rows = scored_rows = chunks = 0
    try:
        # Arrow blocks made pandas as the local scorer's frames are: Ray's pandas batches would carry ArrowDtype
        # columns into the output file's metadata (a file that reads back differently from the local one)
        for block in scored.iter_batches(batch_format="pyarrow", batch_size=None, prefetch_batches=1):
            frame = block.to_pandas()
            frame.insert(0, "row", np.arange(rows, rows + len(frame)))
            if columns is None:
                columns = list(frame.columns)
            frame = frame.reindex(columns=columns)  # a chunk of bad rows only has no answer columns
            if parquet:
                import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
                import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
            else:
                frame.to_csv(tmp, mode="w" if chunks == 0 else "a", header=chunks == 0, index=False)
            rows += len(frame)
            scored_rows += int((frame["error"] == "").sum())
            chunks += 1
        if writer is not None:
            writer.close()
            writer = None
        if chunks == 0:
            raise DataError(f"{source} holds no rows")
        tmp.replace(output)  # all or nothing
    except BaseException as exc:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        cause = getattr(exc, "cause", None)
        if isinstance(exc, ray.exceptions.RayTaskError) and isinstance(cause, AispecRuntimeError):
            raise cause from None  # the row checks' own error (a missing column), as a local run shows it
        if isinstance(exc, Exception) and not isinstance(exc, AispecRuntimeError):
            # a file Ray Data cannot read (a ragged CSV row, a broken Parquet file), seen on a worker
            raise DataError(f"scoring {source} on the Ray cluster failed, nothing written: {_cause(exc)}",
                            hint="the workers' logs above name the file") from exc
        raise
    return BatchReport(rows, scored_rows, rows - scored_rows, chunks, output)


def _cause(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1][:300] if lines else type(exc).__name__
