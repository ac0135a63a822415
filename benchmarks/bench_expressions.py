"""The shared expression parser (aispec.schemas.expressions) against the Lark grammar it replaced.

Run: python benchmarks/bench_expressions.py

1. Import: a fresh interpreter importing the module and reading one text of each kind, against
   ``python -c pass`` (median wall time), and ``-X importtime``'s figures for the module.
2. Parse speed: microseconds per text for typical texts, hand-written parser against the Lark LALR
   parser (the oracle kept in tests/test_expressions_oracle.py, parser already built).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from aispec.compiler.diagnostics import did_you_mean
from aispec.schemas import expressions as E

ROOT = Path(__file__).resolve().parents[1]
READ_ONE_OF_EACH = ("import aispec.schemas.expressions as e; e.parse_criterion('f1_macro >= 0.9'); "
                    "e.parse_distribution('int(2, 32)'); e.parse_size('2GiB'); e.parse_duration('10m')")
TEXTS = {
    "criterion": ["f1_macro >= 0.9", "p95_latency_ms <= 50", "recall > 80%", "accuracy >= 0.9 and f1 >= 1"],
    "distribution": ["int(2, 32)", "loguniform(1e-4, 1e-1)", "choice(gini, entropy, log_loss)", "int(32, 2)"],
    "duration": ["10m", "1h30m", "500ms", "ten minutes"],
    "size": ["2GiB", "512 MB", "0.5KiB", "4gb"],
}


def _oracle() -> ModuleType:
    spec = importlib.util.spec_from_file_location("expressions_oracle", ROOT / "tests" / "test_expressions_oracle.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["expressions_oracle"] = module
    spec.loader.exec_module(module)
    return module


def _wall_ms(code: str, runs: int = 20) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as installed: bytecode cached
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _importtime() -> tuple[int, int]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import aispec.schemas.expressions"], env=env,
                         capture_output=True, text=True, check=True).stderr
    line = next(x for x in out.splitlines() if x.rstrip().endswith("| aispec.schemas.expressions"))
    own, total = (int(p) for p in line.split(":", 1)[1].split("|")[:2])
    return own, total


def _us_per_text(parse: Any, texts: list[str], rounds: int = 2000) -> float:
    def once() -> None:
        for text in texts:
            with contextlib.suppress(E.ExpressionError):
                parse(text)

    once()
    start = time.perf_counter()
    for _ in range(rounds):
        once()
    return (time.perf_counter() - start) / (rounds * len(texts)) * 1e6


def main() -> None:
    base = _wall_ms("pass")
    read = _wall_ms(READ_ONE_OF_EACH)
    own, total = _importtime()
    print(f"import + one text of each kind: {read:.1f} ms against {base:.1f} ms for `python -c pass` "
          f"(+{read - base:.1f} ms); -X importtime: {own} us own, {total} us with what it imports")
    oracle = _oracle()
    pairs = {
        "criterion": (E.parse_criterion, oracle.oracle_criterion),
        "distribution": (lambda t: E.parse_distribution(t, did_you_mean), oracle.oracle_distribution),
        "duration": (E.parse_duration, oracle.oracle_duration),
        "size": (E.parse_size, oracle.oracle_size),
    }
    for kind, (new, lark) in pairs.items():
        ours, theirs = _us_per_text(new, TEXTS[kind]), _us_per_text(lark, TEXTS[kind])
        print(f"{kind:>12}: {ours:6.1f} us per text, Lark {theirs:6.1f} us ({theirs / ours:.1f}x)")


if __name__ == "__main__":
    main()
