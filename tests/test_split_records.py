"""Runs at two split seeds live side by side in one --out, each on its own board (issue #22)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moviebench import api, runner
from moviebench.options import DEFAULT_SPLIT_SEED
from moviebench.records import read_record, record_path
from tests.fixtures import bench, write_ggplot2_csv


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_ggplot2_csv(tmp_path / "movies.csv", n=200)


@pytest.fixture
def prepares(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The split seed of every run that loaded and prepared the data (the no-op rerun
    loads nothing)."""
    calls: list[int] = []
    real = runner.prepare

    def counting(spec, options):
        calls.append(options.split_seed)
        return real(spec, options)

    monkeypatch.setattr(runner, "prepare", counting)
    return calls


def run_at(capsys, monkeypatch, tiny: Path, out: Path, split_seed: int) -> str:
    code, stdout, err = bench(
        capsys,
        monkeypatch,
        "run",
        "--task",
        "tmdb-quality",
        "--data",
        str(tiny),
        "--models",
        "logreg",
        "--split-seed",
        str(split_seed),
        "--out",
        str(out),
    )
    assert code == 0, err
    return stdout


def board_at(capsys, monkeypatch, out: Path, *split: str) -> list[dict]:
    code, stdout, err = bench(
        capsys,
        monkeypatch,
        "leaderboard",
        "--task",
        "tmdb-quality",
        "--out",
        str(out),
        "--format",
        "json",
        *split,
    )
    assert code == 0, err
    return json.loads(stdout)


def states(out: Path) -> dict[Path, tuple[int, bytes]]:
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.rglob("seed-*.json")}


def test_two_split_seeds_keep_their_own_records_and_boards(capsys, monkeypatch, tiny, tmp_path):
    out = tmp_path / "results"
    run_at(capsys, monkeypatch, tiny, out, DEFAULT_SPLIT_SEED)
    first = states(out)
    stdout = run_at(capsys, monkeypatch, tiny, out, 3)

    assert states(out).items() >= first.items()  # split seed 2's records untouched
    records = {p.relative_to(out).parts[3:]: read_record(p) for p in out.rglob("seed-*.json")}
    assert set(records) == {
        ("majority", "seed-0.json"),
        ("logreg", "seed-0.json"),
        ("majority", "split-3", "seed-0.json"),
        ("logreg", "split-3", "seed-0.json"),
    }
    default_hash = records[("logreg", "seed-0.json")].split_hash
    other_hash = records[("logreg", "split-3", "seed-0.json")].split_hash
    assert default_hash != other_hash
    assert records[("logreg", "split-3", "seed-0.json")].options["split_seed"] == 3

    # The run's own board is its split's, and says which split it is.
    assert "(split seed 3)" in stdout and other_hash in stdout and default_hash not in stdout
    data_folder = records[("logreg", "seed-0.json")].path.parents[1]
    assert f"records in {data_folder}/" in stdout

    default_board = board_at(capsys, monkeypatch, out)
    other_board = board_at(capsys, monkeypatch, out, "--split-seed", "3")
    assert {r["split_hash"] for r in default_board} == {default_hash}
    assert {r["split_hash"] for r in other_board} == {other_hash}
    by_model = {r["model"]: r["primary"] for r in other_board}
    assert by_model == {
        "majority": records[("majority", "split-3", "seed-0.json")].primary,
        "logreg": records[("logreg", "split-3", "seed-0.json")].primary,
    }
    assert {r["model"]: r["primary"] for r in default_board} == {
        "majority": records[("majority", "seed-0.json")].primary,
        "logreg": records[("logreg", "seed-0.json")].primary,
    }

    # Every split at once (what `bench report` draws): each on its own board, never mixed.
    boards = api.board(out, "tmdb-quality", split_seed=None).boards
    assert {key: {r.split_hash for r in rows} for key, rows in boards.items()} == {
        ("tmdb-quality", "ggplot2movies"): {default_hash},
        ("tmdb-quality", "ggplot2movies (split seed 3)"): {other_hash},
    }

    code, table, _ = bench(
        capsys, monkeypatch, "leaderboard", "--task", "tmdb-quality", "--out", str(out)
    )
    assert code == 0 and "split seed" not in table  # the default split's board says nothing


def test_a_rerun_at_either_split_seed_is_current(capsys, monkeypatch, tiny, tmp_path, prepares):
    out = tmp_path / "results"
    run_at(capsys, monkeypatch, tiny, out, 2)
    run_at(capsys, monkeypatch, tiny, out, 3)
    assert prepares == [2, 3]  # split seed 3 after 2 trained: not "nothing to do"
    before = states(out)

    run_at(capsys, monkeypatch, tiny, out, 2)
    run_at(capsys, monkeypatch, tiny, out, 3)
    assert prepares == [2, 3]  # each split's manifest vouches for its records: nothing loaded
    assert states(out) == before  # nothing retrained or rewritten

    (out / "tmdb-quality" / ".run-manifest.json").unlink()  # the normal path agrees
    stdout = run_at(capsys, monkeypatch, tiny, out, 2)
    assert prepares == [2, 3, 2] and "skip logreg seed 0" in stdout
    assert states(out) == before


def test_a_record_of_the_old_layout_reads_as_the_default_split(capsys, monkeypatch, tiny, tmp_path):
    out = tmp_path / "results"
    run_at(capsys, monkeypatch, tiny, out, 2)
    path = next(out.rglob("logreg/seed-0.json"))
    old = json.loads(path.read_text())
    # Written before split seeds were stored: no layout version, no split seed in its options.
    del old["schema_version"], old["options"]["split_seed"]
    path.write_text(json.dumps(old))

    rows = {r["model"]: r for r in board_at(capsys, monkeypatch, out)}
    assert rows["logreg"]["primary"] == old["primary"]
    code, _, err = bench(
        capsys,
        monkeypatch,
        "leaderboard",
        "--task",
        "tmdb-quality",
        "--out",
        str(out),
        "--split-seed",
        "3",
    )
    assert code == 2 and "at split seed 3" in err and "--split-seed 3" in err


def test_the_default_split_keeps_its_record_path(tmp_path):
    args = (tmp_path, "tmdb-quality", "ggplot2movies", "logreg", 1, "8505c724deadbeef")
    today = tmp_path / "tmdb-quality" / "ggplot2movies" / "8505c724" / "logreg" / "seed-1.json"
    assert record_path(*args) == today
    assert record_path(*args, split_seed=DEFAULT_SPLIT_SEED) == today
    assert record_path(*args, split_seed=3) == today.parent / "split-3" / "seed-1.json"
    assert (
        record_path(*args, profile="full", split_seed=0)
        == today.parent / "profile-full" / "split-0" / "seed-1.json"
    )
    frac = record_path(*args, train_fraction=0.5, split_seed=3)
    assert frac.parent.name == "split-3" and frac.parts[len(tmp_path.parts)] == "scaling"


def test_a_default_split_run_writes_where_it_always_did(capsys, monkeypatch, tiny, tmp_path):
    out = tmp_path / "results"
    run_at(capsys, monkeypatch, tiny, out, DEFAULT_SPLIT_SEED)
    for path in out.rglob("seed-*.json"):
        record = read_record(path)
        assert path == record_path(
            out, record.task, record.source, record.model, record.seed, record.data_fingerprint
        )
