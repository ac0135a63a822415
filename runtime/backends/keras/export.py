"""ONNX export of a fitted Keras pipeline: the preprocessing and the network in ONE graph.

1. The fitted preprocessing (``features.py``'s ColumnTransformer) is converted with skl2onnx exactly as
   the scikit-learn back end converts it: one input per feature column, named like the column, ``[N, 1]``
   (numeric ``float``/``double``, categorical and text ``string``), opsets ``aispec.runtime.export.TARGET_OPSET``.
   An image model's preprocessing is the per-channel standardisation (``images.standardize``): one input,
   ``image``, float32 ``N×C×H×W`` pixels in [0, 1], the tensor every image model takes (a CNN is built
   channels first, so the graph needs no transposition).
2. The served network (``model_``) is exported by Keras (``model.export(path, format="onnx")``: on the
   torch back end with a dynamic batch dimension, torch's TorchScript exporter) at the same opset.
3. The two graphs are joined (``onnx.compose.merge_models``: the preprocessing's output feeds the
   network's ``features`` input), Keras's float-to-float ``Cast`` nodes are dropped, and the outputs
   named as the scikit-learn back end names them, so serving, batch scoring, drift, quantization and the
   Docker image need no change:

   - classification: ``label`` (string ``[N]``: ``classes_[argmax]``, an ``ArgMax`` and a ``Gather`` on
     the class names) and ``probabilities`` (float ``[N, n_classes]``, softmax, in ``classes_`` order);
   - regression: ``variable`` (float ``[N, 1]``, in the target's unit).

Parity: onnxruntime against the pipeline's own predictions (Keras) on the sample rows (the test split),
twice: all rows in one call, and a second batch size (``second_batch`` rows per call, 7 by default: a
size no exporter fixed), the worse of the two reported. The policy is the exact one of
``aispec.runtime.export.to_onnx``: labels agree on 99.9 % of the rows (exact probability ties forgiven),
mean / largest difference at most 1e-4 / 1e-3 of the output's scale. Both sides compute the same float32
network, so the differences measured are float32 rounding (about 1e-7 of the scale).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ExportError

__all__ = ["export_onnx"]

_FEATURES = "features"
_NET_PREFIX = "network/"
_PRE_PREFIX = "preprocess/"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporters' tracer warnings and notices are about their own internals, not the user's model."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _preprocessing_graph(pipeline: Any, X: Any) -> tuple[Any, list[tuple[str, Any]]]:
    """The fitted preprocessing as ONNX, and its input types (``aispec.runtime.export.onnx_inputs``)."""
    from skl2onnx import convert_sklearn  # type: ignore[import-untyped]
    from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]

    from ... import preprocess
    from ...export import TARGET_OPSET, _double_columns, _kind, onnx_inputs

    wrapped = Pipeline([("preprocess", pipeline.preprocess_)])
    inputs = onnx_inputs(X, _double_columns(wrapped))
    if any(_kind(kind) == "image" for _, kind in inputs):
        from ...images.standardize import register_converter

        register_converter()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"onnx(\.|$)")
            graph = convert_sklearn(pipeline.preprocess_, initial_types=inputs,
                                    options=preprocess.onnx_options(pipeline.preprocess_) or None,
                                    target_opset=dict(TARGET_OPSET))
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"cannot convert the preprocessing (features.py) to ONNX: {first}",
                          hint="use preprocessing that skl2onnx supports, or set deployment.target: none") from exc
    if len(graph.graph.output) != 1:
        raise ExportError(f"the preprocessing's ONNX graph has {len(graph.graph.output)} outputs, not 1")
    return graph, inputs


def _network_graph(pipeline: Any, input_shape: tuple[int, ...], opset: int) -> Any:
    """The served Keras network as ONNX (Keras's own export), batch dimension dynamic; ``input_shape``: one
    input's shape (``(n_features,)``, or an image's ``(C, H, W)``)."""
    import onnx

    from .env import keras

    signature = [keras.InputSpec(shape=(None, *input_shape), dtype="float32", name=_FEATURES)]
    with tempfile.TemporaryDirectory(prefix="aispec-keras-") as folder:
        path = os.path.join(folder, "network.onnx")
        try:
            with _quiet(), keras.device(pipeline.device_):
                pipeline.model_.export(path, format="onnx", verbose=False, input_signature=signature,
                                       opset_version=opset)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExportError(f"Keras cannot export the network to ONNX: {first}") from exc
        return onnx.load(path, load_external_data=True)


def _drop_noop_casts(model: Any) -> Any:
    """Remove ``Cast`` nodes whose input already has the target type (Keras casts float32 to float32
    around every layer); their consumers read the input directly."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    types = {v.name: v.type.tensor_type.elem_type for v in (*inferred.graph.value_info, *inferred.graph.input,
                                                              *inferred.graph.output)}
    types.update({t.name: t.data_type for t in model.graph.initializer})
    outputs = {o.name for o in model.graph.output}
    rename: dict[str, str] = {}
    kept = []
    for node in model.graph.node:
        inputs = [rename.get(name, name) for name in node.input]
        del node.input[:]
        node.input.extend(inputs)
        to = next((a.i for a in node.attribute if a.name == "to"), None)
        if node.op_type == "Cast" and to is not None and types.get(node.input[0]) == to \
                and node.output[0] not in outputs:
            rename[node.output[0]] = node.input[0]
            continue
        kept.append(node)
    del model.graph.node[:]
    model.graph.node.extend(kept)
    return model


