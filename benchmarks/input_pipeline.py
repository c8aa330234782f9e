"""The image input pipeline, before and after issue 25: per-item torchvision v2 augmentation
collated by a DataLoader (the loop's path until then, kept here as `PerItemImages` for the
comparison) against the split as one uint8 tensor augmented per sample in batches
(`features/images.ImageDataset`).

    PYTHONPATH=. python benchmarks/input_pipeline.py [--device cpu|cuda] [--sizes 64,224]
        [--n 512] [--share-n 512] [--rounds 3] [--smoke]

Prints, per resolution, the input pipeline alone (a training pass's batches, augmented and
normalised, nothing else) in samples/s each way; then one `cnn4` quick-profile epoch (its
validation pass included) through the real loop fed each way and on ready tensors, and the
input's share of the epoch: 1 - (epoch on ready tensors) / (epoch fed that way). Best of
`--rounds`. Synthetic images (benchmarks/workloads.py): the rates do not depend on pixel values.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset
from torchvision.transforms import v2

from benchmarks.workloads import make_case, synthetic_images
from moviebench.features.images import IMAGENET_MEAN, IMAGENET_STD, ImageDataset


class PerItemImages(Dataset):
    """The pre-issue-25 path: each read augments one image with torchvision v2 (crop, flip,
    brightness, rotation) and normalises it; a DataLoader collates the items."""

    def __init__(self, images: np.ndarray, y: torch.Tensor, augment: bool) -> None:
        self.images = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
        self.y = y
        size = images.shape[1]
        self.augment = (
            v2.Compose(
                [
                    v2.RandomResizedCrop(size, scale=(0.75, 1.0), ratio=(0.9, 1.1), antialias=True),
                    v2.RandomHorizontalFlip(),
                    v2.ColorJitter(brightness=0.2),
                    v2.RandomRotation(10),
                ]
            )
            if augment
            else None
        )
        self.normalize = v2.Compose(
            [
                v2.ToDtype(torch.float32, scale=True),
                v2.Normalize(list(IMAGENET_MEAN), list(IMAGENET_STD)),
            ]
        )

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.images[i]
        if self.augment is not None:
            image = self.augment(image)
        return self.normalize(image), self.y[i]


def best(run: Callable[[], object], rounds: int, device: str) -> float:
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    times = []
    for _ in range(rounds):
        sync()
        started = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - started)
    return min(times)


def pipeline_rates(size: int, n: int, batch: int, device: str, rounds: int) -> dict[str, float]:
    """samples/s of one augmented training pass's batches, on `device`, each way."""
    images = synthetic_images(np.random.default_rng(0), n, size)
    y = torch.zeros(n, 18)
    per_item = DataLoader(
        PerItemImages(images, y, augment=True),
        batch_size=batch,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
        pin_memory=device == "cuda",
    )
    batched = ImageDataset(images, y, augment=True)
    generator = torch.Generator().manual_seed(0)

    def old() -> None:
        for x, _ in per_item:
            x.to(device, non_blocking=True)

    def new() -> None:
        for _ in batched.batches(batch, device, shuffle=True, generator=generator, training=True):
            pass

    new()  # places the split on the device once, as a fit does
    return {"per-item": n / best(old, rounds, device), "batched": n / best(new, rounds, device)}


def epoch_share(n: int, device: str, rounds: int) -> None:
    """A cnn4 quick epoch fed per item, in batches and on ready tensors; the input's share."""
    case = make_case("cnn4", n)
    case = replace(case, config=replace(case.config, amp="off"))  # FP32: the CPU default here
    size = case.image_size or 64
    rng = np.random.default_rng(0)
    images = synthetic_images(rng, n, size)
    y = case.train_data.y
    ready = torch.stack([case.val_data[i % len(case.val_data)][0] for i in range(n)])
    feeds = {
        "per-item": PerItemImages(images, y, augment=True),
        "batched": ImageDataset(images, y, augment=True),
        "ready tensors": TensorDataset(ready, y),
    }
    seconds = {}
    for name, data in feeds.items():
        case.train_data = data
        case.run(device)  # warm-up
        seconds[name] = best(lambda: case.run(device), rounds, device)
    floor = seconds["ready tensors"]
    for name, s in seconds.items():
        share = "" if name == "ready tensors" else f", input {1 - floor / s:.0%} of the epoch"
        print(f"cnn4 quick epoch ({size} px, n {n}), {name}: {s:.2f} s{share}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--sizes", default="64,224")
    parser.add_argument("--n", type=int, default=512, help="images per pipeline pass")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--share-n", type=int, default=512, help="cnn4 epoch size (0: skip)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: does it run")
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.n, args.share_n, args.rounds = "32", 64, 64, 1
    torch.manual_seed(0)
    print(f"device {args.device}, torch threads {torch.get_num_threads()}")
    for size in (int(s) for s in args.sizes.split(",")):
        rates = pipeline_rates(size, args.n, args.batch, args.device, args.rounds)
        print(
            f"input pipeline {size} px, batch {args.batch}: per-item {rates['per-item']:,.0f} "
            f"samples/s, batched {rates['batched']:,.0f} samples/s "
            f"({rates['batched'] / rates['per-item']:.1f}x)"
        )
    if args.share_n:
        epoch_share(args.share_n, args.device, args.rounds)


if __name__ == "__main__":
    main()
