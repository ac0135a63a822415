"""ONNX export of a trained network with its preprocessing, as ONE graph with the same per-column inputs
as the scikit-learn projects (serving, batch scoring, drift and the image are unchanged).

- the front: the input kind's graph (tabular: the ``ColumnTransformer`` through skl2onnx, one input per
  column; images: the per-channel standardisation of the one ``image`` input, ``N×C×H×W`` pixels in
  [0, 1]) — its output is the network's input;
- the network: ``torch.onnx.export`` (the TorchScript exporter, ``dynamo=False``: it keeps the batch
  dimension dynamic and needs no onnxscript) of the network followed by softmax (classification) or the
  rescaling to the target's units (regression); ``Gemm`` nodes are rewritten as ``MatMul`` + ``Add``
  (the same arithmetic), which onnxruntime's dynamic int8 quantization can quantize;
- the two joined with ``onnx.compose.merge_models``; a classifier's graph ends with ``ArgMax`` →
  ``Gather`` of the class names, so its outputs are ``label`` (the class, as text) and
  ``probabilities`` (in ``classes_`` order), a regressor's ``variable``: the outputs a scikit-learn
  project's graph has, described by the same :class:`~aispec.runtime.api.OutputContract`.

Parity is measured against the eager network on the sample rows (the test split) twice: the whole
split in one call and one row per call (a second batch size, where an exporter that fixed a dimension
fails), under the scikit-learn projects' exact-parity policy (``runtime/export.py``).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from aispec.schemas.labels import label_text

from ...errors import ExportError

__all__ = ["OPSET", "to_onnx"]

OPSET = 17  # the scikit-learn projects' opset (runtime/export.py TARGET_OPSET): the most a graph uses
_MIN_OPSET = 13  # softmax over one axis (opset 13's meaning) and what torch exports best
_NETWORK_INPUT = "features"


def _network_graph(model: Any, opset: int = OPSET) -> Any:
    """The trained network (with softmax or rescaling) as an ONNX model at ``opset``, batch dimension dynamic."""
    import onnx
    import torch
    from torch import nn

    classification = hasattr(model, "classes_")

    class Exported(nn.Module):
        def __init__(self, network: nn.Module) -> None:
            super().__init__()
            self.network = network
            self.scale = float(getattr(model, "y_std_", 1.0))
            self.shift = float(getattr(model, "y_mean_", 0.0))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.network(x)
            if classification:
                return torch.softmax(out, dim=1)
            return out * self.scale + self.shift

    network = model.network_
    wrapper = Exported(network).eval()
    output = "probabilities" if classification else "variable"
    sample = torch.zeros(2, *model.inputs_.input_shape)  # (N, features) rows, or (N, C, H, W) images
    with tempfile.TemporaryDirectory(prefix="aispec-export-") as folder:
        path = Path(folder) / "network.onnx"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
                torch.onnx.export(wrapper, (sample,), str(path), dynamo=False, input_names=[_NETWORK_INPUT],
                                  output_names=[output], opset_version=opset,
                                  dynamic_axes={_NETWORK_INPUT: {0: "batch"}, output: {0: "batch"}})
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExportError(f"torch.onnx.export cannot export the network: {first}",
                              hint="keep the network to operators ONNX has (see model.py)") from exc
        finally:
            network.eval()  # the exporter restores the wrapper's (training) mode on every submodule
        return onnx.load(str(path))


def gemm_to_matmul(model: Any) -> Any:
    """Each ``Gemm`` with constant weights (alpha = beta = 1, A not transposed) as ``MatMul`` + ``Add``: the
    same product, in the form onnxruntime's dynamic int8 quantization quantizes (it has no integer
    ``Gemm``). Returns ``model``, changed in place."""
    from onnx import helper, numpy_helper

    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    nodes = []
    for node in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        plain = (node.op_type == "Gemm" and attrs.get("transA", 0) == 0 and attrs.get("alpha", 1.0) == 1.0
                 and attrs.get("beta", 1.0) == 1.0 and len(node.input) >= 2 and node.input[1] in weights)
        if not plain:
            nodes.append(node)
            continue
        matrix = numpy_helper.to_array(weights[node.input[1]])
        if attrs.get("transB", 0):
            matrix = np.ascontiguousarray(matrix.T)
        name = f"{node.input[1]}/matmul"
        graph.initializer.append(numpy_helper.from_array(matrix, name))
        has_bias = len(node.input) > 2 and node.input[2]
        product = f"{node.output[0]}/product" if has_bias else node.output[0]
        nodes.append(helper.make_node("MatMul", [node.input[0], name], [product], name=f"{node.name}/MatMul"))
        if has_bias:
            nodes.append(helper.make_node("Add", [product, node.input[2]], [node.output[0]], name=f"{node.name}/Add"))
    del graph.node[:]
    graph.node.extend(nodes)
    used = {i for n in graph.node for i in n.input}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return model


def _with_labels(model: Any, classes: list[str]) -> Any:
    """Append ``label`` = the class name of the largest probability, as the first output."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    graph.initializer.append(numpy_helper.from_array(np.array(classes, dtype=object), "classes"))
    graph.node.extend([
        helper.make_node("ArgMax", ["probabilities"], ["label_index"], axis=1, keepdims=0, name="label/ArgMax"),
        helper.make_node("Gather", ["classes", "label_index"], ["label"], axis=0, name="label/Gather"),
    ])
    outputs = list(graph.output)
    del graph.output[:]
    graph.output.extend([helper.make_tensor_value_info("label", TensorProto.STRING, ["batch"]), *outputs])
    return model


