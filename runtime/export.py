"""ONNX export of a fitted scikit-learn Pipeline, with a parity check against scikit-learn.

* One ONNX input per feature column, named like the column, shape ``[None, 1]``: numeric and
  boolean columns are ``float`` (feed ``float32``), categorical and text columns ``string`` (feed
  ``object`` arrays of ``str``; missing values as ``""``, see the frame conventions).
* Opsets are pinned: ``TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}`` — opset 17 runs on every
  onnxruntime since 1.13, and ``ai.onnx.ml`` 3 keeps the classic ``TreeEnsemble*`` operators.
* Classifiers are converted with ``zipmap=False``: outputs ``label`` and ``probabilities`` (an
  ``(n, n_classes)`` float tensor in ``classes_`` order; for a classifier without
  ``predict_proba``, e.g. RidgeClassifier, it holds the decision scores). Regressors output
  ``variable`` ``(n, 1)``. Outlier detectors output ``label`` (-1 anomaly / 1 normal) and
  ``scores`` = scikit-learn's ``decision_function`` (higher = more normal). KMeans outputs
  ``label`` and ``scores`` (= ``transform``, distances to the centres); GaussianMixture ``label``
  and ``probabilities``.
* Text columns: the :class:`~aispec.runtime.text.tfidf.TextVectorizer` of ``preprocess`` converts with
  its own converter, exact on any text (see that module). A plain TF-IDF / count vectorizer gets
  ``locale="C.UTF-8"`` (the only UTF-8 locale on slim images) and, for the default token pattern,
  the exact RE2 form of Python's ``\\w`` as ``tokenexp``; its lower-casing (``İ``, a final ``Σ``),
  ``sublinear_tf`` and n-grams can still diverge, which the parity check reports.
* Estimators that bring their own converter (XGBoost and LightGBM, through onnxmltools: their classes'
  ``register_onnx``) are registered with skl2onnx first (:func:`register_converters`), so the whole
  pipeline is still one graph with the same inputs and outputs.
* Parity is measured at two batch sizes: the whole sample in one onnxruntime call and one row per call
  (``OnnxReport.batch_sizes``); the report keeps the worse of the two.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from numpy.typing import NDArray

from .errors import ExportError

__all__ = ["TARGET_OPSET", "OnnxReport", "onnx_feeds", "onnx_inputs", "register_converters", "to_onnx"]

TARGET_OPSET: dict[str, int] = {"": 17, "ai.onnx.ml": 3}
_DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"


@dataclass(slots=True)
class OnnxReport:
    """What was exported and how closely onnxruntime agrees with scikit-learn on the sample rows.

    ``max_abs_diff`` / ``mean_abs_diff``: the largest / mean (over rows) absolute difference of the
    compared output (probabilities, decision scores or predictions), in the output's own units.
    ``scale``: 1 for probabilities, else the standard deviation of scikit-learn's output; the
    tolerances compare ``diff / scale``.
    """

    path: str
    n_rows: int
    label_agreement: float | None  # share of rows with the same label (None: a regressor)
    max_abs_diff: float
    mean_abs_diff: float
    scale: float
    compared: str  # what the differences compare, e.g. "predict_proba vs probabilities"
    inputs: dict[str, str]  # ONNX input name -> "float" | "string", in column order
    columns: dict[str, str]  # frame column -> ONNX input name (skl2onnx turns "a b" into "a_b")
    outputs: list[str]
    opset: dict[str, int]
    size_bytes: int
    tol: float
    max_tol: float
    min_label_agreement: float
    parity_ok: bool
    warnings: list[str] = field(default_factory=list)
    contract: dict[str, Any] = field(default_factory=dict)  # api.OutputContract.to_dict(): what the outputs mean
    reference: str = "scikit-learn"  # whose predictions the ONNX outputs were compared with (the back end's title)
    runtime: str = "onnxruntime"  # what computes the served answers
    batch_sizes: list[int] = field(default_factory=list)  # the rows per onnxruntime call parity was measured at
    # a graph that reads token ids: its tokenizer (serving.text.TokenizerContract; the file beside the model)
    tokenizer: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------------------------- helpers


def _components(obj: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every estimator inside ``obj`` with a readable path ("preprocess/num/scale", "model")."""
    steps = getattr(obj, "steps", None)
    if isinstance(steps, list):
        for name, step in steps:
            path = f"{prefix}/{name}" if prefix else str(name)
            yield path, step
            yield from _components(step, path)
        return
    transformers = getattr(obj, "transformers_", None) or getattr(obj, "transformers", None)
    if isinstance(transformers, list) and hasattr(obj, "remainder"):
        for item in transformers:
            name, transformer = item[0], item[1]
            if isinstance(transformer, str):  # "drop" / "passthrough"
                continue
            path = f"{prefix}/{name}" if prefix else str(name)
            yield path, transformer
            yield from _components(transformer, path)
        return
    estimators = getattr(obj, "estimators_", None) or getattr(obj, "estimators", None)
    if isinstance(estimators, list) and estimators and isinstance(estimators[0], tuple):
        for name, est in estimators:
            path = f"{prefix}/{name}" if prefix else str(name)
            yield path, est
            yield from _components(est, path)


