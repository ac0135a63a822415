"""Every leaf field of the spec takes effect, or `aispec check` says it does not.

The property (issue "Nothing silent"): changing any field of a spec either changes the generated
project, or changes what the run reads, or yields a diagnostic. It is checked for every leaf of the
pydantic models, so a new field cannot be added without an effect (or a warning such as AIS410):

1. ``MUTATIONS`` must name every leaf path of ``Spec`` (the walk below enumerates them from the
   models): a new field fails ``test_every_leaf_field_has_a_mutation`` until someone says how to
   change it.
2. For each mutation, applied to one of the base specs below, at least one of:
   - the diagnostics of ``check`` change (a warning such as AIS410 "not built yet" counts);
   - the generated project changes, outside the copy of the spec (``spec.yaml``, the ``SPEC`` and
     ``LOCATIONS`` literals of ``config.py`` and the manifest, which hold every field verbatim);
   - the model card, datasheet or report the run writes change;
   - the run reads the field: each base project is built and run once with its ``SPEC`` replaced by a
     mapping that records every key read (plus the ``SPEC[...]`` subscripts in the generated code).
"""

from __future__ import annotations

import copy
import importlib
import re
import sys
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel

from aispec.compiler.api import check_text
from aispec.compiler.plan import build_plan
from aispec.compiler.render import render
from aispec.schemas.spec import Spec

# ----------------------------------------------------------------------------------- leaf paths


def _unwrap(t: Any) -> Any:
    while get_origin(t) is Annotated:
        t = get_args(t)[0]
    return t


def _model_leaves(model: type[BaseModel], prefix: str) -> list[str]:
    out: list[str] = []
    for name, field in model.model_fields.items():
        out += _walk(field.annotation, f"{prefix}{name}")
    return out


def _walk(t: Any, path: str) -> list[str]:
    t = _unwrap(t)
    origin = get_origin(t)
    if origin in (Union, types.UnionType):
        members = [_unwrap(a) for a in get_args(t) if a is not type(None)]
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        if len(models) > 1 and len(models) == len(members):  # the discriminated data source
            out: list[str] = []
            for m in models:
                kind = get_args(m.model_fields["kind"].annotation)[0]
                out += _model_leaves(m, f"{path}[{kind}].")
            return out
        out = []
        for m in members:
            out += [leaf for leaf in _walk(m, path) if leaf not in out]
        return out
    if isinstance(t, type) and issubclass(t, BaseModel):
        return _model_leaves(t, path + ".")
    if origin in (dict, list):
        inner = _unwrap(get_args(t)[-1])
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return _model_leaves(inner, path + ".*.")
        return [path + ".*"] if origin is dict else [path]
    return [path]


LEAVES = _model_leaves(Spec, "")

# ----------------------------------------------------------------------------------- base specs

PENGUINS_COLUMNS = {
    "species": {"type": "categorical", "allowed": ["Adelie", "Chinstrap", "Gentoo"]},
    "island": "categorical",
    "bill_length_mm": {"type": "numeric", "nullable": True, "range": [25, 70], "unit": "mm"},
    "bill_depth_mm": {"type": "numeric", "nullable": True},
    "flipper_length_mm": {"type": "numeric", "nullable": True},
    "body_mass_g": {"type": "numeric", "nullable": True},
    "sex": {"type": "categorical", "nullable": True},
    "email": "categorical",
}


