"""The ``aispec`` command line, driven as a user drives it.

Most tests call the Typer app in-process through ``CliRunner``; a few run
``python -m aispec.compiler.cli`` in a real subprocess to see the exit codes a
shell sees (0 clean, 1 spec errors, 2 usage errors, 3 internal errors).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from aispec.compiler.api import check_file, parse
from aispec.compiler.cli import app
from aispec.compiler.codes import BASE_EXAMPLE
from aispec.compiler.source import SourceFile

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "specs" / "examples"
SCHEMA_FILE = ROOT / "schemas" / "aispec-spec-v1.schema.json"
TASKS = [
    "classification",
    "regression",
    "clustering",
    "anomaly_detection",
    "forecasting",
    "text_classification",
    "image_classification",
]

# `file:line:col: error[AIS123]: message`
DIAGNOSTIC_HEAD = re.compile(
    r"^(?P<file>\S+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning)\[(?P<code>AIS\d{3})\]: ", re.M)

runner = CliRunner()


def invoke(*args: str | Path) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr). An uncaught exception fails the test."""
    result = runner.invoke(app, [str(a) for a in args], env={"NO_COLOR": "1", "AISPEC_DEBUG": None})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"aispec {' '.join(map(str, args))} raised {result.exception!r}") from result.exception
    return result.exit_code, result.stdout, result.stderr


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a separate process, as a shell would."""
    env = {k: v for k, v in os.environ.items() if k != "AISPEC_DEBUG"}
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "aispec.compiler.cli", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=120, check=False,
    )


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def raw_of(path: Path) -> object:
    parsed = parse(SourceFile.read(path))
    assert parsed.raw is not None, parsed.diagnostics
    return parsed.raw


# A spec with an unknown target column: AIS313 with a did-you-mean hint.
BAD_TARGET = BASE_EXAMPLE.replace("target: species", "target: specie")
# A valid spec with a warning only: n_clusters does not belong to classification (AIS302).
WARNING_ONLY = BASE_EXAMPLE.replace("  target: species\n", "  target: species\n  n_clusters: 3\n")


# ---------------------------------------------------------------- check


def test_check_clean(tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.yaml", BASE_EXAMPLE)
    code, out, err = invoke("check", spec)
    assert code == 0, err
    assert f"{spec}: ok" in out
    assert "error" not in out + err


def test_check_several_files_reports_each(tmp_path: Path) -> None:
    good = write(tmp_path / "good.yaml", BASE_EXAMPLE)
    bad = write(tmp_path / "bad.yaml", BAD_TARGET)
    code, out, err = invoke("check", good, bad)
    assert code == 1
    assert f"{good}: ok" in out
    assert f"{bad}:6:" in out + err


def test_check_errors_are_compiler_style(tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.yaml", BAD_TARGET)
    code, out, err = invoke("check", spec)
    assert code == 1
    text = out + err
    heads = list(DIAGNOSTIC_HEAD.finditer(text))
    assert heads, text
    first = heads[0]
    assert first["file"] == str(spec)
    assert (first["line"], first["col"], first["sev"], first["code"]) == ("6", "11", "error", "AIS313"), text
    lines = text.splitlines()
    i = next(n for n, line in enumerate(lines) if DIAGNOSTIC_HEAD.match(line))
    # the quoted source line, then a caret under the column
    assert lines[i + 1].rstrip().endswith("target: specie"), text
    assert lines[i + 1].lstrip().startswith("6 |"), text
    caret = lines[i + 2]
    gutter = lines[i + 1].index("|") + 2
    assert caret.index("^") == gutter + 10, text  # column 11
    assert re.search(r"^  hint: .*species", text, re.M), text
    assert re.search(r"\b1 error\b", text), text


def test_check_json_format(tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.yaml", BAD_TARGET)
    code, out, _ = invoke("check", "--format", "json", spec)
    assert code == 1
    data = json.loads(out)
    assert isinstance(data, list) and data
    for item in data:
        assert {"code", "severity", "message", "line", "column", "file"} <= set(item)
    [first] = [d for d in data if d["code"] == "AIS313"]
    assert (first["line"], first["column"], first["severity"]) == (6, 11, "error")
    assert first["file"] == str(spec)


def test_check_json_format_clean_is_empty_list(tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.yaml", BASE_EXAMPLE)
    code, out, _ = invoke("check", "-f", "json", spec)
    assert code == 0
    assert json.loads(out) == []


def test_strict_turns_warnings_into_failure(tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.yaml", WARNING_ONLY)
    code, out, err = invoke("check", spec)
    assert code == 0, out + err
    assert "warning[AIS302]" in out + err
    code, out, err = invoke("check", "--strict", spec)
    assert code == 1
    assert "warning[AIS302]" in out + err


def test_strict_on_a_clean_spec_passes(tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.yaml", BASE_EXAMPLE)
    assert invoke("check", "--strict", spec)[0] == 0


def test_missing_file_is_ais100(tmp_path: Path) -> None:
    code, out, err = invoke("check", tmp_path / "nope.yaml")
    assert code == 1
    assert "error[AIS100]" in out + err


@pytest.mark.parametrize(
    "args",
    [
        [],  # no command
        ["check"],  # missing argument
        ["check", "--no-such-option", "x.yaml"],
        ["no-such-command"],
        ["check", "--format", "xml", "x.yaml"],
    ],
    ids=["no-args", "missing-arg", "unknown-option", "unknown-command", "bad-choice"],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert invoke(*args)[0] == 2


# ---------------------------------------------------------------- explain


@pytest.mark.parametrize("spelling", ["AIS313", "313", "ais313"])
def test_explain(spelling: str) -> None:
    code, out, _ = invoke("explain", spelling)
    assert code == 0
    assert out.startswith("AIS313 (error): unknown column")
    assert "Fix:" in out


def test_explain_unknown_code() -> None:
    code, out, err = invoke("explain", "AIS999")
    assert code == 2
    assert "unknown code" in out + err


# ---------------------------------------------------------------- schema


def test_schema_matches_checked_in_file(tmp_path: Path) -> None:
    code, out, _ = invoke("schema")
    assert code == 0
    assert json.loads(out) == json.loads(SCHEMA_FILE.read_text(encoding="utf-8")), (
        "schemas/aispec-spec-v1.schema.json is stale: regenerate it with `aispec schema -o`")
    target = tmp_path / "schema.json"
    assert invoke("schema", "--output", target)[0] == 0
    assert target.read_text(encoding="utf-8") == out


# ---------------------------------------------------------------- show


def test_show_resolved_yaml_checks_and_is_filled(tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.yaml", BASE_EXAMPLE)
    code, out, err = invoke("show", "--resolved", spec)
    assert code == 0, err
    resolved = write(tmp_path / "resolved.yaml", out)
    result = check_file(resolved)
    assert result.errors == (), [(d.code, d.message) for d in result.errors]
    data = raw_of(resolved)
    assert isinstance(data, dict)
    assert data["model"]["backend"]  # inferred from the family
    assert data["metrics"]["primary"]  # default for the task
    assert data["data"]["split"]["stratify"] is True  # classification stratifies by default


def test_show_without_resolved_keeps_only_what_was_written(tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.yaml", BASE_EXAMPLE)
    code, out, _ = invoke("show", "--format", "json", spec)
    assert code == 0
    data = json.loads(out)
    assert data["project"]["name"] == "penguins"
    assert data["problem"] == {"task": "classification", "target": "species"}
    assert "backend" not in data.get("model", {})


def test_show_resolved_json(tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.yaml", BASE_EXAMPLE)
    code, out, _ = invoke("show", "--resolved", "--format", "json", spec)
    assert code == 0
    data = json.loads(out)
    assert data["aispec"] == 1
    assert data["model"]["backend"] and data["metrics"]["primary"]
    assert data["data"]["split"]["stratify"] is True


def test_show_dsl_output_checks(tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.yaml", BASE_EXAMPLE)
    code, out, _ = invoke("show", "--resolved", "--format", "dsl", spec)
    assert code == 0
    result = check_file(write(tmp_path / "resolved.aispec", out))
    assert result.errors == (), [(d.code, d.message) for d in result.errors]


def test_show_refuses_a_spec_with_errors(tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.yaml", BAD_TARGET)
    code, out, err = invoke("show", spec)
    assert code == 1
    assert "error[AIS313]" in out + err


# ---------------------------------------------------------------- init


BUILDABLE = ["classification", "regression", "clustering", "anomaly_detection", "image_classification", "forecasting",
             "text_classification"]


@pytest.mark.parametrize("suffix", [".yaml", ".aispec"])
@pytest.mark.parametrize("task", BUILDABLE)
def test_init_every_buildable_task_passes_check_and_builds(tmp_path: Path, task: str, suffix: str) -> None:
    target = tmp_path / f"my-{task.replace('_', '-')}{suffix}"
    code, _, err = invoke("init", target, "--task", task)
    assert code == 0, err
    result = check_file(target)
    assert result.diagnostics == (), (task, suffix, [(d.code, d.message) for d in result.diagnostics])
    from aispec.compiler.build import build

    assert build(target, tmp_path / "project", dry_run=True).ok
    data = raw_of(target)
    assert isinstance(data, dict)
    assert data["problem"]["task"] == task
    assert data["project"]["name"] == target.stem
    # the template's comments (what each setting is for) come along; only its repository-relative
    # `$schema` line is replaced: by the installed schema in YAML, by nothing in the DSL
    from aispec.compiler.templates_init import TASK_TEMPLATES

    def notes(comments: list[str]) -> Counter[str]:
        return Counter(c for c in comments if "yaml-language-server" not in c and c.strip() != "#")

    template = (EXAMPLES / TASK_TEMPLATES[task]).read_text(encoding="utf-8")
    written = comments_of(target.read_text(encoding="utf-8"), suffix)
    assert notes(written) == notes(comments_of(template, ".yaml"))
    schema_lines = [c for c in written if "yaml-language-server" in c]
    if suffix == ".yaml":
        [line] = schema_lines
        schema = Path(line.split("$schema=", 1)[1].strip())
        assert schema.is_file(), line
        assert json.loads(schema.read_text(encoding="utf-8")) == json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    else:
        assert schema_lines == []


def test_init_name_option_is_slugified(tmp_path: Path) -> None:
    target = tmp_path / "spec.yaml"
    assert invoke("init", target, "--name", "My Churn Model!")[0] == 0
    data = raw_of(target)
    assert isinstance(data, dict)
    assert data["project"]["name"] == "my-churn-model"
    assert check_file(target).errors == ()


def test_every_task_has_a_buildable_starter() -> None:
    assert sorted(BUILDABLE) == sorted(TASKS)


def test_init_offers_no_starter_that_cannot_be_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # every task builds today: pretend the build lost forecasting, as a new task would start out
    from aispec.compiler import buildable
    from aispec.schemas.vocabulary import Task

    monkeypatch.setattr(buildable, "BUILDABLE_TASKS", buildable.BUILDABLE_TASKS - {Task.forecasting})
    target = tmp_path / "spec.yaml"
    code, _, err = invoke("init", target, "--task", "forecasting")
    assert code == 2 and not target.exists()
    assert "no starter for 'forecasting'" in err and "not build" in err and "starters: classification" in err


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    target = write(tmp_path / "spec.yaml", "# mine\n")
    code, out, err = invoke("init", target)
    assert code == 2
    assert "--force" in out + err
    assert target.read_text(encoding="utf-8") == "# mine\n"
    assert invoke("init", target, "--force")[0] == 0
    assert check_file(target).errors == ()


def test_init_unknown_task(tmp_path: Path) -> None:
    target = tmp_path / "spec.yaml"
    code, out, err = invoke("init", target, "--task", "clasification")
    assert code == 2
    assert "classification" in out + err  # did you mean
    assert not target.exists()


def test_init_into_missing_directory_is_not_an_internal_error(tmp_path: Path) -> None:
    # either create the folder or refuse with a message: never exit 3 "internal error"
    target = tmp_path / "no-such-dir" / "spec.yaml"
    proc = run_cli("init", target)
    assert proc.returncode in (0, 1, 2), (proc.returncode, proc.stderr)
    assert "internal error" not in proc.stderr
    if proc.returncode == 0:
        assert check_file(target).errors == ()


# ---------------------------------------------------------------- fmt

MESSY_YAML = """\
# Top comment
aispec:    1
project: {name: penguins,   description: "Messy but valid"}   # the project
problem:
    task: classification     # what to learn
    target: 'species'
