"""bench run --shard I/N: disjoint shares that together are exactly the unsharded run; and
--executor ray without Ray installed (the Ray runtime itself is tests/test_ray_executor.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from moviebench.cli import cli
from moviebench.errors import BenchError
from moviebench.options import RunOptions
from moviebench.records import load_records
from moviebench.runner import RunRequest, parse_shard, run
from tests.fixtures import write_ggplot2_csv

MODELS = ["logreg", "xgboost"]


def test_three_shards_into_one_folder_equal_the_unsharded_run(tmp_path: Path) -> None:
    movies = write_ggplot2_csv(tmp_path / "movies.csv", n=300)

    def request(out: Path, shard: tuple[int, int] | None = None) -> RunRequest:
        return RunRequest(
            task="tmdb-quality",
            options=RunOptions(data=movies),
            models=MODELS,
            seeds=[0, 1],
            out=out,
            shard=shard,
        )

    whole = {(r.model, r.seed): r for r in run(request(tmp_path / "whole"))}
    shares = [run(request(tmp_path / "sharded", (i, 3))) for i in range(3)]
    cells = [[(r.model, r.seed) for r in share] for share in shares]
    assert (
        all(cells) and sum(map(len, cells)) == len(whole) == 6
    )  # baseline, logreg, xgboost x 2 seeds
    assert len(set().union(*map(set, cells))) == 6  # disjoint
    stored = {(r.model, r.seed): r for r in load_records(tmp_path / "sharded")}
    assert stored.keys() == whole.keys()
    for key, record in whole.items():
        assert stored[key].status == record.status == "ok"
        assert stored[key].metrics == pytest.approx(record.metrics, abs=1e-12)
    # A rerun of one share finds its cells finished and trains nothing.
    again = run(request(tmp_path / "sharded", (1, 3)))
    assert [r.created for r in again] == [r.created for r in shares[1]]


def test_shard_is_validated() -> None:
    assert parse_shard("2/3") == (2, 3)
    for bad in ["3/3", "1", "a/b", "0/0", "-1/2"]:
        with pytest.raises(BenchError, match="--shard"):
            parse_shard(bad)
    result = CliRunner().invoke(cli, ["run", "--task", "tmdb-quality", "--shard", "4/2"])
    assert result.exit_code == 2 and "--shard" in result.output


def test_executor_ray_without_ray_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if not installed
    movies = write_ggplot2_csv(tmp_path / "movies.csv", n=200)
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--task",
            "tmdb-quality",
            "--data",
            str(movies),
            "--models",
            "logreg",
            "--executor",
            "ray",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 2 and "pip install 'moviebench[ray]'" in result.output
    assert "rows read" not in result.output  # refused before any data is loaded