def _classification() -> dict[str, Any]:
    return {
        "aispec": 1,
        "project": {"name": "cover-cls", "description": "penguins", "owner": "team", "version": "1.0.0"},
        "problem": {"task": "classification", "target": "species"},
        "data": {"source": {"kind": "csv", "path": "penguins.csv"}, "columns": copy.deepcopy(PENGUINS_COLUMNS),
                 "drop": [], "cleaning": {"outliers": {"method": "iqr", "threshold": 3.0, "action": "clip"},
                                          "encoding": "onehot"},
                 "split": {"seed": 1}},
        "model": {"family": "logistic_regression", "params": {"C": 1.0},
                  "search": {"method": "random", "trials": 2, "space": {"max_iter": "int(200, 400)"}, "cv": 3}},
        "metrics": {"primary": "f1_macro", "report": ["accuracy", "f1_macro"],
                    "acceptance": ["accuracy >= 0.5", "p95_latency_ms <= 1000"]},
        "hardware": {"cpus": 1, "memory": "4GiB"},
        "deployment": {"target": "rest", "latency_budget": "500ms",
                       "api": {"max_batch": 100, "max_body": "1MiB", "auth": "api_key", "api_key_env": "API_KEY"},
                       "image": {"name": "team/cover", "registry": "registry.example.org"},
                       "kubernetes": {"replicas": 2, "min_replicas": 1, "max_replicas": 4, "cpu": "250m",
                                      "memory": "512MiB", "namespace": "ml"},
                       "ab_test": {"challenger": "../challenger", "weight": 0.2, "sticky_key": "island"}},
        "monitoring": {"drift": {"method": "psi", "threshold": 0.3, "window": 200}, "log_predictions": True},
        "compliance": {"regulations": ["gdpr"], "pii": ["email"], "sensitive": ["sex"],
                       "fairness": ["demographic_parity_difference <= 0.9"], "intended_use": "teaching",
                       "limitations": ["small"], "notes": "none", "risk_level": "limited"},
    }


def _regression() -> dict[str, Any]:
    return {
        "aispec": 1, "project": {"name": "cover-reg"},
        "problem": {"task": "regression", "target": "progression"},
        "data": {"source": {"kind": "bundled", "name": "diabetes"}},
        "model": {"ensemble": {"kind": "stacking", "members": [{"family": "ridge", "params": {"alpha": 1.0}},
                                                               {"family": "random_forest",
                                                                "params": {"n_estimators": 20}}],
                               "final_estimator": "ridge"}},
        "metrics": {"primary": "r2"},
        "deployment": {"target": "none"},
    }


def _auto() -> dict[str, Any]:
    return {
        "aispec": 1, "project": {"name": "cover-auto"},
        "problem": {"task": "classification", "target": "cultivar"},
        "data": {"source": {"kind": "bundled", "name": "wine"}, "split": {"folds": 3}},
        "model": {"family": "auto", "budget": "4s", "candidates": ["logistic_regression", "naive_bayes"]},
        "deployment": {"target": "none"},
    }


def _anomaly() -> dict[str, Any]:
    return {
        "aispec": 1, "project": {"name": "cover-anom"},
        "problem": {"task": "anomaly_detection", "target": "diagnosis", "positive_class": "malignant",
                    "contamination": 0.3},
        "data": {"source": {"kind": "bundled", "name": "breast_cancer"}},
        "model": {"family": "isolation_forest", "params": {"n_estimators": 50}},
        "deployment": {"target": "batch"},
    }


def _clustering() -> dict[str, Any]:
    return {
        "aispec": 1, "project": {"name": "cover-clu"},
        "problem": {"task": "clustering", "n_clusters": 3},
        "data": {"source": {"kind": "bundled", "name": "iris"}, "drop": ["species"]},
        "model": {"family": "kmeans"},
        "deployment": {"target": "none"},
    }


def _source(kind: str) -> dict[str, Any]:
    spec = _classification()
    spec["project"]["name"] = f"cover-{kind}"
    spec["deployment"] = {"target": "none"}
    spec["monitoring"] = {}
    spec["model"] = {"family": "logistic_regression"}
    spec["data"]["source"] = {
        "jsonl": {"kind": "jsonl", "path": "penguins.jsonl"},
        "parquet": {"kind": "parquet", "path": "penguins.parquet"},
        "sql": {"kind": "sql", "url": "sqlite:///penguins.db", "table": "penguins"},
    }[kind]
    return spec


