"""Benchmarks for the spec language (issue: spec language). Run: python benchmarks/bench_check.py

1. Cold `aispec check` of an example spec against `python -c "import pydantic, yaml, lark"`,
   both measured in the same run (target: within 2x).
2. In-process check of a 300-line spec (target: under 10 ms).
3. Parse time against spec size up to 10,000 lines, YAML and DSL (target: linear).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from aispec.compiler.api import check_text, parse
from aispec.compiler.source import SourceFile

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "specs" / "examples" / "penguins-classification.yaml"


def _median_wall(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cold_cli(runs: int = 15) -> dict[str, float]:
    aispec = str(Path(sys.executable).parent / "aispec")
    if not Path(aispec).exists():
        aispec = "aispec"
    # interleave warm-up of both so neither profits from a colder page cache
    _median_wall([sys.executable, "-c", "import pydantic, yaml, lark"], 2)
    _median_wall([aispec, "check", str(EXAMPLE)], 2)
    base = _median_wall([sys.executable, "-c", "import pydantic, yaml, lark"], runs)
    check = _median_wall([aispec, "check", str(EXAMPLE)], runs)
    return {"import_baseline_s": base, "aispec_check_s": check, "ratio": check / base}


def spec_with_columns(n_columns: int, syntax: str = "yaml") -> str:
    """A valid spec whose size grows with the declared schema (5 lines per column in YAML)."""
    cols = [f"c{i}" for i in range(n_columns)]
    if syntax == "yaml":
        lines = ["aispec: 1", "project:", "  name: bench", "problem:", "  task: classification", "  target: label",
                 "data:", "  source:", "    kind: csv", "    path: data.csv", "  columns:",
                 "    label: {type: categorical, allowed: [a, b]}"]
        for c in cols:
            lines += [f"    {c}:", "      type: numeric", "      nullable: true", "      range: [0, 100]",
                      f"      description: column {c}"]
        lines += ["metrics:", "  primary: f1_macro", "  acceptance: [f1_macro >= 0.8, p95_latency_ms <= 50]"]
        return "\n".join(lines) + "\n"
    lines = ["aispec = 1", "project {", "  name = bench", "}", "problem {", "  task = classification",
             "  target = label", "}", "data {", "  source {", "    kind = csv", '    path = "data.csv"', "  }",
             "  columns {", "    label { type = categorical, allowed = [a, b] }"]
    for c in cols:
        lines += [f"    {c} {{", "      type = numeric", "      nullable = true", "      range = [0, 100]",
                  f'      description = "column {c}"', "    }"]
    lines += ["  }", "}", "metrics {", "  primary = f1_macro", "  acceptance = [f1_macro >= 0.8]", "}"]
    return "\n".join(lines) + "\n"


def _best_of(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def in_process_300_lines() -> dict[str, float]:
    text = spec_with_columns(56)  # 56 columns * 5 + 15 = 295 lines
    n_lines = text.count("\n")
    result = check_text(text)
    assert result.ok, result.diagnostics
    check_text(text)  # warm: grammars and models built
    times = []
    for _ in range(50):
        start = time.perf_counter()
        check_text(text)
        times.append(time.perf_counter() - start)
    return {"lines": n_lines, "median_ms": statistics.median(times) * 1000, "p90_ms":
            sorted(times)[int(len(times) * 0.9)] * 1000}


def scaling() -> list[dict[str, float]]:
    rows = []
    for syntax in ("yaml", "dsl"):
        suffix = ".aispec" if syntax == "dsl" else ".yaml"
        for n_cols in (100, 250, 500, 1000, 2000):
            text = spec_with_columns(n_cols, syntax)
            source = SourceFile("bench" + suffix, text)
            assert parse(source).raw is not None
            parse_s = _best_of(lambda s=source: parse(s), 3)  # type: ignore[misc]
            check_s = _best_of(lambda t=text, f="bench" + suffix: check_text(t, f), 3)  # type: ignore[misc]
            lines = text.count("\n")
            rows.append({"syntax": syntax, "lines": lines, "parse_ms": parse_s * 1000, "check_ms": check_s * 1000,
                         "parse_us_per_line": parse_s * 1e6 / lines})
    return rows


def main() -> None:
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "0")
    report = {"cold_cli": cold_cli(), "in_process_300_lines": in_process_300_lines(), "scaling": scaling()}
    print(json.dumps(report, indent=2))
    cold = report["cold_cli"]
    print(f"\ncold check {cold['aispec_check_s'] * 1000:.0f} ms vs import baseline "
          f"{cold['import_baseline_s'] * 1000:.0f} ms: {cold['ratio']:.2f}x (target <= 2x)")
    ip = report["in_process_300_lines"]
    print(f"in-process check of {ip['lines']} lines: median {ip['median_ms']:.2f} ms (target < 10 ms)")
    for row in report["scaling"]:
        print(f"{row['syntax']:>4} {row['lines']:>6} lines: parse {row['parse_ms']:8.1f} ms "
              f"({row['parse_us_per_line']:.1f} us/line), full check {row['check_ms']:8.1f} ms")


if __name__ == "__main__":
    main()
