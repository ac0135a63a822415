"""serving.json is checked whole when the service starts (issue 13): a hand-edited or truncated file is
refused at start with the field's path, never a KeyError or a 5xx at the first request."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from aispec.runtime.errors import ConfigError
from aispec.runtime.serving.app import create_app

from .conftest import FEATURES, penguins


@pytest.fixture(scope="module")
def original(model_dirs: dict[str, Path]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((model_dirs["classification"] / "serving.json").read_text())
    return data


def _write(model_dirs: dict[str, Path], folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes((model_dirs["classification"] / "model.onnx").read_bytes())
    (folder / "serving.json").write_text(text)
    return folder


def _index(meta: dict[str, Any], name: str) -> int:
    return next(i for i, c in enumerate(meta["columns"]) if c["name"] == name)


EDITS: list[tuple[str, Any, str]] = [
    # (what, edit(meta) -> None, the path and problem the refusal names)
    ("edges not a list", lambda m: m["columns"][_index(m, "bill_length_mm")]["reference"].__setitem__("edges", "x"),
     r"columns\[1\]\.reference\.edges: Input should be a valid list"),
    ("counts per bin", lambda m: m["columns"][1]["reference"]["counts"].pop(),
     r"columns\[1\]\.reference\.counts: one count per bin"),
    ("edges out of order", lambda m: m["columns"][1]["reference"]["edges"].reverse(),
     r"columns\[1\]\.reference\.edges: at least two finite bin edges in ascending order"),
    ("missing nested key", lambda m: m["api"].pop("max_batch"), r"api\.max_batch: Field required"),
    ("string for a number", lambda m: m["api"].__setitem__("max_batch", "50"),
     r"api\.max_batch: Input should be a valid integer"),
    ("type and feed disagree", lambda m: m["columns"][0].__setitem__("type", "numeric"),
     r"columns\[0\]\.dtype: 'island' is numeric, fed to the model as double or float, not string"),
    ("reference of the wrong kind", lambda m: m["columns"][0].__setitem__("type", "text"),
     r"columns\[0\]\.reference\.kind: a text column has no reference"),
    ("range with one end", lambda m: m["columns"][1].__setitem__("range", [25.0]),
     r"columns\[1\]\.range: \[min, max\] has two entries"),
    ("zero drift window", lambda m: m["monitoring"]["drift"].__setitem__("window", 0),
     r"monitoring\.drift\.window: at least one row"),
    ("unknown reference kind", lambda m: m["columns"][1]["reference"].__setitem__("kind", "histogram"),
     r"columns\[1\]\.reference: Input tag 'histogram'"),
    ("duplicate class", lambda m: m.__setitem__("classes", ["Adelie", "Adelie", "Gentoo"]),
     r"classes: a class appears twice"),
    ("class count", lambda m: m.__setitem__("classes", ["Adelie", "Gentoo"]),
     r"classes: 2 classes, but the model's scores have 3 columns"),
    ("unknown ONNX input", lambda m: m["columns"][2].__setitem__("input", "nope"),
     r"columns\[2\]\.input: the ONNX graph model\.onnx has no input 'nope'"),
    ("API version in a URL", lambda m: m["api"].__setitem__("version", "v1/../admin"), r"api\.version: "),
    ("model outside the folder", lambda m: m["model"].__setitem__("file", "../model.onnx"), r"model\.file: "),
    ("PII as an input", lambda m: m["pii"].append("island"), r"columns\[0\]\.name: 'island' is listed in pii"),
    ("gate without its result", lambda m: m.__setitem__("gates", {"passed": False, "gates": [{"metric": "a"}]}),
     r"gates\.gates\[0\]\.passed: Field required"),
    ("invalid example", lambda m: m["example"].__setitem__("island", "Atlantis"), r"example: island: "),
]


@pytest.mark.parametrize(("what", "edit", "expected"), EDITS, ids=[e[0] for e in EDITS])
def test_hand_edits_are_refused_at_start_with_the_path(model_dirs: dict[str, Path], original: dict[str, Any],
                                                       tmp_path: Path, what: str, edit: Any, expected: str) -> None:
    meta = copy.deepcopy(original)
    edit(meta)
    folder = _write(model_dirs, tmp_path / "m", json.dumps(meta))
    with pytest.raises(ConfigError, match=expected):
        create_app(folder, log_dir=tmp_path / "logs")


def test_truncated_and_non_json_files_are_refused(model_dirs: dict[str, Path], original: dict[str, Any],
                                                  tmp_path: Path) -> None:
    text = json.dumps(original)
    for i, cut in enumerate((len(text) // 3, len(text) - 2)):
        with pytest.raises(ConfigError, match=r"cannot read .*serving\.json"):
            create_app(_write(model_dirs, tmp_path / f"t{i}", text[:cut]), log_dir=tmp_path / "logs")
    nan = json.dumps(original).replace('"latency_budget_ms": 50.0', '"latency_budget_ms": NaN')
    with pytest.raises(ConfigError, match="NaN is not JSON"):
        create_app(_write(model_dirs, tmp_path / "nan", nan), log_dir=tmp_path / "logs")


# ----------------------------------------------------------------------- mutations of a real file


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node[:3]):  # the first items stand for the rest (samples are long)
            out += _paths(value, (*prefix, i))
    return out


VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(-1e3, 1e3, allow_nan=False),
                   st.sampled_from(["", "x", "numeric", "categorical", "float", "string", "v1", "Adelie"]),
                   st.just([]), st.just({}), st.just([1.0, 0.0]))


def _mutate(meta: dict[str, Any], path: tuple[Any, ...], op: str, value: Any) -> None:
    parent: Any = meta
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if op == "delete":
        del parent[last]
    elif op == "truncate" and isinstance(parent[last], list | dict):
        items = parent[last]
        parent[last] = items[: len(items) // 2] if isinstance(items, list) else dict(list(items.items())[:1])
    else:
        parent[last] = value


def _row() -> dict[str, Any]:
    record = penguins()[FEATURES["classification"]].iloc[3].to_dict()
    return {k: (bool(v) if k == "tagged" else v) for k, v in record.items() if v == v and v is not None}


@pytest.mark.slow
@seed(20240613)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_mutation_starts_and_serves_or_is_refused_at_start(model_dirs: dict[str, Path], original: dict[str, Any],
                                                               tmp_path_factory: pytest.TempPathFactory,
                                                               data: st.DataObject) -> None:
    meta = copy.deepcopy(original)
    path = data.draw(st.sampled_from(_paths(meta)), label="path")
    op = data.draw(st.sampled_from(["delete", "replace", "truncate"]), label="op")
    _mutate(meta, path, op, data.draw(VALUES, label="value"))
    folder = _write(model_dirs, tmp_path_factory.mktemp("mutant"), json.dumps(meta))
    try:
        app = create_app(folder, log_dir=folder / "logs", allow_failed_gates=True)
    except ConfigError as refused:
        assert "serving.json" in refused.message  # refused at start, naming the file (and the field)
        return
    # accepted: every route answers without a server error
    with TestClient(app, raise_server_exceptions=False) as api:
        assert api.get("/ready").status_code == 200
        row = _row()
        answers = [api.post(p, json=body) for p, body in
                   (("/v1/predict", row), ("/v1/predict/batch", {"rows": [row, row]}),
                    ("/v1/predict", {**row, "island": 3}))]
        answers += [api.get(p) for p in ("/v1/model", "/v1/monitoring", "/metrics", "/openapi.json", "/health")]
        assert all(a.status_code < 500 for a in answers), [(a.url, a.status_code, a.text[:200]) for a in answers]
