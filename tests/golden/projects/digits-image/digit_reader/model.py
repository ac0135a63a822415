"""The model of digit-reader: a cnn network in PyTorch.

`Network` is the network as plain `nn.Module` code, yours to edit: the run builds it with
`build_network`, trains it with `train_loop` (loop.py) and exports it to ONNX behind the
standardisation of the images (features.py).
PARAMS are model.params; SEARCH_SPACE is model.search.space.
"""

from __future__ import annotations

from typing import Any

import torch
from aispec.runtime.backends.torch import check_params, make_network_estimator
from aispec.runtime.errors import ConfigError
from aispec.runtime.search import Choice, Distribution, Float
from sklearn.base import BaseEstimator
from torch import nn

from digit_reader.config import LOCATIONS, SPEC, TASK
from digit_reader.features import build_preprocessor
from digit_reader.loop import train_loop

FAMILY = "cnn"
# Fixed hyperparameters (model.params); the search below overrides the ones it tunes. learning_rate,
# batch_size, optimizer and dropout given here override the spec's `training` section.
PARAMS: dict[str, Any] = {
    "conv_layers": 2,
    "kernel_size": 3,
    "activation": "relu",
    "batch_norm": True,
}

# model.search: bayesian, 4 trials, timeout 300.0s, scored on the validation split;
# trials whose score falls below the median of earlier trials at the same epoch are stopped early.
SEARCH_SPACE: dict[str, Distribution] = {
    "filters": Choice(16, 32),
    "dense_units": Choice(64, 128),
    "dropout": Float(0.1, 0.4),
}

# The parameters `build_network` reads (the training settings above are read by the loop's setup).
NETWORK_PARAMS = (
    "conv_layers",
    "filters",
    "kernel_size",
    "dense_units",
    "hidden_units",
    "layers",
    "activation",
    "dropout",
    "batch_norm",
)

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "logistic": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "silu": nn.SiLU,
    "identity": nn.Identity,
}


class Network(nn.Module):
    """A convolutional network for images of `input_shape` (channels, height, width).

    Per convolutional block: Conv2d (padding keeps the size) → BatchNorm2d (optional) → activation →
    MaxPool2d(2), which halves height and width. Then Flatten and the dense layers: per hidden layer
    Dropout → Linear → activation, then Dropout → Linear to the outputs.

    It returns raw scores, one logit per class (the loss applies the softmax; the exported model
    outputs probabilities). Its input is the standardised N×C×H×W tensor (features.py).
    """

    def __init__(
        self,
        input_shape: tuple[int, int, int],
        n_outputs: int,
        *,
        filters: list[int],
        kernel_size: int = 3,
        dense: list[int],
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        channels = input_shape[0]
        for width in filters:
            blocks.append(nn.Conv2d(channels, width, kernel_size, padding="same"))
            if batch_norm:
                blocks.append(nn.BatchNorm2d(width))
            blocks.append(ACTIVATIONS[activation]())
            blocks.append(nn.MaxPool2d(2))
            channels = width
        self.features = nn.Sequential(*blocks, nn.Flatten())
        # the number of values the convolutional blocks leave for the dense layers
        with torch.no_grad():
            flat = int(self.features(torch.zeros(1, *input_shape)).shape[1])
        layers: list[nn.Module] = []
        for units in dense:
            layers += [nn.Dropout(dropout), nn.Linear(flat, units), ACTIVATIONS[activation]()]
            flat = units
        layers += [nn.Dropout(dropout), nn.Linear(flat, n_outputs)]
        self.classifier = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def build_network(
    input_shape: tuple[int, int, int], n_outputs: int, params: dict[str, Any]
) -> nn.Module:
    """The network for images of `input_shape` (C, H, W) and `n_outputs` classes, shaped by `params`:
    `conv_layers` blocks with `filters` filters in the first (doubled in each next block; or a list,
    one per block) of `kernel_size`; `dense_units` (a width or a list of widths; default
    `layers` layers of `hidden_units`, one of 128)."""
    blocks = int(params.get("conv_layers", 2))
    filters = params.get("filters", 32)
    if isinstance(filters, int):
        filters = [filters * 2**block for block in range(blocks)]
    smallest = min(input_shape[1:])
    if len(filters) < 1 or smallest < 2 ** len(filters):
        raise ConfigError(
            f"{len(filters)} convolutional blocks halve {input_shape[1]}x{input_shape[2]} images "
            f"{len(filters)} times: at most {max(0, smallest.bit_length() - 1)} blocks fit",
            where=LOCATIONS.get("model.params.conv_layers"),
        )
    dense = params.get("dense_units")
    if dense is None:
        dense = [int(params.get("hidden_units", 128))] * int(params.get("layers", 1))
    elif isinstance(dense, int):
        dense = [dense]
    activation = str(params.get("activation", "relu"))
    if activation not in ACTIVATIONS:
        raise ConfigError(
            f"activation '{activation}' is not one of {', '.join(ACTIVATIONS)}",
            where=LOCATIONS.get("model.params.activation"),
        )
    return Network(
        input_shape,
        n_outputs,
        filters=[int(width) for width in filters],
        kernel_size=int(params.get("kernel_size", 3)),
        dense=[int(units) for units in dense],
        activation=activation,
        dropout=float(params.get("dropout", 0.0)),
        batch_norm=bool(params.get("batch_norm", True)),
    )


def build_pipeline(params: dict[str, Any] | None = None) -> BaseEstimator:
    """Preprocessing, the network and its training loop as one estimator, with PARAMS overridden by
    `params` (e.g. from the search); exported to ONNX as a whole."""
    merged = {**PARAMS, **(params or {})}
    check_params(FAMILY, merged, accepted=NETWORK_PARAMS, locations=LOCATIONS)
    return make_network_estimator(
        task=TASK,
        network=build_network,
        loop=train_loop,
        preprocessor=build_preprocessor(flatten=False),
        params=merged,
        training=SPEC["training"],
    )
