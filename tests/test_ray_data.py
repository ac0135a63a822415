"""Tables read by Ray Data on a real two-node cluster (tests/ray_cluster.py), as ``data.load_frame`` reads them
for a spec with ``hardware.distributed.engine: ray``:

- each block is checked on a worker, and a table with problems raises exactly the error ``validate_frame``
  raises for the whole table locally (the oracle), before a single row is gathered on the driver;
- an SQL query is streamed from the database (a fetch at a time) in several blocks, its URL's ``${VAR}`` filled from the
  *workers'* environment, and gives the frame a local read gives; a query that fails names its spec line;
- a folder of Parquet files gives the frame pandas' own reader gives (numpy and string columns, not Ray's
  ArrowDtype ones).

Every test starts real processes: all are marked slow."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import ray_cluster

pytest.importorskip("ray")
pytestmark = pytest.mark.slow

DB_DIR_VAR = "AISPEC_TEST_RAY_DB_DIR"  # set in the nodes' environment only (see the cluster fixture)
COLUMNS: dict[str, dict[str, Any]] = {
    "size": {"type": "numeric", "range": [0, 100]},
    "colour": {"type": "categorical", "allowed": ["red", "green", "blue"]},
    "note": {"type": "text", "nullable": True},
}
LOCATIONS = {"data.columns.size": "spec.yaml:12:7", "data.columns.colour": "spec.yaml:15:7",
             "data.columns.note": "spec.yaml:18:7", "problem.target": "spec.yaml:4:11",
             "data.min_rows": "spec.yaml:9:13", "data.source.query": "spec.yaml:7:12",
             "data.source.url": "spec.yaml:6:10"}


@pytest.fixture(scope="module")
def db_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("db")


@pytest.fixture(scope="module")
def cluster(db_dir: Path) -> Iterator[ray_cluster.LocalCluster]:
    os.environ[DB_DIR_VAR] = str(db_dir)  # the nodes inherit it; the test process drops it again below
    try:
        started = ray_cluster.start()
    finally:
        del os.environ[DB_DIR_VAR]
    try:
        yield started
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        started.stop()


@pytest.fixture()
def distributed(cluster: ray_cluster.LocalCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    import ray

    from aispec.runtime.distributed import _CONNECTED

    for key in ("RAY_USAGE_STATS_ENABLED", "RAY_AUTH_MODE", "RAY_memory_monitor_refresh_ms"):
        monkeypatch.setenv(key, cluster.env[key])
    monkeypatch.setenv("AISPEC_TEST_RAY", cluster.address)
    try:
        yield {"engine": "ray", "workers": 2, "address": "${AISPEC_TEST_RAY}"}
    finally:
        _CONNECTED.clear()
        ray.shutdown()


def _rows(n: int, *, bad_every: int = 0) -> pd.DataFrame:
    """Rows of a small table; with ``bad_every``, a bad size, an unknown colour and a missing colour now and
    then, and a class that occurs once."""
    sizes = [str(i % 90) for i in range(n)]
    colours = [("red", "green", "blue")[i % 3] for i in range(n)]
    labels = [("cat", "dog")[i % 2] for i in range(n)]
    if bad_every:
        for i in range(0, n, bad_every):
            sizes[i] = "big" if i % 2 else "250"
            colours[(i + 3) % n] = "purple" if i % 3 else ""
        labels[n - 2] = "axolotl"
    return pd.DataFrame({"size": sizes, "colour": colours, "note": ["n"] * n, "label": labels})


def test_blocks_with_problems_are_reported_as_a_local_run_reports_them_before_anything_is_gathered(
        distributed: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aispec.runtime import data
    from aispec.runtime.distributed.ray import data as ray_data

    whole = _rows(3000, bad_every=97)
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, start in enumerate(range(0, len(whole), 700)):  # five files of CSV text, problems in each
        whole.iloc[start:start + 700].to_csv(folder / f"part-{i}.csv", index=False)
    with pytest.raises(data.DataValidationError) as local:
        data.validate_frame(data.mark_missing(whole, [], COLUMNS), columns=COLUMNS, target="label",
                            task="classification", min_rows=5000, locations=LOCATIONS)

    def gathered(ds: Any) -> Any:
        raise AssertionError("the table was gathered on the driver although its blocks had problems")

    checked: list[int] = []
    real_merge = data.merge_checks

    def merging(blocks: Any, **kwargs: Any) -> Any:
        checked.extend(block.rows for block in blocks)
        return real_merge(blocks, **kwargs)

    monkeypatch.setattr(ray_data, "_gather", gathered)
    monkeypatch.setattr(data, "merge_checks", merging)
    monkeypatch.setattr(ray_data, "_BLOCK_BYTES", 2 * 1024)  # many blocks per file, so problems straddle them
    with pytest.raises(data.DataValidationError) as remote:
        data.load_frame({"kind": "csv", "path": "parts"}, base_dir=tmp_path, columns=COLUMNS, target="label",
                        task="classification", min_rows=5000, locations=LOCATIONS, distributed=distributed)
    assert len(checked) > 5 and sum(checked) == 3000  # more blocks than files, every row checked once
    assert remote.value.problems == local.value.problems
    assert str(remote.value) == str(local.value)
    kinds = [p.problem for p in remote.value.problems]
    assert kinds[0].startswith("3000 rows, fewer than min_rows") and "1 class(es) with fewer than 2 rows" in kinds
    assert sum(p.count for p in remote.value.problems if p.column == "size") == len(range(0, 3000, 97))


def test_a_file_without_a_declared_column_is_named(distributed: dict[str, Any], tmp_path: Path) -> None:
    from aispec.runtime import data

    folder = tmp_path / "parts"
    folder.mkdir()
    _rows(50).to_parquet(folder / "a.parquet", index=False)
    _rows(50).drop(columns=["colour"]).to_parquet(folder / "b.parquet", index=False)
    with pytest.raises(data.DataValidationError) as caught:
        data.load_frame({"kind": "parquet", "path": "parts"}, base_dir=tmp_path, columns=COLUMNS, target="label",
                        task="classification", locations=LOCATIONS, distributed=distributed)
    [problem] = caught.value.problems
    assert (problem.column, problem.problem, problem.where) == ("colour", "column is missing from b.parquet",
                                                               "spec.yaml:15:7")


def test_a_parquet_folder_reads_as_pandas_reads_it(distributed: dict[str, Any], tmp_path: Path) -> None:
    from aispec.runtime import data

    folder = tmp_path / "parts"
    folder.mkdir()
    frame = pd.DataFrame({"x": [1.5, None, 3.0, 4.0], "n": [1, 2, 3, 4], "s": ["a", None, "c", "d"]})
    frame.iloc[:2].to_parquet(folder / "p0.parquet", index=False)
    frame.iloc[2:].to_parquet(folder / "p1.parquet", index=False)
    read = data.load_frame({"kind": "parquet", "path": "parts"}, base_dir=tmp_path, distributed=distributed)
    pd.testing.assert_frame_equal(read, pd.read_parquet(folder))


def _database(db_dir: Path, rows: int) -> Path:
    path = db_dir / "shop.db"
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE items (id INTEGER, size REAL, colour TEXT, note TEXT, label TEXT)")
        db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?)",
                       [(i, None if i % 11 == 0 else float(i % 90), ("red", "green", "blue")[i % 3],
                         None if i % 5 else f"note {i}", ("cat", "dog")[i % 2]) for i in range(rows)])
    return path


def test_an_sql_query_streams_in_blocks_with_the_workers_secret_and_reads_as_locally(
        distributed: dict[str, Any], db_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aispec.runtime import data
    from aispec.runtime.distributed.ray import data as ray_data

    _database(db_dir, 2500)
    source = {"kind": "sql", "url": f"sqlite:///${{{DB_DIR_VAR}}}/shop.db",
              "query": "SELECT * FROM items WHERE id % 7 <> 3 ORDER BY id"}
    columns = {"size": {"type": "numeric", "nullable": True}, "note": {"type": "text", "nullable": True}}
    blocks: list[int] = []
    real_gather = ray_data._gather

    def counting(ds: Any) -> Any:
        blocks.extend(len(b) for b in ds.iter_batches(batch_format=None, batch_size=None))
        return real_gather(ds)

    from ray.data import DataContext

    monkeypatch.setattr(ray_data, "SQL_BLOCK_ROWS", 400)  # what one fetch from the cursor holds
    # Ray Data joins the fetches into blocks of up to the block size (8 MiB; this whole table is ~100 KiB)
    monkeypatch.setattr(ray_data, "_BLOCK_BYTES", 8 * 1024)
    monkeypatch.setattr(DataContext.get_current(), "target_min_block_size", 1)
    monkeypatch.setattr(ray_data, "_gather", counting)
    assert DB_DIR_VAR not in os.environ  # only the workers know where the database is
    remote = data.load_frame(source, base_dir=db_dir, columns=columns, target="label", task="classification",
                             locations=LOCATIONS, distributed=distributed)
    assert len(blocks) >= 5 and sum(blocks) == len(remote)
    monkeypatch.setenv(DB_DIR_VAR, str(db_dir))
    local = data.load_frame(source, base_dir=db_dir, columns=columns, target="label", locations=LOCATIONS)
    pd.testing.assert_frame_equal(remote, local)


def test_sql_failures_on_the_workers_name_the_spec_line(distributed: dict[str, Any], db_dir: Path) -> None:
    from aispec.runtime import data

    _database(db_dir, 10)
    with pytest.raises(data.DataError) as caught:
        data.load_frame({"kind": "sql", "url": f"sqlite:///${{{DB_DIR_VAR}}}/shop.db", "query": "SELECT * FROM nope"},
                        base_dir=db_dir, locations=LOCATIONS, distributed=distributed)
    assert caught.value.where == "spec.yaml:7:12" and "no such table: nope" in caught.value.message
    with pytest.raises(data.DataError) as unset:
        data.load_frame({"kind": "sql", "url": "sqlite:///${AISPEC_NOT_SET_ANYWHERE}/x.db", "query": "SELECT 1"},
                        base_dir=db_dir, locations=LOCATIONS, distributed=distributed)
    assert unset.value.where == "spec.yaml:6:10"
    assert "AISPEC_NOT_SET_ANYWHERE" in unset.value.message and "worker" in unset.value.message
