"""`aispec image`: the serving image of a trained project, built through the Docker Engine API.

Two steps, so that an air-gapped machine can build the image:

- :func:`fill_wheelhouse` (on a machine with network access) downloads the wheels of the project's
  ``requirements-serve.txt`` into ``wheelhouse/``, next to the running aispec's own wheel (repacked
  from the installed files by :mod:`aispec.compiler.wheel`, the same bytes ``aispec build`` writes).
- :func:`build_image` sends the project folder (as filtered by its ``.dockerignore``) to the engine
  and builds the generated Dockerfile; ``offline=True`` installs from ``wheelhouse/`` only and never
  pulls the base image.

Gate results travel with the model: a model whose training run failed its gates (``serving.json``'s
``gates``) is refused unless ``allow_failed_gates``; then the image carries it visibly: the build
argument ``ALLOW_FAILED_GATES=1`` becomes ``ENV AISPEC_ALLOW_FAILED_GATES=1`` (without it the
container refuses to serve the model) and the labels ``io.aispec.gates`` (passed / failed /
unknown) and ``io.aispec.allow-failed-gates``.

The ``docker`` package is imported only here, and only when an image command runs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .wheel import WheelError
from .wheel import aispec_wheel as installed_aispec_wheel

Log = Callable[[str], None]

# What the generated Dockerfile needs in the build context; the first two come from `aispec build`,
# the model files from training.
GENERATED = ("Dockerfile", "requirements-serve.txt")
TRAINED = ("artifacts/model.onnx", "artifacts/serving.json")


class ImageError(Exception):
    """A failure a user can act on: what went wrong and what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class ImageBuild:
    tag: str
    image_id: str
    size_bytes: int
    user: str
    base_image: str
    offline: bool


def check_project(project: Path) -> None:
    """A built and trained project with a REST deployment, or an :class:`ImageError` saying what is missing."""
    if not project.is_dir():
        raise ImageError(f"{project}: not a folder", "pass the folder `aispec build` wrote")
    missing = [name for name in GENERATED if not (project / name).is_file()]
    if missing:
        raise ImageError(f"{project}: no {', '.join(missing)}",
                         "build the project with `aispec build SPEC` (deployment.target: rest) first")
    untrained = [name for name in TRAINED if not (project / name).is_file()]
    if untrained:
        raise ImageError(f"{project}: no {', '.join(untrained)}: the model is not trained yet",
                         "train it first: `make train` (or `aispec run SPEC`)")


def gate_status(project: Path, *, allow_failed_gates: bool) -> str:
    """``passed`` / ``failed`` / ``unknown`` from the trained model's ``serving.json``; an ImageError for a
    model that failed its gates (unless ``allow_failed_gates``) or an invalid ``serving.json``."""
    from aispec.runtime.serving.contract import read_serving_metadata
    from aispec.runtime.serving.gates import refusal, status

    try:
        meta = read_serving_metadata(project / "artifacts" / "serving.json")
    except ValueError as exc:
        raise ImageError(f"the trained model cannot be served: {exc}", "retrain it: `make train`") from None
    tokenizer = meta["model"].get("tokenizer")  # a model reading token ids: the Dockerfile copies its tokenizer
    if tokenizer is not None and not (project / "artifacts" / tokenizer["file"]).is_file():
        raise ImageError(f"{project}: no artifacts/{tokenizer['file']}: the model reads token ids and the service "
                         "tokenises with that file", "retrain it: `make train`")
    result = status(meta)
    if result == "failed" and not allow_failed_gates:
        raise ImageError(refusal(meta, "no image is built", "pass --allow-failed-gates").message)
    return result


def default_tag(project: Path) -> str:
    """The image name the generated docker-compose file (and Kubernetes manifests) use."""
    compose = project / "docker-compose.yaml"
    try:
        services = yaml.safe_load(compose.read_text(encoding="utf-8"))["services"]
        return str(next(iter(services.values()))["image"])
    except (OSError, yaml.YAMLError, KeyError, TypeError, StopIteration) as exc:
        raise ImageError(f"{compose}: cannot read the image name ({exc})", "pass --tag NAME:VERSION") from exc


