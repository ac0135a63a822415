"""Hostile spec input: alias bombs, deep nesting, huge lines, terminal escapes, floods of mistakes.

Each is refused quickly with a diagnostic (file:line:col, a code, a hint), never an internal
error, and the report stays small whatever the size of the input.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from aispec.compiler.api import check_text, parse
from aispec.compiler.cli import app
from aispec.compiler.diagnostics import MAX_DIAGNOSTICS, format_json, format_text
from aispec.compiler.formatting import format_source
from aispec.compiler.raw import MAX_DEPTH
from aispec.compiler.source import SourceFile

ROOT = Path(__file__).resolve().parents[1]
PENGUINS = (ROOT / "specs" / "examples" / "penguins-classification.yaml").read_text(encoding="utf-8")

# The classic "billion laughs": nine aliases per level, nine levels: 9^9 (387 million) strings.
BOMB = "aispec: 1\n" + 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9))


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AISPEC_DEBUG"}
    env["NO_COLOR"] = "1"
    return subprocess.run([sys.executable, "-m", "aispec.compiler.cli", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


# ---------------------------------------------------------------- aliases


def test_alias_bomb_is_refused_within_a_second() -> None:
    assert len(BOMB) < 700
    check_text("aispec: 1\n", "warm.yaml")  # imports and parser tables are not what is measured
    start = time.perf_counter()
    result = check_text(BOMB, "bomb.yaml")
    assert time.perf_counter() - start < 1.0
    assert result.raw is None
    codes = {d.code for d in result.diagnostics}
    assert codes == {"AIS110"}
    first = result.diagnostics[0]
    assert first.span is not None and (first.span.line, first.span.column) == (3, 10)  # the first '*a0'
    assert first.message == ("YAML alias '*a0' is not supported, used 9 times (it repeats the value anchored "
                             "as '&a0' at line 2)")
    assert first.hint and "write the value out" in first.hint


def test_alias_bomb_through_the_cli(tmp_path: Path) -> None:
    spec = tmp_path / "bomb.yaml"
    spec.write_text(BOMB, encoding="utf-8")
    start = time.perf_counter()
    proc = run_cli("check", spec)
    assert time.perf_counter() - start < 20  # a fresh interpreter; the bomb itself took more than 20 s before
    assert proc.returncode == 1, proc.stderr
    assert f"{spec}:3:10: error[AIS110]" in proc.stderr
    assert "internal error" not in proc.stderr


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        # the ordinary use: repeat a column declaration
        ("columns:\n  a: &num {type: numeric}\n  b: *num\n", 3, 6, "alias '*num' is not supported"),
        ("a: *nowhere\n", 1, 4, "alias '*nowhere' is not supported (and no anchor"),
        ("a: &x {b: 1}\nc:\n  <<: *x\n", 3, 7, "merge keys ('<<: *x') are not supported"),
        ("a: &unused 1\n", 1, 4, "anchor '&unused' is not supported"),
    ],
    ids=["alias", "undefined-alias", "merge-key", "unused-anchor"],
)
def test_anchors_and_aliases_are_refused(text: str, line: int, column: int, words: str) -> None:
    result = parse(SourceFile("x.yaml", text))
    first = result.diagnostics[0]
    assert (first.code, first.span and first.span.line, first.span and first.span.column) == ("AIS110", line, column)
    assert words in first.message


def test_an_anchor_that_no_alias_uses_still_lets_the_rest_be_checked() -> None:
    # without aliases the node graph is a tree, so the builder's own checks still run
    result = parse(SourceFile("x.yaml", "a: &x 1\n<<: {b: 2}\n"))
    assert [d.code for d in result.diagnostics] == ["AIS110", "AIS106"]


# ---------------------------------------------------------------- nesting


DEEP = 20_000

DEEP_INPUTS = {
    "yaml-flow-lists": ("x.yaml", "aispec: 1\nnotes: " + "[" * DEEP + "]" * DEEP + "\n"),
    "yaml-flow-mappings": ("x.yaml", "aispec: 1\nnotes: " + "{a: " * DEEP + "1" + "}" * DEEP + "\n"),
    "yaml-block-mappings": ("x.yaml", "aispec: 1\n" + "".join(" " * i + "k:\n" for i in range(1200))),
    "yaml-deep-under-libyaml-limit": ("x.yaml", "aispec: 1\nnotes: " + "[" * 900 + "]" * 900 + "\n"),
    "yaml-deep-and-a-syntax-error": ("x.yaml", "aispec: 1\nnotes: " + "[" * 900 + "]" * 900 + "\n  bad: [\n"),
    "dsl-lists": ("x.aispec", "aispec = 1\nnotes = " + "[" * DEEP + "]" * DEEP + "\n"),
    "dsl-blocks": ("x.aispec", "aispec = 1\n" + "a { " * DEEP + "b = 1" + " }" * DEEP + "\n"),
    "dsl-inline-objects": ("x.aispec", "aispec = 1\nnotes = " + "{ a = " * DEEP + "1" + " }" * DEEP + "\n"),
}


@pytest.mark.parametrize("name", list(DEEP_INPUTS))
def test_deep_nesting_is_a_diagnostic_not_a_crash(name: str) -> None:
    path, text = DEEP_INPUTS[name]
    result = check_text(text, path)
    assert result.raw is None
    [d] = result.diagnostics
    assert d.code in ("AIS109", "AIS101"), d  # the syntax error may be found first
    if name != "yaml-deep-and-a-syntax-error":
        assert d.code == "AIS109" and f"at most {MAX_DEPTH} levels" in d.message
        assert d.span is not None and d.hint
    format_text(result.diagnostics, result.source)  # and the report renders


@pytest.mark.parametrize("command", [["check"], ["fmt", "--check"], ["convert"], ["show"]])
def test_deep_nesting_through_every_command(tmp_path: Path, command: list[str]) -> None:
    spec = tmp_path / "deep.yaml"
    spec.write_text(DEEP_INPUTS["yaml-flow-lists"][1], encoding="utf-8")
    result = CliRunner().invoke(app, [*command, str(spec)])
    assert result.exit_code == 1, result.output
    assert "AIS109" in result.output and "internal error" not in result.output


def _at_the_limit(syntax: str) -> str:
    """The penguins spec with a value exactly MAX_DEPTH levels deep (model.params.class_weight)."""
    levels = MAX_DEPTH - 3  # model, params and class_weight are the first three levels
    deep = "{a: " * (levels - 1) + "{a: 1}" + "}" * (levels - 1)
    text = PENGUINS.replace("    class_weight: balanced\n", f"    class_weight: {deep}\n", 1)
    assert text != PENGUINS
    if syntax == "dsl":
        converted = format_source(SourceFile("x.yaml", text), "dsl").text
        assert converted is not None
        return converted
    return text


@pytest.mark.parametrize("syntax", ["yaml", "dsl"])
def test_a_spec_at_the_depth_limit_works_everywhere(syntax: str, tmp_path: Path) -> None:
    text = _at_the_limit(syntax)
    name = "x.aispec" if syntax == "dsl" else "x.yaml"
    assert check_text(text, name).ok
    source = SourceFile(name, text)
    for target in ("yaml", "dsl"):  # fmt and convert, both ways, without loss
        result = format_source(source, target)  # it reads its output back and refuses any change (AIS112)
        assert result.text is not None and not [d for d in result.diagnostics if d.is_error], result.diagnostics
    spec = tmp_path / name
    spec.write_text(text, encoding="utf-8")
    for fmt in ("yaml", "dsl", "json"):
        shown = CliRunner().invoke(app, ["show", str(spec), "--format", fmt])
        assert shown.exit_code == 0, shown.output
    one_more = text.replace("{a: 1}", "{a: {a: 1}}", 1) if syntax == "yaml" else text.replace(
        "a = 1", "a { a = 1 }", 1)
    assert [d.code for d in check_text(one_more, name).diagnostics] == ["AIS109"]


# ---------------------------------------------------------------- size of the report


def _long_line_spec() -> str:
    return PENGUINS.replace("  name: penguin-species\n",
                            "  name: penguin-species\n  description: " + "x" * 2_000_000 + ": y\n", 1)


def test_a_two_megabyte_line_gives_a_short_report() -> None:
    text = _long_line_spec()
    result = check_text(text, "long.yaml")
    assert [d.code for d in result.diagnostics] == ["AIS101"]
    report = format_text(result.diagnostics, result.source)
    assert len(report) < 1_000, report[:2000]
    snippet, caret = report.splitlines()[1:3]
    assert snippet.endswith("xxx: y") and "..." in snippet  # cut around the caret, which is under the ':'
    assert snippet[caret.index("^")] == ":"
    assert len(format_json(result.diagnostics)) < 2_000


def test_a_huge_key_is_clipped_in_messages_and_json() -> None:
    key = "k" * 500_000  # an explicit key ('? '): YAML limits implicit ones to 1024 characters
    result = check_text(PENGUINS.replace("problem:\n", f"problem:\n  ? {key}\n  : 1\n", 1), "x.yaml")
    [d] = [d for d in result.diagnostics if d.code == "AIS202"]
    assert key in d.message  # the diagnostic itself keeps everything ...
    one = json.loads(format_json([d]))[0]
    assert len(one["message"]) <= 1_100 and "characters]" in one["message"]  # ... what is printed is clipped
    assert len(json.dumps(one)) < 2_000
    assert len(format_text([d], result.source)) < 2_000


def test_a_flood_of_mistakes_is_capped_with_a_count() -> None:
    text = "aispec: 1\nnotes: {" + ", ".join(["k: 1"] * 500) + "}\n"
    result = check_text(text, "x.yaml")
    assert len(result.diagnostics) == MAX_DIAGNOSTICS
    *shown, more = result.diagnostics
    assert {d.code for d in shown} == {"AIS103"}
    assert more.code == "AIS111" and more.message.startswith(f"{499 - len(shown)} more problems not shown")
    assert more.is_error


@pytest.mark.parametrize(
    ("path", "text"),
    [("x.yaml", "aispec: 1\nproject: {name: \x1b[2J\x1b]0;pwned\x07}\n"),
     ("x.aispec", "aispec = 1\nproject { name = \x1b[2J\x1b]0;pwned\x07 }\n")],
    ids=["yaml", "dsl"],
)
def test_control_characters_never_reach_the_terminal(path: str, text: str) -> None:
    result = check_text(text, path)
    assert result.diagnostics
    report = format_text(result.diagnostics, result.source)
    assert "pwned" in report or result.diagnostics[0].span is not None  # the line is shown ...
    assert "\x1b" not in report and "\x07" not in report  # ... without its escape sequences


def test_the_cli_prints_a_bounded_report_for_a_huge_file(tmp_path: Path) -> None:
    spec = tmp_path / "long.yaml"
    spec.write_text(_long_line_spec(), encoding="utf-8")
    proc = run_cli("check", spec)
    assert proc.returncode == 1
    assert len(proc.stderr) < 1_000 + len(str(spec)), proc.stderr[:2000]
    proc = run_cli("check", "--format", "json", spec)
    assert len(proc.stdout) < 2_000
    assert yaml.safe_load(proc.stdout)[0]["code"] == "AIS101"


def test_validation_refuses_deep_data_built_without_a_front_end() -> None:
    # the editor builds raw data itself; validation must not recurse into 20,000 levels either
    from aispec.compiler.raw import ParseResult
    from aispec.compiler.validate import validate

    deep: object = 1
    for _ in range(20_000):
        deep = [deep]
    raw = {"aispec": 1, "project": {"name": "x"}, "notes": deep}
    spec, diagnostics = validate(ParseResult(SourceFile("x.yaml", ""), raw))
    assert spec is None
    assert [d.code for d in diagnostics] == ["AIS109"]
    assert len(diagnostics[0].loc) == MAX_DEPTH + 1


def test_a_flood_of_unknown_keys_checks_quickly() -> None:
    # each unknown key gets a spelling hint: ranking by edit distance must not make 10,000 of them slow
    keys = "".join(f"  unknown_setting_{i}: 1\n" for i in range(10_000))
    text = PENGUINS.replace("problem:\n", "problem:\n" + keys, 1)
    start = time.perf_counter()
    result = check_text(text, "x.yaml")
    assert time.perf_counter() - start < 10  # 2 s here; 28 s with an unbounded distance per choice
    assert result.diagnostics[-1].code == "AIS111"