BASES = {"cls": _classification, "reg": _regression, "auto": _auto, "anom": _anomaly, "clu": _clustering,
         "jsonl": lambda: _source("jsonl"), "parquet": lambda: _source("parquet"), "sql": lambda: _source("sql")}

# --------------------------------------------------------------------------------- the mutations

# leaf path -> (base, path to set in the raw spec, value). `*` in a leaf path is one concrete entry.
MUTATIONS: dict[str, tuple[str, str, Any]] = {
    "aispec": ("cls", "aispec", 2),
    "project.name": ("cls", "project.name", "other-name"),
    "project.description": ("cls", "project.description", "a different description"),
    "project.owner": ("cls", "project.owner", "someone else"),
    "project.version": ("cls", "project.version", "2.0.0"),
    "problem.task": ("cls", "problem.task", "regression"),
    "problem.target": ("cls", "problem.target", "island"),
    "problem.positive_class": ("cls", "problem.positive_class", "Adelie"),
    "problem.horizon": ("cls", "problem.horizon", 3),
    "problem.time_column": ("cls", "problem.time_column", "bill_length_mm"),
    "problem.frequency": ("cls", "problem.frequency", "D"),
    "problem.lags": ("cls", "problem.lags", [1, 2]),
    "problem.season": ("cls", "problem.season", 12),
    "problem.multi_step": ("cls", "problem.multi_step", "direct"),
    "problem.n_clusters": ("clu", "problem.n_clusters", 4),
    "problem.contamination": ("anom", "problem.contamination", 0.2),
    "data.source[csv].kind": ("jsonl", "data.source", {"kind": "csv", "path": "penguins.csv"}),
    "data.source[csv].path": ("cls", "data.source.path", "other.csv"),
    "data.source[csv].delimiter": ("cls", "data.source.delimiter", ";"),
    "data.source[csv].encoding": ("cls", "data.source.encoding", "latin-1"),
    "data.source[csv].header": ("cls", "data.source.header", False),
    "data.source[csv].na_values": ("cls", "data.source.na_values", ["NA"]),
    "data.source[parquet].kind": ("cls", "data.source", {"kind": "parquet", "path": "penguins.parquet"}),
    "data.source[parquet].path": ("parquet", "data.source.path", "other.parquet"),
    "data.source[jsonl].kind": ("cls", "data.source", {"kind": "jsonl", "path": "penguins.jsonl"}),
    "data.source[jsonl].path": ("jsonl", "data.source.path", "other.jsonl"),
    "data.source[jsonl].encoding": ("jsonl", "data.source.encoding", "latin-1"),
    "data.source[jsonl].na_values": ("jsonl", "data.source.na_values", ["NA"]),
    "data.source[sql].kind": ("cls", "data.source", {"kind": "sql", "url": "sqlite:///penguins.db",
                                                     "table": "penguins"}),
    "data.source[sql].url": ("sql", "data.source.url", "sqlite:///other.db"),
    "data.source[sql].query": ("sql", "data.source", {"kind": "sql", "url": "sqlite:///penguins.db",
                                                      "query": "SELECT * FROM penguins"}),
    "data.source[sql].table": ("sql", "data.source.table", "other"),
    "data.source[image_folder].kind": ("cls", "data.source", {"kind": "image_folder", "path": "images"}),
    "data.source[image_folder].path": ("cls", "data.source", {"kind": "image_folder", "path": "other"}),
    "data.source[image_folder].image_size": ("cls", "data.source", {"kind": "image_folder", "path": "images",
                                                                    "image_size": [8, 8]}),
    "data.source[image_folder].extensions": ("cls", "data.source", {"kind": "image_folder", "path": "images",
                                                                    "extensions": [".png"]}),
    "data.source[bundled].kind": ("cls", "data.source", {"kind": "bundled", "name": "palmerpenguins"}),
    "data.source[bundled].name": ("reg", "data.source.name", "linnerud"),
    "data.columns.*.type": ("cls", "data.columns.island", {"type": "text"}),
    "data.columns.*.nullable": ("cls", "data.columns.island", {"type": "categorical", "nullable": True}),
    "data.columns.*.range": ("cls", "data.columns.body_mass_g", {"type": "numeric", "nullable": True,
                                                                 "range": [2000, 7000]}),
    "data.columns.*.allowed": ("cls", "data.columns.island", {"type": "categorical",
                                                              "allowed": ["Biscoe", "Dream", "Torgersen"]}),
    "data.columns.*.na_values": ("cls", "data.columns.island", {"type": "categorical", "na_values": ["-"]}),
    "data.columns.*.description": ("cls", "data.columns.island", {"type": "categorical", "description": "where"}),
    "data.columns.*.unit": ("cls", "data.columns.body_mass_g", {"type": "numeric", "nullable": True, "unit": "g"}),
    "data.features": ("cls", "data.features", ["island", "bill_length_mm"]),
    "data.drop": ("cls", "data.drop", ["island"]),
    "data.min_rows": ("cls", "data.min_rows", 50),
    "data.cleaning.deduplicate": ("cls", "data.cleaning.deduplicate", True),
    "data.cleaning.impute.numeric": ("cls", "data.cleaning.impute.numeric", "mean"),
    "data.cleaning.impute.categorical": ("cls", "data.cleaning.impute.categorical", "constant"),
    "data.cleaning.impute.text": ("cls", "data.cleaning.impute.text", "drop"),
    "data.cleaning.impute.fill_value": ("cls", "data.cleaning.impute.fill_value", "unknown"),
    "data.cleaning.outliers.method": ("cls", "data.cleaning.outliers.method", "zscore"),
    "data.cleaning.outliers.threshold": ("cls", "data.cleaning.outliers.threshold", 2.0),
    "data.cleaning.outliers.action": ("cls", "data.cleaning.outliers.action", "drop"),
    "data.cleaning.scaling": ("cls", "data.cleaning.scaling", "minmax"),
    "data.cleaning.encoding": ("cls", "data.cleaning.encoding", "ordinal"),
    "data.cleaning.max_categories": ("cls", "data.cleaning.max_categories", 2),
    "data.cleaning.imbalance": ("cls", "data.cleaning.imbalance", "oversample"),
    "data.augmentation.tabular.noise": ("cls", "data.augmentation.tabular.noise", 0.1),
    "data.augmentation.image.flip": ("cls", "data.augmentation.image.flip", "horizontal"),
    "data.augmentation.image.rotate": ("cls", "data.augmentation.image.rotate", 10.0),
    "data.augmentation.image.crop": ("cls", "data.augmentation.image.crop", 0.1),
    "data.augmentation.image.color_jitter": ("cls", "data.augmentation.image.color_jitter", 0.1),
    "data.augmentation.text.synonym_swap": ("cls", "data.augmentation.text.synonym_swap", 0.1),
    "data.augmentation.text.random_deletion": ("cls", "data.augmentation.text.random_deletion", 0.1),
    "data.augmentation.factor": ("cls", "data.augmentation.factor", 2.0),
    "data.split.train": ("cls", "data.split", {"train": 0.7, "test": 0.3}),
    "data.split.validation": ("cls", "data.split", {"train": 0.7, "validation": 0.1, "test": 0.2}),
    "data.split.test": ("cls", "data.split", {"train": 0.75, "test": 0.25}),
    "data.split.stratify": ("cls", "data.split.stratify", False),
    "data.split.seed": ("cls", "data.split.seed", 7),
    "data.split.folds": ("auto", "data.split.folds", 4),
    "data.split.time_ordered": ("cls", "data.split.time_ordered", True),
    "data.split.group_column": ("cls", "data.split.group_column", "island"),
    "model.family": ("cls", "model.family", "random_forest"),
    "model.backend": ("cls", "model.backend", "torch"),
    "model.params.*": ("cls", "model.params.C", 0.5),
    "model.search.method": ("cls", "model.search.method", "bayesian"),
    "model.search.trials": ("cls", "model.search.trials", 3),
    "model.search.timeout": ("cls", "model.search.timeout", "30s"),
    "model.search.space.*": ("cls", "model.search.space.max_iter", "int(300, 500)"),
    "model.search.cv": ("cls", "model.search.cv", 4),
    "model.ensemble.kind": ("reg", "model.ensemble.kind", "voting"),
    "model.ensemble.members.*.family": ("reg", "model.ensemble.members", [{"family": "lasso"},
                                                                          {"family": "random_forest"}]),
    "model.ensemble.members.*.params.*": ("reg", "model.ensemble.members", [
        {"family": "ridge", "params": {"alpha": 2.0}}, {"family": "random_forest", "params": {"n_estimators": 20}}]),
    "model.ensemble.voting": ("cls", "model", {"ensemble": {"kind": "voting", "voting": "hard",
                                                            "members": ["logistic_regression", "naive_bayes"]}}),
    "model.ensemble.final_estimator": ("reg", "model.ensemble.final_estimator", "lasso"),
    "model.budget": ("auto", "model.budget", "5s"),
    "model.candidates": ("auto", "model.candidates", ["naive_bayes", "knn"]),
    "training.loss": ("cls", "training.loss", "log_loss"),
    "training.optimizer": ("cls", "training.optimizer", "adam"),
    "training.learning_rate": ("cls", "training.learning_rate", 0.01),
    "training.schedule.kind": ("cls", "training.schedule", {"kind": "cosine"}),
    "training.schedule.gamma": ("cls", "training.schedule", {"kind": "step", "gamma": 0.5}),
    "training.schedule.step_size": ("cls", "training.schedule", {"kind": "step", "step_size": 5}),
    "training.schedule.patience": ("cls", "training.schedule", {"kind": "plateau", "patience": 3}),
    "training.checkpoint_every": ("cls", "training.checkpoint_every", 2),
    "training.batch_size": ("cls", "training.batch_size", 16),
    "training.epochs": ("cls", "training.epochs", 5),
    "training.early_stopping.patience": ("cls", "training.early_stopping", {"patience": 3}),
    "training.early_stopping.monitor": ("cls", "training.early_stopping", {"monitor": "loss"}),
    "training.early_stopping.min_delta": ("cls", "training.early_stopping", {"min_delta": 0.1}),
    "training.early_stopping": ("cls", "training.early_stopping", True),
    "training.regularization.l1": ("cls", "training.regularization.l1", 0.1),
    "training.regularization.l2": ("cls", "training.regularization.l2", 0.1),
    "training.regularization.dropout": ("cls", "training.regularization.dropout", 0.1),
    "training.seed": ("cls", "training.seed", 3),
    "metrics.primary": ("cls", "metrics.primary", "accuracy"),
    "metrics.report": ("cls", "metrics.report", ["accuracy", "f1_macro", "balanced_accuracy"]),
    "metrics.acceptance": ("cls", "metrics.acceptance", ["accuracy >= 0.6", "p95_latency_ms <= 1000"]),
    "hardware.accelerator": ("cls", "hardware.accelerator", "gpu"),
    "hardware.memory": ("cls", "hardware.memory", "8GiB"),
    "hardware.cpus": ("cls", "hardware.cpus", 2),
    "hardware.distributed.engine": ("cls", "hardware.distributed.engine", "ray"),
    "hardware.distributed.workers": ("cls", "hardware.distributed.workers", 4),
    # the cluster settings: without an engine they are AIS371; with one they reach the Ray engine's code
    "hardware.distributed.address": ("cls", "hardware.distributed", {"address": "auto"}),
    "hardware.distributed.cpus_per_worker": ("cls", "hardware.distributed", {"cpus_per_worker": 2}),
    "hardware.distributed.gpus_per_worker": ("cls", "hardware.distributed", {"gpus_per_worker": 1}),
    "hardware.distributed.memory_per_worker": ("cls", "hardware.distributed", {"memory_per_worker": "2GiB"}),
    "deployment.target": ("cls", "deployment.target", "batch"),
    "deployment.api.version": ("cls", "deployment.api.version", "v2"),
    "deployment.api.max_batch": ("cls", "deployment.api.max_batch", 50),
    "deployment.api.max_body": ("cls", "deployment.api.max_body", "2MiB"),
    "deployment.api.auth": ("cls", "deployment.api", {"auth": "none"}),
    "deployment.api.api_key_env": ("cls", "deployment.api.api_key_env", "OTHER_KEY"),
    "deployment.latency_budget": ("cls", "deployment.latency_budget", "200ms"),
    "deployment.optimize.quantize": ("cls", "deployment.optimize.quantize", "int8"),
    "deployment.optimize.prune": ("cls", "deployment.optimize.prune", 0.5),
    "deployment.image.base": ("cls", "deployment.image.base", "python:3.12-slim"),
    "deployment.image.name": ("cls", "deployment.image.name", "team/other"),
    "deployment.image.registry": ("cls", "deployment.image.registry", "ghcr.io"),
    "deployment.kubernetes.replicas": ("cls", "deployment.kubernetes.replicas", 3),
    "deployment.kubernetes.min_replicas": ("cls", "deployment.kubernetes.min_replicas", 2),
    "deployment.kubernetes.max_replicas": ("cls", "deployment.kubernetes.max_replicas", 6),
    "deployment.kubernetes.target_cpu": ("cls", "deployment.kubernetes.target_cpu", 50),
    "deployment.kubernetes.cpu": ("cls", "deployment.kubernetes.cpu", "500m"),
    "deployment.kubernetes.memory": ("cls", "deployment.kubernetes.memory", "1GiB"),
    "deployment.kubernetes.namespace": ("cls", "deployment.kubernetes.namespace", "other"),
    "deployment.ab_test.challenger": ("cls", "deployment.ab_test.challenger", "../other"),
    "deployment.ab_test.weight": ("cls", "deployment.ab_test.weight", 0.4),
    "deployment.ab_test.mode": ("cls", "deployment.ab_test.mode", "shadow"),
    "deployment.ab_test.sticky_key": ("cls", "deployment.ab_test.sticky_key", "sex"),
    "monitoring.drift.method": ("cls", "monitoring.drift.method", "ks"),
    "monitoring.drift.threshold": ("cls", "monitoring.drift.threshold", 0.5),
    "monitoring.drift.window": ("cls", "monitoring.drift.window", 500),
    "monitoring.log_predictions": ("cls", "monitoring.log_predictions", False),
    "monitoring.retraining.trigger": ("cls", "monitoring.retraining.trigger", "drift"),
    "monitoring.retraining.schedule": ("cls", "monitoring.retraining", {"trigger": "schedule",
                                                                        "schedule": "0 3 * * 1"}),
    "monitoring.retraining.min_feedback": ("cls", "monitoring.retraining.min_feedback", 10),
    "compliance.regulations": ("cls", "compliance.regulations", ["gdpr", "hipaa"]),
    "compliance.pii": ("cls", "compliance.pii", ["email", "island"]),
    "compliance.sensitive": ("cls", "compliance.sensitive", ["sex", "island"]),
    "compliance.fairness": ("cls", "compliance.fairness", ["demographic_parity_difference <= 0.8"]),
    "compliance.intended_use": ("cls", "compliance.intended_use", "research"),
    "compliance.limitations": ("cls", "compliance.limitations", ["tiny", "old"]),
    "compliance.notes": ("cls", "compliance.notes", "other notes"),
    "compliance.risk_level": ("cls", "compliance.risk_level", "minimal"),
}


