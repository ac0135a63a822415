"""`aispec check` and `aispec build` make no POSIX-only call: product owners run Windows and macOS.

The POSIX-only functions of ``os`` are removed for the duration of the test (as on Windows, where they do
not exist), the per-process parser and template caches are emptied so that the per-user cache folders
are made and written again, and a spec is checked (YAML and DSL) and built in-process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from aispec.compiler import dsl, render
from aispec.compiler.api import check_file
from aispec.compiler.build import build

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "specs" / "examples"
# Functions of `os` that Windows does not have (the ones a cache or a writer is tempted to use).
POSIX_ONLY = ("getuid", "geteuid", "getgid", "getegid", "getgroups", "getpgid", "setsid", "killpg", "chown",
              "fchown", "lchown", "fchmod", "statvfs", "sync", "mkfifo", "getlogin")


def _forget_built_parsers_and_templates() -> None:
    for cached in (dsl._parser, dsl._lexer, render.environment):
        cached.cache_clear()


@pytest.fixture
def without_posix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    cache = tmp_path / "user-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))  # platformdirs' user cache folder on Linux
    monkeypatch.delenv("AISPEC_NO_CACHE", raising=False)
    for name in POSIX_ONLY:
        if hasattr(os, name):
            monkeypatch.delattr(os, name)
    _forget_built_parsers_and_templates()
    yield cache
    _forget_built_parsers_and_templates()  # later tests must not write into this test's temp folder


def test_check_and_build_without_posix_calls(without_posix: Path, tmp_path: Path) -> None:
    assert not hasattr(os, "getuid")
    for name in ("penguins-classification.yaml", "penguins-classification.aispec"):
        result = check_file(EXAMPLES / name)
        assert result.ok, [d.message for d in result.diagnostics]
    built = build(EXAMPLES / "penguins-classification.yaml", tmp_path / "project")
    assert built.ok and built.written, [d.message for d in built.diagnostics]
    assert (tmp_path / "project" / "pyproject.toml").is_file()
    # the caches were used, in the per-user folder, without asking for a uid
    assert list((without_posix / "aispec" / "lark").glob("*.cache"))
    assert list((without_posix / "aispec" / "jinja").iterdir())


def test_a_cache_folder_owned_by_someone_else_is_not_used(without_posix: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aispec.compiler.grammars import cache_dir

    assert cache_dir("lark") == without_posix / "aispec" / "lark"  # Windows: no uid to compare, the folder is used
    monkeypatch.setattr(os, "getuid", lambda: -1, raising=False)  # POSIX: a uid that owns nothing
    assert cache_dir("lark") is None
