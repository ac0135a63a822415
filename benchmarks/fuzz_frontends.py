"""Fuzz both spec front ends (YAML and the aispec DSL) for as long as you like.

    python benchmarks/fuzz_frontends.py --duration 600 [--seed 1] [--out fuzz-report]

Inputs come from three generators, taken in turn:

- ``dsl``: random programs of the DSL grammar (``compiler/grammar/aispec.lark``), keys and words
  drawn from the example specs so that validation and the semantic passes run too, nesting now
  and then past the depth limit, and sometimes a token dropped, doubled or swapped;
- ``yaml``: random data (and mutated example specs) emitted as YAML in random styles: block and
  flow, plain / quoted / block scalars, comments, anchors and aliases, tags, and now and then a
  line indented wrongly;
- ``bytes``: byte-level mutation of ``specs/examples/*.yaml`` and ``*.aispec`` (bit flips,
  interesting bytes, chunk deletion, duplication and splicing, line moves and re-indentation,
  dictionary tokens, long runs, deep brackets), decoded as UTF-8 with replacement characters.

Every input must satisfy the front ends' contract (``check_invariants``): ``check_text`` returns
(never raises), reports no AIS9xx internal error and only registered codes at positions inside
the file, finishes within a time bound, and its report, as the CLI prints it (text and JSON), stays
within a size bound; ``fmt`` and ``convert`` (``format_source``) never raise either. Round trips of
``fmt``/``convert`` that change the data are counted apart (a printer bug, not a crash).

It prints the inputs tried and the failures found per generator, and writes each failing input
to ``--out`` (default ``fuzz-report/``) with a ``report.json``. ``tests/test_fuzz.py`` runs the same
generators and oracle for a bounded number of examples in CI.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from aispec.compiler.api import check_text, parse
from aispec.compiler.codes import CODES
from aispec.compiler.diagnostics import MAX_DIAGNOSTICS, format_json, format_text
from aispec.compiler.source import SourceFile

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "specs" / "examples"

TIME_LIMIT_S = 2.0  # per input; inputs stay under MAX_INPUT, which checks in well under 0.1 s
MAX_INPUT = 256 * 1024  # characters; bigger inputs only test the machine's speed
MAX_DIAGNOSTIC_TEXT = 2_600  # one diagnostic as text: head + two snippet lines + hint, each clipped
MAX_DIAGNOSTIC_JSON = 4_000
MAX_REPORT_TEXT = MAX_DIAGNOSTICS * MAX_DIAGNOSTIC_TEXT + 100


# ---------------------------------------------------------------- seeds


@cache
def examples() -> tuple[tuple[str, bytes], ...]:
    """(file name, bytes) of every example spec, in both syntaxes."""
    paths = sorted(EXAMPLES.glob("*.yaml")) + sorted(EXAMPLES.glob("*.aispec"))
    return tuple((p.name, p.read_bytes()) for p in paths)


@cache
def example_data() -> tuple[dict[str, Any], ...]:
    out = []
    for name, data in examples():
        raw = parse(SourceFile(name, data.decode("utf-8"))).raw
        if raw is not None:
            out.append(raw)
    return tuple(out)


@cache
def vocabulary() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(keys, scalar words) used in the examples, so random specs look like specs."""
    keys: set[str] = set()
    words: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                keys.add(str(k))
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            words.add(value)

    for raw in example_data():
        walk(raw)
    return tuple(sorted(keys)), tuple(sorted(words))


TOKENS = (
    "aispec", "project", "problem", "data", "model", "metrics", "source", "columns", "name", "task",
    "target", "kind", "bundled", "palmerpenguins", "classification", "1", "0.5", "-1", "1e309", "40%",
    ".nan", ".inf", "null", "true", "no", "~", ": ", ":", "\n", "\n  ", "\n    ", "  ", "- ", "{", "}",
    "[", "]", "(", ")", "=", ",", '"', "'", "#", "# c\n", "&a ", "*a", "&b [*a, *a]", "<<: ", "!!str ",
    "!!python/object:os.system ", "!foo ", "---\n", "...\n", "|\n  ", ">-\n  ", "? ", "%YAML 1.2\n",
    "accuracy >= 0.9", "recall >= 40%", "int(2, 32)", "${X}", "10m", "2GiB", "0.1.0", "\t", "\r\n",
    "\ufeff", "\x00", "\x1b[31m", "\u2028", "\x85", "é", "😀", "\\", "\\u00e9", "\\q",
)
INTERESTING_BYTES = b"\x00\t\n\r\x1b\x7f\x80\xff:-[]{}\"'#&*!%|>= ,.\\"