data:
    source:
        kind: bundled
        # the dataset
        name: palmerpenguins
    drop:   [year]
# the end
"""

MESSY_DSL = """\
# Top comment
aispec=1
project {name="penguins"   # the project
}
problem {
      task = classification   # what to learn
  target = "species"
}
data { source { kind = bundled
  # the dataset
  name = palmerpenguins }
  drop = [ year ]
}
# the end
"""

MESSY_COMMENTS = ["# Top comment", "# the project", "# what to learn", "# the dataset", "# the end"]
MESSY = {".yaml": MESSY_YAML, ".aispec": MESSY_DSL}


@pytest.mark.parametrize("suffix", [".yaml", ".aispec"])
def test_fmt_rewrites_messy_spec_canonically(tmp_path: Path, suffix: str) -> None:
    messy = MESSY[suffix]
    spec = write(tmp_path / f"spec{suffix}", messy)
    assert check_file(spec).ok
    before = raw_of(spec)
    code, _, err = invoke("fmt", spec)
    assert code == 0, err
    text = spec.read_text(encoding="utf-8")
    assert text != messy
    assert raw_of(spec) == before  # the data is unchanged
    assert check_file(spec).ok
    assert comments_of(text, suffix) == MESSY_COMMENTS, text  # all kept, in order
    # two-space indentation, one statement per line
    assert "    task" not in text
    assert re.search(r"^  task ?[:=] classification", text, re.M), text
    assert not any(line != line.rstrip() for line in text.splitlines()), "trailing whitespace"
    assert text.endswith("\n") and not text.endswith("\n\n")


@pytest.mark.parametrize("suffix", [".yaml", ".aispec"])
def test_fmt_check_and_idempotence(tmp_path: Path, suffix: str) -> None:
    spec = write(tmp_path / f"spec{suffix}", MESSY[suffix])
    code, out, err = invoke("fmt", "--check", spec)
    assert code == 1
    assert "would reformat" in out + err
    assert spec.read_text(encoding="utf-8") == MESSY[suffix]  # --check changes nothing
    assert invoke("fmt", spec)[0] == 0
    once = spec.read_text(encoding="utf-8")
    assert invoke("fmt", "--check", spec)[0] == 0
    assert invoke("fmt", spec)[0] == 0
    assert spec.read_text(encoding="utf-8") == once  # idempotent


@pytest.mark.parametrize("suffix", [".yaml", ".aispec"])
def test_fmt_stdout_leaves_file_alone(tmp_path: Path, suffix: str) -> None:
    spec = write(tmp_path / f"spec{suffix}", MESSY[suffix])
    code, out, _ = invoke("fmt", "--stdout", spec)
    assert code == 0
    assert spec.read_text(encoding="utf-8") == MESSY[suffix]
    assert invoke("fmt", spec)[0] == 0
    assert out == spec.read_text(encoding="utf-8")


def _examples(suffix: str) -> list[Path]:
    return sorted(EXAMPLES.glob(f"*{suffix}"))


@pytest.mark.parametrize("path", _examples(".yaml") + _examples(".aispec"), ids=lambda p: p.name)
def test_fmt_examples_are_stable(tmp_path: Path, path: Path) -> None:
    # formatting a bundled example keeps its data and comments, and a second pass changes nothing
    spec = write(tmp_path / path.name, path.read_text(encoding="utf-8"))
    assert invoke("fmt", spec)[0] == 0
    once = spec.read_text(encoding="utf-8")
    assert raw_of(spec) == raw_of(path)
    assert Counter(comments_of(once, path.suffix)) == Counter(comments_of(path.read_text(encoding="utf-8"),
                                                                         path.suffix))
    assert invoke("fmt", "--check", spec)[0] == 0, once


@pytest.mark.parametrize(
    ("name", "text", "code"),
    [
        ("broken.yaml", "project:\n  name: demo\n   description: misaligned\n", "AIS101"),
        ("broken.yaml", "aispec: 1\nproject: [unclosed\n", "AIS101"),
        ("broken.aispec", 'aispec = 1\nproject {\n  name = "demo"\n', "AIS102"),
    ],
)
def test_fmt_refuses_syntax_errors(tmp_path: Path, name: str, text: str, code: str) -> None:
    spec = write(tmp_path / name, text)
    status, out, err = invoke("fmt", spec)
    assert status == 1
    assert f"error[{code}]" in out + err
    assert spec.read_text(encoding="utf-8") == text  # untouched
    assert invoke("fmt", "--check", spec)[0] == 1


TRICKY_YAML = {
    # ', [ ] { }' inside a flow list must stay quoted
    "flow-indicators": 'compliance:\n  limitations: ["Only EU, not US", "a]", "{x}", "${"]\n',
    # YAML 1.2 reads 1e3, 0o17 and -1e-3 as numbers (YAML 1.1 did not): quoted, they are text
    "number-like-strings": 'compliance:\n  limitations: ["1e3", "0o17", "-1e-3", "1E5"]\n  notes: "2e10"\n',
    "number-like-block": 'project:\n  name: penguins\n  description: "1e3"\n  owner: "0o17"\n',
    # an unbalanced bracket inside a flow collection reads as an expression cut at a comma (AIS107)
    "unbalanced-in-flow": 'metrics:\n  acceptance: ["accuracy >= (0.9"]\n',
    "unbalanced-in-flow-map": 'model:\n  params: {a: "f1(", b: "x]"}\n',
    "colon-and-hash": 'compliance:\n  limitations: ["a: b", "c #d", "- e"]\n',
}


@pytest.mark.parametrize("case", sorted(TRICKY_YAML))
def test_fmt_never_changes_data_or_breaks_syntax(tmp_path: Path, case: str) -> None:
    # fmt may never change the data, nor write a file that fmt itself then refuses
    text = BASE_EXAMPLE.replace("project:\n  name: penguins\n", "") if case == "number-like-block" else BASE_EXAMPLE
    spec = write(tmp_path / "spec.yaml", text + TRICKY_YAML[case])
    before = raw_of(spec)
    assert parse(SourceFile.read(spec)).diagnostics == ()
    code, _, err = invoke("fmt", spec)
    assert code == 0, err
    formatted = spec.read_text(encoding="utf-8")
    front_end = [(d.code, d.message) for d in parse(SourceFile.read(spec)).diagnostics]
    assert front_end == [], formatted
    assert raw_of(spec) == before, formatted
    assert invoke("fmt", "--check", spec)[0] == 0, formatted


VARIANTS = {
    "crlf": lambda text: text.replace("\n", "\r\n"),
    "bom": lambda text: "\ufeff" + text,
    "no-final-newline": lambda text: text.rstrip("\n"),
    "tabs": lambda text: text.replace("  ", "\t"),
}


@pytest.mark.parametrize(
    ("suffix", "variant"),
    # YAML forbids tabs for indentation: no tab variant for it
    [(sfx, v) for sfx in (".yaml", ".aispec") for v in sorted(VARIANTS) if (sfx, v) != (".yaml", "tabs")],
)
def test_fmt_keeps_data_and_comments_of_file_variants(tmp_path: Path, suffix: str, variant: str) -> None:
    # line endings and a byte-order mark (Windows editors) must not cost a comment
    text = VARIANTS[variant](MESSY[suffix])
    spec = tmp_path / f"spec{suffix}"
    spec.write_bytes(text.encode("utf-8"))
    before = raw_of(spec)
    code, _, err = invoke("fmt", spec)
    assert code == 0, err
    after = spec.read_text(encoding="utf-8")
    assert raw_of(spec) == before
    assert comments_of(after.removeprefix("\ufeff"), suffix) == MESSY_COMMENTS, after
    assert invoke("fmt", "--check", spec)[0] == 0


def test_fmt_missing_file(tmp_path: Path) -> None:
    code, out, err = invoke("fmt", tmp_path / "nope.yaml")
    assert code == 1
    assert "AIS100" in out + err


# ---------------------------------------------------------------- convert


def comments_of(text: str, suffix: str) -> list[str]:
    """The comments of a spec, found independently of the product (PyYAML's scanner / a string-aware scan)."""
    if suffix == ".aispec":
        found: list[str] = []
        in_string = escaped = False
        start = -1
        for i, ch in enumerate(text + "\n"):
            if start >= 0:
                if ch == "\n":
                    found.append(text[start:i].rstrip())
                    start = -1
            elif in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch == "#":
                start = i
        return found
    # blank out every scalar (keeping line breaks), then a '#' after a space or at a line start is a comment
    masked = list(text)
    for token in yaml.scan(text):
        if isinstance(token, yaml.ScalarToken):
            for i in range(token.start_mark.index, token.end_mark.index):
                if masked[i] != "\n":
                    masked[i] = "x"
    return [
        text[m.start():m.end()].rstrip()
        for m in re.finditer(r"(?:^|(?<=[ \t]))#[^\n]*", "".join(masked), re.M)
    ]


def test_comment_finder_ignores_hashes_in_strings() -> None:
    text = 'a: "x # y"  # real\nb: |\n  # not a comment\n# full line\n'
    assert comments_of(text, ".yaml") == ["# real", "# full line"]
    assert comments_of('a = "x # y"  # real\n# two\n', ".aispec") == ["# real", "# two"]


RICH_COMMENTED = """\
# Header comment
aispec: 1
project:
  name: penguins  # trailing on a scalar
  description: "has # inside a string"
problem:
  # leading a key
  task: classification
  target: species
data:
  source:
    kind: bundled
    name: palmerpenguins
  drop:
    # before a list item
    - year  # after a list item
metrics:
  acceptance:
    - accuracy >= 0.5
# closing comment
"""


def _yaml_sources() -> list[tuple[str, str]]:
    out = [("rich-commented.yaml", RICH_COMMENTED), ("base.yaml", BASE_EXAMPLE)]
    out += [(p.name, p.read_text(encoding="utf-8")) for p in _examples(".yaml")]
    return out


@pytest.mark.parametrize(("name", "text"), _yaml_sources(), ids=[name for name, _ in _yaml_sources()])
def test_convert_yaml_dsl_yaml_round_trip(tmp_path: Path, name: str, text: str) -> None:
    source = write(tmp_path / name, text)
    dsl = tmp_path / "converted.aispec"
    back = tmp_path / "back.yaml"
    code, _, err = invoke("convert", source, "--output", dsl)
    assert code == 0, err
    code, _, err = invoke("convert", dsl, "-o", back)
    assert code == 0, err
    assert raw_of(dsl) == raw_of(source)
    assert raw_of(back) == raw_of(source)
    dsl_text, back_text = dsl.read_text(encoding="utf-8"), back.read_text(encoding="utf-8")
    comments = Counter(comments_of(text, ".yaml"))
    assert Counter(comments_of(dsl_text, ".aispec")) == comments, "comments lost or added in YAML → DSL"
    assert Counter(comments_of(back_text, ".yaml")) == comments, "comments lost or added in DSL → YAML"
    assert check_file(dsl).errors == check_file(source).errors == ()


@pytest.mark.parametrize("path", _examples(".aispec"), ids=lambda p: p.name)
def test_convert_dsl_yaml_dsl_round_trip(tmp_path: Path, path: Path) -> None:
    source = write(tmp_path / path.name, path.read_text(encoding="utf-8"))
    as_yaml, back = tmp_path / "converted.yaml", tmp_path / "back.aispec"
    assert invoke("convert", source, "-o", as_yaml)[0] == 0
    assert invoke("convert", as_yaml, "-o", back)[0] == 0
    assert raw_of(as_yaml) == raw_of(back) == raw_of(source)
    comments = Counter(comments_of(path.read_text(encoding="utf-8"), ".aispec"))
    assert Counter(comments_of(as_yaml.read_text(encoding="utf-8"), ".yaml")) == comments
    assert Counter(comments_of(back.read_text(encoding="utf-8"), ".aispec")) == comments


def test_convert_to_stdout_defaults_to_the_other_syntax(tmp_path: Path) -> None:
    source = write(tmp_path / "spec.yaml", RICH_COMMENTED)
    code, out, _ = invoke("convert", source)
    assert code == 0
    assert "aispec = 1" in out
    assert parse(SourceFile("x.aispec", out)).raw == raw_of(source)
    code, out_yaml, _ = invoke("convert", source, "--to", "yaml")
    assert code == 0
    assert parse(SourceFile("x.yaml", out_yaml)).raw == raw_of(source)


def test_convert_refuses_to_overwrite(tmp_path: Path) -> None:
    source = write(tmp_path / "spec.yaml", BASE_EXAMPLE)
    existing = write(tmp_path / "spec.aispec", "# keep me\n")
    code, out, err = invoke("convert", source, "-o", existing)
    assert code == 2
    assert "--force" in out + err
    assert existing.read_text(encoding="utf-8") == "# keep me\n"
    assert invoke("convert", source, "-o", existing, "--force")[0] == 0
    assert raw_of(existing) == raw_of(source)


def test_convert_refuses_syntax_errors(tmp_path: Path) -> None:
    source = write(tmp_path / "spec.yaml", "aispec: 1\nproject: [unclosed\n")
    target = tmp_path / "out.aispec"
    code, out, err = invoke("convert", source, "-o", target)
    assert code == 1
    assert "error[AIS101]" in out + err
    assert not target.exists()


@pytest.mark.parametrize("value", ["1e3", "0o17", "-1e-3", "Only EU, not US", "[draft]", "a: b", "no", "~"])
def test_convert_dsl_strings_to_yaml(tmp_path: Path, value: str) -> None:
    # any DSL string must convert to YAML and read back as the same string
    text = f'aispec = 1\nproject {{\n  name = penguins\n  description = {json.dumps(value)}\n}}\n' \
           f'compliance {{\n  limitations = [{json.dumps(value)}]\n}}\n'
    source = write(tmp_path / "spec.aispec", text)
    target = tmp_path / "spec.yaml"
    code, out, err = invoke("convert", source, "-o", target)
    assert code == 0, out + err
    assert raw_of(target) == raw_of(source)


def test_convert_nan_to_dsl_is_a_diagnostic_not_a_crash(tmp_path: Path) -> None:
    # the DSL cannot write NaN or infinity: converting must say so (exit 1), not crash (exit 3)
    source = write(tmp_path / "spec.yaml", BASE_EXAMPLE + "monitoring:\n  drift:\n    threshold: .nan\n")
    target = tmp_path / "out.aispec"
    proc = run_cli("convert", source, "-o", target)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "internal error" not in proc.stderr
    assert not target.exists()


# ---------------------------------------------------------------- datasets


def test_datasets_lists_palmerpenguins() -> None:
    code, out, _ = invoke("datasets")
    assert code == 0
    assert "palmerpenguins" in out


# ---------------------------------------------------------------- real processes


def test_subprocess_check_clean_exit_0(tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.yaml", BASE_EXAMPLE)
    proc = run_cli("check", spec)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{spec}: ok"


def test_subprocess_check_errors_exit_1(tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.yaml", BAD_TARGET)
    proc = run_cli("check", spec)
    assert proc.returncode == 1
    assert DIAGNOSTIC_HEAD.search(proc.stderr), proc.stderr
    assert "error[AIS313]" in proc.stderr
    assert "\x1b[" not in proc.stderr  # no colour when not a terminal


def test_subprocess_json_on_stdout_only(tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.yaml", BAD_TARGET)
    proc = run_cli("check", "--format", "json", spec)
    assert proc.returncode == 1
    assert [d["code"] for d in json.loads(proc.stdout)] == ["AIS313"]


@pytest.mark.parametrize(
    "args",
    [[], ["no-such-command"], ["check", "--no-such-option", "x.yaml"], ["explain", "AIS999"]],
    ids=["no-args", "unknown-command", "unknown-option", "unknown-code"],
)
def test_subprocess_usage_errors_exit_2(args: list[str]) -> None:
    proc = run_cli(*args)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "internal error" not in proc.stderr


def test_subprocess_missing_file_exit_1(tmp_path: Path) -> None:
    proc = run_cli("check", tmp_path / "nope.yaml")
    assert proc.returncode == 1
    assert "AIS100" in proc.stderr


def test_console_script_is_installed(tmp_path: Path) -> None:
    import sysconfig

    exe = Path(sysconfig.get_path("scripts")) / ("aispec.exe" if os.name == "nt" else "aispec")
    assert exe.exists(), f"the `aispec` console script is not installed in {exe.parent}"
    spec = write(tmp_path / "spec.yaml", BASE_EXAMPLE)
    proc = subprocess.run([str(exe), "check", str(spec)], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
