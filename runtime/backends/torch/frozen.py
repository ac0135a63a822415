"""A network whose ``encoder`` is frozen trains only its ``head``, on the encoder's outputs computed once.

The convention (the ``transfer`` family's ``Network`` follows it): a network with an ``encoder`` submodule
none of whose parameters requires a gradient, and a ``head`` submodule, computes ``head(encoder(x))``.
Training it epoch after epoch would run the encoder over every row in every epoch to produce the same
numbers; instead the estimator computes the encoder's outputs once for the training and validation rows
(here, in evaluation mode: no dropout) and hands the loop the head and those outputs, as a tabular network
and its features. The result is the same network, trained the same way, in a fraction of the time: the
loop, the checkpoints, ``--resume``, early stopping and the search all work on the head unchanged.

Outputs are cached per process by the encoder's weights and the row's token ids, so a search's trials and
the final fit compute each text's embedding once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["embed", "frozen_parts", "weights_digest"]

_BATCH = 64
_CACHE_ROWS = 200_000  # rows kept per encoder (384 float32 each: ~300 MB at most)
_CACHE: dict[str, dict[bytes, NDArray[np.float32]]] = {}


def frozen_parts(network: Any) -> tuple[Any, Any] | None:
    """``(encoder, head)`` when ``network`` follows the convention of the module docstring, else None."""
    encoder, head = getattr(network, "encoder", None), getattr(network, "head", None)
    if encoder is None or head is None:
        return None
    parameters = list(encoder.parameters())
    if not parameters or any(p.requires_grad for p in parameters):
        return None
    return encoder, head


def weights_digest(module: Any) -> str:
    """A digest of ``module``'s weights (names, shapes and bytes): equal digests, equal outputs."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def embed(encoder: Any, rows: Sequence[Any], *, pad_id: int, device: Any = None,
          digest: str | None = None) -> NDArray[np.float32]:
    """``encoder``'s outputs for token ``rows`` (float32 ``[n, width]``), in batches of rows of similar length (less
    padding), in evaluation mode without gradients; cached under ``digest`` (the encoder's weights)."""
    import torch

    from ...text.tokens import pad

    key = digest or weights_digest(encoder)
    cache = _CACHE.setdefault(key, {})
    keys = [np.asarray(r, dtype=np.int64).tobytes() for r in rows]
    missing = sorted({k for k in keys if k not in cache}, key=len)
    if missing:
        if len(cache) + len(missing) > _CACHE_ROWS:
            cache.clear()
        was_training = encoder.training
        encoder.eval()
        target = device if device is not None else torch.device("cpu")
        encoder.to(target)
        with torch.inference_mode():
            for start in range(0, len(missing), _BATCH):
                chunk = missing[start:start + _BATCH]
                ids = torch.from_numpy(pad([np.frombuffer(k, dtype=np.int64) for k in chunk], pad_id)).to(target)
                out = encoder(ids).float().cpu().numpy()
                cache.update(zip(chunk, out, strict=True))
        encoder.train(was_training)
    if not keys:
        return np.zeros((0, 0), dtype=np.float32)
    return np.ascontiguousarray(np.stack([cache[k] for k in keys]), dtype=np.float32)
