"""Scale benchmark, frames part: F films x K frames of synthetic videos through frame-id.

Generates F distinct films (each its own colours and moving texture, never copies) as small
MPEG-4 videos with PyAV under `--workdir` (never committed), then measures, each stage in a
fresh feature cache:

- decode: the video-folder source's first load (sample K frames per film, write them);
- store: the frames' pixels into the per-item store (PNG decode + resize + batched writes);
- features: the HSV histograms hist-* rungs read, from the stored pixels;
- ladder: `python -m moviebench run --task frame-id --source video-folder` with `--models`
  (default: the cheap rungs; `--models all` for the whole quick ladder), as a user runs it;
- no-op rerun: the same command again, answered by the run manifest.

    PYTHONPATH=. python benchmarks/scale.py frames --films 800 --frames 50 --workdir /tmp/scale

Prints one JSON object of the figures (and writes it to `<workdir>/frames.json`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

VIDEO_SECONDS_PER_FRAME = 0.5  # a film of K frames is K/2 s long at 10 fps: 1 in 5 frames kept
FPS = 10


def make_films(folder: Path, films: int, frames: int) -> float:
    """F distinct synthetic films, written once (kept across runs of the same size)."""
    from moviebench.datasets.video_folder import write_synthetic_video

    t0 = time.perf_counter()
    done = folder / ".complete"
    if done.exists():
        return 0.0
    for i in range(films):
        write_synthetic_video(
            folder / f"film_{i:05d}.mp4",
            seed=i,
            seconds=frames * VIDEO_SECONDS_PER_FRAME,
            fps=FPS,
            size=(64, 48),
        )
    done.write_text("ok")
    return time.perf_counter() - t0


def bench_frames(args: argparse.Namespace) -> dict[str, object]:
    work = Path(args.workdir).resolve()
    videos = work / f"videos-{args.films}x{args.frames}"
    cache = work / f"cache-{args.films}x{args.frames}"
    out = work / f"out-{args.films}x{args.frames}"
    for folder in (cache, out):
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
    os.environ["MOVIEBENCH_CACHE"] = str(cache)
    generate = make_films(videos, args.films, args.frames)

    from moviebench.datasets import load_source
    from moviebench.features.images import pixels
    from moviebench.models.classical.image import hsv_histogram

    settings = {"frames_per_film": str(args.frames)}
    t0 = time.perf_counter()
    loaded = load_source("video-folder", videos, settings)
    decode = time.perf_counter() - t0
    n = len(loaded.table)
    paths = loaded.table["image"].tolist()

    t0 = time.perf_counter()
    stored = pixels(paths, args.size)
    store = time.perf_counter() - t0
    t0 = time.perf_counter()
    hsv_histogram(stored)
    features = time.perf_counter() - t0
    t0 = time.perf_counter()
    load_source("video-folder", videos, settings)
    reload = time.perf_counter() - t0

    command = [
        sys.executable, "-m", "moviebench", "run", "--task", "frame-id",
        "--source", "video-folder", "--data", str(videos), "--out", str(out),
        "--set", f"frames_per_film={args.frames}", "--device", "cpu",
        # films K/2 s long: 2 s blocks give each film ~K/4 blocks to deal over the parts
        "--set", f"block_seconds={args.block_seconds:g}",
    ]  # fmt: skip
    if args.models != "all":
        command += ["--models", args.models]
    env = {**os.environ, "MOVIEBENCH_CACHE": str(cache)}
    t0 = time.perf_counter()
    first = subprocess.run(command, env=env, capture_output=True, text=True)
    ladder = time.perf_counter() - t0
    if first.returncode != 0:
        raise SystemExit(f"ladder failed ({first.returncode}): {first.stderr[-2000:]}")
    t0, cpu0 = time.perf_counter(), _child_cpu()
    again = subprocess.run(command, env=env, capture_output=True, text=True)
    noop, noop_cpu = time.perf_counter() - t0, _child_cpu() - cpu0
    figures = {
        "films": args.films,
        "frames_per_film": args.frames,
        "frames": n,
        "generate_s": round(generate, 1),
        "decode_s": round(decode, 2),
        "decode_frames_per_s": round(n / decode, 1),
        "store_s": round(store, 2),
        "store_frames_per_s": round(n / store, 1),
        "features_s": round(features, 2),
        "features_frames_per_s": round(n / features, 1),
        "reload_s": round(reload, 2),
        "ladder_models": args.models,
        "ladder_s": round(ladder, 1),
        "noop_rerun_s": round(noop, 2),
        "noop_rerun_cpu_s": round(noop_cpu, 2),
        "noop_rc": again.returncode,
        "pixel_size": args.size,
        "block_seconds": args.block_seconds,
    }
    (work / "frames.json").write_text(json.dumps(figures, indent=1))
    return figures


def _child_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    frames = sub.add_parser("frames", help="F films x K frames of synthetic video")
    frames.add_argument("--films", type=int, default=800)
    frames.add_argument("--frames", type=int, default=50, help="frames sampled per film")
    frames.add_argument("--workdir", default="/tmp/moviebench-scale")
    frames.add_argument("--size", type=int, default=32, help="pixel size the store is filled at")
    frames.add_argument("--models", default="majority,hist-logreg", help="'all': the quick ladder")
    frames.add_argument(
        "--block-seconds", type=float, default=2.0, help="frame-id leak-guard blocks"
    )
    args = parser.parse_args()
    print(json.dumps(bench_frames(args), indent=1))


if __name__ == "__main__":
    main()