def onnx_inputs(X: pd.DataFrame, double: set[str] | frozenset[str] = frozenset()) -> list[tuple[str, Any]]:
    """skl2onnx ``initial_types`` for ``X``: one ``[None, 1]`` tensor per column; the numeric columns
    in ``double`` (those a :class:`~aispec.runtime.preprocess.Float32Center` centres) take float64."""
    from skl2onnx.common.data_types import (  # type: ignore[import-untyped]
        DoubleTensorType,
        FloatTensorType,
        StringTensorType,
    )

    types: list[tuple[str, Any]] = []
    for col in X.columns:
        dtype = X[col].dtype
        shape = _image_shape(X[col])
        if shape is not None:  # an image column: one N×C×H×W input of pixels in [0, 1] (runtime.images)
            types.append((str(col), FloatTensorType([None, *shape])))
        elif str(col) in double:
            types.append((str(col), DoubleTensorType([None, 1])))
        elif pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            types.append((str(col), FloatTensorType([None, 1])))
        elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype) \
                or isinstance(dtype, pd.CategoricalDtype):
            types.append((str(col), StringTensorType([None, 1])))
        else:
            raise ExportError(f"column '{col}' has dtype {dtype}, which has no ONNX input type",
                              hint="turn datetime columns into numbers before the pipeline")
    return types


_INPUT_KIND = {"FloatTensorType": "float", "DoubleTensorType": "double", "StringTensorType": "string"}


def _image_shape(values: pd.Series) -> tuple[int, int, int] | None:
    """``(C, H, W)`` when ``values`` holds images (``(H, W, C)`` arrays), else None."""
    first = values.iloc[0] if len(values) else None
    if isinstance(first, np.ndarray) and first.ndim == 3:
        return int(first.shape[2]), int(first.shape[0]), int(first.shape[1])
    return None


def _kind(onnx_type: Any) -> str:
    """``float`` | ``double`` | ``string``, or ``image`` for an N×C×H×W float input."""
    shape = getattr(onnx_type, "shape", None) or []
    return "image" if len(shape) == 4 else _INPUT_KIND[type(onnx_type).__name__]


