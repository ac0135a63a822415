"""Soak: a long closed-loop load on ``python -m aispec.runtime.serving`` with malformed requests mixed in.

Run: python benchmarks/bench_soak.py [--seconds 60] [--concurrency 32] [--malformed 0.05] [--trees 100]
         [--warmup 10] [--warmup-predictions 50000] [--max-growth-mib 10] [--timeout 10]
         [--skip-kinds k1,k2] [--log-predictions] [--seed 0] [--no-pin] [--json out.json]

The server: the model of ``bench_serving.py`` (random forest on palmerpenguins, 7 inputs, drift on,
prediction logging off (``--log-predictions``: on, to
a temporary directory, rotated at 64 MiB), ``api.max_batch`` 100, ``api.max_body`` 1 MiB), started as
``python -m aispec.runtime.serving DIR --port P`` (its defaults: one uvicorn worker, no access log).
With ``--pin`` (default with 2+ CPUs) the server runs on CPU 0 and the load generator on CPU 1.

The load: ``--concurrency`` keep-alive HTTP/1.1 connections from an asyncio raw-socket client (uvloop
when installed), each sending its next request when the last answer arrived (closed loop), for
``--seconds`` seconds. Each request is malformed with probability ``--malformed``, its kind drawn
uniformly from the kinds below (each with a few variants built from real rows); the good ones are
single rows to ``POST /v1/predict`` (cycling over 200 real rows), 1 in 100 a valid batch of 10 rows to
``POST /v1/predict/batch``. Malformed kinds, with the status the service documents:

=====================  ======  ==================================================================
``invalid_json``        400     a row's JSON cut short
``invalid_utf8``        400     a JSON string holding bytes that are not UTF-8
``deep_nesting``        400     5,000 nested arrays (past the JSON parser's recursion limit)
``empty_body``          400     ``Content-Length: 0``
``form_body``           415     the row as ``application/x-www-form-urlencoded``
``wrong_content_type``  415     a valid JSON row sent as ``Content-Type: text/plain`` (any 4xx passes)
``not_an_object``       422     a JSON array holding the row
``missing_field``       422     a required field (island / tagged) left out
``extra_field``         422     a field that is not an input (the target, ``species``)
``wrong_type``          422     a number as a string, a boolean as a string
``nan_literal``         422     ``NaN`` as a number (JSON5 literal)
``infinity_literal``    422     ``Infinity`` / ``-Infinity`` as a number
``out_of_range``        422     a measurement outside its declared range
``unknown_category``    422     an island that is not in the allowed set
``batch_over_max``      422     ``max_batch + 1`` rows to ``/v1/predict/batch``
``oversized``           413     a body of ``max_body + 1 KiB`` with ``Content-Length``
``oversized_chunked``   413     the same body with ``Transfer-Encoding: chunked`` (64 KiB chunks)
=====================  ======  ==================================================================

Counted per kind: requests sent, answers by status class (and by exact status), dropped connections
(the connection reset, closed, or refused before a whole answer came back, or no answer within
``--timeout`` seconds; the client then reconnects) and answers that closed the connection with
``Connection: close`` (allowed, not a drop). Latency of the good single-row requests (client-side
round trip, p50/p99) is reported for information.

Memory: the server's resident set (``VmRSS`` of ``/proc/PID/status``) is sampled every second from
just before the load starts: start (before the load), at the end of warm-up, peak and end, the growth
from warm-up to end and over the last half of the run, and the least-squares slope after warm-up in
MiB per minute. Warm-up ends at the first sample taken at least ``--warmup`` seconds (10) into the load
and after ``--warmup-predictions`` (50,000) rows were scored: the service's bounded in-memory
structures fill first, the largest being the last 50,000 prediction ids it keeps to join feedback
(about 10 MiB; it fills in about 12 s at 4,000 req/s, later on a slower machine), then the drift
window and the allocator's arenas.

Checks (exit status 1 when one fails): no 5xx answer; no dropped connection; every good request
answered 200 and every malformed one a 4xx; RSS growth after warm-up at most ``--max-growth-mib``
(10 MiB: some 45 s of a 60 s run remain after warm-up, about 180,000 requests at 4,000 req/s,
so a leak of 60 bytes or more per request fails, whereas nothing the service keeps grows without
bound: allocator steps of 1 to 4 MiB come and go); the server still alive and ready at the end; and no
traceback or ERROR line in the server's log. The server's own ``aispec_requests`` counters (from
``/metrics``) are printed beside the client's counts. ``/proc/loadavg`` is recorded before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from bench_serving import _free_port, build_model, loadavg, start_server, stop_server

# ------------------------------------------------------------------------------------ requests


def _raw(path: str, body: bytes, content_type: bytes | None = b"application/json", *, chunked: bool = False) -> bytes:
    head = b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if content_type is not None:
        head += b"Content-Type: " + content_type + b"\r\n"
    if not chunked:
        return head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    size = 64 * 1024
    chunks = b"".join(b"%x\r\n" % len(body[i:i + size]) + body[i:i + size] + b"\r\n" for i in range(0, len(body), size))
    return head + b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"


@dataclass
class Kind:
    """One kind of request: the status it should get and its variants (whole HTTP requests)."""

    name: str
    expect: int
    variants: list[bytes]


def request_kinds(rows: list[dict[str, Any]], max_batch: int, max_body: int) -> tuple[list[Kind], list[Kind]]:
    """(good kinds, malformed kinds) for the palmerpenguins rows of ``bench_serving.build_model``."""
    predict, batch = "/v1/predict", "/v1/predict/batch"
    some = rows[:8]

    def dumps(value: Any) -> bytes:
        return json.dumps(value).encode()  # allow_nan: NaN / Infinity / -Infinity literals

    def without(row: dict[str, Any], key: str) -> dict[str, Any]:
        return {k: v for k, v in row.items() if k != key}

    pad = b"x" * (max_body + 1024)
    oversized = b'{"island": "Dream", "tagged": true, "pad": "' + pad + b'"}'
    good = [
        Kind("good", 200, [_raw(predict, dumps(row)) for row in rows]),
        Kind("good_batch", 200, [_raw(batch, dumps({"rows": rows[i:i + 10]})) for i in range(0, 100, 10)]),
    ]
    bad = [
        Kind("invalid_json", 400, [_raw(predict, dumps(row)[:-7]) for row in some]),
        Kind("invalid_utf8", 400, [_raw(predict, b'{"island": "\xff\xfe", "tagged": true}'),
                                   _raw(predict, dumps(some[0]).replace(b'"island": "', b'"island": "\xc3\x28'))]),
        Kind("deep_nesting", 400, [_raw(predict, b"[" * 5000 + b"]" * 5000),
                                   _raw(predict, b'{"island": "Dream", "tagged": true, "x": ' + b"[" * 5000
                                        + b"]" * 5000 + b"}")]),
        Kind("empty_body", 400, [_raw(predict, b"")]),
        Kind("form_body", 415, [_raw(predict, "&".join(f"{k}={v}" for k, v in row.items()).encode(),
                                     b"application/x-www-form-urlencoded") for row in some]),
        Kind("wrong_content_type", 415, [_raw(predict, dumps(row), b"text/plain") for row in some]),
        Kind("not_an_object", 422, [_raw(predict, dumps([row])) for row in some] + [_raw(predict, b"null")]),
        Kind("missing_field", 422, [_raw(predict, dumps(without(row, key))) for row in some
                                    for key in ("island", "tagged")]),
        Kind("extra_field", 422, [_raw(predict, dumps({**row, "species": "Adelie"})) for row in some]),
        Kind("wrong_type", 422, [_raw(predict, dumps({**row, "bill_length_mm": "40.6"})) for row in some]
             + [_raw(predict, dumps({**row, "tagged": "true"})) for row in some]),
        Kind("nan_literal", 422, [_raw(predict, dumps({**row, "body_mass_g": float("nan")})) for row in some]),
        Kind("infinity_literal", 422, [_raw(predict, dumps({**row, "flipper_length_mm": sign * float("inf")}))
                                       for row in some for sign in (1, -1)]),
        Kind("out_of_range", 422, [_raw(predict, dumps({**row, "body_mass_g": 1e6})) for row in some]
             + [_raw(predict, dumps({**row, "bill_depth_mm": -1.0})) for row in some]),
        Kind("unknown_category", 422, [_raw(predict, dumps({**row, "island": "Atlantis"})) for row in some]
             + [_raw(predict, dumps({**row, "sex": "unknown"})) for row in some]),
        Kind("batch_over_max", 422, [_raw(batch, dumps({"rows": [rows[i % len(rows)]
                                                                for i in range(max_batch + 1)]}))]),
        Kind("oversized", 413, [_raw(predict, oversized)]),
        Kind("oversized_chunked", 413, [_raw(predict, oversized, chunked=True)]),
    ]
    return good, bad


# ---------------------------------------------------------------------------------- the client


@dataclass
class Tally:
    """What one kind of request got."""

    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    drops: Counter[str] = field(default_factory=Counter)
    closed: int = 0  # answers with Connection: close
    bad_body: int = 0  # a 200 without a prediction, a 4xx/5xx that is not a JSON error object

    def count(self, low: int, high: int) -> int:
        return sum(n for status, n in self.statuses.items() if low <= status < high)


@dataclass
class Soak:
    tallies: dict[str, Tally]
    latencies: list[int] = field(default_factory=list)  # ns, good single-row requests
    drop_examples: list[str] = field(default_factory=list)
    connections: int = 0

    def answered(self) -> int:
        return sum(sum(t.statuses.values()) for t in self.tallies.values())

    def predictions(self) -> int:
        """Rows the service scored (each good batch holds 10)."""
        return self.tallies["good"].statuses[200] + 10 * self.tallies["good_batch"].statuses[200]


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    payload: bytes) -> tuple[int, bool, bytes]:
    """Send one request, read one whole answer: (status, connection closed by the server, body)."""
    writer.write(payload)
    await writer.drain()
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        if status >= 200:
            break  # 1xx: an interim answer, the real one follows
    length: int | None = None
    chunked = close = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value
        elif name == b"connection":
            close = value == b"close"
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    elif length is not None:
        body = await reader.readexactly(length)
    elif close:
        body = await reader.read()
    else:
        body = b""
    return status, close, body


def _body_ok(kind: str, status: int, body: bytes) -> bool:
    if status == 200:
        return (b'"predictions"' if kind == "good_batch" else b'"label"') in body
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    return isinstance(answer, dict) and "error" in answer


async def _worker(port: int, good: list[Kind], bad: list[Kind], malformed: float, seed: int, deadline: float,
                  timeout: float, soak: Soak) -> None:
    rng = random.Random(seed)
    clock = time.perf_counter_ns
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    i = seed
    while time.perf_counter() < deadline:
        if bad and rng.random() < malformed:
            kind = rng.choice(bad)
            payload = rng.choice(kind.variants)
        else:
            kind = good[1] if rng.random() < 0.01 else good[0]
            payload = kind.variants[i % len(kind.variants)]
            i += 1
        tally = soak.tallies[kind.name]
        tally.sent += 1
        start = clock()
        try:
            if connection is None:
                connection = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
                soak.connections += 1
            status, close, body = await asyncio.wait_for(_exchange(*connection, payload), timeout)
        except (OSError, EOFError, ValueError, asyncio.LimitOverrunError) as exc:  # TimeoutError is an OSError
            what = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
            tally.drops[what] += 1
            if len(soak.drop_examples) < 20:
                soak.drop_examples.append(f"{kind.name}: {what}: {exc!r}"[:300])
            if connection is not None:
                connection[1].close()
            connection = None
            await asyncio.sleep(0.01)
            continue
        elapsed = clock() - start
        tally.statuses[status] += 1
        if not _body_ok(kind.name, status, body):
            tally.bad_body += 1
        if kind.name == "good" and status == 200:
            soak.latencies.append(elapsed)
        if close and connection is not None:
            tally.closed += 1
            connection[1].close()
            connection = None
    if connection is not None:
        connection[1].close()


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` in KiB (``VmRSS``), 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


async def _sampler(pid: int, start: float, seconds: float, soak: Soak, samples: list[dict[str, float]]) -> None:
    k = 0
    while True:
        target = start + k
        await asyncio.sleep(max(0.0, target - time.perf_counter()))
        samples.append({"t": round(time.perf_counter() - start, 2), "rss_mib": round(rss_kib(pid) / 1024, 2),
                        "answered": soak.answered(), "predictions": soak.predictions()})
        if k >= seconds:
            return
        k += 1


async def _soak(port: int, pid: int, good: list[Kind], bad: list[Kind], args: argparse.Namespace,
                soak: Soak, samples: list[dict[str, float]]) -> float:
    start = time.perf_counter()
    deadline = start + args.seconds
    sampler = asyncio.create_task(_sampler(pid, start, args.seconds, soak, samples))
    await asyncio.gather(*(_worker(port, good, bad, args.malformed, args.seed * 1000 + k, deadline, args.timeout,
                                   soak) for k in range(args.concurrency)))
    elapsed = time.perf_counter() - start
    await sampler
    return elapsed


def run_load(port: int, pid: int, good: list[Kind], bad: list[Kind], args: argparse.Namespace, soak: Soak,
             samples: list[dict[str, float]]) -> float:
    try:
        import uvloop

        return uvloop.run(_soak(port, pid, good, bad, args, soak, samples))
    except ImportError:
        return asyncio.run(_soak(port, pid, good, bad, args, soak, samples))


# ---------------------------------------------------------------------------------- the report


def memory(samples: list[dict[str, float]], warmup: float, warmup_predictions: int) -> dict[str, Any]:
    """RSS at the start, at the end of warm-up (the first sample at least ``warmup`` seconds in and after
    ``warmup_predictions`` predictions), peak and end; growth after warm-up and over the last half of the
    run; least-squares slope after warm-up (MiB/min). ``warm_t`` is None when warm-up never ended."""
    after = [s for s in samples if s["t"] >= warmup - 0.5 and s["predictions"] >= warmup_predictions]
    t = np.array([s["t"] for s in after])
    rss = np.array([s["rss_mib"] for s in after])
    slope = float(np.polyfit(t, rss, 1)[0]) * 60 if len(after) >= 2 else 0.0
    half = samples[len(samples) // 2]
    return {"start_mib": samples[0]["rss_mib"], "warm_t": after[0]["t"] if after else None,
            "warm_mib": after[0]["rss_mib"] if after else None,
            "peak_mib": max(s["rss_mib"] for s in samples), "end_mib": samples[-1]["rss_mib"],
            "growth_after_warmup_mib": round(samples[-1]["rss_mib"] - after[0]["rss_mib"], 2) if after else None,
            "slope_after_warmup_mib_per_min": round(slope, 3),
            "growth_last_half_mib": round(samples[-1]["rss_mib"] - half["rss_mib"], 2), "half_t": half["t"]}


def server_counts(port: int) -> dict[str, int]:
    """The service's own ``aispec_requests`` counters by status class."""
    out: Counter[str] = Counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    for match in re.finditer(r'^aispec_requests_total\{[^}]*status="(\d+)"[^}]*\} ([0-9.e+]+)$', text, re.M):
        out[match.group(1)[0] + "xx"] += int(float(match.group(2)))
    return dict(out)


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=10) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--malformed", type=float, default=0.05, help="share of malformed requests (0.05)")
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before the RSS baseline")
    parser.add_argument("--warmup-predictions", type=int, default=50_000,
                        help="predictions before the RSS baseline (the service keeps the last 50,000 for feedback)")
    parser.add_argument("--max-growth-mib", type=float, default=10.0, help="RSS growth allowed after warm-up")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds without an answer = dropped")
    parser.add_argument("--skip-kinds", default="", help="malformed kinds to leave out, comma-separated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-predictions", action="store_true", help="serve with monitoring.log_predictions on")
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    pin = not args.no_pin and len(os.sched_getaffinity(0)) >= 2
    skip = {k for k in args.skip_kinds.split(",") if k}
    load_before = loadavg()
    samples: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="aispec-bench-soak-") as tmp:
        base = Path(tmp)
        model = base / "model"
        model.mkdir()
        rows = build_model(model, args.trees, log_predictions=args.log_predictions)
        api = json.loads((model / "serving.json").read_text())["api"]
        good, bad = request_kinds(rows, int(api["max_batch"]), int(api["max_body"]))
        unknown = skip - {k.name for k in bad}
        if unknown:
            parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")
        bad = [k for k in bad if k.name not in skip]
        soak = Soak(tallies={k.name: Tally() for k in good + bad})
        if pin:
            os.sched_setaffinity(0, {1})
        port = _free_port()
        log = base / "server.log"
        proc = start_server([sys.executable, "-m", "aispec.runtime.serving", str(model), "--port", str(port),
                             "--log-dir", str(base / "logs")], port, pin, log=log)
        try:
            elapsed = run_load(port, proc.pid, good, bad, args, soak, samples)
            alive = proc.poll() is None and ready(port)
            counted = server_counts(port) if alive else {}
        finally:
            stop_server(proc)
        server_log = log.read_text(errors="replace")
        logged = sum(f.stat().st_size for f in (base / "logs").glob("predictions.jsonl*")) if args.log_predictions \
            else None
    load_after = loadavg()
    errors_in_log = [line for line in server_log.splitlines() if "Traceback" in line or "ERROR" in line]

    expect = {k.name: k.expect for k in good + bad}
    table: list[dict[str, Any]] = []
    print(f"{'kind':<20} {'expect':>6} {'sent':>8} {'2xx':>8} {'4xx':>7} {'5xx':>5} {'other':>5} {'drops':>5} "
          f"{'closed':>6} {'badbody':>7}  statuses")
    for name, tally in soak.tallies.items():
        row: dict[str, Any] = {"kind": name, "expect": expect[name], "sent": tally.sent, "2xx": tally.count(200, 300),
               "4xx": tally.count(400, 500), "5xx": tally.count(500, 600),
               "other": tally.count(0, 200) + tally.count(300, 400) + tally.count(600, 1000),
               "drops": sum(tally.drops.values()), "drop_kinds": dict(tally.drops), "closed": tally.closed,
               "bad_body": tally.bad_body, "statuses": {str(k): v for k, v in sorted(tally.statuses.items())}}
        table.append(row)
        statuses = " ".join(f"{k}:{v}" for k, v in row["statuses"].items())
        mark = "" if set(tally.statuses) <= {expect[name]} else "  (!)"
        print(f"{name:<20} {row['expect']:>6} {row['sent']:>8} {row['2xx']:>8} {row['4xx']:>7} {row['5xx']:>5} "
              f"{row['other']:>5} {row['drops']:>5} {row['closed']:>6} {row['bad_body']:>7}  {statuses}{mark}")
    total = {key: sum(r[key] for r in table) for key in ("sent", "2xx", "4xx", "5xx", "other", "drops", "closed")}
    malformed_sent = sum(r["sent"] for r in table if r["kind"] not in ("good", "good_batch"))
    answered = soak.answered()
    latencies = np.asarray(soak.latencies, dtype=np.float64) / 1e6
    summary = {"seconds": round(elapsed, 2), "answered": answered, "rps": round(answered / elapsed, 1),
               "malformed_share": round(malformed_sent / max(1, total["sent"]), 4),
               "good_p50_ms": round(float(np.percentile(latencies, 50)), 3) if latencies.size else None,
               "good_p99_ms": round(float(np.percentile(latencies, 99)), 3) if latencies.size else None,
               "connections_opened": soak.connections, **{f"total_{k}": v for k, v in total.items()}}
    print(f"{'total':<20} {'':>6} {total['sent']:>8} {total['2xx']:>8} {total['4xx']:>7} {total['5xx']:>5} "
          f"{total['other']:>5} {total['drops']:>5} {total['closed']:>6}")
    print(f"{answered} answers in {elapsed:.1f} s ({summary['rps']} req/s) at concurrency {args.concurrency}; "
          f"malformed {summary['malformed_share']:.2%}; good single rows p50 {summary['good_p50_ms']} ms, "
          f"p99 {summary['good_p99_ms']} ms; {soak.connections} connections opened")
    print(f"server's own count (aispec_requests): {counted}"
          + (f"; prediction log: {logged / 2**20:.1f} MiB" if logged is not None else ""))
    for example in soak.drop_examples:
        print(f"  dropped: {example}")

    mem = memory(samples, args.warmup, args.warmup_predictions)
    print("  t (s)   RSS (MiB)   req/s in the last 10 s")
    for j, sample in enumerate(samples):
        if j % 10 == 0 or j == len(samples) - 1:
            before = samples[max(0, j - 10)]
            span = sample["t"] - before["t"]
            rate = (sample["answered"] - before["answered"]) / span if span > 0 else 0.0
            print(f"{sample['t']:>7.1f} {sample['rss_mib']:>11.1f} {rate:>10.0f}")
    print(f"RSS: start {mem['start_mib']} MiB, after warm-up (t = {mem['warm_t']} s) {mem['warm_mib']} MiB, peak "
          f"{mem['peak_mib']} MiB, end {mem['end_mib']} MiB; growth after warm-up "
          f"{mem['growth_after_warmup_mib']} MiB, slope {mem['slope_after_warmup_mib_per_min']} MiB/min; "
          f"growth over the last half ({mem['half_t']:g} s to the end) {mem['growth_last_half_mib']} MiB")

    good_names = {k.name for k in good}
    checks = [
        {"check": "no 5xx answer", "value": total["5xx"], "ok": total["5xx"] == 0},
        {"check": "no dropped connection", "value": total["drops"], "ok": total["drops"] == 0},
        {"check": "every good request answered 200",
         "value": sum(r["sent"] - r["statuses"].get("200", 0) - r["drops"] for r in table if r["kind"] in good_names),
         "ok": all(set(r["statuses"]) <= {"200"} for r in table if r["kind"] in good_names)},
        {"check": "every malformed request answered 4xx",
         "value": {r["kind"]: r["statuses"] for r in table if r["kind"] not in good_names
                   and r["sent"] - r["drops"] != r["4xx"]},
         "ok": all(r["sent"] - r["drops"] == r["4xx"] for r in table if r["kind"] not in good_names)},
        {"check": f"RSS growth after warm-up <= {args.max_growth_mib:g} MiB",
         "value": mem["growth_after_warmup_mib"] if mem["warm_t"] is not None else "warm-up never ended (run longer)",
         "ok": mem["warm_t"] is not None and mem["growth_after_warmup_mib"] <= args.max_growth_mib},
        {"check": "server alive and ready at the end", "value": alive, "ok": alive},
        {"check": "no traceback / ERROR in the server log", "value": len(errors_in_log), "ok": not errors_in_log},
    ]
    for check in checks:
        print(f"{'ok    ' if check['ok'] else 'FAILED'} {check['check']}: {check['value']}")
    if errors_in_log:
        print("server log:\n" + server_log[-4000:])
    print(f"pinned: {pin}; load average before {load_before}, after {load_after}")
    if args.json:
        args.json.write_text(json.dumps({
            "pinned": pin, "cpus": os.cpu_count(), "loadavg_before": load_before, "loadavg_after": load_after,
            "config": {k: v for k, v in vars(args).items() if k != "json"}, "summary": summary, "kinds": table,
            "server_counts": counted, "prediction_log_bytes": logged, "drop_examples": soak.drop_examples,
            "memory": mem, "rss": samples,
            "checks": checks, "server_log_errors": errors_in_log[:50]}, indent=1, default=str))
    return 0 if all(check["ok"] for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
