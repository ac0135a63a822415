"""The workspace: uploaded names never leave it, autosave is atomic and keeps the last good version,
and the two-tabs lock."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aispec.ui.workspace import LOCK_STALE_S, Workspace, WorkspaceError, digest, safe_name

HOSTILE = ["../../etc/passwd.csv", "..\\..\\windows\\x.csv", "/abs/path/data.csv", "C:\\Users\\me\\d.csv",
           "con.csv", ".hidden.csv", "a\x00b.csv", "name\nwith\nlines.csv", "ünïcödé.csv", "  .csv", "x.CSV",
           "%2e%2e%2fescape.csv", "a/../../b.csv", "x.csv/", "x.exe", "", "....", "x.csv.exe"]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_upload_name_is_refused_or_stored_inside_data(tmp_path: Path, name: str) -> None:
    ws = Workspace(tmp_path / "ws")
    try:
        stored = ws.save_upload(name, b"a,b\n1,2\n")
    except WorkspaceError:
        assert not (tmp_path / "ws" / "data").exists() or not any((tmp_path / "ws" / "data").iterdir())
        return
    assert stored.parent == ws.data and stored.read_bytes() == b"a,b\n1,2\n"
    assert stored.suffix == ".csv" and not stored.name.startswith(".")
    assert all(p == stored for p in tmp_path.rglob("*") if p.is_file())  # nothing else written anywhere


@settings(max_examples=300, derandomize=True, deadline=None)  # 300 generated names, fixed seed
@given(st.text(min_size=0, max_size=40))
def test_any_name_is_refused_or_a_plain_file_name(name: str) -> None:
    try:
        safe = safe_name(name + ".csv", (".csv",))
    except WorkspaceError:
        return
    assert "/" not in safe and "\\" not in safe and safe not in (".", "..") and not safe.startswith(".")
    assert safe.endswith(".csv") and all(c.isascii() and (c.isalnum() or c in "._-") for c in safe)


def test_the_same_upload_twice_is_one_file_and_another_gets_its_own_name(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    first = ws.save_upload("d.csv", b"x\n1\n")
    assert ws.save_upload("d.csv", b"x\n1\n") == first
    other = ws.save_upload("d.csv", b"x\n2\n")
    assert other != first and other.name == "d-1.csv" and first.read_bytes() == b"x\n1\n"


def test_an_upload_over_the_limit_writes_nothing(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    with pytest.raises(WorkspaceError, match="up to 1 MB"):
        ws.save_upload("big.csv", b"x" * (1024 * 1024 + 1), limit_mb=1)
    assert not ws.data.exists()


def test_a_symlink_in_data_is_not_written_through(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.data.mkdir(parents=True)
    target = tmp_path / "outside.csv"
    target.write_text("keep\n")
    os.symlink(target, ws.data / "d.csv")
    with pytest.raises(WorkspaceError):
        ws.save_upload("d.csv", b"x\n1\n")
    assert target.read_text() == "keep\n"


def test_autosave_keeps_the_last_good_version(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    spec = tmp_path / "s.yaml"
    first = ws.save(spec, "good: 1\n", ok=True, expected=None)
    assert first.saved and spec.read_text() == "good: 1\n" and ws.last_good(spec) == "good: 1\n"
    second = ws.save(spec, "broken: [\n", ok=False, expected=first.on_disk)
    assert second.saved and spec.read_text() == "broken: [\n"
    assert ws.last_good(spec) == "good: 1\n" and "last good version is kept" in second.message
    assert not [p for p in tmp_path.rglob("*.tmp")]  # no temporary file left behind


def test_autosave_does_not_overwrite_a_change_made_elsewhere(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    spec = tmp_path / "s.yaml"
    saved = ws.save(spec, "a: 1\n", ok=True, expected=None)
    spec.write_text("a: 2  # another editor\n")
    again = ws.save(spec, "a: 3\n", ok=True, expected=saved.on_disk)
    assert not again.saved and spec.read_text() == "a: 2  # another editor\n"
    assert again.on_disk == digest("a: 2  # another editor\n")


def test_a_spec_outside_the_workspace_is_refused(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(WorkspaceError):
        ws.save(tmp_path / "elsewhere.yaml", "a: 1\n", ok=True, expected=None)
    assert ws.spec_path("../escape.yaml").parent == ws.root  # the folder part is dropped


def test_a_second_tab_is_told_until_the_first_goes_quiet(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    spec = tmp_path / "s.yaml"
    assert ws.claim(spec, "tab-1", now=100.0) is None
    owner = ws.claim(spec, "tab-2", now=105.0)
    assert owner is not None and owner.session == "tab-1" and owner.since == 100.0
    assert ws.claim(spec, "tab-1", now=110.0) is None  # the holder refreshes its hold
    assert ws.claim(spec, "tab-2", now=110.0 + LOCK_STALE_S - 1) is not None
    assert ws.claim(spec, "tab-2", now=110.0 + LOCK_STALE_S + 1) is None  # a closed tab's hold lapses
    assert ws.claim(spec, "tab-1", now=135.0, force=False) is not None
    assert ws.claim(spec, "tab-1", now=135.0, force=True) is None  # "edit in this tab instead"
