"""The model of sms-spam-transformer: a transformer encoder trained from scratch, in PyTorch.

`Network` is the network as plain `nn.Module` code, yours to edit: token and position embeddings,
`num_layers` encoder layers (multi-head self-attention and a feed-forward block, each added to its
input and layer-normalised, as in nn.TransformerEncoderLayer), the mean of the real tokens' states,
and a linear layer to one score per class. The run builds it with `build_network`, trains it with
`train_loop` (loop.py) on the token ids of features.py, and exports it to ONNX (inputs input_ids and
attention_mask, both axes dynamic). PARAMS are model.params; SEARCH_SPACE is model.search.space.

The attention is written out rather than taken from nn.MultiheadAttention: exported by
torch.onnx (TorchScript), nn.TransformerEncoder keeps the sequence length of the example it was
traced with, and onnxruntime then refuses every other length.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from aispec.runtime.backends.torch import check_params, make_network_estimator
from aispec.runtime.errors import ConfigError
from aispec.runtime.search import Distribution, Float
from sklearn.base import BaseEstimator
from torch import nn

from sms_spam_transformer.config import LOCATIONS, SPEC, TASK
from sms_spam_transformer.features import build_preprocessor
from sms_spam_transformer.loop import train_loop

FAMILY = "transformer"
# Fixed hyperparameters (model.params); the search below overrides the ones it tunes. learning_rate,
# batch_size, optimizer and dropout given here override the spec's `training` section.
PARAMS: dict[str, Any] = {
    "vocab_size": 8000,
    "sequence_length": 64,
    "d_model": 64,
    "nhead": 4,
    "num_layers": 2,
    "dim_feedforward": 128,
}

# model.search: bayesian, 4 trials, timeout 600.0s, scored on the validation split;
# trials whose score falls below the median of earlier trials at the same epoch are stopped early.
SEARCH_SPACE: dict[str, Distribution] = {
    "learning_rate": Float(0.0005, 0.005, log=True),
    "dropout": Float(0.0, 0.3),
}

# What a parameter is when model.params does not say.
DEFAULTS: dict[str, Any] = {
    "vocab_size": 8000,  # tokens in the vocabulary learnt from the training split (at most)
    "sequence_length": 128,  # tokens read per text ([CLS] included); longer texts are cut
    "d_model": 64,  # width of every token's state
    "nhead": 4,  # attention heads (d_model must be a multiple of it)
    "num_layers": 2,  # encoder layers
    "dim_feedforward": 128,  # width of each layer's feed-forward block
}
# The parameters `build_network` and the tokenizer read (the training settings are read by the loop's setup).
NETWORK_PARAMS = (*DEFAULTS, "dropout")
PAD_ID = 0  # features.py: [PAD] is token 0


class SelfAttention(nn.Module):
    """Multi-head scaled dot-product self-attention; no position attends to padding."""

    def __init__(self, d_model: int, nhead: int, dropout: float) -> None:
        super().__init__()
        self.nhead = nhead
        self.scale = 1.0 / math.sqrt(d_model // nhead)
        self.qkv = nn.Linear(d_model, 3 * d_model)  # queries, keys and values of every head at once
        self.out = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        # x: [batch, tokens, d_model]; padding: [batch, tokens], True where a position is padding
        q, k, v = self.qkv(x).unflatten(-1, (3, self.nhead, -1)).permute(2, 0, 3, 1, 4)
        scores = (q @ k.transpose(-2, -1)) * self.scale  # [batch, heads, tokens, tokens]
        scores = scores.masked_fill(padding[:, None, None, :], float("-inf"))
        weights = self.dropout(torch.softmax(scores, dim=-1))
        return self.out((weights @ v).transpose(1, 2).flatten(2))


class EncoderLayer(nn.Module):
    """Self-attention, then a feed-forward block; each added to its input, then layer-normalised."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float) -> None:
        super().__init__()
        self.attention = SelfAttention(d_model, nhead, dropout)
        self.feed_forward = nn.Sequential(
            nn.Linear(d_model, dim_feedforward),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(dim_feedforward, d_model),
        )
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.dropout(self.attention(x, padding)))
        return self.norm2(x + self.dropout(self.feed_forward(x)))


class Network(nn.Module):
    """Token ids → embeddings + positions → encoder layers → mean over real tokens → class scores.

    It takes token ids ([batch, tokens], padded with PAD_ID) and returns one score (logit) per class:
    the loss applies the softmax, the exported model outputs probabilities.
    """

    def __init__(
        self,
        vocab_size: int,
        n_outputs: int,
        *,
        d_model: int,
        nhead: int,
        num_layers: int,
        dim_feedforward: int,
        dropout: float,
        max_length: int,
    ) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab_size, d_model, padding_idx=PAD_ID)
        self.positions = nn.Embedding(max_length, d_model)
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, nhead, dim_feedforward, dropout) for _ in range(num_layers)
        )
        self.head = nn.Linear(d_model, n_outputs)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        padding = ids == PAD_ID
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.dropout(self.tokens(ids) + self.positions(positions))
        for layer in self.layers:
            x = layer(x, padding)
        real = (~padding).unsqueeze(-1).to(x.dtype)
        pooled = (x * real).sum(dim=1) / real.sum(dim=1).clamp(min=1.0)
        return self.head(pooled)


def build_network(n_inputs: int, n_outputs: int, params: dict[str, Any]) -> nn.Module:
    """The network for a vocabulary of `n_inputs` tokens and `n_outputs` classes, shaped by `params`."""
    d_model, nhead = int(params["d_model"]), int(params["nhead"])
    if nhead < 1 or d_model % nhead:
        raise ConfigError(
            f"d_model {d_model} is not a multiple of nhead {nhead}: each head takes an equal share",
            where=LOCATIONS.get("model.params.nhead") or LOCATIONS.get("model.params.d_model"),
        )
    return Network(
        n_inputs,
        n_outputs,
        d_model=d_model,
        nhead=nhead,
        num_layers=int(params["num_layers"]),
        dim_feedforward=int(params["dim_feedforward"]),
        dropout=float(params.get("dropout", 0.0)),
        max_length=int(params["sequence_length"]),
    )


def build_pipeline(params: dict[str, Any] | None = None) -> BaseEstimator:
    """The tokenizer, the network and its training loop as one estimator, with PARAMS overridden by
    `params` (e.g. from the search); exported to ONNX as a whole."""
    merged = {**DEFAULTS, **PARAMS, **(params or {})}
    check_params(FAMILY, merged, accepted=NETWORK_PARAMS, locations=LOCATIONS)
    return make_network_estimator(
        task=TASK,
        network=build_network,
        loop=train_loop,
        preprocessor=build_preprocessor(
            vocab_size=int(merged["vocab_size"]),
            sequence_length=int(merged["sequence_length"]),
        ),
        params=merged,
        training=SPEC["training"],
    )
