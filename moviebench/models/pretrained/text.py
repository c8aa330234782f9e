"""Frozen all-MiniLM-L6-v2 sentence embeddings (cached) and heads trained on them.

Genre rungs: `minilm-logreg` (logistic regression) and `minilm-mlp` (a small MLP, trained by
the shared loop). Retrieval rungs (tagline -> title): `minilm-cosine` (the embeddings' cosine,
nothing trained) and `minilm-projection` (two linear maps of the embeddings trained on the
training films' (tagline, title) pairs with an in-batch contrastive loss, by the shared loop).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn
from torch.utils.data import TensorDataset

from moviebench.features.text import EMBED_DIM, MINILM_PACKAGES, MINILM_VERSIONS, embed_texts
from moviebench.models import Model, register_model
from moviebench.models.classical.text import (
    RetrievalModel,
    SklearnText,
    candidate_texts,
    class_weight_scheme,
    positive_weights,
    query_texts,
    texts_of,
)
from moviebench.models.loop import TorchModel, network_search_space, quick_step_cap
from moviebench.models.spaces import log_uniform
from moviebench.tasks.base import TaskData


def minilm_features(model: Model, data: TaskData, texts: list[str] | None = None) -> np.ndarray:
    """Cached MiniLM embeddings of a split's texts, on the run's device."""
    return embed_texts(
        texts_of(data) if texts is None else texts,
        device=model.context.device,
        progress=model.context.progress,
    )


class TorchText(TorchModel):
    """Texts as tensors, optional per-genre class weights in the loss.

    Shared by `minilm-mlp` and deep/text.py's rungs: it sits here, below deep/ (which
    imports pretrained/, never the other way).
    """

    family = "deep"
    inputs = frozenset({"text"})
    defaults: dict[str, Any] = {"lr": 2e-3, "weight_decay": 1e-4, "dropout": 0.3}

    search_space = staticmethod(network_search_space)

    def inputs_of(self, data: TaskData) -> list[torch.Tensor]:
        raise NotImplementedError

    def dataset(self, data: TaskData, training: bool = False) -> TensorDataset:
        return TensorDataset(*self.inputs_of(data), self.target_tensor(data))

    def output_options(self, train: TaskData) -> dict[str, Any]:
        # Per-genre positive weights under the class_weight setting (only a multi-label
        # kind reads them).
        return {"pos_weight": positive_weights(train.y, class_weight_scheme(self.context.settings))}


# ---- genre rungs ---------------------------------------------------------------------------


@register_model
class MiniLMLogReg(SklearnText):
    name = "minilm-logreg"
    extractor_precision = True
    optional_packages = MINILM_PACKAGES
    versioned_packages = MINILM_VERSIONS
    family = "pretrained"
    pretrained_weights = True
    summary = "frozen all-MiniLM-L6-v2 sentence embeddings (cached) + logistic regression"
    defaults = {"C": 4.0}

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {"C": trial.suggest_float("C", 0.01, 100, log=True)}

    def features(self, data: TaskData) -> np.ndarray:
        return minilm_features(self, data)

    def classifier(self) -> Any:
        return LogisticRegression(C=self.params["C"], max_iter=2000, random_state=self.context.seed)


@register_model
class MiniLMMLP(TorchText):
    name = "minilm-mlp"
    extractor_precision = True
    optional_packages = MINILM_PACKAGES
    versioned_packages = MINILM_VERSIONS
    family = "pretrained"
    pretrained_weights = True
    summary = "cached all-MiniLM-L6-v2 embeddings + MLP (256 hidden, dropout)"
    defaults = {**TorchText.defaults, "hidden": 256}
    budgets = {
        "quick": {
            "epochs": 60,
            "patience": 6,
            "batch_size": 128,
            "max_steps": quick_step_cap(60, 128),
        },
        "full": {"epochs": 200, "patience": 20, "batch_size": 64},
    }

    def inputs_of(self, data: TaskData) -> list[torch.Tensor]:
        return [torch.from_numpy(minilm_features(self, data))]

    def build_network(self, train: TaskData) -> nn.Module:
        h, d = self.params["hidden"], self.params["dropout"]
        return nn.Sequential(
            nn.Dropout(d / 2),
            nn.Linear(EMBED_DIM, h),
            nn.ReLU(),
            nn.Dropout(d),
            nn.Linear(h, train.n_outputs),
        )


# ---- retrieval rungs -----------------------------------------------------------------------


@register_model
class MiniLMCosine(RetrievalModel):
    name = "minilm-cosine"
    extractor_precision = True
    optional_packages = MINILM_PACKAGES
    versioned_packages = MINILM_VERSIONS
    family = "pretrained"
    pretrained_weights = True
    summary = "cosine of frozen all-MiniLM-L6-v2 embeddings; nothing trained"

    def predict_scores(self, data: TaskData) -> np.ndarray:
        q = minilm_features(self, data, query_texts(data))
        c = minilm_features(self, data, candidate_texts(data))
        return q @ c.T


class PairProjection(nn.Module):
    """Two linear maps, starting at the identity, and a learned temperature (CLIP-style)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.query = nn.Linear(dim, dim)
        self.candidate = nn.Linear(dim, dim)
        for layer in (self.query, self.candidate):
            nn.init.eye_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.log_scale = nn.Parameter(torch.tensor(np.log(20.0), dtype=torch.float32))

    def embed(self, q: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (
            nn.functional.normalize(self.query(q), dim=1),
            nn.functional.normalize(self.candidate(c), dim=1),
        )

    def forward(self, q: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        qe, ce = self.embed(q, c)
        return self.log_scale.exp() * qe @ ce.T


class InBatchContrastive(nn.Module):
    """Symmetric InfoNCE over a batch of (query, candidate) pairs: pair i is row i's positive,
    every other candidate of the batch a negative. The loop's labels are not needed."""

    def forward(self, logits: torch.Tensor, _labels: torch.Tensor) -> torch.Tensor:
        target = torch.arange(len(logits), device=logits.device)
        return (
            nn.functional.cross_entropy(logits, target)
            + nn.functional.cross_entropy(logits.T, target)
        ) / 2


@register_model
class MiniLMProjection(TorchModel, RetrievalModel):
    """Trains a projection of the frozen embeddings with the shared loop.

    A retrieval score needs every candidate of the split at once, so this rung scores a
    split itself (`scores`): the loop validates with it, early-stopping on validation MRR.
    """

    name = "minilm-projection"
    extractor_precision = True
    optional_packages = MINILM_PACKAGES
    versioned_packages = MINILM_VERSIONS
    family = "pretrained"
    pretrained_weights = True
    summary = "linear projections of MiniLM embeddings trained on (tagline, title) pairs, InfoNCE"
    defaults = {"lr": 1e-3, "weight_decay": 1e-2}
    # In-batch negatives: the batch size is part of the task's difficulty, so both profiles keep it.
    budgets = {
        "quick": {
            "epochs": 40,
            "patience": 5,
            "batch_size": 128,
            "max_steps": quick_step_cap(40, 128),
        },
        "full": {"epochs": 100, "patience": 10, "batch_size": 128},
    }

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {
            **log_uniform(trial, lr=(1e-4, 1e-2), weight_decay=(1e-4, 1e-1)),
        }

    def dataset(self, data: TaskData, training: bool = False) -> TensorDataset:
        q = torch.from_numpy(minilm_features(self, data, query_texts(data)))
        c = torch.from_numpy(minilm_features(self, data, candidate_texts(data)))
        return TensorDataset(q, c, torch.arange(len(q)))

    def build_network(self, train: TaskData) -> nn.Module:
        return PairProjection(EMBED_DIM)

    def loss(self, train: TaskData) -> nn.Module:
        return InBatchContrastive()

    def network_outputs(self, train: TaskData) -> None:
        return None  # scores a whole split itself (`scores`), trained by its own loss

    def scores(self, data: TensorDataset) -> np.ndarray:
        q, c, _ = data.tensors
        device = next(self.network_.parameters()).device
        self.network_.eval()
        with torch.no_grad():
            qe, ce = self.network_.embed(q.to(device), c.to(device))
            return (qe @ ce.T).float().cpu().numpy()
