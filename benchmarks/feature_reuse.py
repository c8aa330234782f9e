"""poster-genre then multimodal-genre from a cold feature store: what the second task reuses.

The image feature stage of a task is everything its ladder reads per poster before any
model trains: the decoded pixels at each rung's resolution, the colour histograms, and the
frozen EfficientNet features (Lite0 at 224 px; poster-genre also Lite2 at 260 px). This
script times that stage for poster-genre's films from an empty store, then for
multimodal-genre's films (the same posters, another task and order), and counts what the
second one had to compute. multimodal-genre's text side (MiniLM titles) is timed apart: it
is that task's own input, which title-genre on the same films would already have stored.

    PYTHONPATH=. python benchmarks/feature_reuse.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    os.environ["MOVIEBENCH_CACHE"] = tempfile.mkdtemp(prefix="feature-reuse-")

    # imported after MOVIEBENCH_CACHE is set, so every store lives in the fresh folder
    from moviebench.features.cache import STATS
    from moviebench.features.images import pixels
    from moviebench.features.pretrained_image import (
        LITE0_VARIANT,
        LITE2_VARIANT,
        effnet_features,
        packaged_weights,
    )
    from moviebench.features.text import embed_texts
    from moviebench.models import MODELS, RunContext
    from moviebench.models.classical.image import image_paths
    from moviebench.models.classical.text import texts_of
    from moviebench.options import RunOptions
    from moviebench.prepare import prepare
    from moviebench.tasks import TASKS

    def stage(task: str, extractors: list[tuple[str, int]]) -> tuple[float, int, list[str]]:
        prep = prepare(TASKS.get(task), RunOptions(source="movielens-1m", data=args.data / "ml-1m"))
        paths = image_paths(prep.data)
        misses_before = sum(v for k, v in STATS.items() if k.endswith(":miss"))
        started = time.perf_counter()
        for kind, size in extractors:
            if kind == "pixels":
                pixels(paths, size)
            elif kind == "hist":
                MODELS.get("hist-logreg")(context=RunContext()).features(prep.data)
            else:
                variant = {"lite0": LITE0_VARIANT, "lite2": LITE2_VARIANT}[kind]
                effnet_features(paths, size, packaged_weights(variant), variant=variant)
        seconds = time.perf_counter() - started
        computed = sum(v for k, v in STATS.items() if k.endswith(":miss")) - misses_before
        return seconds, computed, texts_of(prep.data) if task == "multimodal-genre" else []

    # What each ladder reads (tasks/image.py, tasks/multimodal.py; quick budgets in `bench ls`):
    # pixels for the networks at 64 (cnn4, resnet18/34), 48 (resnet50), 32 (vgg16), 224
    # (effnet-finetune), histograms, Lite0 at 224 and Lite2 at 260.
    poster = [("pixels", 64), ("pixels", 48), ("pixels", 32), ("pixels", 224), ("hist", 0)]
    poster += [("lite0", 224), ("lite2", 260)]
    multimodal = [("pixels", 64), ("hist", 0), ("lite0", 224)]
    first_s, first_n, _ = stage("poster-genre", poster)
    print(f"poster-genre image features, cold store: {first_s:.1f} s, {first_n} items computed")
    second_s, second_n, titles = stage("multimodal-genre", multimodal)
    print(
        f"multimodal-genre image features after it: {second_s:.2f} s, {second_n} items computed "
        f"({second_s / first_s:.3%} of the first)"
    )
    started = time.perf_counter()
    embed_texts(titles)
    print(
        f"multimodal-genre titles (MiniLM, its own input): {time.perf_counter() - started:.1f} s cold"
    )


if __name__ == "__main__":
    main()
