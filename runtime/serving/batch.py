"""Batch scoring: a CSV or Parquet file in (for an image model: a folder of images), predictions out, in
chunks so memory stays flat.

    python -m aispec.runtime.serving.batch ARTIFACTS INPUT OUTPUT [--chunk-rows N] [--allow-failed-gates]

The model and its input contract are the service's (``model.onnx`` + ``serving.json``); each
row is checked against the declared columns (type, nullability, range, allowed values). A bad row
does not stop the run: its prediction is empty and the ``error`` column says what is wrong. The
output keeps the input's row numbers (``row``), so it joins back to the input.

A model that failed the gates of its training run is refused (exit 1, naming each failed gate)
unless ``--allow-failed-gates`` (or ``AISPEC_ALLOW_FAILED_GATES=1``) is given; see
:mod:`aispec.runtime.serving.gates`.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AispecRuntimeError, DataError
from .contract import ServingMetadata, label_text, read_serving_metadata
from .gates import GatesFailed, allowed_by_env, describe, refusal, status

DEFAULT_CHUNK_ROWS = 50_000


@dataclass
class BatchReport:
    rows: int
    scored: int
    rejected: int
    chunks: int
    output: Path


def _chunks(path: Path, chunk_rows: int) -> Iterator[Any]:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()
    elif suffix in (".csv", ".txt", ".tsv"):
        sep = "\t" if suffix == ".tsv" else ","
        yield from pd.read_csv(path, sep=sep, chunksize=chunk_rows, dtype=str, keep_default_na=False,
                               na_values=[""])
    else:
        raise DataError(f"{path}: batch scoring reads .csv, .tsv or .parquet files", hint="convert the file")


def _validate(chunk: Any, meta: ServingMetadata) -> tuple[dict[str, Any], list[str]]:
    """Column arrays ``(n, 1)`` for the model, and a per-row error text ('' when the row is fine)."""
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    n = len(chunk)
    errors = [""] * n

    def flag(mask: Any, text: str) -> None:
        for i in np.flatnonzero(np.asarray(mask)):
            errors[i] = errors[i] or text

    arrays: dict[str, Any] = {}
    for column in meta["columns"]:
        name = column["name"]
        if name not in chunk.columns:
            raise DataError(f"the input has no column '{name}', a model input",
                            hint=f"the model reads: {', '.join(c['name'] for c in meta['columns'])}")
        raw = chunk[name]
        missing = raw.isna().to_numpy()
        if not column["nullable"]:
            flag(missing, f"{name}: missing")
        if column["dtype"] in ("float", "double"):
            if column["type"] == "boolean":
                text = raw.astype(str).str.strip().str.lower()
                values = text.map({"true": 1.0, "1": 1.0, "1.0": 1.0, "false": 0.0, "0": 0.0, "0.0": 0.0})
                flag(values.isna().to_numpy() & ~missing, f"{name}: not true or false")
            else:
                values = pd.to_numeric(raw, errors="coerce")
                flag(values.isna().to_numpy() & ~missing, f"{name}: not a number")
                bounds = column["range"] or [None, None]
                if bounds[0] is not None:
                    flag((values < bounds[0]).to_numpy(), f"{name}: below {bounds[0]}")
                if bounds[1] is not None:
                    flag((values > bounds[1]).to_numpy(), f"{name}: above {bounds[1]}")
            dtype = np.float64 if column["dtype"] == "double" else np.float32
            arrays[name] = values.to_numpy(dtype=np.float64, na_value=math.nan).astype(dtype).reshape(n, 1)
        else:
            texts = ["" if isinstance(v, float) and math.isnan(v) else label_text(v) for v in raw.tolist()]
            allowed = column["allowed"]
            if allowed:
                known = {label_text(a) for a in allowed}
                flag([t != "" and t not in known for t in texts], f"{name}: not one of the allowed values")
            arrays[name] = np.array(texts, dtype=object).reshape(n, 1)
    return arrays, errors


def score_chunk(model: Any, meta: ServingMetadata, chunk: Any) -> Any:
    """One chunk's answers: a frame with the flattened answer of each good row (empty for a bad one) and its
    ``error`` text ('' when the row was scored), in the chunk's order."""
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    chunk = chunk.reset_index(drop=True)
    arrays, errors = _validate(chunk, meta)
    good = np.array([e == "" for e in errors], dtype=bool)
    answers: list[dict[str, Any]] = [{} for _ in range(len(chunk))]
    if good.any():
        index = np.flatnonzero(good)
        decoded = model.decode(model.run(model.feeds(arrays, index)))
        for i, (answer, _, _) in zip(index, decoded, strict=True):
            answers[i] = _flatten(answer)
    frame = pd.DataFrame(answers, index=range(len(chunk)))
    frame["error"] = errors
    return frame


def load_model(artifacts: Path, allow_failed_gates: bool | None = None) -> tuple[Any, ServingMetadata]:
    """The served model and its metadata; refuses a model that failed its gates unless allowed."""
    from .app import ServedModel

    try:
        meta = read_serving_metadata(artifacts / "serving.json")
    except ValueError as exc:
        raise DataError(str(exc), hint="run the training pipeline, which writes artifacts/serving.json") from None
    allow = allowed_by_env() if allow_failed_gates is None else allow_failed_gates
    if status(meta) == "failed":
        if not allow:
            raise refusal(meta, "batch scoring refuses it", "pass --allow-failed-gates")
        print(f"warning: scoring with a model that FAILED its gates (--allow-failed-gates):\n{describe(meta)}",
              file=sys.stderr)
    return ServedModel(artifacts, meta, "champion"), meta


