"""Fuzzing both front ends in CI, for a bounded number of inputs.

The generators and the oracle are those of ``benchmarks/fuzz_frontends.py`` (run it for minutes or
hours: ``python benchmarks/fuzz_frontends.py --duration 600``). Here Hypothesis drives them, with a
fixed seed (derandomized) and the example counts written below, and adds its own strategies over
the DSL grammar and YAML structure:

- DSL programs built from the grammar's productions (statements, blocks, every kind of value,
  lists and inline objects nested past the depth limit);
- YAML documents: random data in random styles, anchors, aliases and tags included;
- byte-level mutations of the example specs (``specs/examples/*.yaml`` and ``*.aispec``).

The contract (``check_invariants``): ``check_text`` returns diagnostics and never raises, never
reports an AIS9xx internal error, reports only registered codes at positions inside the file,
finishes within a time bound, and the report the CLI prints stays within a size bound; ``fmt`` and
``convert`` never raise either.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
TIME_LIMIT_S = 5.0  # per input, on a loaded CI machine; they take milliseconds


def _load_fuzzer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_frontends", ROOT / "benchmarks" / "fuzz_frontends.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_frontends"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


fuzz = _load_fuzzer()


def _settings(n: int) -> settings:
    return settings(max_examples=n, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def assert_contract(text: str, path: str) -> None:
    problems = fuzz.check_invariants(text, path, TIME_LIMIT_S)
    shown = text if len(text) < 2_000 else text[:1_000] + f"\n... ({len(text):,} characters) ...\n" + text[-500:]
    assert not problems, f"{problems}\n--- input ({path}) ---\n{shown}"


# ---------------------------------------------------------------- the DSL grammar


names = st.sampled_from(fuzz.vocabulary()[0] + ("x", "a-b.c", "_", "true", "false", "null"))
numbers = st.one_of(
    st.integers(-10**30, 10**30).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: repr(f).replace("inf", "1e999")),
    st.builds(lambda n, unit: f"{n}{unit}", st.integers(0, 999), st.sampled_from(["m", "s", "ms", "h", "GiB", "%"])),
    st.sampled_from(["1_000", "1e-4", "0.1.0", "1e309", "-0", "1.5%"]),
)
strings = st.text(max_size=20).map(json.dumps)
operators = st.sampled_from([">=", "<=", "<", ">", "==", "!="])
scalars = st.one_of(names, numbers, strings, st.sampled_from(["true", "false", "null"]),
                    st.builds(lambda m, op, n: f"{m} {op} {n}", names, operators, numbers),
                    st.builds(lambda f, args: f"{f}({', '.join(args)})", names,
                              st.lists(st.one_of(names, numbers, strings), max_size=3)))


def _dsl_containers(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    items = st.lists(children, max_size=4)
    body = st.lists(st.tuples(names, children), max_size=4).map(
        lambda stmts: "\n".join(f"{k} = {v}" for k, v in stmts))
    return st.one_of(
        st.builds(lambda xs, sep: "[" + sep.join(xs) + "]", items, st.sampled_from([", ", ",\n", "\n, "])),
        body.map(lambda b: "{ " + b.replace("\n", ", ") + " }"),
    )


dsl_values = st.recursive(scalars, _dsl_containers, max_leaves=40)
dsl_statements = st.one_of(
    st.builds(lambda k, v: f"{k} = {v}", names, dsl_values),
    st.builds(lambda k, inner: f"{k} {{\n" + "\n".join(inner) + "\n}", names,
              st.lists(st.builds(lambda k, v: f"  {k} = {v}", names, dsl_values), max_size=4)),
)
dsl_programs = st.builds(
    lambda stmts, sep, lead: lead + sep.join(stmts),
    st.lists(dsl_statements, max_size=8),
    st.sampled_from(["\n", ", ", "\n\n# a comment\n", "\r\n"]),
    st.sampled_from(["", "aispec = 1\n", "# spec\naispec = 1\n"]),
)
deep_dsl = st.builds(lambda depth, kind: "aispec = 1\nnotes = " + {
    "list": "[" * depth + "]" * depth,
    "object": "{ a = " * depth + "1" + " }" * depth,
}[kind], st.integers(60, 70) | st.sampled_from([1_000, 5_000]), st.sampled_from(["list", "object"]))


@pytest.mark.slow
@_settings(250)
@given(text=st.one_of(dsl_programs, deep_dsl))
@example(text="aispec = 1\nnotes = " + "[" * 5_000 + "]" * 5_000)  # 5,000 levels: AIS109, not a crash
@example(text="".join(f"x{i} = $\n" for i in range(200)))  # many bad characters: lexed once, not once each
@example(text="metrics { acceptance = [recall >= 40%] }\nproject { version = 0.1.0 }")
def test_dsl_grammar(text: str) -> None:
    assert_contract(text, "fuzz.aispec")


@pytest.mark.slow
@_settings(150)
@given(rng=st.randoms(use_true_random=False))
def test_dsl_generator(rng: random.Random) -> None:
    assert_contract(*reversed(fuzz.gen_dsl(rng)))


# ---------------------------------------------------------------- YAML structure


yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
                         st.sampled_from(fuzz.vocabulary()[1] + ("no", "1e3", "0o17", "a: b", "- x", "#", "&a", "*a",
                                                                 "!!str", "|", "'", '"', "\t", "\x85", "\x1b")))
yaml_data = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.one_of(names, st.text(max_size=10)), children, max_size=4)),
    max_leaves=40,
)


@pytest.mark.slow
@_settings(250)
@given(data=st.dictionaries(names, yaml_data, max_size=8), rng=st.randoms(use_true_random=False))
def test_yaml_structure(data: dict[str, Any], rng: random.Random) -> None:
    assert_contract(fuzz.emit_yaml(rng, data), "fuzz.yaml")


@pytest.mark.slow
@_settings(150)
@given(rng=st.randoms(use_true_random=False))
@example(rng=random.Random(0))
def test_yaml_generator(rng: random.Random) -> None:
    assert_contract(*reversed(fuzz.gen_yaml(rng)))


# Inputs the long fuzzer found (or that broke main before): each once, as a regression.
FOUND = {
    # libyaml stops at 1,000 levels; the pure-Python parser then re-read the text to word the
    # error and died of RecursionError (exit 3), or took minutes scanning thousands of open brackets
    "yaml-brackets-20000": "aispec: 1\nnotes: " + "[" * 20_000 + "]" * 20_000 + "\n",
    "yaml-brackets-5000-then-error": "aispec: 1\nnotes: " + "[" * 5_000 + "\nx: 1\n",
    "yaml-brackets-900-then-error": "aispec: 1\nnotes: " + "[" * 900 + "]" * 900 + "\n  bad: [\n",
    "alias-bomb": fuzz._bomb(random.Random(5)),
}


@pytest.mark.parametrize("name", list(FOUND))
def test_found_inputs(name: str) -> None:
    assert_contract(FOUND[name], "found.yaml")


# ---------------------------------------------------------------- bytes


@pytest.mark.slow
@_settings(300)
@given(rng=st.randoms(use_true_random=False))
def test_byte_mutations_of_the_examples(rng: random.Random) -> None:
    path, text = fuzz.gen_bytes(rng)
    assert_contract(text, path)


def test_the_oracle_notices_what_it_must() -> None:
    # A fuzzer whose oracle sees nothing finds nothing: check it on known-bad behaviour.
    import aispec.compiler.api as api

    real = api.check_text
    try:
        api.check_text = lambda text, path="spec.yaml": (_ for _ in ()).throw(RecursionError("deep"))
        fuzz.check_text = api.check_text
        assert fuzz.check_invariants("a: 1\n", "x.yaml") == ["check_text raised RecursionError: deep"]
    finally:
        api.check_text = real
        fuzz.check_text = real
    assert fuzz.check_invariants("aispec: 1\n", "x.yaml") == []
