"""Images as arrays: decode with Pillow, convert to RGB, resize once, cache on disk.

A task first asks which files are readable (`check_images`): a 0-byte, truncated or
non-image file is skipped and reported by path, never a crash. Models then ask for the
pixels of their rows at their resolution (`pixels`): each file is decoded once per
(file content, resolution) and read from the per-item store afterwards, whatever list it is in.
A split's pixels are one uint8 tensor; batches are normalised, and for training augmented
per sample, on the device (`ImageDataset`, `augment_batch`).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFile, UnidentifiedImageError
from torch import nn

from moviebench import progress
from moviebench.errors import DataError
from moviebench.features.batches import TensorBatches
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


# The training augmentation, drawn per sample (features/images.augment_batch): a random
# resized crop (area 75-100%, aspect 0.9-1.1), a horizontal flip (p 1/2), brightness x 0.8-1.2
# and a rotation of up to 10 degrees (corners black). Named in the image rungs' budgets, so a
# record says which augmentation trained it and records of another one are stale.
AUGMENTATION = "crop-flip-brightness-rotate/batched"
CROP_SCALE = (0.75, 1.0)
CROP_RATIO = (0.9, 1.1)
BRIGHTNESS = 0.2
ROTATION = 10.0


def augment_params(n: int, generator: torch.Generator | None) -> torch.Tensor:
    """Per-sample augmentation draws (n, 7), uniform in [0, 1), on the CPU from `generator`
    (so a seed gives the same stream on any device): crop area, aspect, crop x, crop y, flip,
    brightness, angle."""
    return torch.rand(n, 7, generator=generator)


def augment_batch(images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Augment float images (B, 3, H, W, values in [0, 1]) with per-sample draws from
    `generator`, on the images' device (`apply_augmentation`)."""
    return apply_augmentation(images, augment_params(len(images), generator))


def apply_augmentation(images: torch.Tensor, draws: torch.Tensor) -> torch.Tensor:
    """`AUGMENTATION` with each sample's draws (`augment_params`) in one resampling pass: crop,
    flip and rotation compose into one sampling grid for `grid_sample`; brightness is a
    per-sample factor; corners the rotation uncovers are black, as torchvision fills them.
    `images` are floats in [0, 1]."""
    return augment_pixels(images, draws, top=1.0)


def augment_pixels(images: torch.Tensor, draws: torch.Tensor, top: float) -> torch.Tensor:
    """`apply_augmentation` for float images whose white is `top`; returns values in [0, 1].
    The grid is built by broadcasting rows and columns (cheaper than `affine_grid` on a CPU);
    brightness, fill and the scaling to [0, 1] are one per-pixel factor."""
    b, _, h, w = images.shape
    dtype, device = images.dtype, images.device
    r = draws.to(device, dtype)
    scale = CROP_SCALE[0] + (CROP_SCALE[1] - CROP_SCALE[0]) * r[:, 0]
    low, high = math.log(CROP_RATIO[0]), math.log(CROP_RATIO[1])
    ratio = torch.exp(low + (high - low) * r[:, 1])
    # The crop's half-extent and centre, in grid_sample's [-1, 1] coordinates of the image
    # (a side over the whole image is clamped to it, where torchvision would draw again).
    cw = torch.sqrt(scale * ratio).clamp(max=1.0)
    ch = torch.sqrt(scale / ratio).clamp(max=1.0)
    cx = (1 - cw) * (2 * r[:, 2] - 1)
    cy = (1 - ch) * (2 * r[:, 3] - 1)
    sign = torch.where(r[:, 4] < 0.5, -1.0, 1.0).to(dtype)
    bright = 1 - BRIGHTNESS + 2 * BRIGHTNESS * r[:, 5]
    angle = torch.deg2rad(ROTATION * (2 * r[:, 6] - 1))
    # Output pixel centres p = (x, y); the rotation about the centre, in pixel units (a
    # non-square image turns rigidly), takes p to q in the crop's frame, and q outside
    # [-1, 1] is the black fill; the crop (flipped or not) takes q into the image.
    xs = ((torch.arange(w, device=device, dtype=dtype) * 2 + 1) / w - 1).view(1, 1, w)
    ys = ((torch.arange(h, device=device, dtype=dtype) * 2 + 1) / h - 1).view(1, h, 1)
    cos, sin = torch.cos(angle).view(b, 1, 1), torch.sin(angle).view(b, 1, 1)
    aspect = w / h
    ax, bx = cos, -sin / aspect  # q = (ax x + bx y, ay x + by y)
    ay, by = sin * aspect, cos
    sx, sy = (cw * sign).view(b, 1, 1), ch.view(b, 1, 1)
    grid = torch.empty((b, h, w, 2), device=device, dtype=dtype)
    # Each coordinate is a row term plus a column term: one full-size operation apiece.
    torch.add(sx * ax * xs, sx * bx * ys + cx.view(b, 1, 1), out=grid[..., 0])
    torch.add(sy * ay * xs, sy * by * ys + cy.view(b, 1, 1), out=grid[..., 1])
    out = nn.functional.grid_sample(
        images, grid, mode="bilinear", padding_mode="border", align_corners=False
    )
    # 1 where q is inside the crop's frame, 0 in the corners the rotation uncovers.
    factor = torch.add(ax * xs, bx * ys).abs_().le_(1)
    factor.mul_(torch.add(ay * xs, by * ys).abs_().le_(1)).mul_((bright / top).view(b, 1, 1))
    return out.mul_(factor.unsqueeze(1)).clamp_(0, 1)


class ImageDataset(TensorBatches):
    """A split's images as one uint8 tensor (n, 3, H, W), optional `extra` tensors after them
    (the fusion rung's text vectors), and the targets `y` (`TorchModel.target_tensor`).

    Batches are normalised floats on the device; a training pass (`augment` and
    `training=True`) augments them there first, per sample (`augment_batch`). Evaluation
    passes take the same path without augmentation.
    """

    def __init__(
        self,
        images: np.ndarray,
        y: torch.Tensor,
        augment: bool = False,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        extra: Sequence[torch.Tensor] = (),
    ) -> None:
        # NCHW, contiguous: the batched resampling and normalising run fastest on it (the
        # loop makes the network's input channels-last).
        pixels_nchw = (
            torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).contiguous()
        )
        super().__init__(pixels_nchw, *extra, y)
        self.y = y
        self.augment = bool(augment)
        self.mean = torch.tensor(list(mean), dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(list(std), dtype=torch.float32).view(1, 3, 1, 1)

    def transform(
        self, parts: list[torch.Tensor], training: bool, generator: torch.Generator | None
    ) -> list[torch.Tensor]:
        images = parts[0].float()
        mean, std = self.mean.to(images.device), self.std.to(images.device)
        if training and self.augment:
            images = augment_pixels(images, augment_params(len(images), generator), top=255.0)
            images = images.sub_(mean).div_(std)
        else:
            images = images.mul_(1 / 255).sub_(mean).div_(std)
        return [images, *parts[1:]]
