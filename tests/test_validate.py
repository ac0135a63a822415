"""Schema validation and semantic passes: whole diagnostic lists compared exactly."""

from __future__ import annotations

from aispec.compiler.api import check_text
from aispec.compiler.codes import BASE_EXAMPLE
from aispec.compiler.migrations import migrate
from aispec.compiler.source import LocationMap
from aispec.schemas.vocabulary import Backend


def diags(text: str) -> list[tuple[str, int | None, int | None, str]]:
    result = check_text(text)
    return [(d.code, d.span.line if d.span else None, d.span.column if d.span else None, d.message)
            for d in result.diagnostics]


def test_base_example_is_clean() -> None:
    assert diags(BASE_EXAMPLE) == []


def test_all_schema_errors_are_reported_at_once() -> None:
    text = """\
aispec: 1
project:
  name: Penguin Model
  colour: blue
problem:
  task: clasification
data:
  source: {kind: bundled, name: palmerpenguins}
  min_rows: many
  split: {train: 1.5}
"""
    assert diags(text) == [
        ("AIS205", 3, 9, "'project.name' has an invalid format: 'Penguin Model'"),
        ("AIS202", 4, 3, "unknown field 'colour' in project"),
        ("AIS203", 6, 9, "invalid value 'clasification' for 'problem.task'"),
        ("AIS204", 9, 13, "'data.min_rows' must be a whole number, got 'many'"),
        ("AIS205", 10, 18, "'data.split.train' must be less than 1, got the number 1.5"),
    ]


def test_hints_suggest_the_closest_word() -> None:
    result = check_text(BASE_EXAMPLE.replace("task: classification", "task: clasification"))
    [d] = result.diagnostics
    assert d.hint == "did you mean 'classification'?"
    result = check_text(BASE_EXAMPLE + "metrics:\n  primery: accuracy\n")
    [d] = result.diagnostics
    assert (d.code, d.hint) == ("AIS202", "did you mean 'primary'?")


def test_missing_field_points_at_its_parent() -> None:
    text = "aispec: 1\nproject:\n  name: x\nproblem:\n  target: y\ndata:\n  source: {kind: csv}\n"
    assert diags(text) == [
        ("AIS201", 4, 1, "missing required field 'task' in problem"),
        ("AIS201", 7, 3, "missing required field 'path' in data.source"),
    ]


def test_union_of_bool_and_mapping_reports_one_error() -> None:
    text = BASE_EXAMPLE + "training:\n  early_stopping: sometimes\n"
    assert diags(text) == [
        ("AIS204", 12, 19, "'training.early_stopping' must be a mapping or true or false, got 'sometimes'")]
    text = BASE_EXAMPLE + "training:\n  early_stopping: {patiance: 3}\n"
    assert [d[:3] for d in diags(text)] == [("AIS202", 12, 20)]


def test_expression_errors_point_inside_the_string() -> None:
    text = BASE_EXAMPLE + "metrics:\n  acceptance:\n    - accuracy => 0.9\n"
    assert diags(text) == [
        ("AIS104", 13, 16, "unexpected character '=' in acceptance criterion 'accuracy => 0.9'")]
    text = BASE_EXAMPLE + "metrics:\n  acceptance: ['accuracy => 0.9']\n"
    assert diags(text)[0][:3] == ("AIS104", 12, 26)


def test_semantic_checks_report_everything_with_both_positions() -> None:
    text = BASE_EXAMPLE.replace("target: species", "target: specie") + """\
  split: {train: 0.7, test: 0.2}
model:
  family: kmeans
metrics:
  primary: r2
  acceptance: [accuracy >= 90]
hardware:
  accelerator: gpu
"""
    assert diags(text) == [
        ("AIS313", 6, 11, "target 'specie' is not a column of dataset 'palmerpenguins'"),
        ("AIS330", 11, 3, "split ratios add up to 0.9, not 1 (train 0.7 + validation 0 + test 0.2)"),
        ("AIS341", 13, 11, "family 'kmeans' does not fit task 'classification'"),
        ("AIS361", 15, 12, "metric 'r2' does not apply to task 'classification'"),
        ("AIS364", 16, 16, "'accuracy >= 90' can never hold: accuracy is at most 1"),
        ("AIS370", 18, 16, "a GPU is requested, but scikit-learn models train on the CPU only"),
    ]


