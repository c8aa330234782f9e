"""Does BF16 feature extraction cost accuracy? Downstream mAP on FP32 vs BF16 features.

For each precision, in a fresh feature store: EfficientNet-Lite0 features of every ML-1M
poster (task poster-genre, rung effnet-logreg) and MiniLM embeddings of every TMDB
overview (task overview-genre, rung minilm-logreg), then the rung's logistic regression
fitted on train and scored on test, as the runner does. Prints the test mAP of both, the
cold extraction time, and the time to get the same features again for another task
(multimodal-genre's posters, in its own order): a read, not a recomputation.

    python benchmarks/precision_accuracy.py [--data /work/shared/data] [--limit N]

Needs the development data (ML-1M with posters, TMDB 5000); takes ~10-20 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from moviebench.cell import Cell, fit_and_score
from moviebench.features.cache import STATS
from moviebench.features.precision import inference_precision
from moviebench.features.pretrained_image import effnet_features, packaged_lite0_weights
from moviebench.features.text import embed_texts
from moviebench.models.classical.image import image_paths
from moviebench.models.classical.text import texts_of
from moviebench.options import RunOptions
from moviebench.prepare import prepare
from moviebench.tasks import TASKS


def timed(fn, *args):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def test_map(prep, rung: str) -> float:  # type: ignore[no-untyped-def]
    """The rung fitted on train, scored on test, exactly as the runner does (features come from the store)."""
    cell = Cell(prep, rung, 0)
    model = cell.make_model()
    return fit_and_score(model, prep, cell.train_split())[0]["metrics"]["mAP"]


def prepare_subset(prep, limit: int):  # type: ignore[no-untyped-def]
    """The first `limit` rows of each split part (a quicker run for trying the script)."""
    import numpy as np

    from moviebench.splits import Split

    keep = {p: prep.split.part(p)[:limit] for p in ("train", "val", "test")}
    rows = np.sort(np.concatenate(list(keep.values())))
    where = {old: new for new, old in enumerate(rows)}
    split = Split(
        *(np.array([where[i] for i in keep[p]]) for p in ("train", "val", "test")),
        hash=prep.split.hash,
    )
    prep.data, prep.split = prep.data.subset(rows), split
    return prep


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="rows per split part (default: all)"
    )
    args = parser.parse_args()
    weights = packaged_lite0_weights()
    rows = []
    for precision in ("bf16", "fp32"):
        os.environ["MOVIEBENCH_PRECISION"] = precision
        with tempfile.TemporaryDirectory() as cache:
            os.environ["MOVIEBENCH_CACHE"] = cache  # cold: nothing stored yet
            posters = prepare(
                TASKS.get("poster-genre"),
                RunOptions(source="movielens-1m", data=args.data / "ml-1m", device="cpu"),
            )
            overviews = prepare(
                TASKS.get("overview-genre"),
                RunOptions(source="tmdb", data=args.data / "tmdb-5000", device="cpu"),
            )
            if args.limit:
                posters, overviews = (
                    prepare_subset(posters, args.limit),
                    prepare_subset(overviews, args.limit),
                )
            paths = image_paths(posters.data)
            _, image_s = timed(effnet_features, paths, 224, weights)
            image_map = test_map(posters, "effnet-logreg")
            other = prepare(
                TASKS.get("multimodal-genre"),
                RunOptions(source="movielens-1m", data=args.data / "ml-1m", device="cpu"),
            )
            known = set(paths)
            other_paths = [p for p in image_paths(other.data) if p in known][::-1]
            before = STATS["effnet-lite0:miss"]
            _, reread_s = timed(effnet_features, other_paths, 224, weights)
            recomputed = STATS["effnet-lite0:miss"] - before
            texts = texts_of(overviews.data)
            _, text_s = timed(embed_texts, texts)
            text_map = test_map(overviews, "minilm-logreg")
        rows.append((image_map, text_map))
        print(
            f"{precision}: {len(paths)} posters: EfficientNet features {image_s:.0f} s cold "
            f"({len(paths) / image_s:.1f} img/s), effnet-logreg test mAP {image_map:.4f}; "
            f"multimodal-genre's {len(other_paths)} posters again, reversed: {reread_s:.2f} s, "
            f"{recomputed} recomputed | {len(texts)} overviews: MiniLM {text_s:.0f} s cold "
            f"({len(texts) / text_s:.1f} texts/s), minilm-logreg test mAP {text_map:.4f}",
            flush=True,
        )
    (image_bf16, text_bf16), (image_fp32, text_fp32) = rows
    del os.environ["MOVIEBENCH_PRECISION"]
    print(
        f"mAP BF16 - FP32: posters {image_bf16 - image_fp32:+.4f}, overviews {text_bf16 - text_fp32:+.4f} "
        f"(auto resolves to {inference_precision('cpu')} on this machine)"
    )


if __name__ == "__main__":
    main()
