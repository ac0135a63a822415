"""ONNX export of a network that reads token ids (the ``transformer`` and ``transfer`` families on text).

One graph, inputs ``input_ids`` and ``attention_mask`` (int64, ``[batch, sequence]``, both axes dynamic), outputs
``label`` (the class, as text) and ``probabilities`` (in ``classes_`` order) — a classifier's outputs on every
back end, described by the same :class:`~aispec.runtime.api.OutputContract`. Positions the mask marks as padding
are set to the padding id before the network, whose ``forward(ids)`` reads padding from the ids: a client's
mask is honoured and the graph needs both inputs. The tokenizer the network was trained with is written beside
the model as ``tokenizer.json`` (truncation and padding included) and described in the report's ``tokenizer``
(serving.json ``model.tokenizer``); the service tokenises with it (:mod:`aispec.runtime.serving.text`).

Exporter: the TorchScript one (``dynamo=False``, no onnxscript needed). It keeps both axes dynamic for the
networks here; with ``nn.TransformerEncoder`` it does not (its attention reshapes with the traced sequence
length: onnxruntime then refuses any other length), which is why the ``transformer`` family's ``model.py``
writes its attention layer out.

Parity is measured against the eager network on the sample rows (the test split) tokenised by the saved
``tokenizer.json`` exactly as the service does, twice: in batches of 64 texts (each padded to its longest text)
and one text per call (its own length) — two batch sizes and many sequence lengths, under the exact-parity
policy of ``runtime/export.py``.
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

__all__ = ["to_onnx_tokens"]

OPSET = 17
_BATCH = 64


def _graph(model: Any) -> Any:
    """The network with the mask applied and softmax after it, as ONNX (both axes of the inputs dynamic)."""
    import onnx
    import torch
    from torch import nn

    from ...text.tokens import IDS, MASK

    pad_id = int(model.inputs_.pad_id)

    class Exported(nn.Module):
        def __init__(self, network: nn.Module) -> None:
            super().__init__()
            self.network = network

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            ids = input_ids.masked_fill(attention_mask == 0, pad_id)
            return torch.softmax(self.network(ids), dim=1)

    network = model.network_
    wrapper = Exported(network).eval()
    ids = torch.tensor([[2, 5, 6, 7, 8], [2, 9, pad_id, pad_id, pad_id]], dtype=torch.int64)
    ids = ids.clamp(max=max(int(model.n_features_in_) - 1, 0))
    mask = (ids != pad_id).to(torch.int64)
    axes = {IDS: {0: "batch", 1: "sequence"}, MASK: {0: "batch", 1: "sequence"}, "probabilities": {0: "batch"}}
    with tempfile.TemporaryDirectory(prefix="aispec-export-") as folder:
        path = Path(folder) / "network.onnx"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notices
                torch.onnx.export(wrapper, (ids, mask), str(path), dynamo=False, input_names=[IDS, MASK],
                                  output_names=["probabilities"], opset_version=OPSET, dynamic_axes=axes)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExportError(f"torch.onnx.export cannot export the network: {first}",
                              hint="keep the network to operators ONNX has (see model.py)") from exc
        finally:
            network.eval()  # the exporter restores the wrapper's (training) mode on every submodule
        return onnx.load(str(path))


def to_onnx_tokens(model: Any, X_sample: Any, path: Path, *, tol: float = 1e-4, max_tol: float = 1e-3,
                   min_label_agreement: float = 0.999) -> Any:
    """Export ``model`` (a fitted network classifier reading token ids) to ``path``, its tokenizer beside it, and
    compare onnxruntime with the eager network on ``X_sample`` (see the module docstring). Returns an
    ``export.OnnxReport``."""
    import onnx
    import onnxruntime as ort  # type: ignore[import-untyped]

    from ...api import OutputContract
    from ...export import OnnxReport, _agreement, _tied_rows
    from ...serving.text import TokenizerFeeds
    from ...text.tokens import TOKENIZER_FILE, column_texts
    from .export import _with_labels, gemm_to_matmul

    if not hasattr(model, "network_"):
        raise ExportError("the network is not trained: nothing to export")
    if not hasattr(model, "classes_"):
        raise ExportError("a network reading token ids is exported as a classifier only")
    graph = _with_labels(gemm_to_matmul(_graph(model)), [label_text(c) for c in model.classes_])
    onnx.checker.check_model(graph)
    data = graph.SerializeToString()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    tokenizer = model.inputs_.tokenizer
    tokenizer.save(path.parent / TOKENIZER_FILE)
    contract = tokenizer.contract(TOKENIZER_FILE)

    column = str(contract["column"])
    texts = column_texts(X_sample, column)
    n = len(texts)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        feeds = TokenizerFeeds(contract, path.parent)  # the file as saved, read as the service reads it
        session = ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
        runs: list[dict[str, Any]] = []
        for size in (_BATCH, 1):
            labels: list[Any] = []
            scores: list[Any] = []
            for start in range(0, n, size):
                label, probabilities = session.run(["label", "probabilities"], feeds.encode(texts[start:start + size]))
                labels.append(np.asarray(label).ravel())
                scores.append(np.asarray(probabilities, dtype=float))
            runs.append({"label": np.concatenate(labels) if labels else np.zeros(0, dtype=object),
                         "probabilities": np.concatenate(scores) if scores else np.zeros((0, len(model.classes_)))})
    except Exception as exc:
        raise ExportError(f"onnxruntime cannot run the exported model: {str(exc).splitlines()[0]}") from exc
    reference = np.asarray(model.predict_proba(X_sample), dtype=float)
    ref_labels = np.asarray(model.classes_[np.argmax(reference, axis=1)]).astype(str) if n else np.zeros(0, str)
    agreement: float | None = None
    max_diff = mean_diff = 0.0
    for run in runs:
        got = np.asarray(run["probabilities"], dtype=float).reshape(n, -1)
        per_row = np.max(np.abs(reference - got), axis=1) if n else np.zeros(0)
        if n:
            max_diff = max(max_diff, float(np.max(per_row)))
            mean_diff = max(mean_diff, float(np.mean(per_row)))
        onnx_labels = np.asarray(run["label"]).astype(str)
        tied = _tied_rows(ref_labels, onnx_labels, reference, [str(c) for c in model.classes_])
        value = _agreement(ref_labels, onnx_labels, tied)
        agreement = value if agreement is None else min(agreement, value)
    ok = (agreement is None or agreement >= min_label_agreement) and mean_diff <= tol and max_diff <= max_tol
    lengths = model.inputs_.transform(X_sample).lengths if n else np.zeros(0, np.int64)
    notes = [f"compared with the eager PyTorch network on {n} rows tokenised by {TOKENIZER_FILE} as the service "
             f"does, in batches of {_BATCH} texts and one text per call (sequence lengths "
             f"{int(lengths.min()) if n else 0} to {int(lengths.max()) if n else 0} tokens)"]
    output = OutputContract(task=model.task, label="label", scores="probabilities", score_kind="probabilities",
                            classes=tuple(label_text(c) for c in model.classes_))
    return OnnxReport(
        path=path.name, n_rows=n, label_agreement=agreement, max_abs_diff=max_diff, mean_abs_diff=mean_diff,
        scale=1.0, compared="predict_proba vs probabilities", inputs={column: "string"}, columns={column: column},
        outputs=[o.name for o in session.get_outputs()],
        opset={entry.domain or "": entry.version for entry in graph.opset_import}, size_bytes=len(data), tol=tol,
        max_tol=max_tol, min_label_agreement=min_label_agreement, parity_ok=bool(ok), warnings=notes,
        contract=output.to_dict(), reference="PyTorch", tokenizer=contract,
    )
