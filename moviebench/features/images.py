"""Images as arrays: decode with Pillow, convert to RGB, resize once, cache on disk.

A task first asks which files are readable (`check_images`): a 0-byte, truncated or
non-image file is skipped and reported by path, never a crash. Models then ask for the
pixels of their rows at their resolution (`pixels`): each file is decoded once per
(file content, resolution) and read from the per-item store afterwards, whatever list it is in.
Augmentation is a torchvision transform applied to training batches only (`ImageDataset`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFile, UnidentifiedImageError
from torch.utils.data import Dataset
from torchvision.transforms import v2

from moviebench import progress
from moviebench.errors import DataError
from moviebench.features.cache import cache_key, fingerprint_strings
from moviebench.features.image_files import readable_flags
from moviebench.features.store import cached_items, file_digest

# Bumped when decoding or resizing changes, so stale cached arrays are not reused.
DECODER_VERSION = 1
# A truncated file must fail loudly here, so it is skipped and reported, not half-grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class UnreadableImage(Exception):
    """A file that is empty, truncated or not an image."""


def load_rgb(path: str | Path, draft: int | None = None) -> Image.Image:
    """Decode one image and convert any mode (L, LA, P, RGBA, CMYK, I;16...) to RGB.

    `draft` lets the JPEG decoder scale down while decoding (much faster for small targets).
    Transparent pixels are composited on white rather than dropped to black.
    """
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise UnreadableImage(f"{path}: empty file (0 bytes)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # palette-transparency and EXIF warnings
            with Image.open(path) as im:
                if draft:
                    im.draft("RGB", (draft, draft))
                im.load()
                return _to_rgb(im)
    except UnreadableImage:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as exc:
        raise UnreadableImage(f"{path}: {type(exc).__name__}: {exc}") from None


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im.copy()
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P"):
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, im).convert("RGB")
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        # 16-bit / float greyscale: scale into 8 bits before converting.
        arr = np.asarray(im, dtype=np.float64)
        top = arr.max() or 1.0
        im = Image.fromarray((arr / top * 255).clip(0, 255).astype(np.uint8), mode="L")
    return im.convert("RGB")


def _file_state(paths: Sequence[str]) -> list[str]:
    """Path, size and mtime of each file: a replaced file invalidates the cache entry."""
    out = []
    for p in paths:
        try:
            st = os.stat(p)
            out.append(f"{p}|{st.st_size}|{st.st_mtime_ns}")
        except OSError:
            out.append(f"{p}|missing")
    return out


@dataclass
class ImageCheck:
    """Which files decode, and the exact paths of those that do not."""

    ok: np.ndarray  # bool per path
    unreadable: list[str] = field(default_factory=list)


def check_images(paths: Sequence[str]) -> ImageCheck:
    """Which files exist and decode. Shares the sources' cached verdicts, keyed by file state."""
    paths = [str(p) for p in paths]
    exists = np.array([os.path.isfile(p) for p in paths], dtype=bool)
    ok = np.zeros(len(paths), dtype=bool)
    ok[exists] = readable_flags([p for p, e in zip(paths, exists) if e])
    return ImageCheck(ok=ok, unreadable=[p for p, good in zip(paths, ok) if not good])


def resize_square(im: Image.Image, size: int) -> Image.Image:
    """Squash to size x size (posters are all about 2:3, so no cropping loses the title)."""
    return im.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)


def pixel_keys(paths: Sequence[str], size: int) -> list[str]:
    """Per-item keys of (file content, resolution, decoder): the same poster anywhere is one entry."""
    keys = []
    for p in paths:
        try:
            keys.append(f"{file_digest(p)}:{int(size)}:v{DECODER_VERSION}")
        except OSError as exc:
            raise DataError(
                f"unreadable image {p}: {exc.strerror or exc} (tasks skip these; was the file changed?)"
            ) from None
    return keys


def pixels(paths: Sequence[str], size: int) -> np.ndarray:
    """uint8 array (n, size, size, 3) for these files, each decoded once and cached on disk.

    Cached per file content and resolution (features/store.py): another split, subset,
    order or task that reads the same poster reads the stored pixels.
    """
    paths = [str(p) for p in paths]
    counts = [0, 0]  # decoded, to decode: the bar runs across the store's chunks

    def compute(positions: list[int]) -> np.ndarray:
        out = np.empty((len(positions), size, size, 3), dtype=np.uint8)
        for row, i in enumerate(positions):
            try:
                out[row] = np.asarray(resize_square(load_rgb(paths[i], draft=size), size))
            except UnreadableImage as exc:
                raise DataError(
                    f"unreadable image {exc} (tasks skip these; was the file changed?)"
                ) from None
            counts[0] += 1
            if counts[0] % progress.EVERY == 0 or counts[0] == counts[1]:
                progress.report(f"decoding images at {size} px", counts[0], counts[1])
        return out

    return cached_items(
        "pixels",
        pixel_keys(paths, size),
        compute,
        on_missing=lambda n: counts.__setitem__(1, n),
    )


def pixels_key(paths: Sequence[str], size: int) -> str:
    """A stable id of (file list, state, resolution), for caches built on top of pixels."""
    return cache_key(
        files=fingerprint_strings(_file_state([str(p) for p in paths])),
        size=int(size),
        version=DECODER_VERSION,
    )


def train_augmentation(size: int) -> v2.Transform:
    """Zoom / crop, brightness, small rotation and horizontal flip, for training batches only."""
    return v2.Compose(
        [
            v2.RandomResizedCrop(size, scale=(0.75, 1.0), ratio=(0.9, 1.1), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.ColorJitter(brightness=0.2),
            v2.RandomRotation(10),
        ]
    )


class ImageDataset(Dataset):
    """Items (image tensor, y). With `augment`, each read draws a fresh random transform.
    `y` is what the network trains on, already a tensor (`TorchModel.target_tensor`).

    Evaluation datasets are built with augment=False: they return the same normalised tensor
    on every read.
    """

    def __init__(
        self,
        images: np.ndarray,
        y: torch.Tensor,
        augment: bool = False,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        self.images = torch.from_numpy(np.ascontiguousarray(images)).permute(
            0, 3, 1, 2
        )  # uint8 NCHW
        self.y = y
        self.augment = train_augmentation(images.shape[1]) if augment else None
        self.normalize = v2.Compose(
            [v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(mean), list(std))]
        )

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.images[i]
        if self.augment is not None:
            image = self.augment(image)
        return self.normalize(image), self.y[i]
