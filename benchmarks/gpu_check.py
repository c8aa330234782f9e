"""What the heavy paths reach on a GPU, each against the card's measured matmul peak.

    PYTHONPATH=. python3 benchmarks/gpu_check.py --out DIR          # CUDA, ~3 minutes
    PYTHONPATH=. python3 benchmarks/gpu_check.py --out DIR --smoke  # tiny sizes, any device

Measures, in FP32 and in mixed precision, through the package's own code paths:
(a) EfficientNet-Lite0 features at 224 px (`lite0_features`, and the network alone on
tensors already on the device), (b) MiniLM-architecture encoding of 128-token texts,
(c) one training epoch of each deep rung family through the real loop (benchmarks/
workloads.py; the image families at their full budget, 224 px, with `--families`), with the
share of an image epoch spent waiting for input (against the same network on ready tensors),
and (d) the dense matmul peak at 8192² they are shares of. Weights are random
(the ImageNet and MiniLM weight packages may be missing): speed does not depend on them.

Needs torch, torchvision, timm, transformers, scikit-learn, numpy; imports no optional
package (lightgbm, optuna, the weight packages). Each timing is the best of 3 after a
warm-up, with `torch.cuda.synchronize()` around it. Rows are printed as they come and the
table is rewritten after each (DIR/gpu_check.md, DIR/gpu_check.json), so a run cut short
still leaves what it measured. `--max-seconds` skips what would start after that.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.conftest import matmul_gflops
from benchmarks.workloads import FAMILIES, count_flops, make_case, synthetic_images
from moviebench.features.precision import inference

STARTED = time.perf_counter()


@dataclass(frozen=True)
class Sizes:
    peak_n: int
    peak_seconds: float
    images: int
    image_size: int  # Lite0's input (224, its native size; smaller for --smoke)
    image_batches: tuple[int, ...]
    texts: int
    tokens: int
    text_batches: tuple[int, ...]
    epochs: dict[str, int]  # family -> training samples per epoch


FULL = Sizes(
    peak_n=8192,
    peak_seconds=1.0,
    images=4096,
    image_size=224,
    image_batches=(16, 256),
    texts=2048,
    tokens=128,
    text_batches=(64, 256),
    epochs={
        "mlp": 65_536,
        "cnn-lstm": 16_384,
        "text-lstm": 8192,
        "cnn4": 8192,
        "resnet18": 8192,
        "resnet18-224": 2048,
        "fusion-resnet18": 4096,
        "cnn4-224": 8192,
        "resnet50-224": 2048,
        "vgg16-224": 1024,
        "fusion-resnet18-224": 2048,
    },
)
SMOKE = Sizes(
    peak_n=256,
    peak_seconds=0.1,
    images=8,
    image_size=64,
    image_batches=(4, 8),
    texts=16,
    tokens=32,
    text_batches=(8,),
    epochs={
        "mlp": 512,
        "cnn-lstm": 64,
        "text-lstm": 32,
        "cnn4": 32,
        "resnet18": 32,
        "resnet18-224": 8,
        "fusion-resnet18": 32,
        "cnn4-224": 8,
        "resnet50-224": 8,
        "vgg16-224": 4,
        "fusion-resnet18-224": 8,
    },
)
# The families trained by default (the full-budget ones are opt-in: --families).
DEFAULT_FAMILIES = "mlp,cnn-lstm,text-lstm,cnn4,resnet18,resnet18-224,fusion-resnet18"
# These image families also run on ready tensors (already augmented and normalised, on the
# device), in the last precision, to tell the loop's data path from the network's compute:
# the epoch's input-wait share is 1 - (ready tensors) / (the rung's data path).
TENSOR_ROWS = ("cnn4", "resnet18", "resnet18-224", "cnn4-224", "resnet50-224", "vgg16-224")


def log(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:6.1f}s] {message}", flush=True)


@dataclass
class Row:
    section: str
    workload: str
    precision: str
    batch: int | None
    n: int
    seconds: float  # best of the timed repeats
    rate: float
    unit: str
    gflop_per_item: float | None
    tflops: float | None
    peak_key: str | None
    share: float | None


class Report:
    """Rows so far, printed one by one and written out after each (partial runs stay useful)."""

    def __init__(self, out: Path, meta: dict[str, Any]) -> None:
        self.out, self.meta, self.rows = out, meta, []
        self.peaks: dict[str, float] = {}  # TFLOP/s by precision
        out.mkdir(parents=True, exist_ok=True)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        share = f", {row.share:.1%} of {row.peak_key} peak" if row.share is not None else ""
        tflops = f", {row.tflops:.2f} TFLOP/s" if row.tflops is not None else ""
        log(f"{row.workload} [{row.precision}]: {row.rate:,.0f} {row.unit}{tflops}{share}")
        self.write()

    def write(self) -> None:
        self.meta["wall_seconds"] = round(time.perf_counter() - STARTED, 1)
        data = {
            "meta": self.meta,
            "peaks_tflops": self.peaks,
            "rows": [asdict(r) for r in self.rows],
        }
        (self.out / "gpu_check.json").write_text(json.dumps(data, indent=2))
        (self.out / "gpu_check.md").write_text(self.markdown())

    def markdown(self) -> str:
        m = self.meta
        lines = [
            f"# gpu_check: {m['device_name']} ({m['device']}), torch {m['torch']}",
            "",
            f"{'smoke sizes, ' if m['smoke'] else ''}best of {m['repeats']} after a warm-up; "
            f"cuDNN TF32 {m['cudnn_allow_tf32']}, matmul TF32 {m['matmul_allow_tf32']}, "
            f"cuDNN benchmark {m['cudnn_benchmark']}; {m['wall_seconds']} s in all.",
            "",
            "| section | workload | precision | batch | n | best s | rate | GFLOP/item | TFLOP/s | share of peak |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            lines.append(
                f"| {r.section} | {r.workload} | {r.precision} | {r.batch or ''} | {r.n:,} | "
                f"{r.seconds:.3f} | {r.rate:,.0f} {r.unit} | "
                f"{'' if r.gflop_per_item is None else f'{r.gflop_per_item:.3g}'} | "
                f"{'' if r.tflops is None else f'{r.tflops:.2f}'} | "
                f"{'' if r.share is None else f'{r.share:.1%} of {r.peak_key}'} |"
            )
        lines += [
            "",
            "Training `fp16` is the loop's CUDA default (autocast FP16 + gradient scaling); `fp32`"
            " is `TrainConfig(amp='off')`, whose convolutions still run TF32 on cuDNN's default, so"
            " a conv net's FP32 share can pass 100%. FLOPs: convolutions, Linear and LSTM layers,"
            " x3 for a training step; attention products added for MiniLM. Epochs include the"
            " validation pass (n / 8) and the loop's per-epoch work.",
            "",
        ]
        return "\n".join(lines)

    def row(
        self,
        section: str,
        workload: str,
        precision: str,
        batch: int | None,
        n: int,
        seconds: float,
        unit: str,
        flops_per_item: float | None,
        peak_key: str | None,
    ) -> None:
        rate = n / seconds
        tflops = flops_per_item * rate / 1e12 if flops_per_item else None
        peak = self.peaks.get(peak_key or "")
        self.add(
            Row(
                section,
                workload,
                precision,
                batch,
                n,
                round(seconds, 5),
                round(rate, 2),
                unit,
                None if flops_per_item is None else round(flops_per_item / 1e9, 4),
                None if tflops is None else round(tflops, 3),
                peak_key if peak else None,
                round(tflops / peak, 4) if tflops and peak else None,
            )
        )


def best_of(
    fn: Callable[[], object], device: str, repeats: int, warmup: Callable[[], object] | None = None
) -> float:
    """Best wall time of `fn` over `repeats` runs, after one warm-up run (of `warmup` if given)."""
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    (warmup or fn)()
    best = float("inf")
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


# ---- (d) peaks --------------------------------------------------------------------------------


def measure_peaks(report: Report, device: str, sizes: Sizes) -> None:
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    if device == "cuda":
        dtypes = {
            "fp32": torch.float32,
            "tf32": torch.float32,
            "fp16": torch.float16,
            "bf16": torch.bfloat16,
        }
    for key, dtype in dtypes.items():
        previous = torch.get_float32_matmul_precision()
        torch.set_float32_matmul_precision("high" if key == "tf32" else "highest")
        try:
            gflops = matmul_gflops(dtype, sizes.peak_n, sizes.peak_seconds, device)
        finally:
            torch.set_float32_matmul_precision(previous)
        report.peaks[key] = round(gflops / 1e3, 3)
        flops = 2.0 * sizes.peak_n**3
        report.row(
            "peak",
            f"matmul {sizes.peak_n}²",
            key,
            None,
            1,
            flops / gflops / 1e9,
            "products/s",
            flops,
            key,
        )


# ---- (a) EfficientNet-Lite0 features ----------------------------------------------------------


def lite0(report: Report, device: str, sizes: Sizes, precisions: list[str], repeats: int) -> None:
    import timm

    from moviebench.features.pretrained_image import LITE_MEAN, LITE_STD, lite0_features

    network = timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()
    flops = count_flops(
        network,
        lambda: network.forward_head(
            network.forward_features(torch.zeros(1, 3, sizes.image_size, sizes.image_size)),
            pre_logits=True,
        ),
    )
    images = synthetic_images(np.random.default_rng(0), sizes.images, sizes.image_size)
    for precision in precisions:
        for batch in sizes.image_batches:
            extract = partial(
                lite0_features, network, batch_size=batch, device=device, precision=precision
            )
            seconds = best_of(
                partial(extract, images),
                device,
                repeats,
                warmup=partial(extract, images[: 2 * batch]),
            )
            report.row(
                "lite0",
                f"Lite0 features {sizes.image_size} px (lite0_features: CPU prep + network)",
                precision,
                batch,
                len(images),
                seconds,
                "images/s",
                flops,
                precision,
            )
        # The network alone: normalised channels-last tensors already on the device.
        batch = max(sizes.image_batches)
        mean = torch.tensor(LITE_MEAN, device=device).view(1, 3, 1, 1)
        std = torch.tensor(LITE_STD, device=device).view(1, 3, 1, 1)
        x = (
            torch.from_numpy(images[:batch]).to(device).permute(0, 3, 1, 2).float() / 255 - mean
        ) / std
        x = x.contiguous(memory_format=torch.channels_last)
        n_batches = max(len(images) // batch, 1)
        seconds = best_of(
            partial(_lite0_forward, network, x, n_batches, device, precision), device, repeats
        )
        report.row(
            "lite0",
            f"Lite0 network only {sizes.image_size} px (tensors on device)",
            precision,
            batch,
            n_batches * batch,
            seconds,
            "images/s",
            flops,
            precision,
        )


def _lite0_forward(
    network: torch.nn.Module, x: torch.Tensor, n_batches: int, device: str, precision: str
) -> None:
    with inference(device, precision):
        for _ in range(n_batches):
            network.forward_head(network.forward_features(x), pre_logits=True).float()


# ---- (b) MiniLM-architecture encoding ---------------------------------------------------------


def minilm(report: Report, device: str, sizes: Sizes, precisions: list[str], repeats: int) -> None:
    from transformers import BertConfig, BertModel

    # all-MiniLM-L6-v2's architecture, randomly initialised (no download).
    config = BertConfig(
        vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
        intermediate_size=1536, max_position_embeddings=512,
    )  # fmt: skip
    model = BertModel(config, add_pooling_layer=False).eval()
    L = sizes.tokens
    ids = torch.randint(1000, 30000, (sizes.texts, L))
    flops = count_flops(
        model, lambda: model(input_ids=ids[:1], attention_mask=torch.ones(1, L, dtype=torch.long))
    )
    flops += config.num_hidden_layers * 4.0 * L * L * config.hidden_size  # QK^T and AV per text
    model.to(device)
    ids = ids.to(device)
    mask = torch.ones_like(ids)
    for precision in precisions:
        for batch in sizes.text_batches:
            seconds = best_of(
                partial(_encode, model, ids, mask, batch, device, precision), device, repeats
            )
            report.row(
                "minilm",
                f"MiniLM-L6 architecture, {L} tokens (tokenising excluded)",
                precision,
                batch,
                len(ids),
                seconds,
                "texts/s",
                flops,
                precision,
            )


def _encode(
    model: torch.nn.Module,
    ids: torch.Tensor,
    mask: torch.Tensor,
    batch: int,
    device: str,
    precision: str,
) -> None:
    """sentence-transformers' pipeline after tokenising: forward, mean pooling, normalising."""
    with inference(device, precision):
        for start in range(0, len(ids), batch):
            m = mask[start : start + batch]
            hidden = model(input_ids=ids[start : start + batch], attention_mask=m).last_hidden_state
            pooled = (hidden * m[..., None]).sum(1) / m.sum(1, keepdim=True)
            torch.nn.functional.normalize(pooled.float(), dim=1).cpu()


