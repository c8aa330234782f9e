"""Loading built for a million rows: Arrow's CSV reader, per-cell decoding, column-wise task
building. Each test checks what the faster path must keep from the slower one."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moviebench.datasets import load_source
from moviebench.tasks import TASKS, TaskOptions
from moviebench.tasks.text import clean_titles, genre_matrix
from tests.datasets_fixtures import TMDB_V11_HEADER, write_csv

ROOT = Path(__file__).resolve().parents[1]


def _v11(path: Path, rows: list[dict]) -> Path:
    return write_csv(path, TMDB_V11_HEADER, rows)


def _film(i: int, **cells: str) -> dict:
    film = dict(id=str(i), title=f"Film {i}", genres="Drama", vote_average="6.5", vote_count="20")
    return {**film, **cells}


def test_one_stray_byte_is_repaired_in_its_cell_and_the_rest_stays_utf8(tmp_path: Path) -> None:
    path = _v11(
        tmp_path / "TMDB_movie_dataset_v11.csv",
        [_film(1, title="Amélie"), _film(2, overview="cafX")],
    )
    # One Latin-1 byte (é as 0xE9) in the second film's overview; the file is otherwise UTF-8.
    path.write_bytes(path.read_bytes().replace(b"cafX", b"caf\xe9"))

    loaded = load_source("tmdb", path)
    table, report = loaded.table.set_index("movie_id"), loaded.report
    assert table.loc["1", "title"] == "Amélie"  # not "AmÃ©lie": the file was not re-read as Latin-1
    assert table.loc["2", "overview"] == "café"
    assert not any("read as Latin-1" in n and "not UTF-8" in n for n in report.notes)
    (what,) = [k for k in report.repaired if "not UTF-8" in k]
    assert "overview" in what and "row(s) 2" in what and report.repaired[what] == 1


def test_a_file_with_no_utf8_text_is_read_as_latin1_as_before(tmp_path: Path) -> None:
    rows = [_film(1, title="Amélie"), _film(2, overview="Zoë's café")]
    path = write_csv(
        tmp_path / "TMDB_movie_dataset_v11.csv", TMDB_V11_HEADER, rows, encoding="latin-1"
    )
    loaded = load_source("tmdb", path)
    assert list(loaded.table["title"]) == ["Amélie", "Film 2"]
    assert loaded.table["overview"].iloc[1] == "Zoë's café"
    assert any("not UTF-8: read as Latin-1" in n for n in loaded.report.notes)


def test_lines_with_too_many_fields_are_dropped_and_counted(tmp_path: Path) -> None:
    too_many = ",".join(["9"] * (len(TMDB_V11_HEADER) + 3))
    path = write_csv(tmp_path / "v11.csv", TMDB_V11_HEADER, [_film(1), _film(2)], [too_many])
    report = load_source("tmdb", path).report
    assert report.rows_read == 3 and report.rows_kept == 2
    assert report.dropped["malformed line (wrong number of fields)"] == 1


@pytest.mark.parametrize(
    "title",
    [
        "American President, The (1995)",
        "Homme, L' (2001)",
        "Toy Story (1995)",
        "Se7en",
        "  padded  ",
        "Pages, Les",
        "The, The",
        "",
    ],
)
def test_column_title_cleaning_matches_the_one_title_rule(title: str) -> None:
    import re

    # the rule, written once more per title the slow way, as it was before the column version
    expected = re.sub(r"\s*\(\d{4}\)\s*$", "", title).strip()
    match = re.match(r"^(.*), (The|A|An|Les|La|Le|L'|Il|Das|Der|Die|El|Los|Las)$", expected)
    if match:
        head, article = match.groups()
        expected = f"{article}{'' if article.endswith(chr(39)) else ' '}{head}"
    assert list(clean_titles(pd.Series([title, "x (2000)"]))) == [expected, "x"]


def test_genre_matrix_reads_lists_and_treats_anything_else_as_no_genre() -> None:
    cells = pd.Series(
        [["Drama", "Action"], [], np.nan, [" ", "Drama"], None], index=[7, 3, 9, 1, 4]
    )
    labels, y = genre_matrix(cells)
    assert labels == ["Action", "Drama"]
    assert y.tolist() == [[1, 1], [0, 0], [0, 0], [0, 1], [0, 0]]  # in row order, index ignored
    assert y.dtype == np.int64 and genre_matrix(cells, dtype=np.int8)[1].dtype == np.int8


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="pyarrow not installed")
def test_generated_films_are_distinct_and_serve_every_metadata_and_text_task(
    tmp_path: Path,
) -> None:
    spec = importlib.util.spec_from_file_location(
        "scale_tmdb", ROOT / "benchmarks" / "scale_tmdb.py"
    )
    scale = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scale)
    path = scale.write(tmp_path / "TMDB_movie_dataset_v11.csv", rows=3_000, seed=1, chunk=1_000)

    table = load_source("tmdb", path).table
    assert len(table) == 3_000 and table["movie_id"].is_unique and table["overview"].is_unique
    # chunks are drawn from different seeds: no film repeats another's numbers
    numbers = table[["vote_average", "runtime", "popularity", "year"]]
    assert not numbers[table["vote_count"] > 0].duplicated().any()
    for name in ("tmdb-quality", "tmdb-rating", "overview-genre", "title-genre"):
        spec = TASKS.get(name)
        data = spec.build(table, "tmdb", TaskOptions(settings=spec.settings_type()))
        assert len(data) > 500, name


def test_every_jemalloc_arena_returns_freed_pages_at_once() -> None:
    """Decay 0 reaches the main thread's arena too (set before pyarrow starts jemalloc): with
    jemalloc's default it kept a text task's freed columns resident under later tasks."""
    code = (
        "import moviebench.datasets.common as c, pyarrow as pa\n"
        "pa.jemalloc_memory_pool().print_stats()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "JE_ARROW_MALLOC_CONF"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT
    )
    if "opt.dirty_decay_ms" not in done.stderr:
        pytest.skip("this pyarrow has no jemalloc")
    assert "opt.dirty_decay_ms: 0 " in done.stderr
    assert "opt.muzzy_decay_ms: 0 " in done.stderr
