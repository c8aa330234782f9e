"""TrainConfig.amp: the loop's mixed precision is a setting (the benchmarks train FP32 on CUDA
with amp="off"). On a CPU "fp16" trains in FP32 (no fast kernels there), "bf16" autocasts
where the CPU computes BF16 natively and trains FP32 (as the resolved budget says) where it
would only be emulated, and a misspelt mode is refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from moviebench.features import precision
from moviebench.models import RunContext
from moviebench.models.deep.image import CNN4
from moviebench.models.loop import TrainConfig, effective_amp, train


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


def test_bf16_amp_autocasts_on_a_cpu_with_native_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    """BF16 rounds the matmuls, so the weights move a little differently, yet train the same way."""
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    off, bf16 = _fit("off"), _fit("bf16")
    assert not all(torch.equal(a, b) for a, b in zip(off, bf16))
    assert all(torch.allclose(a, b, atol=0.05) for a, b in zip(off, bf16))
    assert all(p.dtype == torch.float32 for p in bf16)  # autocast: the weights stay FP32


def test_unknown_amp_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="amp"):
        _fit("fp8")


def test_bf16_trains_fp32_on_a_cpu_without_it_and_the_budget_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Emulated BF16 is several times slower than FP32, so such a CPU trains FP32; the resolved
    budget (in the record's identity) then says "off", not the declared "bf16"."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    assert all(torch.equal(a, b) for a, b in zip(_fit("bf16"), _fit("off")))
    assert effective_amp("bf16", "cpu") == "off"
    assert CNN4.resolve_budget("quick", {})["amp"] == "bf16"  # as declared (bench ls, README)
    assert CNN4.resolve_budget("quick", {}, device="cpu")["amp"] == "off"
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    assert CNN4.resolve_budget("quick", {}, device="cpu")["amp"] == "bf16"


def test_effective_amp_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert effective_amp("bf16", "cuda") == "fp16"  # a card without BF16 takes FP16 with scaling
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert [effective_amp(a, "cuda") for a in ("bf16", "fp16", "off")] == ["bf16", "fp16", "off"]
