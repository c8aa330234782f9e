"""Two rungs from outside moviebench: a scikit-learn one and a network on the shared loop."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import TensorDataset

from moviebench.models import Model
from moviebench.models.loop import TorchModel
from moviebench.targets import MULTICLASS
from moviebench.tasks.base import TaskData


class ExtraTrees(Model):
    """Extremely randomised trees on the task's tabular features."""

    name = "extra-trees"
    family = "classical"  # what it does decides the family, as for a built-in rung
    inputs = frozenset({"tabular"})
    targets = frozenset({MULTICLASS})
    defaults = {"n_estimators": 200, "min_samples_leaf": 2}

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {"min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 20)}

    def fit(self, train: TaskData, val: TaskData) -> None:
        self.model_ = make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True),
            ExtraTreesClassifier(random_state=self.context.seed, n_jobs=1, **self.params),
        ).fit(train.tabular(), train.y)

    def predict_scores(self, data: TaskData) -> np.ndarray:
        return self.model_.predict_proba(data.tabular())


class WideMLP(TorchModel):
    """One wide hidden layer, trained by moviebench's loop (early stopping on validation)."""

    name = "wide-mlp"
    family = "deep"
    inputs = frozenset({"tabular"})
    targets = frozenset({MULTICLASS})
    defaults = {"lr": 3e-3, "weight_decay": 1e-4, "width": 512}
    budgets = {
        "quick": {"epochs": 20, "patience": 4, "batch_size": 256},
        "full": {"epochs": 80, "patience": 10, "batch_size": 64},
    }

    def prepare(self, train: TaskData) -> None:
        self.scale_ = make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
        )
        self.n_features_ = self.scale_.fit_transform(train.tabular()).shape[1]

    def build_network(self, train: TaskData) -> nn.Module:
        return nn.Sequential(
            nn.Linear(self.n_features_, self.params["width"]),
            nn.ReLU(),
            nn.Linear(self.params["width"], train.n_outputs),
        )

    def dataset(self, data: TaskData, training: bool = False) -> TensorDataset:
        X = torch.tensor(self.scale_.transform(data.tabular()), dtype=torch.float32)
        return TensorDataset(X, self.target_tensor(data))
