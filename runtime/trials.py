"""Where a search's trials run: the interface between a search (what one trial computes) and an executor
(how trials are scheduled), so that a search is written once and runs in this process or on a cluster.

A search hands a :class:`TrialRunner` its :class:`Study` (the space, the sampler's method and seed, how
many trials, the time budget, the direction, and whether to prune) and an ``evaluate(params, record,
report)`` function that scores one configuration: it fills ``record`` with what it wants kept (per-epoch
values, ...), calls ``report(value, step)`` after each step it can be judged on (which raises
``optuna.TrialPruned`` when the pruner stops the trial) and returns the score, or raises (the trial failed:
its error is recorded and the search goes on; with ``Study.fatal_config_errors`` a
:class:`~aispec.runtime.errors.ConfigError` stops the search: a setting no trial can use).

Every runner uses the same Optuna sampler (:func:`aispec.runtime.search._sampler`) over the same
distributions (:func:`distributions`), and the same pruner (:func:`pruner`: ``MedianPruner(3, 2)``), and
returns one record per trial in trial order: ``number``, ``params``, ``score``, ``score_std``,
``duration_s``, ``state`` (``complete``, ``pruned``, ``failed``), ``error``, plus what ``evaluate`` added
(and, on a cluster, ``node``: where the trial ran). The best-trial rule is the search's own.

:class:`LocalRunner` runs the trials one after another in this process with ``study.optimize``; the
distributed engines bring theirs (``aispec.runtime.distributed``), chosen by the workflow from
``hardware.distributed``, never by a back end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from .errors import ConfigError

__all__ = ["Evaluate", "Finished", "LocalRunner", "Study", "TrialRunner", "distributions", "pruner"]

# what a finished trial leaves for --resume: its record, its params as Optuna stored them (encoded choices),
# its state (COMPLETE, PRUNED, FAIL), its value and its intermediate values by step
Finished = dict[str, Any]
Evaluate = Callable[[dict[str, Any], dict[str, Any], Callable[[float, int], None]], float]


@dataclass(frozen=True)
class Study:
    """What every runner needs to run a search's trials the same way."""

    space: Mapping[str, Any]  # name -> search.Int | Float | Choice
    method: str  # grid | random | bayesian
    seed: int
    n_trials: int
    timeout_s: float | None
    greater_is_better: bool
    prune: bool = False  # MedianPruner on the values ``evaluate`` reports per step
    fatal_config_errors: bool = False  # a ConfigError in a trial stops the search (else: the trial failed)

    @property
    def direction(self) -> Literal["maximize", "minimize"]:
        return "maximize" if self.greater_is_better else "minimize"


class TrialRunner(Protocol):
    """Runs a study's trials (see the module docstring)."""

    def run(self, study: Study, evaluate: Evaluate, *, restored: Sequence[Finished] = (),
            on_finished: Callable[[Finished], None] | None = None) -> list[dict[str, Any]]: ...


