"""`results/board.sh full --smoke` (results/suites/full-smoke.toml): the full-profile recipes
of every task with networks run (tiny epochs and images), so they cannot rot before a GPU
runs them for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.test_fusion import write_movielens

REPO = Path(__file__).resolve().parents[1]


def test_full_board_smoke_runs_every_network_at_the_full_profile(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_movielens(data / "ml-1m", n=90)
    out = tmp_path / "out"
    env = {
        **os.environ,
        "MOVIEBENCH_DATA": str(data),
        "MOVIEBENCH_CACHE": str(tmp_path / "cache"),
        "BENCH": f"{sys.executable} -m moviebench",
        "OMP_NUM_THREADS": "1",
    }
    done = subprocess.run(
        [
            "bash",
            str(REPO / "results" / "board.sh"),
            "full",
            "--smoke",
            str(out),
            "poster-genre",
            "tmdb-quality",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(p.read_text()) for p in out.rglob("seed-*.json")]
    by_model = {(r["task"], r["source"], r["model"]): r for r in records}
    # Without TMDB files that entry is skipped with a message; the bundled source runs.
    assert "tmdb-quality on tmdb" in done.stderr
    for key in [
        ("tmdb-quality", "ggplot2movies", "mlp"),
        ("tmdb-quality", "ggplot2movies", "cnn-lstm"),
        ("tmdb-quality", "ggplot2movies", "realmlp"),
        ("tmdb-quality", "ggplot2movies", "tabm"),
        ("poster-genre", "movielens-1m", "cnn4"),
        ("poster-genre", "movielens-1m", "resnet50"),
        ("poster-genre", "movielens-1m", "vgg16"),
    ]:
        record = by_model[key]
        assert record["status"] == "ok", record.get("error")
        assert record["profile"] == "full" and record["budget"]["epochs"] == 1
    assert all("profile-full" in str(p) for p in out.rglob("seed-*.json"))
    # The trivial baseline is on every board.
    assert ("poster-genre", "movielens-1m", "prior") in by_model
