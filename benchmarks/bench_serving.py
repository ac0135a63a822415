"""Serving latency and throughput: create_app against a minimal FastAPI app and bare onnxruntime.

Run: python benchmarks/bench_serving.py [--seconds 5] [--trees 100] [--no-pin] [--json out.json]

Model: a random forest (``--trees`` trees, max_depth 8) on palmerpenguins (species from island, four
measurements, sex and a boolean; 7 inputs), trained with aispec's runtime, exported to ONNX, with
``serving.json`` from ``serving_metadata`` (drift: psi over 1000 rows).

Contestants, each answering single-row classification requests (label + probabilities):

- ``onnxruntime``: ``InferenceSession.run`` in this process on pre-built single-row feeds
  (no HTTP; "concurrency 16" = 16 threads calling run).
- ``minimal``: a hand-written FastAPI app: a pydantic body model with the 7 fields (plain types,
  no constraints), ``async def`` handler building the feeds with ``np.array`` and returning a dict
  (label, probabilities). Same onnxruntime session options as create_app (1 intra-op thread,
  no spinning).
- ``create_app``: ``python -m aispec.runtime.serving`` (validation with ranges/categories, metrics,
  drift, prediction ids, body limit), prediction logging off; ``create_app+log`` with
  ``monitoring.log_predictions`` on.

Both servers run under uvicorn (httptools, uvloop, no access log, one worker) in a subprocess;
the load generator is an asyncio raw-socket HTTP/1.1 keep-alive client (uvloop) in this process
with ``--concurrency`` connections each sending its next request when the last answer arrived
(closed loop), cycling over 200 real rows. With ``--pin`` (default when there are 2+ CPUs) the
server runs on CPU 0 and the client on CPU 1. Each measurement: 1 s warm-up, then ``--seconds``
seconds; latency = client-side round trip (p50/p99), throughput = answers per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import numpy as np

FEATURES = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "tagged"]
COLUMNS: dict[str, dict[str, Any]] = {
    "island": {"type": "categorical", "allowed": ["Biscoe", "Dream", "Torgersen"]},
    "bill_length_mm": {"type": "numeric", "nullable": True, "range": [25.0, 70.0]},
    "bill_depth_mm": {"type": "numeric", "nullable": True, "range": [10.0, 25.0]},
    "flipper_length_mm": {"type": "numeric", "nullable": True, "range": [150.0, 250.0]},
    "body_mass_g": {"type": "numeric", "nullable": True, "range": [2000.0, 7000.0]},
    "sex": {"type": "categorical", "nullable": True, "allowed": ["male", "female"]},
    "tagged": {"type": "boolean"},
    "species": {"type": "categorical"},
    "year": {"type": "numeric"},
}


# ------------------------------------------------------------------------------------ the model


def build_model(directory: Path, trees: int, *, log_predictions: bool) -> list[dict[str, Any]]:
    """Train + export + serving.json into ``directory``; returns 200 request rows."""
    from sklearn.pipeline import Pipeline

    from aispec.runtime import data, datasets, models, preprocess
    from aispec.runtime.export import to_onnx
    from aispec.runtime.serving.contract import serving_metadata, write_serving_metadata

    raw = datasets.load_bundled("palmerpenguins")
    raw["tagged"] = np.random.default_rng(0).random(len(raw)) < 0.3
    frame = data.prepare_frame(raw, columns=COLUMNS, drop=["year"], pii=[])
    X, y = frame[FEATURES], frame["species"]
    pipeline = Pipeline([
        ("preprocess", preprocess.build_preprocessor(column_types={f: COLUMNS[f]["type"] for f in FEATURES},
                                                     cleaning={}, task="classification")),
        ("model", models.make_estimator("random_forest", task="classification",
                                        params={"n_estimators": trees, "max_depth": 8}, seed=0)),
    ])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline.fit(X, y)
    report = to_onnx(pipeline, X, directory / "model.onnx")
    meta = serving_metadata(
        onnx=report.to_dict(), features=FEATURES, columns=COLUMNS, frame=X, task="classification",
        target="species", classes=list(pipeline.classes_), project_name="bench", project_version="1.0.0",
        spec_hash="bench", metrics={}, deployment={"api": {"max_batch": 100}},
        monitoring={"drift": {"method": "psi", "window": 1000}, "log_predictions": log_predictions})
    write_serving_metadata(directory / "serving.json", meta)
    out = []
    for record in X.sample(n=200, random_state=0).to_dict("records"):
        row: dict[str, Any] = {}
        for key, value in record.items():
            if key == "tagged":
                row[key] = bool(value)
            elif (isinstance(value, float) and np.isnan(value)) or value == "":
                row[key] = None
            else:
                row[key] = value
        out.append(row)
    return out


# ------------------------------------------------------------------------- the minimal app

MINIMAL_APP = '''
import json, sys
from typing import Optional
import numpy as np, onnxruntime as ort
from fastapi import FastAPI
from pydantic import BaseModel

directory = sys.argv[1]
meta = json.load(open(directory + "/serving.json"))
options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
options.add_session_config_entry("session.intra_op.allow_spinning", "0")
session = ort.InferenceSession(directory + "/model.onnx", sess_options=options, providers=["CPUExecutionProvider"])
classes = [str(c) for c in meta["classes"]]

class Row(BaseModel):
    island: str
    bill_length_mm: Optional[float] = None
    bill_depth_mm: Optional[float] = None
    flipper_length_mm: Optional[float] = None
    body_mass_g: Optional[float] = None
    sex: Optional[str] = None
    tagged: bool

app = FastAPI()

def f(v):
    return np.array([[np.nan if v is None else v]], dtype=np.float32)

def s(v):
    return np.array([["" if v is None else v]], dtype=object)

@app.get("/health")
async def health():
    return {"status": "alive"}

@app.post("/v1/predict")
async def predict(row: Row):
    feeds = {"island": s(row.island), "bill_length_mm": f(row.bill_length_mm), "bill_depth_mm": f(row.bill_depth_mm),
             "flipper_length_mm": f(row.flipper_length_mm), "body_mass_g": f(row.body_mass_g), "sex": s(row.sex),
             "tagged": f(1.0 if row.tagged else 0.0)}
    label, probabilities = session.run(None, feeds)
    return {"label": str(label[0]), "probabilities": dict(zip(classes, probabilities[0].tolist()))}

if __name__ == "__main__":
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False,
                http="httptools", loop="uvloop")
'''


# ---------------------------------------------------------------------------------- the client


def _request(body: bytes) -> bytes:
    return (b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


async def _worker(port: int, requests: list[bytes], offset: int, deadline_warm: float, deadline: float,
                  latencies: list[int], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    clock = time.perf_counter_ns
    i = offset
    n = len(requests)
    try:
        while True:
            now = time.perf_counter()
            if now >= deadline:
                break
            start = clock()
            writer.write(requests[i % n])
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            status = head[9:12]
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            elapsed = clock() - start
            if status != b"200":
                errors.append(status.decode())
            elif now >= deadline_warm:
                latencies.append(elapsed)
            i += 1
    finally:
        writer.close()


async def _load(port: int, requests: list[bytes], concurrency: int, seconds: float) -> dict[str, float]:
    latencies: list[int] = []
    errors: list[str] = []
    start = time.perf_counter()
    warm, end = start + 1.0, start + 1.0 + seconds
    await asyncio.gather(*(_worker(port, requests, k * 7, warm, end, latencies, errors) for k in range(concurrency)))
    return _summary(latencies, seconds, errors)


def _summary(latencies_ns: list[int], seconds: float, errors: list[str] | None = None) -> dict[str, float]:
    values = np.asarray(latencies_ns, dtype=np.float64) / 1e6
    return {"p50_ms": round(float(np.percentile(values, 50)), 3), "p99_ms": round(float(np.percentile(values, 99)), 3),
            "rps": round(len(values) / seconds, 1), "n": len(values), "errors": len(errors or [])}


def load(port: int, requests: list[bytes], concurrency: int, seconds: float) -> dict[str, float]:
    try:
        import uvloop

        return uvloop.run(_load(port, requests, concurrency, seconds))
    except ImportError:
        return asyncio.run(_load(port, requests, concurrency, seconds))


# ---------------------------------------------------------------------------------- the servers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(command: list[str], port: int, pin: bool) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=(lambda: os.sched_setaffinity(0, {0})) if pin else None)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                if response.status == 200:
                    return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start in 60 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def bench_inprocess(directory: Path, rows: list[dict[str, Any]], seconds: float) -> dict[str, dict[str, float]]:
    import onnxruntime as ort

    meta = json.loads((directory / "serving.json").read_text())
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(directory / "model.onnx"), sess_options=options,
                                   providers=["CPUExecutionProvider"])
    feeds = []
    for row in rows:
        feed = {}
        for column in meta["columns"]:
            value = row.get(column["name"])
            if column["dtype"] == "float":
                feed[column["input"]] = np.array([[np.nan if value is None else float(value)]], dtype=np.float32)
            else:
                feed[column["input"]] = np.array([["" if value is None else str(value)]], dtype=object)
        feeds.append(feed)
    out: dict[str, dict[str, float]] = {}
    for concurrency in (1, 16):
        latencies: list[list[int]] = [[] for _ in range(concurrency)]
        start = time.perf_counter()
        warm, end = start + 1.0, start + 1.0 + seconds

        def run(k: int, end: float = end, warm: float = warm, latencies: list[list[int]] = latencies) -> None:
            clock = time.perf_counter_ns
            i = k
            while True:
                now = time.perf_counter()
                if now >= end:
                    return
                t0 = clock()
                session.run(None, feeds[i % len(feeds)])
                if now >= warm:
                    latencies[k].append(clock() - t0)
                i += 1

        threads = [threading.Thread(target=run, args=(k,)) for k in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        out[f"c{concurrency}"] = _summary([v for part in latencies for v in part], seconds)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--only", default="onnxruntime,minimal,create_app,create_app+log")
    args = parser.parse_args()
    pin = not args.no_pin and len(os.sched_getaffinity(0)) >= 2
    only = set(args.only.split(","))
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="aispec-bench-serving-") as tmp:
        base = Path(tmp)
        quiet, logged = base / "quiet", base / "logged"
        rows = build_model(quiet, args.trees, log_predictions=False)
        build_model(logged, args.trees, log_predictions=True)
        requests = [_request(json.dumps(row).encode()) for row in rows]
        if pin:
            os.sched_setaffinity(0, {1})
        if "onnxruntime" in only:
            results["onnxruntime"] = bench_inprocess(quiet, rows, args.seconds)
        (base / "minimal_app.py").write_text(MINIMAL_APP)
        servers = {
            "minimal": lambda port: [sys.executable, str(base / "minimal_app.py"), str(quiet), str(port)],
            "create_app": lambda port: [sys.executable, "-m", "aispec.runtime.serving", str(quiet), "--port",
                                        str(port), "--log-dir", str(base / "logs-quiet")],
            "create_app+log": lambda port: [sys.executable, "-m", "aispec.runtime.serving", str(logged), "--port",
                                            str(port), "--log-dir", str(base / "logs")],
        }
        for name, command in servers.items():
            if name not in only:
                continue
            port = _free_port()
            proc = start_server(command(port), port, pin)
            try:
                results[name] = {f"c{c}": load(port, requests, c, args.seconds) for c in (1, 16)}
            finally:
                stop_server(proc)
    print(f"{'contestant':<16} {'conc':>4} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>9} {'errors':>6}")
    for name, by_concurrency in results.items():
        for key, r in by_concurrency.items():
            print(f"{name:<16} {key[1:]:>4} {r['p50_ms']:>8.3f} {r['p99_ms']:>8.3f} {r['rps']:>9.1f} "
                  f"{r['errors']:>6}")
    if "minimal" in results and "create_app" in results:
        for key in ("c1", "c16"):
            ratio = results["minimal"][key]["rps"] / max(1e-9, results["create_app"][key]["rps"])
            print(f"throughput minimal / create_app at concurrency {key[1:]}: {ratio:.3f}x")
    if args.json:
        args.json.write_text(json.dumps({"pinned": pin, "cpus": os.cpu_count(), "results": results}, indent=1))


if __name__ == "__main__":
    main()
