"""``python -m aispec.runtime.serving ARTIFACTS_DIR [--host 127.0.0.1] [--port 8000]``: run the service on uvicorn."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aispec.runtime.serving",
                                     description="Serve an exported aispec model (model.onnx + serving.json).")
    parser.add_argument("artifacts", type=Path, help="the directory holding model.onnx and serving.json")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    parser.add_argument("--log-dir", type=Path, default=None, help="prediction/feedback logs (default: "
                                                                    "$AISPEC_LOG_DIR or ARTIFACTS/logs)")
    parser.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument("--access-log", action="store_true", help="log every request (slower)")
    args = parser.parse_args(argv)
    # A service sends nothing anywhere it was not asked to: onnxruntime's usage telemetry stays off
    # (it would also try to persist a device id under $HOME, which the image's user does not have).
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

    import uvicorn

    from ..errors import AispecRuntimeError
    from .app import create_app

    try:
        app = create_app(args.artifacts, log_dir=args.log_dir)
    except AispecRuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # everything loaded so far lives as long as the process: keep it out of the garbage collector's way
    gc.collect()
    gc.freeze()
    # uvicorn picks httptools and uvloop when they are installed (uvicorn[standard])
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=args.access_log,
                http="auto", loop="auto", lifespan="on")
    return 0


if __name__ == "__main__":
    sys.exit(main())
