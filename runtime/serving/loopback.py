"""The generated service on 127.0.0.1, in this process, for the training run's latency measurement.

A ``p95_latency_ms`` gate means the latency a client sees: one row per request through the REST
service, JSON parsing, validation, onnxruntime and the answer included, not only the model call.
:func:`loopback_service` starts the real app (``create_app`` on a model folder) on uvicorn in a
thread, on a port the system picks, and yields a :class:`LoopbackClient` that POSTs single rows over
one keep-alive connection (``http.client``, no extra dependency); the server is shut down cleanly
on exit.

Only the standard library, uvicorn and the service are imported (no scikit-learn, no pandas).
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import json
import math
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .contract import ServingMetadata, label_text

__all__ = ["SERVE_MODULES", "LoopbackClient", "loopback_service", "missing_serving_libraries", "request_rows"]

# import name -> distribution: what `aispec[serve]` installs and the service imports
SERVE_MODULES = {"fastapi": "fastapi", "uvicorn": "uvicorn", "prometheus_client": "prometheus-client",
                 "onnxruntime": "onnxruntime"}


def missing_serving_libraries() -> list[str]:
    return [dist for module, dist in SERVE_MODULES.items() if importlib.util.find_spec(module) is None]


class LoopbackClient:
    """Single-row POSTs to the service over one keep-alive HTTP/1.1 connection."""

    def __init__(self, port: int, path: str, row_model: Any = None, *, timeout: float = 30.0) -> None:
        self.port = port
        self.path = path
        self.row_model = row_model  # the service's request model: request_rows(..., validate=row_model)
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.headers = {"Content-Type": "application/json", "Connection": "keep-alive"}

    def post(self, body: bytes) -> tuple[int, bytes]:
        self.connection.request("POST", self.path, body=body, headers=self.headers)
        response = self.connection.getresponse()
        return response.status, response.read()

    def get(self, path: str) -> tuple[int, bytes]:
        self.connection.request("GET", path)
        response = self.connection.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.connection.close()


@contextlib.contextmanager
def loopback_service(artifacts: Path, *, log_dir: Path, start_timeout: float = 60.0) -> Iterator[LoopbackClient]:
    """Serve ``artifacts`` on 127.0.0.1 (a free port) while the block runs; raises ConfigError when it
    does not become ready. Gates are not checked: the run measuring it has not checked them yet."""
    import uvicorn

    from .app import create_app
    from .contract import read_serving_metadata

    meta = read_serving_metadata(artifacts / "serving.json")
    key_env = (meta["api"]["api_key_env"] or "AISPEC_API_KEY") if meta["api"]["auth"] == "api_key" else None
    with _api_key(key_env) as key:
        app = create_app(artifacts, log_dir=log_dir, allow_failed_gates=True, announce_gates=False)
    state = app.state.serving
    if not state.ready:
        raise ConfigError(f"the service did not get ready: {state.not_ready_reason}")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    # log_config=None: uvicorn leaves the training run's logging alone
    config = uvicorn.Config(app, log_config=None, log_level="error", access_log=False, lifespan="on",
                            http="auto", loop="auto")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="aispec-loopback", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise ConfigError("the service did not start on 127.0.0.1 for the latency measurement")
        time.sleep(0.01)
    client = LoopbackClient(port, app.state.paths["predict"], state.schemas.row)
    if key is not None:  # api_key auth is part of what a request costs: measured with a throwaway key
        client.headers["X-API-Key"] = key
    try:
        yield client
    finally:
        client.close()
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@contextlib.contextmanager
def _api_key(env: str | None) -> Iterator[str | None]:
    """The service's API key variable set to a random key while the app is created (it reads the key
    then), restored afterwards: the training run never needs, sees or keeps the real key."""
    import os
    import secrets

    if env is None:
        yield None
        return
    before = os.environ.get(env)
    key = secrets.token_urlsafe(24)
    os.environ[env] = key
    try:
        yield key
    finally:
        if before is None:
            os.environ.pop(env, None)
        else:
            os.environ[env] = before


def _value(column: Mapping[str, Any], value: Any) -> Any:
    """A frame value as a client sends it: null for missing, numbers as floats, booleans as booleans,
    categories as the declared value (``1`` for ``1.0``), text as text."""
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, str | bytes):
        with contextlib.suppress(TypeError, ValueError):
            value = item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    kind = column["type"]
    if kind == "numeric":
        return float(value)
    if kind == "boolean":
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes", "t", "y")
        return bool(value)
    text = label_text(value)
    if text == "":
        return None
    if kind == "categorical" and column["allowed"]:
        return next((a for a in column["allowed"] if label_text(a) == text), text)
    return text


def request_rows(meta: ServingMetadata, records: Sequence[Mapping[str, Any]], validate: Any = None) -> list[bytes]:
    """JSON bodies of single-row requests for ``records`` (e.g. the test split as ``to_dict("records")``).

    ``validate``: the service's request model (``app.state.serving.schemas.row``); rows it rejects are
    left out, so that only accepted requests are timed. Falls back to the reference example row.
    """
    bodies: list[bytes] = []
    if meta.get("image") is not None:  # an image model: each record's image as a client sends it, a PNG in base64
        import base64

        from ..images.decode import encode_png

        field = meta["image"]["field"]
        for record in records:
            png = base64.b64encode(encode_png(record[field])).decode("ascii")
            bodies.append(json.dumps({field: png}).encode("utf-8"))
        return bodies or [json.dumps(meta["example"]).encode("utf-8")]
    for record in records:
        row = {c["name"]: _value(c, record.get(c["name"])) for c in meta["columns"]}
        row = {k: v for k, v in row.items() if v is not None}
        if validate is not None:
            try:
                validate.model_validate(row)
            except Exception:  # a row the service would answer with a 422: not what a latency gate means
                continue
        bodies.append(json.dumps(row, allow_nan=False).encode("utf-8"))
    return bodies or [json.dumps(meta["example"], allow_nan=False).encode("utf-8")]
