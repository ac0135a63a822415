"""A search's trials on Ray Tune, with Optuna as the search algorithm (see :mod:`aispec.runtime.trials`).

- **the same space and sampler**: ``OptunaSearch`` is given the distributions the local search asks Optuna
  for (:func:`~aispec.runtime.trials.distributions`) and the local search's sampler (same method, same seed),
  so a random or grid search tries the same configurations in the same order as in one process; TPE sees
  results in the order trials finish.
- **the same pruning**: a scheduler keeps a mirror Optuna study with the local search's ``MedianPruner``;
  every per-step value a trial reports goes to it, and a trial it would prune is stopped; the searcher then
  records it as pruned, as Optuna does locally.
- **failures**: a trial whose configuration fails (its model raises) reports a failed result and the search
  goes on; a trial whose worker is lost is retried (``max_failures``), and when the retries are spent it is
  recorded as failed with the reason. A ConfigError (a setting no trial can use) stops the search.
- **where each trial ran**: every record has ``node`` (node id, address, process id) and ``attempts``.
- **resuming** (``restored``: the trials an interrupted search finished, e.g. the network search's
  ``search.json``): each record is numbered when its trial finishes in the order the sampler proposed it, so
  a resumed search knows which ran; the sampler replays its draws for them and the trials proposed but not
  finished run first (:func:`~aispec.runtime.trials.resumed_sampler`), then the rest.
- ``workers`` trials run at once, each reserving ``cpus_per_worker`` / ``gpus_per_worker`` /
  ``memory_per_worker``.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from ...errors import ConfigError
from ...trials import (
    Evaluate,
    Finished,
    Study,
    decode,
    distributions,
    new_record,
    numbering,
    pruner,
    restored_numbers,
    restored_trial,
    resumed_sampler,
)
from .. import Cluster

__all__ = ["MAX_FAILURES", "TuneRunner"]

MAX_FAILURES = 2  # retries of a trial whose worker was lost
METRIC = "score"


def _node() -> dict[str, Any]:
    import os

    import ray

    context = ray.get_runtime_context()
    address = ray.util.get_node_ip_address()  # type: ignore[no-untyped-call, unused-ignore]
    return {"node_id": context.get_node_id(), "address": address, "pid": os.getpid()}


def _trial(config: dict[str, Any], evaluate: Evaluate, space: Mapping[str, Any], grid: bool) -> None:
    """One trial, on a worker: ``evaluate`` the configuration, reporting each step and the final score."""
    from ray import tune

    started = time.perf_counter()
    record = new_record(-1, decode(space, config, grid=grid))
    record["node"] = _node()

    def report(value: float, step: int) -> None:
        tune.report({METRIC: float(value), "step": int(step), "final": False,
                     "record": json.dumps(record, default=str)})

    from ...search import quiet

    score = math.nan
    fatal = None
    try:
        with quiet():  # the worker's own Optuna and scikit-learn warnings, as the local search silences them
            score = float(evaluate(dict(record["params"]), record, report))
        record.update(score=score, state="complete")
    except ConfigError as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
        fatal = {"message": exc.message, "where": exc.where, "hint": exc.hint}
    except Exception as exc:  # the configuration failed; the search goes on
        record["error"] = f"{type(exc).__name__}: {exc}"
    record["duration_s"] = time.perf_counter() - started
    tune.report({METRIC: score, "step": -1, "final": True, "fatal": json.dumps(fatal),
                 "record": json.dumps(record, default=str)})


def _classes() -> tuple[Any, Any, Any, Any]:
    """The scheduler, searcher, stopper and callback classes (defined once ray is imported)."""
    import optuna
    from ray import tune
    from ray.tune.schedulers import FIFOScheduler, TrialScheduler
    from ray.tune.search.optuna import OptunaSearch

    class MedianScheduler(FIFOScheduler):  # type: ignore[misc, unused-ignore]
        """The local search's MedianPruner, fed what the trials report (a mirror study on the driver)."""

        def __init__(self, direction: Literal["maximize", "minimize"], prune: bool, restored: Sequence[Any]) -> None:
            super().__init__()  # type: ignore[no-untyped-call, unused-ignore]
            self.prune = prune
            self.study: Any = optuna.create_study(direction=direction, pruner=pruner())
            for trial in restored:
                self.study.add_trial(trial)
            self.mirror: dict[str, Any] = {}
            self.pruned: dict[str, int] = {}  # trial id -> the 1-based step it was stopped after

        def on_trial_add(self, controller: Any, trial: Any) -> None:
            self.mirror[trial.trial_id] = self.study.ask()

        def on_trial_result(self, controller: Any, trial: Any, result: dict[str, Any]) -> str:
            mirror = self.mirror.get(trial.trial_id)
            if result.get("final") or mirror is None or not self.prune:
                return str(TrialScheduler.CONTINUE)
            value, step = float(result[METRIC]), int(result["step"])
            if math.isfinite(value):
                mirror.report(value, step)
                if mirror.should_prune():
                    self.pruned[trial.trial_id] = step + 1
                    return str(TrialScheduler.STOP)
            return str(TrialScheduler.CONTINUE)

        def _close(self, trial: Any, result: Mapping[str, Any] | None) -> None:
            mirror = self.mirror.pop(trial.trial_id, None)
            if mirror is None:
                return
            value = float((result or {}).get(METRIC, math.nan))
            if trial.trial_id in self.pruned:
                self.study.tell(mirror, state=optuna.trial.TrialState.PRUNED)
            elif (result or {}).get("final") and math.isfinite(value):
                self.study.tell(mirror, value)
            else:
                self.study.tell(mirror, state=optuna.trial.TrialState.FAIL)

        def on_trial_complete(self, controller: Any, trial: Any, result: dict[str, Any]) -> None:
            self._close(trial, result)

        def on_trial_remove(self, controller: Any, trial: Any) -> None:
            self._close(trial, trial.last_result)

        def on_trial_error(self, controller: Any, trial: Any) -> None:
            self._close(trial, None)

    class Searcher(OptunaSearch):  # type: ignore[misc, unused-ignore]
        """OptunaSearch that records a stopped trial as pruned and a failed one as failed (as Optuna does
        locally), rather than as complete with its last reported value."""

        def __init__(self, *args: Any, pruned: Mapping[str, int], **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pruned = pruned

        def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
            ot_trial = self._ot_trials.get(trial_id)
            if ot_trial is None or trial_id in self._completed_trials:
                return
            value = float((result or {}).get(METRIC, math.nan))
            study: Any = self._ot_study
            if trial_id in self._pruned:
                study.tell(ot_trial, state=optuna.trial.TrialState.PRUNED)
            elif error or not (result or {}).get("final") or not math.isfinite(value):
                study.tell(ot_trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(ot_trial, value)
            self._completed_trials.add(trial_id)

    class FatalStopper(tune.Stopper):  # type: ignore[misc, unused-ignore]
        """Stops the whole search when a trial reports a setting no trial can use."""

        def __init__(self) -> None:
            self.fatal: dict[str, Any] | None = None

        def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
            fatal = json.loads(result.get("fatal") or "null")
            if fatal and self.fatal is None:
                self.fatal = fatal
            return False

        def stop_all(self) -> bool:
            return self.fatal is not None

    class Keeper(tune.Callback):  # type: ignore[misc, unused-ignore]
        """On the driver, as each trial ends: its record (with its attempts), handed to ``on_finished``."""

        def __init__(self, on_finished: Callable[[Finished], None] | None, pruned: Mapping[str, int],
                     searcher: Any, numbers: Callable[[int], int]) -> None:
            self.on_finished = on_finished
            self.pruned = pruned
            self.searcher = searcher
            self.numbers = numbers  # the searcher's creation counter (from 1) -> the trial's number in the search
            self.records: dict[str, dict[str, Any]] = {}
            self.order: list[str] = []
            self.created: dict[str, int] = {}

        def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
            if trial.trial_id not in self.order:
                self.order.append(trial.trial_id)
                # the order the searcher created the trials in (its tag starts with that counter), which is the
                # order the sampler proposed them, as a local search numbers them
                tag = str(getattr(trial, "experiment_tag", "") or "").split("_")[0]
                self.created[trial.trial_id] = int(tag) if tag.isdigit() else len(self.created) + (1 << 20)
                self.order.sort(key=lambda t: self.created[t])

        def _end(self, trial: Any, error: str | None) -> None:
            result = trial.last_result or {}
            record = json.loads(result["record"]) if result.get("record") else new_record(-1, {})
            record["attempts"] = int(getattr(trial, "num_failures", 0)) + 1
            # numbered as the sampler proposed it (what --resume needs to know which trials are done)
            record["number"] = self.numbers(self.created.get(trial.trial_id, 1 << 20))
            if trial.trial_id in self.pruned:
                record.update(state="pruned", pruned_at=self.pruned[trial.trial_id], score=None)
            elif error is not None or not result.get("final"):
                record.update(state="failed", score=None,
                              error=error or record.get("error") or "the trial ended without a result")
            self.records[trial.trial_id] = record
            if self.on_finished is not None and not json.loads(result.get("fatal") or "null"):
                ot = self.searcher._ot_trials.get(trial.trial_id)
                state = {"complete": "COMPLETE", "pruned": "PRUNED"}.get(record["state"], "FAIL")
                self.on_finished({"record": record, "params": dict(ot.params) if ot is not None else {},
                                  "state": state, "value": record["score"] if state == "COMPLETE" else None,
                                  "intermediate": {str(i): v for i, v in enumerate(record.get("per_epoch", []))}})

        def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
            self._end(trial, None)

        def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
            self._end(trial, f"the trial's worker was lost {MAX_FAILURES + 1} times (Ray: "
                             f"{_first_line(getattr(trial, 'error_msg', None) or 'worker died')})")

    return MedianScheduler, Searcher, FatalStopper, Keeper


@contextmanager
def _tune_logs_quiet() -> Iterator[None]:
    """Tune's own notices (its result files are not written: TUNE_DISABLE_AUTO_CALLBACK_LOGGERS) kept out of
    the run's output; errors still show."""
    loggers = [logging.getLogger(name) for name in ("ray.tune", "ray.train", "ray.air")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _first_line(text: str) -> str:
    lines = [line for line in str(text).splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else ""


class TuneRunner:
    """A :class:`~aispec.runtime.trials.TrialRunner` on Ray Tune (see the module docstring)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def run(self, study: Study, evaluate: Evaluate, *, restored: Sequence[Finished] = (),
            on_finished: Callable[[Finished], None] | None = None) -> list[dict[str, Any]]:
        from ray import tune

        from ...search import grid_size

        grid = study.method == "grid"
        size = grid_size(study.space) if grid else None
        n_trials = min(study.n_trials, size) if size is not None else study.n_trials
        remaining = n_trials - len(restored)
        done = restored_numbers(restored)
        records: list[dict[str, Any]] = [{**saved["record"], "number": n} for saved, n in zip(restored, done,
                                                                                              strict=True)]
        records.sort(key=lambda r: int(r["number"]))
        if remaining <= 0 or (study.timeout_s is not None and study.timeout_s <= 0):
            return records
        MedianScheduler, Searcher, FatalStopper, Keeper = _classes()
        frozen = [restored_trial(saved, study.space, grid=grid) for saved in restored]
        scheduler = MedianScheduler(study.direction, study.prune, frozen)
        sampler, missing = resumed_sampler(study, restored)
        searcher = Searcher(space=distributions(study.space, grid=grid), metric=METRIC,
                            mode="max" if study.greater_is_better else "min", sampler=sampler,
                            pruned=scheduler.pruned)
        for trial in frozen:  # the trials an interrupted search finished count for the sampler too
            searcher._ot_study.add_trial(trial)
        for _, params in missing:  # proposed before the interruption, not finished: they are created first
            searcher._ot_study.enqueue_trial(params)
        number = numbering(restored, missing)
        stopper = FatalStopper()
        keeper = Keeper(on_finished, scheduler.pruned, searcher, lambda created: number(created - 1))
        resources = {k.lower() if k != "memory" else k: v for k, v in self.cluster.resources().items()}
        trainable = tune.with_resources(tune.with_parameters(_trial, evaluate=evaluate, space=dict(study.space),
                                                             grid=grid), resources)
        storage = tempfile.mkdtemp(prefix="aispec-tune-")
        try:
            tuner = tune.Tuner(
                trainable,
                tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler, num_samples=remaining,
                                            max_concurrent_trials=self.cluster.workers,
                                            time_budget_s=study.timeout_s, reuse_actors=True),
                run_config=tune.RunConfig(storage_path=storage, name="search", verbose=0, stop=stopper,
                                          callbacks=[keeper],
                                          failure_config=tune.FailureConfig(max_failures=MAX_FAILURES),
                                          checkpoint_config=tune.CheckpointConfig(num_to_keep=1)),
            )
            with _tune_logs_quiet():
                tuner.fit()
        finally:
            shutil.rmtree(storage, ignore_errors=True)
        if stopper.fatal is not None:
            raise ConfigError(stopper.fatal["message"], where=stopper.fatal.get("where"),
                              hint=stopper.fatal.get("hint"))
        # in the order the sampler proposed them, as a local search numbers them (a trial stopped by the time
        # budget before it reported anything has no record: the numbers close up)
        records += [keeper.records[t] for t in keeper.order if t in keeper.records]
        records.sort(key=lambda r: int(r["number"]))
        for i, record in enumerate(records):
            record["number"] = i
        return records
