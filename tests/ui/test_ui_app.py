"""The editor's pages under Streamlit's AppTest: starting, the form and the text kept in step, where
diagnostics appear, autosave, bad input, two tabs, and the build page's zip."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aispec.compiler.api import check_file, check_text
from aispec.compiler.explain import explain_text
from aispec.compiler.templates_init import starter_tasks

from .conftest import errors_in, messages, type_text, views, widget
from .data import write_loans

NewApp = Callable[[], AppTest]


def _starter(at: AppTest, task: str = "classification", name: str = "penguins") -> AppTest:
    at.selectbox(key="starter_task").set_value(task)
    at.text_input(key="starter_name").set_value(name)
    return at.button(key="starter_create").click().run()


def _open_from_data(at: AppTest, path: Path) -> AppTest:
    at.file_uploader(key="data_upload").set_value((path.name, path.read_bytes(), "text/csv"))
    return at.run()


# ------------------------------------------------------------------------------------------ Start


def test_the_starters_offered_are_the_buildable_ones_and_open_in_the_editor(new_app: NewApp, workspace: Path) -> None:
    at = new_app()
    assert not at.exception
    assert list(at.selectbox(key="starter_task").options) == starter_tasks()
    at = _starter(at)
    assert at.session_state["page"] == "Edit"
    spec = workspace / "penguins.yaml"
    assert spec.exists() and check_file(spec).ok
    assert at.session_state["doc"].text == spec.read_text(encoding="utf-8")


def test_a_data_file_becomes_a_proposed_spec_with_its_personal_data(new_app: NewApp, workspace: Path,
                                                                    tmp_path: Path) -> None:
    at = _open_from_data(new_app(), write_loans(tmp_path / "loans.csv"))
    assert not at.exception and not at.error
    assert at.selectbox(key="proposal_target").value == "approved"
    assert at.selectbox(key="proposal_task").value == "classification"
    # by name (applicant_email) and by values only (contact holds phone numbers)
    assert at.multiselect(key="proposal_pii").value == ["applicant_email", "contact"]
    at = at.button(key="proposal_create").click().run()
    text = (workspace / "loans.yaml").read_text(encoding="utf-8")
    result = check_text(text, str(workspace / "loans.yaml"))
    assert result.ok, result.diagnostics
    assert result.spec is not None
    columns = result.spec.data.columns or {}
    assert columns["region"].allowed == ["east", "north", "south", "west"]
    assert columns["income"].range is not None and columns["has_guarantor"].type.value == "boolean"
    assert result.spec.compliance.pii == ["applicant_email", "contact"]
    assert "mail.example.org" not in text and "7946" not in text  # personal values stay out of the spec
    assert (workspace / "data" / "loans.csv").read_bytes() == (tmp_path / "loans.csv").read_bytes()


def test_an_upload_over_the_limit_is_refused_with_a_clear_message(new_app: NewApp, workspace: Path) -> None:
    at = new_app()
    # 300 MB of zero bytes: calloc'd pages that nothing touches, so the test needs no 300 MB of memory; the
    # size is what is checked, before anything reads the content
    big = bytes(300 * 1024 * 1024)
    at.file_uploader(key="data_upload").set_value(("huge.csv", big, "text/csv"))
    at.run()
    assert any("300 MB" in m and "up to 200 MB" in m for m in messages(at)), messages(at)
    assert not (workspace / "data").exists()  # nothing stored


def test_a_file_too_large_to_upload_is_picked_from_the_data_folder(new_app: NewApp, workspace: Path,
                                                                   tmp_path: Path) -> None:
    (workspace / "data").mkdir()
    write_loans(workspace / "data" / "big_loans.csv")  # copied there by hand, as the upload's message says
    (workspace / "data" / "notes.txt").write_text("not data")
    at = new_app()
    assert list(at.selectbox(key="data_pick").options) == ["big_loans.csv"]
    at.selectbox(key="data_pick").set_value("big_loans.csv").run()
    assert not at.exception and not at.error
    assert at.selectbox(key="proposal_target").value == "approved"
    at.button(key="proposal_create").click().run()
    text = (workspace / "big_loans.yaml").read_text(encoding="utf-8")
    assert "path: data/big_loans.csv" in text and check_text(text, str(workspace / "big_loans.yaml")).ok
    assert sorted(p.name for p in (workspace / "data").iterdir()) == ["big_loans.csv", "notes.txt"]  # no copy


def test_a_hostile_spec_from_the_browser_meets_the_same_defences(new_app: NewApp, workspace: Path) -> None:
    # the classic billion laughs: refused by the YAML front end, as `aispec check` refuses it
    bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10))
    at = new_app()
    at.file_uploader(key="spec_upload").set_value(("../../bomb.yaml", bomb.encode(), "application/yaml"))
    at.run()
    at.button(key="open_uploaded").click().run()
    assert not at.exception
    assert (workspace / "bomb.yaml").read_text(encoding="utf-8") == bomb  # kept as given, inside the workspace
    expected = check_file(workspace / "bomb.yaml").errors[0]
    assert "alias" in expected.message
    assert any(expected.message in m and expected.code in m for m in messages(at)), messages(at)


def test_a_path_traversal_name_stays_inside_the_workspace(new_app: NewApp, workspace: Path, tmp_path: Path) -> None:
    data = write_loans(tmp_path / "x.csv").read_bytes()
    at = new_app()
    at.file_uploader(key="data_upload").set_value(("../../outside/../../etc/loans.csv", data, "text/csv"))
    at.run()
    assert not at.exception
    stored = list((workspace / "data").iterdir())
    assert [p.name for p in stored] == ["loans.csv"]
    assert not (workspace.parent / "outside").exists() and not (tmp_path / "etc").exists()


def test_a_one_column_csv_says_why_it_cannot_become_a_spec(new_app: NewApp, tmp_path: Path) -> None:
    path = tmp_path / "single.csv"
    path.write_text("only\n" + "\n".join(str(i) for i in range(50)) + "\n", encoding="utf-8")
    at = _open_from_data(new_app(), path)
    assert any("single column" in m for m in messages(at)), messages(at)
    assert "proposal_create" not in [b.key for b in at.button]  # nothing to create a spec from


def test_a_semicolon_csv_is_read_with_its_delimiter(new_app: NewApp, tmp_path: Path, workspace: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text("size;colour;label\n" + "".join(f"{i};{'red' if i % 2 else 'blue'};{'a' if i % 3 else 'b'}\n"
                                                     for i in range(40)), encoding="utf-8")
    at = _open_from_data(new_app(), path)
    at = at.button(key="proposal_create").click().run()
    text = (workspace / "semi.yaml").read_text(encoding="utf-8")
    assert "delimiter: ;" in text or "delimiter: ';'" in text
    assert check_text(text, str(workspace / "semi.yaml")).ok


# ------------------------------------------------------------------------------------------ Edit


def test_a_form_change_shows_in_the_text_with_its_comments(new_app: NewApp, workspace: Path) -> None:
    at = _starter(new_app()).run()
    before = at.session_state["doc"].text
    comments = [line.strip() for line in before.splitlines() if line.strip().startswith("#")]
    widget(at.selectbox, ("problem", "target")).set_value("island").run()
    after = at.session_state["doc"].text
    assert "target: island" in after and "target: species" not in after
    assert [line.strip() for line in after.splitlines() if line.strip().startswith("#")] == comments
    assert (workspace / "penguins.yaml").read_text(encoding="utf-8") == after  # autosaved


def test_a_text_change_shows_in_the_form(new_app: NewApp) -> None:
    at = _starter(new_app()).run()
    text = at.session_state["doc"].text.replace("family: random_forest", "family: extra_trees")
    at = type_text(at, text)
    at.pills(key="form_section").set_value("model").run()
    assert widget(at.selectbox, ("model", "family")).value == "extra_trees"


def _form_locs(at: AppTest) -> set[str]:
    return {str(w.key).split(":", 2)[2] for w in at.main if str(getattr(w, "key", "") or "").startswith("form:")}


def test_the_form_shows_the_fields_of_the_specs_task_and_any_field_it_sets(new_app: NewApp) -> None:
    """problem.horizon is forecasting's: a classification spec's form leaves it out (and n_clusters,
    contamination, ...), a forecasting spec's shows it, and a classification spec that sets it shows it with
    check's AIS302 beside it."""
    at = _starter(new_app()).run()
    shown = _form_locs(at)
    assert '["problem", "target"]' in shown and '["problem", "positive_class"]' in shown
    assert not {'["problem", "horizon"]', '["problem", "n_clusters"]', '["problem", "contamination"]'} & shown
    text = at.session_state["doc"].text.replace("target: species", "target: species\n  horizon: 3")
    at = type_text(at, text)
    assert '["problem", "horizon"]' in _form_locs(at) and '["problem", "frequency"]' not in _form_locs(at)
    form, _ = views(at)
    assert any("AIS302" in m for m in (*errors_in(form), *(e.value for e in at.warning))), messages(at)
    forecast = _starter(new_app(), "forecasting", "sales").run()
    assert {'["problem", "horizon"]', '["problem", "frequency"]'} <= _form_locs(forecast)
    assert '["problem", "positive_class"]' not in _form_locs(forecast)


