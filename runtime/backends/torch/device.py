"""Where and how reproducibly a network trains: the device (``hardware.accelerator``), mixed precision,
threads (``hardware.cpus``) and seeds with deterministic algorithms on (``training.seed``)."""

from __future__ import annotations

import os
import random
import sys
from typing import Any

from ...errors import ConfigError

__all__ = ["choose_device", "mixed_precision", "seed_everything", "threads"]


def choose_device(accelerator: str = "auto") -> Any:
    """``cpu``; ``gpu``: CUDA, a ConfigError when there is none (the spec asked for it); ``auto``: CUDA
    when present, else the CPU."""
    import torch

    if accelerator == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if accelerator == "gpu":
        raise ConfigError("hardware.accelerator is gpu, and torch finds no CUDA device on this machine",
                          hint="use accelerator: auto (a GPU when there is one) or cpu")
    return torch.device("cpu")


def mixed_precision(device: Any) -> bool:
    """float16 autocast with gradient scaling on a CUDA device; full float32 on the CPU (where float16
    is slower and bfloat16 would change the numbers the exported float32 model must reproduce)."""
    return bool(getattr(device, "type", "cpu") == "cuda")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch, and make torch choose deterministic algorithms (an operation that has
    none raises rather than silently varying between runs)."""
    import numpy as np
    import torch

    # cuBLAS needs a fixed workspace to be deterministic; it is read when CUDA starts
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(True)
    else:
        # the public function also imports torch._inductor (2.5 s measured here) only to set torch.compile's
        # flag; nothing here is compiled, so set the flag that eager operations read, and nothing else
        torch._C._set_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False  # its autotuner picks algorithms by timing: not reproducible


# Below this many weights a network's matrix products are too small for intra-op threads to pay: on a
# 2-core machine under load, a 1,400-weight MLP trained 15x slower with 2 threads than with 1 (threads
# spin waiting for each other on every tiny operation).
PARALLEL_FROM = 1_000_000


def threads(cpus: int | None, weights: int) -> int:
    """Set torch's intra-op threads for a network of ``weights`` parameters and return the number: 1 for a
    small network, else ``hardware.cpus`` (unset: torch's own choice, the machine's cores)."""
    import torch

    count = max(1, int(cpus) if cpus else (os.cpu_count() or 1)) if weights >= PARALLEL_FROM else 1
    torch.set_num_threads(count)
    return count
