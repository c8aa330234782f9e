"""One training epoch of each deep rung family, on synthetic data of the rungs' real shapes,
through the real loop: shared by `test_throughput.py` (pytest-benchmark) and `gpu_check.py`.

Each case builds its network with the rung's own `build_network`, its loop settings with the
rung's own `train_config()` (declared budget: batch size, channels-last) and its dataset with
the class the rung feeds the loop (`TensorDataset`, `ImageDataset` with the rung's
augmentation, `PosterTextDataset`: tensors sliced on the device, features/batches.py). Only the values are random: throughput does not depend
on them. Nothing here imports an optional package (lightgbm, optuna, weights packages...),
so a bare GPU machine with torch, torchvision and scikit-learn runs it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from moviebench.models import MODELS, RunContext
from moviebench.models.loop import TorchModel, TrainConfig, train

# The families, with the rung that stands for each: name -> (rung, profile, input kind).
FAMILIES = {
    "mlp": ("mlp", "quick", "tabular"),
    "cnn-lstm": ("cnn-lstm", "quick", "tabular"),
    "text-lstm": ("text-lstm", "quick", "text"),
    "cnn4": ("cnn4", "quick", "image"),
    "resnet18": ("resnet18", "quick", "image"),
    "resnet18-224": ("resnet18", "full", "image"),
    "fusion-resnet18": ("fusion-resnet18", "quick", "fusion"),
    # Each image family at its full budget (224 px, augmented): what the full board trains.
    "cnn4-224": ("cnn4", "full", "image"),
    "resnet50-224": ("resnet50", "full", "image"),
    "vgg16-224": ("vgg16", "full", "image"),
    "fusion-resnet18-224": ("fusion-resnet18", "full", "fusion"),
}
N_FEATURES = 32  # tabular columns (the TMDB tabular tasks have a few dozen after imputation)
N_CLASSES = 3  # tabular tasks: multiclass
N_GENRES = 18  # text, image and fusion tasks: multi-label genres
VOCAB = 20_000  # the text rungs' max_vocab
EMBED = 384  # MiniLM token-table width, the text rungs' default embedding
TEXT_DIM = 384  # MiniLM sentence embedding, the fusion rung's text input
QUICK_SIZE = 64  # the image tasks' scratch resolution (quick profile)


@dataclass
class EpochCase:
    """Everything `train` needs for one epoch, plus the FLOPs one training sample costs."""

    name: str
    network: nn.Module
    train_data: Dataset
    val_data: Dataset
    y_val: np.ndarray
    target: str
    config: TrainConfig
    n: int
    image_size: int | None
    flops_per_sample: float  # forward FLOPs x 3 (forward, and two products backward)

    def run(self, device: str) -> float:
        """One epoch plus its validation pass, as the loop runs it; returns the seconds taken."""
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
        sync()
        t0 = time.perf_counter()
        train(
            self.network,
            self.train_data,
            self.val_data,
            self.y_val,
            self.target,
            RunContext(device=device, epochs=1),
            self.config,
            name=self.name,
        )
        sync()
        return time.perf_counter() - t0


def _rung(name: str, profile: str, **params: object) -> TorchModel:
    model = MODELS.get(name)(context=RunContext(epochs=1, profile=profile), **params)
    assert isinstance(model, TorchModel)
    return model


def _labels(rng: np.random.Generator, n: int, target: str) -> np.ndarray:
    if target == "multiclass":
        return rng.integers(0, N_CLASSES, n)
    return (rng.random((n, N_GENRES)) < 0.15).astype(np.float32)


def synthetic_images(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """uint8 NHWC images: 64 random ones tiled (cheap to make for thousands at 224 px)."""
    distinct = rng.integers(0, 256, (min(n, 64), size, size, 3), dtype=np.uint8)
    return np.resize(distinct, (n, size, size, 3))


def make_case(
    family: str, n: int, seed: int = 0, amp: str = "fp16", loader: str = "rung"
) -> EpochCase:
    """The `family`'s epoch over `n` synthetic training samples (validation: n / 8).

    `amp` is the loop's `TrainConfig.amp` (CUDA only). `loader="tensors"` feeds an image
    family ready, normalised float tensors instead of the rung's augmenting dataset: what the
    network alone can take, without the per-item CPU work of the loop's data path.
    """
    from moviebench.features.images import ImageDataset

    rung_name, profile, kind = FAMILIES[family]
    rng = np.random.default_rng(seed)
    n_val = max(n // 8, 8)
    target = "multiclass" if kind == "tabular" else "multilabel"
    y = _labels(rng, n + n_val, target)
    y_t = torch.tensor(y, dtype=torch.long if target == "multiclass" else torch.float32)
    shape = SimpleNamespace(n_outputs=N_CLASSES if target == "multiclass" else N_GENRES)
    image_size = None

    if kind == "tabular":
        rung = _rung(rung_name, profile)
        rung.n_features_ = N_FEATURES
        X = torch.tensor(rng.normal(size=(n + n_val, N_FEATURES)), dtype=torch.float32)
        inputs: list[torch.Tensor] = [X]
        network = rung.build_network(shape)  # type: ignore[arg-type]  # reads n_outputs only
        datasets = [TensorDataset(X[:n], y_t[:n]), TensorDataset(X[n:], y_t[n:])]
    elif kind == "text":
        # Random-initialised 384-d table: the same layer shape as the default MiniLM start.
        rung = _rung(rung_name, profile, embedding_init="random", embedding_dim=EMBED)
        rung.vocab_ = {f"w{i}": i + 2 for i in range(VOCAB)}
        max_len = rung.budget()["max_len"]
        lengths = torch.tensor(rng.integers(10, max_len + 1, n + n_val))
        tokens = torch.tensor(rng.integers(2, VOCAB + 2, (n + n_val, max_len)))
        tokens[torch.arange(max_len)[None, :] >= lengths[:, None]] = 0
        inputs = [tokens, lengths]
        network = rung.build_network(shape)  # type: ignore[arg-type]
        datasets = [
            TensorDataset(tokens[:n], lengths[:n], y_t[:n]),
            TensorDataset(tokens[n:], lengths[n:], y_t[n:]),
        ]
    else:
        from moviebench.models.deep.fusion import PosterTextDataset

        rung = _rung(rung_name, profile)
        budget = rung.budget()
        image_size = budget["image_size"] or QUICK_SIZE
        images = synthetic_images(rng, n + n_val, image_size)
        augment = bool(budget["augment"])
        if kind == "fusion":
            text = rng.normal(size=(n + n_val, TEXT_DIM)).astype(np.float32)
            datasets = [
                PosterTextDataset(images[:n], text[:n], y_t[:n], augment=augment),
                PosterTextDataset(images[n:], text[n:], y_t[n:], augment=False),
            ]
            inputs = [torch.zeros(1, 3, image_size, image_size), torch.zeros(1, TEXT_DIM)]
        else:
            from moviebench.models.deep.image import DeepImageModel

            assert isinstance(rung, DeepImageModel)
            mean, std = rung.mean, rung.std
            datasets = [
                ImageDataset(images[:n], y_t[:n], augment=augment, mean=mean, std=std),
                ImageDataset(images[n:], y_t[n:], augment=False, mean=mean, std=std),
            ]
            inputs = [torch.zeros(1, 3, image_size, image_size)]
            if loader == "tensors":
                (plain, _), *_ = datasets[1].batches(len(datasets[1]), "cpu")
                ready = plain[torch.arange(n) % len(plain)]
                datasets[0] = TensorDataset(ready, torch.as_tensor(y[:n]))
        network = rung.build_network(shape)  # type: ignore[arg-type]

    config = replace(rung.train_config(), amp=amp)
    probe = [t[:64] for t in inputs]  # a representative batch for the FLOP count
    flops = 3 * count_flops(network, lambda: network.eval()(*probe)) / len(probe[0])
    return EpochCase(
        name=family,
        network=network,
        train_data=datasets[0],
        val_data=datasets[1],
        y_val=y[n:],
        target=target,
        config=config,
        n=n,
        image_size=image_size,
        flops_per_sample=flops,
    )


def count_flops(module: nn.Module, forward: Callable[[], object]) -> float:
    """FLOPs (2 per multiply-add) that `forward()` spends in the module's convolutions, Linear
    and LSTM layers (each token of each layer and direction: 4 gates over input and state).

    Attention's own products (QK^T, AV) are not modules and are left out: an undercount
    of a few percent for MiniLM at these lengths. Pooling, norms and activations are not counted.
    """
    total = [0.0]

    def conv(m: nn.modules.conv._ConvNd, _: object, out: torch.Tensor) -> None:
        total[0] += 2.0 * out.numel() * (m.in_channels // m.groups) * math.prod(m.kernel_size)

    def linear(m: nn.Linear, _: object, out: torch.Tensor) -> None:
        total[0] += 2.0 * out.numel() * m.in_features

    def lstm(m: nn.LSTM, _: object, out: tuple) -> None:
        seq = out[0]
        data = seq.data if isinstance(seq, nn.utils.rnn.PackedSequence) else seq
        tokens = data.numel() / data.shape[-1]  # time steps actually run, over the batch
        directions = 2 if m.bidirectional else 1
        for layer in range(m.num_layers):
            width = m.input_size if layer == 0 else m.hidden_size * directions
            total[0] += directions * 2.0 * 4 * m.hidden_size * (width + m.hidden_size) * tokens

    hooks = []
    for m in module.modules():
        if isinstance(m, nn.modules.conv._ConvNd):
            hooks.append(m.register_forward_hook(conv))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear))
        elif isinstance(m, nn.LSTM):
            hooks.append(m.register_forward_hook(lstm))
    try:
        with torch.inference_mode():
            forward()
    finally:
        for h in hooks:
            h.remove()
    return total[0]
