"""The build plan: a resolved spec turned into everything the templates need.

Templates only loop and branch; every value they print is computed here and is
either a validated identifier or a Python literal made by ``pyliteral`` (so a
spec string never becomes code).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from aispec.runtime.registry import BACKENDS, ENGINES
from aispec.schemas.catalog import DATASETS
from aispec.schemas.expressions import Distribution
from aispec.schemas.labels import label_text
from aispec.schemas.spec import IMAGE_REF, BundledSource, ImageFolderSource, Spec
from aispec.schemas.vocabulary import (
    CLASSIFICATION_TASKS,
    CLUSTER_COUNT_PARAM,
    FAMILIES,
    METRICS,
    Backend,
    Task,
    task_info,
)

from .api import CheckResult
from .buildable import libraries_of, unbuildable
from .codes import make
from .diagnostics import Diagnostic
from .lockfile import locked_version, normalize
from .passes.context import image_folder_columns
from .pyliteral import package_name, py_literal, py_scalar
from .source import Loc
from .version import VERSION

# Versions a generated project pins: the ones CI installs and tests with, read from the lock CI
# installs from (compiler/lock/ci.lock), so the two cannot drift apart. Keys are the requirement as
# written (extras included); one table, so the same spec gives the same requirements.txt everywhere.
_PINNED = ("scikit-learn", "pandas", "numpy", "optuna", "skl2onnx", "onnx", "onnxruntime", "protobuf", "fairlearn",
           "matplotlib", "pyarrow", "SQLAlchemy", "psycopg[binary]", "palmerpenguins", "statsmodels")
PINS: dict[str, str] = {name: locked_version(name) for name in _PINNED}

# aispec's own dependencies (its wheel asks for ranges): pinned as well, so that installing the
# project's aispec wheel brings the tested versions, not whatever is newest that day.
AISPEC_PINS: dict[str, str] = {name: locked_version(name) for name in
                               ("pydantic", "PyYAML", "lark", "Jinja2", "typer", "rich", "platformdirs")}

# The REST service's own dependencies (the image installs these and nothing else): pinned too, so
# that an image rebuilt later from the same project gets the same server. uvicorn without its
# `standard` extra: the service uses only its httptools parser and uvloop event loop.
SERVE_PINS: dict[str, str] = {name: locked_version(name) for name in
                              ("fastapi", "uvicorn", "httptools", "uvloop", "prometheus-client", "onnxruntime",
                               "numpy")}

# What an image project's service adds (runtime.images.decode reads PNG and JPEG with Pillow; Starlette
# parses multipart file uploads with python-multipart); its training needs Pillow too.
IMAGE_SERVE_PINS: dict[str, str] = {name: locked_version(name) for name in ("pillow", "python-multipart")}
IMAGE_PINS: dict[str, str] = {"pillow": locked_version("pillow")}

# What the service of a model reading token ids adds (its family's `text_tokens`: runtime/serving/text.py
# tokenises the request's text with tokenizer.json, as training did).
TOKEN_SERVE_PINS: dict[str, str] = {"tokenizers": locked_version("tokenizers")}


# Packages that exist only on some platforms: their requirement line carries an environment marker.
_MARKERS = {"uvloop": 'sys_platform != "win32"'}


def _requirement(name: str, version: str) -> str:
    marker = _MARKERS.get(name)
    return f"{name}=={version}; {marker}" if marker else f"{name}=={version}"


@dataclass(frozen=True)
class Plan:
    """What a build writes, before any text is rendered."""

    spec: Spec
    project: str
    package: str
    spec_hash: str
    spec_file: str
    spec_text: str
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def files(self) -> tuple[tuple[str, PurePosixPath], ...]:
        """(template name, output path) pairs, sorted by output path."""
        pkg = PurePosixPath(self.package)
        pairs = [
            ("project/README.md.j2", PurePosixPath("README.md")),
            ("project/Makefile.j2", PurePosixPath("Makefile")),
            ("project/requirements.txt.j2", PurePosixPath("requirements.txt")),
            ("project/pyproject.toml.j2", PurePosixPath("pyproject.toml")),
            ("project/gitignore.j2", PurePosixPath(".gitignore")),
            ("project/package/__init__.py.j2", pkg / "__init__.py"),
            ("project/package/config.py.j2", pkg / "config.py"),
            ("project/package/data.py.j2", pkg / "data.py"),
            (f"project/package/{self.context.get('features_template', 'features')}.py.j2", pkg / "features.py"),
            (f"project/package/{self.context.get('model_template', 'model')}.py.j2", pkg / "model.py"),
            ("project/package/train.py.j2", pkg / "train.py"),
            ("project/package/__main__.py.j2", pkg / "__main__.py"),
            ("project/tests/__init__.py.j2", PurePosixPath("tests/__init__.py")),
            ("project/tests/test_data.py.j2", PurePosixPath("tests/test_data.py")),
            ("project/tests/test_model.py.j2", PurePosixPath("tests/test_model.py")),
        ]
        declared = BACKENDS[self.spec.model.backend or Backend.sklearn]
        for template, path in declared.files:  # files only this back end's projects have (its training loop)
            pairs.append((f"backends/{declared.overlay}/{template}", PurePosixPath(path.format(package=self.package))))
        if self.context.get("distributed"):  # hardware.distributed: the training job for a KubeRay cluster
            pairs.append(("project/deploy/k8s/rayjob.yaml.j2", PurePosixPath("k8s/rayjob.yaml")))
        deployment = self.spec.deployment
        if deployment.target == "rest":
            pairs += [
                ("project/deploy/Dockerfile.j2", PurePosixPath("Dockerfile")),
                ("project/deploy/dockerignore.j2", PurePosixPath(".dockerignore")),
                ("project/deploy/docker-compose.yaml.j2", PurePosixPath("docker-compose.yaml")),
                ("project/deploy/requirements-serve.txt.j2", PurePosixPath("requirements-serve.txt")),
                ("project/deploy/wheelhouse-README.txt.j2", PurePosixPath("wheelhouse/README.txt")),
            ]
            if deployment.kubernetes is not None:
                pairs += [
                    ("project/deploy/k8s/deployment.yaml.j2", PurePosixPath("k8s/deployment.yaml")),
                    ("project/deploy/k8s/service.yaml.j2", PurePosixPath("k8s/service.yaml")),
                    ("project/deploy/k8s/hpa.yaml.j2", PurePosixPath("k8s/hpa.yaml")),
                ]
                if deployment.ab_test is not None:
                    pairs.append(("project/deploy/k8s/challenger.yaml.j2", PurePosixPath("k8s/challenger.yaml")))
        return tuple(sorted(pairs, key=lambda p: str(p[1])))


def spec_hash(spec: Spec) -> str:
    """Hash of the resolved spec's canonical JSON: formatting-only edits do not change it."""
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)


