"""Ray engine figures, side by side in one run (python benchmarks/bench_ray.py [--only ARM[,ARM]] [--rows N]):

1. ``startup``: Ray start-up overhead: a local instance (``ray.init``) and a two-node ``ray start`` cluster, to
   ready.
2. ``search``: search wall time on 1 vs 2 workers: the same random search (``--search-trials``, default 8;
   3-fold cross-validated HistGradientBoosting on ``--search-rows`` rows, default 120,000, 20 features,
   80-160 iterations, its early stopping off so every trial does the work it is given: several seconds a
   trial) in this process, then on the two-node cluster (one CPU per node) with 1 and with 2 concurrent
   trials; the speed-up of 2 over 1, each arm's mean trial time (equal trial times say the arms did the same
   work at the same speed; longer ones with 2 at a time say the two trials competed for cores) and the
   machine's 1-minute load average before and after each arm (the machine may be shared).
   Every arm runs each trial on one thread: in this process and in each Ray worker the trial runs inside
   ``aispec.runtime.search.quiet()``, whose ``threadpool_limits(1)`` caps OpenMP (HistGradientBoosting's
   threads) and BLAS at one thread, cross-validation folds run one after another (``n_jobs=1``), and Ray also
   sets ``OMP_NUM_THREADS`` to a task's CPUs (1) in its workers; the in-process arm is that same code.
3. XGBoost: the same classifier fitted in this process (2 threads) and by Ray Train's XGBoostTrainer on the
   two-node cluster (2 workers x 1 thread), on the same rows; accuracy of both on held-out rows.
4. Batch scoring a Parquet dataset at least 4x larger (in memory) than the per-worker memory cap, with the
   peak resident memory of the driver and of the cluster's processes sampled every 0.2 s; the same at half
   the rows, to show that memory does not grow with the input.

Figures are printed as JSON; the machine is shared, so read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import ray_cluster  # noqa: E402

ARMS = ("startup", "search", "xgboost", "scoring")


def _rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


class Peak(threading.Thread):
    """Peak resident memory of a set of processes: of all together, and of the largest one."""

    def __init__(self, pids: Any) -> None:
        super().__init__(daemon=True)
        self.pids, self.peak, self.largest, self.stop_flag = pids, 0, 0, threading.Event()

    def run(self) -> None:
        while not self.stop_flag.is_set():
            pids = self.pids()
            self.peak = max(self.peak, _rss(pids))
            self.largest = max([self.largest, *(_rss([p]) for p in pids)])
            time.sleep(0.2)


def startup() -> dict[str, float]:
    code = ("import time, ray; t=time.perf_counter(); ray.init(num_cpus=1, object_store_memory=80*2**20, "
            "include_dashboard=False); ray.get(ray.remote(lambda: 1).remote()); print(time.perf_counter()-t); "
            "ray.shutdown()")
    env = ray_cluster.ray_environment()
    local = float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                 check=True).stdout.strip().splitlines()[-1])
    started = time.perf_counter()
    cluster = ray_cluster.start()
    two_nodes = time.perf_counter() - started
    cluster.stop()
    return {"local_ray_init_to_first_task_s": round(local, 2), "two_node_ray_start_s": round(two_nodes, 2)}


def _data(rows: int) -> tuple[Any, Any]:
    from sklearn.datasets import make_classification  # type: ignore[import-untyped]

    X, y = make_classification(n_samples=rows, n_features=20, random_state=0)
    return X, y


def _hgb(params: dict[str, Any]) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier  # type: ignore[import-untyped]

    # early stopping off ("auto" turns it on above 10,000 rows): every trial fits the iterations it is given
    return HistGradientBoostingClassifier(max_iter=params["max_iter"], learning_rate=params["learning_rate"],
                                          early_stopping=False, random_state=0)


def search_times(cluster: Any, rows: int, trials: int) -> dict[str, Any]:
    import ray

    from aispec.runtime.distributed import _CONNECTED, engine_for
    from aispec.runtime.search import Float, Int, search

    X, y = _data(rows)
    space = {"max_iter": Int(80, 160), "learning_rate": Float(0.03, 0.3, log=True)}
    settings: dict[str, Any] = dict(method="random", trials=trials, timeout_s=None, cv=3, scoring="accuracy",
                                    greater_is_better=True, seed=0)
    out: dict[str, Any] = {"rows": rows, "trials": trials}

    def mean_trial_s(result: Any) -> float:
        return round(sum(t["duration_s"] for t in result.trials) / len(result.trials), 2)

    def load() -> float:
        return round(os.getloadavg()[0], 2)

    out["in_process_load_before"] = load()
    started = time.perf_counter()
    local = search(_hgb, space, X, y, **settings)
    out["in_process_s"] = round(time.perf_counter() - started, 2)
    out["in_process_mean_trial_s"] = mean_trial_s(local)
    out["in_process_load_after"] = load()
    os.environ["AISPEC_BENCH_RAY"] = cluster.address
    for workers in (1, 2):
        engine = engine_for({"engine": "ray", "workers": workers, "address": "${AISPEC_BENCH_RAY}"})
        assert engine is not None
        out[f"ray_{workers}_concurrent_load_before"] = load()
        started = time.perf_counter()
        result = search(_hgb, space, X, y, **settings, runner=engine.trial_runner())
        out[f"ray_{workers}_concurrent_s"] = round(time.perf_counter() - started, 2)
        out[f"ray_{workers}_concurrent_load_after"] = load()
        out[f"ray_{workers}_concurrent_mean_trial_s"] = mean_trial_s(result)
        out[f"ray_{workers}_concurrent_nodes_used"] = len({t["node"]["node_id"] for t in result.trials})
        # the same configurations as in this process (and, single-threaded, the same scores): the same work
        assert [t["params"] for t in result.trials] == [t["params"] for t in local.trials]
        out[f"ray_{workers}_concurrent_same_scores"] = all(
            abs(a["score"] - b["score"]) < 1e-12 for a, b in zip(result.trials, local.trials, strict=True))
        _CONNECTED.clear()
        ray.shutdown()
    out["speed_up_2_over_1"] = round(out["ray_1_concurrent_s"] / out["ray_2_concurrent_s"], 2)
    return out


def xgboost_times(cluster: Any, rows: int) -> dict[str, Any]:
    import numpy as np
    import ray

    from aispec.runtime.boosting.xgb import XGBClassifier
    from aispec.runtime.distributed import _CONNECTED, engine_for

    X, y = _data(rows + 20_000)
    X = X.astype(np.float32)
    X_test, y_test, X, y = X[rows:], y[rows:], X[:rows], y[:rows]

    def model(threads: int) -> Any:
        return XGBClassifier(n_estimators=200, max_depth=6, learning_rate=0.1, tree_method="hist", n_jobs=threads,
                             random_state=0)

    out: dict[str, Any] = {"rows": rows, "features": X.shape[1], "rounds": 200}
    local = model(2)
    started = time.perf_counter()
    local.fit(X, y)
    out["local_2_threads_s"] = round(time.perf_counter() - started, 2)
    out["local_accuracy"] = round(float((local.predict(X_test) == y_test).mean()), 4)
    os.environ["AISPEC_BENCH_RAY"] = cluster.address
    engine = engine_for({"engine": "ray", "workers": 2, "address": "${AISPEC_BENCH_RAY}"})
    assert engine is not None
    with tempfile.TemporaryDirectory() as storage:
        runner = engine.loop_runner(storage=Path(storage), resume=False, backend="sklearn")
        remote = model(1)
        started = time.perf_counter()
        runner.fit(remote, X, y, None, None, None)
        out["ray_2_workers_s"] = round(time.perf_counter() - started, 2)
    out["ray_accuracy"] = round(float((remote.predict(X_test) == y_test).mean()), 4)
    out["prediction_agreement"] = round(float((remote.predict(X_test) == local.predict(X_test)).mean()), 4)
    _CONNECTED.clear()
    ray.shutdown()
    return out


def _model(tmp: Path, artifacts: Path | None) -> Path:
    """A trained model's artifacts: ``artifacts`` as given, or the penguins example trained now (minutes)."""
    from aispec.compiler.build import build

    if artifacts is not None:
        return artifacts
    text = (ROOT / "specs" / "examples" / "penguins-classification.yaml").read_text()
    spec = tmp / "spec.yaml"
    spec.write_text(text)
    result = build(spec, tmp / "p")
    assert result.ok and result.plan is not None
    subprocess.run([sys.executable, "-m", result.plan.package], cwd=tmp / "p", check=True, capture_output=True,
                   env={**os.environ, "AISPEC_ALLOW_FAILED_GATES": "1"}, timeout=900)
    return tmp / "p" / "artifacts"