def _join(pre: Any, net: Any, *, classes: list[str] | None, input_shape: tuple[int, ...]) -> Any:
    """One graph: preprocessing → network → the named outputs (see the module docstring)."""
    import onnx
    from onnx import TensorProto, compose, helper, numpy_helper

    net = compose.add_prefix(net, prefix=_NET_PREFIX)
    # skl2onnx declares the lowest opset its operators need: raise it to the network's (merging needs one)
    opset = {(e.domain or ""): e.version for e in net.opset_import}.get("", 0)
    if {(e.domain or ""): e.version for e in pre.opset_import}.get("", 0) < opset:
        from onnx import version_converter

        pre = version_converter.convert_version(pre, opset)
    # every name inside the two graphs kept apart (skl2onnx names some of its tensors "variable"), except
    # the column inputs, whose names are the contract with the service
    pre = compose.add_prefix(pre, prefix=_PRE_PREFIX, rename_inputs=False)
    ir = max(pre.ir_version, net.ir_version)
    pre.ir_version = net.ir_version = ir
    transformed = pre.graph.output[0].name
    elem = pre.graph.output[0].type.tensor_type.elem_type
    if elem != TensorProto.FLOAT:  # the network takes float32
        pre.graph.node.append(helper.make_node("Cast", [transformed], ["features_float"], to=TensorProto.FLOAT))
        del pre.graph.output[:]
        pre.graph.output.extend([helper.make_tensor_value_info("features_float", TensorProto.FLOAT,
                                                               [None, *input_shape])])
        transformed = "features_float"
    model = compose.merge_models(pre, net, io_map=[(transformed, net.graph.input[0].name)])
    # one entry per domain ("" and an unset domain are both ONNX's own: onnxruntime's quantizer wants one)
    versions: dict[str, int] = {}
    for entry in model.opset_import:
        versions[entry.domain or ""] = max(versions.get(entry.domain or "", 0), entry.version)
    del model.opset_import[:]
    model.opset_import.extend(helper.make_opsetid(domain, version) for domain, version in sorted(versions.items()))
    graph = model.graph
    network_output = graph.output[0].name
    del graph.output[:]
    if classes is None:
        graph.node.append(helper.make_node("Identity", [network_output], ["variable"], name="variable"))
        graph.output.extend([helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None, 1])])
    else:
        graph.node.append(helper.make_node("Identity", [network_output], ["probabilities"], name="probabilities"))
        graph.node.append(helper.make_node("ArgMax", ["probabilities"], ["label_index"], name="argmax", axis=1,
                                           keepdims=0))
        graph.initializer.append(numpy_helper.from_array(np.array(classes, dtype=object), name="classes"))
        graph.node.append(helper.make_node("Gather", ["classes", "label_index"], ["label"], name="label", axis=0))
        graph.output.extend([helper.make_tensor_value_info("label", TensorProto.STRING, [None]),
                             helper.make_tensor_value_info("probabilities", TensorProto.FLOAT,
                                                           [None, len(classes)])])
    model = _drop_noop_casts(model)
    model.producer_name = "aispec (skl2onnx + keras)"
    onnx.checker.check_model(model, full_check=True)
    return model