def combined_graph(model: Any, X_sample: Any) -> tuple[Any, dict[str, str], dict[str, str]]:
    """The front and the network as one ONNX model; with the input contract (``columns``, ``inputs``)."""
    import onnx
    import onnx.version_converter
    from onnx import compose

    front, front_output, columns, inputs = model.inputs_.onnx_front(X_sample)
    # skl2onnx writes the lowest opset its operators need (up to 17): the network is exported at the same
    # one, since merged graphs must agree on it (and relabelling an opset would change what operators mean)
    opset = next((entry.version for entry in front.opset_import if entry.domain in ("", "ai.onnx")), OPSET)
    if opset < _MIN_OPSET:
        front = onnx.version_converter.convert_version(front, _MIN_OPSET)
        opset = _MIN_OPSET
    network = gemm_to_matmul(_network_graph(model, opset))
    front = compose.add_prefix(front, "preprocess/", rename_inputs=False)
    network = compose.add_prefix(network, "network/", rename_outputs=False)
    ir = min(front.ir_version, network.ir_version)
    front.ir_version = network.ir_version = ir
    merged = compose.merge_models(front, network, io_map=[(f"preprocess/{front_output}",
                                                           f"network/{_NETWORK_INPUT}")],
                                  producer_name="aispec")
    opsets: dict[str, int] = {}
    for entry in merged.opset_import:
        opsets[entry.domain] = max(opsets.get(entry.domain, 0), entry.version)
    del merged.opset_import[:]
    merged.opset_import.extend(onnx.helper.make_opsetid(domain, version) for domain, version in opsets.items())
    if hasattr(model, "classes_"):
        merged = _with_labels(merged, [label_text(c) for c in model.classes_])
    onnx.checker.check_model(merged)
    return merged, columns, inputs


