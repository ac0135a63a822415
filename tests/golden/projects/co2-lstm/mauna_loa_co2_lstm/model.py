"""The model of mauna-loa-co2-lstm: an LSTM network in PyTorch that forecasts the series from a
window of its recent values.

`Network` is the network as plain `nn.Module` code, yours to edit. The run shows it windows of the
series (the values at problem.lags, oldest first), each relative to its last value and divided by a
scale learned on the training part (data.cleaning.scaling); it predicts
every step of the horizon at once, in the same units. `train_loop` (loop.py) trains it;
the export puts the same scaling in front of and behind it in one ONNX graph. PARAMS are
model.params; SEARCH_SPACE is model.search.space.
"""

from __future__ import annotations

from typing import Any

import torch
from aispec.runtime.backends.torch import check_params
from aispec.runtime.search import Choice, Distribution, Float
from aispec.runtime.series.forecasters import Forecaster, make_forecaster
from torch import nn

from mauna_loa_co2_lstm.config import BACKEND, LOCATIONS, SEED, SPEC
from mauna_loa_co2_lstm.features import SETTINGS
from mauna_loa_co2_lstm.loop import train_loop

FAMILY = "lstm"
# Fixed hyperparameters (model.params); the search below overrides the ones it tunes. learning_rate,
# batch_size, optimizer and dropout given here override the spec's `training` section.
PARAMS: dict[str, Any] = {"num_layers": 1}

# model.search: random, 3 trials, each scored by rolling-origin forecasts over the
# validation steps; trials whose validation loss is worse than the median of earlier trials at the
# same epoch are stopped early.
SEARCH_SPACE: dict[str, Distribution] = {
    "hidden_size": Choice(16, 32),
    "learning_rate": Float(0.002, 0.01, log=True),
}

# The parameters `build_network` reads (the training settings above are read by the loop's setup).
NETWORK_PARAMS = ("hidden_size", "num_layers", "bidirectional", "dropout")

CELLS: dict[str, type[nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU}


class Network(nn.Module):
    """A recurrent network over the window: `num_layers` stacked LSTM layers of `hidden_size`
    units (dropout between them), then dropout and a Linear layer from the last step's output to
    `n_outputs` values.

    Input: (batch, time, n_inputs) scaled values, oldest first; output: (batch, n_outputs) in the
    same scaled units. With `bidirectional`, the backward direction reads the window newest first
    and its summary is its output at the oldest step.
    """

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        *,
        hidden_size: int = 32,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.bidirectional = bidirectional
        self.rnn = CELLS[FAMILY](
            input_size=n_inputs,
            hidden_size=hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sequence, _ = self.rnn(x)
        summary = sequence[:, -1]
        if self.bidirectional:  # the forward direction's last output, the backward one's first
            width = self.hidden_size
            summary = torch.cat([sequence[:, -1, :width], sequence[:, 0, width:]], dim=1)
        return self.head(self.dropout(summary))


def build_network(n_inputs: int, n_outputs: int, params: dict[str, Any]) -> nn.Module:
    """The network for `n_inputs` values per step and `n_outputs` forecast values, shaped by `params`."""
    return Network(
        n_inputs,
        n_outputs,
        hidden_size=int(params.get("hidden_size", 32)),
        num_layers=int(params.get("num_layers", 1)),
        dropout=float(params.get("dropout", 0.0)),
        bidirectional=bool(params.get("bidirectional", False)),
    )


def build_pipeline(params: dict[str, Any] | None = None) -> Forecaster:
    """The forecaster: windows of the series (features.py's SETTINGS), the network and its training loop,
    with PARAMS overridden by `params` (e.g. from the search)."""
    merged = {**PARAMS, **(params or {})}
    check_params(FAMILY, merged, accepted=NETWORK_PARAMS, locations=LOCATIONS)
    return make_forecaster(
        FAMILY,
        settings=SETTINGS,
        params=merged,
        seed=SEED,
        scaling=SPEC["data"]["cleaning"]["scaling"],
        backend=BACKEND,
        network=build_network,
        loop=train_loop,
        training=SPEC["training"],
    )
