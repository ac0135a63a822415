"""The generated serving image, built and run for real through a Docker engine.

`aispec image build --offline` builds the penguins project's image on a local base image from a
host-side wheelhouse (no registry, no package index: the CI machines reach neither from a
container). The container must become ready, answer exactly as the same model served in-process,
refuse bad requests with a 4xx, and run as a non-root user.

Prerequisites (`.ci/run` provides all three; elsewhere the tests are skipped with the reason):
a Docker engine (started here when `dockerd` is installed and we are root), the base image
``$AISPEC_TEST_BASE_IMAGE`` (default ``aispec-test-base:bookworm``, made by
``tests/docker/base-image.sh``) and a wheelhouse ``$AISPEC_TEST_WHEELHOUSE`` filled by
``aispec image wheelhouse``. Under ``CI`` a missing prerequisite fails instead of skipping.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aispec.compiler.build import build

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "examples" / "penguins-classification.yaml"
BASE_IMAGE = os.environ.get("AISPEC_TEST_BASE_IMAGE", "aispec-test-base:bookworm")

pytestmark = pytest.mark.slow

ROWS = [
    {"island": "Biscoe", "bill_length_mm": 45.1, "bill_depth_mm": 14.5, "flipper_length_mm": 215.0,
     "body_mass_g": 5000.0},
    {"island": "Dream", "bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181.0,
     "body_mass_g": 3750.0},
    {"island": "Dream", "bill_length_mm": 49.5, "bill_depth_mm": 19.0, "flipper_length_mm": 200.0,
     "body_mass_g": 3800.0},
    {"island": "Torgersen", "bill_length_mm": None, "bill_depth_mm": 17.0, "flipper_length_mm": 190.0,
     "body_mass_g": 3500.0},
]


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required in CI: see .ci/run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    docker = pytest.importorskip("docker")
    started: subprocess.Popen[bytes] | None = None
    try:
        client = docker.from_env(version="auto")
        client.ping()
    except docker.errors.DockerException:
        dockerd = shutil.which("dockerd")
        if dockerd is None or os.geteuid() != 0:
            _missing("no Docker engine is running and none can be started here")
        started = subprocess.Popen([dockerd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = None
        for _ in range(60):
            time.sleep(0.5)
            try:
                client = docker.from_env(version="auto")
                client.ping()
                break
            except docker.errors.DockerException:
                client = None
        if client is None:
            started.terminate()
            _missing("dockerd did not start")
    yield client
    if started is not None:
        started.terminate()
        started.wait(timeout=30)


@pytest.fixture(scope="module")
def wheelhouse() -> Path:
    folder = os.environ.get("AISPEC_TEST_WHEELHOUSE")
    if not folder or not any(Path(folder).glob("aispec-*.whl")):
        _missing("AISPEC_TEST_WHEELHOUSE does not name a wheelhouse with an aispec wheel "
                 "(fill one with `aispec image wheelhouse PROJECT --dest DIR`)")
    return Path(str(folder))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("image") / "penguin-species"
    result = build(SPEC, out)
    assert result.ok and result.plan is not None, result.diagnostics
    run = subprocess.run([sys.executable, "-m", result.plan.package], cwd=out, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    return out


def _aispec(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aispec.compiler.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"}, timeout=900)


def _post(url: str, body: Any) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _wait_ready(url: str, container: Any, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/ready", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        container.reload()
        if container.status == "exited":
            break
        time.sleep(0.5)
    logs = container.logs().decode(errors="replace")[-3000:]
    pytest.fail(f"the container never became ready ({container.status}):\n{logs}")


def _without_ids(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in p.items() if k != "prediction_id"} for p in answer["predictions"]]


def test_offline_image_builds_runs_non_root_and_answers_like_the_in_process_model(
        engine: Any, wheelhouse: Path, trained: Path) -> None:
    import docker
    from fastapi.testclient import TestClient

    from aispec.runtime.serving.app import create_app

    try:
        engine.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        _missing(f"the base image {BASE_IMAGE} is not loaded (make it with tests/docker/base-image.sh)")
    tag = f"aispec-test-{uuid.uuid4().hex[:10]}:1.0.0"
    container = None
    try:
        built = _aispec("image", "build", str(trained), "--offline", "--base-image", BASE_IMAGE,
                        "--wheelhouse", str(wheelhouse), "--tag", tag, "--quiet")
        assert built.returncode == 0, built.stdout + built.stderr
        assert tag in built.stdout and "user 10001" in built.stdout
        image = engine.images.get(tag)
        assert image.attrs["Config"]["User"] == "10001"

        # As the generated Kubernetes pod runs it: read-only root, scratch /tmp and logs, no capabilities.
        container = engine.containers.run(tag, detach=True, ports={"8000/tcp": ("127.0.0.1", None)},
                                          read_only=True, cap_drop=["ALL"], security_opt=["no-new-privileges"],
                                          tmpfs={"/tmp": "mode=1777", "/app/logs": "uid=10001,gid=10001"})
        container.reload()
        port = container.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"]
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, container)

        # The process serving the model is not root, and no training framework is installed.
        assert container.exec_run(["id", "-u"]).output.decode().strip() == "10001"
        probe = container.exec_run(["python", "-c", "import importlib.util as u; print([m for m in "
                                    "('sklearn', 'pandas', 'optuna', 'skl2onnx', 'torch', 'lark', 'jinja2', 'pip') "
                                    "if u.find_spec(m)])"])
        assert probe.output.decode().strip() == "[]"

        status, remote = _post(f"{url}/v1/predict/batch", {"rows": ROWS})
        assert status == 200, remote
        with TestClient(create_app(trained / "artifacts")) as local:
            expected = local.post("/v1/predict/batch", json={"rows": ROWS})
            assert expected.status_code == 200
            assert _without_ids(remote) == _without_ids(expected.json())
            status, single = _post(f"{url}/v1/predict", ROWS[0])
            assert status == 200 and single["label"] == expected.json()["predictions"][0]["label"]
        assert {p["label"] for p in remote["predictions"]} <= {"Adelie", "Chinstrap", "Gentoo"}

        status, refused = _post(f"{url}/v1/predict", {**ROWS[0], "island": "Atlantis"})
        assert status == 422 and refused["problems"][0]["field"] == "island"
        with urllib.request.urlopen(f"{url}/metrics", timeout=5) as answer:
            metrics = answer.read().decode()
        assert 'aispec_requests_total{route="/v1/predict/batch",status="200"} 1.0' in metrics
        assert 'aispec_requests_total{route="/v1/predict",status="422"} 1.0' in metrics
    finally:
        if container is not None:
            container.remove(force=True)
        with contextlib.suppress(docker.errors.DockerException):
            engine.images.remove(tag, force=True)
        engine.images.prune(filters={"dangling": True})


def test_image_build_refuses_an_untrained_project_and_a_missing_offline_base(
        engine: Any, tmp_path: Path, trained: Path) -> None:
    untrained = tmp_path / "untrained"
    assert build(SPEC, untrained).ok
    refused = _aispec("image", "build", str(untrained), "--offline")
    assert refused.returncode == 1
    assert "not trained yet" in refused.stderr and "make train" in refused.stderr

    empty = tmp_path / "empty-wheelhouse"
    empty.mkdir()
    refused = _aispec("image", "build", str(trained), "--wheelhouse", str(empty))
    assert refused.returncode == 1 and "no wheels" in refused.stderr

    shutil.copytree(trained, tmp_path / "copy", ignore=shutil.ignore_patterns("*.whl"))
    (tmp_path / "copy" / "wheelhouse" / "placeholder-0-py3-none-any.whl").write_bytes(b"")
    refused = _aispec("image", "build", str(tmp_path / "copy"), "--offline", "--base-image",
                      "aispec-no-such-base:0")
    assert refused.returncode == 1
    assert "aispec-no-such-base:0 is not on this machine" in refused.stderr and "hint:" in refused.stderr
