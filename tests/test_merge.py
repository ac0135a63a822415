"""The three-way merge that keeps a user's edits across rebuilds: semantics, and which engine ran."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aispec.compiler import merge
from aispec.compiler.merge import count_conflicts, merge3

BASE = "a\nb\nc\nd\ne\n"
ENGINES = ["python", pytest.param("git", marks=pytest.mark.skipif(shutil.which("git") is None, reason="no git"))]


@pytest.mark.parametrize("engine", ENGINES)
def test_edits_on_lines_apart_are_both_kept(engine: str) -> None:
    result = merge3(BASE, BASE + "note\n", "a\nB\nc\nd\ne\n", engine=engine)  # type: ignore[arg-type]
    assert (result.text, result.clean, result.engine) == ("a\nB\nc\nd\ne\nnote\n", True, engine)
    assert merge3(BASE, "x\n" + BASE, BASE + "y\n", engine=engine).text == "x\n" + BASE + "y\n"  # type: ignore[arg-type]
    assert merge3(BASE, "a\nc\nd\ne\n", "a\nb\nc\nd\nE\n", engine=engine).text == "a\nc\nd\nE\n"  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ENGINES)
def test_the_same_change_on_both_sides_appears_once(engine: str) -> None:
    both = "a\nb\nnew\nc\nd\ne\n"
    result = merge3(BASE, both, both.replace("e\n", "E\n"), engine=engine)  # type: ignore[arg-type]
    assert result.clean and result.text == "a\nb\nnew\nc\nd\nE\n"


@pytest.mark.parametrize("engine", ENGINES)
def test_changes_that_touch_are_a_conflict_with_markers(engine: str) -> None:
    result = merge3(BASE, "a\nB\nc\nd\ne\n", "a\nb\nC\nd\ne\n", engine=engine)  # type: ignore[arg-type]
    assert result.conflicts == 1
    assert result.text == "a\n<<<<<<< yours\nB\nc\n=======\nb\nC\n>>>>>>> generated now\nd\ne\n"
    assert count_conflicts(result.text) == 1
    same_place = merge3(BASE, "a\nb\nX\nc\nd\ne\n", "a\nb\nY\nc\nd\ne\n", engine=engine)  # type: ignore[arg-type]
    assert same_place.conflicts == 1 and "X\n=======\nY\n" in same_place.text


def test_git_runs_when_installed_and_python_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("git"):
        assert merge3(BASE, BASE + "x\n", "A" + BASE[1:]).engine == "git"
    monkeypatch.setattr(merge.shutil, "which", lambda name: None)
    result = merge3(BASE, BASE + "x\n", "A" + BASE[1:])
    assert (result.engine, result.text) == ("python", "A" + BASE[1:] + "x\n")
    with pytest.raises(RuntimeError):
        merge3(BASE, BASE + "x\n", "A" + BASE[1:], engine="git")


def test_the_environment_can_ask_for_the_python_merge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AISPEC_MERGE", "python")
    assert merge3(BASE, BASE + "x\n", "A" + BASE[1:]).engine == "python"


def test_a_git_that_fails_falls_back_to_python(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        return subprocess.CompletedProcess([], 255, b"", b"error: Cannot merge binary files")

    monkeypatch.setattr(merge.shutil, "which", lambda name: "/usr/bin/git")
    monkeypatch.setattr(merge.subprocess, "run", broken)
    assert merge3(BASE, BASE + "x\n", "A" + BASE[1:]).engine == "python"


@pytest.mark.skipif(shutil.which("git") is None, reason="no git")
def test_a_users_git_conflict_style_does_not_change_the_result(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """merge.conflictStyle=diff3 would show the base and merge less: the call pins the style."""
    config = tmp_path / "gitconfig"
    config.write_text("[merge]\n\tconflictStyle = diff3\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    repo = tmp_path / "repo"  # inside a repository, where git reads the user's configuration
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    monkeypatch.setattr(tempfile, "tempdir", str(repo))
    result = merge3(BASE, "a\nB\nc\nd\ne\n", "a\nb\nC\nd\ne\n", engine="git")
    assert result.conflicts == 1 and "|||||||" not in result.text


def test_crlf_files_get_crlf_markers() -> None:
    base, ours, theirs = "a\r\nb\r\nc\r\n", "a\r\nB\r\nc\r\n", "a\r\nX\r\nc\r\n"
    result = merge3(base, ours, theirs, engine="python")
    assert result.text == "a\r\n<<<<<<< yours\r\nB\r\n=======\r\nX\r\n>>>>>>> generated now\r\nc\r\n"
    assert count_conflicts(result.text) == 1


def test_count_conflicts_needs_both_of_aispecs_markers() -> None:
    assert count_conflicts("<<<<<<< yours\nx\n=======\ny\n>>>>>>> generated now\n") == 1
    assert count_conflicts("<<<<<<< HEAD\nx\n=======\ny\n>>>>>>> main\n") == 0  # not ours to judge
    assert count_conflicts("=======\nTitle\n=======\n") == 0


lines = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "d\n", "\n", ")\n"]), max_size=8).map("".join)


@settings(max_examples=200, derandomize=True)
@given(base=lines, other=lines)
def test_an_unchanged_side_yields_the_other(base: str, other: str) -> None:
    for engine in ("python", "auto") if shutil.which("git") else ("python",):
        assert merge3(base, base, other, engine=engine).text == other  # type: ignore[arg-type]
        assert merge3(base, other, base, engine=engine).text == other  # type: ignore[arg-type]