def test_an_expression_typed_in_the_form_is_checked_at_once(new_app: NewApp) -> None:
    at = _starter(new_app()).run()
    at.pills(key="form_section").set_value("metrics").run()
    widget(at.text_area, ("metrics", "acceptance")).set_value("accuracy >= 90\nf1_macro >= 0.9").run()
    assert "accuracy >= 90" in at.session_state["doc"].text
    form, _ = views(at)
    assert any("AIS364" in m and "can never hold" in m for m in errors_in(form)), errors_in(form)


def test_a_diagnostic_appears_beside_its_field_and_at_its_line(new_app: NewApp) -> None:
    at = _starter(new_app()).run()
    text = at.session_state["doc"].text.replace("target: species", "target: specie")
    at = type_text(at, text)
    line = text.splitlines().index("  target: specie") + 1
    expected = check_text(text, "x.yaml").errors[0]
    assert expected.code == "AIS313"
    form, text_view = views(at)
    # in the form: the first message after the target's select box, in the same block
    i = next(n for n, el in enumerate(form) if str(getattr(el, "key", "")).endswith('["problem", "target"]'))
    beside = errors_in(form[i + 1:])[0]
    assert "AIS313" in beside and "did you mean 'species'?" in beside
    # in the text view: with its line and column, as `aispec check` prints them
    assert expected.span is not None
    assert any(f"error[AIS313] line {line}, column {expected.span.column}" in m for m in errors_in(text_view))
    # and `aispec explain AIS313` one click away (in a popover beside the message)
    explained = [e.value for e in text_view if getattr(e, "type", "") == "code"]
    assert explain_text("AIS313") in explained


