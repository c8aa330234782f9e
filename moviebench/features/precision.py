"""The number format frozen extractors run in: FP32, or BF16/FP16 where the hardware has it.

Feature extraction (EfficientNet-Lite0, MiniLM) is inference only, so it can run under
autocast at the precision the machine computes fastest. On this project's CPU (AVX-512
BF16) BF16 autocast made EfficientNet about 3x and MiniLM about 2x faster, and the
downstream mAP moved by less than 0.005 (benchmarks/README.md). `MOVIEBENCH_PRECISION`
(fp32 | bf16 | fp16 | auto, default auto) chooses; the resolved value is part of every
feature cache key, so FP32 and BF16 features never mix, and callers can record it.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator

import torch

from moviebench.errors import BenchError

PRECISIONS = ("fp32", "bf16", "fp16")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether the CPU computes BF16 in hardware (AVX-512 BF16 or AMX), not by emulation."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def device_type(device: str | torch.device) -> str:
    return torch.device(device).type


def inference_precision(device: str | torch.device = "cpu") -> str:
    """fp32, bf16 or fp16: $MOVIEBENCH_PRECISION, resolved for `device` when it is auto.

    auto: BF16 on CPUs with native BF16, BF16 on CUDA cards that support it (else FP16),
    FP32 anywhere else. An explicit choice is honoured as given, except FP16 on a CPU
    (no fast kernels there), which is refused.
    """
    asked = os.environ.get("MOVIEBENCH_PRECISION", "auto").strip().lower() or "auto"
    kind = device_type(device)
    if asked not in (*PRECISIONS, "auto"):
        raise BenchError(f"MOVIEBENCH_PRECISION={asked!r}: choose one of fp32, bf16, fp16, auto")
    if asked == "fp16" and kind == "cpu":
        raise BenchError("MOVIEBENCH_PRECISION=fp16 is for CUDA; on a CPU use bf16 or fp32")
    if asked != "auto":
        return asked
    if kind == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if kind == "cpu" and cpu_has_native_bf16():
        return "bf16"
    return "fp32"


@contextlib.contextmanager
def inference(device: str | torch.device, precision: str) -> Iterator[None]:
    """inference_mode plus autocast to `precision` (none for fp32)."""
    with torch.inference_mode():
        if precision == "fp32":
            yield
        else:
            with torch.autocast(device_type(device), dtype=_DTYPES[precision]):
                yield


AMP_MODES = ("fp16", "bf16", "off")


def effective_amp(amp: str, device: str) -> str:
    """The mixed precision a fit with `amp` really trains in on `device`: "bf16" on a CPU only
    where it computes BF16 natively (AVX-512 BF16 or AMX; emulated BF16 made a resnet18 step at
    64 px 3-4x slower than FP32 on an AVX2 CPU, benchmarks/README.md), "fp16" only on CUDA, and
    "off" (FP32) otherwise. Resolved budgets store this, so a record says how it was trained."""
    if amp not in AMP_MODES:
        raise ValueError(f"TrainConfig.amp must be one of {', '.join(AMP_MODES)}, not {amp!r}")
    if torch.device(device).type == "cpu":
        return "bf16" if amp == "bf16" and cpu_has_native_bf16() else "off"
    if amp == "bf16" and not torch.cuda.is_bf16_supported():
        return "fp16"
    return amp
