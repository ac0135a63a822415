"""Architectural boundaries, packaging and safety.

* ``aispec check`` and ``aispec build`` (the whole compiler path) never import a heavy library (nor
  Streamlit, the editor's extra).
* ``aispec.runtime`` never imports the compiler, lark or streamlit.
* The installed distribution ships the grammars, the JSON schema and the examples.
* The YAML loader never executes a tag.

The import checks run in fresh subprocesses: the test process itself has
imported all sorts of things by the time they run.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import subprocess
import sys
import tomllib
import uuid
from importlib import metadata, resources
from pathlib import Path

import pytest

from aispec.compiler.api import check_text
from aispec.compiler.codes import BASE_EXAMPLE

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ["torch", "sklearn", "keras", "tensorflow", "streamlit", "pandas", "numpy", "onnx", "onnxruntime", "scipy",
         "jax", "matplotlib", "xgboost", "lightgbm", "onnxmltools", "skl2onnx", "ray"]
RUNTIME_FORBIDDEN = ["aispec.compiler", "lark", "streamlit"]


def run_python(code: str, *args: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line."""
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=180,
                          check=False, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------- the compiler stays light

COMPILER_PATH = r"""
import contextlib, io, json, os, pkgutil, sys, tempfile
from pathlib import Path

HEAVY = set(json.loads(sys.argv[1]))
ROOT = Path(sys.argv[2])

def heavy_loaded():
    return sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)

def cli(*args):
    from aispec.compiler import cli
    sys.argv = ["aispec", *map(str, args)]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cli.main()
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
    return code, out.getvalue() + err.getvalue()

report = {}
from aispec.compiler.codes import BASE_EXAMPLE
with tempfile.TemporaryDirectory() as tmp:
    spec = Path(tmp) / "spec.yaml"
    spec.write_text(BASE_EXAMPLE, encoding="utf-8")
    report["check"] = cli("check", spec)
    report["after_check"] = heavy_loaded()
    # the rest of the compiler path: every command a user runs before training
    report["check_examples"] = cli("check", *sorted((ROOT / "specs" / "examples").glob("*.*")))
    report["show"] = cli("show", "--resolved", spec)[0]
    report["fmt"] = cli("fmt", "--stdout", spec)[0]
    report["convert"] = cli("convert", spec, "-o", Path(tmp) / "spec.aispec")[0]
    report["check_dsl"] = cli("check", Path(tmp) / "spec.aispec")[0]
    report["init"] = cli("init", Path(tmp) / "new.aispec", "--task", "clustering")[0]
    report["schema"] = cli("schema")[0]
    report["explain"] = cli("explain", "AIS313")[0]
    report["datasets"] = cli("datasets")[0]
    # build and plan a project whose model needs XGBoost: its requirements name it, nothing imports it
    report["build"] = cli("build", ROOT / "specs" / "examples" / "breast-cancer-xgboost.yaml", "-o",
                          Path(tmp) / "xgb")
    report["plan"] = cli("plan", ROOT / "specs" / "examples" / "penguins-lightgbm.yaml", "-o", Path(tmp) / "lgbm")[0]
    report["after_build"] = heavy_loaded()
    # and every module of the compiler and the spec schema, imported
    import aispec.compiler, aispec.schemas
    for pkg in (aispec.compiler, aispec.schemas):
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            __import__(info.name)
    report["after_all"] = heavy_loaded()
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def compiler_report() -> dict[str, object]:
    return run_python(COMPILER_PATH, json.dumps(HEAVY), str(ROOT))


def test_check_imports_no_heavy_library(compiler_report: dict[str, object]) -> None:
    report = compiler_report
    code, output = report["check"]  # type: ignore[misc]
    assert code == 0, output
    assert "ok" in output
    assert report["after_check"] == [], f"`aispec check` imported {report['after_check']}"
    code, output = report["build"]  # type: ignore[misc]
    assert code == 0, output
    assert report["after_build"] == [], f"`aispec build` imported {report['after_build']}"
    assert report["after_all"] == [], f"the compiler imported {report['after_all']}"


def test_compiler_commands_ran_in_the_import_check(compiler_report: dict[str, object]) -> None:
    # guards the test above: a command that silently failed would import less than a real run
    report = compiler_report
    code, output = report["check_examples"]  # type: ignore[misc]
    assert code == 0, output
    for command in ("show", "fmt", "convert", "check_dsl", "init", "schema", "explain", "datasets", "plan"):
        assert report[command] == 0, (command, report[command])
    assert report["build"][0] == 0, report["build"]  # type: ignore[index]


BUILD_PATH = r"""
import json, sys, tempfile
from pathlib import Path
HEAVY = set(json.loads(sys.argv[1]))
from aispec.compiler.build import build
results = {}
with tempfile.TemporaryDirectory() as tmp:
    for i, spec in enumerate(sys.argv[2:]):
        results[Path(spec).name] = build(Path(spec), Path(tmp) / str(i)).ok