_LOCATION_PREFIXES = ("problem", "data", "model", "metrics.acceptance", "compliance.fairness",
                      "compliance.sensitive", "compliance.pii", "deployment.target", "hardware.memory",
                      "hardware.distributed")


def _locations(result: CheckResult, spec_file: str) -> dict[str, str]:
    assert result.parsed is not None
    out: dict[str, str] = {}
    for loc, span in sorted(result.parsed.locations.values.items(), key=lambda item: _dotted(item[0])):
        dotted = _dotted(loc)
        if dotted and dotted.startswith(_LOCATION_PREFIXES):
            out[dotted] = f"{spec_file}:{span.line}:{span.column}"
    return out


def _distribution(dist: Distribution) -> str:
    """A search-space distribution as runtime code: `Int(2, 16)`, `Float(1e-4, 0.1, log=True)`, `Choice(...)`."""
    args = ", ".join(py_scalar(a) for a in dist.args)
    return {
        "int": f"Int({args})",
        "logint": f"Int({args}, log=True)",
        "uniform": f"Float({args})",
        "loguniform": f"Float({args}, log=True)",
        "choice": f"Choice({args})",
    }[dist.kind]


def _task_kind(task: Task) -> str:
    if task is Task.clustering:
        return "clustering"
    if task is Task.anomaly_detection:
        return "anomaly"
    return "supervised"


