"""Is BF16 autocast worth it for training on this machine? One network's training step, FP32
against BF16 autocast, on random tensors (the loop decides by `effective_amp`; this shows why).

    PYTHONPATH=. python benchmarks/bf16_step.py [--model resnet18] [--size 64] [--batch 64] [--steps 4]

Prints the CPU's capability as torch sees it, whether it has native BF16, and samples/s each way.
"""

from __future__ import annotations

import argparse
import time

import torch
import torchvision

from moviebench.features.precision import cpu_has_native_bf16


def rate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, bf16: bool, steps: int) -> float:
    optimizer = torch.optim.AdamW(model.parameters())
    started = time.perf_counter()
    for _ in range(steps):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(model(x).float(), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return steps * len(x) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = torchvision.models.get_model(args.model, num_classes=18)
    model = model.to(memory_format=torch.channels_last)
    x = torch.randn(args.batch, 3, args.size, args.size)
    x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 18, (args.batch,))
    print(
        f"cpu capability {torch.backends.cpu.get_cpu_capability()}, native bf16 {cpu_has_native_bf16()}"
    )
    rate(model, x, y, False, 1)  # warm-up
    for bf16 in (False, True, False, True):
        print(f"{'bf16' if bf16 else 'fp32'}: {rate(model, x, y, bf16, args.steps):.1f} samples/s")


if __name__ == "__main__":
    main()
