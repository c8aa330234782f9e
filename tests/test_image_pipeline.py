"""The image pipeline: every mode to RGB, unreadable files reported, the pixel cache, augmentation."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from moviebench.errors import DataError
from moviebench.features import cache
from moviebench.features.images import ImageDataset, UnreadableImage, check_images, load_rgb, pixels
from moviebench.models.classical.image import hsv_histogram


def write_mixed_folder(folder: Path) -> dict[str, Path]:
    """One file of each awkward kind: 2 unreadable, 4 odd modes that must decode."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    files = {
        name: folder / name
        for name in (
            "empty.jpg",
            "truncated.jpg",
            "rgba.png",
            "grey.jpg",
            "palette.png",
            "cmyk.jpg",
        )
    }
    files["empty.jpg"].write_bytes(b"")
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buffer, "JPEG")
    files["truncated.jpg"].write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    Image.new("RGBA", (20, 30), (255, 0, 0, 128)).save(files["rgba.png"])
    Image.fromarray(rng.integers(0, 255, (30, 20), dtype=np.uint8), mode="L").save(
        files["grey.jpg"]
    )
    Image.new("RGB", (16, 16), (0, 200, 0)).convert("P", palette=Image.Palette.ADAPTIVE).save(
        files["palette.png"]
    )
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(files["cmyk.jpg"])
    return files


def test_every_mode_decodes_to_rgb(tmp_path: Path) -> None:
    files = write_mixed_folder(tmp_path)
    for name in ("rgba.png", "grey.jpg", "palette.png", "cmyk.jpg"):
        image = load_rgb(files[name])
        assert image.mode == "RGB", name
    # Half-transparent red on white: composited, not dropped to black.
    assert load_rgb(files["rgba.png"]).getpixel((0, 0)) == (255, 127, 127)
    red = np.asarray(load_rgb(files["cmyk.jpg"]))[..., 0]
    assert red.mean() > 200  # CMYK (0, 255, 255, 0) is red


@pytest.mark.parametrize("name", ["empty.jpg", "truncated.jpg"])
def test_unreadable_files_raise_a_named_error(tmp_path: Path, name: str) -> None:
    files = write_mixed_folder(tmp_path)
    with pytest.raises(UnreadableImage, match=name):
        load_rgb(files[name])


def test_check_lists_exactly_the_unreadable_files(tmp_path: Path) -> None:
    files = write_mixed_folder(tmp_path)
    paths = [str(p) for p in files.values()] + [str(tmp_path / "missing.jpg")]
    check = check_images(paths)
    assert sorted(check.unreadable) == sorted(
        [str(files["empty.jpg"]), str(files["truncated.jpg"]), str(tmp_path / "missing.jpg")]
    )
    assert check.ok.sum() == 4


def test_pixels_are_cached_per_file_and_size(tmp_path: Path) -> None:
    files = write_mixed_folder(tmp_path)
    paths = [str(files[n]) for n in ("rgba.png", "grey.jpg", "palette.png")]
    before = cache.STATS.copy()
    first = pixels(paths, 24)
    assert first.shape == (3, 24, 24, 3) and first.dtype == np.uint8
    assert cache.STATS["pixels:miss"] == before["pixels:miss"] + 3
    second = pixels(paths, 24)
    assert cache.STATS["pixels:hit"] == before["pixels:hit"] + 3
    assert cache.STATS["pixels:miss"] == before["pixels:miss"] + 3
    np.testing.assert_array_equal(first, second)
    pixels(paths, 16)  # another resolution is another entry per file
    assert cache.STATS["pixels:miss"] == before["pixels:miss"] + 6
    reordered = pixels(paths[::-1][:2], 24)  # a subset in another order is only read
    assert cache.STATS["pixels:miss"] == before["pixels:miss"] + 6
    np.testing.assert_array_equal(reordered, first[::-1][:2])


def test_pixels_refuse_an_unreadable_file_with_its_path(tmp_path: Path) -> None:
    files = write_mixed_folder(tmp_path)
    with pytest.raises(DataError, match="truncated.jpg"):
        pixels([str(files["grey.jpg"]), str(files["truncated.jpg"])], 16)


def test_augmentation_only_in_training_datasets() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (4, 32, 32, 3), dtype=np.uint8)
    y = torch.as_tensor(np.eye(4, dtype=np.float32))
    evaluation = ImageDataset(images, y, augment=False)
    a, b = evaluation[1][0], evaluation[1][0]
    assert torch.equal(a, b)
    # Evaluation items are the plain normalised pixels: no crop, flip, jitter or rotation.
    plain = (
        torch.from_numpy(images[1]).permute(2, 0, 1).float() / 255 - evaluation.mean[0]
    ) / evaluation.std[0]
    assert torch.allclose(a, plain, atol=1e-5)
    # Even asked for a training pass, an evaluation dataset does not augment.
    (batch, _), *_ = evaluation.batches(4, "cpu", training=True, generator=torch.Generator())
    assert torch.allclose(batch[1], plain, atol=1e-5)
    training = ImageDataset(images, y, augment=True)
    generator = torch.Generator().manual_seed(0)
    draws = [
        next(iter(training.batches(4, "cpu", training=True, generator=generator)))[0][1]
        for _ in range(4)
    ]
    assert any(not torch.equal(draws[0], d) for d in draws[1:])
    assert draws[0].shape == a.shape


def test_hsv_histogram_parts_sum_to_one_and_see_colour() -> None:
    red = np.zeros((1, 8, 8, 3), dtype=np.uint8)
    red[..., 0] = 255
    blue = np.zeros((1, 8, 8, 3), dtype=np.uint8)
    blue[..., 2] = 255
    h = hsv_histogram(np.concatenate([red, blue]))
    assert h.shape == (2, 8 * 4 * 4 + 3 * 16)
    np.testing.assert_allclose(h[:, :128].sum(axis=1), 1.0)
    np.testing.assert_allclose(h[:, 128:].sum(axis=1), 3.0)
    assert not np.allclose(h[0], h[1])
