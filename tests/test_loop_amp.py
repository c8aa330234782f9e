"""TrainConfig.amp: the loop's mixed precision is a setting (the benchmarks train FP32 on CUDA
with amp="off"). On a CPU "fp16" trains in FP32 (no fast kernels there), "bf16" autocasts
(image rungs declare it in their quick budgets), and a misspelt mode is refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from moviebench.models import RunContext
from moviebench.models.deep.loop import TrainConfig, train


def _fit(amp: str) -> list[torch.Tensor]:
    rng = np.random.default_rng(0)
    X = torch.tensor(rng.normal(size=(64, 4)), dtype=torch.float32)
    y = torch.tensor(rng.integers(0, 2, 64))
    torch.manual_seed(0)
    network = nn.Linear(4, 2)
    data = TensorDataset(X, y)
    config = TrainConfig(epochs=2, batch_size=16, amp=amp)
    train(network, data, data, y.numpy(), "multiclass", RunContext(), config)
    return [p.detach().clone() for p in network.parameters()]


def test_fp16_amp_is_fp32_on_cpu() -> None:
    fp16, off = _fit("fp16"), _fit("off")
    assert all(torch.equal(a, b) for a, b in zip(fp16, off))
    torch.manual_seed(0)
    assert not torch.equal(fp16[0], nn.Linear(4, 2).weight)  # it did train


def test_bf16_amp_autocasts_on_cpu() -> None:
    """BF16 rounds the matmuls, so the weights move a little differently, yet train the same way."""
    off, bf16 = _fit("off"), _fit("bf16")
    assert not all(torch.equal(a, b) for a, b in zip(off, bf16))
    assert all(torch.allclose(a, b, atol=0.05) for a, b in zip(off, bf16))
    assert all(p.dtype == torch.float32 for p in bf16)  # autocast: the weights stay FP32


def test_unknown_amp_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="amp"):
        _fit("fp8")