def distributions(space: Mapping[str, Any], *, grid: bool) -> dict[str, Any]:
    """The Optuna distribution of each parameter, as ``search.suggest`` asks for it (a grid: every value of
    ``grid_values`` as a categorical; choices by their encoded values)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    from .search import Float, Int, _encode, grid_values

    out: dict[str, Any] = {}
    for name, dist in space.items():
        if grid:
            out[name] = CategoricalDistribution(_encode(grid_values(dist, name=name))[0])
        elif isinstance(dist, Int):
            out[name] = IntDistribution(dist.low, dist.high, log=dist.log)
        elif isinstance(dist, Float):
            out[name] = FloatDistribution(dist.low, dist.high, log=dist.log)
        else:
            out[name] = CategoricalDistribution(_encode(dist.options)[0])
    return out


def decode(space: Mapping[str, Any], encoded: Mapping[str, Any], *, grid: bool) -> dict[str, Any]:
    """Optuna's stored parameter values back to the space's own (a choice of tuples is stored by its repr)."""
    from .search import Choice, _encode, grid_values

    out: dict[str, Any] = {}
    for name, dist in space.items():
        if grid:
            out[name] = _encode(grid_values(dist, name=name))[1](encoded[name])
        elif isinstance(dist, Choice):
            out[name] = _encode(dist.options)[1](encoded[name])
        else:
            out[name] = encoded[name]
    return out


def pruner() -> Any:
    """The pruner of every search that reports per step: a trial below the median of the completed trials at
    the same step is stopped, once 3 trials completed and from the third step on."""
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2)


def new_record(number: int, params: Mapping[str, Any]) -> dict[str, Any]:
    return {"number": number, "params": dict(params), "score": None, "score_std": None, "duration_s": 0.0,
            "state": "failed", "error": None}


def restored_trial(saved: Finished, space: Mapping[str, Any], *, grid: bool) -> Any:
    """A finished trial of an earlier run, as an Optuna trial to add to a study."""
    import optuna

    return optuna.trial.create_trial(
        params=saved["params"], state=optuna.trial.TrialState[saved["state"]], value=saved["value"],
        distributions=distributions(space, grid=grid),
        intermediate_values={int(k): v for k, v in saved["intermediate"].items()})


def restored_numbers(restored: Sequence[Finished]) -> list[int]:
    """The trial number (the order the sampler proposed it in) of each restored trial: its record's, or, when the
    records do not say (a search saved before trials were numbered when they finished), their order."""
    numbers = [int(saved["record"].get("number", -1)) for saved in restored]
    if any(n < 0 for n in numbers) or len(set(numbers)) != len(numbers):
        return list(range(len(restored)))
    return numbers


def resumed_sampler(study: Study, restored: Sequence[Finished]) -> tuple[Any, list[tuple[int, dict[str, Any]]]]:
    """The study's sampler as it stood after proposing the trials an interrupted search had finished, and the
    number and parameters (Optuna's, choices encoded) of each trial it had proposed before the last finished
    one but not finished (on a cluster a later trial can finish before an earlier one is interrupted), to run
    first.

    A fresh ``RandomSampler(seed)`` (or TPE's random start-up) would propose the first configurations again:
    a resumed search would then repeat trials and never try those the uninterrupted one tries next. So its
    draws are replayed on a scratch study, each restored trial then added to that study as it finished, so a
    history-dependent sampler (TPE) proposes what it proposed after it (exact when the trials ran one after
    another, as in one process). A grid sampler skips the points a study holds already: nothing to replay."""
    import optuna

    from .search import _sampler

    sampler = _sampler(study.method, study.space, study.seed)
    if not restored or study.method == "grid":
        return sampler, []
    by_number = dict(zip(restored_numbers(restored), restored, strict=True))
    space = distributions(study.space, grid=False)
    replay = optuna.create_study(direction=study.direction, sampler=sampler)
    missing: list[tuple[int, dict[str, Any]]] = []
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # the scratch study's "trial failed" notices
    try:
        for number in range(max(by_number) + 1):
            asked = replay.ask(space)  # the draws the sampler made for trial ``number``
            replay.tell(asked, state=optuna.trial.TrialState.FAIL)  # a failed trial is no history to TPE
            saved = by_number.get(number)
            if saved is None:
                missing.append((number, dict(asked.params)))
            else:
                replay.add_trial(restored_trial(saved, study.space, grid=False))
    finally:
        optuna.logging.set_verbosity(verbosity)
    return sampler, missing


def numbering(restored: Sequence[Finished], missing: Sequence[tuple[int, Any]]) -> Callable[[int], int]:
    """The trial number of the ``i``-th trial (from 0) a search resumed from ``restored`` creates: the missing
    ones' first (they are run first), then those after the last restored one."""
    done = restored_numbers(restored)
    first = [number for number, _ in missing]
    after = max(done) + 1 if done else 0
    return lambda i: first[i] if i < len(first) else after + i - len(first)


class LocalRunner:
    """The trials one after another in this process (Optuna's ``study.optimize``)."""

    def run(self, study: Study, evaluate: Evaluate, *, restored: Sequence[Finished] = (),
            on_finished: Callable[[Finished], None] | None = None) -> list[dict[str, Any]]:
        import optuna

        from .search import grid_size, suggest

        grid = study.method == "grid"
        records: list[dict[str, Any]] = []
        fatal: list[ConfigError] = []
        sampler, missing = resumed_sampler(study, restored)
        number = numbering(restored, missing)
        mine: dict[int, dict[str, Any]] = {}  # Optuna's trial number -> this run's record of it

        def objective(trial: Any) -> float:
            started = time.perf_counter()
            record = new_record(number(trial.number - len(restored)), suggest(trial, study.space, grid=grid))
            records.append(record)
            mine[trial.number] = record

            def report(value: float, step: int) -> None:
                trial.report(value, step)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"{value:.4g} after step {step + 1}")

            try:
                score = evaluate(dict(record["params"]), record, report)
            except optuna.TrialPruned:
                record.update(state="pruned", duration_s=time.perf_counter() - started)
                raise
            except ConfigError as exc:
                if not study.fatal_config_errors:
                    record.update(error=f"{type(exc).__name__}: {exc}", duration_s=time.perf_counter() - started)
                    raise
                fatal.append(exc)  # a setting no trial can use: stop, the run reports it with the spec line
                trial.study.stop()
                raise
            except Exception as exc:
                record.update(error=f"{type(exc).__name__}: {exc}", duration_s=time.perf_counter() - started)
                raise
            record.update(score=score, state="complete", duration_s=time.perf_counter() - started)
            return score

        def keep(_: Any, trial: Any) -> None:  # after every trial: what --resume starts from
            record = mine.get(trial.number)
            if on_finished is not None and record is not None and not fatal:
                on_finished({"record": dict(record), "params": trial.params, "state": trial.state.name,
                             "value": trial.value,
                             "intermediate": {str(k): v for k, v in trial.intermediate_values.items()}})

        optuna_study = optuna.create_study(direction=study.direction, sampler=sampler,
                                           pruner=pruner() if study.prune else None)
        for saved, done in zip(restored, restored_numbers(restored), strict=True):
            # the trials an interrupted search finished count, and are not rerun
            optuna_study.add_trial(restored_trial(saved, study.space, grid=grid))
            records.append({**saved["record"], "number": done})
        for _, params in missing:  # proposed before the interruption but not finished: run first
            optuna_study.enqueue_trial(params)
        size = grid_size(study.space) if grid else None
        n_trials = min(study.n_trials, size) if size is not None else study.n_trials
        remaining = n_trials - len(restored)
        if remaining > 0 and (study.timeout_s is None or study.timeout_s > 0):
            optuna_study.optimize(objective, n_trials=remaining, timeout=study.timeout_s, catch=(Exception,),
                                  callbacks=[keep], gc_after_trial=False, show_progress_bar=False)
        if fatal:
            raise fatal[0]
        records.sort(key=lambda r: int(r["number"]))  # in the order they were proposed
        return records


def best_record(records: Sequence[dict[str, Any]], greater_is_better: bool) -> dict[str, Any] | None:
    """The best-trial rule of every search: the first complete trial with the best score (ties: the earlier)."""
    complete = [r for r in records if r["state"] == "complete"]
    if not complete:
        return None
    best = complete[0]
    for record in complete[1:]:
        better = record["score"] > best["score"] if greater_is_better else record["score"] < best["score"]
        if better:
            best = record
    return best
