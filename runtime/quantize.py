"""``deployment.optimize.quantize``: an int8 version of the exported ONNX model, measured before it is served.

What is quantized
    onnxruntime's dynamic quantization (``quantize_dynamic``): the constant weights of ``MatMul``
    nodes become int8 (per output column, 7-bit range), activations are quantized to uint8 at run
    time (``DynamicQuantizeLinear`` → ``MatMulInteger``). onnxruntime's dynamic (integer) kernels
    cover ``MatMul`` but not ``Gemm``, and the ONNX-ML operators that skl2onnx writes for most
    families (``TreeEnsemble*``, ``LinearClassifier`` / ``LinearRegressor``, ``SVM*``, ``Scaler``,
    ``OneHotEncoder``, ...) have no quantized form at all. Among the scikit-learn families only the
    MLP (``mlp``) has such MatMuls; ``kmeans`` and ``gaussian_mixture`` use ``Gemm``. A graph without
    one is *skipped*: the int8 model would be the float model, and the report says so.
    The 7-bit weight range (``reduce_range``) avoids the saturation of int8 dot products on x86
    CPUs without VNNI, so the agreement measured here holds on the machine that serves the model.

Files (in the artifacts folder)
    ``model.onnx`` is always the served model, so the Dockerfile, ``aispec serve`` and batch scoring
    need no change. When the int8 model is served, the float model is kept as ``model.fp32.onnx``;
    otherwise ``model.onnx`` stays the float model and no other file is left behind.

When the int8 model is served
    It is compared with the float ONNX model on the test split (labels agree on at least
    ``min_label_agreement`` of the rows, 99 %; mean / max difference of the scores at most ``tol`` /
    ``max_tol`` of their scale, 0.01 / 0.25 — int8 rounds weights by design, so these are looser
    than the float export's own parity check), twice: over the whole split in batches (batch scoring, the batch
    endpoint) and one row at a time (the REST service). Dynamic quantization scales the activations
    per call, so the two differ. The primary metric (or the first quality metric) of the int8 model
    may be worse than the float model's by at most ``max_metric_drop`` of the float value (1 %
    relative: accuracy 0.95 → at least 0.9405, RMSE 3.0 → at most 3.03). When any criterion fails,
    the float model is served and ``reason`` says which; the measurements are kept in the report.

Speed is measured like the export's latency (:func:`aispec.runtime.metrics.latency`): single rows
(p50 / p95 / p99 ms) and batches of up to ``batch_rows`` rows, float and int8 alternately so that
a busy machine slows both alike. ``speedup`` is float time / int8 time (above 1: int8 is faster).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aispec.schemas.vocabulary import METRICS

from .errors import ConfigError
from .export import onnx_feeds

__all__ = [
    "FLOAT_FILE",
    "MODES",
    "QUANTIZABLE_OPS",
    "QuantizationReport",
    "quantizable_ops",
    "quantize",
    "quantize_int8",
    "summary",
]

MODES = ("none", "int8", "fp16")
QUANTIZABLE_OPS = ("MatMul",)  # what onnxruntime's dynamic int8 quantization has integer kernels for, here
FLOAT_FILE = "model.fp32.onnx"
_CANDIDATE_FILE = "model.int8.onnx"
_QUANTIZED_OPS = ("MatMulInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QGemm")
# ONNX-ML operators of skl2onnx preprocessing graphs (not "the model"), left out of the skip reason
_PREPROCESSING_OPS = frozenset({"Imputer", "Scaler", "OneHotEncoder", "LabelEncoder", "ArrayFeatureExtractor",
                                "Normalizer", "Binarizer", "CastMap", "DictVectorizer", "FeatureVectorizer",
                                "ZipMap", "TfIdfVectorizer", "StringNormalizer", "Tokenizer"})
_FP16 = ("fp16 is not available for scikit-learn ONNX graphs: the ONNX-ML operators take float32 only and "
         "onnxruntime's CPU kernels gain nothing from float16 (aispec check reports AIS383); the float32 "
         "model is served")


@dataclass(slots=True)
class QuantizationReport:
    """What ``deployment.optimize.quantize`` did, and the measurements behind the decision.

    ``status``: ``applied`` (the int8 model is served), ``rejected`` (it was measured and failed a
    criterion), ``skipped`` (nothing to quantize), ``failed`` (onnxruntime could not quantize or
    run it) or ``unsupported`` (fp16). ``metrics``: ``{name: {"float32", "int8", "change"}}`` on the
    test split (change = int8 - float32). ``latency``: ``{"float32": {...}, "int8": {...}}`` with
    ``p50_latency_ms`` / ``p95_latency_ms`` / ``p99_latency_ms`` (one row per call), ``batch_rows``
    and ``batch_p50_ms`` / ``batch_rows_per_s``. ``speedup``: float / int8 p50 time,
    ``single_row`` and ``batch``.
    """

    requested: str
    status: str
    served: str  # "int8" | "float32"
    reason: str
    served_file: str = "model.onnx"
    float_file: str | None = None  # FLOAT_FILE when the int8 model is served
    method: str = ""
    quantized_ops: dict[str, int] = field(default_factory=dict)  # original op type -> nodes quantized
    float_bytes: int = 0
    int8_bytes: int | None = None
    size_ratio: float | None = None  # int8 / float32
    n_rows: int = 0
    label_agreement: float | None = None  # int8 vs float32 ONNX, the test split in batches
    label_agreement_single: float | None = None  # the same, one row per call (as the REST service runs)
    max_abs_diff: float | None = None  # worst of the two runs, in the compared output's units
    mean_abs_diff: float | None = None
    scale: float = 1.0
    compared: str = ""
    primary: str | None = None
    metrics: dict[str, dict[str, float | None]] = field(default_factory=dict)
    latency: dict[str, dict[str, float]] = field(default_factory=dict)
    speedup: dict[str, float | None] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    failed_checks: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def summary(self) -> str:
        """One line for the model card and the console."""
        return summary(self.to_dict())


def summary(report: Mapping[str, Any]) -> str:
    """One line about a :class:`QuantizationReport` (or its ``to_dict()``): what is served, and why or
    at what change of the checked metric, size and speed."""
    requested, status = report.get("requested"), report.get("status")
    if status != "applied":
        return f"{requested} requested, float32 model served ({status}): {report.get('reason')}"
    ops = report.get("quantized_ops") or {}
    parts = [f"int8 model served ({', '.join(f'{n} {op}' for op, n in ops.items())} quantized)"]
    ratio = report.get("size_ratio")
    if ratio is not None:
        parts.append(f"{ratio * 100:.0f} % of the float32 size")
    primary = report.get("primary")
    values = ((report.get("metrics") or {}).get(primary) or {}) if primary else {}
    if values.get("float32") is not None and values.get("int8") is not None:
        parts.append(f"{primary} {values['float32']:.4g} (float32) → {values['int8']:.4g} (int8)")
    speedup = report.get("speedup") or {}
    if speedup.get("single_row") is not None:
        parts.append(f"single-row speed-up x{speedup['single_row']:.2f}")
    if speedup.get("batch") is not None:
        parts.append(f"batch speed-up x{speedup['batch']:.2f}")
    return "; ".join(parts)


# ----------------------------------------------------------------------------------------- graphs


def _load(model: Path | bytes | Any) -> Any:
    import onnx

    if isinstance(model, bytes):
        return onnx.load_from_string(model)
    if isinstance(model, str | Path):
        return onnx.load(str(model))
    return model


def quantizable_ops(model: Path | bytes | Any) -> dict[str, int]:
    """``{op_type: count}`` of the nodes that dynamic int8 quantization changes: ``MatMul`` whose
    second input (the weights) is a constant initializer. Empty for tree, linear, SVM, kNN models."""
    graph = _load(model).graph
    constants = {init.name for init in graph.initializer}
    constants |= {n.output[0] for n in graph.node if n.op_type == "Constant" and n.output}
    found: dict[str, int] = {}
    for node in graph.node:
        if node.op_type in QUANTIZABLE_OPS and len(node.input) > 1 and node.input[1] in constants:
            found[node.op_type] = found.get(node.op_type, 0) + 1
    return found


def _model_ops(model: Any) -> list[str]:
    """The operators that do the modelling (ONNX-ML estimators, Gemm, Scan), for the skip reason."""
    seen: list[str] = []
    for node in model.graph.node:
        op = node.op_type
        relevant = (node.domain == "ai.onnx.ml" and op not in _PREPROCESSING_OPS) or op in ("Gemm", "Scan")
        if relevant and op not in seen:
            seen.append(op)
    return seen


def _quantized_count(model: Any) -> int:
    return sum(1 for node in model.graph.node if node.op_type in _QUANTIZED_OPS)


@contextmanager
def _quiet() -> Iterator[None]:
    """onnxruntime.quantization logs through the root logger (and ``logging.warning`` would install a
    stderr handler on an unconfigured root): silence it for the call, leave logging as it was."""
    root = logging.getLogger()
    guard = logging.NullHandler()
    root.addHandler(guard)
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)
        root.removeHandler(guard)


def quantize_int8(src: Path, dst: Path) -> int:
    """Dynamic int8 quantization of ``src`` into ``dst`` (see the module docstring); returns the number
    of quantized nodes in ``dst`` (0: nothing was quantized). Raises what onnxruntime raises."""
    from onnxruntime.quantization import QuantType, quantize_dynamic  # type: ignore[import-untyped]

    with _quiet():
        quantize_dynamic(str(src), str(dst), op_types_to_quantize=list(QUANTIZABLE_OPS), per_channel=True,
                         reduce_range=True, weight_type=QuantType.QInt8)
    return _quantized_count(_load(dst))


# ------------------------------------------------------------------------------------------ running


def _session(path: Path) -> Any:
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def _slice(feeds: Mapping[str, NDArray[Any]], start: int, stop: int) -> dict[str, NDArray[Any]]:
    return {name: value[start:stop] for name, value in feeds.items()}


def _run(session: Any, feeds: Mapping[str, NDArray[Any]], n: int, chunk: int) -> dict[str, NDArray[Any]]:
    """All outputs for the first ``n`` rows, ``chunk`` rows per call, concatenated."""
    names = [o.name for o in session.get_outputs()]
    parts: list[list[NDArray[Any]]] = [[] for _ in names]
    for start in range(0, n, max(1, chunk)):
        for i, value in enumerate(session.run(None, _slice(feeds, start, min(n, start + chunk)))):
            parts[i].append(np.asarray(value))
    return {name: np.concatenate(part) for name, part in zip(names, parts, strict=True)}


def _compare(ref: Mapping[str, NDArray[Any]], got: Mapping[str, NDArray[Any]], score_name: str | None,
             probabilities: bool) -> tuple[float | None, float | None, float | None, float]:
    """label agreement, max / mean row-wise absolute difference of ``score_name``, and its scale."""
    from .export import _agreement

    agreement = _agreement(np.asarray(ref["label"]).ravel(), np.asarray(got["label"]).ravel()) \
        if "label" in ref and "label" in got else None
    if score_name is None or score_name not in ref or score_name not in got:
        return agreement, None, None, 1.0
    n = len(next(iter(ref.values())))
    a = np.asarray(ref[score_name], dtype=float).reshape(n, -1)
    b = np.asarray(got[score_name], dtype=float).reshape(n, -1)
    if a.size == 0 or a.shape != b.shape:
        return agreement, None, None, 1.0
    per_row = np.max(np.abs(a - b), axis=1)
    scale = 1.0
    if not probabilities:
        spread = float(np.std(a))
        scale = spread if spread > 0 and np.isfinite(spread) else 1.0
    return agreement, float(np.max(per_row)), float(np.mean(per_row)), scale


def _timings(session: Any, feeds: Mapping[str, NDArray[Any]], n: int, latency_rows: int,
             batch_rows: int) -> dict[str, float]:
    from . import metrics as metric_fns

    rows = [_slice(feeds, i, i + 1) for i in range(min(latency_rows, n))]
    single = metric_fns.latency(lambda row: session.run(None, row), rows)
    size = min(batch_rows, n)
    batch = _slice(feeds, 0, size)
    timed = metric_fns.latency(lambda b: session.run(None, b), [batch], repeat=30, warmup=3)
    return {
        **single,
        "batch_rows": float(size), "batch_p50_ms": timed["p50_latency_ms"],
        "batch_rows_per_s": size * 1000.0 / timed["p50_latency_ms"] if timed["p50_latency_ms"] > 0 else 0.0,
    }


def _best(runs: Sequence[dict[str, float]]) -> dict[str, float]:
    """Of repeated measurements, the one least disturbed by the machine: the lowest mean latency."""
    return min(runs, key=lambda r: (r["mean_latency_ms"], r["batch_p50_ms"]))


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0 or not np.isfinite(a) or not np.isfinite(b):
        return None
    return round(a / b, 4)


def _worse(name: str, before: float | None, after: float | None, max_drop: float) -> str | None:
    """Why ``after`` is unacceptably worse than ``before`` for metric ``name``, or None."""
    if before is None or after is None or not np.isfinite(before):
        return None
    if not np.isfinite(after):
        return f"{name} is undefined for the int8 model"
    info = METRICS.get(name)
    higher = True if info is None else info.higher_is_better
    drop = (before - after) if higher else (after - before)
    allowed = max_drop * abs(before)
    if drop > allowed:
        return (f"{name} {after:.4g} against {before:.4g} for float32 (worse by {drop:.3g}; at most "
                f"{allowed:.3g} = {max_drop:.0%} of the float32 value)")
    return None


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


# ------------------------------------------------------------------------------------------- entry


def quantize(path: Path, X: Any, *, mode: str, columns: Mapping[str, str], inputs: Mapping[str, str],
             compared: str = "", score: Callable[[Mapping[str, NDArray[Any]]], Mapping[str, float]] | None = None,
             primary: str | None = None, min_label_agreement: float = 0.99, tol: float = 0.01,
             max_tol: float = 0.25, max_metric_drop: float = 0.01, latency_rows: int = 50,
             batch_rows: int = 1000, single_rows: int = 1000, rounds: int = 2,
             tokenizer: Any = None) -> QuantizationReport | None:
    """Quantize the exported float model at ``path`` as ``mode`` asks, measure it on ``X`` (the test
    split's feature columns) and decide which model ``path`` serves (see the module docstring).

    ``columns`` / ``inputs`` / ``compared``: from the export's ``OnnxReport`` (``compared`` names the
    score output, e.g. ``"predict_proba vs probabilities"``). ``score(outputs)``: the task's quality
    metrics from a model's outputs on all of ``X`` (``{output name: array}``); ``primary``: the
    metric whose drop rejects the int8 model (default: the first one ``score`` returns); ``tokenizer``:
    for a graph that reads token ids (see ``export.onnx_feeds``). Returns
    None for ``mode: none``. Never raises for a model it cannot quantize (the report says why); an
    unknown ``mode`` is a ConfigError.
    """
    if mode not in MODES:
        raise ConfigError(f"deployment.optimize.quantize must be one of {', '.join(MODES)}, not {mode!r}")
    path = Path(path)
    float_path = path.with_name(FLOAT_FILE)
    candidate = path.with_name(_CANDIDATE_FILE)
    float_path.unlink(missing_ok=True)  # a previous run's; model.onnx is the fresh float export
    candidate.unlink(missing_ok=True)
    if mode == "none":
        return None
    float_bytes = path.stat().st_size
    thresholds = {"min_label_agreement": min_label_agreement, "tol": tol, "max_tol": max_tol,
                  "max_metric_drop": max_metric_drop}
    if mode == "fp16":
        return QuantizationReport(requested=mode, status="unsupported", served="float32", reason=_FP16,
                                  float_bytes=float_bytes, thresholds=thresholds)
    method = ("onnxruntime quantize_dynamic: MatMul weights int8 per column (7-bit range), activations "
              "uint8 at run time")
    model = _load(path)
    ops = quantizable_ops(model)
    convs = sum(1 for node in model.graph.node if node.op_type == "Conv")
    # a CNN's convolutions are left in float32 on purpose: said in every outcome's reason, never silently
    kept = (f"; its {convs} Conv node{'s' if convs != 1 else ''} stay{'s' if convs == 1 else ''} float32 (dynamic "
            "int8 is restricted to MatMul: onnxruntime's ConvInteger ran about 10× slower than float Conv on the "
            "CPU)") if convs else ""
    report = QuantizationReport(requested=mode, status="skipped", served="float32", reason="", method=method,
                                quantized_ops=ops, float_bytes=float_bytes, n_rows=len(X), thresholds=thresholds,
                                compared=compared)
    if not ops:
        found = _model_ops(model)
        what = f" (its model operators: {', '.join(found)})" if found else ""
        report.reason = (f"no MatMul operator with constant weights{what}, and onnxruntime's dynamic int8 "
                         "quantization changes nothing else: the int8 model would be identical; skipped" + kept)
        return report
    try:
        count = quantize_int8(path, candidate)
    except Exception as exc:  # any quantizer failure means: serve the float model
        candidate.unlink(missing_ok=True)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        report.status, report.reason = "failed", f"onnxruntime could not quantize the model: {first}"
        return report
    if count == 0:
        candidate.unlink(missing_ok=True)
        report.reason = "onnxruntime quantized no operator: the int8 model would be identical; skipped"
        return report
    report.int8_bytes = candidate.stat().st_size
    report.size_ratio = _ratio(report.int8_bytes, float_bytes)
    try:
        _measure(report, path, candidate, X, columns=columns, inputs=inputs, score=score, primary=primary,
                 latency_rows=latency_rows, batch_rows=batch_rows, single_rows=single_rows, rounds=rounds,
                 tokenizer=tokenizer)
    except Exception as exc:  # e.g. onnxruntime cannot run the int8 graph: serve the float model
        candidate.unlink(missing_ok=True)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        report.status, report.reason = "failed", f"measuring the int8 model failed: {type(exc).__name__}: {first}"
        return report
    failed = report.failed_checks
    if failed:
        candidate.unlink(missing_ok=True)
        report.status = "rejected"
        report.reason = ("the int8 model disagrees with the float32 model beyond the tolerances: " + "; ".join(failed)
                         + kept)
        return report
    os.replace(path, float_path)
    os.replace(candidate, path)
    report.status, report.served, report.float_file = "applied", "int8", FLOAT_FILE
    report.reason = "the int8 model agrees with the float32 model within the tolerances" + kept
    return report


def _measure(report: QuantizationReport, float_path: Path, int8_path: Path, X: Any, *, columns: Mapping[str, str],
             inputs: Mapping[str, str], score: Callable[[Mapping[str, NDArray[Any]]], Mapping[str, float]] | None,
             primary: str | None, latency_rows: int, batch_rows: int, single_rows: int, rounds: int,
             tokenizer: Any = None) -> None:
    """Fill agreement, differences, metrics, latency and failed checks of ``report``."""
    t = report.thresholds
    feeds = onnx_feeds(X, columns, inputs, tokenizer)
    n = len(X)
    f_session, q_session = _session(float_path), _session(int8_path)
    score_name = report.compared.split(" vs ", 1)[1] if " vs " in report.compared else None
    probabilities = report.compared.startswith("predict_proba")
    f_out = _run(f_session, feeds, n, batch_rows)
    q_out = _run(q_session, feeds, n, batch_rows)
    ones = min(n, single_rows)
    f_one = _run(f_session, feeds, ones, 1)
    q_one = _run(q_session, feeds, ones, 1)
    agree, max_b, mean_b, scale = _compare(f_out, q_out, score_name, probabilities)
    agree_1, max_1, mean_1, _ = _compare(f_one, q_one, score_name, probabilities)
    report.label_agreement, report.label_agreement_single, report.scale = agree, agree_1, scale
    maxes = [v for v in (max_b, max_1) if v is not None]
    means = [v for v in (mean_b, mean_1) if v is not None]
    report.max_abs_diff = max(maxes) if maxes else None
    report.mean_abs_diff = max(means) if means else None
    failed = report.failed_checks
    for label, value in (("in batches", agree), ("one row at a time", agree_1)):
        if value is not None and value < t["min_label_agreement"]:
            failed.append(f"labels agree on {value:.2%} of the rows {label} (need {t['min_label_agreement']:.0%})")
    if report.mean_abs_diff is not None and report.mean_abs_diff / scale > t["tol"]:
        failed.append(f"mean score difference {report.mean_abs_diff:.3g} is above {t['tol']:g} of the scale "
                      f"{scale:.3g}")
    if report.max_abs_diff is not None and report.max_abs_diff / scale > t["max_tol"]:
        failed.append(f"largest score difference {report.max_abs_diff:.3g} is above {t['max_tol']:g} of the "
                      f"scale {scale:.3g}")
    if score is not None:
        before = {k: _finite(v) for k, v in score(f_out).items()}
        after = {k: _finite(v) for k, v in score(q_out).items()}
        for name, value in before.items():
            new = after.get(name)
            change = None if value is None or new is None else round(new - value, 6)
            report.metrics[name] = {"float32": value, "int8": new, "change": change}
        report.primary = primary if primary in before else next(iter(before), None)
        if report.primary is not None:
            why = _worse(report.primary, before[report.primary], after.get(report.primary), t["max_metric_drop"])
            if why is not None:
                failed.append(why)
    f_runs: list[dict[str, float]] = []
    q_runs: list[dict[str, float]] = []
    for _ in range(max(1, rounds)):  # alternate, so that a busy machine slows both alike
        f_runs.append(_timings(f_session, feeds, n, latency_rows, batch_rows))
        q_runs.append(_timings(q_session, feeds, n, latency_rows, batch_rows))
    f_lat, q_lat = _best(f_runs), _best(q_runs)
    report.latency = {"float32": f_lat, "int8": q_lat}
    report.speedup = {"single_row": _ratio(f_lat["p50_latency_ms"], q_lat["p50_latency_ms"]),
                      "batch": _ratio(f_lat["batch_p50_ms"], q_lat["batch_p50_ms"])}
