"""Tensor-backed splits: batches as index slices, and the batched image augmentation."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from moviebench.features.batches import TensorBatches, as_batches
from moviebench.features.images import (
    CROP_RATIO,
    ImageDataset,
    apply_augmentation,
    augment_batch,
)
from moviebench.models.base import RunContext
from moviebench.models.loop import TrainConfig, train

# Draws that leave an image as it is: whole-image crop (area 1, aspect 1), no flip (>= 1/2),
# brightness x1, angle 0.
_ASPECT_1 = -math.log(CROP_RATIO[0]) / (math.log(CROP_RATIO[1]) - math.log(CROP_RATIO[0]))
IDENTITY = torch.tensor([[1.0, _ASPECT_1, 0.5, 0.5, 0.9, 0.5, 0.5]])


def test_shuffled_batches_are_the_dataloaders_batches() -> None:
    # Tensor-fed networks (text, tabular) must see exactly the batches a shuffling
    # DataLoader gave them, epoch after epoch, so their records stay valid.
    X = torch.arange(50, dtype=torch.float32).view(25, 2)
    y = torch.arange(25)
    loader = DataLoader(
        TensorDataset(X, y), batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(3)
    )
    mine = TensorBatches(X, y)
    generator = torch.Generator().manual_seed(3)
    for _ in range(3):
        theirs = list(loader)
        ours = list(mine.batches(8, "cpu", shuffle=True, generator=generator))
        assert len(ours) == len(theirs) == mine.n_batches(8) == 4
        for (xa, ya), (xb, yb) in zip(theirs, ours):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_a_tensor_dataset_is_sliced_not_collated() -> None:
    X, y = torch.randn(10, 3), torch.arange(10)
    batches = as_batches(TensorDataset(X, y))
    assert isinstance(batches, TensorBatches)
    (xb, yb), (xc, yc) = list(batches.batches(6, "cpu"))
    assert torch.equal(torch.cat([xb, xc]), X) and torch.equal(torch.cat([yb, yc]), y)
    assert as_batches(torch.utils.data.Subset(TensorDataset(X, y), [0])) is None


def test_identity_draws_leave_images_unchanged_and_flip_mirrors() -> None:
    images = torch.rand(1, 3, 16, 12)
    same = apply_augmentation(images, IDENTITY)
    assert torch.allclose(same, images, atol=1e-5)
    flip = IDENTITY.clone()
    flip[0, 4] = 0.1
    assert torch.allclose(apply_augmentation(images, flip), images.flip(3), atol=1e-5)
    darker = IDENTITY.clone()
    darker[0, 5] = 0.0  # brightness x0.8
    assert torch.allclose(apply_augmentation(images, darker), images * 0.8, atol=1e-5)


def test_rotation_blackens_corners_and_crop_zooms() -> None:
    images = torch.ones(1, 3, 32, 32)
    turned = IDENTITY.clone()
    turned[0, 6] = 1.0  # 10 degrees
    out = apply_augmentation(images, turned)
    assert out[0, :, 0, 0].eq(0).all() and out[0, :, 16, 16].eq(1).all()
    ramp = torch.linspace(0, 1, 32).view(1, 1, 1, 32).expand(1, 3, 32, 32).contiguous()
    zoom = IDENTITY.clone()
    zoom[0, 0] = 0.0  # 75% of the area: the output spans a narrower range of the ramp
    cropped = apply_augmentation(ramp, zoom)
    span = cropped[0, 0, 16, -1] - cropped[0, 0, 16, 0]
    assert 0.8 < span < 0.9 * (ramp[0, 0, 16, -1] - ramp[0, 0, 16, 0])


def test_augmentation_is_per_sample_and_seeded() -> None:
    images = torch.rand(1, 3, 24, 24).expand(6, 3, 24, 24).contiguous()
    a = augment_batch(images, torch.Generator().manual_seed(1))
    b = augment_batch(images, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)  # same seed, same stream
    assert not torch.equal(a[0], a[1])  # one batch, different draws per sample
    assert a.shape == images.shape and a.min() >= 0 and a.max() <= 1


def test_image_batches_augment_in_training_only() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (5, 16, 16, 3), dtype=np.uint8)
    y = torch.zeros(5, 2)
    data = ImageDataset(images, y, augment=True)
    plain = (torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255 - data.mean) / data.std
    (evaluated, _), *_ = data.batches(8, "cpu")
    assert torch.allclose(evaluated, plain, atol=1e-5)
    assert torch.allclose(data[2][0], plain[2], atol=1e-5)
    (trained, _), *_ = data.batches(8, "cpu", training=True, generator=torch.Generator())
    assert trained.shape == plain.shape and not torch.allclose(trained, plain, atol=1e-3)


def test_image_training_is_deterministic_per_seed() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (40, 16, 16, 3), dtype=np.uint8)
    y = torch.tensor(rng.random((40, 3)) < 0.4, dtype=torch.float32)

    def fit(seed: int) -> list[dict[str, float]]:
        torch.manual_seed(0)
        network = torch.nn.Sequential(
            torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()
        )
        network.append(torch.nn.Linear(4, 3))
        history = train(
            network,
            ImageDataset(images[:32], y[:32], augment=True),
            ImageDataset(images[32:], y[32:]),
            y[32:].numpy(),
            "multilabel",
            RunContext(seed=seed),
            TrainConfig(epochs=2, batch_size=8, amp="off"),
        )
        return [{k: v for k, v in h.items() if k != "seconds"} for h in history]

    assert fit(0) == fit(0)
    assert fit(0) != fit(1)


class ItemByItem(torch.utils.data.Dataset):
    """Not tensors to the loop: it goes through a DataLoader, item by item."""

    def __init__(self, *tensors: torch.Tensor) -> None:
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        return tuple(t[i] for t in self.tensors)


def test_sliced_training_equals_the_dataloaders_exactly() -> None:
    # A tabular network with dropout trained on tensors (sliced) and item by item (a
    # DataLoader): the same batches and the same random streams, so the same history.
    rng = np.random.default_rng(0)
    X = torch.tensor(rng.normal(size=(90, 5)), dtype=torch.float32)
    y = torch.tensor(rng.integers(0, 3, 90))

    def fit(wrap: type) -> list[dict[str, float]]:
        torch.manual_seed(0)
        network = torch.nn.Sequential(
            torch.nn.Linear(5, 16), torch.nn.Dropout(0.5), torch.nn.Linear(16, 3)
        )
        history = train(
            network,
            wrap(X[:70], y[:70]),
            wrap(X[70:], y[70:]),
            y[70:].numpy(),
            "multiclass",
            RunContext(seed=4),
            TrainConfig(epochs=3, batch_size=16, amp="off"),
        )
        return [{k: v for k, v in h.items() if k != "seconds"} for h in history]

    assert fit(TensorDataset) == fit(ItemByItem)