# ---- (c) one training epoch per deep family ---------------------------------------------------


def epochs(
    report: Report, device: str, sizes: Sizes, modes: list[str], repeats: int, deadline: float
) -> None:
    """Each family in each of the loop's precisions, and the TENSOR_ROWS once more on ready
    tensors; a row that fails is logged and listed in meta, and the others still run."""
    timed: dict[tuple[str, str], float] = {}  # (family, loader) -> seconds, the last precision
    for family, n in sizes.epochs.items():
        variants = [(mode, "rung") for mode in modes]
        if family in TENSOR_ROWS:
            variants.append((modes[-1], "tensors"))
        for amp, loader in variants:
            precision = "fp32" if amp == "off" else amp
            if time.perf_counter() > deadline:
                log(f"skipped {family} [{precision}]: past --max-seconds")
                report.meta.setdefault("skipped_rows", []).append(f"{family} {precision} {loader}")
                continue
            try:
                case = make_case(family, n, amp=amp, loader=loader)
                seconds = best_of(partial(case.run, device), device, repeats)
            except Exception as exc:  # noqa: BLE001 - one family's failure must not hide the rest
                log(f"{family} [{precision}] FAILED: {type(exc).__name__}: {exc}")
                report.meta.setdefault("failed_rows", []).append(f"{family} {precision} {loader}")
                continue
            timed[(family, loader)] = seconds
            if loader == "tensors" and (family, "rung") in timed:
                share = max(0.0, 1 - seconds / timed[(family, "rung")])
                report.meta.setdefault("input_wait_share", {})[family] = round(share, 3)
                log(f"{family} [{precision}]: input wait {share:.0%} of the epoch")
            size = f" {case.image_size} px" if case.image_size else ""
            data = ", ready tensors" if loader == "tensors" else ""
            report.row(
                "epoch",
                f"{FAMILIES[family][0]}{size}, batch {case.config.batch_size}{data}",
                precision,
                case.config.batch_size,
                n,
                seconds,
                "samples/s",
                case.flops_per_sample,
                precision,
            )
            del case
            if device == "cuda":
                torch.cuda.empty_cache()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for gpu_check.md and .json")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes (a CPU test of the script)"
    )
    parser.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    parser.add_argument(
        "--sections", default="peak,lite0,minilm,epoch", help="comma-separated subset to run"
    )
    parser.add_argument(
        "--families",
        default=DEFAULT_FAMILIES,
        help=f"comma-separated deep families to train, of {', '.join(FULL.epochs)}",
    )
    parser.add_argument("--train-bf16", action="store_true", help="also train under BF16 autocast")
    parser.add_argument("--max-seconds", type=float, default=200.0, help="start nothing after this")
    args = parser.parse_args(argv)
    global STARTED
    STARTED = time.perf_counter()  # the clock of the log lines and of --max-seconds

    device = (
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    )
    if device == "cpu" and not args.smoke:
        log("no CUDA device: full sizes on a CPU take long (use --smoke to test the script)")
    sizes = SMOKE if args.smoke else FULL
    families = args.families.split(",")
    unknown = set(families) - set(sizes.epochs)
    if unknown:
        parser.error(f"unknown families {sorted(unknown)}: choose from {', '.join(sizes.epochs)}")
    sizes = replace(sizes, epochs={f: n for f, n in sizes.epochs.items() if f in families})
    repeats = 1 if args.smoke else 3
    threads = torch.get_num_threads()
    if device == "cpu" and args.smoke:
        # On a busy shared CPU, two OpenMP threads stall each other (measured 10-20x slower
        # epochs here): the smoke run checks the script, not the speed, so one thread.
        torch.set_num_threads(1)
    try:
        return _run(args, device, sizes, repeats)
    finally:
        torch.set_num_threads(threads)  # main() may run inside another process (the test)