# ---------------------------------------------------------------- DSL from the grammar


def _dsl_key(rng: random.Random) -> str:
    keys, _ = vocabulary()
    roll = rng.random()
    if roll < 0.8:
        return rng.choice(keys)
    if roll < 0.9:
        return json.dumps(rng.choice(keys + ("a b", "", "é", "1")))
    return rng.choice(["true", "false", "null", "x-y.z", "_"])


def _dsl_number(rng: random.Random) -> str:
    return rng.choice([
        str(rng.randint(-5, 500)), f"{rng.uniform(-2, 2):.3f}", "1e-4", "1_000", "1e309", "9" * 40,
        f"{rng.randint(1, 90)}m", "1h30m", "500ms", "2GiB", "512MiB", f"{rng.randint(0, 120)}%", "0.1.0",
    ])


def _dsl_string(rng: random.Random) -> str:
    _, words = vocabulary()
    text = rng.choice([rng.choice(words), "", "a\\nb", "tab\\t", "\\u00e9", "quote \\\" inside", "😀", "${DB_URL}"])
    return f'"{text}"' if not text.startswith('"') else text


def _dsl_value(rng: random.Random, depth: int, max_depth: int) -> str:
    _, words = vocabulary()
    kinds = ["word", "number", "string", "keyword", "comparison", "call"]
    if depth < max_depth:
        kinds += ["list", "object"] * 2
    kind = rng.choice(kinds)
    if kind == "word":
        word = rng.choice(words)
        return word if word.replace("_", "").replace("-", "").replace(".", "").isalnum() else json.dumps(word)
    if kind == "number":
        return _dsl_number(rng)
    if kind == "string":
        return _dsl_string(rng)
    if kind == "keyword":
        return rng.choice(["true", "false", "null"])
    if kind == "comparison":
        metric = rng.choice(["accuracy", "recall", "f1_macro", "p95_latency_ms", "mae", "rmse", "x"])
        return f"{metric} {rng.choice(['>=', '<=', '>', '<', '==', '!='])} {_dsl_number(rng)}"
    if kind == "call":
        fn = rng.choice(["int", "logint", "uniform", "loguniform", "choice", "f"])
        args = [rng.choice([_dsl_number(rng), rng.choice(words)[:12] or "a", '"s"']) for _ in range(rng.randint(0, 3))]
        return f"{fn}({', '.join(args)})"
    if kind == "list":
        sep = rng.choice([", ", ",\n", "\n, "])
        items = [_dsl_value(rng, depth + 1, max_depth) for _ in range(rng.randint(0, 4))]
        return "[" + sep.join(items) + rng.choice(["", ",", "\n"]) + "]"
    return "{ " + _dsl_body(rng, depth + 1, max_depth, rng.choice([", ", "\n"])) + " }"


def _dsl_body(rng: random.Random, depth: int, max_depth: int, sep: str = "\n") -> str:
    stmts = []
    for _ in range(rng.randint(0, 5 if depth else 9)):
        key = _dsl_key(rng)
        if depth < max_depth and rng.random() < 0.3:
            stmts.append(f"{key} {{\n{_dsl_body(rng, depth + 1, max_depth)}\n}}")
        else:
            value = _dsl_value(rng, depth, max_depth)
            comment = rng.choice(["", "", "", "  # note"])
            stmts.append(f"{key} = {value}{comment}")
    return sep.join(stmts)


def _deep_dsl(rng: random.Random) -> str:
    depth = rng.choice([63, 64, 65, 66, 200, 3000])
    opener, closer = rng.choice([("[", "]"), ("{ a = ", " }"), ("a { ", " }")])
    inner = "1" if opener != "a { " else "b = 1"
    return f"aispec = 1\nnotes = {opener * depth}{inner}{closer * depth}\n"