def _run(session: Any, feeds: dict[str, Any], chunk: int) -> dict[str, Any]:
    names = [o.name for o in session.get_outputs()]
    n = len(next(iter(feeds.values())))
    parts: dict[str, list[Any]] = {name: [] for name in names}
    for start in range(0, n, chunk):
        values = session.run(None, {k: v[start:start + chunk] for k, v in feeds.items()})
        for name, value in zip(names, values, strict=True):
            parts[name].append(np.asarray(value))
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def to_onnx(model: Any, X_sample: Any, path: Path, *, tol: float = 1e-4, max_tol: float = 1e-3,
            min_label_agreement: float = 0.999) -> Any:
    """Export ``model`` (a fitted network estimator) to ``path`` and compare onnxruntime with the eager
    network on ``X_sample`` (see the module docstring). Returns an ``export.OnnxReport``."""
    import onnxruntime as ort  # type: ignore[import-untyped]

    from ...api import OutputContract
    from ...export import OnnxReport, _agreement, _tied_rows, onnx_feeds

    if not hasattr(model, "network_"):
        raise ExportError("the network is not trained: nothing to export")
    if getattr(model.inputs_, "kind", "") == "tokens":  # the graph reads token ids, not columns
        from .export_tokens import to_onnx_tokens

        return to_onnx_tokens(model, X_sample, path, tol=tol, max_tol=max_tol, min_label_agreement=min_label_agreement)
    graph, columns, inputs = combined_graph(model, X_sample)
    data = graph.SerializeToString()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)

    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
        feeds = onnx_feeds(X_sample, columns, inputs)
        runs = [_run(session, feeds, max(1, len(X_sample))), _run(session, feeds, 1)]
    except Exception as exc:
        raise ExportError(f"onnxruntime cannot run the exported model: {str(exc).splitlines()[0]}") from exc
    outputs = [o.name for o in session.get_outputs()]
    classification = hasattr(model, "classes_")
    n = len(X_sample)
    if classification:
        reference = np.asarray(model.predict_proba(X_sample), dtype=float)
        ref_labels = np.asarray(model.classes_[np.argmax(reference, axis=1)]).astype(str)
        compared, score = "predict_proba vs probabilities", "probabilities"
        contract = OutputContract(task=model.task, label="label", scores="probabilities", score_kind="probabilities",
                                  classes=tuple(label_text(c) for c in model.classes_))
    else:
        reference = np.asarray(model.predict(X_sample), dtype=float).reshape(n, -1)
        ref_labels = None
        compared, score = "predict vs variable", "variable"
        contract = OutputContract(task=model.task, value="variable")
    agreement: float | None = None
    max_diff = mean_diff = 0.0
    notes: list[str] = [f"compared with the eager PyTorch network on {n} rows, in one batch and one row per call"]
    for run in runs:
        got = np.asarray(run[score], dtype=float).reshape(n, -1)
        per_row = np.max(np.abs(reference - got), axis=1) if n else np.zeros(0)
        if n:
            max_diff = max(max_diff, float(np.max(per_row)))
            mean_diff = max(mean_diff, float(np.mean(per_row)))
        if ref_labels is not None:
            onnx_labels = np.asarray(run["label"]).ravel().astype(str)
            tied = _tied_rows(ref_labels, onnx_labels, reference, [str(c) for c in model.classes_])
            value = _agreement(ref_labels, onnx_labels, tied)
            agreement = value if agreement is None else min(agreement, value)
    scale = 1.0
    if not classification and n:
        spread = float(np.std(reference))
        scale = spread if spread > 0 and np.isfinite(spread) else 1.0
    ok = ((agreement is None or agreement >= min_label_agreement) and mean_diff / scale <= tol
          and max_diff / scale <= max_tol)
    return OnnxReport(
        path=path.name, n_rows=n, label_agreement=agreement, max_abs_diff=max_diff, mean_abs_diff=mean_diff,
        scale=scale, compared=compared, inputs=inputs, columns=columns, outputs=outputs,
        opset={entry.domain or "": entry.version for entry in graph.opset_import}, size_bytes=len(data), tol=tol,
        max_tol=max_tol, min_label_agreement=min_label_agreement, parity_ok=bool(ok), warnings=notes,
        contract=contract.to_dict(), reference="PyTorch",
    )