def test_broken_yaml_keeps_the_text_and_points_at_the_line(new_app: NewApp, workspace: Path) -> None:
    at = _starter(new_app()).run()
    good = at.session_state["doc"].text
    broken = good.replace("problem:\n", "problem: [\n", 1)
    at = type_text(at, broken)
    assert not at.exception
    assert any("The form needs text that reads as a spec" in m for m in messages(at))
    syntax = check_text(broken, "x.yaml").errors[0]
    assert syntax.code.startswith("AIS1")
    assert any(f"line {syntax.span.line}" in m and syntax.code in m for m in messages(at))  # type: ignore[union-attr]
    # autosaved as typed (work is never lost), and the last good version kept beside it
    assert (workspace / "penguins.yaml").read_text(encoding="utf-8") == broken
    assert (workspace / ".aispec-ui" / "last-good" / "penguins.yaml").read_text(encoding="utf-8") == good
    at.button(key="restore_good").click().run()
    assert at.session_state["doc"].text == good
    assert (workspace / "penguins.yaml").read_text(encoding="utf-8") == good


def test_a_file_changed_outside_the_tab_is_not_overwritten(new_app: NewApp, workspace: Path) -> None:
    at = _starter(new_app()).run()
    spec = workspace / "penguins.yaml"
    outside = spec.read_text(encoding="utf-8") + "# added by another editor\n"
    spec.write_text(outside, encoding="utf-8")
    at = type_text(at, at.session_state["doc"].text.replace("seed: 42", "seed: 7"))
    assert spec.read_text(encoding="utf-8") == outside
    assert any("changed outside this tab" in m for m in messages(at))


