"""Overhead of the PyTorch back end: the generated training loop against a hand-written one, and the exported
ONNX model's single-row latency against eager torch.

Run: python benchmarks/bench_torch_overhead.py [--rows 50000] [--epochs 5] [--repeats 5]

1. Training loop. The network of the example project ``specs/examples/penguins-mlp-torch.yaml`` (its
   generated ``Network``: Linear → ReLU, two hidden layers of ``--hidden`` units) on a synthetic table
   (``--rows`` rows × 32 float columns, 3 classes; a validation split of a tenth of that), batch size
   256, Adam at 1e-3, cross-entropy, ``--epochs`` epochs, one thread, the CPU:

   - ``generated``: the project's ``train_loop`` (loop.py) with the ``LoopSetup`` a run hands it —
     reshuffled batches every epoch, the validation loss and the primary metric (accuracy) after every
     epoch, early stopping's bookkeeping (patience larger than the epochs, so all epochs run), a
     checkpoint after every epoch (``training.checkpoint_every: 1``, the default), the progress
     display off (as in a search trial; on a terminal it draws a bar);
   - ``hand-written``: the loop one writes by hand for the same job: a shuffled permutation per epoch,
     slices of the same tensors, forward → loss → backward → step, and the validation loss every
     epoch (what early stopping needs), nothing else.

   Both start from the same initial weights and see the same tensors. After one untimed epoch each they
   alternate, ``--repeats`` times, each going first in turn; the figure is the median ratio of their
   CPU times (``time.process_time``: one thread, so it is the work done, while wall time on a shared
   machine mostly measures the other processes) — generated / hand-written. Target: ≤ 1.15.

2. Single-row latency. The same network trained briefly, exported by the back end (preprocessing +
   network as one graph, per-column inputs, as served): onnxruntime (one thread, as the service runs it)
   against eager torch, for one row:

   - network alone: ``network(x)`` under ``torch.inference_mode()`` on a 1×32 tensor, against the
     network's own ONNX graph;
   - as served: the estimator's ``predict_proba`` on a one-row frame (scikit-learn preprocessing, then the
     network) against the exported ``model.onnx`` fed the row's columns.

   Median of ``--calls`` calls after a warm-up. Target: onnxruntime at least 2× faster.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _project(folder: Path) -> tuple[Any, Any]:
    import importlib

    from aispec.compiler.build import build

    result = build(ROOT / "specs" / "examples" / "penguins-mlp-torch.yaml", folder / "p")
    assert result.ok and result.plan is not None
    sys.path.insert(0, str(folder / "p"))
    return (importlib.import_module(f"{result.plan.package}.model"),
            importlib.import_module(f"{result.plan.package}.loop"))


def _data(rows: int, seed: int = 0) -> tuple[Any, Any]:
    import torch

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 32)).astype(np.float32)
    logits = X[:, :3] * 2 + X[:, 3:6]
    y = np.argmax(logits + rng.normal(scale=0.5, size=logits.shape), axis=1).astype(np.int64)
    return torch.from_numpy(X), torch.from_numpy(y)


def _clock() -> float:
    """CPU seconds of this process: on a shared machine, wall time mostly measures the neighbours (one
    thread, so CPU time is the work done; a checkpoint's write to the page cache is CPU time too)."""
    return time.process_time()


def _hand_written(network: Any, X: Any, y: Any, Xv: Any, yv: Any, epochs: int, batch: int) -> float:
    import torch

    optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    start = _clock()
    for _ in range(epochs):
        network.train()
        order = torch.randperm(len(X), generator=generator)
        for i in range(0, len(X), batch):
            index = order[i:i + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(network(X[index]), y[index])
            loss.backward()
            optimizer.step()
        network.eval()
        with torch.no_grad():
            total = sum(float(loss_fn(network(Xv[i:i + 4096]), yv[i:i + 4096])) * len(yv[i:i + 4096])
                        for i in range(0, len(Xv), 4096))
        _ = total / len(Xv)
    return _clock() - start


def _generated(loop: Any, network: Any, X: Any, y: Any, Xv: Any, yv: Any, epochs: int, batch: int,
               checkpoints: Path) -> float:
    import torch

    from aispec.runtime import metrics as metric_fns
    from aispec.runtime.backends.torch.loop import Checkpoints, LoopSetup, TensorBatches, make_loss
    from aispec.runtime.deep import EpochProgress, training_settings

    settings = training_settings({"epochs": epochs, "batch_size": batch, "learning_rate": 1e-3, "optimizer": "adam",
                                  "early_stopping": {"patience": epochs + 1}}, task="classification")
    labels = yv.numpy().astype(str)
    classes = np.array(["0", "1", "2"], dtype=object)

    def accuracy(outputs: Any) -> dict[str, float]:
        predicted = classes[outputs.argmax(dim=1).numpy()]
        return {"val_" + k: v for k, v in metric_fns.compute("classification", ["accuracy"], y_true=labels,
                                                             y_pred=predicted).items()}

    setup = LoopSetup(settings=settings, device=torch.device("cpu"), mixed_precision=False,
                      loss=make_loss("cross_entropy"), progress=EpochProgress(epochs, enabled=False),
                      checkpoints=Checkpoints(checkpoints, every=1, fingerprint="bench"), metrics=accuracy)
    batches = TensorBatches(X, y, batch_size=batch, seed=0, shuffle=True)
    validation = TensorBatches(Xv, yv, batch_size=4096, shuffle=False)
    start = _clock()
    loop.train_loop(network, batches, validation, setup)
    return _clock() - start


def _median_call(fn: Any, calls: int, warmup: int = 200) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1e3  # microseconds


def bench_loop(model: Any, loop: Any, *, rows: int, hidden: int, epochs: int, repeats: int) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    X, y = _data(rows)
    Xv, yv = _data(rows // 10, seed=1)
    torch.manual_seed(0)
    initial = model.build_network(32, 3, {"hidden_units": hidden, "layers": 2})
    ratios, generated, hand = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        # one untimed round each (allocator and import warm-up), then alternate, each going first in turn
        _generated(loop, copy.deepcopy(initial), X, y, Xv, yv, 1, 256, Path(folder))
        _hand_written(copy.deepcopy(initial), X, y, Xv, yv, 1, 256)
        for i in range(repeats):
            if i % 2:
                h = _hand_written(copy.deepcopy(initial), X, y, Xv, yv, epochs, 256)
                g = _generated(loop, copy.deepcopy(initial), X, y, Xv, yv, epochs, 256, Path(folder))
            else:
                g = _generated(loop, copy.deepcopy(initial), X, y, Xv, yv, epochs, 256, Path(folder))
                h = _hand_written(copy.deepcopy(initial), X, y, Xv, yv, epochs, 256)
            generated.append(g)
            hand.append(h)
            ratios.append(g / h)
    return {"generated_s": statistics.median(generated), "hand_written_s": statistics.median(hand),
            "ratio": statistics.median(ratios), "ratios": [round(r, 4) for r in ratios]}


def bench_latency(model: Any, loop: Any, *, hidden: int, calls: int) -> dict[str, Any]:
    import onnxruntime as ort
    import torch

    from aispec.runtime import preprocess
    from aispec.runtime.backends.torch.estimator import FitContext, make_network_estimator
    from aispec.runtime.backends.torch.export import _network_graph, gemm_to_matmul, to_onnx
    from aispec.runtime.export import onnx_feeds

    X, y = _data(4000)
    frame = pd.DataFrame(X.numpy(), columns=[f"x{i}" for i in range(32)])
    labels = pd.Series(y.numpy().astype(str).astype(object))
    estimator = make_network_estimator(
        task="classification", network=model.build_network, loop=loop.train_loop,
        preprocessor=preprocess.build_preprocessor(column_types={c: "numeric" for c in frame.columns}, cleaning={},
                                                   task="classification"),
        params={"hidden_units": hidden, "layers": 2}, training={"epochs": 2, "batch_size": 256})
    estimator.fit(frame, labels, context=FitContext(progress=False))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        report = to_onnx(estimator, frame.iloc[:200], Path(folder) / "model.onnx")
        served = ort.InferenceSession(str(Path(folder) / "model.onnx"), sess_options=options,
                                      providers=["CPUExecutionProvider"])
    net_graph = gemm_to_matmul(_network_graph(estimator))
    network_session = ort.InferenceSession(net_graph.SerializeToString(), sess_options=options,
                                           providers=["CPUExecutionProvider"])
    row = frame.iloc[:1]
    feeds = onnx_feeds(row, report.columns, report.inputs)
    x = torch.from_numpy(estimator.inputs_.transform(row))
    network = estimator.network_

    def eager_network() -> Any:
        with torch.inference_mode():
            return torch.softmax(network(x), dim=1)

    out = {
        "network_eager_us": _median_call(eager_network, calls),
        "network_onnx_us": _median_call(lambda: network_session.run(None, {"features": x.numpy()}), calls),
        "served_eager_us": _median_call(lambda: estimator.predict_proba(row), max(200, calls // 10), warmup=20),
        "served_onnx_us": _median_call(lambda: served.run(None, feeds), calls),
        "parity_ok": report.parity_ok,
    }
    out["network_speedup"] = out["network_eager_us"] / out["network_onnx_us"]
    out["served_speedup"] = out["served_eager_us"] / out["served_onnx_us"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()
    import torch

    with tempfile.TemporaryDirectory() as folder:
        model, loop = _project(Path(folder))
        loop_figures = bench_loop(model, loop, rows=args.rows, hidden=args.hidden, epochs=args.epochs,
                                  repeats=args.repeats)
        latency = bench_latency(model, loop, hidden=args.hidden, calls=args.calls)
    print(f"torch {torch.__version__}, {args.rows} rows x 32 columns, MLP 2x{args.hidden}, batch 256, "
          f"{args.epochs} epochs, 1 thread")
    print(f"training loop: generated {loop_figures['generated_s']:.3f} s, hand-written "
          f"{loop_figures['hand_written_s']:.3f} s, ratio {loop_figures['ratio']:.3f} (target <= 1.15; "
          f"per repeat {loop_figures['ratios']})")
    print(f"single row, network alone: eager torch {latency['network_eager_us']:.1f} us, onnxruntime "
          f"{latency['network_onnx_us']:.1f} us: x{latency['network_speedup']:.2f} (target >= 2)")
    print(f"single row, as served (preprocessing + network): eager {latency['served_eager_us']:.1f} us, "
          f"onnxruntime {latency['served_onnx_us']:.1f} us: x{latency['served_speedup']:.2f}")


if __name__ == "__main__":
    main()
