"""What a first-time user meets: the DSL accepting what the README shows, YAML indentation mistakes
in plain words on the right line, spelling hints that catch swapped letters, and a command line
that says what it is (``--help``, ``--version``, ``explain``)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from aispec.compiler.api import check_text, parse
from aispec.compiler.cli import app
from aispec.compiler.codes import CODES
from aispec.compiler.diagnostics import MAX_CHOICES, choices_hint, closest, did_you_mean, edit_distance
from aispec.compiler.source import SourceFile
from aispec.compiler.version import VERSION
from aispec.schemas.vocabulary import FAMILIES, METRICS

runner = CliRunner()

DSL_SPEC = """\
aispec = 1
project { name = cancer }
problem { task = classification, target = diagnosis, positive_class = malignant }
data { source { kind = bundled, name = breast_cancer } }
metrics {
  primary = recall
  acceptance = [recall >= 40%, accuracy >= 0.9]
}
"""


# ---------------------------------------------------------------- DSL


def test_a_percent_criterion_parses_in_the_dsl_as_in_yaml() -> None:
    dsl = check_text(DSL_SPEC, "x.aispec")
    assert dsl.ok, [(d.code, d.message) for d in dsl.diagnostics]
    yaml_text = (  # the same spec in YAML, with the same criterion text
        "aispec: 1\nproject: {name: cancer}\n"
        "problem: {task: classification, target: diagnosis, positive_class: malignant}\n"
        "data: {source: {kind: bundled, name: breast_cancer}}\n"
        "metrics:\n  primary: recall\n  acceptance: [recall >= 40%, accuracy >= 0.9]\n"
    )
    from_yaml = check_text(yaml_text, "x.yaml")
    assert from_yaml.ok
    assert dsl.spec == from_yaml.spec
    assert dsl.raw is not None and dsl.raw["metrics"]["acceptance"][0] == "recall >= 40%"


def test_a_percent_is_one_token_even_as_a_bare_value() -> None:
    raw = parse(SourceFile("x.aispec", "a = 40%\nb = [1%, 2.5%]\n")).raw
    assert raw == {"a": "40%", "b": ["1%", "2.5%"]}


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("  version = 0.1.0", '\'0.1.0\' is text, not a number: quote it, version = "0.1.0"'),
        ("  tags = [1.2.3]", '\'1.2.3\' is text, not a number: quote it, "1.2.3"'),
    ],
)
def test_a_dotted_version_is_told_to_be_quoted(line: str, hint: str) -> None:
    text = f"aispec = 1\nproject {{\n  name = x\n{line}\n}}\n"
    result = parse(SourceFile("x.aispec", text))
    [d] = result.diagnostics  # one error: the brackets on the line still close, nothing cascades
    assert (d.code, d.span and d.span.line, d.hint) == ("AIS102", 4, hint)


def test_a_bad_character_inside_a_list_does_not_cascade() -> None:
    result = parse(SourceFile("x.aispec", "a {\n  b = [x, $y, z]\n  c = 1\n}\n"))
    assert [(d.code, d.span and d.span.line) for d in result.diagnostics] == [("AIS102", 2)]


# ---------------------------------------------------------------- YAML indentation, in plain words


@pytest.mark.parametrize(
    ("text", "line", "message", "hint"),
    [
        (  # a key between two indentation levels
            "aispec: 1\nproject:\n  name: p\n  description: d\n owner: me\n", 5,
            "the key 'owner' is indented 1 space, which lines up with no key above it",
            "indent it 2 spaces to line it up with 'description' (line 4) or 0 spaces to line it up with "
            "'project' (line 2)",
        ),
        (  # PyYAML notices on the next line ('owner: me'); the mistake is the missing ':'
            "aispec: 1\nproject:\n  name p\n  owner: me\n", 3,
            "'name p' has no ':', so YAML cannot read it as 'key: value'",
            "write 'name: p'; if the line continues the text of the line above, indent it further than that "
            "line's key",
        ),
        (  # PyYAML points past the end of the file
            "aispec: 1\nproject:\n  description:\n    some text\n  here\n", 5,
            "'here' has no ':', so YAML cannot read it as 'key: value'", None,
        ),
        (
            "aispec: 1\nproject:\n  name: p\n   description: d\n", 4,
            "'description' is indented more than 'name' (line 3), so YAML reads it as more text of that value",
            "line 'description' up with 'name' (2 spaces); if ': ' belongs to the text, quote the text",
        ),
        (
            "metrics:\n  reported:\n    - accuracy\n   - f1\n", 4,
            "the list item '- f1' is indented 3 spaces, which lines up with no list above it", None,
        ),
        (
            "metrics:\n  primary: accuracy\n  - f1\n", 3,
            "a list item ('- f1') cannot stand among the keys of a mapping", None,
        ),
        (
            "metrics:\n  reported:\n    - accuracy\n    primary: f1\n", 4,
            "the key 'primary' cannot follow the items of a list at the same indentation", None,
        ),
    ],
    ids=["between-levels", "missing-colon", "lone-word", "over-indented", "list-item", "item-among-keys",
         "key-after-list"],
)
def test_yaml_indentation_errors_in_plain_words(text: str, line: int, message: str, hint: str | None) -> None:
    [d] = parse(SourceFile("x.yaml", text)).diagnostics
    assert d.code == "AIS101"
    assert d.span is not None and d.span.line == line, (d.span, d.message)
    assert d.message == message
    assert "<block" not in d.message and "expected" not in d.message  # none of PyYAML's parser words
    if hint is not None:
        assert d.hint == hint


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ('a: "C:\\q"\n', 1, 8, "invalid escape in double-quoted text"),
        ("a: 1\n...\nb: 2\n", 3, 1, "more content after the end of the YAML document"),
        ("a: [1,, 2]\n", 1, 7, "expected a value in the brackets, found ','"),
        ("a: {b: c: d}\n", 1, 9, "expected ',' or '}' in this mapping, found ':'"),
        ("a: [1, 2}\n", 1, 9, "expected ',' or ']' in this list, found '}'"),
        ('a: "x" y\n', 1, 8, "text after the closing quote of a value"),
        ("a: @x\n", 1, 4, "a value cannot start with '@' in YAML"),
        ("a: *.x\n", 1, 4, "a value cannot start with '*' in YAML (it marks an alias)"),
        ("a: |x\n", 1, 5, "after '|' or '>' the text starts on the next line"),
        ("a: 1\r\nb: \x1b\n", 2, 4, "the control character U+001B is not allowed in a YAML file"),
        ("a: }\n", 1, 4, "expected a value, found '}'"),
    ],
    ids=["escape", "after-document-end", "double-comma", "colon-in-flow", "wrong-closer", "after-quote",
         "reserved-indicator", "alias-indicator", "block-scalar-header", "control-character", "stray-closer"],
)
def test_other_yaml_syntax_errors_in_plain_words(text: str, line: int, column: int, message: str) -> None:
    [d] = parse(SourceFile("x.yaml", text)).diagnostics
    assert (d.code, d.span and d.span.line, d.span and d.span.column, d.message) == ("AIS101", line, column, message)
    assert d.hint


# ---------------------------------------------------------------- did you mean


@pytest.mark.parametrize(
    ("typo", "choices", "meant"),
    [
        ("mea", METRICS, "mae"),  # a swap: difflib's ratio ties it with 'mse'
        ("acuracy", METRICS, "accuracy"),  # a dropped letter
        ("accuarcy", METRICS, "accuracy"),  # a swap inside
        ("f1macro", METRICS, "f1_macro"),
        ("rmes", METRICS, "rmse"),
        ("ACCURACY", METRICS, "accuracy"),  # case only
        ("random_forrest", FAMILIES, "random_forest"),  # a doubled letter
        ("radnom_forest", FAMILIES, "random_forest"),
        ("lgositic_regression", FAMILIES, "logistic_regression"),
        ("kmaens", FAMILIES, "kmeans"),
        ("svn", FAMILIES, "svm"),
        ("lstn", FAMILIES, "lstm"),
        ("bill_length", ["bill_length_mm", "bill_depth_mm"], "bill_length_mm"),  # a prefix, by similarity
        ("scikit-learn", ["sklearn", "torch", "keras"], "sklearn"),
        ("xyz", METRICS, None),  # nothing close
        ("zeta", METRICS, None),
    ],
)
def test_did_you_mean_table(typo: str, choices: object, meant: str | None) -> None:
    assert closest(typo, choices) == meant  # type: ignore[arg-type]
    assert did_you_mean(typo, choices) == (f"did you mean '{meant}'?" if meant else None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("mea", "mae", 1), ("mea", "mse", 2), ("abc", "abc", 0), ("", "abc", 3), ("ca", "abc", 3), ("ab", "ba", 1),
     ("kitten", "sitting", 3)],
)
def test_edit_distance_counts_a_swap_as_one(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance == edit_distance(b, a)


def test_a_choices_hint_lists_every_family() -> None:
    hint = choices_hint("zzz", FAMILIES)
    assert hint == "expected one of: " + ", ".join(sorted(FAMILIES))
    assert "..." not in hint


def test_a_longer_list_says_how_many_more_and_where() -> None:
    words = [f"w{i:02d}" for i in range(MAX_CHOICES + 10)]
    hint = choices_hint("zzz", words, where="`aispec explain AIS203` lists them")
    assert hint.endswith(f"w{MAX_CHOICES - 1:02d} and 10 more (`aispec explain AIS203` lists them)")


# ---------------------------------------------------------------- the command line


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert (result.exit_code, result.output) == (0, f"aispec {VERSION}\n")


def test_help_says_what_the_tool_does() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for command in ("`init`", "`check`", "`build`", "`plan`", "`run`", "`serve`", "`image build`", "`fmt`"):
        assert command in text, command
    assert "check, format and convert" not in text


@pytest.mark.parametrize("code", ["AIS340", "AIS341"])
def test_explain_lists_every_family(code: str) -> None:
    result = runner.invoke(app, ["explain", code])
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.split("Model families", 1)[1].splitlines()[1:] if line]
    assert listed == sorted(FAMILIES)


def test_explain_lists_every_metric() -> None:
    result = runner.invoke(app, ["explain", "AIS360"])
    listed = [line.split()[0] for line in result.output.split("Metrics (", 1)[1].splitlines()[1:] if line]
    assert listed == sorted(METRICS)


@pytest.mark.parametrize(
    ("code", "suggestion"),
    [("AIS999", None), ("AIS777", None), ("AIS3400", "AIS340"), ("AIS430", "AIS340 or AIS403"),
     ("AIS1001", "AIS100 or AIS101"), ("AIS3", None), ("hello", None)],
)
def test_explain_an_unknown_code(code: str, suggestion: str | None) -> None:
    result = runner.invoke(app, ["explain", code])
    assert result.exit_code == 2
    assert "aispec has no diagnostic" in result.output
    assert "AIS3xx  semantic" in result.output  # the ranges, so the user knows where codes live
    suggested = [line for line in result.output.splitlines() if line.startswith("did you mean")]
    assert suggested == ([f"did you mean {suggestion}?"] if suggestion else [])


def test_explain_suggests_a_swapped_code_but_not_a_neighbour() -> None:
    # AIS520 does not exist; AIS502 is the same digits with two swapped (AIS521 would be a neighbour: no)
    assert "AIS520" not in CODES and "AIS502" in CODES
    result = runner.invoke(app, ["explain", "AIS520"])
    assert "did you mean AIS502?" in result.output


def test_explain_without_a_code_lists_every_code() -> None:
    result = runner.invoke(app, ["explain"])
    assert result.exit_code == 0
    for code, info in CODES.items():
        assert f"{code}  {info.severity.value:<7}  {info.title}" in result.output