def test_a_second_tab_on_the_same_spec_is_told_and_saves_nothing(new_app: NewApp, workspace: Path) -> None:
    first = _starter(new_app()).run()
    second = new_app()
    second.selectbox(key="open_choice").set_value("penguins.yaml")
    second = second.button(key="open_button").click().run()
    assert any("open in another browser tab" in m for m in messages(second)), messages(second)
    spec = workspace / "penguins.yaml"
    saved = spec.read_text(encoding="utf-8")
    second = type_text(second, saved.replace("seed: 42", "seed: 1"))
    assert spec.read_text(encoding="utf-8") == saved  # the second tab wrote nothing
    # the first tab still saves; once the second takes over, the first is told in turn
    first = type_text(first, saved.replace("seed: 42", "seed: 2"))
    assert "seed: 2" in spec.read_text(encoding="utf-8")
    second.button(key="take_over").click().run()
    first = type_text(first, first.session_state["doc"].text.replace("seed: 2", "seed: 3"))
    assert "seed: 3" not in spec.read_text(encoding="utf-8")
    assert any("open in another browser tab" in m for m in messages(first))


# ------------------------------------------------------------------------------------------ Build


def test_build_shows_the_project_and_its_zip_holds_it(new_app: NewApp, workspace: Path,
                                                     downloads: dict[str, bytes]) -> None:
    at = _starter(new_app(), name="zipped").run()
    at.button(key="edit_build").click().run()
    at.run()  # the build runs on the Build page
    assert at.session_state["page"] == "Build"
    assert any("Built:" in s.value for s in at.success), [s.value for s in at.success]
    project = workspace / "zipped"
    assert (project / ".aispec" / "manifest.json").exists()
    assert at.selectbox(key="build_file").value == "zipped/model.py"  # the generated code, highlighted
    assert at.code[-1].value == (project / "zipped" / "model.py").read_text(encoding="utf-8").rstrip("\n")
    assert at.code[-1].language == "python"
    data = downloads["zipped.zip"]
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    on_disk = sorted(p.relative_to(workspace).as_posix() for p in project.rglob("*") if p.is_file())
    assert sorted(names) == on_disk
    # building again changes nothing, and says so
    at.button(key="build_button").click().run()
    assert any("nothing changed" in s.value for s in at.success)


def test_a_failed_build_leaves_the_last_good_project(new_app: NewApp, workspace: Path) -> None:
    at = _starter(new_app(), name="kept").run()
    at.button(key="edit_build").click().run()
    at.run()
    project = workspace / "kept"
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    at.sidebar.radio(key="page").set_value("Edit").run()
    at = type_text(at, at.session_state["doc"].text.replace("family: random_forest", "family: random_frost"))
    at.sidebar.radio(key="page").set_value("Build").run()
    assert any("fix them on the Edit page first" in m for m in messages(at))
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("page", ["Edit", "Build", "Run", "Try"])
def test_every_page_without_a_spec_says_what_to_do(new_app: NewApp, page: str) -> None:
    at = new_app()
    at.sidebar.radio(key="page").set_value(page).run()
    assert not at.exception
    assert any("Start page" in i.value or "Open a spec" in i.value for i in at.info), [i.value for i in at.info]