print(json.dumps({"built": results, "heavy": sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)}))
"""


def test_build_imports_no_heavy_library_for_any_back_end() -> None:
    # the Keras example names keras and torch in its requirements and template: build must not import them
    specs = [ROOT / "specs" / "examples" / name for name in ("diabetes-mlp-keras.yaml", "penguins-classification.yaml",
                                                             "penguins-mlp-ray.yaml")]
    report = run_python(BUILD_PATH, json.dumps(HEAVY), *map(str, specs))
    assert report["built"] == {spec.name: True for spec in specs}
    assert report["heavy"] == [], f"`aispec build` imported {report['heavy']}"


# ---------------------------------------------------------------- the runtime stays independent

RUNTIME_IMPORTS = r"""
import json, pkgutil, sys
FORBIDDEN = json.loads(sys.argv[1])
import aispec.runtime
imported, missing_optional = ["aispec.runtime"], []
def onerror(name):
    raise ImportError(f"cannot import {name}")
for info in pkgutil.walk_packages(aispec.runtime.__path__, "aispec.runtime.", onerror=onerror):
    try:
        __import__(info.name)
    except ModuleNotFoundError as exc:
        # an optional heavy dependency (sklearn, torch, ...) that this environment lacks
        if exc.name and not exc.name.startswith("aispec"):
            missing_optional.append([info.name, exc.name])
            continue
        raise
    imported.append(info.name)
