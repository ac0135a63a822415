"""Hardware, deployment, monitoring and compliance rules."""

from __future__ import annotations

from collections.abc import Iterator

from aispec.schemas.vocabulary import FAMILIES, INT8_QUANTIZABLE, Task

from ..diagnostics import Diagnostic
from .context import Context


def check_hardware(ctx: Context) -> Iterator[Diagnostic]:
    hw = ctx.spec.hardware
    declared = ctx.declared
    if hw.accelerator == "gpu" and declared is not None and not declared.can("gpu"):
        yield ctx.report("AIS370", f"a GPU is requested, but {declared.title} models train on the CPU only",
                         ("hardware", "accelerator"), "use accelerator: cpu, or a torch / keras model")
    dist = hw.distributed
    if dist.engine == "none" and dist.workers > 1:
        yield ctx.report("AIS371", f"{dist.workers} workers but no distributed engine",
                         ("hardware", "distributed", "workers"), "set distributed.engine: ray (or dask)")
    if dist.engine == "none":
        for name in ("address", "cpus_per_worker", "gpus_per_worker", "memory_per_worker"):
            if ctx.written(("hardware", "distributed", name)):
                yield ctx.report("AIS371", f"distributed.{name} is set but there is no distributed engine",
                                 ("hardware", "distributed", name), "set distributed.engine: ray, or remove it",
                                 key=True)
    if dist.engine == "torch_ddp" and declared is not None and not declared.can("torch_ddp"):
        yield ctx.report("AIS371", f"torch_ddp distributes PyTorch training; the {declared.name.value} back end "
                                   "cannot use it", ("hardware", "distributed", "engine"),
                         "use engine: ray, or a torch model")


def check_deployment(ctx: Context) -> Iterator[Diagnostic]:
    dep = ctx.spec.deployment
    if dep.target != "rest":
        for field in ("latency_budget", "kubernetes", "ab_test", "api", "image"):
            if ctx.written(("deployment", field)):
                yield ctx.report("AIS380", f"deployment.{field} applies to a REST service, and the target is "
                                           f"'{dep.target}'", ("deployment", field),
                                 "remove it, or set deployment.target: rest", key=True)
    k8s = dep.kubernetes
    if k8s is not None:
        lo, hi = k8s.min_replicas, k8s.max_replicas
        if lo is not None and hi is not None and lo > hi:
            yield ctx.report("AIS381", f"min_replicas {lo} is above max_replicas {hi}",
                             ("deployment", "kubernetes", "min_replicas"), "swap them")
        elif (lo is not None and k8s.replicas < lo) or (hi is not None and k8s.replicas > hi):
            yield ctx.report("AIS381", f"replicas {k8s.replicas} is outside [{lo or 1}, {hi or '∞'}]",
                             ("deployment", "kubernetes", "replicas"), "keep replicas between min and max")
    if dep.api.auth == "api_key" and dep.api.api_key_env is None:
        yield ctx.report("AIS382", "API key authentication needs the environment variable that holds the key",
                         ("deployment", "api", "auth"), "add api_key_env: API_KEY (never the key itself)")
    declared = ctx.declared
    if ctx.spec.problem.task is Task.forecasting:  # no forecaster is quantized yet: AIS410 says so instead
        declared = None
    if dep.optimize.quantize == "fp16" and declared is not None and not declared.can("fp16"):
        yield ctx.report("AIS383", f"fp16 quantization is not available for {declared.title} models",
                         ("deployment", "optimize", "quantize"), "use quantize: int8, or none")
    if dep.optimize.quantize == "int8" and declared is not None and declared.can("int8"):
        yield from _check_int8(ctx)
    budget = dep.latency_budget
    if budget is not None and budget.seconds > 60:
        yield ctx.report("AIS384", f"a latency budget of {budget} is unusually long for a request",
                         ("deployment", "latency_budget"), "budgets are per request, e.g. 50ms")


def _model_families(ctx: Context) -> tuple[str, list[str]] | None:
    """What makes the ONNX graph ("the ensemble", [members...]), or None when it is not known at check time."""
    model = ctx.spec.model
    if model.ensemble is not None:
        names = [m.family for m in model.ensemble.members]
        if model.ensemble.final_estimator is not None:
            names.append(model.ensemble.final_estimator)
        return "this ensemble", names
    if model.family == "auto":
        return ("any of the candidates", list(model.candidates)) if model.candidates else None
    return f"a '{model.family}' model", [model.family]


def _check_int8(ctx: Context) -> Iterator[Diagnostic]:
    found = _model_families(ctx)
    if found is None:
        return
    what, names = found
    if not names or any(n not in FAMILIES for n in names) or any(n in INT8_QUANTIZABLE for n in names):
        return
    families = ", ".join(sorted(INT8_QUANTIZABLE))
    yield ctx.report("AIS385", f"int8 quantization changes nothing for {what}: its ONNX graph has no MatMul "
                               "weights to quantize", ("deployment", "optimize", "quantize"),
                     f"the float32 model will be served and the report says why; int8 pays off for {families} "
                     "models, or remove quantize")


def check_monitoring(ctx: Context) -> Iterator[Diagnostic]:
    mon = ctx.spec.monitoring
    if ctx.spec.deployment.target == "none":
        for field in ("drift", "log_predictions"):
            if ctx.written(("monitoring", field)):
                yield ctx.report("AIS390", f"monitoring.{field} needs a deployed model, and deployment.target is "
                                           "'none'", ("monitoring", field), "deploy the model, or remove it",
                                 key=True)
    trigger = mon.retraining.trigger
    if trigger == "drift" and mon.drift is None:
        yield ctx.report("AIS391", "retraining on drift needs drift monitoring", ("monitoring", "retraining",
                         "trigger"), "add monitoring.drift: {method: psi, threshold: 0.2}")
    if trigger == "schedule" and not mon.retraining.schedule:
        yield ctx.report("AIS391", "retraining on a schedule needs a cron schedule",
                         ("monitoring", "retraining", "trigger"), "add schedule: '0 3 * * 1'")
    if trigger == "performance" and not mon.log_predictions:
        yield ctx.report("AIS391", "retraining on performance needs ground truth, which comes from logged "
                                   "predictions and feedback", ("monitoring", "retraining", "trigger"),
                         "set monitoring.log_predictions: true")


def check_compliance(ctx: Context) -> Iterator[Diagnostic]:
    comp = ctx.spec.compliance
    if "gdpr" in comp.regulations and not comp.intended_use:
        yield ctx.report("AIS397", "GDPR is declared but the intended use is not documented",
                         ("compliance", "regulations"), "add compliance.intended_use: the purpose of processing",
                         key=True)
    if comp.risk_level == "high" and not comp.fairness:
        yield ctx.report("AIS398", "a high-risk system has no fairness criteria",
                         ("compliance", "risk_level"), "add compliance.sensitive and compliance.fairness gates")
    if comp.risk_level == "high" and not comp.limitations:
        yield ctx.report("AIS398", "a high-risk system documents no limitations",
                         ("compliance", "risk_level"), "list known limitations under compliance.limitations")
    if ctx.spec.monitoring.log_predictions and comp.pii and "gdpr" not in comp.regulations \
            and not comp.regulations:
        yield ctx.report("AIS399", "predictions are logged and the data holds PII, but no regulation is declared",
                         ("monitoring", "log_predictions"), "declare the regulations that apply, e.g. [gdpr]")