def scoring(cluster: Any, rows: int, tmp: Path, artifacts: Path) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    folder = tmp / f"rows-{rows}"
    folder.mkdir()
    per_file = 500_000
    in_memory = 0
    for i, start in enumerate(range(0, rows, per_file)):
        n = min(per_file, rows - start)
        frame = pd.DataFrame({"island": rng.choice(["Biscoe", "Dream", "Torgersen"], n),
                              "bill_length_mm": rng.uniform(35, 55, n), "bill_depth_mm": rng.uniform(14, 21, n),
                              "flipper_length_mm": rng.uniform(175, 230, n), "body_mass_g": rng.uniform(3000, 6000, n),
                              "sex": rng.choice(["male", "female"], n)})
        in_memory += int(frame.memory_usage(deep=True).sum())
        frame.to_parquet(folder / f"part-{i:03d}.parquet", index=False)
    cap = 64 * 2**20
    out_file = tmp / f"scored-{rows}.parquet"
    command = [sys.executable, "-m", "aispec.runtime.serving.batch", str(artifacts), str(folder),
               str(out_file), "--engine", "ray", "--workers", "2", "--address", cluster.address,
               "--memory-per-worker", f"{cap}B", "--chunk-rows", "20000", "--allow-failed-gates"]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    driver = Peak(lambda: [proc.pid])
    workers = Peak(lambda: cluster.workers("ray::"))  # every worker process of the cluster (idle ones too)
    driver.start()
    workers.start()
    stdout, stderr = proc.communicate(timeout=1800)
    elapsed = time.perf_counter() - started
    driver.stop_flag.set()
    workers.stop_flag.set()
    assert proc.returncode == 0, stderr[-2000:]
    return {"rows": rows, "dataset_in_memory_mb": round(in_memory / 2**20, 1),
            "per_worker_memory_cap_mb": cap // 2**20, "ratio_to_cap": round(in_memory / cap, 1),
            "scoring_s": round(elapsed, 1), "rows_per_s": round(rows / elapsed),
            "driver_peak_rss_mb": round(driver.peak / 2**20, 1),
            "ray_worker_processes_peak_rss_mb": round(workers.peak / 2**20, 1),
            "largest_ray_worker_peak_rss_mb": round(workers.largest / 2**20, 1),
            "output_mb": round(out_file.stat().st_size / 2**20, 1), "summary": stdout.strip().splitlines()[-1]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)  # about 4.5x the 64 MiB cap in pandas memory
    parser.add_argument("--xgboost-rows", type=int, default=100_000)
    parser.add_argument("--artifacts", type=Path, default=None, help="a trained penguins model (else trained now)")
    parser.add_argument("--search-rows", type=int, default=120_000)
    parser.add_argument("--search-trials", type=int, default=8)
    parser.add_argument("--only", default=",".join(ARMS),
                        help=f"the arms to run, comma-separated, of {', '.join(ARMS)} (default: all)")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    if not parts <= set(ARMS):
        parser.error(f"--only: unknown arm(s) {', '.join(sorted(parts - set(ARMS)))}; the arms: {', '.join(ARMS)}")
    figures: dict[str, Any] = {"startup": startup()} if "startup" in parts else {}
    if parts == {"startup"}:
        print(json.dumps(figures, indent=2))
        return
    cluster = ray_cluster.start()
    try:
        if "search" in parts:
            figures["search"] = search_times(cluster, args.search_rows, args.search_trials)
        if "xgboost" in parts:
            figures["xgboost"] = xgboost_times(cluster, args.xgboost_rows)
        if "scoring" in parts:
            with tempfile.TemporaryDirectory() as tmp:
                artifacts = _model(Path(tmp), args.artifacts)
                figures["scoring"] = [scoring(cluster, args.rows // 2, Path(tmp), artifacts),
                                      scoring(cluster, args.rows, Path(tmp), artifacts)]
    finally:
        cluster.stop()
        if cluster.processes():
            print(f"warning: Ray processes left: {cluster.processes()}", file=sys.stderr)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
