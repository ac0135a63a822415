"""An XGBoost or LightGBM model trained data-parallel by Ray Train's ``XGBoostTrainer`` /
``LightGBMTrainer``: ``workers`` processes, each holding every n-th training row, build one booster together
(XGBoost's collective, LightGBM's ``data_parallel`` tree learner: the histograms of every split are summed
over the workers, so the trees are those of one process reading all the rows, up to the bins / split
candidates each library derives from its share).

- **the rows**: the pipeline's preprocessing is fitted in the driver (it is cheap next to the trees) and the
  transformed rows go to the workers through the object store; worker ``r`` of ``n`` takes rows
  ``r, r+n, ...`` (and their class weights);
- **early stopping** (``training.early_stopping`` with a validation split) is XGBoost's own callback, as
  locally: every worker evaluates the whole validation split, so the monitored value (the model's loss or
  a metric of the task) is the local one and all workers stop at the same round, keeping the best round's
  trees;
- **the result**: worker 0 saves the booster in a Ray Train checkpoint; the driver puts it back into the
  pipeline's estimator (``adopt`` of ``aispec.runtime.boosting.xgb`` / ``.lgbm``), so prediction, the report
  and the ONNX export (onnxmltools) see what a local fit would have made. A lost worker restarts the group
  (``MAX_FAILURES`` times) from scratch: a boosting fit is short next to a network's.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from ...errors import DistributedError
from .. import Cluster

__all__ = ["BoostRunner"]

_PAYLOAD = "booster.ubj"
MAX_FAILURES = 2


def _worker(config: dict[str, Any]) -> None:
    """One XGBoost worker: its share of the rows, the whole validation split, one collective ``xgboost.train``."""
    import json

    import ray
    import ray.train
    import xgboost

    job: dict[str, Any] = ray.get(config["job"])
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    weight = job["weight"][rank::world] if job["weight"] is not None else None
    train = xgboost.DMatrix(job["X"][rank::world], label=job["y"][rank::world], weight=weight,
                            nthread=int(config["threads"]))
    evals: list[Any] = []
    callbacks: list[Any] = []
    if job["X_val"] is not None and config["stopping"] is not None:
        evals = [(xgboost.DMatrix(job["X_val"], label=job["y_val"], nthread=int(config["threads"])), "validation_0")]
        patience, min_delta = config["stopping"]
        callbacks = [xgboost.callback.EarlyStopping(rounds=patience, metric_name=job["metric"],
                                                    data_name="validation_0", maximize=job["maximize"],
                                                    save_best=True, min_delta=min_delta)]
    result: dict[str, Any] = {}
    params = {**job["params"], "nthread": int(config["threads"])}
    booster = xgboost.train(params, train, num_boost_round=job["rounds"], evals=evals, custom_metric=job["custom"],
                            callbacks=callbacks, evals_result=result, verbose_eval=False)
    folder = None
    checkpoint = None
    if rank == 0:
        folder = tempfile.mkdtemp(prefix="aispec-xgb-")
        Path(folder, _PAYLOAD).write_bytes(bytes(booster.save_raw("ubj")))
        history = result.get("validation_0", {}).get(job["metric"])
        Path(folder, "history.json").write_text(json.dumps(history), encoding="utf-8")
        checkpoint = ray.train.Checkpoint.from_directory(folder)
    ray.train.report({"rounds": booster.num_boosted_rounds()}, checkpoint=checkpoint)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _lgbm_worker(config: dict[str, Any]) -> None:
    """One LightGBM worker: its share of the rows (``pre_partition``), the whole validation split, one
    ``lightgbm.train`` with ``tree_learner: data_parallel`` over the network Ray Train set up."""
    import json

    import lightgbm
    import ray
    import ray.train
    from ray.train.lightgbm import get_network_params

    job: dict[str, Any] = ray.get(config["job"])
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    params = {**job["params"], **get_network_params(), "tree_learner": "data_parallel", "pre_partition": True,
              "num_threads": int(config["threads"]), "verbose": -1}
    weight = job["weight"][rank::world] if job["weight"] is not None else None
    train = lightgbm.Dataset(job["X"][rank::world], label=job["y"][rank::world], weight=weight)
    valid: list[Any] = []
    callbacks: list[Any] = []
    result: dict[str, Any] = {}
    if job["X_val"] is not None and config["stopping"] is not None:
        valid = [lightgbm.Dataset(job["X_val"], label=job["y_val"], reference=train)]
        patience, min_delta = config["stopping"]
        callbacks = [lightgbm.early_stopping(patience, first_metric_only=True, verbose=False, min_delta=min_delta),
                     lightgbm.record_evaluation(result)]
    booster = lightgbm.train(params, train, num_boost_round=job["rounds"], valid_sets=valid,
                             valid_names=["valid_0"] if valid else None, feval=job["custom"], callbacks=callbacks)
    folder = None
    checkpoint = None
    if rank == 0:
        folder = tempfile.mkdtemp(prefix="aispec-lgbm-")
        Path(folder, "booster.txt").write_text(booster.model_to_string(), encoding="utf-8")
        history = result.get("valid_0", {}).get(job["metric"])
        # the best round is the booster's in memory only (early stopping sets it; the model text does not keep it)
        Path(folder, "history.json").write_text(json.dumps({"history": history, "best": booster.best_iteration}),
                                                encoding="utf-8")
        checkpoint = ray.train.Checkpoint.from_directory(folder)
    ray.train.report({"rounds": booster.current_iteration()}, checkpoint=checkpoint)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


class BoostRunner:
    """Fits the XGBoost estimator of a pipeline on the cluster's workers (see the module docstring)."""

    def __init__(self, cluster: Cluster, *, storage: Path | None) -> None:
        self.cluster = cluster
        self.storage = Path(storage) if storage is not None else None
        self.trained = 0  # models fitted here (the report says whether the final fit ran on the cluster)

    def accepts(self, estimator: Any) -> bool:
        """Whether this runner trains ``estimator`` (the XGBoost and LightGBM families; others are fitted in
        the driver)."""
        module = type(estimator).__module__
        return module.endswith(("boosting.xgb", "boosting.lgbm"))

    def fit(self, model: Any, X: Any, y: Any, X_val: Any, y_val: Any, rule: Any) -> Any:
        import json

        import ray
        from ray.train import FailureConfig, RunConfig, ScalingConfig

        lgbm = type(model).__module__.endswith("boosting.lgbm")
        if lgbm:
            from ray.train.lightgbm import LightGBMTrainer as Trainer

            from ...boosting.lgbm import adopt, booster_job
        else:
            from ray.train.xgboost import XGBoostTrainer as Trainer  # type: ignore[assignment]

            from ...boosting.xgb import adopt, booster_job  # type: ignore[assignment]
        job = booster_job(model, X, y, X_val, y_val, rule)
        stopping = (rule.patience, rule.min_delta) if rule is not None and X_val is not None else None
        scratch = None if self.storage is not None else Path(tempfile.mkdtemp(prefix="aispec-train-"))
        storage = self.storage or scratch
        assert storage is not None
        storage.mkdir(parents=True, exist_ok=True)
        name = "lightgbm" if lgbm else "xgboost"
        title = "LightGBM" if lgbm else "XGBoost"
        shutil.rmtree(storage / name, ignore_errors=True)  # a fit is short: it starts over, never resumes
        resources = {k: v for k, v in self.cluster.resources().items() if k != "GPU"}
        trainer = Trainer(
            _lgbm_worker if lgbm else _worker,
            train_loop_config={"job": ray.put(job), "stopping": stopping,
                               "threads": max(1, int(self.cluster.cpus_per_worker))},
            scaling_config=ScalingConfig(num_workers=self.cluster.workers, resources_per_worker=resources),
            run_config=RunConfig(name=name, storage_path=str(storage),
                                 failure_config=FailureConfig(max_failures=MAX_FAILURES)),
        )
        try:
            try:
                result = trainer.fit()
            except Exception as exc:  # ray.train's TrainingFailedError: the cause is in its text
                lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
                raise DistributedError(f"{title} training on {self.cluster.workers} Ray workers failed: "
                                       f"{lines[-1][:400] if lines else type(exc).__name__}",
                                       hint="see the workers' logs above") from exc
            if result.checkpoint is None:
                raise DistributedError("the Ray workers finished without the trained booster (no checkpoint)")
            with result.checkpoint.as_directory() as folder:
                payload: Any = Path(folder, "booster.txt").read_text(encoding="utf-8") if lgbm \
                    else Path(folder, _PAYLOAD).read_bytes()
                history = json.loads(Path(folder, "history.json").read_text(encoding="utf-8"))
                if lgbm:
                    job = {**job, "best": history["best"]}
                    history = history["history"]
        finally:
            if scratch is not None:  # no checkpoints folder given: nothing of the run is kept
                shutil.rmtree(scratch, ignore_errors=True)
        self.trained += 1
        return adopt(model, payload, job, history if stopping is not None else None, rule if stopping else None)
