"""`aispec build`: golden trees, determinism, path safety, atomic writes and edit preservation."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from aispec.compiler import render as render_module
from aispec.compiler import writer
from aispec.compiler.build import build
from aispec.compiler.codes import BASE_EXAMPLE
from aispec.compiler.version import VERSION

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "specs" / "examples"
GOLDEN = Path(__file__).parent / "golden" / "projects"
BUILDABLE = ["penguins-classification", "breast-cancer-classification", "wine-auto", "diabetes-regression",
             "iris-clustering", "breast-cancer-anomaly", "penguins-mlp-torch", "diabetes-mlp-keras",
             "digits-image-sklearn", "sms-spam-text", "co2-forecasting",
             "breast-cancer-xgboost", "penguins-lightgbm", "co2-lstm", "co2-gru-keras",
             "digits-image", "digits-cnn-keras",
             "penguins-mlp-ray", "sms-spam-transfer", "sms-spam-transformer"]
UPDATE = bool(os.environ.get("AISPEC_UPDATE_GOLDEN"))


def _tree(folder: Path, *, bases: bool = True) -> dict[str, bytes]:
    files = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
             if p.is_file() and not {".ruff_cache", "__pycache__"} & set(p.parts)}
    return files if bases else {k: v for k, v in files.items() if not k.startswith(".aispec/base/")}


WHEEL = f"wheelhouse/aispec-{VERSION}-py3-none-any.whl"


def _golden_view(folder: Path) -> dict[str, bytes]:
    """The tree as the goldens keep it: no .aispec/base/ (it repeats the generated files) and no aispec
    wheel, whose bytes change with every source change (its presence, name and determinism are tested
    on their own); the manifest's hash of the wheel is checked against the file, then blanked."""
    tree = _tree(folder, bases=False)
    wheel = tree.pop(WHEEL, None)
    manifest = json.loads(tree[".aispec/manifest.json"])
    if wheel is not None:
        assert manifest["files"][WHEEL] == hashlib.sha256(wheel).hexdigest()
    manifest["files"][WHEEL] = "(sha256 of the aispec wheel)"
    tree[".aispec/manifest.json"] = (json.dumps(manifest, indent=2) + "\n").encode()
    return tree


@pytest.mark.parametrize("name", BUILDABLE)
def test_rendered_tree_matches_golden(name: str, tmp_path: Path) -> None:
    """The generated project, file by file. Regenerate with AISPEC_UPDATE_GOLDEN=1 and review the diff."""
    result = build(EXAMPLES / f"{name}.yaml", tmp_path / name)
    assert result.ok, result.diagnostics
    tree = _golden_view(tmp_path / name)
    assert (tmp_path / name / WHEEL).is_file()
    golden = GOLDEN / name
    if UPDATE:
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(tmp_path / name, golden, ignore=shutil.ignore_patterns("base", "*.whl"))
        (golden / ".aispec" / "manifest.json").write_bytes(tree[".aispec/manifest.json"])
    assert tree == _golden_view(golden)


def test_same_spec_gives_byte_identical_projects(tmp_path: Path) -> None:
    spec = EXAMPLES / "penguins-classification.yaml"
    assert build(spec, tmp_path / "a").ok and build(spec, tmp_path / "b").ok
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