def _run(session: Any, feeds: dict[str, Any], n: int, chunk: int) -> dict[str, Any]:
    names = [o.name for o in session.get_outputs()]
    parts: dict[str, list[Any]] = {name: [] for name in names}
    for start in range(0, n, chunk):
        values = session.run(None, {k: v[start:start + chunk] for k, v in feeds.items()})
        for name, value in zip(names, values, strict=True):
            parts[name].append(np.asarray(value))
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def export_onnx(pipeline: Any, X_sample: Any, path: Path, *, task: str, second_batch: int = 7, tol: float = 1e-4,
                max_tol: float = 1e-3, min_label_agreement: float = 0.999) -> Any:
    """Export ``pipeline`` (a fitted :class:`~aispec.runtime.backends.keras.pipeline.KerasPipeline`) to ONNX at
    ``path`` and compare onnxruntime with it on ``X_sample`` (see the module docstring); an
    ``aispec.runtime.export.OnnxReport`` whose ``contract`` says what the outputs mean."""
    import onnxruntime as ort  # type: ignore[import-untyped]

    from aispec.schemas.labels import label_text
    from aispec.schemas.vocabulary import task_info

    from ...api import OutputContract
    from ...export import TARGET_OPSET, OnnxReport, _agreement, _kind, _tied_rows, onnx_feeds

    if not hasattr(pipeline, "model_"):
        raise ExportError("the Keras pipeline is not fitted: nothing to export")
    classification = task_info(task).classification
    input_shape = tuple(int(d) for d in pipeline.transform_features(X_sample.iloc[:1]).shape[1:])
    pre, inputs = _preprocessing_graph(pipeline, X_sample)
    net = _network_graph(pipeline, input_shape, TARGET_OPSET[""])
    classes = [label_text(c) for c in pipeline.classes_] if classification else None
    try:
        model = _join(pre, net, classes=classes, input_shape=input_shape)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"cannot join the preprocessing and the network into one ONNX graph: {first}") from exc
    data = model.SerializeToString()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)

    names = [i.name for i in model.graph.input]
    if len(names) != len(inputs):
        raise ExportError(f"the ONNX graph has {len(names)} inputs for {len(inputs)} columns")
    columns = {str(col): name for col, name in zip(X_sample.columns, names, strict=True)}
    kinds = {name: _kind(t) for name, (_, t) in zip(names, inputs, strict=True)}
    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
        feeds = onnx_feeds(X_sample, columns, kinds)
        n = len(X_sample)
        runs = [_run(session, feeds, n, max(1, n)), _run(session, feeds, n, max(1, second_batch))]
    except Exception as exc:
        raise ExportError(f"onnxruntime cannot run the exported model: {str(exc).splitlines()[0]}") from exc

    notes: list[str] = []
    agreement: float | None = None
    if classification:
        ref = pipeline.predict_proba(X_sample)
        ref_labels = np.asarray(pipeline.predict(X_sample), dtype=object)
        score, compared, probabilities = "probabilities", "predict_proba vs probabilities", True
        agreements = []
        for run in runs:
            onnx_labels = np.asarray(run["label"], dtype=object).ravel()
            tied = _tied_rows(ref_labels, onnx_labels, ref, list(pipeline.classes_))
            agreements.append(_agreement(ref_labels, onnx_labels, tied))
            if tied:
                notes.append(f"{tied} row(s) where Keras's probabilities tie between two classes and onnxruntime "
                             "picks the other: counted as agreeing")
        agreement = min(agreements)
    else:
        ref = np.asarray(pipeline.predict(X_sample), dtype=np.float64).reshape(len(X_sample), -1)
        score, compared, probabilities = "variable", "predict vs variable", False
    diffs = [np.max(np.abs(ref - np.asarray(run[score], dtype=np.float64).reshape(ref.shape)), axis=1)
             for run in runs]
    max_diff = float(max(float(np.max(d)) for d in diffs)) if len(ref) else 0.0
    mean_diff = float(max(float(np.mean(d)) for d in diffs)) if len(ref) else 0.0
    scale = 1.0
    if not probabilities:
        spread = float(np.std(ref))
        scale = spread if spread > 0 and np.isfinite(spread) else 1.0
    ok = ((agreement is None or agreement >= min_label_agreement) and mean_diff / scale <= tol
          and max_diff / scale <= max_tol)
    notes.append(f"compared in one call of {len(X_sample)} rows and in calls of {second_batch} rows; the worse "
                 "figures are reported")
    if classification:
        contract = OutputContract(task=task, label="label", scores="probabilities", score_kind="probabilities",
                                  classes=tuple(classes or ()))
    else:
        contract = OutputContract(task=task, value="variable")
    opset = {(entry.domain or ""): int(entry.version) for entry in model.opset_import}
    return OnnxReport(
        path=path.name, n_rows=len(X_sample), label_agreement=agreement, max_abs_diff=max_diff,
        mean_abs_diff=mean_diff, scale=scale, compared=compared, inputs=kinds, columns=columns,
        outputs=[o.name for o in model.graph.output], opset=dict(sorted(opset.items())), size_bytes=len(data),
        tol=tol, max_tol=max_tol, min_label_agreement=min_label_agreement, parity_ok=bool(ok), warnings=notes,
        contract=contract.to_dict(), reference="Keras")
