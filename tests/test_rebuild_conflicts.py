"""A rebuild never corrupts the user's edits: `aispec build` on an edited project, as a user runs it.

The bundled penguins example is built into a temp folder, a generated file is edited, the spec is
changed (n_estimators 300 → 500, which changes the ``PARAMS`` line of ``model.py``), and the
project is rebuilt through the CLI. Every scenario runs with git merge-file and with the
pure-Python merge (``AISPEC_MERGE``), which must behave the same.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aispec.compiler.cli import app
from aispec.compiler.writer import sha256

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "examples" / "penguins-classification.yaml"
MODEL = "penguin_species/model.py"
OLD_PARAMS = 'PARAMS: dict[str, Any] = {"n_estimators": 300, "class_weight": "balanced"}\n'
NEW_PARAMS = 'PARAMS: dict[str, Any] = {"n_estimators": 500, "class_weight": "balanced"}\n'
COMMENT = "# Fixed hyperparameters (model.params); the search below overrides the ones it tunes.\n"
MY_COMMENT = "# Fixed hyperparameters: 300 trees were enough in my runs.\n"

ENGINES = ["python", pytest.param("git", marks=pytest.mark.skipif(shutil.which("git") is None, reason="no git"))]
ENGINE_WORDS = {"python": "aispec's diff3", "git": "git merge-file"}
LISTING = re.compile(r"^[+~M!=-] (?:add|update|merge|markers|conflict|keep|delete) .*$", re.M)  # one line a file


class Project:
    """A spec and the project built from it, driven through the CLI."""

    def __init__(self, tmp_path: Path, engine: str) -> None:
        self.spec = tmp_path / "spec.yaml"
        self.spec.write_text(SPEC.read_text())
        self.out = tmp_path / "proj"
        self.engine = engine
        self.runner = CliRunner()
        code, _, err = self.cli("build")
        assert code == 0, err
        assert OLD_PARAMS in self.model  # the example still has the line these scenarios edit

    def cli(self, command: str, *extra: str) -> tuple[int, str, str]:
        result = self.runner.invoke(app, [command, str(self.spec), "-o", str(self.out), "--no-color", *extra],
                                    env={"AISPEC_MERGE": self.engine, "NO_COLOR": "1", "AISPEC_DEBUG": None})
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"aispec {command} raised {result.exception!r}") from result.exception
        return result.exit_code, result.stdout, result.stderr

    @property
    def model(self) -> str:
        return (self.out / MODEL).read_text()

    @model.setter
    def model(self, text: str) -> None:
        (self.out / MODEL).write_text(text)

    def more_trees(self) -> None:
        text = self.spec.read_text()
        assert "n_estimators: 300" in text
        self.spec.write_text(text.replace("n_estimators: 300", "n_estimators: 500"))

    def files(self) -> dict[str, bytes]:
        return {str(p.relative_to(self.out)): p.read_bytes() for p in sorted(self.out.rglob("*")) if p.is_file()}

    def generated(self, path: str) -> str:
        return (self.out / ".aispec" / "base" / path).read_text()


@pytest.mark.parametrize("engine", ENGINES)
def test_an_edit_next_to_a_changed_line_is_a_conflict_with_markers(tmp_path: Path, engine: str) -> None:
    project = Project(tmp_path, engine)
    mine = project.model.replace(COMMENT, MY_COMMENT)
    project.model = mine
    project.more_trees()

    code, _, planned = project.cli("plan")
    assert code == 1 and "! markers  penguin_species/model.py" in planned

    code, _, err = project.cli("build")
    assert code == 1, err
    assert "error[AIS504]" in err and "! markers  penguin_species/model.py" in err
    assert ENGINE_WORDS[engine] in err
    assert "your version: .aispec/backup/penguin_species/model.py" in err
    # the plan listed what the build did, file by file
    assert LISTING.findall(err) == LISTING.findall(planned) != []

    assert project.model == mine.replace(
        MY_COMMENT + OLD_PARAMS,
        f"<<<<<<< yours\n{MY_COMMENT}{OLD_PARAMS}=======\n{COMMENT}{NEW_PARAMS}>>>>>>> generated now\n")
    assert (project.out / ".aispec" / "backup" / MODEL).read_text() == mine  # the user's version, kept
    assert '"n_estimators": 500' in (project.out / "penguin_species" / "config.py").read_text()  # the rest is built
    manifest = json.loads((project.out / ".aispec" / "manifest.json").read_text())
    assert manifest["files"][MODEL] == sha256(project.generated(MODEL)) != sha256(project.model)

    # an unresolved conflict blocks the next build, which writes nothing
    before = project.files()
    code, _, err = project.cli("build")
    assert code == 1 and "error[AIS505]" in err
    assert project.files() == before

    # once resolved, the user's resolution is kept
    resolved = mine.replace(OLD_PARAMS, NEW_PARAMS)
    project.model = resolved
    code, _, err = project.cli("build")
    assert code == 0, err
    assert project.model == resolved


@pytest.mark.parametrize("engine", ENGINES)
def test_on_conflict_stop_writes_nothing(tmp_path: Path, engine: str) -> None:
    project = Project(tmp_path, engine)
    project.model = project.model.replace(COMMENT, MY_COMMENT)
    project.more_trees()
    before = project.files()
    code, _, err = project.cli("build", "--on-conflict", "stop")
    assert code == 1 and "error[AIS501]" in err and "penguin_species/model.py" in err
    assert project.files() == before


@pytest.mark.parametrize("engine", ENGINES)
def test_force_overwrites_markers_and_keeps_every_version(tmp_path: Path, engine: str) -> None:
    project = Project(tmp_path, engine)
    mine = project.model.replace(COMMENT, MY_COMMENT)
    project.model = mine
    project.more_trees()
    assert project.cli("build")[0] == 1
    marked = project.model
    code, _, err = project.cli("build", "--force")
    assert code == 0, err
    assert project.model == project.generated(MODEL)
    backups = project.out / ".aispec" / "backup" / "penguin_species"
    assert (backups / "model.py").read_text() == marked
    assert (backups / "model.py.~1~").read_text() == mine  # the version from before the conflict survives


@pytest.mark.parametrize("engine", ENGINES)
def test_the_same_edit_on_both_sides_appears_once(tmp_path: Path, engine: str) -> None:
    project = Project(tmp_path, engine)
    note = "\n\n# My note: 500 trees.\n"
    project.model = project.model.replace(OLD_PARAMS, NEW_PARAMS) + note  # the spec change, made by hand too
    project.more_trees()
    code, _, err = project.cli("build")
    assert code == 0, err
    assert "M merge    penguin_species/model.py" in err
    assert project.model == project.generated(MODEL) + note
    assert project.model.count("PARAMS: dict") == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_an_edit_on_a_distant_line_merges_and_nothing_is_dropped(tmp_path: Path, engine: str) -> None:
    project = Project(tmp_path, engine)
    mine = project.model.replace('"""The model of penguin-species', '"""My model of penguin-species', 1)
    mine += "\n\ndef n_trees() -> int:\n    return int(PARAMS[\"n_estimators\"])\n"
    project.model = mine
    project.more_trees()
    code, _, err = project.cli("build")
    assert code == 0, err
    assert f"M merge    penguin_species/model.py  (your edits, merged into the new generated text; merged by " \
           f"{ENGINE_WORDS[engine]})" in err
    assert project.model == mine.replace(OLD_PARAMS, NEW_PARAMS)  # every line of both sides, each once
    assert project.cli("build")[0] == 0 and project.model == mine.replace(OLD_PARAMS, NEW_PARAMS)  # stays edited