def gen_dsl(rng: random.Random) -> tuple[str, str]:
    """A random DSL program, mostly grammatical, sometimes with a few tokens broken."""
    if rng.random() < 0.05:
        return "fuzz.aispec", _deep_dsl(rng)
    text = _dsl_body(rng, 0, rng.choice([2, 3, 4, 6]))
    if rng.random() < 0.3:
        text = _corrupt_tokens(rng, text)
    return "fuzz.aispec", text


def _corrupt_tokens(rng: random.Random, text: str) -> str:
    parts = text.split(" ")
    for _ in range(rng.randint(1, 3)):
        if not parts:
            break
        i = rng.randrange(len(parts))
        op = rng.choice(["drop", "double", "swap", "insert"])
        if op == "drop":
            del parts[i]
        elif op == "double":
            parts.insert(i, parts[i])
        elif op == "swap" and i + 1 < len(parts):
            parts[i], parts[i + 1] = parts[i + 1], parts[i]
        else:
            parts.insert(i, rng.choice(TOKENS))
    return " ".join(parts)


# ---------------------------------------------------------------- YAML from structure


def _random_data(rng: random.Random, depth: int, max_depth: int) -> Any:
    keys, words = vocabulary()
    roll = rng.random()
    if depth < max_depth and roll < 0.25:
        return {rng.choice(keys): _random_data(rng, depth + 1, max_depth) for _ in range(rng.randint(0, 4))}
    if depth < max_depth and roll < 0.4:
        return [_random_data(rng, depth + 1, max_depth) for _ in range(rng.randint(0, 4))]
    return rng.choice([
        rng.choice(words), rng.randint(-3, 1000), rng.uniform(-1, 1), True, False, None, "", "no", "1e3",
        "a: b", "# not a comment", "x\ny", "0.1.0", "recall >= 40%", "${X}", "é😀", "\t", " lead",
    ])


def _mutate_data(rng: random.Random, raw: Any, depth: int = 0) -> Any:
    """A copy of ``raw`` with a few values replaced, keys renamed, entries dropped or added."""
    keys, _ = vocabulary()
    if isinstance(raw, dict):
        out: dict[str, Any] = {}
        for k, v in raw.items():
            roll = rng.random()
            if roll < 0.03:
                continue
            key = rng.choice(keys) if roll < 0.06 else k
            out[key] = _mutate_data(rng, v, depth + 1)
        if rng.random() < 0.05:
            out[rng.choice(keys)] = _random_data(rng, depth, depth + 3)
        return out
    if isinstance(raw, list):
        return [_mutate_data(rng, v, depth + 1) for v in raw if rng.random() > 0.03]
    return _random_data(rng, depth, depth + 2) if rng.random() < 0.06 else raw


_PLAIN_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./ ")


@dataclass
class _YamlEmitter:
    rng: random.Random
    anchors: list[str] = field(default_factory=list)
    indent_width: int = 2

    def scalar(self, value: Any) -> str:
        rng = self.rng
        if rng.random() < 0.02 and self.anchors:
            return "*" + rng.choice(self.anchors + ["undefined"])
        if value is None:
            return rng.choice(["null", "~", ""])
        if isinstance(value, bool):
            return rng.choice(["true", "false"]) if rng.random() < 0.1 else str(value).lower()
        if isinstance(value, int | float):
            text = repr(value)
            return f"!!str {text}" if rng.random() < 0.02 else text
        text = str(value)
        style = rng.random()
        if style < 0.5 and text and set(text) <= _PLAIN_SAFE and text.strip() == text:
            return text
        if style < 0.75:
            return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar
        if style < 0.9 and "\n" not in text:
            return "'" + text.replace("'", "''") + "'"
        return json.dumps(text)

    def anchor(self) -> str:
        if self.rng.random() < 0.02:
            name = f"a{len(self.anchors)}"
            self.anchors.append(name)
            return f"&{name} "
        return ""

    def flow(self, value: Any) -> str:
        if isinstance(value, dict):
            return "{" + ", ".join(f"{self.scalar(str(k))}: {self.flow(v)}" for k, v in value.items()) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self.flow(v) for v in value) + "]"
        return self.scalar(value)

    def block(self, value: Any, indent: int) -> Iterator[str]:
        pad = " " * indent
        rng = self.rng
        if isinstance(value, dict):
            for k, v in value.items():
                key = self.scalar(str(k))
                if rng.random() < 0.02:  # one line misindented by a space or two
                    pad = " " * max(0, indent + rng.choice([-2, -1, 1, 2]))
                if isinstance(v, dict | list) and v and rng.random() < 0.8:
                    yield f"{pad}{key}: {self.anchor()}".rstrip()
                    yield from self.block(v, indent + self.indent_width)
                else:
                    comment = "  # note" if rng.random() < 0.05 else ""
                    yield f"{pad}{key}: {self.anchor()}{self.flow(v)}{comment}"
        elif isinstance(value, list):
            for v in value:
                if isinstance(v, dict | list) and v and rng.random() < 0.5:
                    yield f"{pad}-"
                    yield from self.block(v, indent + self.indent_width)
                else:
                    yield f"{pad}- {self.flow(v)}"
        else:
            yield pad + self.flow(value)