def test_errors_stop_before_resolution_but_warnings_do_not() -> None:
    result = check_text(BASE_EXAMPLE + "hardware:\n  accelerator: gpu\n")
    assert result.ok and [d.code for d in result.warnings] == ["AIS370"]
    assert result.resolved is not None
    result = check_text(BASE_EXAMPLE + "model:\n  family: nope\n")
    assert not result.ok and result.resolved is None


def test_resolution_makes_defaults_explicit() -> None:
    result = check_text(BASE_EXAMPLE + "model:\n  family: random_forest\n")
    spec = result.resolved
    assert spec is not None
    assert spec.model.backend is Backend.sklearn
    assert spec.metrics.primary == "f1_macro"
    assert spec.metrics.report is not None and "f1_macro" in spec.metrics.report
    assert spec.data.split.stratify is True and spec.data.split.time_ordered is False
    assert spec.data.features == ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g",
                                  "sex", "year"]
    # the validated (unresolved) spec is untouched
    assert result.spec is not None and result.spec.model.backend is None


def test_resolution_of_a_deep_model_fills_training_defaults() -> None:
    text = """\
aispec: 1
project: {name: digits}
problem: {task: image_classification, target: digit}
data:
  source: {kind: bundled, name: digits_images}
  split: {train: 0.7, validation: 0.1, test: 0.2}
model: {family: cnn}
training: {epochs: 5}
"""
    result = check_text(text)
    assert result.ok, result.diagnostics
    spec = result.resolved
    assert spec is not None and spec.model.backend is Backend.torch
    assert (spec.training.epochs, spec.training.optimizer, spec.training.batch_size) == (5, "adam", 32)


def test_newer_format_version_is_refused_with_a_hint() -> None:
    result = check_text(BASE_EXAMPLE.replace("aispec: 1", "aispec: 3"))
    [d] = result.diagnostics
    assert d.code == "AIS207" and "version 3" in d.message and d.hint and "upgrade" in d.hint


def test_migration_registry_upgrades_step_by_step() -> None:
    def v0_to_v1(raw: dict[str, object]) -> dict[str, object]:
        out = {k: v for k, v in raw.items() if k != "name"}
        out["aispec"] = 1
        out["project"] = {"name": raw["name"]}
        return out

    raw, warnings = migrate({"aispec": 0, "name": "old"}, LocationMap(), "s.yaml", table={0: v0_to_v1})
    assert raw == {"aispec": 1, "project": {"name": "old"}}
    assert [w.code for w in warnings] == ["AIS208"]
    # the current version is left alone
    same, none = migrate({"aispec": 1}, LocationMap(), "s.yaml", table={0: v0_to_v1})
    assert same == {"aispec": 1} and none == ()


def test_secret_in_connection_url() -> None:
    base = BASE_EXAMPLE.replace("kind: bundled\n    name: palmerpenguins", "kind: sql\n    url: {url}\n    table: t")
    assert [d[0] for d in diags(base.replace("{url}", "postgresql://ml:hunter2@db/app"))] == ["AIS323"]
    assert [d[0] for d in diags(base.replace("{url}", "'postgresql://db/app?password=x'"))] == ["AIS323"]
    assert [d[0] for d in diags(base.replace("{url}", "postgresql://ml:${DB_PASSWORD}@db/app"))] == []
    assert [d[0] for d in diags(base.replace("{url}", "${DATABASE_URL}"))] == []
    assert [d[0] for d in diags(base.replace("{url}", "postgresql://db/app"))] == ["AIS324"]


def test_an_empty_optional_section_means_its_defaults() -> None:
    result = check_text(BASE_EXAMPLE + "monitoring:\n  # drift: {method: psi}\n")
    assert result.ok and result.diagnostics == ()
    assert result.spec is not None and result.spec.monitoring.drift is None


def test_quoted_values_are_not_coerced() -> None:
    text = BASE_EXAMPLE + "  split: {stratify: 'yes', seed: '7'}\n"
    assert [(d[0], d[3]) for d in diags(text)] == [
        ("AIS204", "'data.split.stratify' must be true or false, got 'yes'"),
        ("AIS204", "'data.split.seed' must be a whole number, got '7'"),
    ]


def test_version_must_be_the_number_one_not_true() -> None:
    result = check_text(BASE_EXAMPLE.replace("aispec: 1", "aispec: true"))
    assert [d.code for d in result.diagnostics] == ["AIS207"]
