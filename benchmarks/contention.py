"""A network's fit with the machine to itself and beside one competing fit of the same kind.

    PYTHONPATH=. python benchmarks/contention.py [--data ../shared/data/ml-1m]
        [--task poster-genre] [--model cnn4] [--epochs 3] [--env OMP_WAIT_POLICY=ACTIVE ...]

Runs `python -m moviebench run` alone ("quiet"), then two copies at once ("contended"), each
into its own fresh `--out`, and prints each fit's seconds (the record's `fit_seconds`), the
contended / quiet ratio, the record's thread count and the load average (`uptime`) before
each phase. `--env` sets variables for the fits (e.g. OMP_WAIT_POLICY, OMP_NUM_THREADS);
repeat the script per setting, back to back, since the machine's other load moves.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def fit(args: argparse.Namespace, out: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "moviebench",
        "run",
        "--task",
        args.task,
        "--data",
        args.data,
        "--models",
        args.model,
        "--out",
        str(out),
    ]
    if args.epochs:
        command += ["--epochs", str(args.epochs)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def record_of(out: Path, model: str) -> dict:
    (path,) = [p for p in out.rglob("seed-0.json") if f"/{model}/" in str(p)]
    return json.loads(path.read_text())


def phase(args: argparse.Namespace, copies: int, env: dict[str, str]) -> list[dict]:
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        outs = [Path(tmp) / f"run-{i}" for i in range(copies)]
        started = time.perf_counter()
        procs = [fit(args, out, env) for out in outs]
        for p in procs:
            _, err = p.communicate()
            if p.returncode:
                sys.exit(f"contention: a fit failed: {err.decode()[-2000:]}")
        wall = time.perf_counter() - started
        records = [record_of(out, args.model) for out in outs]
    return [
        {
            "fit_seconds": r["fit_seconds"],
            "threads": r["threads"],
            "wall": wall,
            "load_before": load,
        }
        for r in records
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="../shared/data/ml-1m")
    parser.add_argument("--task", default="poster-genre")
    parser.add_argument("--model", default="cnn4")
    parser.add_argument("--epochs", type=int, default=3, help="0: the rung's declared budget")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the fits")
    parser.add_argument("--no-warmup", action="store_true", help="the pixels are stored already")
    args = parser.parse_args()
    env = {**os.environ, **dict(e.split("=", 1) for e in args.env)}
    if not args.no_warmup:
        phase(args, 1, env)  # warm-up: decodes the pixels into the store once
    quiet = phase(args, 1, env)[0]
    contended = phase(args, 2, env)
    worst = max(r["fit_seconds"] for r in contended)
    each = ", ".join(f"{r['fit_seconds']:.1f}" for r in contended)
    print(
        f"{args.model} on {args.task}, epochs {args.epochs or 'declared'}, env {args.env or '-'}: "
        f"quiet {quiet['fit_seconds']:.1f} s ({quiet['threads']} threads, load "
        f"{quiet['load_before'][0]:.2f}); contended "
        f"{each} s (load "
        f"{contended[0]['load_before'][0]:.2f}); ratio {worst / quiet['fit_seconds']:.2f}x"
    )


if __name__ == "__main__":
    main()
