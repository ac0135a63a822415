"""Tables on Ray Data: a CSV or Parquet file, or a folder of them, read in blocks by the workers; and batch
scoring with ``map_batches`` over onnxruntime.

- :func:`read_table`: the cells a local read gives (CSV cells as the text they are, nothing but what the
  spec says counts as missing), as one pandas frame for the split and the fit, which then validate it
  against the declared schema as a local run does (errors name the spec line).
- :func:`score`: the local batch scorer's chunk function (:func:`aispec.runtime.serving.batch.score_chunk`:
  the same checks per row, a bad row gets an empty answer and its ``error``) as at most ``workers`` tasks at
  once, each worker process loading the model once; blocks stream through (a bounded object store, rows in input order)
  to one output file written on the driver under a temporary name and renamed at the end: a failed run
  leaves no output, not a partial one. Memory stays flat whatever the input's size.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...errors import AispecRuntimeError, DataError
from .. import Cluster

__all__ = ["read_table", "score"]

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
    # reading is I/O: its tasks reserve no CPU (Ray Data's file listing before it still takes one: see score())
    # the files are local paths (on a cluster: a shared file system): no URL resolution through fsspec
    local = pafs.LocalFileSystem()
    if kind == "parquet":
        return ray.data.read_parquet([str(f) for f in files], num_cpus=0, filesystem=local)
    delimiter = "\t" if files[0].suffix.lower() == ".tsv" and delimiter == "," else delimiter
    with open(files[0], encoding="utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding,
              newline="") as fh:
        header = next(csv.reader(fh, delimiter=delimiter), [])
    convert = pacsv.ConvertOptions(column_types={name: pa.string() for name in header},
                                   strings_can_be_null=empty_is_null, quoted_strings_can_be_null=empty_is_null,
                                   null_values=[""] if empty_is_null else [])
    return ray.data.read_csv([str(f) for f in files], parse_options=pacsv.ParseOptions(delimiter=delimiter),
                             convert_options=convert, read_options=pacsv.ReadOptions(encoding=encoding),
                             num_cpus=0, filesystem=local)


def read_table(path: Path, kind: str, source: Mapping[str, Any]) -> Any:
    """``path`` (a CSV or Parquet file, or a folder of them) as one pandas frame (see the module docstring)."""
    ds = _dataset(path, kind, delimiter=str(source.get("delimiter") or ","),
                  encoding=str(source.get("encoding") or "utf-8"), empty_is_null=False)
    try:
        return ds.to_pandas()
    except Exception as exc:
        raise DataError(f"cannot read {path} as {kind}: {_cause(exc)}",
                        hint=f"check that every file is valid {kind} with the same columns") from exc


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