def score_file(artifacts: Path, source: Path, output: Path, *, chunk_rows: int = DEFAULT_CHUNK_ROWS,
               allow_failed_gates: bool | None = None) -> BatchReport:
    """Score ``source`` into ``output`` (CSV or Parquet, by suffix), ``chunk_rows`` rows at a time.

    Raises :class:`~aispec.runtime.serving.gates.GatesFailed` for a model that failed its gates unless
    ``allow_failed_gates`` (default: ``AISPEC_ALLOW_FAILED_GATES``).
    """
    if not source.exists():
        raise DataError(f"no such input file: {source}")
    model, meta = load_model(artifacts, allow_failed_gates)
    output.parent.mkdir(parents=True, exist_ok=True)
    if meta.get("image") is not None:
        return _score_images(model, meta, source, output, chunk_rows)
    tmp = output.with_name(f".{output.name}.partial")
    parquet = output.suffix.lower() in (".parquet", ".pq")
    writer: Any = None
    rows = scored = chunks = 0
    try:
        for chunk in _chunks(source, chunk_rows):
            frame = score_chunk(model, meta, chunk)
            frame.insert(0, "row", np.arange(rows, rows + len(chunk)))
            good = (frame["error"] == "").to_numpy()
            if parquet:
                import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
            else:
                frame.to_csv(tmp, mode="w" if chunks == 0 else "a", header=chunks == 0, index=False)
            rows += len(chunk)
            scored += int(good.sum())
            chunks += 1
        if writer is not None:
            writer.close()
        tmp.replace(output)  # all or nothing: a failed run leaves no half-written output
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BatchReport(rows, scored, rows - scored, chunks, output)


def _score_images(model: Any, meta: ServingMetadata, source: Path, output: Path, chunk_rows: int) -> BatchReport:
    """An image model: every file under the folder ``source`` (or the one file), read as the service reads
    a request's image; ``row`` is the file's path relative to ``source``, a file that is not a PNG or JPEG
    (by its bytes), too large or unreadable gets an empty prediction and its ``error``."""
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    from ..images.decode import ImageRejected
    from .images import ImageReader

    reader = ImageReader(meta["image"])
    files = [source] if source.is_file() else sorted(
        p for p in source.rglob("*") if p.is_file() and not any(part.startswith(".") for part in
                                                                p.relative_to(source).parts))
    step = max(1, min(chunk_rows, 1024))  # decoded images, not table rows: keep a chunk small
    tmp = output.with_name(f".{output.name}.partial")
    scored = chunks = 0
    try:
        for start in range(0, max(1, len(files)), step):
            part = files[start:start + step]
            arrays, good, errors = [], [], []
            for i, path in enumerate(part):
                try:
                    arrays.append(reader.read(path.read_bytes()))
                    good.append(i)
                    errors.append("")
                except (ImageRejected, OSError) as exc:
                    errors.append(getattr(exc, "message", None) or str(exc))
            answers: list[dict[str, Any]] = [{} for _ in part]
            if arrays:
                for i, (answer, _, _) in zip(good, model.decode(model.run(reader.feeds(arrays))), strict=True):
                    answers[i] = _flatten(answer)
            frame = pd.DataFrame(answers, index=range(len(part)))
            frame.insert(0, "row", [p.name if source.is_file() else p.relative_to(source).as_posix() for p in part])
            frame["error"] = errors
            frame.to_csv(tmp, mode="w" if chunks == 0 else "a", header=chunks == 0, index=False)
            scored += len(arrays)
            chunks += 1
        tmp.replace(output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BatchReport(len(files), scored, len(files) - scored, chunks, output)


def _flatten(answer: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in answer.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                flat[f"{key}_{sub}"] = v
        else:
            flat[key] = value
    return flat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aispec.runtime.serving.batch", description=__doc__.split("\n")[0])
    parser.add_argument("artifacts", type=Path, help="the trained project's artifacts/ folder")
    parser.add_argument("input", type=Path, help="rows to score (.csv, .tsv or .parquet); for an image model, a "
                                                 "folder of PNG/JPEG files (or one file)")
    parser.add_argument("output", type=Path, help="predictions (.csv or .parquet)")
    parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    parser.add_argument("--allow-failed-gates", action="store_true",
                        help="score with a model that failed the gates of its training run")
    parser.add_argument("--engine", choices=("none", "ray"), default="none",
                        help="ray: score on a Ray cluster with Ray Data (INPUT may be a folder of files); the "
                             "cluster is --address, else RAY_ADDRESS, else a local instance")
    parser.add_argument("--workers", type=int, default=1, help="--engine ray: scoring actors at once")
    parser.add_argument("--address", default=None, help="--engine ray: auto, ray://host:port or host:port")
    parser.add_argument("--cpus-per-worker", type=float, default=1.0)
    parser.add_argument("--memory-per-worker", default=None, help="e.g. 2GiB")
    args = parser.parse_args(argv)
    try:
        allow = args.allow_failed_gates or allowed_by_env()
        if args.engine != "none":
            from ..distributed import engine_for

            engine = engine_for({"engine": args.engine, "workers": max(1, args.workers), "address": args.address,
                                 "cpus_per_worker": args.cpus_per_worker,
                                 "memory_per_worker": args.memory_per_worker})
            assert engine is not None
            report = engine.score(args.artifacts, args.input, args.output, batch_rows=max(1, args.chunk_rows),
                                  allow_failed_gates=allow)
        else:
            report = score_file(args.artifacts, args.input, args.output, chunk_rows=max(1, args.chunk_rows),
                                allow_failed_gates=allow)
    except GatesFailed as refused:
        print(f"error: {refused.message}", file=sys.stderr)
        return 1
    except AispecRuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"scored {report.scored} of {report.rows} rows in {report.chunks} chunk(s); {report.rejected} rejected "
          f"(see the error column); wrote {report.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
