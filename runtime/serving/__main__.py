"""``python -m aispec.runtime.serving ARTIFACTS_DIR [--host 127.0.0.1] [--port 8000]``: run the service on uvicorn.

Exit status: 0 after a clean shutdown (SIGINT / SIGTERM), 1 when the model failed the gates of its
training run (unless ``--allow-failed-gates``), 2 when ``serving.json`` is invalid or the address
cannot be bound.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "urls"]


def urls(host: str, port: int, paths: dict[str, str]) -> list[str]:
    """What the start-up message shows: the base URL, then the predict, OpenAPI and metrics URLs."""
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}"
    lines = [f"listening on {base}" + (" (all interfaces)" if host in ("0.0.0.0", "::") else "")]
    if host in ("0.0.0.0", "::"):
        base = f"http://127.0.0.1:{port}" if host == "0.0.0.0" else f"http://[::1]:{port}"
    lines += [f"  predict:  POST {base}{paths['predict']}", f"  model:    {base}{paths['model']}",
              f"  OpenAPI:  {base}/openapi.json  (no /docs page: it would load scripts from a CDN)",
              f"  metrics:  {base}{paths['metrics']}", "  stop with Ctrl+C (or SIGTERM)"]
    return lines


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the server starts so the message can name the real port."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    if os.name != "nt":  # as uvicorn does; on Windows SO_REUSEADDR would let two servers share a port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aispec.runtime.serving",
                                     description="Serve an exported aispec model (model.onnx + serving.json).")
    parser.add_argument("artifacts", type=Path, help="the directory holding model.onnx and serving.json")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000; 0: any free port)")
    parser.add_argument("--log-dir", type=Path, default=None, help="prediction/feedback logs (default: "
                                                                    "$AISPEC_LOG_DIR or ARTIFACTS/logs)")
    parser.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument("--access-log", action="store_true", help="log every request (slower; off by default)")
    parser.add_argument("--allow-failed-gates", action="store_true",
                        help="serve a model that failed the gates of its training run (also: "
                             "AISPEC_ALLOW_FAILED_GATES=1); the start-up log, /v1/model and /metrics say so")
    args = parser.parse_args(argv)
    # A service sends nothing anywhere it was not asked to: onnxruntime's usage telemetry stays off
    # (it would also try to persist a device id under $HOME, which the image's user does not have).
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

    import uvicorn

    from ..errors import AispecRuntimeError
    from .app import create_app
    from .gates import GatesFailed, allowed_by_env

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    service_log = logging.getLogger("aispec.serving")
    service_log.addHandler(handler)
    service_log.setLevel(args.log_level.upper())
    service_log.propagate = False
    try:
        app = create_app(args.artifacts, log_dir=args.log_dir,
                         allow_failed_gates=args.allow_failed_gates or allowed_by_env())
    except GatesFailed as refused:
        print(f"error: {refused.message}", file=sys.stderr)
        return 1
    except AispecRuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    # uvicorn picks httptools and uvloop when they are installed (uvicorn[standard])
    config = uvicorn.Config(app, log_level=args.log_level, access_log=args.access_log, http="auto", loop="auto",
                            lifespan="on")
    if args.access_log:  # uvicorn logs requests at INFO: visible whatever --log-level says
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    meta = app.state.serving.meta
    print(f"{meta['project']['name']} {meta['project']['version']} ({meta['task']}): "
          + "\n".join(urls(args.host, sock.getsockname()[1], app.state.paths)), flush=True)
    # everything loaded so far lives as long as the process: keep it out of the garbage collector's way
    gc.collect()
    gc.freeze()
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
