"""`mmimdb`: MM-IMDb's published layout read as it is, its damaged files counted, its parsed
table cached, and its own split (`--split official`) named in records and boards."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from moviebench.cli import cli
from moviebench.datasets import load_source
from moviebench.datasets.mmimdb import PUBLISHED, PUBLISHED_GENRES
from moviebench.errors import BenchError
from moviebench.features.cache import STATS
from moviebench.options import RunOptions
from moviebench.prepare import prepare
from moviebench.records import load_records
from moviebench.splits import OFFICIAL_COLUMN
from moviebench.tasks import TASKS
from tests.datasets_fixtures import write_mmimdb


@pytest.fixture
def mmimdb(tmp_path: Path) -> Path:
    return write_mmimdb(tmp_path / "mmimdb")


def test_the_published_layout_is_read_and_damage_counted(mmimdb: Path) -> None:
    loaded = load_source("mmimdb", mmimdb)
    table, report = loaded.table, loaded.report
    assert report.rows_read == 61  # 60 films and one id with no file
    assert report.dropped == {
        "id in split.json with no dataset/<id>.json": 1,
        "damaged dataset/<id>.json (not JSON, or no list of genres)": 1,
    }
    assert len(table) == 59
    assert report.images == {"found": 58, "missing": 1, "unreadable": 1}
    assert report.unreadable_images == [str(mmimdb / "dataset" / "1000002.jpeg")]
    # The main plot is the first; genres outside the published 23 are removed and counted.
    film = json.loads((mmimdb / "dataset" / "1000003.json").read_text())
    row = table.set_index("movie_id").loc["1000003"]
    assert row["overview"] == film["plot"][0] and row["title"] == film["title"]
    assert all(g in PUBLISHED_GENRES for genres in table["genres"] for g in genres)
    assert report.repaired == {"genre outside the published 23 removed: News (4)": 4}
    # dev is the validation part; the ids keep split.json's parts.
    split = json.loads((mmimdb / "split.json").read_text())
    parts = table.set_index("movie_id")[OFFICIAL_COLUMN]
    assert set(parts[parts == "val"].index) == set(split["dev"])
    assert any("88 plots" in note for note in report.notes)


def test_the_parsed_json_table_is_cached_and_a_changed_file_is_parsed_again(mmimdb: Path) -> None:
    STATS.clear()
    first = load_source("mmimdb", mmimdb)
    again = load_source("mmimdb", mmimdb)
    assert (STATS["mmimdb:miss"], STATS["mmimdb:hit"]) == (1, 1)
    assert again.fingerprint == first.fingerprint
    assert again.report.images == first.report.images  # posters checked on every load
    film = mmimdb / "dataset" / "1000010.json"
    record = json.loads(film.read_text())
    film.write_text(json.dumps({**record, "plot": ["An entirely new plot"]}))
    os.utime(film, ns=(1, 1))  # another size and mtime, whatever the clock's resolution
    changed = load_source("mmimdb", mmimdb)
    assert STATS["mmimdb:miss"] == 2
    row = changed.table.set_index("movie_id").loc["1000010"]
    assert row["overview"] == "An entirely new plot"
    assert changed.fingerprint != first.fingerprint


def test_missing_split_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "dataset").mkdir()
    with pytest.raises(BenchError, match="no split.json there"):
        load_source("mmimdb", tmp_path)


def test_inspect_counts_films_genres_plots_posters_and_damage(mmimdb: Path) -> None:
    result = CliRunner().invoke(
        cli, ["data", "inspect", "--source", "mmimdb", "--data", str(mmimdb)]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "59 films, 88 plots" in out
    assert "rows read 61, kept 59, dropped 2" in out
    assert "dropped 1: id in split.json with no dataset/<id>.json" in out
    assert "dropped 1: damaged dataset/<id>.json" in out
    assert "genre frequencies (4" in out
    assert "images: 58 found, 1 missing, 1 unreadable" in out
    for task in ("overview-genre", "title-genre", "poster-genre", "multimodal-genre"):
        assert f"{task} (multilabel)" in out


def test_the_official_split_is_the_sources_own_and_enters_the_identity(mmimdb: Path) -> None:
    spec = TASKS.get("overview-genre")
    official = prepare(spec, RunOptions(source="mmimdb", data=mmimdb, split="official"))
    split = json.loads((mmimdb / "split.json").read_text())
    ids = official.data.ids
    assert set(ids[official.split.val]) <= set(split["dev"])
    assert set(ids[official.split.test]) <= set(split["test"])
    assert set(ids[official.split.train]) <= set(split["train"])
    # Every published genre with a training positive is a label (no rare-genre pruning).
    assert official.settings.min_label_count == 1
    hashed = prepare(spec, RunOptions(source="mmimdb", data=mmimdb))
    assert hashed.split.hash != official.split.hash
    assert official.options.identity()["split"] == "official"
    assert "split" not in RunOptions().identity()  # the default leaves every record current


def test_official_split_on_a_source_without_one_is_refused() -> None:
    with pytest.raises(BenchError, match="declares no split of its own"):
        prepare(TASKS.get("title-genre"), RunOptions(split="official"))
    with pytest.raises(BenchError, match="--split random: choose one of hash, official"):
        RunOptions(split="random")


def test_the_whole_quick_ladder_runs_on_the_official_split(mmimdb: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["run", "--task", "multimodal-genre", "--source", "mmimdb", "--data", str(mmimdb)]
    args += ["--split", "official", "--epochs", "1", "--image-size", "32", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "multimodal-genre on mmimdb (split official)" in result.output
    records = load_records(out, "multimodal-genre")
    assert {r.model for r in records} == set(TASKS.get("multimodal-genre").ladder)
    assert all(r.status == "ok" for r in records), [(r.model, r.error) for r in records]
    assert all(r.options["split"] == "official" for r in records)
    assert all("split-official" in str(r.path) for r in records)
    assert {"micro_f1", "macro_f1", "samples_f1"} <= set(records[0].metrics)
    board = CliRunner().invoke(
        cli, ["leaderboard", "--out", str(out), "--task", "multimodal-genre"]
    )
    assert "mmimdb (split official)" in board.output
    # The report sets the literature's numbers under that board.
    from moviebench.report import write_markdown_report
    from moviebench.report_html import render_page

    page, _ = write_markdown_report(records, tmp_path / "report", out)
    text = page.read_text()
    section = text.split("## multimodal-genre on mmimdb (split official)")[1]
    assert "### Published numbers on the same split" in section
    assert all(p.model in section for p in PUBLISHED)
    assert "Arevalo et al. 2017" in section and "Kiela et al. 2019" in section
    assert "Published numbers on the same split" in render_page(records, {})


def test_repeated_splits_are_refused_on_the_official_split(mmimdb: Path) -> None:
    from moviebench import api

    with pytest.raises(BenchError, match="--split official is one split"):
        api.run(
            "overview-genre",
            options=RunOptions(source="mmimdb", data=mmimdb, split="official"),
            split_seeds=[1, 2],
        )