@pytest.mark.parametrize("name", BUILDABLE)
def test_generated_code_is_ruff_clean_and_formatted(name: str, tmp_path: Path) -> None:
    assert build(EXAMPLES / f"{name}.yaml", tmp_path).ok
    ruff = str(Path(sys.executable).parent / "ruff") if (Path(sys.executable).parent / "ruff").exists() else "ruff"
    check = subprocess.run([ruff, "check", "--no-cache", "."], cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run([ruff, "format", "--check", "--no-cache", "."], cwd=tmp_path, capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    for path in tmp_path.rglob("*.py"):
        compile(path.read_text(), str(path), "exec")


def _spec(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(BASE_EXAMPLE + "model:\n  family: random_forest\n" + extra)
    return path


def test_rebuild_keeps_an_edit_when_the_generated_text_did_not_change(tmp_path: Path) -> None:
    spec, out = _spec(tmp_path), tmp_path / "proj"
    assert build(spec, out).written
    readme = out / "README.md"
    readme.write_text(readme.read_text() + "\nMy notes.\n")
    result = build(spec, out)
    assert result.ok and result.written
    assert readme.read_text().endswith("My notes.\n")
    [kept] = [c for c in result.write_plan.changes if c.path == "README.md"]  # type: ignore[union-attr]
    assert kept.action == "keep"


def test_rebuild_merges_edits_that_touch_other_lines(tmp_path: Path) -> None:
    spec, out = _spec(tmp_path), tmp_path / "proj"
    assert build(spec, out).written
    model = out / "penguins" / "model.py"
    model.write_text(model.read_text() + "\n\n# My note: tried gini only.\n")
    spec.write_text(spec.read_text() + "  params: {n_estimators: 50}\n")
    result = build(spec, out)
    assert result.ok and result.written, result.diagnostics
    [change] = [c for c in result.write_plan.changes if c.path == "penguins/model.py"]  # type: ignore[union-attr]
    assert change.action == "merge"
    text = model.read_text()
    assert '"n_estimators": 50' in text and text.endswith("# My note: tried gini only.\n")
    # the next rebuild still knows the file is edited, and keeps the edit
    again = build(spec, out)
    assert again.ok and model.read_text() == text


def test_rebuild_stops_on_an_edited_line_the_build_would_change(tmp_path: Path) -> None:
    spec, out = _spec(tmp_path), tmp_path / "proj"
    assert build(spec, out).written
    model = out / "penguins" / "model.py"
    edited = model.read_text().replace("PARAMS: dict[str, Any] = {}", "PARAMS: dict[str, Any] = {\"max_depth\": 4}")
    assert edited != model.read_text()
    model.write_text(edited)
    before = _tree(out)
    spec.write_text(spec.read_text() + "  params: {n_estimators: 50}\n")
    # the default writes conflict markers (tests/test_rebuild_conflicts.py); stop writes nothing
    result = build(spec, out, on_conflict="stop")
    assert not result.ok and not result.written
    assert [d.code for d in result.diagnostics] == ["AIS501"]
    assert "penguins/model.py" in result.diagnostics[0].message
    assert _tree(out) == before  # nothing written
    forced = build(spec, out, force=True)
    assert forced.ok and forced.written
    assert '"n_estimators": 50' in model.read_text() and "max_depth" not in model.read_text()
    assert (out / ".aispec" / "backup" / "penguins" / "model.py").read_text() == edited


def test_regular_rebuild_updates_unedited_files_and_deletes_stale_ones(tmp_path: Path) -> None:
    spec, out = _spec(tmp_path), tmp_path / "proj"
    assert build(spec, out).written
    spec.write_text(spec.read_text().replace("name: penguins\n", "name: birds\n", 1))
    result = build(spec, out)
    assert result.ok and result.written
    assert (out / "birds" / "model.py").exists()
    assert not (out / "penguins").exists() or not any((out / "penguins").glob("*.py"))


def test_dry_run_shows_a_diff_and_writes_nothing(tmp_path: Path) -> None:
    spec, out = _spec(tmp_path), tmp_path / "proj"
    assert build(spec, out).written
    before = _tree(out)
    spec.write_text(spec.read_text() + "  params: {n_estimators: 50}\n")
    result = build(spec, out, dry_run=True)
    assert result.ok and not result.written
    updates = {c.path: c for c in result.write_plan.changes if c.action == "update"}  # type: ignore[union-attr]
    assert sorted(updates) == ["penguins/config.py", "penguins/model.py", "spec.yaml"]
    assert '+PARAMS: dict[str, Any] = {"n_estimators": 50}' in updates["penguins/model.py"].diff
    assert _tree(out) == before


def test_foreign_files_in_the_output_are_never_overwritten(tmp_path: Path) -> None:
    spec, out = _spec(tmp_path), tmp_path / "proj"
    out.mkdir()
    (out / "README.md").write_text("someone else's readme\n")
    result = build(spec, out)
    assert [d.code for d in result.diagnostics] == ["AIS501"]
    assert (out / "README.md").read_text() == "someone else's readme\n"


def test_a_failed_write_leaves_the_old_project_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec, out = _spec(tmp_path), tmp_path / "proj"
    assert build(spec, out).written
    before = _tree(out)
    spec.write_text(spec.read_text().replace("random_forest", "extra_trees"))
    real_replace = os.replace
    calls = {"n": 0}

    def flaky(src: object, dst: object) -> None:
        calls["n"] += 1
        if calls["n"] == 4:  # fail in the middle of the update
            raise OSError(28, "No space left on device")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(writer.os, "replace", flaky)
    result = build(spec, out)
    assert [d.code for d in result.diagnostics] == ["AIS503"]
    monkeypatch.undo()
    assert _tree(out) == before


def _fake_wheel(monkeypatch: pytest.MonkeyPatch, name: str, data: bytes) -> None:
    """Stand in for another aispec (a newer release, or the same one after a source change)."""
    monkeypatch.setattr(render_module, "aispec_wheel", lambda: (name, data))


def test_the_aispec_wheel_is_written_whole_and_kept_out_of_the_merge_bases(tmp_path: Path) -> None:
    spec, out = _spec(tmp_path), tmp_path / "proj"
    assert build(spec, out).written
    wheel = out / WHEEL
    with zipfile.ZipFile(wheel) as archive:  # a real wheel of this aispec, not text or a placeholder
        assert "aispec/runtime/__init__.py" in archive.namelist()
    manifest = json.loads((out / ".aispec" / "manifest.json").read_text())
    assert manifest["files"][WHEEL] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert not (out / ".aispec" / "base" / WHEEL).exists()  # binary files are never merged: no base copy
    before = wheel.read_bytes()
    again = build(spec, out)
    assert again.ok and wheel.read_bytes() == before
    assert [c.action for c in again.write_plan.changes if c.path == WHEEL] == ["unchanged"]  # type: ignore[union-attr]


def test_a_rebuild_by_another_aispec_replaces_its_wheel_and_removes_the_old_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec, out = _spec(tmp_path), tmp_path / "proj"
    assert build(spec, out).written
    old = out / WHEEL
    _fake_wheel(monkeypatch, old.name, b"PK same name, other bytes")
    result = build(spec, out)
    assert result.ok and result.written
    [change] = [c for c in result.write_plan.changes if c.path == WHEEL]  # type: ignore[union-attr]
    assert change.action == "update" and change.diff.startswith("Binary files")
    assert old.read_bytes() == b"PK same name, other bytes"
    _fake_wheel(monkeypatch, "aispec-9.9.9-py3-none-any.whl", b"PK a newer aispec")
    result = build(spec, out)
    assert result.ok and result.written
    assert not old.exists()
    assert (out / "wheelhouse" / "aispec-9.9.9-py3-none-any.whl").read_bytes() == b"PK a newer aispec"


def test_a_wheel_the_user_replaced_is_a_conflict_never_merged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec, out = _spec(tmp_path), tmp_path / "proj"
    assert build(spec, out).written
    wheel = out / WHEEL
    wheel.write_bytes(b"PK the user's own build")
    assert build(spec, out).ok and wheel.read_bytes() == b"PK the user's own build"  # generated bytes unchanged: kept
    _fake_wheel(monkeypatch, wheel.name, b"PK a new generated wheel")
    result = build(spec, out)
    assert [d.code for d in result.diagnostics] == ["AIS501"] and WHEEL in result.diagnostics[0].message
    assert wheel.read_bytes() == b"PK the user's own build"
    assert build(spec, out, force=True).written
    assert wheel.read_bytes() == b"PK a new generated wheel"
    assert (out / ".aispec" / "backup" / WHEEL).read_bytes() == b"PK the user's own build"


def test_output_never_escapes_its_directory(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "proj"
    out.mkdir()
    (out / "tests").symlink_to(outside, target_is_directory=True)
    result = build(_spec(tmp_path), out)
    assert [d.code for d in result.diagnostics] == ["AIS502"]
    assert not any(outside.iterdir())
    with pytest.raises(ValueError):
        writer._safe_path(out, PurePosixPath("../escape.py"))


def test_specs_that_cannot_be_built_yet_say_so(tmp_path: Path) -> None:
    co2 = (EXAMPLES / "co2-forecasting.yaml").read_text(encoding="utf-8")
    spec = tmp_path / "co2.yaml"
    head, rest = co2.split("\nmodel:\n", 1)
    tail = rest.split("\nmetrics:\n", 1)[1]
    spec.write_text(head + "\nmodel:\n  family: transformer\n\nmetrics:\n" + tail, encoding="utf-8")
    result = build(spec, tmp_path / "co2")
    # transformer: its back end (torch) builds forecasting networks (lstm, gru), not this family yet
    assert {d.code for d in result.diagnostics if d.is_error} == {"AIS402"}
    [error] = [d for d in result.diagnostics if d.is_error]
    assert "'transformer' models for forecasting" in error.message and "gru, lstm" in (error.hint or "")
    assert not (tmp_path / "co2").exists()
    sms = (EXAMPLES / "sms-spam-text.yaml").read_text(encoding="utf-8")
    head, rest = sms.split("\nmodel:\n", 1)
    tail = rest.split("\nmetrics:\n", 1)[1]
    spec = tmp_path / "sms.yaml"
    spec.write_text(head + "\nmodel:\n  family: lstm\n  backend: torch\n\nmetrics:\n" + tail, encoding="utf-8")
    result = build(spec, tmp_path / "sms")
    # its back end (torch) builds text (transformer, transfer), not with this family yet
    assert {d.code for d in result.diagnostics if d.is_error} == {"AIS402"}
    assert ("problem", "task") not in {d.loc for d in result.diagnostics if d.code == "AIS410"}


def test_spec_values_never_become_code(tmp_path: Path) -> None:
    injection = "'\"\"\"; import os; os.system(\"x\") #'"
    hostile = BASE_EXAMPLE.replace("name: penguins", f"name: penguins\n  description: {injection}")
    path = tmp_path / "spec.yaml"
    path.write_text(hostile + "model:\n  family: random_forest\n")
    assert build(path, tmp_path / "p").ok
    config = (tmp_path / "p" / "penguins" / "config.py").read_text()
    compile(config, "config.py", "exec")
    namespace: dict[str, object] = {"__file__": str(tmp_path / "p" / "penguins" / "config.py")}
    exec(compile(config, "config.py", "exec"), namespace)
    spec = namespace["SPEC"]
    assert isinstance(spec, dict) and spec["project"]["description"].startswith('"""; import os')