def _run(args: argparse.Namespace, device: str, sizes: Sizes, repeats: int) -> int:
    sections = set(args.sections.split(","))
    feature_precisions = ["fp32", "bf16"]
    # The loop's modes: FP32 ("off") and its CUDA AMP (FP16 autocast + scaling); on a CPU the loop
    # trains in FP32 whatever amp says, so one mode.
    train_modes = (
        ["off", "fp16"] + (["bf16"] if args.train_bf16 else []) if device == "cuda" else ["off"]
    )
    meta = {
        "device": device,
        "device_name": torch.cuda.get_device_name()
        if device == "cuda"
        else platform.processor() or "cpu",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": sys.version.split()[0],
        "smoke": args.smoke,
        "repeats": repeats,
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
        "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "torch_threads": torch.get_num_threads(),
        "sizes": asdict(sizes),
    }
    report = Report(args.out, meta)
    log(
        f"gpu_check on {meta['device_name']} ({device}), torch {torch.__version__}, sections {sorted(sections)}"
    )
    deadline = STARTED + args.max_seconds
    steps = [
        ("peak", lambda: measure_peaks(report, device, sizes)),
        ("lite0", lambda: lite0(report, device, sizes, feature_precisions, repeats)),
        ("minilm", lambda: minilm(report, device, sizes, feature_precisions, repeats)),
        ("epoch", lambda: epochs(report, device, sizes, train_modes, repeats, deadline)),
    ]
    failed = []
    for name, step in steps:
        if name not in sections:
            continue
        if time.perf_counter() > deadline:
            log(f"skipped {name}: past --max-seconds")
            continue
        log(f"-- {name}")
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - report and go on: the other sections still count
            failed.append(name)
            log(f"{name} FAILED: {type(exc).__name__}: {exc}")
    report.meta["failed_sections"] = failed
    report.write()
    print(report.markdown(), flush=True)
    log(f"wrote {args.out / 'gpu_check.md'} and {args.out / 'gpu_check.json'}")
    return 1 if failed or report.meta.get("failed_rows") else 0


if __name__ == "__main__":
    sys.exit(main())
