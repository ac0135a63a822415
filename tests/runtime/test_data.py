"""aispec.runtime.errors, .datasets and .data: real files, SQLite, PostgreSQL, bundled data."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from aispec.runtime import data as D
from aispec.runtime.datasets import available, load_bundled
from aispec.runtime.errors import AispecRuntimeError, ConfigError, DataError, ExportError, where
from aispec.schemas.catalog import DATASETS

LOC = {"data.source": "spec.yaml:9:5", "data.source.path": "spec.yaml:10:11", "data.source.url": "spec.yaml:10:12",
       "data.source.table": "spec.yaml:11:14", "data.source.query": "spec.yaml:11:14",
       "data.columns": "spec.yaml:13:3", "data.columns.age": "spec.yaml:14:5", "problem.target": "spec.yaml:6:11",
       "data.min_rows": "spec.yaml:20:13"}


# ------------------------------------------------------------------------- errors


def test_error_rendering_and_where() -> None:
    err = DataError("bad thing", where="spec.yaml:3:4", hint="do this")
    assert str(err) == "spec.yaml:3:4: bad thing (hint: do this)"
    assert (err.message, err.where, err.hint) == ("bad thing", "spec.yaml:3:4", "do this")
    assert str(ConfigError("plain")) == "plain"
    assert all(issubclass(c, AispecRuntimeError) for c in (DataError, ConfigError, ExportError))
    assert where(LOC, "data.columns.age") == "spec.yaml:14:5"
    assert where(LOC, "data.columns.height.range") == "spec.yaml:13:3"  # falls back to a prefix
    assert where(LOC, "model.family") is None


# ------------------------------------------------------------------------- files


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"age": [31, 45, 27], "city": ["Köln", "Oslo", "Lyon"], "score": [0.5, 1.5, np.nan]})


def test_csv_relative_to_base_dir_with_options(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "people.csv").write_bytes("age;city;score\n31;Köln;0.5\n45;Oslo;1.5\n27;Lyon;\n"
                                                  .encode("latin-1"))
    src = {"kind": "csv", "path": "sub/people.csv", "delimiter": ";", "encoding": "latin-1", "header": True}
    frame = D.load_frame(src, locations=LOC, base_dir=tmp_path)
    assert list(frame.columns) == ["age", "city", "score"]
    assert frame["city"].tolist() == ["Köln", "Oslo", "Lyon"]
    assert frame["age"].tolist() == [31, 45, 27]
    assert np.isnan(frame["score"].iloc[2])

    with pytest.raises(DataError, match="cannot decode") as info:
        D.load_frame({**src, "encoding": "utf-8"}, locations=LOC, base_dir=tmp_path)
    assert info.value.where == "spec.yaml:10:11"
    assert "encoding" in (info.value.hint or "")


def test_csv_with_byte_order_mark(tmp_path: Path) -> None:
    (tmp_path / "bom.csv").write_text("age,city\n1,a\n", encoding="utf-8-sig")
    frame = D.load_frame({"kind": "csv", "path": "bom.csv", "encoding": "utf-8"}, base_dir=tmp_path)
    assert list(frame.columns) == ["age", "city"]


def test_csv_without_header(tmp_path: Path) -> None:
    (tmp_path / "raw.csv").write_text("1,a\n2,b\n")
    src = {"kind": "csv", "path": "raw.csv", "delimiter": ",", "encoding": "utf-8", "header": False}
    assert list(D.load_frame(src, base_dir=tmp_path).columns) == ["column_1", "column_2"]
    named = D.load_frame(src, base_dir=tmp_path, column_names=["n", "s"])
    assert named.to_dict("list") == {"n": [1, 2], "s": ["a", "b"]}


def test_parquet_and_jsonl(tmp_path: Path) -> None:
    _frame().to_parquet(tmp_path / "people.parquet")
    rows = [{"age": 31, "city": "Köln", "score": 0.5}, {"age": 45, "city": "Oslo", "score": 1.5},
            {"age": 27, "city": "Lyon", "score": None}]
    (tmp_path / "people.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                                           encoding="utf-8")
    for src in ({"kind": "parquet", "path": "people.parquet"},
                {"kind": "jsonl", "path": "people.jsonl", "encoding": "utf-8"}):
        frame = D.load_frame(src, base_dir=tmp_path)
        assert list(frame.columns) == ["age", "city", "score"], src
        assert frame["age"].tolist() == [31, 45, 27]
        assert frame["city"].tolist() == ["Köln", "Oslo", "Lyon"]
        assert frame["score"].iloc[0] == 0.5 and pd.isna(frame["score"].iloc[2])


def test_env_var_in_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _frame().to_csv(tmp_path / "people.csv", index=False)
    monkeypatch.setenv("AISPEC_TEST_DATA_DIR", str(tmp_path))
    frame = D.load_frame({"kind": "csv", "path": "${AISPEC_TEST_DATA_DIR}/people.csv"}, base_dir=Path("/"))
    assert len(frame) == 3

    monkeypatch.delenv("AISPEC_TEST_DATA_DIR")
    with pytest.raises(DataError) as info:
        D.load_frame({"kind": "csv", "path": "${AISPEC_TEST_DATA_DIR}/people.csv"}, locations=LOC)
    assert "AISPEC_TEST_DATA_DIR" in info.value.message and "not set" in info.value.message
    assert "export AISPEC_TEST_DATA_DIR=" in (info.value.hint or "")
    assert info.value.where == "spec.yaml:10:11"


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"data file not found: nope\.csv") as info:
        D.load_frame({"kind": "csv", "path": "nope.csv"}, locations=LOC, base_dir=tmp_path)
    assert info.value.where == "spec.yaml:10:11" and str(tmp_path) in (info.value.hint or "")

    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        D.load_frame({"kind": "csv", "path": "empty.csv"}, base_dir=tmp_path)
    (tmp_path / "header_only.csv").write_text("a,b\n")
    with pytest.raises(DataError, match="holds no data") as info:
        D.load_frame({"kind": "csv", "path": "header_only.csv"}, locations=LOC, base_dir=tmp_path)
    assert info.value.where == "spec.yaml:9:5"
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(DataError):
        D.load_frame({"kind": "jsonl", "path": "empty.jsonl"}, base_dir=tmp_path)
    (tmp_path / "junk.parquet").write_bytes(b"this is not parquet")
    with pytest.raises(DataError, match=r"cannot read junk\.parquet as parquet"):
        D.load_frame({"kind": "parquet", "path": "junk.parquet"}, base_dir=tmp_path)
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(DataError, match=r"cannot read bad\.jsonl as jsonl"):
        D.load_frame({"kind": "jsonl", "path": "bad.jsonl"}, base_dir=tmp_path)
    with pytest.raises(DataError, match="folder"):
        D.load_frame({"kind": "csv", "path": "."}, base_dir=tmp_path)
    with pytest.raises(DataError, match="image folder not found: imgs"):
        D.load_frame({"kind": "image_folder", "path": "imgs"}, base_dir=tmp_path)


# ------------------------------------------------------------------------- SQL


def test_an_sql_source_without_the_sql_extra_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)  # as if `aispec[sql]` were not installed
    with pytest.raises(DataError, match="needs SQLAlchemy") as info:
        D.load_frame({"kind": "sql", "url": "sqlite:///x.db", "table": "t"}, locations=LOC)
    assert info.value.where == "spec.yaml:10:12" and "aispec[sql]" in (info.value.hint or "")


def test_sqlite_table_and_query(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "shop.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.exec_driver_sql('CREATE TABLE "order" (item TEXT, qty INTEGER, price REAL)')
        conn.exec_driver_sql("""INSERT INTO "order" VALUES ('pen', 2, 1.5), ('ink', 5, NULL), ('cap', 1, 3.0)""")
        conn.exec_driver_sql("CREATE TABLE vacant (a INTEGER)")
    engine.dispose()
    monkeypatch.setenv("AISPEC_TEST_DB", str(db))
    url = "sqlite:///${AISPEC_TEST_DB}"

    frame = D.load_frame({"kind": "sql", "url": url, "table": "order", "query": None}, locations=LOC)
    assert frame.to_dict("list")["item"] == ["pen", "ink", "cap"]
    assert frame["qty"].tolist() == [2, 5, 1]

    frame = D.load_frame({"kind": "sql", "url": url, "query": "SELECT item, qty FROM \"order\" WHERE qty > 1 "
                                                               "AND item LIKE '%n%'", "table": None})
    assert frame.to_dict("list") == {"item": ["pen", "ink"], "qty": [2, 5]}

    with pytest.raises(DataError, match="returned no rows") as info:
        D.load_frame({"kind": "sql", "url": url, "table": "vacant"}, locations=LOC)
    assert info.value.where == "spec.yaml:11:14"
    with pytest.raises(DataError, match="the table 'missing_table' failed") as info:
        D.load_frame({"kind": "sql", "url": url, "table": "missing_table"}, locations=LOC)
    assert "missing_table" in info.value.message
    with pytest.raises(DataError, match="the query failed"):
        D.load_frame({"kind": "sql", "url": url, "query": "SELEC nonsense"})
    # a relative SQLite path starts at base_dir; a missing file is an error, not a new empty database
    relative = D.load_frame({"kind": "sql", "url": "sqlite:///shop.db", "table": "order"}, base_dir=tmp_path)
    assert len(relative) == 3
    with pytest.raises(DataError, match="SQLite database file not found") as info:
        D.load_frame({"kind": "sql", "url": "sqlite:///nope.db", "table": "t"}, locations=LOC, base_dir=tmp_path)
    assert info.value.where == "spec.yaml:10:12" and not (tmp_path / "nope.db").exists()
    with pytest.raises(DataError, match="no SQLAlchemy dialect"):
        D.load_frame({"kind": "sql", "url": "nosuchdb://u:p@h/x", "table": "t"})
    with pytest.raises(DataError, match="not a valid SQLAlchemy URL"):
        D.load_frame({"kind": "sql", "url": "just text", "table": "t"})


def test_table_name_is_quoted_not_formatted(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (a INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    engine.dispose()
    # an injection attempt through `table` is one (missing) identifier, never SQL
    with pytest.raises(DataError, match="failed"):
        D.load_frame({"kind": "sql", "url": f"sqlite:///{db}", "table": "t; DROP TABLE t"})
    assert len(D.load_frame({"kind": "sql", "url": f"sqlite:///{db}", "table": "t"})) == 1


def _password(url: str) -> str:
    import sqlalchemy as sa

    password = sa.make_url(url).password
    assert password
    return password


def test_postgres_table_query_and_env(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    password = _password(postgres_url)
    monkeypatch.setenv("AISPEC_TEST_PGPASS", password)
    url = postgres_url.replace(password, "${AISPEC_TEST_PGPASS}")
    frame = D.load_frame({"kind": "sql", "url": url, "table": "measurements"}, locations=LOC)
    assert list(frame.columns) == ["id", "species", "mass", "note"]
    assert frame["species"].tolist() == ["Adelie", "Gentoo", "Adelie", "Chinstrap"]
    assert frame["mass"].iloc[0] == 3750.5 and pd.isna(frame["mass"].iloc[2])

    frame = D.load_frame({"kind": "sql", "url": url, "table": "order"})  # a reserved word, quoted
    assert frame["item"].tolist() == ["pen", "ink"]

    # the user's own query, with a '%' that psycopg must not read as a placeholder and a :: cast
    frame = D.load_frame({"kind": "sql", "url": url, "query": "SELECT id, mass::integer AS m FROM measurements "
                                                             "WHERE note LIKE '%sure' ORDER BY id"})
    assert frame.to_dict("list") == {"id": [1], "m": [3750]}

    with pytest.raises(DataError, match="returned no rows"):
        D.load_frame({"kind": "sql", "url": url, "table": "empty_table"})
    with pytest.raises(DataError, match="failed") as info:
        D.load_frame({"kind": "sql", "url": url, "query": "SELECT * FROM no_such_table"}, locations=LOC)
    assert "no_such_table" in info.value.message and password not in str(info.value)


def test_postgres_wrong_password_is_masked(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    password = _password(postgres_url)
    monkeypatch.setenv("AISPEC_TEST_PGPASS", "totally-wrong-pw")
    url = postgres_url.replace(password, "${AISPEC_TEST_PGPASS}")
    with pytest.raises(DataError) as info:
        D.load_frame({"kind": "sql", "url": url, "table": "measurements"}, locations=LOC)
    text = str(info.value)
    assert "cannot connect to postgresql+psycopg://aispec:***@127.0.0.1" in text
    assert "password authentication failed" in text
    assert "totally-wrong-pw" not in text and password not in text
    assert info.value.where == "spec.yaml:10:12"
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no driver traceback with secrets


def test_closed_port_is_masked() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DataError) as info:
        D.load_frame({"kind": "sql", "url": f"postgresql+psycopg://bob:hunter2secret@127.0.0.1:{port}/db",
                      "table": "t"}, locations=LOC)
    text = str(info.value)
    assert f"cannot connect to postgresql+psycopg://bob:***@127.0.0.1:{port}/db" in text
    assert "hunter2secret" not in text


# ----------------------------------------------------------------------- bundled


@pytest.mark.parametrize("name", available())
def test_bundled_matches_catalog(name: str) -> None:
    dataset = DATASETS[name]
    frame = load_bundled(name)
    assert list(frame.columns) == list(dataset.column_names)
    assert len(frame) == dataset.n_rows
    for column, kind in dataset.columns:
        dtype = frame[column].dtype
        if name in ("digits", "digits_images") and column == "digit":
            assert dtype == np.int64 and sorted(frame[column].unique()) == list(range(10))
        elif kind == "numeric":
            assert dtype == np.float64, column
        elif kind in ("categorical", "text"):
            assert pd.api.types.is_string_dtype(dtype), column
        elif kind == "datetime":
            assert dtype == "datetime64[ns]", column
            assert frame[column].is_monotonic_increasing
        elif kind == "image":
            assert {v.shape for v in frame[column]} == {(8, 8, 1)} and {v.dtype for v in frame[column]} == {np.dtype(np.uint8)}
    if dataset.n_classes and dataset.default_target and name not in ("digits", "digits_images"):
        assert frame[dataset.default_target].nunique() == dataset.n_classes


def test_bundled_labels_are_readable() -> None:
    assert set(load_bundled("iris")["species"]) == {"setosa", "versicolor", "virginica"}
    assert set(load_bundled("breast_cancer")["diagnosis"]) == {"malignant", "benign"}
    assert set(load_bundled("wine")["cultivar"]) == {"cultivar_0", "cultivar_1", "cultivar_2"}
    assert load_bundled("macrodata")["date"].iloc[1] == pd.Timestamp("1959-04-01")
    assert load_bundled("sunspots")["year"].iloc[0] == pd.Timestamp("1700-01-01")
    spam = load_bundled("sms_spam")
    assert set(spam["label"]) == {"ham", "spam"} and len(spam) > 4000
    assert spam["text"].str.len().min() > 0
    penguins = D.load_frame({"kind": "bundled", "name": "palmerpenguins"})
    assert penguins["sex"].isna().sum() == 11


def test_bundled_errors() -> None:
    with pytest.raises(DataError, match="unknown bundled dataset 'nope'") as info:
        D.load_frame({"kind": "bundled", "name": "nope"}, locations={"data.source.name": "s.yaml:3:3"})
    assert info.value.where == "s.yaml:3:3" and "iris" in (info.value.hint or "")


# --------------------------------------------------------------------- validation


COLUMNS: dict[str, dict[str, Any]] = {
    "age": {"type": "numeric", "nullable": False, "range": [0, 120], "allowed": None},
    "income": {"type": "numeric", "nullable": True, "range": [0, None], "allowed": None},
    "plan": {"type": "categorical", "nullable": False, "range": None, "allowed": ["basic", "pro"]},
    "active": {"type": "boolean", "nullable": True, "range": None, "allowed": None},
    "joined": {"type": "datetime", "nullable": True, "range": None, "allowed": None},
    "email": {"type": "text", "nullable": True, "range": None, "allowed": None},
    "churn": {"type": "categorical", "nullable": False, "range": None, "allowed": None},
    "region": {"type": "categorical", "nullable": False, "range": None, "allowed": None},
}


def _bad_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "age": [34, -1, 150, None, "forty", 50, 200, 61],
        "income": [1000.0, -5.0, None, 20.0, 30.0, 40.0, 50.0, 60.0],
        "plan": ["basic", "pro", "gold", "", "basic", "platinum", "gold", "pro"],
        "active": [True, False, "yes", "maybe", None, 1, 0, "no"],
        "joined": ["2020-01-01", "2021-02-03", "not a date", None, "2022-05-05", "2023-01-01", "2023-01-02",
                   "2023-01-03"],
        "email": ["a@x", None, "b@y", "c@z", "d@w", "e@v", "f@u", "g@t"],
        "churn": ["yes", "no", "no", "no", "no", "no", "no", "maybe"],
    })


def test_validate_reports_every_problem() -> None:
    with pytest.raises(D.DataValidationError) as info:
        D.validate_frame(_bad_frame(), columns=COLUMNS, target="churn", task="classification", min_rows=10,
                         locations=LOC)
    found = [(p.column, p.problem, p.count, p.examples, p.rows, p.where) for p in info.value.problems]
    assert found == [
        (None, "8 rows, fewer than min_rows = 10", 0, [], [], "spec.yaml:20:13"),
        ("age", "missing values in a column that is not nullable", 1, [], [3], "spec.yaml:14:5"),
        ("age", "values that are not numeric", 1, ["forty"], [4], "spec.yaml:14:5"),
        ("age", "values outside the range [0, 120]", 3, [-1, 150, 200], [1, 2, 6], "spec.yaml:14:5"),
        ("income", "values outside the range [0, inf]", 1, [-5.0], [1], "spec.yaml:13:3"),
        ("plan", "missing values in a column that is not nullable", 1, [], [3], "spec.yaml:13:3"),
        ("plan", "values not in the allowed set [basic, pro]", 3, ["gold", "platinum"], [2, 5, 6], "spec.yaml:13:3"),
        ("active", "values that are not boolean", 1, ["maybe"], [3], "spec.yaml:13:3"),
        ("joined", "values that are not datetime", 1, ["not a date"], [2], "spec.yaml:13:3"),
        ("region", "declared column is missing from the data", 0, [], [], "spec.yaml:13:3"),
        ("churn", "2 class(es) with fewer than 2 rows", 2, ["yes", "maybe"], [0, 7], "spec.yaml:6:11"),
    ]
    message = info.value.message
    assert message.startswith("the data has 11 problems:\n")
    assert len(message.splitlines()) == 12
    assert ("  - column 'age': values outside the range [0, 120] (3 rows) [e.g. -1, 150, 200; rows 1, 2, 6] "
            "at spec.yaml:14:5") in message.splitlines()
    assert info.value.where == "spec.yaml:20:13"
    assert isinstance(info.value, DataError)


def test_validate_target_and_classes() -> None:
    frame = pd.DataFrame({"x": range(30), "y": ["a"] * 30})
    with pytest.raises(D.DataValidationError) as info:
        D.validate_frame(frame, columns=None, target="y", task="classification", min_rows=20, locations=LOC)
    assert [(p.column, p.problem) for p in info.value.problems] == [
        ("y", "classification needs at least 2 classes, found 1")]
    with pytest.raises(D.DataValidationError) as info:
        D.validate_frame(frame, columns=None, target="label", task="regression", min_rows=20, locations=LOC)
    assert [(p.column, p.problem, p.where) for p in info.value.problems] == [
        ("label", "target column is missing from the data", "spec.yaml:6:11")]
    frame.loc[[3, 4], "y"] = None
    frame.loc[5:, "y"] = "b"
    with pytest.raises(D.DataValidationError) as info:
        D.validate_frame(frame, columns=None, target="y", task="classification", min_rows=20)
    assert [(p.problem, p.count, p.rows) for p in info.value.problems] == [("target has missing values", 2, [3, 4])]
    # regression targets are not class-counted
    D.validate_frame(pd.DataFrame({"x": range(5), "y": [1.0] * 5}), columns=None, target="y", task="regression",
                     min_rows=5)


def test_validate_ok_returns_report() -> None:
    frame = pd.DataFrame({"age": [30, 40, 50, 40], "plan": ["basic", "pro", "pro", "pro"],
                          "when": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01", "2020-02-01"]),
                          "flag": [1, 0, 0, 1]})
    columns = {"age": {"type": "numeric", "nullable": False, "range": [18, 99], "allowed": None},
               "plan": {"type": "categorical", "nullable": False, "range": None, "allowed": ["basic", "pro"]},
               "flag": {"type": "boolean", "nullable": False, "range": None, "allowed": [True, False]}}
    report = D.validate_frame(frame, columns=columns, target="flag", task="classification", min_rows=4)
    assert (report.n_rows, report.n_columns, report.duplicates) == (4, 4, 0)
    age = report.columns["age"]
    assert (age.declared_type, age.missing, age.unique, age.min, age.max, age.mean) == ("numeric", 0, 3, 30, 50, 40)
    assert report.columns["plan"].top == [("pro", 3), ("basic", 1)]
    assert report.columns["when"].min == "2020-01-01T00:00:00"
    as_dict = report.to_dict()
    json.dumps(as_dict)
    assert as_dict["columns"]["plan"]["top"] == [["pro", 3], ["basic", 1]]
    assert as_dict["columns"]["age"]["std"] == pytest.approx(np.std([30, 40, 50, 40], ddof=1))


# --------------------------------------------------------------------- preparation


def test_prepare_frame_conventions() -> None:
    frame = pd.DataFrame({
        "age": ["1", "2.5", None], "member": ["yes", "no", None], "code": [1.0, np.nan, 3.0],
        "note": ["hi", None, "there"], "when": ["2020-01-01", None, "2021-06-30"],
        "ssn": ["1", "2", "3"], "junk": [0, 0, 0], "extra": ["p", None, "q"], "n": [1, 2, 3],
    })
    columns = {"age": {"type": "numeric"}, "member": {"type": "boolean"}, "code": {"type": "categorical"},
               "note": {"type": "text"}, "when": {"type": "datetime"}}
    out = D.prepare_frame(frame, columns=columns, drop=["junk", "not_there"], pii=["ssn"])
    assert list(out.columns) == ["age", "member", "code", "note", "when", "extra", "n"]
    assert out["age"].dtype == np.float64 and out["age"].tolist()[:2] == [1.0, 2.5] and np.isnan(out["age"][2])
    assert out["member"].dtype == np.float64 and out["member"].tolist()[:2] == [1.0, 0.0]
    assert out["code"].dtype == object and out["code"].tolist() == ["1", "", "3"]
    assert all(type(v) is str for v in out["code"])
    assert out["note"].tolist() == ["hi", "", "there"]
    assert out["when"].dtype == "datetime64[ns]" and pd.isna(out["when"][1])
    assert out["extra"].tolist() == ["p", "", "q"] and out["n"].dtype == np.float64
    assert "ssn" in frame.columns  # the input is not modified
