"""GPU check of the torch network forecasters: the co2-lstm example's generated network and loop (its golden
project), lstm and gru, trained on CUDA with mixed precision (hardware.accelerator: gpu), scored on the test
origins (MASE), exported and compared with onnxruntime on the CPU.

Run from the repository root on a machine with CUDA (needs torch, numpy, pandas, scipy, scikit-learn,
statsmodels, onnx, onnxruntime and rich; no aispec install: a namespace of links does):

    mkdir -p /tmp/ns/aispec && for d in compiler runtime schemas templates specs; do
      ln -s $PWD/$d /tmp/ns/aispec/$d; done
    PYTHONPATH=/tmp/ns python3 benchmarks/gpu_forecasting.py       # ACCEL=cpu EPOCHS=2 to try it on a CPU

Writes ``$OUT/gpu_forecasting.json`` (or /tmp/out/). Not run on a GPU yet (see the report of the change that
added it: the device machine is handed the lead's checkout, not a helper's worktree).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    sys.path.insert(0, str(ROOT / "tests" / "golden" / "projects" / "co2-lstm"))
    import torch
    from mauna_loa_co2_lstm import loop, model  # type: ignore[import-not-found]

    from aispec.runtime.api import FitSettings
    from aispec.runtime.datasets import load_bundled
    from aispec.runtime.metrics import mase_scale
    from aispec.runtime.series import backtest
    from aispec.runtime.series.forecasters import SeriesSettings, make_forecaster
    from aispec.runtime.series.frame import regularize

    name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
    print("torch", torch.__version__, name, flush=True)
    series, _ = regularize(load_bundled("co2").dropna(), time_column="date", target="co2", frequency="W")
    y = series["co2"].to_numpy()
    n_train = len(y) - round(0.2 * len(y))
    n_fit = n_train - round(0.1 * len(y))
    settings = SeriesSettings("date", "co2", 52, tuple(range(1, 53)), 52, "W", "direct")
    training = {"epochs": int(os.environ.get("EPOCHS", "80")), "batch_size": 64, "learning_rate": 0.003, "seed": 7,
                "early_stopping": {"patience": 10}}
    out: dict[str, dict[str, object]] = {}
    for family in ("lstm", "gru"):
        model.FAMILY = family  # the generated network picks its cell by FAMILY
        forecaster = make_forecaster(family, settings=settings, params={"hidden_size": 32}, seed=7, scaling="standard",
                                     backend="torch", network=model.build_network, loop=loop.train_loop,
                                     training=training)
        started = time.perf_counter()
        fit = FitSettings(accelerator=os.environ.get("ACCEL", "gpu"), scoring="mae")
        forecaster.fit_with(y[:n_fit], validation=y[n_fit:n_train], settings=fit, progress=False)
        seconds = time.perf_counter() - started
        origins = backtest.test_origins(n_train, len(y), 52)
        histories = backtest.histories(y, origins, 52)
        truth, predicted, _ = backtest.scored(y, origins, forecaster.forecast(histories), 52)
        folder = Path(f"/tmp/export-{family}")
        folder.mkdir(parents=True, exist_ok=True)
        export = forecaster.export(folder, histories)
        history = forecaster.history_
        out[family] = {"device": forecaster.device_, "mixed_precision": forecaster.mixed_precision_,
                       "fit_s": round(seconds, 2), "epochs": len(history["epochs"]),
                       "best_epoch": history["best_epoch"],
                       "mase": round(float(np.mean(np.abs(truth - predicted))) / mase_scale(y[:n_train], 52), 4),
                       "parity_ok": export.parity_ok, "max_abs_diff": export.max_abs_diff}
        print(family, json.dumps(out[family]), flush=True)
    folder = Path(os.environ.get("OUT", "/tmp/out"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gpu_forecasting.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
