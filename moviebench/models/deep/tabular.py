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
from moviebench.models.torch_loop import TorchModel, TrainConfig, network_search_space, train
from moviebench.tasks.base import TaskData


class TorchTabular(TorchModel):
    """Impute and standardise on train, then train a network with the shared loop."""

    family = "deep"
    inputs = frozenset({"tabular"})
    defaults: dict[str, Any] = {"lr": 2e-3, "weight_decay": 1e-4, "dropout": 0.2, "batch_size": 512, "epochs": 30}

    search_space = staticmethod(network_search_space)

    def build_network(self, n_features: int, n_outputs: int) -> nn.Module:
        raise NotImplementedError

    def dataset(self, data: TaskData) -> TensorDataset:
        X = torch.tensor(self.preprocess_.transform(data.tabular()), dtype=torch.float32)
        y = torch.tensor(data.y, dtype=torch.long if data.target == "multiclass" else torch.float32)
        return TensorDataset(X, y)

    def config(self) -> TrainConfig:
        p = self.params
        return TrainConfig(epochs=p["epochs"], batch_size=p["batch_size"], lr=p["lr"], weight_decay=p["weight_decay"], patience=5)

    def fit(self, train_data: TaskData, val: TaskData) -> None:
        self.preprocess_ = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
        self.preprocess_.fit(train_data.tabular())
        train_set = self.dataset(train_data)
        torch.manual_seed(self.context.seed)
        self.network_ = self.build_network(train_set.tensors[0].shape[1], train_data.n_outputs)
        self.history = train(self.network_, train_set, self.dataset(val), val.y, train_data.target,
                             self.context, self.config(), name=self.name)


@register_model
class MLP(TorchTabular):
    name = "mlp"
    summary = "two hidden layers (256, 128) with batch norm and dropout"

    def build_network(self, n_features: int, n_outputs: int) -> nn.Module:
        d = self.params["dropout"]
        return nn.Sequential(
            nn.Linear(n_features, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(d),
            nn.Linear(256, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(d),
            nn.Linear(128, n_outputs),
        )


class CNNLSTMNetwork(nn.Module):
    """Report 000: three Conv1d blocks over the feature vector, a 2-layer LSTM, two FC layers.

    The feature vector is read as a one-channel sequence. Each conv block (kernel 3, batch
    norm, ReLU, dropout) halves its length, so the LSTM runs over a few steps only.
    """

    def __init__(self, n_outputs: int, dropout: float, channels: tuple[int, ...] = (32, 64, 128), hidden: int = 256) -> None:
        super().__init__()
        blocks, c_in = [], 1
        for c_out in channels:
            blocks += [nn.Conv1d(c_in, c_out, kernel_size=3, padding=1), nn.BatchNorm1d(c_out), nn.ReLU(),
                       nn.Dropout(dropout), nn.MaxPool1d(2, ceil_mode=True)]
            c_in = c_out
        self.conv = nn.Sequential(*blocks)
        self.lstm = nn.LSTM(c_in, hidden, num_layers=2, batch_first=True, dropout=dropout)
        self.head = nn.Sequential(nn.Linear(hidden, 128), nn.ReLU(), nn.Dropout(dropout), nn.Linear(128, n_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq = self.conv(x.unsqueeze(1)).transpose(1, 2)  # (batch, steps, channels)
        _, (h, _) = self.lstm(seq)
        return self.head(h[-1])


@register_model
class CNNLSTM(TorchTabular):
    name = "cnn-lstm"
    summary = "report 000: 3 Conv1d blocks, 2-layer LSTM (256), FC 128"

    def build_network(self, n_features: int, n_outputs: int) -> nn.Module:
        return CNNLSTMNetwork(n_outputs, self.params["dropout"])
