"""Scale benchmark: TMDB tables of N rows (`tmdb`) and F films x K frames of synthetic
videos through frame-id (`frames`).

`tmdb`: for each N (default 10^4, 10^5, 10^6) a CSV of N distinct films in the v11 layout
(benchmarks/scale_tmdb.py, under `--workdir`, never committed), then, each in its own
process in a fresh cache, with its wall time, CPU time and peak RSS (os.wait4):

- load: `bench data inspect --source tmdb` (the parse, and the Parquet table cache written);
- ladder: `bench run --task tmdb-quality --source tmdb` with the default quick ladder (its load
  reads the cached table), with each rung's fit seconds from its record and what capped it.

Then the log-log slope of each stage over N (1: linear; 0: flat, e.g. a network at its step
cap). Prints a markdown table and writes `<workdir>/tmdb.json`.

    PYTHONPATH=. nice -n 5 python benchmarks/scale.py tmdb --rows 10000,100000,1000000

`--resample ../shared/data/tmdb-5000/tmdb_5000_movies.csv` writes the second kind of file:
TMDB 5000's own rows resampled into the v11 layout (real overview, tagline and keyword
lengths, ~670 MB at 10^6 rows; scale_tmdb.resampled).

`mmimdb`: a generated MM-IMDb folder of N films (JSON files, tiny JPEGs, split.json), and
`bench data inspect --source mmimdb` on it twice in one fresh cache (parse, then the cached
table): `python benchmarks/scale.py mmimdb --films 25959`.

`frames`: F films x K frames of synthetic videos through frame-id.

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
        "--set", f"frames_per_film={args.frames}", "--device", args.device,
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
    from moviebench.records import load_records

    rungs = {
        r.model: {"fit_s": round(r.fit_seconds or 0.0, 1), "status": r.status}
        for r in load_records(out)
    }
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
        "rungs": rungs,
        "device": args.device,
        "noop_rerun_s": round(noop, 2),
        "noop_rerun_cpu_s": round(noop_cpu, 2),
        "noop_rc": again.returncode,
        "pixel_size": args.size,
        "block_seconds": args.block_seconds,
    }
    (work / "frames.json").write_text(json.dumps(figures, indent=1))
    return figures


def _measured(command: list[str], env: dict[str, str], log: Path) -> dict[str, float]:
    """Run `command` to its end (output to `log`): its wall, CPU (user + system) seconds and
    peak RSS, of that process alone (os.wait4), not of everything else on the machine."""
    with log.open("w") as out:
        t0 = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - t0
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}), see {log}")
    return {
        "wall_s": round(wall, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
    }


def slope(sizes: list[int], seconds: list[float]) -> float | None:
    """The log-log slope of cost over size (least squares), None with fewer than 2 sizes."""
    import numpy as np

    pairs = [(n, s) for n, s in zip(sizes, seconds) if s and s > 0]
    if len(pairs) < 2:
        return None
    x, y = np.log([p[0] for p in pairs]), np.log([p[1] for p in pairs])
    return round(float(np.polyfit(x, y, 1)[0]), 2) + 0.0  # + 0.0: no "-0.0"


def bench_tmdb(args: argparse.Namespace) -> dict[str, object]:
    import shutil

    sys.path.insert(0, str(Path(__file__).parent))
    import scale_tmdb

    from moviebench.records import load_records
    from moviebench.tasks import TASKS

    work = Path(args.workdir).resolve()
    models = args.models or ",".join(TASKS.get("tmdb-quality").ladder)
    sizes, runs = [int(n) for n in args.rows.split(",")], []
    for n in sizes:
        kind = "real" if args.resample else "tmdb"
        csv = work / f"{kind}-{n}" / "TMDB_movie_dataset_v11.csv"
        if not csv.exists():  # generated once per size (and seed), kept across runs
            scale_tmdb.write(csv, n, rated_share=args.rated_share, resample=args.resample)
        cache, out = work / f"cache-{n}", work / f"out-{n}"
        for folder in (cache, out):
            shutil.rmtree(folder, ignore_errors=True)
        env = {**os.environ, "MOVIEBENCH_CACHE": str(cache)}
        bench = [sys.executable, "-m", "moviebench"]
        data = ["--source", "tmdb", "--data", str(csv)]
        load = _measured([*bench, "data", "inspect", *data], env, work / f"inspect-{n}.log")
        ladder = _measured(
            [*bench, "run", "--task", "tmdb-quality", *data, "--models", models, "--out", str(out)],
            env,
            work / f"ladder-{n}.log",
        )
        rungs = {
            r.model: {
                "fit_s": round(r.fit_seconds or 0.0, 1),
                "n_train": r.n_train,
                "capped": r.capped,
                "stopped_by": r.stopped_by,
                "status": r.status,
            }
            for r in load_records(out)
        }
        runs.append({"rows": n, "load": load, "ladder": ladder, "rungs": rungs})
        print(f"{n:,} rows: load {load}, ladder {ladder}", file=sys.stderr)
        (work / "tmdb-runs.json").write_text(json.dumps(runs, indent=1))  # so far
    stages = {
        "load wall": [r["load"]["wall_s"] for r in runs],
        "load cpu": [r["load"]["cpu_s"] for r in runs],
        "ladder wall": [r["ladder"]["wall_s"] for r in runs],
        "ladder cpu": [r["ladder"]["cpu_s"] for r in runs],
        **{
            f"fit {m}": [r["rungs"].get(m, {}).get("fit_s") for r in runs]
            for m in models.split(",")
        },
    }
    figures = {
        "rows": sizes,
        "models": models,
        "runs": runs,
        "slopes": {stage: slope(sizes, values) for stage, values in stages.items()},
    }
    (work / "tmdb.json").write_text(json.dumps(figures, indent=1))
    print(markdown(figures, stages))
    return figures


def markdown(figures: dict[str, object], stages: dict[str, list]) -> str:
    """The benchmarks/README.md table: one row per stage, one column per size, the slope."""
    runs = figures["runs"]
    head = ["stage", *(f"{r['rows']:,} rows" for r in runs), "log-log slope"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for stage, values in stages.items():
        cells = ["—" if v is None else f"{v:g}" for v in values]
        lines.append(f"| {stage} (s) | " + " | ".join(cells) + f" | {figures['slopes'][stage]} |")
    peak = [f"{r['load']['peak_rss_mb']:,} / {r['ladder']['peak_rss_mb']:,}" for r in runs]
    lines.append("| peak RSS, load / ladder (MB) | " + " | ".join(peak) + " | |")
    train = [str(next(iter(r["rungs"].values()), {}).get("n_train", "—")) for r in runs]
    lines.append("| training rows | " + " | ".join(train) + " | |")
    capped = [
        ", ".join(f"{m}: {v['capped']}" for m, v in r["rungs"].items() if v["capped"]) or "none"
        for r in runs
    ]
    lines.append("| caps that bound | " + " | ".join(capped) + " | |")
    return "\n".join(lines)


def bench_mmimdb(args: argparse.Namespace) -> dict[str, object]:
    """A generated MM-IMDb folder of N films (tests' write_mmimdb: JSON files, tiny JPEGs,
    split.json), then `bench data inspect --source mmimdb` twice in one fresh cache: the
    first parses every JSON file and checks every poster, the second reads the cached table
    (posters looked up and checked again, their verdicts memoised)."""
    import shutil

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.datasets_fixtures import write_mmimdb

    work = Path(args.workdir).resolve()
    folder = work / f"mmimdb-{args.films}"
    t0 = time.perf_counter()
    if not (folder / "split.json").exists():
        write_mmimdb(folder, args.films)
    generated = round(time.perf_counter() - t0, 1)
    cache = work / "cache-mmimdb"
    shutil.rmtree(cache, ignore_errors=True)
    env = {**os.environ, "MOVIEBENCH_CACHE": str(cache)}
    inspect = [sys.executable, "-m", "moviebench", "data", "inspect", "--source", "mmimdb"]
    inspect += ["--data", str(folder)]
    first = _measured(inspect, env, work / "mmimdb-first.log")
    second = _measured(inspect, env, work / "mmimdb-second.log")
    figures = {"films": args.films, "generate_s": generated, "first": first, "second": second}
    (work / "mmimdb.json").write_text(json.dumps(figures, indent=1))
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
    frames.add_argument("--device", default="cpu", help="the ladder's device: cpu or cuda")
    tmdb = sub.add_parser("tmdb", help="TMDB CSVs of N rows through tmdb-quality's ladder")
    tmdb.add_argument("--rows", default="10000,100000,1000000", help="sizes, comma-separated")
    tmdb.add_argument("--rated-share", type=float, default=0.9, help="films with votes")
    tmdb.add_argument("--workdir", default="/tmp/moviebench-scale")
    tmdb.add_argument("--models", default="", help="default: tmdb-quality's whole ladder")
    tmdb.add_argument(
        "--resample",
        type=Path,
        help="tmdb_5000_movies.csv: resample its rows (real text lengths) instead of synthetic films",
    )
    mm = sub.add_parser("mmimdb", help="a generated MM-IMDb folder: first and cached load")
    mm.add_argument("--films", type=int, default=25_959)
    mm.add_argument("--workdir", default="/tmp/moviebench-scale")
    args = parser.parse_args()
    if args.part == "mmimdb":
        print(json.dumps(bench_mmimdb(args), indent=1))
    elif args.part == "tmdb":
        bench_tmdb(args)
    else:
        print(json.dumps(bench_frames(args), indent=1))


if __name__ == "__main__":
    main()
