"""Report 003's fusion network for `multimodal-genre`, trained end to end by the shared loop.

A ResNet18 trunk learns from the poster pixels while a linear branch reads the MiniLM text
embedding; the two meet in a small head. The fusion rungs over frozen features are in
models/pretrained/fusion.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torchvision
from torch import nn

from moviebench.features.images import AUGMENTATION, ImageDataset, pixels
from moviebench.features.text import EMBED_DIM, MINILM_PACKAGES, MINILM_VERSIONS
from moviebench.models import register_model
from moviebench.models.classical.image import image_paths, image_size
from moviebench.models.loop import TorchModel, quick_step_cap
from moviebench.models.pretrained.text import minilm_features
from moviebench.options import IMAGE_CAP_ROWS
from moviebench.targets import MULTILABEL
from moviebench.tasks.base import TaskData


class PosterTextNet(nn.Module):
    """ResNet18 trunk (with its batch norm) over the poster, Linear + ReLU over the text vector,
    concatenated, then a linear layer and the genre outputs."""

    def __init__(
        self,
        text_dim: int,
        n_outputs: int,
        text_hidden: int = 256,
        hidden: int = 256,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        trunk = torchvision.models.resnet18(weights=None)
        trunk.fc = nn.Identity()  # 512-d pooled features
        self.image = trunk
        self.text = nn.Sequential(nn.Linear(text_dim, text_hidden), nn.ReLU())
        self.head = nn.Sequential(
            nn.Linear(512 + text_hidden, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_outputs),
        )

    def forward(self, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.image(image), self.text(text)], dim=1))


class PosterTextDataset(ImageDataset):
    """Batches (poster tensor, text vector, y); poster augmentation for training only."""

    def __init__(
        self, images: np.ndarray, text: np.ndarray, y: torch.Tensor, augment: bool
    ) -> None:
        super().__init__(
            images, y, augment=augment, extra=[torch.tensor(text, dtype=torch.float32)]
        )


@register_model
class FusionResNet18(TorchModel):
    name = "fusion-resnet18"
    extractor_precision = True
    optional_packages = MINILM_PACKAGES
    versioned_packages = MINILM_VERSIONS
    family = "deep"
    inputs = frozenset({"image", "text"})
    targets = frozenset({MULTILABEL})
    summary = (
        "report 003: ResNet18 over the poster + linear/ReLU over MiniLM text, trained end to end"
    )
    loop_settings = {"channels_last": True}
    defaults = {"lr": 1e-3, "weight_decay": 1e-4, "dropout": 0.3}
    # quick: the task's scratch resolution (64 px); full: report 003's 224 px posters, augmented.
    budgets = {
        "quick": {
            "epochs": 15,
            "patience": 4,
            "batch_size": 64,
            "max_steps": quick_step_cap(15, 64, IMAGE_CAP_ROWS),
            "image_size": None,
            "augment": AUGMENTATION,
        },
        "full": {
            "epochs": 30,
            "patience": 5,
            "batch_size": 64,
            "image_size": 224,
            "augment": AUGMENTATION,
        },
    }

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {
            "lr": trial.suggest_float("lr", 1e-4, 3e-3, log=True),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        }

    def dataset(self, data: TaskData, training: bool = False) -> PosterTextDataset:
        budget = self.budget()
        images = pixels(
            image_paths(data), image_size(self.context.settings, False, budget["image_size"])
        )
        return PosterTextDataset(
            images,
            minilm_features(self, data),
            self.target_tensor(data),
            augment=training and bool(budget["augment"]),
        )

    def prepare(self, train: TaskData) -> None:
        self.fitted_["image_size"] = image_size(
            self.context.settings, False, self.budget()["image_size"]
        )

    def build_network(self, train: TaskData) -> nn.Module:
        return PosterTextNet(EMBED_DIM, train.n_outputs, dropout=self.params["dropout"])
