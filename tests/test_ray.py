"""The Ray engine (hardware.distributed.engine: ray) on a real two-node Ray cluster started on this machine
(tests/ray_cluster.py): the search's trials spread over both nodes and match the local search; a lost worker
is retried (search), resumed from its checkpoint (a network's training) or its fit restarted (XGBoost); a search
whose driver dies resumes with only its missing trials; the example project runs end to end on the
cluster (search on both nodes, two DDP workers, Ray Data reading a folder of Parquet files) and reaches its
local twin's gates; the XGBoost and LightGBM examples are trained by two Ray Train workers and reach theirs;
Ray Data's batch scoring writes exactly what the local scorer writes, and nothing on a failure. Every test
here starts real processes: all are marked slow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray_cluster

pytest.importorskip("ray")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "specs" / "examples" / "penguins-mlp-ray.yaml"


@pytest.fixture(scope="module")
def cluster() -> Iterator[ray_cluster.LocalCluster]:
    started = ray_cluster.start()
    try:
        yield started
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        started.stop()
        assert started.processes() == [], "Ray processes left running"


@pytest.fixture()
def connected(cluster: ray_cluster.LocalCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """This test process as a driver of the cluster (the engine the workflow would get)."""
    import ray

    from aispec.runtime.distributed import _CONNECTED, engine_for

    for key in ("RAY_USAGE_STATS_ENABLED", "RAY_AUTH_MODE", "RAY_memory_monitor_refresh_ms"):
        monkeypatch.setenv(key, cluster.env[key])
    monkeypatch.setenv("AISPEC_TEST_RAY", cluster.address)
    engine = engine_for({"engine": "ray", "workers": 2, "address": "${AISPEC_TEST_RAY}"})
    try:
        yield engine
    finally:
        _CONNECTED.clear()
        ray.shutdown()


def test_search_runs_the_local_searchs_trials_on_both_nodes(connected: Any) -> None:
    from aispec.runtime.search import Choice, Float, search

    X, y = ray_cluster.iris()
    space = {"C": Float(0.01, 10.0, log=True), "max_iter": Choice(60, 200)}
    settings: dict[str, Any] = dict(method="random", trials=6, timeout_s=None, cv=3, scoring="accuracy",
                                    greater_is_better=True, seed=7)
    local = search(ray_cluster.logistic, space, X, y, **settings)
    remote = search(ray_cluster.logistic, space, X, y, **settings, runner=connected.trial_runner())
    # the same sampler proposes the same configurations in the same order; the scores are the same; so is the
    # best-trial rule's answer
    assert [t["params"] for t in remote.trials] == [t["params"] for t in local.trials]
    assert [t["score"] for t in remote.trials] == pytest.approx([t["score"] for t in local.trials], abs=1e-12)
    assert remote.best_params == local.best_params and remote.best_score == pytest.approx(local.best_score)
    nodes = {t["node"]["node_id"] for t in remote.trials}
    described = connected.describe()
    assert len(described["nodes"]) == 2 and nodes == {n["node_id"] for n in described["nodes"]}


def test_a_trial_whose_worker_dies_is_retried_and_the_search_completes(connected: Any, tmp_path: Path) -> None:
    from aispec.runtime.search import Choice, Float
    from aispec.runtime.trials import Study

    X, y = ray_cluster.iris()

    def scored(params: dict[str, Any], record: dict[str, Any], report: Any) -> float:
        from sklearn.model_selection import cross_val_score  # type: ignore[import-untyped]

        return float(cross_val_score(ray_cluster.logistic(params), X, y, cv=3).mean())

    marker = tmp_path / "killed"
    study = Study(space={"C": Float(0.1, 10.0, log=True), "max_iter": Choice(100)}, method="random", seed=3,
                  n_trials=4, timeout_s=None, greater_is_better=True)
    records = connected.trial_runner().run(study, ray_cluster.DiesOnce(scored, str(marker), 0))
    assert marker.exists(), "the worker was never killed"
    assert len(records) == 4 and all(r["state"] == "complete" for r in records), records
    retried = [r for r in records if r["attempts"] > 1]
    assert len(retried) == 1 and retried[0]["node"]["pid"] != int(marker.read_text())


def _parquet_folder(folder: Path) -> Path:
    """palmerpenguins as a folder of three Parquet files (what Ray Data reads in blocks)."""
    from aispec.runtime.datasets import load_bundled

    frame = load_bundled("palmerpenguins")
    folder.mkdir(parents=True)
    for i, start in enumerate(range(0, len(frame), 120)):
        frame.iloc[start:start + 120].to_parquet(folder / f"part-{i}.parquet", index=False)
    return folder


def _spec_on_the_cluster(tmp_path: Path) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("  source:\n    kind: bundled\n    name: palmerpenguins\n",
                        "  source:\n    kind: parquet\n    path: penguins/\n")
    text = text.replace("    engine: ray\n", "    engine: ray\n    address: ${AISPEC_TEST_RAY}\n")
    text = text.replace("    memory_per_worker: 1GiB\n", "")  # the test nodes are small
    assert "kind: parquet" in text and "AISPEC_TEST_RAY" in text
    _parquet_folder(tmp_path / "penguins")
    spec = tmp_path / "spec.yaml"
    spec.write_text(text, encoding="utf-8")
    return spec


def _kill_a_training_worker(cluster: ray_cluster.LocalCluster, checkpoints: Path, done: threading.Event,
                            killed: list[int]) -> None:
    """Once a training checkpoint is committed (a second one is being written, so the first is registered),
    SIGKILL one DDP worker (a lost node)."""
    deadline = time.monotonic() + 600
    while not done.is_set() and time.monotonic() < deadline:
        if len(list(checkpoints.glob("train-*/checkpoint_*"))) >= 2:
            workers = cluster.workers("RayTrainWorker")
            if workers:
                os.kill(workers[-1], 9)
                killed.append(workers[-1])
                return
        time.sleep(0.2)


def test_the_example_runs_on_the_cluster_survives_a_lost_worker_and_scores_with_ray_data(
        cluster: ray_cluster.LocalCluster, tmp_path: Path) -> None:
    from aispec.compiler.build import build

    result = build(_spec_on_the_cluster(tmp_path), tmp_path / "project")
    assert result.ok and result.plan is not None, result.diagnostics
    project, package = tmp_path / "project", result.plan.package
    env = {**cluster.env, "AISPEC_TEST_RAY": cluster.address, "PYTHONPATH": ""}
    done, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_a_training_worker,
                              args=(cluster, project / "checkpoints" / "ray", done, killed))
    killer.start()
    try:
        run = subprocess.run([sys.executable, "-m", package], cwd=project, env=env, capture_output=True, text=True,
                             timeout=1200)
    finally:
        done.set()
        killer.join()
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    metrics = json.loads((project / "artifacts" / "metrics.json").read_text())
    # the local twin's gates (accuracy and f1_macro >= 0.9) hold
    assert metrics["gates"]["gates"] and all(g["passed"] for g in metrics["gates"]["gates"]), metrics["gates"]
    assert metrics["onnx"]["parity_ok"]
    distributed = metrics["distributed"]
    assert distributed["address"] == cluster.address and distributed["trains"] is True
    assert len(distributed["nodes"]) == 2 and len(distributed["trials_per_node"]) == 2  # trials on both nodes
    assert sum(distributed["trials_per_node"].values()) == metrics["search"]["n_trials"] == 6
    assert killed, "no training worker was killed"
    history = metrics["training"]
    assert history["resumed_from"] is not None and history["resumed_from"] >= 5, run.stdout[-3000:]
    assert not list((project / "artifacts").rglob("*.partial")) and not list((project / "artifacts").rglob("*.tmp"))

    # batch scoring on Ray Data writes exactly what the local scorer writes (a bad row included)
    import pandas as pd

    rows = pd.concat([pd.read_parquet(p) for p in sorted((tmp_path / "penguins").glob("*.parquet"))])
    rows = rows.drop(columns=["species"]).reset_index(drop=True)
    rows.loc[3, "island"] = "Atlantis"
    inputs = tmp_path / "to-score"
    inputs.mkdir()
    for i, start in enumerate(range(0, len(rows), 100)):
        rows.iloc[start:start + 100].to_parquet(inputs / f"part-{i}.parquet", index=False)
    whole = tmp_path / "whole.parquet"
    rows.to_parquet(whole, index=False)
    scorer = [sys.executable, "-m", "aispec.runtime.serving.batch", str(project / "artifacts")]
    local = subprocess.run([*scorer, str(whole), str(tmp_path / "local.parquet")], env=env, capture_output=True,
                           text=True, timeout=300)
    assert local.returncode == 0, local.stderr
    remote = subprocess.run([*scorer, str(inputs), str(tmp_path / "ray.parquet"), "--engine", "ray", "--workers", "2",
                             "--address", cluster.address, "--chunk-rows", "64"], env=env, capture_output=True,
                            text=True, timeout=300)
    assert remote.returncode == 0, remote.stdout[-3000:] + remote.stderr[-3000:]
    expected, got = pd.read_parquet(tmp_path / "local.parquet"), pd.read_parquet(tmp_path / "ray.parquet")
    pd.testing.assert_frame_equal(got, expected)
    assert got.loc[3, "error"] == "island: not one of the allowed values" and got["error"].eq("").sum() == len(got) - 1

    # CSV in and out: the same bytes as the local scorer's, from a folder of two CSV files
    folder = tmp_path / "csv-in"
    folder.mkdir()
    rows.iloc[:200].to_csv(folder / "a.csv", index=False)
    rows.iloc[200:].to_csv(folder / "b.csv", index=False)
    rows.to_csv(tmp_path / "whole.csv", index=False)
    local = subprocess.run([*scorer, str(tmp_path / "whole.csv"), str(tmp_path / "local.csv")], env=env,
                           capture_output=True, text=True, timeout=300)
    assert local.returncode == 0, local.stderr
    remote = subprocess.run([*scorer, str(folder), str(tmp_path / "ray.csv"), "--engine", "ray", "--workers", "2",
                             "--address", cluster.address, "--chunk-rows", "64"], env=env, capture_output=True,
                            text=True, timeout=300)
    assert remote.returncode == 0, remote.stdout[-3000:] + remote.stderr[-3000:]
    assert (tmp_path / "ray.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()

    # a failure leaves no output at all: a file the workers cannot read (a ragged row in the second file: the
    # read task fails on a worker), and a file without a model column (found before any work, exit 2 as locally)
    with open(folder / "b.csv", "a", encoding="utf-8") as fh:
        fh.write("Dream,1,2,3,4,male,EXTRA,FIELDS\n")
    failed = subprocess.run([*scorer, str(folder), str(tmp_path / "broken.csv"), "--engine", "ray", "--workers", "2",
                             "--address", cluster.address, "--chunk-rows", "64"], env=env, capture_output=True,
                            text=True, timeout=300)
    assert failed.returncode == 2 and "nothing written" in failed.stderr, failed.stderr[-2000:]
    assert not (tmp_path / "broken.csv").exists() and not list(tmp_path.glob(".broken.csv*"))
    rows.drop(columns=["island"]).to_parquet(inputs / "part-9.parquet", index=False)
    failed = subprocess.run([*scorer, str(inputs), str(tmp_path / "broken.parquet"), "--engine", "ray",
                             "--address", cluster.address], env=env, capture_output=True, text=True, timeout=300)
    assert failed.returncode == 2 and "has no column 'island'" in failed.stderr, failed.stderr[-2000:]
    assert not (tmp_path / "broken.parquet").exists() and not list(tmp_path.glob(".broken.parquet*"))


BOOSTING = {  # example: the ceiling of its rounds (n_estimators)
    "breast-cancer-xgboost": 400,
    "penguins-lightgbm": 1000,
}


@pytest.mark.parametrize("example", sorted(BOOSTING))
def test_a_boosting_example_is_trained_by_two_ray_workers_and_reaches_its_local_gates(
        cluster: ray_cluster.LocalCluster, tmp_path: Path, example: str) -> None:
    """The XGBoost and LightGBM examples with `engine: ray`: the search's trials (XGBoost's) on both nodes, the
    final booster built by Ray Train's XGBoostTrainer / LightGBMTrainer on two workers (early stopping on the validation
    split), the ONNX graph of preprocessing + trees at parity, the local twin's gates held. The LightGBM one reads
    its penguins from an SQLite database (a query read by Ray Data on a worker, each block validated there)."""
    from aispec.compiler.build import build

    text = (ROOT / "specs" / "examples" / f"{example}.yaml").read_text(encoding="utf-8").replace(
        "hardware:\n  accelerator: cpu\n  cpus: 2\n",
        "hardware:\n  accelerator: cpu\n  distributed:\n    engine: ray\n    address: ${AISPEC_TEST_RAY}\n"
        "    workers: 2\n    cpus_per_worker: 1\n")
    assert "engine: ray" in text
    if example == "penguins-lightgbm":
        import sqlite3

        from aispec.runtime.datasets import load_bundled

        with sqlite3.connect(tmp_path / "penguins.db") as db:
            load_bundled("palmerpenguins").to_sql("penguins", db, index=False)
        text = text.replace("    kind: bundled\n    name: palmerpenguins", "    kind: sql\n    url: sqlite:///penguins.db\n"
                            "    query: SELECT * FROM penguins")
        assert "kind: sql" in text
    spec = tmp_path / "spec.yaml"
    spec.write_text(text, encoding="utf-8")
    result = build(spec, tmp_path / "project")
    assert result.ok and result.plan is not None, result.diagnostics
    project = tmp_path / "project"
    env = {**cluster.env, "AISPEC_TEST_RAY": cluster.address, "PYTHONPATH": ""}
    run = subprocess.run([sys.executable, "-m", result.plan.package], cwd=project, env=env, capture_output=True,
                         text=True, timeout=1200)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    metrics = json.loads((project / "artifacts" / "metrics.json").read_text())
    assert metrics["gates"]["gates"] and all(g["passed"] for g in metrics["gates"]["gates"]), metrics["gates"]
    assert metrics["onnx"]["parity_ok"]
    if example == "penguins-lightgbm":  # every row of the table read, validated and accounted for
        assert metrics["data"]["n_rows"] == 344 and metrics["data"]["columns"]["island"]["unique"] == 3
    distributed = metrics["distributed"]
    assert distributed["trains"] is True
    if metrics.get("search"):  # the LightGBM example has no search
        assert len(distributed["trials_per_node"]) == 2
    # early stopping on the validation split, as locally: the ceiling not reached, the booster ending at the
    # best round of the watched log loss
    rounds = metrics["boosting"]
    assert rounds["monitor"] == "val_loss" and rounds["ceiling"] == BOOSTING[example] and rounds["stopped_early"]
    history = rounds["history"]["val_loss"]
    assert rounds["rounds"] == history.index(min(history)) + 1 and rounds["trained"] == len(history)


def _kill_a_boosting_worker(cluster: ray_cluster.LocalCluster, done: threading.Event, after_s: float,
                            seen: dict[str, Any]) -> None:
    """``after_s`` seconds after the first Ray Train worker of the fit appears, SIGKILL one of them (a lost node)
    if it is still alive and the fit still running; then note every training worker seen until the fit ends (the
    restarted group's are new processes). Workers in ``seen["stale"]`` (an earlier fit's) are not this fit's."""
    deadline = time.monotonic() + 600
    first: float | None = None
    while not done.is_set() and time.monotonic() < deadline:
        workers = [pid for pid in cluster.workers("RayTrainWorker") if pid not in seen["stale"]]
        seen["pids"].update(workers)
        if workers and first is None:
            first = time.monotonic()
        if first is not None and "killed" not in seen and time.monotonic() - first >= after_s:
            victim = workers[-1]
            if Path(f"/proc/{victim}").exists() and not done.is_set():
                cpu_s = int(Path(f"/proc/{victim}/stat").read_text().rsplit(")", 1)[1].split()[11]) / os.sysconf(
                    "SC_CLK_TCK")
                os.kill(victim, 9)
                seen.update(killed=victim, at=time.monotonic(), first=first, cpu_s=cpu_s)
                seen["before"] = set(workers)
        time.sleep(0.1)


