"""The Parquet cache of canonical tables: a second load of the same file reads it, equal to
the parse in values, dtypes, report and fingerprint; any change of the file is a miss; a
damaged or unwritable cache falls back to parsing with a note."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from moviebench.datasets import load_source
from moviebench.datasets.table_cache import cache_key
from moviebench.features.cache import STATS, cache_root
from tests.datasets_fixtures import write_images
from tests.fixtures import write_ggplot2_csv
from tests.test_datasets_tmdb import tmdb_5000


def entries() -> list[Path]:
    return sorted((cache_root() / "tables").glob("*.parquet"))


def assert_same(a, b) -> None:
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
    assert list(a.table.dtypes.astype(str)) == list(b.table.dtypes.astype(str))
    assert a.report == b.report and a.root == b.root
    assert a.fingerprint == b.fingerprint


@pytest.mark.parametrize("source", ["tmdb", "ggplot2movies"])
def test_a_second_load_reads_the_cache_and_equals_the_parse(
    tmp_path: Path, source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if source == "tmdb":
        csv = tmdb_5000(tmp_path / "tmdb_5000_movies.csv")
    else:
        csv = write_ggplot2_csv(tmp_path / "movies.csv", n=50)
    STATS.clear()
    parsed = load_source(source, csv)
    assert STATS["table:miss"] == 1 and len(entries()) == 1
    cached = load_source(source, csv)
    assert STATS["table:hit"] == 1
    assert_same(parsed, cached)
    # The first load's fingerprint was computed lazily (by assert_same, after the write), so
    # the entry holds none; computing it left it beside the entry, and a later hit reads it
    # there instead of hashing its table again: the same fingerprint.
    fresh = load_source(source, csv)
    assert fresh.__dict__.get("fingerprint") == parsed.fingerprint
    # Another spelling of the same file is the same entry, its report naming this spelling.
    monkeypatch.chdir(tmp_path)
    relative = load_source(source, Path(csv.name))
    assert STATS["table:hit"] == 3 and relative.report.path == csv.name
    assert relative.root == (None if parsed.root is None else Path("."))


def test_a_changed_file_or_new_posters_folder_is_another_entry(tmp_path: Path) -> None:
    csv = tmdb_5000(tmp_path / "tmdb_5000_movies.csv")
    first = cache_key("tmdb", csv)
    load_source("tmdb", csv)
    csv.write_bytes(csv.read_bytes().replace(b"Avatar", b"Avatas"))
    assert cache_key("tmdb", csv) != first
    STATS.clear()
    changed = load_source("tmdb", csv)
    assert STATS["table:miss"] == 1 and "Avatas" in set(changed.table["title"].astype(str))
    # Posters beside the file: a new key, and a table naming files is never stored.
    before, unposted = entries(), cache_key("tmdb", csv)
    write_images(tmp_path / "posters", good=[f"{changed.table['movie_id'].iloc[0]}.jpg"])
    assert cache_key("tmdb", csv) != unposted
    with_posters = load_source("tmdb", csv)
    assert with_posters.table["poster"].notna().sum() == 1
    assert STATS["table:miss"] == 2 and entries() == before
    assert cache_key("tmdb", tmp_path) is None  # a folder is not cached


def test_a_damaged_entry_is_parsed_again_with_a_note(tmp_path: Path) -> None:
    csv = tmdb_5000(tmp_path / "tmdb_5000_movies.csv")
    parsed = load_source("tmdb", csv)
    (entry,) = entries()
    entry.write_bytes(b"not parquet at all")
    STATS.clear()
    again = load_source("tmdb", csv)
    assert STATS["table:miss"] == 1
    assert any("unreadable" in n and "parsed" in n for n in again.report.notes)
    pd.testing.assert_frame_equal(parsed.table, again.table)
    assert again.fingerprint == parsed.fingerprint
    assert load_source("tmdb", csv).report == parsed.report  # rewritten: a clean hit again


def test_an_unwritable_cache_only_costs_the_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv = tmdb_5000(tmp_path / "tmdb_5000_movies.csv")
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "tables").write_text("a file where the folder should be")
    monkeypatch.setenv("MOVIEBENCH_CACHE", str(blocked))
    loaded = load_source("tmdb", csv)
    assert any(n.startswith("table cache not written") for n in loaded.report.notes)
    assert len(loaded.table) and loaded.fingerprint


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOVIEBENCH_TABLE_CACHE", "0")
    load_source("tmdb", tmdb_5000(tmp_path / "tmdb_5000_movies.csv"))
    assert entries() == []


def test_a_remembered_fingerprint_is_used_only_when_it_fits(tmp_path: Path) -> None:
    """A hit takes the fingerprint a run computed on the same entry; a damaged one, or one
    written for another number of rows, is ignored and the table hashed again."""
    csv = tmdb_5000(tmp_path / "tmdb_5000_movies.csv")
    parsed = load_source("tmdb", csv)
    (entry,) = entries()
    remembered = entry.with_suffix(".fingerprint")
    assert not remembered.exists()
    expected = parsed.fingerprint  # computed now: written beside the entry
    assert remembered.read_text().split()[:2] == [str(len(parsed.table)), expected]
    for damage in (
        "garbage",
        f"{len(parsed.table) + 1} {expected}",
        f"{len(parsed.table)} 0123456789abcdeg",
    ):
        remembered.write_text(damage)
        hit = load_source("tmdb", csv)
        assert "fingerprint" not in hit.__dict__
        assert hit.fingerprint == expected  # hashed again, and remembered again
        assert remembered.read_text().split()[:2] == [str(len(parsed.table)), expected]


def test_a_remembered_fingerprint_with_one_digit_changed_is_not_trusted(tmp_path: Path) -> None:
    """The remembered fingerprint carries a seal of its own content: a changed digit (or a
    file copied from another entry) is hashed again with a note, and the data identity of
    unchanged data never moves."""
    csv = tmdb_5000(tmp_path / "tmdb_5000_movies.csv")
    expected = load_source("tmdb", csv).fingerprint
    (entry,) = entries()
    remembered = entry.with_suffix(".fingerprint")
    rows, fingerprint, seal = remembered.read_text().split()
    digit = "1" if fingerprint[-1] != "1" else "2"
    remembered.write_text(f"{rows} {fingerprint[:-1]}{digit} {seal}\n")
    hit = load_source("tmdb", csv)
    assert hit.fingerprint == expected
    assert any("fingerprint" in note and "damaged" in note for note in hit.report.notes)
    assert remembered.read_text().split() == [rows, fingerprint, seal]  # remembered again
