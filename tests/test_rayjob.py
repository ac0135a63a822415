"""The KubeRay RayJob of a spec with `hardware.distributed.engine: ray` (k8s/rayjob.yaml), validated offline:
the RayJob's own fields against the RayJob schema in tests/kuberay/ (transcribed from KubeRay's v1 API; see its
description), each pod template against the Kubernetes PodTemplateSpec schema bundled with kubernetes-validate,
and the values the spec decides (workers, resources, image, entrypoint) checked by hand. No cluster, no network.
A spec without an engine gets no RayJob, and its project does not depend on Ray."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from aispec.compiler.build import build

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "specs" / "examples" / "penguins-mlp-ray.yaml"
SCHEMA = json.loads((ROOT / "tests" / "kuberay" / "rayjob-v1.schema.json").read_text())
K8S_VERSION = "1.30.0"


def _built(tmp_path: Path, text: str) -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(text, encoding="utf-8")
    result = build(spec, tmp_path / "p")
    assert result.ok, result.diagnostics
    return tmp_path / "p"


def _validate(doc: dict[str, Any]) -> None:
    import jsonschema

    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    jsonschema.validate(doc, SCHEMA)
    cluster = doc["spec"]["rayClusterSpec"]
    templates = [cluster["headGroupSpec"]["template"], *(g["template"] for g in cluster["workerGroupSpecs"])]
    for template in templates:
        kubernetes_validate.validate({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
                                      "template": template}, K8S_VERSION, strict=True)


def test_the_rayjob_takes_workers_and_resources_from_the_spec(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace("cpus_per_worker: 1\n", "cpus_per_worker: 1.5\n"
                                                       "    gpus_per_worker: 0.5\n")
    text = text.replace("workers: 2 ", "workers: 3 ")
    project = _built(tmp_path, text)
    [doc] = [d for d in yaml.safe_load_all((project / "k8s" / "rayjob.yaml").read_text()) if d]
    _validate(doc)
    assert doc["spec"]["entrypoint"] == "python -m penguin_species_ray"
    assert doc["spec"]["shutdownAfterJobFinishes"] is True
    cluster = doc["spec"]["rayClusterSpec"]
    assert cluster["rayVersion"] == __import__("ray").__version__
    [group] = cluster["workerGroupSpecs"]
    assert group["replicas"] == group["minReplicas"] == group["maxReplicas"] == 3
    [container] = group["template"]["spec"]["containers"]
    assert container["resources"]["requests"] == {"cpu": "1500m", "memory": "1024Mi"}
    assert container["resources"]["limits"] == {"memory": "1024Mi", "nvidia.com/gpu": "1"}
    assert container["image"] == "penguin-species-ray:1.0.0-ray"
    assert cluster["headGroupSpec"]["rayStartParams"] == {"num-cpus": "0"}  # no trial on the driver's node


def test_the_schema_rejects_what_the_api_server_would() -> None:
    import jsonschema

    doc = yaml.safe_load((ROOT / "tests" / "golden" / "projects" / "penguins-mlp-ray" / "k8s" / "rayjob.yaml")
                         .read_text())
    _validate(doc)
    bad = json.loads(json.dumps(doc))
    bad["spec"]["rayClusterSpec"]["headGroupSpec"]["rayStartParams"]["num-cpus"] = 0  # must be a string
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)
    bad = json.loads(json.dumps(doc))
    bad["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replica"] = 2  # a misspelt field
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)


def test_without_an_engine_there_is_no_rayjob_and_no_ray(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    start, end = text.index("  distributed:\n"), text.index("\ndeployment:")
    project = _built(tmp_path, text[:start] + text[end:])
    assert not (project / "k8s").exists()
    assert "ray" not in (project / "requirements.txt").read_text()
    assert "distributed" not in (project / "penguin_species_ray" / "train.py").read_text()
    assert "--engine" not in (project / "Makefile").read_text()