def build_plan(result: CheckResult, project_dir: Path) -> tuple[Plan | None, tuple[Diagnostic, ...]]:
    """Turn a checked spec into a Plan, or say (AIS4xx) why this spec cannot be built yet."""
    spec = result.resolved
    if spec is None or result.parsed is None:
        return None, result.diagnostics
    file = result.source.path
    problems: list[Diagnostic] = []
    spans = result.parsed.locations
    for gap in unbuildable(spec):
        assert gap.build_code is not None
        span = spans.key_span(gap.loc) if gap.key else spans.value_span(gap.loc)
        problems.append(make(gap.build_code, gap.message, span=span, loc=gap.loc, file=file, hint=gap.hint))
    if problems:
        # the check's AIS410 warnings about the same gaps become these errors
        refused = {p.loc for p in problems}
        kept = tuple(d for d in result.diagnostics if not (d.code == "AIS410" and d.loc in refused))
        return None, (*kept, *problems)

    spec_file = "spec.aispec" if result.source.syntax == "dsl" else "spec.yaml"
    # File sources are relative to the spec's folder; the project reaches it by a relative path
    # (never an absolute one); a SQLite URL's file too. Bundled data needs no folder.
    data_dir = PurePosixPath(".")
    if spec.data.source.kind in ("csv", "parquet", "jsonl", "sql", "image_folder"):
        spec_dir = Path(result.source.path).resolve().parent
        data_dir = PurePosixPath(Path(os.path.relpath(spec_dir, project_dir.resolve())).as_posix())
    package = package_name(spec.project.name)
    dump = spec.model_dump(mode="json")
    digest = spec_hash(spec)
    context = _context(spec, package, spec_file, data_dir, _locations(result, spec_file), dump)
    context["lit"]["spec_hash"] = py_scalar(f"sha256:{digest}")
    plan = Plan(spec, spec.project.name, package, digest, spec_file, result.source.text, context)
    return plan, result.diagnostics


def _params(spec: Spec) -> dict[str, Any]:
    """model.params, plus the task settings that are really model parameters (problem.n_clusters,
    problem.contamination) under the name the family uses."""
    params = dict(spec.model.params)
    family = spec.model.family
    if spec.problem.n_clusters is not None and family in CLUSTER_COUNT_PARAM:
        params.setdefault(CLUSTER_COUNT_PARAM[family], spec.problem.n_clusters)
    if spec.problem.contamination is not None:
        if family in ("isolation_forest", "local_outlier_factor"):
            params.setdefault("contamination", spec.problem.contamination)
        elif family == "one_class_svm":
            params.setdefault("nu", spec.problem.contamination)
    return params


def token_inputs(spec: Spec) -> bool:
    """Whether the model reads token ids of its text column (tokenizer.json beside model.onnx, the service
    tokenising with the `tokenizers` library) rather than the text itself."""
    family = FAMILIES.get(spec.model.family)
    return task_info(spec.problem.task).modality == "text" and family is not None and family.text_tokens


def _series_literals(spec: Spec) -> dict[str, str]:
    """The forecasting settings of ``problem`` as literals for the generated ``features.py``."""
    problem = spec.problem
    return {
        "time_column": py_scalar(problem.time_column),
        "horizon": py_scalar(problem.horizon),
        "frequency": py_scalar(problem.frequency),
        "season": py_scalar(problem.season),
        "lags": py_literal(tuple(problem.lags or ()), 4, len("lags=")),  # inside SeriesSettings(...)
        "multi_step": py_scalar(problem.multi_step or "recursive"),
    }


def _column_types(spec: Spec) -> dict[str, str]:
    if spec.data.columns is not None:
        return {name: col.type.value for name, col in spec.data.columns.items()}
    src = spec.data.source
    if isinstance(src, BundledSource) and src.name in DATASETS:
        return dict(DATASETS[src.name].columns)
    if isinstance(src, ImageFolderSource):
        return image_folder_columns(spec)
    return {}


# Image references and Kubernetes values that reach a Dockerfile or a manifest: YAML gets
# `json.dumps` strings (JSON is YAML, so any text stays one scalar); the Dockerfile only gets
# values the schema validated against image-reference patterns (schemas/spec.py IMAGE_REF).
_IMAGE_REF = re.compile(IMAGE_REF)
_MEBI = 1024 * 1024


def _k8s_name(project: str) -> str:
    """An RFC 1123 label from the project slug (`penguin_species` → `penguin-species`), short enough
    that `<name>-challenger` is still a valid label value (63 characters)."""
    name = re.sub(r"[^a-z0-9-]", "-", project.lower())[:52].strip("-")
    return name or "model"


