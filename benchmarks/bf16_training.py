"""Does BF16 autocast in training cost the image networks accuracy, and how much time does it save?

The quick budgets of the scratch image networks declare `amp: "bf16"`. This trains each named
rung on poster-genre (ML-1M posters) at each seed twice, with its quick budget as declared and
with `amp: "off"` (FP32), exactly as the runner does (`fit_and_score`), and prints test mAP and
seconds per epoch (fit seconds over epochs trained, validation included) side by side, then the
mean difference per rung.

    PYTHONPATH=. python benchmarks/bf16_training.py [--data ../shared/data/ml-1m]
        [--models resnet18,cnn4] [--seeds 0,1,2]

Needs the ML-1M posters; each fit takes about 0.5-1.5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics

from moviebench.cell import Cell, fit_and_score
from moviebench.options import RunOptions
from moviebench.prepare import prepare
from moviebench.tasks import TASKS


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default="../shared/data/ml-1m")
    parser.add_argument("--models", default="resnet18,cnn4")
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    prep = prepare(TASKS.get("poster-genre"), RunOptions(data=args.data, source="movielens-1m"))
    seeds = [int(s) for s in args.seeds.split(",")]
    print("| rung | seed | mAP BF16 | mAP FP32 | s/epoch BF16 (epochs) | s/epoch FP32 (epochs) |")
    print("|---|---|---|---|---|---|")
    for rung in args.models.split(","):
        diffs, speedups = [], []
        for seed in seeds:
            row = {}
            for amp in ("bf16", "off"):
                cell = Cell(prep, rung, seed, params={"amp": amp})
                record, _ = fit_and_score(cell.make_model(), prep, cell.train_split())
                row[amp] = (record["metrics"]["mAP"], record["fit_seconds"])
            (m16, s16), (m32, s32) = row["bf16"], row["off"]
            diffs.append(m16 - m32)
            speedups.append(s32 / s16)
            print(
                f"| {rung} | {seed} | {m16:.4f} | {m32:.4f} | {s16:.1f} | {s32:.1f} |", flush=True
            )
        print(
            f"| {rung} | mean | BF16 - FP32 {statistics.mean(diffs):+.4f} | "
            f"| FP32 / BF16 time per epoch {statistics.mean(speedups):.2f}x | |",
            flush=True,
        )


if __name__ == "__main__":
    main()