def emit_yaml(rng: random.Random, raw: Any) -> str:
    emitter = _YamlEmitter(rng, indent_width=rng.choice([2, 2, 4]))
    lines = list(emitter.block(raw, 0))
    if rng.random() < 0.05:
        lines.insert(rng.randrange(len(lines) + 1), "# a comment")
    return "\n".join(lines) + "\n"


def _deep_yaml(rng: random.Random) -> str:
    depth = rng.choice([63, 64, 65, 66, 999, 1000, 1001, 20000])
    if rng.random() < 0.5:
        return f"aispec: 1\nnotes: {'[' * depth}1{']' * depth}\n"
    if depth > 1000:
        depth = 1000
    return "aispec: 1\n" + "".join(" " * i + "k:\n" for i in range(depth)) + " " * depth + "v: 1\n"


def _bomb(rng: random.Random) -> str:
    levels = rng.randint(2, 12)
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    return "aispec: 1\n" + "\n".join(lines) + "\n"


def gen_yaml(rng: random.Random) -> tuple[str, str]:
    """Random or mutated spec data emitted as YAML in random styles."""
    roll = rng.random()
    if roll < 0.03:
        return "fuzz.yaml", _deep_yaml(rng)
    if roll < 0.05:
        return "fuzz.yaml", _bomb(rng)
    if roll < 0.5:
        raw = _mutate_data(rng, rng.choice(example_data()))
    else:
        raw = _random_data(rng, 0, rng.choice([2, 3, 5]))
        raw = raw if isinstance(raw, dict) else {"aispec": 1, "data": raw}
    return "fuzz.yaml", emit_yaml(rng, raw)


# ---------------------------------------------------------------- bytes


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    """AFL-style mutations, one to eight at a time."""
    buf = bytearray(data)
    lines_ops = ("swap_lines", "dup_line", "del_line", "indent_line", "flood_lines")
    ops = ("flip", "interesting", "delete", "duplicate", "token", "splice", *lines_ops, "long_run", "deep")
    for _ in range(rng.randint(1, 8)):
        op = rng.choice(ops)
        pos = rng.randrange(len(buf) + 1)
        if op == "flip" and buf:
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif op == "interesting" and buf:
            buf[rng.randrange(len(buf))] = rng.choice(INTERESTING_BYTES)
        elif op == "delete":
            del buf[pos : pos + rng.randint(1, 64)]
        elif op == "duplicate" and buf:
            start = rng.randrange(len(buf))
            buf[pos:pos] = buf[start : start + rng.randint(1, 128)]
        elif op == "token":
            buf[pos:pos] = rng.choice(TOKENS).encode("utf-8")
        elif op == "splice":
            other = rng.choice(examples())[1]
            start = rng.randrange(len(other))
            buf[pos : pos + rng.randint(0, 64)] = other[start : start + rng.randint(1, 256)]
        elif op in lines_ops:
            buf = bytearray(_line_op(rng, op, bytes(buf)))
        elif op == "long_run":
            buf[pos:pos] = rng.choice([b"x", b"a: ", b"- ", b"[", b"{a: ", b" ", b"\n", b"#"]) * rng.choice([100, 5000])
        elif op == "deep":
            n = rng.choice([60, 70, 1000, 5000])
            buf[pos:pos] = b"[" * n + b"]" * n
    return bytes(buf[:MAX_INPUT])