def test_a_boosting_fit_that_loses_a_worker_restarts_and_ends_with_the_same_model(
        cluster: ray_cluster.LocalCluster, connected: Any, tmp_path: Path) -> None:
    """XGBoostTrainer (BoostRunner.fit, what the workflow calls) on two workers; one worker SIGKILLed while the
    booster is being built: Ray Train restarts the worker group (FailureConfig) and the fit starts over, ending
    with the booster an undisturbed fit builds (XGBoost's data-parallel fit is deterministic for the same
    shards)."""
    import numpy as np
    from sklearn.datasets import make_classification  # type: ignore[import-untyped]

    from aispec.runtime.boosting.xgb import XGBClassifier

    X, y = make_classification(n_samples=60_000, n_features=20, n_informative=10, random_state=0)
    X = X.astype(np.float32)
    X, y, X_test, y_test = X[:50_000], y[:50_000], X[50_000:], y[50_000:]

    def model() -> Any:
        return XGBClassifier(n_estimators=300, max_depth=6, learning_rate=0.1, tree_method="hist", n_jobs=1,
                             random_state=0)

    runner = connected.loop_runner(storage=tmp_path / "undisturbed", resume=False, backend="sklearn")
    reference = model()
    started = time.monotonic()
    runner.fit(reference, X, y, None, None, None)
    undisturbed_s = time.monotonic() - started

    runner = connected.loop_runner(storage=tmp_path / "killed", resume=False, backend="sklearn")
    seen: dict[str, Any] = {"pids": set(), "stale": set(cluster.workers("RayTrainWorker"))}
    done = threading.Event()
    # the worker group takes a few seconds to start; the kill lands well inside the booster's rounds
    killer = threading.Thread(target=_kill_a_boosting_worker, args=(cluster, done, max(3.0, undisturbed_s / 3), seen))
    killed_fit = model()
    killer.start()
    try:
        started = time.monotonic()
        runner.fit(killed_fit, X, y, None, None, None)
        ended = time.monotonic()
        killed_s = ended - started
    finally:
        done.set()
        killer.join()
    assert "killed" in seen, f"no training worker was killed (the fit took {killed_s:.1f} s)"
    assert seen["killed"] in seen["before"]  # a live training worker of this fit, killed while the fit ran
    timing = (f"undisturbed fit {undisturbed_s:.1f} s; with the kill {killed_s:.1f} s; workers up "
              f"{seen['first'] - started:.1f} s and the kill {seen['at'] - started:.1f} s after the fit began; the "
              f"victim had run {seen['cpu_s']:.1f} s of CPU")
    assert seen["cpu_s"] >= 1.0, timing  # it was working (not still starting) when it was killed
    restarted = seen["pids"] - seen["before"]
    assert restarted, "no new training worker started after the kill: the group was not restarted; " + timing
    # the restart began the fit again: the work done before the kill was lost, on top of a whole fit
    assert killed_s >= undisturbed_s + 0.5 * (seen["at"] - seen["first"]), timing
    assert killed_fit.get_booster().num_boosted_rounds() == 300
    agree = float((killed_fit.predict(X_test) == reference.predict(X_test)).mean())
    accuracy = float((killed_fit.predict(X_test) == y_test).mean())
    reference_accuracy = float((reference.predict(X_test) == y_test).mean())
    assert agree == 1.0 and accuracy == reference_accuracy > 0.9, (agree, accuracy, reference_accuracy)
    assert not list(tmp_path.rglob("*.tmp")) and not list(tmp_path.rglob("*.partial"))