bad = sorted(m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))
print(json.dumps({"imported": imported, "bad": bad, "missing_optional": missing_optional}))
"""


def test_runtime_does_not_import_compiler_lark_or_streamlit() -> None:
    report = run_python(RUNTIME_IMPORTS, json.dumps(RUNTIME_FORBIDDEN))
    assert "aispec.runtime" in report["imported"]  # type: ignore[operator]
    assert report["bad"] == [], f"importing {report['imported']} loaded {report['bad']}"


def _runtime_sources() -> list[Path]:
    return sorted((ROOT / "runtime").rglob("*.py"))


def test_runtime_sources_never_name_the_compiler() -> None:
    # catches imports inside functions too, which importing the modules does not run
    offenders: list[str] = []
    for path in _runtime_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:
                    # relative: `from ..compiler import x` climbs out of runtime/
                    depth = len(path.relative_to(ROOT / "runtime").parts) - 1
                    if node.level > depth:
                        module = "aispec." + module if module else "aispec"
                    else:
                        module = "aispec.runtime." + module
                names = [module] + [f"{module}.{alias.name}" for alias in node.names]
            for name in names:
                for forbidden in (*RUNTIME_FORBIDDEN, "compiler"):
                    if name == forbidden or name.startswith(forbidden + "."):
                        offenders.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}: {name}")
    assert offenders == [], offenders
    assert _runtime_sources(), "runtime/ has no Python files"


# ---------------------------------------------------------------- packaging


def test_grammars_are_package_resources() -> None:
    grammar = resources.files("aispec.compiler") / "grammar"
    names = {entry.name for entry in grammar.iterdir()}
    assert "aispec.lark" in names
    assert (grammar / "aispec.lark").read_text(encoding="utf-8").strip()


def test_schema_is_a_package_resource() -> None:
    text = (resources.files("aispec.schemas") / "aispec-spec-v1.schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    assert schema["title"] == "aispec spec v1"
    assert "properties" in schema


def test_examples_are_package_resources() -> None:
    examples = resources.files("aispec.specs") / "examples"
    names = {entry.name for entry in examples.iterdir()}
    assert any(n.endswith(".yaml") for n in names), names
    # every template `aispec init` uses is shipped
    from aispec.compiler.templates_init import TASK_TEMPLATES

    assert set(TASK_TEMPLATES.values()) <= names
    for name in sorted(n for n in names if n.endswith((".yaml", ".aispec"))):
        result = check_text((examples / name).read_text(encoding="utf-8"), name)
        assert result.errors == (), (name, [(d.code, d.message) for d in result.errors])


def test_distribution_metadata_and_console_script() -> None:
    dist = metadata.distribution("aispec")
    assert dist.metadata["Name"] == "aispec"
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts.get("aispec") == "aispec.compiler.cli:main"


def _package_data() -> dict[str, list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data: dict[str, list[str]] = config["tool"]["setuptools"]["package-data"]
    return data


def _package_dir(package: str) -> Path:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return ROOT / str(config["tool"]["setuptools"]["package-dir"][package])


@pytest.mark.parametrize(
    ("package", "files"),
    [
        ("aispec.compiler", ["grammar/aispec.lark"]),
        ("aispec.schemas", ["aispec-spec-v1.schema.json"]),
        ("aispec.specs", None),  # every file under specs/examples/
    ],
)
def test_package_data_globs_cover_the_data_files(package: str, files: list[str] | None) -> None:
    # an editable install reads the source tree, so check what a wheel would get: pyproject's package-data
    base = _package_dir(package)
    if files is None:
        files = [p.relative_to(base).as_posix() for p in sorted((base / "examples").iterdir()) if p.is_file()]
        assert files
    patterns = _package_data().get(package, [])
    for name in files:
        assert (base / name).is_file(), name
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), (
            f"{package}: {name} is not matched by package-data {patterns}: a wheel would not ship it")


# ---------------------------------------------------------------- YAML never runs code

TAG_ATTACKS = [
    'project: !!python/object/apply:os.system ["touch {marker}"]\n',
    'project:\n  name: !!python/object/apply:os.system ["touch {marker}"]\n',
    'project: !!python/object/new:os.system ["touch {marker}"]\n',
    'project: !!python/object/apply:subprocess.call [["touch", "{marker}"]]\n',
    'compliance:\n  limitations:\n    - !!python/object/apply:os.system ["touch {marker}"]\n',
    '? !!python/object/apply:os.system ["touch {marker}"]\n: 1\n',
    'project: !!python/name:os.system\n',
    'project: !custom {{name: x}}\n',
]


@pytest.mark.parametrize("attack", TAG_ATTACKS)
def test_yaml_tags_are_refused_not_executed(tmp_path: Path, attack: str) -> None:
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    text = "aispec: 1\n" + attack.format(marker=marker)
    result = check_text(text, "attack.yaml")
    assert not marker.exists(), "the YAML loader executed a tag"
    assert result.errors, "a tagged value must be refused"
    assert {d.code for d in result.errors} & {"AIS106", "AIS101"}, [(d.code, d.message) for d in result.errors]


@pytest.mark.parametrize("command", [["check"], ["fmt"], ["fmt", "--check"], ["convert"], ["show", "--resolved"]])
def test_cli_commands_never_execute_tags(tmp_path: Path, command: list[str]) -> None:
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    spec = tmp_path / "attack.yaml"
    text = BASE_EXAMPLE + f'compliance:\n  notes: !!python/object/apply:os.system ["touch {marker}"]\n'
    spec.write_text(text, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "aispec.compiler.cli", *command, str(spec)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert not marker.exists(), "the YAML loader executed a tag"
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "AIS106" in proc.stderr
    assert spec.read_text(encoding="utf-8") == text  # fmt left it alone
