"""``deployment.optimize.prune``: magnitude pruning of the network's linear layers, kept only when it holds.

The given share of all ``nn.Linear`` weights — the smallest by absolute value, over all layers together
(``torch.nn.utils.prune.global_unstructured`` with ``L1Unstructured``) — is set to zero, and the pruning
made permanent (``prune.remove``). Biases and normalisation layers are left alone; there is no
fine-tuning afterwards (the share that holds without it is what is served).

The pruned network is compared with the trained one on the validation split when the spec has one,
else on the test split (as the int8 check does): its primary metric may be worse by at most 1 % of the
trained network's value. (Unlike int8, pruning changes the model by design, so labels of rows near a
class boundary may flip either way: how many agree is reported, not required.) When it holds the pruned
network is the model (it is evaluated, exported and served); otherwise the trained network is, and the
report says why. The test split's figures of both are in the report either way.

The exported file does not shrink (ONNX stores zeros densely); it compresses better, and zeros help an
int8 model's size no further: the report gives the compressed sizes rather than promise a speed-up.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from aispec.schemas.vocabulary import METRICS

__all__ = ["PruningReport", "prune_network"]


@dataclass
class PruningReport:
    """What pruning did and why the served network is the pruned or the trained one."""

    amount: float
    served: str  # "pruned" | "trained"
    reason: str
    decided_on: str  # "validation" | "test"
    method: str = "global magnitude pruning (L1) of every nn.Linear weight, made permanent; no fine-tuning"
    weights: int = 0
    zeros: int = 0
    layers: dict[str, float] = field(default_factory=dict)  # layer -> share of its weights set to zero
    label_agreement: float | None = None  # pruned vs trained, on the deciding split
    # split -> metric -> {"trained", "pruned", "change"}
    metrics: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)
    primary: str | None = None
    compressed_bytes: dict[str, int] = field(default_factory=dict)  # trained / pruned weights, zlib-compressed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def summary(self) -> str:
        share = self.zeros / self.weights if self.weights else 0.0
        return (f"{share:.0%} of the linear weights pruned: {self.served} network served ({self.reason})")


def _linear(network: Any) -> list[tuple[str, Any]]:
    from torch import nn

    return [(name, module) for name, module in network.named_modules() if isinstance(module, nn.Linear)]


def _compressed(network: Any) -> int:
    import zlib

    blob = b"".join(module.weight.detach().cpu().numpy().astype(np.float32).tobytes()
                    for _, module in _linear(network))
    return len(zlib.compress(blob, 6))


def _figures(model: Any, X: Any, y: Any, names: list[str], positive_class: Any) -> dict[str, float]:
    from ... import metrics as metric_fns

    predictions = model.predict(X)
    scores = model.predict_proba(X) if hasattr(model, "classes_") else None
    found: dict[str, float] = {}
    for name in names:
        try:
            found.update(metric_fns.compute(model.task, [name], y_true=y, y_pred=predictions, y_score=scores,
                                            labels=getattr(model, "classes_", None), positive_class=positive_class))
        except Exception:  # a metric without a value on these rows is left out
            continue
    return found


def prune_network(model: Any, amount: float, *, decide: tuple[Any, Any, str], test: tuple[Any, Any] | None,
                  metrics: list[str], primary: str | None, positive_class: Any = None,
                  max_metric_drop: float = 0.01) -> tuple[Any, PruningReport]:
    """``model`` with its network pruned by ``amount`` when that holds on ``decide`` (rows, targets, name),
    else ``model`` unchanged; and the report (see the module docstring)."""
    from torch.nn.utils import prune

    pruned = copy.deepcopy(model)
    layers = _linear(pruned.network_)
    report = PruningReport(amount=amount, served="trained", reason="", decided_on=decide[2], primary=primary)
    if not layers or amount <= 0:
        report.reason = "the network has no linear layer to prune" if not layers else "nothing to prune"
        return model, report
    prune.global_unstructured([(module, "weight") for _, module in layers], pruning_method=prune.L1Unstructured,
                              amount=float(amount))
    for _, module in layers:
        prune.remove(module, "weight")  # type: ignore[no-untyped-call]
    pruned.network_.eval()
    for name, module in layers:
        weight = module.weight.detach()
        report.layers[name] = round(float((weight == 0).float().mean()), 4)
        report.weights += int(weight.numel())
        report.zeros += int((weight == 0).sum())
    report.compressed_bytes = {"trained": _compressed(model.network_), "pruned": _compressed(pruned.network_)}
    names = [n for n in dict.fromkeys([*(p for p in [primary] if p), *metrics]) if n in METRICS]
    X_dec, y_dec, split = decide
    splits = {split: (X_dec, y_dec)}
    if test is not None and split != "test":
        splits["test"] = test
    for part, (X, y) in splits.items():
        before = _figures(model, X, y, names, positive_class)
        after = _figures(pruned, X, y, names, positive_class)
        report.metrics[part] = {name: {"trained": before.get(name), "pruned": after.get(name),
                                       "change": None if before.get(name) is None or after.get(name) is None
                                       else round(after[name] - before[name], 6)} for name in names}
    failed: list[str] = []
    if hasattr(model, "classes_"):
        same = np.asarray(model.predict(X_dec)).astype(str) == np.asarray(pruned.predict(X_dec)).astype(str)
        report.label_agreement = float(np.mean(same)) if len(same) else 1.0
    check = primary if primary in report.metrics[split] else next(iter(report.metrics[split]), None)
    if check is not None:
        values = report.metrics[split][check]
        before_v, after_v = values["trained"], values["pruned"]
        if before_v is not None and after_v is not None:
            higher = METRICS[check].higher_is_better
            drop = (before_v - after_v) if higher else (after_v - before_v)
            allowed = max_metric_drop * abs(before_v)
            if drop > allowed:
                failed.append(f"{check} {after_v:.4g} against {before_v:.4g} on the {split} split (worse by "
                              f"{drop:.3g}; at most {allowed:.3g} = {max_metric_drop:.0%} of the trained value)")
    if failed:
        report.reason = "; ".join(failed)
        return model, report
    report.served = "pruned"
    report.reason = f"its {check} on the {split} split is within {max_metric_drop:.0%} of the trained network's"
    return pruned, report
