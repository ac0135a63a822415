"""Property tests: no input ever crashes the compiler; every problem is a diagnostic.

Whatever the text (random characters, random data, a valid spec broken in a
random place), ``check_text`` returns a result and never raises; it never
reports the internal-error code AIS900; every code it reports is registered in
``compiler.codes.CODES``; every position it reports lies inside the file; and a
spec without errors always resolves.

The strategies start from real specs (BASE_EXAMPLE, every file under
specs/examples/ and two inline specs that touch every section) so that the
mutated inputs get past the parser and exercise validation, the semantic
passes and resolution, not only the syntax checks.

All properties are derandomized (the same examples on every run, so CI is
reproducible) and have no deadline (CI machines are slow and uneven).
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aispec.compiler.api import CheckResult, check_text, parse
from aispec.compiler.codes import BASE_EXAMPLE, CODES
from aispec.compiler.diagnostics import format_json, format_text
from aispec.compiler.source import SourceFile

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "specs" / "examples"


def _settings(n: int) -> settings:
    return settings(
        max_examples=n,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# ---------------------------------------------------------------- seed specs

RICH_YAML = """\
# A spec that touches every section (YAML).
aispec: 1
project:
  name: churn-model
  description: Predict churn.  # trailing comment
  owner: data-team
  version: 1.2.3
problem:
  task: classification
  target: churned
  positive_class: "yes"
data:
  source:
    kind: csv
    path: ${DATA_DIR}/churn.csv
    delimiter: ";"
    encoding: utf-8
    header: true
  columns:
    customer_id: {type: categorical}
    email: text
    age: {type: numeric, nullable: true, range: [18, null], unit: years}
    plan: {type: categorical, allowed: [basic, pro, "no"]}
    signup: datetime
    region: categorical
    gender: categorical
    monthly_fee: numeric
    churned: {type: categorical, allowed: ["yes", "no"]}
  features: [age, plan, monthly_fee, region]
  drop: [customer_id]
  min_rows: 100
  cleaning:
    deduplicate: true
    impute: {numeric: mean, categorical: most_frequent, text: empty}
    outliers: {method: zscore, threshold: 3.0, action: drop}
    scaling: robust
    encoding: onehot
    max_categories: 20
    imbalance: class_weight
  augmentation:
    tabular: {noise: 0.01}
    factor: 1.5
  split: {train: 0.7, validation: 0.1, test: 0.2, stratify: true, seed: 7, folds: 5, group_column: region}
model:
  family: gradient_boosting
  params: {max_iter: 200}
  search:
    method: random
    trials: 20
    timeout: 10m
    cv: 3
    space:
      learning_rate: loguniform(1e-3, 0.3)
      max_depth: int(2, 8)
training:
  seed: 3
  early_stopping: {patience: 3, min_delta: 0.001}
metrics:
  primary: roc_auc
  report: [accuracy, roc_auc, f1]
  acceptance: [roc_auc >= 0.8, accuracy >= 0.7]
hardware:
  accelerator: cpu
  memory: 4GiB
  cpus: 4
  distributed: {engine: none, workers: 1}
deployment:
  target: rest
  api: {version: v2, max_batch: 100, max_body: 1MiB, auth: api_key, api_key_env: CHURN_API_KEY}
  latency_budget: 100ms
  optimize: {quantize: none, prune: 0.0}
  image: {base: "python:3.11-slim", name: churn, registry: registry.example.org}
  kubernetes: {replicas: 3, min_replicas: 2, max_replicas: 6, target_cpu: 60, cpu: 250m, memory: 1GiB, namespace: ml}
  ab_test: {challenger: specs/churn-v2.yaml, weight: 0.2, mode: shadow, sticky_key: customer_id}
monitoring:
  drift: {method: both, threshold: 0.25, window: 2000}
  log_predictions: true
  retraining: {trigger: schedule, schedule: "0 3 * * 1", min_feedback: 500}
compliance:
  regulations: [gdpr, eu_ai_act]
  pii: [email]
  sensitive: [gender]
  fairness: [demographic_parity_difference <= 0.1]
  intended_use: Retention offers.
  limitations: [Only EU customers.]
  notes: Reviewed quarterly.
  risk_level: limited
# closing comment
"""

RICH_DSL = """\
# Regression with an ensemble and a training block (DSL).
aispec = 1

