"""`bench ls` and `bench --help` import no torch: the models' catalog lines come from a
snapshot stamped with the package's code, equal to what the rungs themselves say."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from moviebench import catalog
from moviebench.features.cache import cache_root
from moviebench.models import MODELS

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torchvision", "sklearn", "lightgbm", "xgboost", "sentence_transformers")


def imported_heavy(*args: str) -> tuple[set[str], str]:
    """The heavy packages `python -m moviebench ARGS` imports (by -X importtime), and its
    output."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "250"}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "moviebench", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    return {m for m in modules if m in HEAVY}, done.stdout


def test_the_snapshot_says_what_the_rungs_say() -> None:
    live = catalog.live_model_entries()
    assert [e["name"] for e in live] == MODELS.names()
    assert catalog.model_entries() == live  # written (this test's own cache root)
    assert list((cache_root() / "catalog").glob("models-*.json"))
    assert catalog.model_entries() == live  # read back
    budgets = {e["name"]: e["budgets"] for e in live}
    assert budgets["mlp"] and budgets["mlp"][0].startswith("≤30 epochs") and not budgets["logreg"]


def test_a_damaged_snapshot_is_read_again_from_the_rungs() -> None:
    path = cache_root() / "catalog" / f"models-{catalog.code_stamp()}.json"
    path.parent.mkdir(parents=True)
    path.write_text('[{"name": "only-this"}]')
    assert catalog.model_entries() == catalog.live_model_entries()
    assert "only-this" not in path.read_text()


def test_bench_ls_and_help_import_no_torch() -> None:
    catalog.model_entries()  # the snapshot, as the first listing after a change writes it
    heavy, listing = imported_heavy("ls")
    assert not heavy, f"bench ls imported {sorted(heavy)}"
    for name in MODELS.names():
        assert f" {name} " in listing, f"bench ls does not list {name}"
    assert "≤30 epochs (patience 5)" in listing  # the budgets table too
    heavy, _ = imported_heavy("--help")
    assert not heavy, f"bench --help imported {sorted(heavy)}"


@pytest.mark.parametrize("spec", ["plugins", "entry point"])
def test_plugin_models_are_read_live(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plugin's code is not in the package's stamp: its lines never come from a snapshot."""
    calls = []
    monkeypatch.setattr(catalog, "live_model_entries", lambda: calls.append(1) or [])
    if spec == "plugins":
        monkeypatch.setattr("moviebench.plugins._ACTIVE", ["x.py"])
    else:
        monkeypatch.setattr(catalog.metadata, "entry_points", lambda group: [group])
    catalog.model_entries()
    catalog.model_entries()
    assert len(calls) == 2 and not (cache_root() / "catalog").exists()