def test_every_leaf_field_has_a_mutation() -> None:
    """A new spec field fails here until it has a mutation below, whose effect the next test checks."""
    assert len(LEAVES) > 100
    assert sorted(set(LEAVES) - set(MUTATIONS)) == [], "add these fields to MUTATIONS"
    assert sorted(set(MUTATIONS) - set(LEAVES)) == [], "these MUTATIONS name no field"


# --------------------------------------------------------------------------------------- helpers


def _set(raw: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    node = out
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return out


def _check(raw: Mapping[str, Any], folder: Path) -> Any:
    path = folder / "spec.yaml"
    return check_text(yaml.safe_dump(dict(raw), sort_keys=False), str(path))


_LITERAL = re.compile(r"^(SPEC|LOCATIONS): dict\[str, (Any|str)\] = \{.*?^\}\n|^SPEC_HASH = [^\n]*\n", re.S | re.M)
_VERBATIM = ("spec.yaml", "spec.aispec", ".aispec/manifest.json")


def _tree(result: Any, folder: Path) -> dict[str, str] | None:
    """The generated files, without the ones that hold the spec verbatim."""
    plan, _ = build_plan(result, folder / "project")
    if plan is None:
        return None
    tree = render(plan)
    out: dict[str, str] = {}
    for path, content in tree.items():
        name = str(path)
        if name in _VERBATIM:
            continue
        text = content.decode("latin-1") if isinstance(content, bytes) else str(content)
        if name.endswith("/config.py"):
            text = _LITERAL.sub("", text)
        out[name] = text
    return out


def _documents(result: Any) -> tuple[str, str, str]:
    """The model card, datasheet and report a run writes, from the resolved spec alone."""
    from aispec.runtime import cards, report

    run = {"spec": result.resolved.model_dump(mode="json"), "environment": {"packages": {}}}
    return cards.model_card(run), cards.datasheet(run), report.render_html(run)


def _diagnostics(result: Any) -> set[tuple[str, tuple[Any, ...], str]]:
    return {(d.code, tuple(d.loc), d.message) for d in result.diagnostics}


# ---------------------------------------------------------------------------- recording the run


class Recorder(dict):  # type: ignore[type-arg]
    """A dict that records which keys are read, as dotted paths (nested dicts record under their path).

    Iterating (``dict(x)``, ``{**x}``) counts as reading every key: the copy is handed on to code that
    reads it. Serialising (``json.dumps``, ``items()``) does not."""

    def __init__(self, data: Mapping[str, Any], path: str, seen: set[str]) -> None:
        super().__init__({k: Recorder._wrap(v, f"{path}{k}.", seen) for k, v in data.items()})
        self._path, self._seen = path, seen

    @staticmethod
    def _wrap(value: Any, path: str, seen: set[str]) -> Any:
        if isinstance(value, Mapping):
            return Recorder(value, path, seen)
        if isinstance(value, list):
            return [Recorder._wrap(v, f"{path}*.", seen) for v in value]
        return value

    def _mark(self, key: Any) -> None:
        self._seen.add(f"{self._path}{key}")

    def __getitem__(self, key: Any) -> Any:
        self._mark(key)
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self._mark(key)
        return super().get(key, default)

    def __contains__(self, key: Any) -> bool:
        self._mark(key)
        return super().__contains__(key)

    def __iter__(self) -> Iterator[Any]:
        for key in super().__iter__():
            self._mark(key)
            yield key

    def keys(self) -> Any:
        for key in dict.__iter__(self):
            self._mark(key)
        return super().keys()

    def __deepcopy__(self, memo: Any) -> Any:
        return copy.deepcopy(dict(self), memo)


_SUBSCRIPT = re.compile(r'SPEC((?:\["[A-Za-z_0-9]+"\])+)')


def _static_reads(project: Path) -> set[str]:
    """``SPEC["a"]["b"]`` subscripts in the generated code (config.py's constants are read at import)."""
    out: set[str] = set()
    for path in project.rglob("*.py"):
        for match in _SUBSCRIPT.finditer(path.read_text(encoding="utf-8")):
            out.add(".".join(re.findall(r'"([^"]+)"', match.group(1))))
    return out


def _data_files(folder: Path) -> None:
    import sqlite3

    from aispec.runtime.datasets import load_bundled

    frame = load_bundled("palmerpenguins").drop(columns=["year"])
    frame["email"] = [f"bird{i}@example.org" for i in range(len(frame))]
    frame.to_csv(folder / "penguins.csv", index=False)
    frame.to_csv(folder / "other.csv", index=False)
    frame.to_json(folder / "penguins.jsonl", orient="records", lines=True)
    frame.to_parquet(folder / "penguins.parquet")
    with sqlite3.connect(folder / "penguins.db") as conn:
        frame.to_sql("penguins", conn, index=False)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("coverage")
    _data_files(folder)
    return folder


@pytest.fixture(scope="module")
def reads(workspace: Path) -> dict[str, set[str]]:
    """Per base: every SPEC path the generated project reads when it runs (statically and at run time)."""
    from aispec.compiler.build import build

    out: dict[str, set[str]] = {}
    for name, make in BASES.items():
        folder = workspace / f"base-{name}"
        folder.mkdir(exist_ok=True)
        for data in workspace.iterdir():
            if data.is_file():
                (folder / data.name).write_bytes(data.read_bytes())
        spec = folder / "spec.yaml"
        spec.write_text(yaml.safe_dump(make(), sort_keys=False), encoding="utf-8")
        result = build(spec, folder / "project")
        assert result.ok, [(d.code, d.message) for d in result.diagnostics]
        package = result.plan.package if result.plan is not None else ""
        seen: set[str] = set(_static_reads(folder / "project"))
        sys.path.insert(0, str(folder / "project"))
        try:
            config = importlib.import_module(f"{package}.config")
            config.SPEC = Recorder(config.SPEC, "", seen)  # type: ignore[attr-defined]
            train = importlib.import_module(f"{package}.train")
            code = train.main()
            assert code in (0, 1), f"{name}: the base project's run failed ({code})"
        finally:
            sys.path.remove(str(folder / "project"))
            for module in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
                del sys.modules[module]
        out[name] = seen
    return out


def _read(path: str, seen: set[str]) -> bool:
    """Whether the run read ``path`` (a dotted spec path; ``*`` and ``[kind]`` match any entry)."""
    pattern = re.escape(re.sub(r"\[[a-z_]+\]", "", path)).replace(r"\*", r"[^.]+")
    probe = re.compile(rf"^{pattern}(\..*)?$")
    return any(probe.match(s) for s in seen)


@pytest.mark.slow
@pytest.mark.parametrize("leaf", sorted(MUTATIONS))
def test_changing_a_field_has_an_effect_or_a_diagnostic(leaf: str, workspace: Path,
                                                        reads: dict[str, set[str]]) -> None:
    base_name, path, value = MUTATIONS[leaf]
    base = BASES[base_name]()
    changed = _set(base, path, value)
    assert changed != base, f"{leaf}: the mutation changes nothing"
    folder = workspace / f"base-{base_name}"
    before, after = _check(base, folder), _check(changed, folder)
    if _diagnostics(before) != _diagnostics(after):
        return  # check says something about it (an error, or a warning such as AIS410)
    assert after.resolved is not None
    if _tree(before, folder) != _tree(after, folder):
        return  # the generated project changes
    if before.resolved is not None and _documents(before) != _documents(after):
        return  # the model card, datasheet or report say it
    spec_path = re.sub(r"\.\*.*$", "", leaf) if leaf.endswith(".*") else leaf
    assert _read(spec_path, reads[base_name]), (
        f"{leaf}: changing it ({path} = {value!r}) changes no diagnostic, no generated file, and the run never "
        "reads it: honour it, or make check warn (AIS410)")