def _line_op(rng: random.Random, op: str, data: bytes) -> bytes:
    lines = data.split(b"\n")
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    if op == "swap_lines":
        lines[i], lines[j] = lines[j], lines[i]
    elif op == "dup_line":
        lines.insert(j, lines[i])
    elif op == "del_line":
        del lines[i]
    elif op == "flood_lines":  # one line many times: duplicate keys, unknown keys, a flood of diagnostics
        line = lines[i]
        lines[i:i] = [line.replace(b":", b"%d:" % k, 1) if k % 2 else line for k in range(rng.choice([300, 3000]))]
    else:
        shift = rng.choice([-2, -1, 1, 2, 3])
        lines[i] = b" " * shift + lines[i] if shift > 0 else lines[i][-shift:]
    return b"\n".join(lines)


def gen_bytes(rng: random.Random) -> tuple[str, str]:
    name, data = rng.choice(examples())
    return name, mutate_bytes(rng, data).decode("utf-8", errors="replace")


GENERATORS: dict[str, Callable[[random.Random], tuple[str, str]]] = {
    "dsl": gen_dsl,
    "yaml": gen_yaml,
    "bytes": gen_bytes,
}


# ---------------------------------------------------------------- the oracle


class _Timeout(Exception):
    pass


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Interrupt a hang (main thread, Unix); elsewhere the elapsed time is still checked afterwards."""
    if not hasattr(signal, "setitimer") or sys.platform == "win32":
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise _Timeout

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def check_invariants(text: str, path: str, time_limit: float = TIME_LIMIT_S) -> list[str]:
    """What is wrong with how aispec handled ``text`` (an empty list when all is well)."""
    from aispec.compiler.formatting import format_source

    problems: list[str] = []
    start = time.perf_counter()
    try:
        with _alarm(time_limit * 5):  # a hard stop well past the limit, so a hang is reported, not waited on
            result = check_text(text, path)
    except _Timeout:
        return [f"hang: check_text still running after {time_limit * 5:.0f} s"]
    except BaseException as exc:  # any exception at all breaks the contract
        return [f"check_text raised {type(exc).__name__}: {str(exc)[:300]}"]
    elapsed = time.perf_counter() - start
    if elapsed > time_limit:  # once more: on a busy machine one slow run may be the machine, not aispec
        again = time.perf_counter()
        check_text(text, path)
        elapsed = min(elapsed, time.perf_counter() - again)
    if elapsed > time_limit:
        problems.append(f"slow: check_text took {elapsed:.2f} s (limit {time_limit} s)")
    n_lines = len(text.splitlines())
    for d in result.diagnostics:
        if d.code.startswith("AIS9"):
            problems.append(f"internal error {d.code}: {d.message[:300]}")
        if d.code not in CODES:
            problems.append(f"unregistered code {d.code}")
        if d.span is not None and not (1 <= d.span.line <= n_lines + 1 and d.span.column >= 1):
            problems.append(f"{d.code} at {d.span.line}:{d.span.column} is outside the file ({n_lines} lines)")
    if len(result.diagnostics) > MAX_DIAGNOSTICS:
        problems.append(f"{len(result.diagnostics)} diagnostics, more than {MAX_DIAGNOSTICS}")
    try:
        report = format_text(result.diagnostics, result.source)
        as_json = format_json(result.diagnostics)
    except BaseException as exc:
        return [*problems, f"report raised {type(exc).__name__}: {exc}"]
    if len(report) > MAX_REPORT_TEXT:
        problems.append(f"text report of {len(report):,} characters")
    for one in json.loads(as_json):
        if len(json.dumps(one)) > MAX_DIAGNOSTIC_JSON:
            problems.append(f"JSON diagnostic {one['code']} of {len(json.dumps(one)):,} characters")
    for d in result.diagnostics:
        if len(format_text([d], result.source)) > MAX_DIAGNOSTIC_TEXT + 40:
            problems.append(f"text diagnostic {d.code} of {len(format_text([d], result.source)):,} characters")
    for syntax in ("yaml", "dsl"):
        try:
            format_source(result.source, syntax)
        except BaseException as exc:
            problems.append(f"format_source(..., {syntax!r}) raised {type(exc).__name__}: {str(exc)[:300]}")
    return problems


def round_trip_problem(text: str, path: str) -> str | None:
    """Whether ``fmt``/``convert`` of a spec that parses would change its data (a printer bug)."""
    from aispec.compiler.formatting import format_source, reparse_equal

    source = SourceFile(path, text)
    for syntax in ("yaml", "dsl"):
        try:
            out = format_source(source, syntax)
            if out.text is not None and not reparse_equal(source, out.text, syntax):
                return f"{syntax} output reads back as other data"
        except BaseException as exc:
            return f"{syntax}: {type(exc).__name__}: {exc}"
    return None


# ---------------------------------------------------------------- the long run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds to run (default 60)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("fuzz-report"), help="where failing inputs go")
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT_S, help="seconds allowed per input")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    tried = dict.fromkeys(GENERATORS, 0)
    failures: dict[str, list[dict[str, Any]]] = {name: [] for name in GENERATORS}
    round_trips: list[dict[str, Any]] = []
    seen: set[str] = set()  # one saved input per distinct problem (first line, numbers stripped)
    slowest = (0.0, "")
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    deadline = start + args.duration
    last_print = start
    while time.monotonic() < deadline:
        for gen_name, generate in GENERATORS.items():
            path, text = generate(rng)
            t0 = time.perf_counter()
            problems = check_invariants(text, path, args.time_limit)
            took = time.perf_counter() - t0
            if took > slowest[0]:
                slowest = (took, f"{gen_name}:{path}:{len(text)} chars")
            tried[gen_name] += 1
            if problems:
                key = "".join(c for c in problems[0] if not c.isdigit())[:120]
                record = {"generator": gen_name, "path": path, "problems": problems}
                if key not in seen:
                    seen.add(key)
                    saved = args.out / f"{gen_name}-{len(seen):03d}{Path(path).suffix}"
                    saved.write_text(text, encoding="utf-8", errors="surrogatepass", newline="")
                    record["saved"] = str(saved)
                failures[gen_name].append(record)
            elif tried[gen_name] % 10 == 0:
                trip = round_trip_problem(text, path)
                if trip is not None and len(round_trips) < 200:
                    saved = args.out / f"roundtrip-{len(round_trips):03d}{Path(path).suffix}"
                    saved.write_text(text, encoding="utf-8", errors="surrogatepass", newline="")
                    round_trips.append({"generator": gen_name, "problem": trip, "saved": str(saved)})
        if time.monotonic() - last_print > 30:
            last_print = time.monotonic()
            print(f"{last_print - start:7.0f} s  tried {sum(tried.values()):>8}  "
                  f"failures {sum(len(f) for f in failures.values())}", flush=True)

    elapsed = time.monotonic() - start
    summary = {
        "seed": args.seed,
        "seconds": round(elapsed, 1),
        "inputs_tried": tried,
        "inputs_total": sum(tried.values()),
        "inputs_per_second": round(sum(tried.values()) / elapsed, 1),
        "failures": {k: len(v) for k, v in failures.items()},
        "distinct_failures": len(seen),
        "internal_errors": sum(1 for v in failures.values() for r in v if any(
            p.startswith(("internal error", "check_text raised", "hang")) for p in r["problems"])),
        "round_trip_mismatches_sampled": len(round_trips),
        "slowest_input": {"seconds": round(slowest[0], 3), "what": slowest[1]},
    }
    (args.out / "report.json").write_text(json.dumps(
        {"summary": summary, "failures": failures, "round_trips": round_trips}, indent=2), encoding="utf-8")
    print(json.dumps(summary, indent=2))
    for gen_name, records in failures.items():
        for record in records[:5]:
            print(f"  {gen_name}: {record['problems'][0]}  ({record.get('saved', 'same as an earlier one')})")
    return 1 if any(failures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