def _deploy(spec: Spec) -> dict[str, Any]:
    """Values for the Dockerfile, docker-compose and Kubernetes templates (already quoted)."""
    dep = spec.deployment
    name = _k8s_name(spec.project.name)
    tag = re.sub(r"[^A-Za-z0-9_.-]", "-", spec.project.version)
    repo = dep.image.name or name
    if dep.image.registry:
        repo = f"{dep.image.registry.rstrip('/')}/{repo}"
    image = f"{repo}:{tag}"
    serve = {**SERVE_PINS, **(IMAGE_SERVE_PINS if task_info(spec.problem.task).modality == "image" else {}),
             **(TOKEN_SERVE_PINS if token_inputs(spec) else {})}
    base = dep.image.base
    if not _IMAGE_REF.match(base):  # validated by the schema: reaching here is a bug
        raise ValueError(f"unvalidated base image reference: {base!r}")
    k8s = dep.kubernetes
    ab = dep.ab_test
    out: dict[str, Any] = {
        "target": dep.target,
        "name": name,
        "image": image,  # validated parts (schema patterns, sanitised tag): safe in text
        "base_image": base,
        "serve_requirements": [_requirement(name, version) for name, version in serve.items()],
        # requirements.txt adds those training does not pin already
        "serve_pins": [(name, _requirement(name, version)) for name, version in serve.items()],
        "aispec_requirement": f"aispec=={VERSION}",
        # the files of artifacts/ the image serves (a model reading token ids needs its tokenizer)
        "artifacts": ["model.onnx", "serving.json", *(["tokenizer.json"] if token_inputs(spec) else [])],
        "y": {
            "name": json.dumps(name),
            "challenger_name": json.dumps(f"{name}-challenger"),
            "image": json.dumps(image),
            "challenger_image": json.dumps(f"{image}-challenger"),
            "version": json.dumps(spec.project.version),
            "aispec_version": json.dumps(VERSION),
        },
        "kubernetes": None,
        "ab_test": None,
    }
    if k8s is not None:
        memory = k8s.memory or spec.hardware.memory
        mebibytes = -(-memory.bytes // _MEBI) if memory is not None else 512
        replicas = k8s.replicas
        min_replicas = k8s.min_replicas or min(replicas, k8s.max_replicas or replicas)
        max_replicas = max(k8s.max_replicas or max(replicas, 2 * min_replicas), min_replicas)
        out["kubernetes"] = {
            "replicas": replicas,
            "min_replicas": min_replicas,
            "max_replicas": max_replicas,
            "target_cpu": k8s.target_cpu,
            "cpu": json.dumps(k8s.cpu),
            "memory": json.dumps(f"{mebibytes}Mi"),
            "namespace": json.dumps(k8s.namespace) if k8s.namespace else None,
        }
        if ab is not None:
            # split: the Service selects both variants, so the challenger's share is its share of pods;
            # shadow: the challenger gets no live traffic from the Service.
            if ab.mode == "split" and 0 < ab.weight < 1:
                challenger_replicas = max(1, round(replicas * ab.weight / (1 - ab.weight)))
            else:
                challenger_replicas = replicas if ab.mode == "split" and ab.weight >= 1 else 1
            out["ab_test"] = {
                "mode": ab.mode,
                "replicas": challenger_replicas,
                "weight": f"{ab.weight:g}",
                "challenger": json.dumps(ab.challenger),
            }
    return out


def _distributed(spec: Spec) -> dict[str, Any] | None:
    """``hardware.distributed`` with a built engine: its pins, the batch scorer's flags and the RayJob's values;
    None without one (the project is then exactly what it was before engines existed)."""
    dist = spec.hardware.distributed
    declared = ENGINES.get(dist.engine)
    if declared is None or not declared.built:
        return None
    pins = {f"{dist_name}[data,train,tune]" if dist_name == "ray" else dist_name: locked_version(dist_name)
            for _, dist_name in declared.modules}
    args = [f"--workers {dist.workers}", f"--cpus-per-worker {dist.cpus_per_worker:g}"]
    if dist.memory_per_worker is not None:
        args.append(f"--memory-per-worker {dist.memory_per_worker}")
    if dist.address is not None:
        # `${RAY_ADDRESS}` stays a reference: make passes it to the shell, which reads the environment
        args.append("--address " + (f"\"$${{{dist.address[2:-1]}}}\"" if dist.address.startswith("${")
                                    else shlex.quote(dist.address)))
    version = locked_version("ray")
    name = _k8s_name(spec.project.name)
    repo = spec.deployment.image.name or name
    if spec.deployment.image.registry:
        repo = f"{spec.deployment.image.registry.rstrip('/')}/{repo}"
    tag = re.sub(r"[^A-Za-z0-9_.-]", "-", spec.project.version)
    memory = f"{-(-dist.memory_per_worker.bytes // _MEBI)}Mi" if dist.memory_per_worker is not None else "2Gi"
    cpu = f"{dist.cpus_per_worker:g}" if float(dist.cpus_per_worker).is_integer() else \
        f"{round(dist.cpus_per_worker * 1000)}m"
    limits = {"memory": memory}
    if dist.gpus_per_worker > 0:  # Kubernetes schedules whole GPUs
        limits["nvidia.com/gpu"] = str(max(1, round(dist.gpus_per_worker + 0.4999)))
    k8s = spec.deployment.kubernetes
    ray = {
        "name": json.dumps(f"{name[:57]}-train"),
        "namespace": json.dumps(k8s.namespace) if k8s is not None and k8s.namespace else None,
        "entrypoint": json.dumps(f"python -m {package_name(spec.project.name)}"),
        "version": json.dumps(version),
        "image": json.dumps(f"{repo}:{tag}-ray"),
        "base_image": f"rayproject/ray:{version}-py311{'-gpu' if dist.gpus_per_worker > 0 else ''}",
        "workers": dist.workers,
        "requests": json.dumps({"cpu": cpu, "memory": memory}),
        "limits": json.dumps(limits),
        "head_memory": json.dumps("2Gi"),
        "claim": json.dumps(f"{name[:51]}-checkpoints"),
    }
    return {"engine": declared.name, "title": declared.title, "pins": pins, "score_args": " ".join(args),
            "ray": ray}


def _context(spec: Spec, package: str, spec_file: str, data_dir: PurePosixPath, locations: dict[str, str],
             dump: dict[str, Any]) -> dict[str, Any]:
    task = spec.problem.task
    column_types = _column_types(spec)
    features = list(spec.data.features or [])
    feature_types = {name: column_types.get(name, "numeric") for name in features}
    primary = spec.metrics.primary or ""
    search = spec.model.search
    space = search.space if search else {}
    ensemble = spec.model.ensemble
    kind = _task_kind(task)
    needs = {"fairlearn"} if spec.compliance.sensitive else set()
    source_kind = spec.data.source.kind
    declared = BACKENDS[spec.model.backend or Backend.sklearn]
    pins = {**AISPEC_PINS, **PINS}
    for _, distribution in declared.modules:  # what the back end itself needs (keras, torch, ...)
        if normalize(distribution) not in {normalize(name) for name in pins}:
            pins[distribution] = locked_version(distribution)
    if not (source_kind == "bundled" and getattr(spec.data.source, "name", "") == "palmerpenguins"):
        pins.pop("palmerpenguins")
    if not (source_kind == "bundled" and getattr(spec.data.source, "name", "") in ("co2", "sunspots", "macrodata")) \
            and "statsmodels" not in {dist for _, dist, _ in libraries_of(spec)}:
        pins.pop("statsmodels")
    if source_kind != "sql":
        pins.pop("SQLAlchemy")
        pins.pop("psycopg[binary]")
    if source_kind != "parquet":
        pins.pop("pyarrow")
    if not needs:
        pins.pop("fairlearn")
    modality = task_info(task).modality
    if modality == "image":
        pins.update(IMAGE_PINS)
    distributed = _distributed(spec)
    if distributed is not None:
        pins.update(distributed["pins"])
    series = modality == "series"
    for _, distribution, _ in libraries_of(spec):  # the families' own (xgboost, lightgbm): only when used
        pins.setdefault(distribution, locked_version(distribution))
    family = FAMILIES.get(spec.model.family)
    tokens = token_inputs(spec)
    return {
        "features_template": "series" if series else "tokens" if tokens else "features",
        "model_template": "forecaster" if series else declared.model_template(spec.model.family),
        "token_inputs": tokens,
        "aispec_version": VERSION,
        "backend": declared.name.value,
        "backend_title": declared.title,
        "backend_slug": re.sub(r"[^a-z0-9]+", "_", declared.title.lower()).strip("_"),  # in identifiers
        # a family fitted in boosting rounds: the training section (early stopping) reaches its fit
        "boosting": family is not None and family.early_stopping and ensemble is None,
        "can_prune": declared.can("prune"),
        "overlay": declared.overlay,
        # a back end that trains by epochs: the training section, checkpoints and --resume
        "training_loop": declared.can("training_options"),
        "backend_modules": [module for module, _ in declared.modules],
        # the files only this back end's projects have, by template name (e.g. "package/loop.py.j2")
        "backend_files": [template for template, _ in declared.files],
        "is_classification": task in CLASSIFICATION_TASKS,
        "family_description": FAMILIES[spec.model.family].description if spec.model.family in FAMILIES else "",
        "torch_version": pins.get("torch", ""),
        "project": dump["project"],
        "package": package,
        "spec_file": spec_file,
        "task": task.value,
        "kind": kind,
        "modality": modality,
        "dedupe": spec.data.cleaning.deduplicate,
        "source_kind": source_kind,
        "target": spec.problem.target,
        "family": spec.model.family,
        "is_auto": spec.model.family == "auto" and ensemble is None,
        "has_ensemble": ensemble is not None,
        "text_augmentation": spec.data.augmentation is not None and spec.data.augmentation.text is not None,
        "has_search": search is not None and bool(search.space) and spec.model.family != "auto",
        # --resume: a network's training goes on from its checkpoint; a cross-validated search keeps the
        # trials an interrupted one finished (checkpoints/search.json); a forecaster's backtests do not yet
        "resumable": declared.can("training_options") or (search is not None and bool(search.space)
                                                          and spec.model.family != "auto" and modality != "series"),
        "search_method": search.method if search else "bayesian",
        "search_trials": search.trials if search else 0,
        "search_timeout_s": search.timeout.seconds if search and search.timeout else None,
        "search_space": [(py_scalar(name), _distribution(dist)) for name, dist in space.items()],
        "search_imports": sorted({_distribution(d).split("(")[0] for d in space.values()} | {"Distribution"}),
        "cv_folds": (search.cv if search and search.cv else spec.data.split.folds) or 5,
        "auto_budget_s": spec.model.budget.seconds if spec.model.budget else 30.0,
        "primary": primary,
        "greater_is_better": METRICS[primary].higher_is_better if primary in METRICS else True,
        "sensitive": list(spec.compliance.sensitive),
        "gate_list": [str(c) for c in (*spec.metrics.acceptance, *spec.compliance.fairness)],
        "requirements": sorted(pins.items(), key=lambda kv: kv[0].lower()),
        # a CPU build (torch 2.13.0+cpu) is on PyTorch's own index, not on PyPI
        "index_urls": ["https://download.pytorch.org/whl/cpu"] if any(v.endswith("+cpu") for v in pins.values())
        else [],
        "data_dir": str(data_dir),
        "deploy": _deploy(spec),
        "distributed": distributed,
        "lit": {
            "spec": py_literal(dump, 0, len("SPEC: dict[str, Any] = ")),
            "locations": py_literal(locations, 0, len("LOCATIONS: dict[str, str] = ")),
            "features": py_literal(features, 0, len("FEATURES: list[str] = ")),
            "feature_types": py_literal(feature_types, 0, len("FEATURE_TYPES: dict[str, str] = ")),
            "params": py_literal(_params(spec), 0, len("PARAMS: dict[str, Any] = ")),
            "ensemble_members": py_literal([m.model_dump(mode="json") for m in ensemble.members], 0,
                                           len("MEMBERS: list[dict[str, Any]] = ")) if ensemble else "[]",
            "candidates": py_literal(list(spec.model.candidates or []), 0, len("CANDIDATES: list[str] = ")),
            "gates": py_literal([str(c) for c in spec.metrics.acceptance], 0, len("GATES: list[str] = ")),
            "fairness_gates": py_literal([str(c) for c in spec.compliance.fairness], 0,
                                         len("FAIRNESS_GATES: list[str] = ")),
            "report": py_literal(list(spec.metrics.report or []), 0, len("REPORT_METRICS: list[str] = ")),
            "target": py_scalar(spec.problem.target),
            # the text column a model reading token ids tokenises (check: it has exactly one, AIS338)
            "text_column": py_scalar(next((n for n, t in feature_types.items() if t == "text"), "text")),
            "positive_class": py_scalar(label_text(spec.problem.positive_class)
                                        if spec.problem.positive_class is not None else None),
            "backend": py_scalar(declared.name.value),
            "primary": py_scalar(primary),
            "family": py_scalar(spec.model.family),
            "task": py_scalar(task.value),
            "project_name": py_scalar(spec.project.name),
            "spec_file": py_scalar(spec_file),
            "data_dir": py_scalar(str(data_dir)),
            "ensemble_kind": py_scalar(ensemble.kind if ensemble else None),
            "ensemble_voting": py_scalar(ensemble.voting if ensemble else "soft"),
            "ensemble_final": py_scalar(ensemble.final_estimator if ensemble else None),
            **(_series_literals(spec) if series else {}),
        },
    }