def _column_feed(values: pd.Series, kind: str) -> NDArray[Any]:
    """One ``[N, 1]`` input as the service builds it: ``float`` float32 / ``double`` float64 with NaN for
    missing numbers; ``string`` text with ``""`` for a missing category (never the string ``"nan"``);
    ``image`` the N×C×H×W tensor of the images (``images.decode.to_tensor``)."""
    if kind == "image":
        from .images.decode import to_tensor

        return to_tensor(values.tolist())
    if kind == "string":
        arr = np.array(["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                        for v in values.tolist()], dtype=object)
    else:
        arr = values.to_numpy(dtype=np.float64 if kind == "double" else np.float32, na_value=np.nan)
    return arr.reshape(-1, 1)


def _feeds(X: pd.DataFrame, inputs: list[tuple[str, Any]], names: list[str]) -> dict[str, NDArray[Any]]:
    return {name: _column_feed(X[col], _kind(kind))
            for (_, kind), name, col in zip(inputs, names, X.columns, strict=True)}


def onnx_feeds(X: pd.DataFrame, columns: Mapping[str, str], inputs: Mapping[str, str],
               tokenizer: Any = None) -> dict[str, NDArray[Any]]:
    """The feeds of ``X`` for an exported model, from its :class:`OnnxReport` ``columns`` (frame column →
    input name) and ``inputs`` (input name → ``float`` | ``double`` | ``string``); ``tokenizer`` (a
    ``serving.text.TokenizerFeeds``, for a graph that reads token ids) turns its text column into them."""
    feeds = {name: _column_feed(X[column], inputs[name]) for column, name in columns.items()}
    if tokenizer is not None:
        feeds = tokenizer.feeds(feeds, columns[tokenizer.column])
    return feeds


def tokenizer_feeds(report: OnnxReport, directory: Path) -> Any:
    """The tokenizer of an export whose graph reads token ids (``serving.text.TokenizerFeeds``, reading the file
    the export wrote), else None."""
    if not report.tokenizer:
        return None
    from .serving.text import TokenizerFeeds

    return TokenizerFeeds(report.tokenizer, directory)


def _double_columns(pipeline: Any) -> frozenset[str]:
    """Columns whose transformer starts with a Float32Center: their ONNX inputs take float64."""
    from .preprocess import Float32Center

    found: set[str] = set()
    for _, comp in _components(pipeline):
        for item in getattr(comp, "transformers_", None) or []:
            _, transformer, cols = item[0], item[1], item[2]
            steps = getattr(transformer, "steps", None)
            first = steps[0][1] if steps else transformer
            if isinstance(first, Float32Center):
                found |= {str(c) for c in ([cols] if isinstance(cols, str) else cols)}
    return frozenset(found)


def _options(pipeline: Any) -> dict[int, dict[str, Any]]:
    from sklearn.base import is_classifier  # type: ignore[import-untyped]
    from sklearn.feature_extraction.text import CountVectorizer  # type: ignore[import-untyped]

    from .text.tfidf import TextVectorizer, onnx_tokenexp

    options: dict[int, dict[str, Any]] = {}
    final = _final(pipeline)
    if is_classifier(final):
        options[id(final)] = {"zipmap": False}
    for _, comp in _components(pipeline):
        if isinstance(comp, TextVectorizer):  # its own converter writes the whole graph: no options
            continue
        if isinstance(comp, CountVectorizer):  # TfidfVectorizer is a CountVectorizer
            opts: dict[str, Any] = {"locale": "C.UTF-8"}
            if comp.analyzer == "word" and comp.token_pattern == _DEFAULT_TOKEN_PATTERN and comp.tokenizer is None:
                opts["tokenexp"] = onnx_tokenexp(comp.token_pattern)
            options[id(comp)] = opts
    return options


def _contract(final: Any, outputs: list[str], scored_by: str | None) -> Any:
    """What skl2onnx's outputs mean for ``final`` (the pipeline's last step), as an OutputContract."""
    from sklearn.base import is_classifier, is_outlier_detector, is_regressor

    from aispec.schemas.labels import label_text

    from .api import OutputContract

    second = outputs[1] if len(outputs) > 1 else None
    if is_regressor(final):
        return OutputContract(task="regression", value=outputs[0])
    if is_classifier(final):
        kind = "probabilities" if scored_by == "predict_proba" else "decision" if second else None
        return OutputContract(task="classification", label="label", scores=second, score_kind=kind,
                              classes=tuple(label_text(c) for c in getattr(final, "classes_", [])))
    if is_outlier_detector(final):
        # skl2onnx writes scikit-learn's decision_function: higher = more normal; label -1 = anomaly
        return OutputContract(task="anomaly_detection", label="label", scores=second, score_kind="anomaly",
                              anomaly_flag=-1, higher_is_anomalous=False)
    kind = "probabilities" if scored_by == "predict_proba" else "distances" if second else None
    return OutputContract(task="clustering", label="label", scores=second, score_kind=kind)


def register_converters(pipeline: Any) -> None:
    """Register with skl2onnx the converters of the estimators in ``pipeline`` that bring their own (XGBoost
    and LightGBM, through onnxmltools: ``runtime/boosting``), so the whole pipeline converts as one graph."""
    for component in (pipeline, *(comp for _, comp in _components(pipeline))):
        register = getattr(type(component), "register_onnx", None)
        if callable(register):
            register()


def _final(pipeline: Any) -> Any:
    steps = getattr(pipeline, "steps", None)
    return steps[-1][1] if steps else pipeline


def _failing_step(pipeline: Any, exc: BaseException) -> str | None:
    text = str(exc)
    found: str | None = None
    for path, comp in _components(pipeline):
        cls = type(comp)
        if f"{cls.__module__}.{cls.__qualname__}" in text or f"'{cls.__name__}'" in text:
            found = path  # keep the deepest match
    return found


def _as_labels(values: Any) -> NDArray[Any]:
    return np.asarray(values).ravel()


def _same(a: NDArray[Any], b: NDArray[Any]) -> NDArray[np.bool_]:
    a = a.astype(int) if a.dtype == bool else a  # ONNX writes boolean labels as int64
    b = b.astype(int) if b.dtype == bool else b
    if np.issubdtype(a.dtype, np.number) and np.issubdtype(b.dtype, np.number):
        return np.asarray(a.astype(float) == b.astype(float))
    return np.asarray(a.astype(str) == b.astype(str))


def _agreement(a: NDArray[Any], b: NDArray[Any], tied: int = 0) -> float:
    """Share of rows with the same label; ``tied`` disagreeing rows count as agreeing (exact ties)."""
    if len(a) == 0:
        return 1.0
    return float((np.sum(_same(a, b)) + tied) / len(a))


# Probabilities this close are a tie: which class wins is decided by rounding, not by the model.
_TIE = 1e-6


def _tied_rows(ref_labels: NDArray[Any], onnx_labels: NDArray[Any], proba: NDArray[np.float64] | None,
               classes: list[Any]) -> int:
    """Disagreeing rows where scikit-learn's probabilities of its label and of onnxruntime's are tied."""
    if proba is None or not classes:
        return 0
    index = {str(c): i for i, c in enumerate(classes)}
    tied = 0
    for row in np.flatnonzero(~_same(ref_labels, onnx_labels)):
        i, j = index.get(str(ref_labels[row])), index.get(str(onnx_labels[row]))
        if i is not None and j is not None and abs(proba[row, i] - proba[row, j]) <= _TIE:
            tied += 1
    return tied


def _one_row_at_a_time(session: Any, outputs: list[str], feeds: Mapping[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
    """The graph's outputs computed one row per call, stacked (what a service answering single rows sees)."""
    n = len(next(iter(feeds.values()))) if feeds else 0
    if n == 0:
        return dict(zip(outputs, session.run(None, dict(feeds)), strict=True))
    rows = [session.run(None, {name: value[i:i + 1] for name, value in feeds.items()}) for i in range(n)]
    return {name: np.concatenate([np.asarray(row[j]) for row in rows], axis=0) for j, name in enumerate(outputs)}


@dataclass(slots=True)
class _Parity:
    compared: str
    ref_name: str | None
    label_agreement: float | None
    max_diff: float
    mean_diff: float
    scale: float
    mismatch: bool
    notes: list[str]


def _parity(pipeline: Any, final: Any, X_sample: pd.DataFrame, results: Mapping[str, Any],
            outputs: list[str], cache: dict[str, Any]) -> _Parity:
    """How closely one set of onnxruntime ``results`` agrees with scikit-learn on ``X_sample`` (scikit-learn's
    answers are computed once, in ``cache``, for every set compared)."""
    from sklearn.base import is_classifier, is_outlier_detector, is_regressor

    def answer(method: str) -> Any:
        if method not in cache:
            cache[method] = getattr(pipeline, method)(X_sample)
        return cache[method]

    notes: list[str] = []
    label_agreement: float | None = None
    ref: NDArray[np.float64] | None = None
    got: NDArray[np.float64] | None = None
    compared = "labels only"
    probabilities = False
    mismatch = False
    ref_name: str | None = None
    if is_regressor(final):
        ref = np.asarray(answer("predict"), dtype=float).reshape(len(X_sample), -1)
        got = np.asarray(results[outputs[0]], dtype=float).reshape(len(X_sample), -1)
        compared = f"predict vs {outputs[0]}"
    else:
        ref_labels = _as_labels(answer("predict")) if "label" in results else None
        score_name = next((n for n in ("probabilities", "scores") if n in results), None)
        if score_name is not None:
            if is_classifier(final):
                ref_name = "predict_proba" if hasattr(final, "predict_proba") else "decision_function"
            elif is_outlier_detector(final):
                ref_name = "decision_function"
            elif hasattr(final, "predict_proba"):
                ref_name = "predict_proba"
            elif hasattr(final, "transform"):
                ref_name = "transform"
        if ref_name is not None and score_name is not None:
            probabilities = ref_name == "predict_proba"
            ref = np.asarray(answer(ref_name), dtype=float).reshape(len(X_sample), -1)
            got = np.asarray(results[score_name], dtype=float).reshape(len(X_sample), -1)
            if ref.shape[1] == 1 and got.shape[1] == 2:
                # a binary decision score written as two columns: skl2onnx writes [-d, d] for some
                # classifiers and [d, -d] for SVC; the column that carries d is the one that matches
                # (a conversion with the wrong sign would also get the labels wrong, which is checked)
                reference = ref
                candidates = (got[:, 1:], -got[:, 0:1], got[:, 0:1], -got[:, 1:])
                got = min(candidates, key=lambda c: float(np.max(np.abs(reference - c))))
            compared = f"{ref_name} vs {score_name}"
            if ref.shape != got.shape:
                notes.append(f"{ref_name} has shape {ref.shape}, ONNX '{score_name}' {got.shape}")
                ref = got = None
                mismatch = True
        if ref_labels is not None:
            onnx_labels = _as_labels(results["label"])
            classes = list(getattr(final, "classes_", []))
            tied = _tied_rows(ref_labels, onnx_labels, ref if probabilities else None, classes)
            if tied:
                notes.append(f"{tied} row(s) where scikit-learn's probabilities tie between two classes and "
                             "onnxruntime picks the other: counted as agreeing")
            label_agreement = _agreement(ref_labels, onnx_labels, tied)
    max_diff = mean_diff = 0.0
    scale = 1.0
    if ref is not None and got is not None and ref.size:
        per_row = np.max(np.abs(ref - got), axis=1)
        max_diff, mean_diff = float(np.max(per_row)), float(np.mean(per_row))
        if not probabilities:
            spread = float(np.std(ref))
            scale = spread if spread > 0 and np.isfinite(spread) else 1.0
    return _Parity(compared, ref_name, label_agreement, max_diff, mean_diff, scale, mismatch, notes)


# ----------------------------------------------------------------------------------------------- export


def to_onnx(pipeline: Any, X_sample: pd.DataFrame, path: Path, *, tol: float = 1e-4, max_tol: float = 1e-3,
            min_label_agreement: float = 0.999, strict: bool = False) -> OnnxReport:
    """Convert ``pipeline`` to ONNX at ``path`` and compare onnxruntime with scikit-learn on ``X_sample``.

    ``parity_ok``: labels agree on at least ``min_label_agreement`` of the rows (a row where
    scikit-learn's probabilities tie between its label and onnxruntime's counts as agreeing), the mean
    scaled difference is at most ``tol`` and the largest at most ``max_tol``. The pipeline computes in
    float32 from its first step (``preprocess.Float32Center``) and trees get no scaler in front of
    them, so scikit-learn and onnxruntime see the same numbers: every scikit-learn family agrees within
    1e-5 of its scale (tests/runtime/test_export.py measures each), and the tolerances are tight enough
    that a conversion fault — a label or a row off — fails.
    ``strict=True`` raises :class:`ExportError` when parity fails. Raises :class:`ExportError`
    naming the step when skl2onnx cannot convert it.
    """
    import onnxruntime as ort  # type: ignore[import-untyped]
    from skl2onnx import convert_sklearn  # type: ignore[import-untyped]

    if not isinstance(X_sample, pd.DataFrame) or X_sample.shape[1] == 0:
        raise ExportError("the ONNX export needs a sample DataFrame with the feature columns")
    final = _final(pipeline)
    if not hasattr(final, "predict"):
        raise ExportError(f"step 'model' ({type(final).__name__}) has no predict(), so it cannot be exported",
                          hint="clustering with dbscan/agglomerative assigns labels only to the training rows")
    inputs = onnx_inputs(X_sample, _double_columns(pipeline))
    if any(_kind(t) == "image" for _, t in inputs):
        from .images.standardize import register_converter

        register_converter()
    register_converters(pipeline)
    try:
        with warnings.catch_warnings():
            # skl2onnx writes booleans into int attributes; protobuf 6 only warns (protobuf 7 refuses: keep <7)
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"onnx(\.|$)")
            model = convert_sklearn(pipeline, initial_types=inputs, options=_options(pipeline) or None,
                                    target_opset=dict(TARGET_OPSET))
    except Exception as exc:
        step = _failing_step(pipeline, exc)
        if type(exc).__name__ in {"MissingShapeCalculator", "MissingConverter"} and step is not None:
            cls = dict(_components(pipeline))[step]
            first = f"skl2onnx has no converter for {type(cls).__name__}"
        else:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        name = f"step '{step}'" if step else "the pipeline"
        raise ExportError(f"cannot convert {name} to ONNX: {first}",
                          hint="use a family and preprocessing that skl2onnx supports, or set "
                               "deployment.target: none") from exc
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = model.SerializeToString()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)

    # skl2onnx makes names valid identifiers ("bill length" -> "bill_length"): feed by graph order
    onnx_names = [i.name for i in model.graph.input]
    if len(onnx_names) != len(inputs):
        raise ExportError(f"the ONNX graph has {len(onnx_names)} inputs for {len(inputs)} columns")

    so = ort.SessionOptions()
    so.log_severity_level = 3
    try:
        session = ort.InferenceSession(data, sess_options=so, providers=["CPUExecutionProvider"])
        outputs = [o.name for o in session.get_outputs()]
        feeds = _feeds(X_sample, inputs, onnx_names)
        # two batch sizes: the whole sample in one call and one row per call (a graph or a kernel that fixed or
        # mishandled the batch dimension gives other answers at one of them)
        runs = [dict(zip(outputs, session.run(None, feeds), strict=True)), _one_row_at_a_time(session, outputs, feeds)]
    except Exception as exc:
        raise ExportError(f"onnxruntime cannot run the exported model: {str(exc).splitlines()[0]}") from exc

    compared, ref_name, notes = "labels only", None, list[str]()
    label_agreement: float | None = None
    max_diff = mean_diff = 0.0
    scale = 1.0
    cache: dict[str, Any] = {}
    for results in runs:
        parity = _parity(pipeline, final, X_sample, results, outputs, cache)
        compared, ref_name, scale = parity.compared, parity.ref_name, parity.scale
        notes += [note for note in parity.notes if note not in notes]
        max_diff, mean_diff = max(max_diff, parity.max_diff), max(mean_diff, parity.mean_diff)
        if parity.mismatch:
            max_diff = mean_diff = float("nan")
        if parity.label_agreement is not None:
            label_agreement = parity.label_agreement if label_agreement is None else \
                min(label_agreement, parity.label_agreement)
    ok = ((label_agreement is None or label_agreement >= min_label_agreement)
          and bool(mean_diff / scale <= tol) and bool(max_diff / scale <= max_tol))
    contract = _contract(final, outputs, ref_name)
    report = OnnxReport(
        contract=contract.to_dict(),
        path=path.name, n_rows=len(X_sample), label_agreement=label_agreement, max_abs_diff=max_diff,
        mean_abs_diff=mean_diff, scale=scale, compared=compared,
        inputs={name: _kind(t) for name, (_, t) in zip(onnx_names, inputs, strict=True)},
        columns={str(col): name for col, name in zip(X_sample.columns, onnx_names, strict=True)},
        outputs=outputs, opset=dict(TARGET_OPSET), size_bytes=len(data), tol=tol, max_tol=max_tol,
        min_label_agreement=min_label_agreement, parity_ok=ok, warnings=notes, batch_sizes=[len(X_sample), 1],
    )
    if strict and not ok:
        agree = "n/a" if label_agreement is None else f"{label_agreement:.4f}"
        raise ExportError(f"ONNX parity failed on {len(X_sample)} rows ({compared}): label agreement {agree} "
                          f"(need >= {min_label_agreement:g}), mean/max difference {mean_diff:.3g}/{max_diff:.3g} "
                          f"at scale {scale:.3g} (need <= {tol:g}/{max_tol:g} of the scale)")
    return report
