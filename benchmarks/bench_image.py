"""Serving image size and start-up: what `aispec image build` produces.

Run: python benchmarks/bench_image.py PROJECT --base-image IMAGE [--wheelhouse DIR] [--json out.json]

PROJECT is a built and trained project with a REST deployment (e.g. `aispec run
specs/examples/penguins-classification.yaml -o /tmp/penguins`); IMAGE a base image already on the
machine (tests/docker/base-image.sh makes one: Debian bookworm's Python 3.11). The image is built
offline from the project's wheelhouse (`aispec image wheelhouse PROJECT` fills it).

Reports:
- the image's size, the base image's size and what the image adds on top of it;
- the installed size of the serving virtual environment, largest packages first (no training
  framework may appear there);
- start-up: seconds from `docker run` to the first 200 from `/ready` (model loaded and a warm-up
  prediction done), best of ``--starts`` runs;
- the container's memory once ready (from the engine's stats).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from aispec.compiler.image import build_image

SITE = "/opt/venv/lib/python3.11/site-packages"


def _wait_ready(url: str, container: Any, limit: float = 120.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        try:
            with urllib.request.urlopen(f"{url}/ready", timeout=1) as answer:
                if answer.status == 200:
                    return time.perf_counter() - start
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.02)
    raise SystemExit(f"not ready after {limit} s:\n{container.logs().decode(errors='replace')[-2000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("project", type=Path)
    parser.add_argument("--base-image", required=True)
    parser.add_argument("--wheelhouse", type=Path, default=None)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import docker  # type: ignore[import-untyped, unused-ignore]

    client = docker.from_env(version="auto")
    tag = "aispec-bench-image:latest"
    built = build_image(args.project, tag=tag, base_image=args.base_image, offline=True,
                        wheelhouse=args.wheelhouse, log=lambda line: None, client=client)
    base = client.images.get(args.base_image)
    du = client.containers.run(tag, ["sh", "-c", f"du -sk /opt/venv; du -sk {SITE}/* | sort -rn | head -12"],
                               remove=True, user="10001").decode()
    lines = du.split("\n")
    venv_kib = int(lines[0].split()[0])
    packages = [(Path(path).name, int(kib)) for kib, path in (line.split(maxsplit=1) for line in lines[1:] if line)]

    starts: list[float] = []
    memory_mib = 0.0
    for _ in range(args.starts):
        container = client.containers.run(tag, detach=True, ports={"8000/tcp": ("127.0.0.1", None)})
        try:
            container.reload()
            port = container.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"]
            starts.append(_wait_ready(f"http://127.0.0.1:{port}", container))
            stats = container.stats(stream=False)
            memory_mib = stats["memory_stats"].get("usage", 0) / 2**20
        finally:
            container.remove(force=True)
    client.images.remove(tag, force=True)

    result = {
        "image_mb": built.size_bytes / 1e6,
        "base_image": args.base_image,
        "base_mb": int(base.attrs["Size"]) / 1e6,
        "added_mb": (built.size_bytes - int(base.attrs["Size"])) / 1e6,
        "venv_mb": venv_kib * 1024 / 1e6,
        "largest_packages_mb": {name: round(kib * 1024 / 1e6, 1) for name, kib in packages},
        "user": built.user,
        "ready_s_best": min(starts),
        "ready_s_all": starts,
        "memory_mib_ready": round(memory_mib, 1),
    }
    print(f"image {result['image_mb']:.0f} MB = base {result['base_mb']:.0f} MB ({args.base_image}) "
          f"+ {result['added_mb']:.0f} MB; serving venv {result['venv_mb']:.0f} MB; user {built.user}")
    for name, mb in result["largest_packages_mb"].items():
        print(f"  {name:<32} {mb:>7.1f} MB")
    print(f"docker run → /ready: best {min(starts):.2f} s of {len(starts)}; memory when ready {memory_mib:.0f} MiB")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