project {
  name = house_prices
  description = "Predict sale prices."
}

problem {
  task = regression
  target = price  # in euros
}

data {
  source {
    kind = parquet
    path = "${DATA}/houses.parquet"
  }
  columns {
    price { type = numeric, range = [0, null] }
    rooms = numeric
    area = { type = numeric, unit = m2 }
    city = categorical
    built = datetime
  }
  drop = [built]
  split { train = 0.8, test = 0.2, seed = 1, time_ordered = false }
  cleaning { outliers { method = iqr, threshold = 1.5, action = clip } }
}

model {
  ensemble {
    kind = stacking
    members = [random_forest, { family = ridge, params { alpha = 1.0 } }]
    final_estimator = ridge
  }
}

training {
  seed = 0
  early_stopping = true
  regularization { l1 = 0.0, l2 = 0.01 }
}

metrics {
  primary = rmse
  acceptance = [r2 >= 0.5]
}

hardware { accelerator = auto, memory = 8GiB }
deployment { target = batch }
monitoring { drift { method = ks } }
"""


@functools.cache
def seed_texts() -> tuple[tuple[str, str], ...]:
    """(file name, text) of valid specs in both syntaxes; the DSL ones include conversions of the YAML ones."""
    texts: list[tuple[str, str]] = [("base.yaml", BASE_EXAMPLE), ("rich.yaml", RICH_YAML), ("rich.aispec", RICH_DSL)]
    for path in sorted(EXAMPLES.glob("*.yaml")) + sorted(EXAMPLES.glob("*.aispec")):
        texts.append((path.name, path.read_text(encoding="utf-8")))
    from aispec.compiler.formatting import format_source

    for name, text in list(texts):
        if name.endswith(".yaml"):
            converted = format_source(SourceFile(name, text), "dsl").text
            assert converted is not None, name
            texts.append((name.removesuffix(".yaml") + ".aispec", converted))
    return tuple(texts)


@functools.cache
def seed_data() -> tuple[dict[str, Any], ...]:
    out = []
    for name, text in seed_texts():
        raw = parse(SourceFile(name, text)).raw
        assert raw is not None, name
        out.append(raw)
    return tuple(out)


def test_seed_specs_are_valid() -> None:
    # the strategies mutate valid specs: make sure they are (a broken seed would weaken every property)
    for name, text in seed_texts():
        result = check_text(text, name)
        assert result.ok, (name, [(d.code, d.message) for d in result.errors])
        assert result.resolved is not None


# ---------------------------------------------------------------- the oracle


def assert_sane(text: str, path: str) -> CheckResult:
    """Check ``text`` and assert everything that must hold for any input whatsoever."""
    result = check_text(text, path)  # must not raise
    n_lines = len(text.splitlines())
    for d in result.diagnostics:
        assert d.code != "AIS900", f"internal error: {d.message}\n--- input ({path}) ---\n{text}"
        assert d.code in CODES, f"unregistered code {d.code}: {d.message}"
        assert d.message, d
        if d.span is not None:
            assert 1 <= d.span.line <= n_lines + 1, (d, n_lines, text)
            assert d.span.column >= 1, (d, text)
    if not result.errors:
        assert result.resolved is not None, f"no errors but nothing resolved:\n{text}"
        assert result.spec is not None
    # the CLI prints every diagnostic: that must not crash either
    format_text(result.diagnostics, result.source)
    format_json(result.diagnostics)
    return result


# ---------------------------------------------------------------- random text

YAML_PUNCT = ":-[]{}#&*!|>'\"%@`,?.~\\ \n\t"
DSL_PUNCT = "{}[]()=,#\"<>!.-_\\ \n\t"
LETTERS = "abnotyz019eE"

TOKENS = [
    "aispec", "project", "problem", "data", "model", "metrics", "source", "columns", "name", "task", "target",
    "kind", "bundled", "palmerpenguins", "species", "classification", "regression", "forecasting", "1", "0.5",
    "-1", "1e309", ".nan", ".inf", "null", "true", "no", "~", ": ", ":", "\n", "\n  ", "\n    ", "  ", "- ",
    "{", "}", "[", "]", "(", ")", "=", ",", '"', "'", "#", "# c\n", "&a ", "*a", "!!str ", "!!python/none ",
    "!foo ", "---\n", "...\n", "<<: ", "|\n  ", ">-\n  ", "? ", "%YAML 1.2\n", "accuracy >= 0.9", "int(2, 32)",
    "${X}", "10m", "2GiB", "\t", "\r\n", "\ufeff", "\x00", "\u2028", "é",
]

random_text = st.one_of(
    st.text(max_size=300),
    st.text(st.sampled_from(YAML_PUNCT + LETTERS), max_size=200),
    st.text(st.sampled_from(DSL_PUNCT + LETTERS), max_size=200),
    st.lists(st.sampled_from(TOKENS), max_size=60).map("".join),
)


@_settings(300)
@given(text=random_text)
def test_random_text_as_yaml(text: str) -> None:
    assert_sane(text, "x.yaml")


@_settings(300)
@given(text=random_text)
def test_random_text_as_dsl(text: str) -> None:
    assert_sane(text, "x.aispec")


@_settings(200)
@given(seed=st.integers(0, 10_000), tail=st.lists(st.sampled_from(TOKENS), max_size=30).map("".join))
def test_valid_prefix_then_garbage(seed: int, tail: str) -> None:
    texts = seed_texts()
    name, text = texts[seed % len(texts)]
    assert_sane(text + tail, name)
    assert_sane(tail + text, name)


# ---------------------------------------------------------------- random data

SECTION_KEYS = [
    "aispec", "project", "problem", "data", "model", "training", "metrics", "hardware", "deployment",
    "monitoring", "compliance", "name", "task", "target", "source", "kind", "columns", "features", "split",
    "search", "space", "acceptance", "primary", "family", "params", "ensemble", "members", "type", "range",
]
EXPRESSIONS = [
    "int(", "int(2, 32", "int(32, 2)", "choice()", "loguniform(0, 1)", "uniform(a, b)", "accuracy >=",
    "accuracy >= 0.9", ">= 0.9", "accuracy >= nan", "accuracy >= inf", "accuracy >= 1e999", "f1 >= 0.9 and",
    "accuracy => 0.9", "${", "${X", "${}", "${lower}", "$X", "10x", "-1m", "0s", "1e999h", "10", "2GiB",
    "0B", "-2GiB", "1.5.5GiB", "", " ", "\t", "None", "null", "no", "yes", "~", "1_000", "0x1F", "é", "a" * 300,
    "demographic_parity_difference <= 0.1", "p95_latency_ms <= 50", "int(2, 32)", "choice(a, a)",
    # text that YAML 1.1 and 1.2 read differently, or that only quoting keeps a string
    "1e3", "0o17", "-1e-3", "1E5", "0x1F", "+1", ".5", "1.", "+.inf", ".NaN", "True", "Null", "~", "a: b", "- x",
    "a #b", "&x", "*x", "!x", "? x", "[", "{", "x]", "f1(", "\x85", "\u2028", "\ufeff", "tab\there", "'", '"',
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-5, 5),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(EXPRESSIONS),
    st.sampled_from(SECTION_KEYS),
)
keys = st.one_of(st.sampled_from(SECTION_KEYS), st.text(max_size=12))
json_trees = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=5)),
    max_leaves=30,
)
spec_like = st.fixed_dictionaries(
    {"aispec": st.one_of(st.just(1), scalars)},
    optional={k: json_trees for k in SECTION_KEYS[1:11]},
)


def has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(has_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(has_non_finite(v) for v in value)
    return False


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@_settings(300)
@given(data=json_trees)
def test_random_data_as_yaml(data: Any) -> None:
    assert_sane(dump_yaml(data), "x.yaml")


@_settings(300)
@given(data=spec_like)
def test_spec_shaped_random_data(data: dict[str, Any]) -> None:
    assert_sane(dump_yaml(data), "x.yaml")
    from aispec.compiler.yaml_printer import print_yaml

    assert_sane(print_yaml(data), "x.yaml")
    if not has_non_finite(data):
        from aispec.compiler.dsl_printer import print_dsl

        assert_sane(print_dsl(data), "x.aispec")


# ---------------------------------------------------------------- structural mutations

Loc = tuple[str | int, ...]

SPECIAL_NUMBERS = [
    -1, 0, -0.0, 1, -1.5, 0.0, 1e-320, 1e308, -1e308, 10**30, -(10**30), 2**63, 2**64 + 1,
    math.nan, math.inf, -math.inf, True, False,
]


def all_locs(value: Any, loc: Loc = ()) -> list[Loc]:
    out = [loc]
    if isinstance(value, dict):
        for k, v in value.items():
            out += all_locs(v, (*loc, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += all_locs(v, (*loc, i))
    return out


def vocabulary(value: Any) -> list[str]:
    """Every string and key in a spec: borrowing them makes plausible cross-references."""
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.append(k)
            out += vocabulary(v)
    elif isinstance(value, list):
        for v in value:
            out += vocabulary(v)
    elif isinstance(value, str):
        out.append(value)
    return out


def get(root: Any, loc: Loc) -> Any:
    for part in loc:
        root = root[part]
    return root


def put(root: dict[str, Any], loc: Loc, value: Any) -> None:
    get(root, loc[:-1])[loc[-1]] = value


def typo(key: str, draw: Callable[[st.SearchStrategy[Any]], Any]) -> str:
    kind = draw(st.sampled_from(["drop", "double", "swap", "case", "add", "space", "dash"]))
    i = draw(st.integers(0, max(len(key) - 1, 0)))
    if kind == "drop" and key:
        return key[:i] + key[i + 1:]
    if kind == "double" and key:
        return key[:i] + key[i] + key[i:]
    if kind == "swap" and len(key) > 1:
        i = min(i, len(key) - 2)
        return key[:i] + key[i + 1] + key[i] + key[i + 2:]
    if kind == "case":
        return key.upper() if key != key.upper() else key.lower() + "x"
    if kind == "space":
        return f" {key}"
    if kind == "dash":
        return key.replace("_", "-") if "_" in key else key + "_"
    return key + draw(st.sampled_from("sxe_1"))


def swap_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        if value.lstrip("-").isdigit():
            return int(value)
        return [value] if len(value) % 2 else {value: value}
    if value is None:
        return ""
    if isinstance(value, dict):
        return list(value) if len(value) % 2 else [[k, v] for k, v in value.items()]
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    return value


OPS = ["delete", "replace", "rename", "swap_type", "insert_key", "number", "expression", "borrow", "duplicate"]


def mutate(raw: dict[str, Any], draw: Callable[[st.SearchStrategy[Any]], Any]) -> dict[str, Any]:
    data = copy.deepcopy(raw)
    words = vocabulary(raw)
    for _ in range(draw(st.integers(1, 4))):
        locs = all_locs(data)
        loc = draw(st.sampled_from(locs))
        op = draw(st.sampled_from(OPS))
        target = get(data, loc)
        if op == "insert_key" or not loc:
            # an unknown (or misplaced known) key in the nearest mapping
            while not isinstance(get(data, loc), dict):
                loc = loc[:-1]
            key = draw(st.one_of(st.sampled_from(SECTION_KEYS + words[:50]), st.text(max_size=10)))
            get(data, loc)[key] = draw(json_trees)
        elif op == "delete":
            parent = get(data, loc[:-1])
            del parent[loc[-1]]
        elif op == "replace":
            put(data, loc, draw(json_trees))
        elif op == "rename":
            parent = get(data, loc[:-1])
            if isinstance(parent, dict):
                new = typo(str(loc[-1]), draw)
                items = [(new if k == loc[-1] else k, v) for k, v in parent.items()]
                parent.clear()
                parent.update(items)  # a clash with an existing key just merges: still a valid input
            else:
                put(data, loc, typo(str(target), draw))
        elif op == "swap_type":
            put(data, loc, swap_type(target))
        elif op == "number":
            put(data, loc, draw(st.sampled_from(SPECIAL_NUMBERS)))
        elif op == "expression":
            put(data, loc, draw(st.sampled_from(EXPRESSIONS)))
        elif op == "borrow":
            put(data, loc, draw(st.sampled_from(words)) if words else "x")
        elif op == "duplicate":
            parent = get(data, loc[:-1])
            if isinstance(parent, list):
                parent.insert(int(loc[-1]), copy.deepcopy(target))
            else:
                parent[typo(str(loc[-1]), draw)] = copy.deepcopy(target)
    return data


@functools.cache
def all_words() -> tuple[str, ...]:
    """The strings and keys of every seed spec: task names, columns, families, metrics, units, ..."""
    return tuple(sorted({w for raw in seed_data() for w in vocabulary(raw)}))


def slot_name(loc: Loc) -> str:
    """The key a value sits under (a list item: the list's key)."""
    return next((str(part) for part in reversed(loc) if isinstance(part, str)), "")


@functools.cache
def words_by_slot() -> dict[str, tuple[str, ...]]:
    """For each key, the words the seed specs put there: other tasks for `task`, other columns for `target`."""
    found: dict[str, set[str]] = {}
    columns: set[str] = set()
    for raw in seed_data():
        for loc in all_locs(raw):
            value = get(raw, loc)
            if isinstance(value, str):
                found.setdefault(slot_name(loc), set()).add(value)
            if len(loc) == 3 and loc[:2] == ("data", "columns"):
                columns.add(str(loc[2]))
    for slot in ("target", "time_column", "group_column", "features", "drop", "pii", "sensitive", "sticky_key"):
        found.setdefault(slot, set()).update(columns)
    return {k: tuple(sorted(v)) for k, v in found.items()}


SMALL_NUMBERS = [0, 1, 2, 3, 5, 10, 52, 100, 1000, -1, 0.0, 0.01, 0.1, 0.2, 0.5, 0.8, 0.99, 1.0, 1.5, 20.0]


def mutate_keeping_shape(raw: dict[str, Any], draw: Callable[[st.SearchStrategy[Any]], Any]) -> dict[str, Any]:
    """Mutations that mostly keep the spec well-typed, so that it passes validation and reaches
    the semantic passes and resolution: other words where words are, other numbers where
    numbers are, optional parts removed, whole sections taken from another spec."""
    data = copy.deepcopy(raw)
    words = all_words()
    seeds = seed_data()
    for _ in range(draw(st.integers(1, 3))):
        loc = draw(st.sampled_from(all_locs(data)[1:]))
        target = get(data, loc)
        op = draw(st.sampled_from(["same_type", "same_type", "same_type", "delete", "transplant"]))
        if op == "delete":
            del get(data, loc[:-1])[loc[-1]]
        elif op == "transplant":
            # the same place in another spec: a forecasting `problem` on penguin data, ...
            other = seeds[draw(st.integers(0, len(seeds) - 1))]
            donor_locs = [lc for lc in all_locs(other)[1:] if len(lc) <= 3]
            donor = draw(st.sampled_from(donor_locs))
            parent_loc = donor[:-1]
            try:
                parent = get(data, parent_loc)
            except (KeyError, IndexError, TypeError):
                continue
            if isinstance(parent, dict):
                parent[donor[-1]] = copy.deepcopy(get(other, donor))
        elif isinstance(target, bool):
            put(data, loc, not target)
        elif isinstance(target, str):
            fitting = words_by_slot().get(slot_name(loc))
            put(data, loc, draw(st.sampled_from(fitting if fitting and draw(st.booleans()) else words)))
        elif isinstance(target, int | float):
            put(data, loc, draw(st.sampled_from(SMALL_NUMBERS)))
        elif isinstance(target, list):
            if target and draw(st.booleans()):
                del target[draw(st.integers(0, len(target) - 1))]
            else:
                target.append(draw(st.sampled_from(words)))
        elif isinstance(target, dict) and target:
            del target[draw(st.sampled_from(sorted(target)))]
        elif target is None:
            put(data, loc, draw(st.sampled_from(words)))
    return data


@st.composite
def mutated_specs(draw: Callable[[st.SearchStrategy[Any]], Any]) -> dict[str, Any]:
    seeds = seed_data()
    raw = seeds[draw(st.integers(0, len(seeds) - 1))]
    if draw(st.booleans()):
        return mutate_keeping_shape(raw, draw)
    return mutate(raw, draw)


@_settings(400)
@given(data=mutated_specs(), dumper=st.sampled_from(["print_yaml", "safe_dump"]))
def test_mutated_specs(data: dict[str, Any], dumper: str) -> None:
    from aispec.compiler.yaml_printer import print_yaml

    text = print_yaml(data) if dumper == "print_yaml" else dump_yaml(data)
    assert_sane(text, "mutated.yaml")
    if has_non_finite(data):
        return  # the DSL has no syntax for NaN and infinities
    from aispec.compiler.dsl_printer import print_dsl

    assert_sane(print_dsl(data), "mutated.aispec")


def _normalized(value: Any) -> Any:
    """NaN is not equal to itself: compare it as a marker."""
    if isinstance(value, float) and math.isnan(value):
        return "<nan>"
    if isinstance(value, dict):
        return {k: _normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def first_difference(a: Any, b: Any, loc: Loc = ()) -> str | None:
    """Where two data trees first differ, for a readable failure message."""
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return f"{loc}: keys {list(a)!r} != {list(b)!r}"
        for k in a:
            found = first_difference(a[k], b[k], (*loc, k))
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, (*loc, i))
            if found:
                return found
        return None
    if a != b or type(a) is not type(b):
        return f"{loc}: {a!r} ({type(a).__name__}) != {b!r} ({type(b).__name__})"
    return None


_BASE_RAW = yaml.safe_load(BASE_EXAMPLE)


@_settings(300)
@given(data=mutated_specs())
# strings with YAML flow indicators inside a flow list, a key with a line break, a NEL character
@example(data={**_BASE_RAW, "compliance": {"limitations": ["Only EU, not US"]}})
@example(data={**_BASE_RAW, "metrics": {"acceptance": ["int(2, 32"]}})
@example(data={**_BASE_RAW, "compliance": {"limitations": ["${"]}})
@example(data={**_BASE_RAW, "compliance": {"limitations": ["[draft]", "{x}"]}})
@example(data={**_BASE_RAW, "project": {"name": "penguins", "description": "x\x85y"}})
@example(data={**_BASE_RAW, "key\n": None})
@example(data={**_BASE_RAW, "compliance": {"limitations": ["1e3", "0o17", "-1e-3"], "notes": "1E5"}})
@example(data={**_BASE_RAW, "metrics": {"acceptance": ["accuracy >= (0.9"]}})
def test_printers_round_trip_mutated_specs(data: dict[str, Any]) -> None:
    # `fmt` and `convert` print raw data and promise that it reads back unchanged
    from aispec.compiler.yaml_printer import print_yaml

    text = print_yaml(data)
    parsed = parse(SourceFile("x.yaml", text))
    assert not parsed.diagnostics, (parsed.diagnostics, text)
    assert _normalized(parsed.raw) == _normalized(data), first_difference(_normalized(data), _normalized(parsed.raw))
    if has_non_finite(data):
        return
    from aispec.compiler.dsl_printer import print_dsl

    text = print_dsl(data)
    parsed = parse(SourceFile("x.aispec", text))
    assert not parsed.diagnostics, (parsed.diagnostics, text)
    assert parsed.raw == data, first_difference(data, parsed.raw)


# ---------------------------------------------------------------- text mutations

TEXT_OPS = ["delete_char", "duplicate_char", "insert_char", "delete_line", "duplicate_line", "insert_line",
            "swap_lines", "indent_line", "dedent_line"]
INSERT_CHARS = YAML_PUNCT + DSL_PUNCT + "a1é\r\x00"
INSERT_LINES = ["", "  ", "#", "x", "x: 1", "  - a", "key = value", "}", "{", "]", "[", "---", "  bogus: [",
                '"', "aispec: 2", "problem {", "\t", "accuracy >= 0.9"]


@st.composite
def mutated_texts(draw: Callable[[st.SearchStrategy[Any]], Any]) -> tuple[str, str]:
    texts = seed_texts()
    name, text = texts[draw(st.integers(0, len(texts) - 1))]
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(TEXT_OPS))
        if op.endswith("_char"):
            if not text:
                text = draw(st.sampled_from(INSERT_CHARS))
                continue
            i = draw(st.integers(0, len(text) - 1))
            if op == "delete_char":
                text = text[:i] + text[i + 1:]
            elif op == "duplicate_char":
                text = text[:i] + text[i] + text[i:]
            else:
                text = text[:i] + draw(st.sampled_from(INSERT_CHARS)) + text[i:]
            continue
        lines = text.split("\n")
        i = draw(st.integers(0, len(lines) - 1))
        if op == "delete_line":
            del lines[i]
        elif op == "duplicate_line":
            lines.insert(i, lines[i])
        elif op == "insert_line":
            lines.insert(i, draw(st.sampled_from(INSERT_LINES)))
        elif op == "swap_lines":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent_line":
            lines[i] = "  " + lines[i]
        else:
            lines[i] = lines[i].lstrip()
        text = "\n".join(lines)
    return name, text


@_settings(400)
@given(named=mutated_texts())
def test_mutated_texts(named: tuple[str, str]) -> None:
    name, text = named
    assert_sane(text, name)