def base_image_of(project: Path) -> str:
    """The default of the Dockerfile's ``ARG BASE_IMAGE=``."""
    for line in (project / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.startswith("ARG BASE_IMAGE="):
            return line.split("=", 1)[1].strip()
    raise ImageError(f"{project / 'Dockerfile'}: no `ARG BASE_IMAGE=` line", "pass --base-image IMAGE")


# ----------------------------------------------------------------------------- wheelhouse


def _pip(args: Sequence[str], log: Log) -> None:
    command = [sys.executable, "-m", "pip", *args]
    log("$ " + " ".join(command))
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        tail = "\n".join((run.stderr or run.stdout).strip().splitlines()[-15:])
        raise ImageError(f"pip {args[0]} failed (exit {run.returncode}):\n{tail}",
                         "the wheelhouse is filled from the package index: run this where it is reachable")


def fill_wheelhouse(project: Path, *, dest: Path | None = None, python_version: str | None = None,
                    platforms: Sequence[str] = (), aispec_wheel: Path | None = None,
                    log: Log = print) -> list[Path]:
    """Download every wheel ``requirements-serve.txt`` needs into ``dest`` (default ``project/wheelhouse``).

    ``python_version`` and ``platforms`` select wheels for an image whose Python or platform differs
    from this machine's (pip's ``--python-version`` / ``--platform``).
    """
    requirements = project / "requirements-serve.txt"
    if not requirements.is_file():
        raise ImageError(f"{project}: no requirements-serve.txt",
                         "build the project with `aispec build SPEC` (deployment.target: rest) first")
    dest = dest or project / "wheelhouse"
    dest.mkdir(parents=True, exist_ok=True)
    if aispec_wheel is not None:
        if not aispec_wheel.is_file() or aispec_wheel.suffix != ".whl":
            raise ImageError(f"{aispec_wheel}: not a wheel file")
        shutil.copy2(aispec_wheel, dest / aispec_wheel.name)
    else:  # aispec is on no package index: the running one, repacked exactly as `aispec build` does
        try:
            name, wheel = installed_aispec_wheel()
        except WheelError as exc:
            raise ImageError(exc.message, exc.hint) from exc
        if not (dest / name).is_file():  # one already there is the project's own (the manifest has its hash)
            (dest / name).write_bytes(wheel)
            log(f"wrote {dest / name}")
    target: list[str] = []
    if python_version:
        target += ["--python-version", python_version]
    for platform in platforms:
        target += ["--platform", platform]
    if target:
        target += ["--implementation", "cp"]
    _pip(["download", "--quiet", "--only-binary=:all:", "--dest", str(dest), "--find-links", str(dest),
          *target, "-r", str(requirements)], log)
    return sorted(dest.glob("*.whl"))


# ----------------------------------------------------------------------------- build


def _client() -> Any:
    try:
        import docker  # type: ignore[import-untyped, unused-ignore]
    except ImportError as exc:
        raise ImageError("the `docker` package is not installed", "pip install 'aispec[docker]'") from exc
    try:
        client = docker.from_env(version="auto", timeout=600)
        client.ping()
    except docker.errors.DockerException as exc:
        raise ImageError(f"cannot reach the Docker engine: {exc}",
                         "start it (`dockerd`, or Docker Desktop) or point DOCKER_HOST at it") from exc
    return client


def _has_image(client: Any, ref: str) -> bool:
    import docker

    try:
        client.images.get(ref)
    except docker.errors.ImageNotFound:
        return False
    return True


def _copy_wheels(source: Path, project: Path, log: Log) -> None:
    wheels = sorted(source.glob("*.whl"))
    if not wheels:
        raise ImageError(f"{source}: no wheels in this folder", "fill it with `aispec image wheelhouse PROJECT`")
    house = project / "wheelhouse"
    if source.resolve() == house.resolve():
        return
    house.mkdir(exist_ok=True)
    for wheel in wheels:
        if not (house / wheel.name).exists():
            shutil.copy2(wheel, house / wheel.name)
    log(f"copied {len(wheels)} wheels from {source} into {house}")


def _stream(lines: Iterator[Mapping[str, Any]], log: Log) -> str:
    """Follow the engine's build output; the image id, or an ImageError with the last lines."""
    image_id, recent = "", list[str]()
    for chunk in lines:
        if "error" in chunk or "errorDetail" in chunk:
            detail = chunk.get("errorDetail", {}).get("message") or chunk.get("error", "")
            context = "".join(recent[-12:]).rstrip()
            raise ImageError(f"the image build failed: {str(detail).strip()}" + (f"\n{context}" if context else ""),
                             _build_hint(f"{detail}\n{context}"))
        text = chunk.get("stream")
        if isinstance(text, str):
            recent.append(text)
            if text.strip():
                log(text.rstrip("\n"))
        aux = chunk.get("aux")
        if isinstance(aux, Mapping) and "ID" in aux:
            image_id = str(aux["ID"])
    return image_id


def _build_hint(detail: str) -> str | None:
    lowered = detail.lower()
    if "pull access denied" in lowered or "registry" in lowered or "manifest" in lowered:
        return "the base image is not on this machine and cannot be pulled: pass --base-image with a local one"
    if "no matching distribution" in lowered or "could not find a version" in lowered:
        return "a serving dependency is missing from wheelhouse/: run `aispec image wheelhouse PROJECT`"
    return None


def build_image(project: Path, *, tag: str | None = None, base_image: str | None = None, offline: bool = False,
                wheelhouse: Path | None = None, no_cache: bool = False, log: Log = print,
                client: Any = None, allow_failed_gates: bool = False) -> ImageBuild:
    """Build the project's serving image; raises :class:`ImageError` with a hint on any failure, and for a
    model that failed its gates unless ``allow_failed_gates`` (then baked into the image, see above)."""
    check_project(project)
    gates = gate_status(project, allow_failed_gates=allow_failed_gates)
    override = gates == "failed"
    if override:
        log("WARNING: building an image of a model that FAILED its gates (--allow-failed-gates): it carries "
            "AISPEC_ALLOW_FAILED_GATES=1 and the label io.aispec.gates=failed")
    tag = tag or default_tag(project)
    base = base_image or base_image_of(project)
    if wheelhouse is not None:
        _copy_wheels(wheelhouse, project, log)
    # `aispec build` always leaves aispec's own wheel there: an offline build needs the server's too
    if offline and not any(not w.name.startswith("aispec-") for w in (project / "wheelhouse").glob("*.whl")):
        raise ImageError(f"{project / 'wheelhouse'}: no wheels for an offline build besides aispec's own",
                         "fill it with `aispec image wheelhouse PROJECT` where the package index is reachable")
    client = client or _client()
    if not _has_image(client, base):
        if offline:
            raise ImageError(f"the base image {base} is not on this machine, and an offline build cannot pull it",
                             "load it (`docker load`, `docker import`) or pass --base-image with a local image")
        log(f"the base image {base} is not on this machine: the engine will pull it")
    log(f"building {tag} from {project} (base {base}{', offline' if offline else ''})")
    buildargs = {"BASE_IMAGE": base, "OFFLINE": "1" if offline else "0",
                 "ALLOW_FAILED_GATES": "1" if override else "0"}
    labels = {"io.aispec.gates": gates}  # io.aispec.allow-failed-gates comes from the Dockerfile's ARG
    output = client.api.build(path=str(project), tag=tag, buildargs=buildargs, labels=labels, rm=True, forcerm=True,
                              pull=False, nocache=no_cache, decode=True)
    _stream(output, log)
    image = client.images.get(tag)
    return ImageBuild(tag=tag, image_id=str(image.id), size_bytes=int(image.attrs.get("Size", 0)),
                      user=str(image.attrs.get("Config", {}).get("User", "")), base_image=base, offline=offline)
