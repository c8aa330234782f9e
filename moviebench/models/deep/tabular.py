"""Deep models over tabular features: an MLP and report 000's CNN-LSTM."""

from __future__ import annotations

from typing import Any

import torch
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import TensorDataset

from moviebench.models import register_model
from moviebench.models.loop import TorchModel, network_search_space, quick_step_cap
from moviebench.targets import CLASSIFICATION, REGRESSION
from moviebench.tasks.base import TaskData


class TorchTabular(TorchModel):
    """Impute and standardise on train, then train a network with the shared loop."""

    family = "deep"
    inputs = frozenset({"tabular"})
    targets = CLASSIFICATION | {REGRESSION}
    defaults: dict[str, Any] = {"lr": 2e-3, "weight_decay": 1e-4, "dropout": 0.2}
    # quick: large batches, few epochs, for two CPU cores; full: report 000's schedule (batch 64,
    # up to 100 epochs, early stopping after 15 without a better validation score).
    budgets = {
        "quick": {
            "epochs": 30,
            "patience": 5,
            "batch_size": 512,
            "max_steps": quick_step_cap(30, 512),
        },
        "full": {"epochs": 100, "patience": 15, "batch_size": 64},
    }

    search_space = staticmethod(network_search_space)

    def prepare(self, train: TaskData) -> None:
        self.preprocess_ = make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
        )
        self.n_features_ = self.preprocess_.fit_transform(train.tabular()).shape[1]

    def dataset(self, data: TaskData, training: bool = False) -> TensorDataset:
        X = torch.tensor(self.preprocess_.transform(data.tabular()), dtype=torch.float32)
        return TensorDataset(X, self.target_tensor(data))


@register_model
class MLP(TorchTabular):
    name = "mlp"
    summary = "two hidden layers (256, 128) with batch norm and dropout"

    def build_network(self, train: TaskData) -> nn.Module:
        d = self.params["dropout"]
        return nn.Sequential(
            nn.Linear(self.n_features_, 256),
            nn.BatchNorm1d(256),
            nn.ReLU(),
            nn.Dropout(d),
            nn.Linear(256, 128),
            nn.BatchNorm1d(128),
            nn.ReLU(),
            nn.Dropout(d),
            nn.Linear(128, train.n_outputs),
        )


class CNNLSTMNetwork(nn.Module):
    """Report 000: three Conv1d blocks over the feature vector, a 2-layer LSTM, two FC layers.

    The feature vector is read as a one-channel sequence. Each conv block (kernel 3, batch
    norm, ReLU, dropout) halves its length, so the LSTM runs over a few steps only.
    """

    def __init__(
        self,
        n_outputs: int,
        dropout: float,
        channels: tuple[int, ...] = (32, 64, 128),
        hidden: int = 256,
    ) -> None:
        super().__init__()
        blocks, c_in = [], 1
        for c_out in channels:
            blocks += [
                nn.Conv1d(c_in, c_out, kernel_size=3, padding=1),
                nn.BatchNorm1d(c_out),
                nn.ReLU(),
                nn.Dropout(dropout),
                nn.MaxPool1d(2, ceil_mode=True),
            ]
            c_in = c_out
        self.conv = nn.Sequential(*blocks)
        self.lstm = nn.LSTM(c_in, hidden, num_layers=2, batch_first=True, dropout=dropout)
        self.head = nn.Sequential(
            nn.Linear(hidden, 128), nn.ReLU(), nn.Dropout(dropout), nn.Linear(128, n_outputs)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq = self.conv(x.unsqueeze(1)).transpose(1, 2)  # (batch, steps, channels)
        _, (h, _) = self.lstm(seq)
        return self.head(h[-1])


@register_model
class CNNLSTM(TorchTabular):
    name = "cnn-lstm"
    summary = "report 000: 3 Conv1d blocks, 2-layer LSTM (256), FC 128"
    # An epoch costs about four times the MLP's: the quick cap keeps the default run short.
    budgets = {
        "quick": {
            "epochs": 12,
            "patience": 3,
            "batch_size": 512,
            "max_steps": quick_step_cap(12, 512),
        },
        "full": {"epochs": 100, "patience": 15, "batch_size": 64},
    }

    def build_network(self, train: TaskData) -> nn.Module:
        return CNNLSTMNetwork(train.n_outputs, self.params["dropout"])
