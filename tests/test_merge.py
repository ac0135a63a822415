"""The three-way merge that keeps a user's edits across rebuilds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aispec.compiler.merge import merge3

BASE = "a\nb\nc\nd\n"


def test_edits_on_different_lines_are_both_kept() -> None:
    assert merge3(BASE, BASE + "note\n", "a\nB\nc\nd\n") == "a\nB\nc\nd\nnote\n"
    assert merge3(BASE, "x\n" + BASE, BASE + "y\n") == "x\na\nb\nc\nd\ny\n"
    assert merge3(BASE, "a\nc\nd\n", "a\nb\nc\nD\n") == "a\nc\nD\n"


def test_the_same_change_on_both_sides_is_taken_once() -> None:
    assert merge3(BASE, "a\nB\nc\nd\n", "a\nB\nc\nd\n") == "a\nB\nc\nd\n"


def test_changes_to_the_same_lines_conflict() -> None:
    assert merge3(BASE, "a\nX\nc\nd\n", "a\nB\nc\nd\n") is None
    assert merge3(BASE, "a\nb\nX\nc\nd\n", "a\nb\nY\nc\nd\n") is None  # insertions at one place


lines = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "d\n", "e\n"]), max_size=8).map("".join)


@settings(max_examples=300, derandomize=True)
@given(base=lines, other=lines)
def test_an_unchanged_side_yields_the_other(base: str, other: str) -> None:
    assert merge3(base, base, other) == other
    assert merge3(base, other, base) == other
