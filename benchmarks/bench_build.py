"""Build speed (issue: build and run). Run: python benchmarks/bench_build.py

1. Cold `aispec build` of an example against `python -c "import jinja2, yaml, pydantic"`, same run
   (target: within 3x).
2. Building 100 specs in one process (target: under 5 s).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aispec.compiler.build import build

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "specs" / "examples" / "penguins-classification.yaml"


def _median_wall(cmd: list[str], runs: int, cwd: Path) -> float:
    times = []
    for _ in range(runs):
        shutil.rmtree(cwd / "out", ignore_errors=True)
        start = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    aispec = Path(sys.executable).parent / "aispec"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base_cmd = [sys.executable, "-c", "import jinja2, yaml, pydantic"]
        build_cmd = [str(aispec) if aispec.exists() else "aispec", "build", str(EXAMPLE), "-o", "out"]
        _median_wall(base_cmd, 2, work)
        _median_wall(build_cmd, 2, work)
        base = _median_wall(base_cmd, 15, work)
        cold = _median_wall(build_cmd, 15, work)
        print(f"cold build {cold * 1000:.0f} ms vs import baseline {base * 1000:.0f} ms: {cold / base:.2f}x "
              "(target <= 3x)")

        specs = sorted((ROOT / "specs" / "examples").glob("*.yaml"))
        buildable = [s for s in specs if build(s, work / "probe" / s.stem).ok]
        start = time.perf_counter()
        for i in range(100):
            spec = buildable[i % len(buildable)]
            result = build(spec, work / "many" / f"{i:03d}")
            assert result.written, result.diagnostics
        elapsed = time.perf_counter() - start
        print(f"100 builds in one process ({len(buildable)} example specs, each into a new folder): "
              f"{elapsed:.2f} s, {elapsed * 10:.0f} ms per build (target: under 5 s in all)")


if __name__ == "__main__":
    main()
