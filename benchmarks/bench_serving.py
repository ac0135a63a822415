"""Serving latency and throughput: create_app against a minimal FastAPI app, BentoML and bare onnxruntime.

Run: python benchmarks/bench_serving.py [--seconds 5] [--repeat 1] [--trees 100] [--no-pin] [--json out.json]
         [--bentoml-python /tmp/bento-venv/bin/python] [--only onnxruntime,minimal,create_app,...]

Model: a random forest (``--trees`` trees, max_depth 8) on palmerpenguins (species from island, four
measurements, sex and a boolean; 7 inputs), trained with aispec's runtime, exported to ONNX, with
``serving.json`` from ``serving_metadata`` (drift: psi over 1000 rows).

Contestants, each answering single-row classification requests (label + probabilities):

- ``onnxruntime``: ``InferenceSession.run`` in this process on pre-built single-row feeds
  (no HTTP; "concurrency 16" = 16 threads calling run). The floor.
- ``minimal``: a hand-written FastAPI app: a pydantic body model with the 7 fields (plain types,
  no constraints), ``async def`` handler building the feeds with ``np.array`` and returning a dict
  (label, probabilities). Same onnxruntime session options as create_app (1 intra-op thread,
  no spinning). Run under uvicorn (httptools, uvloop, no access log, one worker).
- ``create_app``: ``python -m aispec.runtime.serving`` (validation with ranges/categories, metrics,
  drift, prediction ids, body limit), prediction logging off; ``create_app+log`` with
  ``monitoring.log_predictions`` on. uvicorn with its defaults as the module starts it (httptools and
  uvloop when installed, no access log, one worker).
- ``bentoml`` (only with ``--bentoml-python``, the interpreter of a separate virtual environment
  holding bentoml, onnxruntime and numpy; skipped with the reason printed otherwise): the same
  model.onnx and session options in a ``@bentoml.service`` class with one ``@bentoml.api`` method
  (a plain ``def``, as in BentoML's quickstart; ``--bentoml-async`` makes it ``async def``) whose
  keyword parameters are the 7 fields, so it takes the same JSON row at ``POST /predict`` and
  returns label + probabilities. Started with its default server, ``bentoml serve service:Penguins``
  (default configuration: one worker, access log on, tracing/metrics as BentoML ships them;
  ``--bentoml-options`` passes ``BENTOML_CONFIG_OPTIONS``, e.g. ``services.logging.access.enabled=false``).

Before timing, each HTTP contestant answers the first 8 rows and its labels and probabilities are
checked against the in-process onnxruntime outputs (labels equal, probabilities within 1e-5; create_app
rounds to 6 decimals); a mismatch stops the benchmark.

All servers are started first (each in its own subprocess, output in a log file) and stay up, idle
but for the one under load; ``--repeat N`` measures every contestant N times round-robin, so that load
from elsewhere on the machine hits all of them alike, and reports the medians of the rounds (p50, p99,
req/s) and the best round (lowest p99, highest req/s). The load generator is an asyncio raw-socket
HTTP/1.1 keep-alive client (uvloop) in this process with 1 or 16 connections, each
sending its next request when the last answer arrived (closed loop), cycling over 200 real rows. With
``--pin`` (default when there are 2+ CPUs) the server (all its processes) runs on CPU 0 and the client
on CPU 1. Each measurement: 1 s warm-up, then ``--seconds`` seconds; latency = client-side round trip
(p50/p99), throughput = answers per second. The summary checks the issue's targets on the medians:
create_app's throughput within 1.25x of the minimal app's and at least 5x BentoML's, and its p99 at
concurrency 1 under 2 ms. ``/proc/loadavg`` is recorded before and after: other work on the machine
skews the figures, the p99 at concurrency 1 most.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
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


# ------------------------------------------------------------------------------- the BentoML service

BENTOML_SERVICE = '''
from __future__ import annotations

import json
import os
from typing import Any

import bentoml
import numpy as np
import onnxruntime as ort

DIRECTORY = os.environ["BENCH_MODEL_DIR"]


def f(v: float | None) -> np.ndarray:
    return np.array([[np.nan if v is None else v]], dtype=np.float32)


def s(v: str | None) -> np.ndarray:
    return np.array([["" if v is None else v]], dtype=object)


@bentoml.service
class Penguins:
    def __init__(self) -> None:
        with open(DIRECTORY + "/serving.json") as handle:
            meta = json.load(handle)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(DIRECTORY + "/model.onnx", sess_options=options,
                                            providers=["CPUExecutionProvider"])
        self.classes = [str(c) for c in meta["classes"]]

    @bentoml.api
    {ASYNC}def predict(self, island: str, tagged: bool, bill_length_mm: float | None = None,
                bill_depth_mm: float | None = None, flipper_length_mm: float | None = None,
                body_mass_g: float | None = None, sex: str | None = None) -> dict[str, Any]:
        feeds = {"island": s(island), "bill_length_mm": f(bill_length_mm), "bill_depth_mm": f(bill_depth_mm),
                 "flipper_length_mm": f(flipper_length_mm), "body_mass_g": f(body_mass_g), "sex": s(sex),
                 "tagged": f(1.0 if tagged else 0.0)}
        label, probabilities = self.session.run(None, feeds)
        return {"label": str(label[0]), "probabilities": dict(zip(self.classes, probabilities[0].tolist()))}
'''


def bentoml_version(python: str | None) -> tuple[str | None, str]:
    """(bentoml's version, "") when ``python`` can import bentoml, onnxruntime and numpy, else (None, why not)."""
    if not python:
        return None, "no --bentoml-python given (the interpreter of a virtual environment with bentoml installed)"
    try:
        done = subprocess.run([python, "-c", "import bentoml, numpy, onnxruntime; print(bentoml.__version__)"],
                              capture_output=True, text=True, timeout=120)
    except OSError as exc:
        return None, f"cannot run {python}: {exc}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return None, f"{python} cannot import bentoml, onnxruntime and numpy: {last}"
    return done.stdout.strip(), ""


# ---------------------------------------------------------------------------------- the client


def _request(body: bytes, path: bytes = b"/v1/predict") -> bytes:
    return (b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
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


def start_server(command: list[str], port: int, pin: bool, *, log: Path, health: str = "/health",
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own session (output to ``log``) and wait until ``health`` answers 200."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    with open(log, "ab") as out:  # a file, not a pipe: a chatty server must never block on a full pipe
        proc = subprocess.Popen(command, env=environment, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                start_new_session=True,
                                preexec_fn=(lambda: os.sched_setaffinity(0, {0})) if pin else None)
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}): {log.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{health}", timeout=1) as response:
                if response.status == 200:
                    return proc
        except OSError:
            time.sleep(0.1)
    stop_server(proc)
    raise RuntimeError(f"server did not start in 90 s: {log.read_text(errors='replace')[-4000:]}")


def _group(pgid: int) -> list[int]:
    """Processes whose process group is ``pgid`` (a server's workers outliving their supervisor)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT to the server's process group (it started its own session), SIGKILL after 15 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    for pid in _group(proc.pid):  # workers left behind by a supervisor, by pid
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def post_json(port: int, path: str, payload: Any, timeout: float = 10.0) -> tuple[int, Any]:
    """One POST with urllib: (status, decoded JSON answer)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def check_answers(port: int, path: str, rows: list[dict[str, Any]], expected: list[tuple[str, dict[str, float]]],
                  tolerance: float = 1e-5) -> list[str]:
    """Problems with the server's answers to ``rows`` against the in-process ``expected`` (empty: all equal)."""
    problems: list[str] = []
    for i, (row, (label, probabilities)) in enumerate(zip(rows, expected, strict=True)):
        status, answer = post_json(port, path, row)
        if status != 200 or not isinstance(answer, dict):
            problems.append(f"row {i}: status {status}: {answer!r}")
            continue
        got = answer.get("probabilities") or {}
        if str(answer.get("label")) != label:
            problems.append(f"row {i}: label {answer.get('label')!r}, expected {label!r}")
        if set(got) != set(probabilities) or any(abs(float(got[k]) - v) > tolerance for k, v in probabilities.items()):
            problems.append(f"row {i}: probabilities {got}, expected {probabilities}")
    return problems


def _session(directory: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(directory / "model.onnx"), sess_options=options,
                                providers=["CPUExecutionProvider"])


def _feeds(directory: Path, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    meta = json.loads((directory / "serving.json").read_text())
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
    return feeds


def expected_answers(directory: Path, rows: list[dict[str, Any]]) -> list[tuple[str, dict[str, float]]]:
    """(label, probabilities by class) of the in-process onnxruntime session for each row."""
    meta = json.loads((directory / "serving.json").read_text())
    classes = [str(c) for c in meta["classes"]]
    session = _session(directory)
    out = []
    for feed in _feeds(directory, rows):
        label, probabilities = session.run(None, feed)
        out.append((str(label[0]), dict(zip(classes, probabilities[0].astype(float).tolist(), strict=True))))
    return out


def bench_inprocess(directory: Path, rows: list[dict[str, Any]], seconds: float) -> dict[str, dict[str, float]]:
    session = _session(directory)
    feeds = _feeds(directory, rows)
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


@dataclass
class Server:
    """How to start one HTTP contestant and where it answers."""

    command: Callable[[int], list[str]]
    predict: str = "/v1/predict"
    health: str = "/health"
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None


def _combine(parts: list[dict[str, float]]) -> dict[str, float]:
    """Medians of the rounds' p50, p99 and req/s; the best round's p99 and req/s; errors summed."""
    out = {key: round(float(np.median([p[key] for p in parts])), 3) for key in ("p50_ms", "p99_ms", "rps")}
    out.update(best_p99_ms=min(p["p99_ms"] for p in parts), best_rps=max(p["rps"] for p in parts),
               errors=sum(p["errors"] for p in parts), n=sum(p["n"] for p in parts), rounds=len(parts))
    return out


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages (``/proc/loadavg``), or "" where there is none."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return ""


def targets(results: dict[str, dict[str, dict[str, float]]]) -> list[dict[str, Any]]:
    """The issue's acceptance targets for create_app, for the contestants that ran."""
    out: list[dict[str, Any]] = []
    mine = results.get("create_app")
    if mine is None:
        return out
    for key in ("c1", "c16"):
        if "minimal" in results:
            ratio = results["minimal"][key]["rps"] / max(1e-9, mine[key]["rps"])
            out.append({"check": f"throughput minimal / create_app, concurrency {key[1:]}", "value": round(ratio, 3),
                        "target": "<= 1.25", "ok": ratio <= 1.25})
        if "bentoml" in results:
            ratio = mine[key]["rps"] / max(1e-9, results["bentoml"][key]["rps"])
            out.append({"check": f"throughput create_app / bentoml, concurrency {key[1:]}", "value": round(ratio, 2),
                        "target": ">= 5", "ok": ratio >= 5})
    p99 = mine["c1"]["p99_ms"]
    out.append({"check": "create_app p99 at concurrency 1 (ms)", "value": p99, "target": "< 2", "ok": p99 < 2.0})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds over all contestants (servers stay up); the table shows medians and bests")
    parser.add_argument("--only", default="onnxruntime,minimal,create_app,create_app+log,bentoml")
    parser.add_argument("--bentoml-python", default=None,
                        help="python of a separate virtual environment with bentoml, onnxruntime and numpy")
    parser.add_argument("--bentoml-async", action="store_true", help="make the BentoML api an async def")
    parser.add_argument("--bentoml-options", default="",
                        help="BENTOML_CONFIG_OPTIONS for the BentoML server (default: none, its defaults)")
    args = parser.parse_args()
    pin = not args.no_pin and len(os.sched_getaffinity(0)) >= 2
    only = set(args.only.split(","))
    skipped: dict[str, str] = {}
    bento_version: str | None = None
    if "bentoml" in only:
        bento_version, why = bentoml_version(args.bentoml_python)
        if bento_version is None:
            skipped["bentoml"] = why
            print(f"skipping bentoml: {why}", file=sys.stderr)
    load_before = loadavg()
    with tempfile.TemporaryDirectory(prefix="aispec-bench-serving-") as tmp:
        base = Path(tmp)
        quiet, logged, bento = base / "quiet", base / "logged", base / "bento"
        for directory in (quiet, logged, bento):
            directory.mkdir()
        rows = build_model(quiet, args.trees, log_predictions=False)
        build_model(logged, args.trees, log_predictions=True)
        expected = expected_answers(quiet, rows[:8])
        if pin:
            os.sched_setaffinity(0, {1})
        (base / "minimal_app.py").write_text(MINIMAL_APP)
        (bento / "service.py").write_text(BENTOML_SERVICE.replace("{ASYNC}", "async " if args.bentoml_async else ""))
        bento_env = {"BENCH_MODEL_DIR": str(quiet), "BENTOML_HOME": str(base / "bentoml-home"),
                     "BENTOML_DO_NOT_TRACK": "True"}
        if args.bentoml_options:
            bento_env["BENTOML_CONFIG_OPTIONS"] = args.bentoml_options
        servers = {
            "minimal": Server(lambda port: [sys.executable, str(base / "minimal_app.py"), str(quiet), str(port)]),
            "create_app": Server(lambda port: [sys.executable, "-m", "aispec.runtime.serving", str(quiet), "--port",
                                               str(port), "--log-dir", str(base / "logs-quiet")]),
            "create_app+log": Server(lambda port: [sys.executable, "-m", "aispec.runtime.serving", str(logged),
                                                   "--port", str(port), "--log-dir", str(base / "logs")]),
            "bentoml": Server(lambda port: [str(args.bentoml_python), "-m", "bentoml", "serve", "service:Penguins",
                                            "--host", "127.0.0.1", "--port", str(port)],
                              predict="/predict", health="/readyz", env=bento_env, cwd=bento),
        }
        started: dict[str, tuple[subprocess.Popen[bytes], int, list[bytes]]] = {}
        runs: dict[str, dict[str, list[dict[str, float]]]] = {}
        try:
            for name, server in servers.items():
                if name not in only or name in skipped:
                    continue
                port = _free_port()
                proc = start_server(server.command(port), port, pin, log=base / f"{name}.log", health=server.health,
                                    env=server.env, cwd=server.cwd)
                requests = [_request(json.dumps(row).encode(), server.predict.encode()) for row in rows]
                started[name] = (proc, port, requests)
                problems = check_answers(port, server.predict, rows[:len(expected)], expected)
                if problems:
                    raise SystemExit(f"{name} answers differently from onnxruntime in-process:\n  "
                                     + "\n  ".join(problems))
            for round_ in range(args.repeat):
                if "onnxruntime" in only:
                    for key, result in bench_inprocess(quiet, rows, args.seconds).items():
                        runs.setdefault("onnxruntime", {}).setdefault(key, []).append(result)
                for name, (_, port, requests) in started.items():
                    for c in (1, 16):
                        runs.setdefault(name, {}).setdefault(f"c{c}", []).append(
                            load(port, requests, c, args.seconds))
                print(f"round {round_ + 1}/{args.repeat} done, load average {loadavg()}", file=sys.stderr)
        finally:
            for proc, _, _ in started.values():
                stop_server(proc)
    results = {name: {key: _combine(parts) for key, parts in by.items()} for name, by in runs.items()}
    load_after = loadavg()
    print(f"{'contestant':<16} {'conc':>4} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>9} {'best p99':>8} "
          f"{'best req/s':>10} {'errors':>6}")
    for name, by_concurrency in results.items():
        for key, r in by_concurrency.items():
            print(f"{name:<16} {key[1:]:>4} {r['p50_ms']:>8.3f} {r['p99_ms']:>8.3f} {r['rps']:>9.1f} "
                  f"{r['best_p99_ms']:>8.3f} {r['best_rps']:>10.1f} {r['errors']:>6}")
    if args.repeat > 1:
        print(f"(medians of {args.repeat} rounds; best = lowest p99 / highest req/s of a round)")
    for name, why in skipped.items():
        print(f"{name:<16} skipped: {why}")
    checks = targets(results)
    for check in checks:
        print(f"{check['check']}: {check['value']} (target {check['target']}): {'ok' if check['ok'] else 'MISSED'}")
    print(f"pinned: {pin}; load average before {load_before}, after {load_after}"
          + (f"; bentoml {bento_version}" if bento_version else ""))
    if args.json:
        args.json.write_text(json.dumps({"pinned": pin, "cpus": os.cpu_count(), "loadavg_before": load_before,
                                         "loadavg_after": load_after, "bentoml_version": bento_version,
                                         "bentoml_async": args.bentoml_async,
                                         "bentoml_options": args.bentoml_options, "skipped": skipped,
                                         "repeat": args.repeat, "results": results, "runs": runs,
                                         "targets": checks}, indent=1))


if __name__ == "__main__":
    main()