def _search_driver(cluster: ray_cluster.LocalCluster, folder: Path, resume: bool, log: Path,
                   slow: dict[str, Any] | None = None) -> subprocess.Popen[str]:
    code = (f"import ray_cluster; ray_cluster.network_search({cluster.address!r}, {str(folder)!r}, {resume!r}, "
            f"{str(log)!r}, {slow!r})")
    return subprocess.Popen([sys.executable, "-c", code], env=cluster.env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _calls(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def test_a_search_on_ray_interrupted_and_resumed_runs_only_the_missing_trials(
        cluster: ray_cluster.LocalCluster, tmp_path: Path) -> None:
    """The network search's --resume path (search_networks keeps checkpoints/search.json after every trial) on
    Ray Tune, 8 random trials, 2 at a time: its driver SIGKILLed once 4 trials are saved while trial 2 (made
    slower) still runs, so 0, 1, 3, 4 are done; run again with resume, only 2, 5, 6, 7 run (2 first, the
    configuration the sampler had proposed for it), and the search ends with the trials (same configurations,
    numbers, scores) and the best of an uninterrupted search with the same seed."""
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    whole.mkdir()
    cut.mkdir()
    run = _search_driver(cluster, whole, False, tmp_path / "whole.log")
    output, _ = run.communicate(timeout=600)
    assert run.returncode == 0, output[-4000:]
    expected = json.loads((whole / "result.json").read_text())
    assert [t["number"] for t in expected["trials"]] == list(range(8))
    assert len(set(_calls(tmp_path / "whole.log"))) == 8

    slow = expected["trials"][2]["params"]
    run = _search_driver(cluster, cut, False, tmp_path / "cut.log", slow)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and run.poll() is None:
        if (cut / "search.json").exists() and len(json.loads((cut / "search.json").read_text())["trials"]) >= 4:
            break
        time.sleep(0.1)
    assert run.poll() is None, "the search ended before it could be interrupted"
    run.kill()  # the driver is lost (Ray ends its trials)
    run.communicate(timeout=60)
    saved = json.loads((cut / "search.json").read_text())["trials"]
    assert not (cut / "result.json").exists()
    done = sorted(t["record"]["number"] for t in saved)
    assert done == [0, 1, 3, 4], done  # trial 2 was still running: a gap
    for trial in saved:  # each saved under the number the uninterrupted search gives its configuration
        assert trial["record"]["params"] == expected["trials"][trial["record"]["number"]]["params"]

    run = _search_driver(cluster, cut, True, tmp_path / "resumed.log")
    output, _ = run.communicate(timeout=600)
    assert run.returncode == 0, output[-4000:]
    got = json.loads((cut / "result.json").read_text())
    # only the missing trials ran, the unfinished one among the first two started, and they are the
    # uninterrupted search's
    calls = _calls(tmp_path / "resumed.log")
    missing = [json.dumps(expected["trials"][n]["params"], sort_keys=True) for n in (2, 5, 6, 7)]
    assert sorted(calls) == sorted(missing) and missing[0] in calls[:2], calls
    assert [t["number"] for t in got["trials"]] == list(range(8))
    assert [t["params"] for t in got["trials"]] == [t["params"] for t in expected["trials"]]
    assert [t["score"] for t in got["trials"]] == pytest.approx([t["score"] for t in expected["trials"]], abs=1e-12)
    assert got["best_params"] == expected["best_params"] and got["best_score"] == expected["best_score"]
