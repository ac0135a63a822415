"""`aispec image` without a Docker engine: what it refuses, and what it asks the engine for.

The real build and run of the image is tests/test_docker.py (slow, needs an engine).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aispec.compiler.build import build
from aispec.compiler.cli import app
from aispec.compiler.image import ImageError, _stream, base_image_of, build_image, check_project, default_tag

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "examples" / "penguins-classification.yaml"


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    out = tmp_path / "penguin-species"
    assert build(SPEC, out).ok
    return out


def _trained(project: Path, gates: dict[str, Any] | None = None) -> Path:
    """A fake model file and a real serving.json (with ``gates`` when given)."""
    import pandas as pd

    from aispec.runtime.serving.contract import serving_metadata, write_serving_metadata

    (project / "artifacts").mkdir(exist_ok=True)
    (project / "artifacts" / "model.onnx").write_bytes(b"onnx")
    meta = serving_metadata(
        onnx={"columns": {"x": "x"}, "inputs": {"x": "float"}, "outputs": ["variable"], "opset": {"": 17}},
        features=["x"], columns={"x": {"type": "numeric"}}, frame=pd.DataFrame({"x": [1.0, 2.0, 3.0]}),
        task="regression", target="y", classes=None, project_name="penguin-species", project_version="1.0.0",
        spec_hash="sha256:0", gates=gates)
    write_serving_metadata(project / "artifacts" / "serving.json", meta)
    return project


FAILED_GATES = {"passed": False, "gates": [
    {"criterion": "r2 >= 0.99", "metric": "r2", "op": ">=", "threshold": 0.99, "observed": 0.4312,
     "passed": False, "message": "r2 = 0.4312, required >= 0.99", "where": "spec.yaml:72:7"},
    {"criterion": "onnx_parity <= 0.001", "metric": "onnx_parity", "op": "<=", "threshold": 0.001,
     "observed": 0.02, "passed": False, "message": "onnx_parity = 0.02, required <= 0.001", "where": None}]}


def test_an_untrained_project_is_refused_with_the_next_step(project: Path) -> None:
    with pytest.raises(ImageError) as caught:
        check_project(project)
    assert "artifacts/model.onnx" in caught.value.message and "make train" in (caught.value.hint or "")
    result = CliRunner().invoke(app, ["image", "build", str(project)])
    assert result.exit_code == 1
    assert "the model is not trained yet" in result.output and "hint:" in result.output


def test_a_folder_that_is_not_a_rest_project_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="not a folder"):
        check_project(tmp_path / "nothing")
    with pytest.raises(ImageError, match=r"no Dockerfile, requirements-serve\.txt"):
        check_project(tmp_path)


def test_the_image_name_and_base_come_from_the_generated_files(project: Path) -> None:
    assert default_tag(project) == "penguin-species:1.0.0"
    assert base_image_of(project) == "python:3.11-slim"
    (project / "docker-compose.yaml").write_text("services: {}\n")
    with pytest.raises(ImageError, match="cannot read the image name"):
        default_tag(project)


def test_an_offline_build_without_wheels_stops_before_the_engine(project: Path) -> None:
    _trained(project)
    assert list((project / "wheelhouse").glob("aispec-*.whl"))  # aispec's own is not enough
    with pytest.raises(ImageError, match="no wheels for an offline build"):
        build_image(project, offline=True, client=object())  # the client is never used


class _Images:
    def __init__(self, present: set[str]) -> None:
        self.present = present

    def get(self, ref: str) -> Any:
        import docker

        if ref not in self.present:
            raise docker.errors.ImageNotFound(ref)
        return type("Image", (), {"id": "sha256:" + "ab" * 32,
                                  "attrs": {"Size": 123_000_000, "Config": {"User": "10001"}}})()


class _Api:
    def __init__(self, owner: _Client, output: list[Mapping[str, Any]]) -> None:
        self.owner, self.output = owner, output
        self.calls: list[dict[str, Any]] = []

    def build(self, **kwargs: Any) -> Iterator[Mapping[str, Any]]:
        self.calls.append(kwargs)
        self.owner.images.present.add(kwargs["tag"])
        return iter(self.output)


class _Client:
    def __init__(self, present: set[str], output: list[Mapping[str, Any]]) -> None:
        self.images = _Images(present)
        self.api = _Api(self, output)


def test_the_engine_gets_the_project_folder_base_image_and_offline_flag(project: Path, tmp_path: Path) -> None:
    pytest.importorskip("docker")
    _trained(project)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "numpy-2.4.6-py3-none-any.whl").write_bytes(b"wheel")
    client = _Client({"local-base:1"}, [{"stream": "Step 1/2 : FROM local-base:1\n"}, {"aux": {"ID": "sha256:ab"}}])
    lines: list[str] = []
    built = build_image(project, base_image="local-base:1", offline=True, wheelhouse=wheels, client=client,
                        log=lines.append)
    [call] = client.api.calls
    assert call["path"] == str(project) and call["tag"] == "penguin-species:1.0.0" and call["pull"] is False
    assert call["buildargs"] == {"BASE_IMAGE": "local-base:1", "OFFLINE": "1", "ALLOW_FAILED_GATES": "0"}
    assert (project / "wheelhouse" / "numpy-2.4.6-py3-none-any.whl").read_bytes() == b"wheel"
    assert built.user == "10001" and built.size_bytes == 123_000_000 and built.offline
    assert "Step 1/2 : FROM local-base:1" in lines
    assert call["labels"] == {"io.aispec.gates": "unknown"}  # a serving.json written before gates were kept


def test_a_model_that_failed_its_gates_gets_no_image_unless_overridden(project: Path) -> None:
    pytest.importorskip("docker")
    _trained(project, FAILED_GATES)
    client = _Client({"python:3.11-slim"}, [{"aux": {"ID": "sha256:ab"}}])
    with pytest.raises(ImageError) as caught:
        build_image(project, client=client)
    message = caught.value.message
    # every failed gate with its measured value, whatever its kind (the ONNX parity gate too)
    assert "r2 >= 0.99: measured 0.4312" in message and "onnx_parity <= 0.001: measured 0.02" in message
    assert "--allow-failed-gates" in message and client.api.calls == []
    result = CliRunner().invoke(app, ["image", "build", str(project)])
    assert result.exit_code == 1 and "failed 2 gates" in result.output
    lines: list[str] = []
    build_image(project, client=client, allow_failed_gates=True, log=lines.append)
    [call] = client.api.calls
    # the override is baked in visibly: the Dockerfile turns the build argument into an ENV and a label
    assert call["buildargs"]["ALLOW_FAILED_GATES"] == "1" and call["labels"] == {"io.aispec.gates": "failed"}
    dockerfile = (project / "Dockerfile").read_text()
    assert "ARG ALLOW_FAILED_GATES=0" in dockerfile and "AISPEC_ALLOW_FAILED_GATES=${ALLOW_FAILED_GATES}" in dockerfile
    assert "io.aispec.allow-failed-gates=${ALLOW_FAILED_GATES}" in dockerfile
    assert any("FAILED its gates" in line for line in lines)


def test_a_model_that_passed_builds_without_the_override(project: Path) -> None:
    pytest.importorskip("docker")
    _trained(project, {"passed": True, "gates": [{**FAILED_GATES["gates"][0], "passed": True}]})
    client = _Client({"python:3.11-slim"}, [{"aux": {"ID": "sha256:ab"}}])
    build_image(project, client=client)
    [call] = client.api.calls
    assert call["buildargs"]["ALLOW_FAILED_GATES"] == "0" and call["labels"] == {"io.aispec.gates": "passed"}


def test_an_offline_build_never_pulls_a_missing_base_image(project: Path) -> None:
    pytest.importorskip("docker")
    _trained(project)
    (project / "wheelhouse" / "x-0-py3-none-any.whl").write_bytes(b"")  # a wheel, so the offline check passes
    client = _Client(set(), [])
    with pytest.raises(ImageError, match=r"python:3\.11-slim is not on this machine") as caught:
        build_image(project, offline=True, client=client)
    assert "--base-image" in (caught.value.hint or "") and client.api.calls == []


def test_a_failed_step_reports_the_engine_error_with_context_and_a_hint() -> None:
    output = [{"stream": "Step 7/22 : RUN pip install -r /build/requirements-serve.txt\n"},
              {"stream": "ERROR: No matching distribution found for fastapi==0.165.0\n"},
              {"error": "The command '/bin/sh -c pip install' returned a non-zero code: 1",
               "errorDetail": {"message": "The command '/bin/sh -c pip install' returned a non-zero code: 1"}}]
    with pytest.raises(ImageError) as caught:
        _stream(iter(output), lambda line: None)
    assert "returned a non-zero code: 1" in caught.value.message
    assert "No matching distribution found for fastapi" in caught.value.message
    assert "aispec image wheelhouse" in (caught.value.hint or "")
    with pytest.raises(ImageError) as pulled:
        _stream(iter([{"error": "pull access denied for nothing, repository does not exist"}]), lambda line: None)
    assert "--base-image" in (pulled.value.hint or "")


def test_the_wheelhouse_gets_the_same_aispec_wheel_as_the_build(project: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """One way to make the aispec wheel: `aispec image wheelhouse` writes the bytes `aispec build` wrote."""
    from aispec.compiler import image
    from aispec.compiler.wheel import aispec_wheel

    calls: list[list[str]] = []
    monkeypatch.setattr(image, "_pip", lambda args, log: calls.append(list(args)))  # no index here
    name, data = aispec_wheel()
    assert (project / "wheelhouse" / name).read_bytes() == data  # from `aispec build`
    dest = tmp_path / "house"
    wheels = image.fill_wheelhouse(project, dest=dest, log=lambda line: None)
    assert wheels == [dest / name] and (dest / name).read_bytes() == data
    [download] = calls
    assert download[0] == "download" and download[-2:] == ["-r", str(project / "requirements-serve.txt")]


def test_a_model_reading_token_ids_needs_its_tokenizer_in_the_image(project: Path) -> None:
    import pandas as pd

    from aispec.compiler.image import gate_status
    from aispec.runtime.serving.contract import serving_metadata, write_serving_metadata

    (project / "artifacts").mkdir(exist_ok=True)
    (project / "artifacts" / "model.onnx").write_bytes(b"onnx")
    tokenizer = {"file": "tokenizer.json", "column": "text", "max_length": 64, "ids": "input_ids",
                 "mask": "attention_mask"}
    meta = serving_metadata(
        onnx={"columns": {"text": "text"}, "inputs": {"text": "string"}, "outputs": ["label", "probabilities"],
              "opset": {"": 17}, "tokenizer": tokenizer},
        features=["text"], columns={"text": {"type": "text"}}, frame=pd.DataFrame({"text": ["a", "b"]}),
        task="text_classification", target="label", classes=["ham", "spam"], project_name="spam",
        project_version="1.0.0", spec_hash="sha256:0", gates=None)
    write_serving_metadata(project / "artifacts" / "serving.json", meta)
    with pytest.raises(ImageError, match=r"no artifacts/tokenizer\.json: the model reads token ids"):
        gate_status(project, allow_failed_gates=False)
    (project / "artifacts" / "tokenizer.json").write_text("{}")
    assert gate_status(project, allow_failed_gates=False) == "unknown"
