"""The model of penguin-species-ray: a mlp network in PyTorch.

`Network` is the network as plain `nn.Module` code, yours to edit: the run builds it with
`build_network`, trains it with `train_loop` (loop.py) and exports it to ONNX behind the
preprocessing of features.py.
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

from penguin_species_ray.config import LOCATIONS, SPEC, TASK
from penguin_species_ray.features import build_preprocessor
from penguin_species_ray.loop import train_loop

FAMILY = "mlp"
# Fixed hyperparameters (model.params); the search below overrides the ones it tunes. learning_rate,
# batch_size, optimizer and dropout given here override the spec's `training` section.
PARAMS: dict[str, Any] = {"layers": 2, "activation": "relu", "batch_norm": False}

# model.search: bayesian, 6 trials, timeout 120.0s, scored on the validation split;
# trials whose score falls below the median of earlier trials at the same epoch are stopped early.
SEARCH_SPACE: dict[str, Distribution] = {
    "hidden_units": Choice(16, 32, 64),
    "learning_rate": Float(0.003, 0.03, log=True),
    "dropout": Float(0.0, 0.3),
}

# The parameters `build_network` reads (the training settings above are read by the loop's setup).
NETWORK_PARAMS = (
    "hidden_units",
    "layers",
    "hidden_layer_sizes",
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
    """A multi-layer perceptron: per hidden layer Linear → BatchNorm (optional) → activation → Dropout,
    then a Linear layer to the outputs.

    It returns raw scores: one logit per class (the loss applies the softmax; the exported model
    outputs probabilities), or for regression the target in standard units (the estimator rescales).
    """

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        *,
        hidden: list[int],
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_inputs
        for units in hidden:
            layers.append(nn.Linear(width, units))
            if batch_norm:
                layers.append(nn.BatchNorm1d(units))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = units
        layers.append(nn.Linear(width, n_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def build_network(n_inputs: int, n_outputs: int, params: dict[str, Any]) -> nn.Module:
    """The network for `n_inputs` features and `n_outputs` outputs, shaped by `params`:
    hidden_layer_sizes (a list of widths), else `layers` hidden layers of `hidden_units` each."""
    hidden = params.get("hidden_layer_sizes")
    if hidden is None:
        hidden = [int(params.get("hidden_units", 64))] * int(params.get("layers", 2))
    elif isinstance(hidden, int):
        hidden = [hidden]
    activation = str(params.get("activation", "relu"))
    if activation not in ACTIVATIONS:
        raise ConfigError(
            f"activation '{activation}' is not one of {', '.join(ACTIVATIONS)}",
            where=LOCATIONS.get("model.params.activation"),
        )
    return Network(
        n_inputs,
        n_outputs,
        hidden=[int(units) for units in hidden],
        activation=activation,
        dropout=float(params.get("dropout", 0.0)),
        batch_norm=bool(params.get("batch_norm", False)),
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
        preprocessor=build_preprocessor(),
        params=merged,
        training=SPEC["training"],
    )
