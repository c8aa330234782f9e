"""One split per film across tasks, labels counted on train only, and `bench scale` cells that
are skipped only when the same settings made them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moviebench.options import DEFAULT_SPLIT_SEED, RunOptions
from moviebench.prepare import prepare
from moviebench.runner import RunRequest
from moviebench.scaling import run_scaling
from moviebench.splits import make_split
from moviebench.targets import MULTILABEL
from moviebench.tasks import TASKS, TaskOptions
from moviebench.tasks.image import PosterGenreSettings, build_poster_genre
from tests.fixtures import write_ggplot2_csv
from tests.test_fusion import write_movielens


def _parts(prep) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {film: part for part in ("train", "val", "test") for film in prep.part(part).ids}


def test_every_task_puts_a_film_in_the_same_part(tmp_path: Path) -> None:
    """poster-genre, title-genre and multimodal-genre on one MovieLens folder share the split:
    a film's part depends on the film (and the run's split seed), never on the task."""
    folder = write_movielens(tmp_path / "ml", n=150)
    options = RunOptions(source="movielens-1m", data=folder, settings={"min_label_count": "2"})
    preps = [
        prepare(TASKS.get(task), options)
        for task in ("poster-genre", "title-genre", "multimodal-genre")
    ]
    parts = [_parts(p) for p in preps]
    common = set(parts[0]) & set(parts[1]) & set(parts[2])
    assert len(common) > 100
    for film in common:
        assert parts[0][film] == parts[1][film] == parts[2][film]
    # Another split seed moves films, for every task alike.
    other = prepare(
        TASKS.get("title-genre"),
        RunOptions(
            source="movielens-1m", data=folder, split_seed=7, settings={"min_label_count": "2"}
        ),
    )
    assert other.split.hash != preps[1].split.hash


@pytest.mark.shared_data
def test_movielens_tasks_share_the_split(shared_data: Path) -> None:
    options = RunOptions(source="movielens-1m", data=shared_data / "ml-1m")
    preps = {
        task: prepare(TASKS.get(task), options)
        for task in ("poster-genre", "title-genre", "multimodal-genre")
    }
    parts = {task: _parts(p) for task, p in preps.items()}
    common = set.intersection(*(set(p) for p in parts.values()))
    assert len(common) > 3000
    assert all(len({parts[t][film] for t in parts}) == 1 for film in common)
    sizes = {
        task: tuple(len(p.split.part(x)) for x in ("train", "val", "test"))
        for task, p in preps.items()
    }
    print("split sizes (train, val, test):", sizes)


def test_poster_genre_counts_rare_genres_on_training_films_only(tmp_path: Path) -> None:
    """A genre common in validation and test but rare in training is left out: the test films
    never decide which labels exist."""
    ids = np.array([str(i) for i in range(300)])
    split = make_split(ids, DEFAULT_SPLIT_SEED)
    held_out = set(ids[split.val]) | set(ids[split.test])
    train_ids = list(ids[split.train])
    genres = []
    for i in ids:
        g = ["Drama"]
        if i in held_out or i in train_ids[:3]:
            g.append("Western")  # on every held-out film, on 3 training films
        genres.append(g)
    poster = tmp_path / "p.jpg"
    from PIL import Image

    Image.new("RGB", (8, 8), (10, 20, 30)).save(poster)
    table = pd.DataFrame({"movie_id": ids, "genres": genres, "poster": [str(poster)] * len(ids)})
    data = build_poster_genre(table, "movielens-1m", TaskOptions(settings=PosterGenreSettings()))
    assert "Western" in data.labels  # the build keeps every genre; the split decides
    kept, _ = MULTILABEL.prune_labels(
        "task poster-genre",
        data,
        make_split(data.split_key, DEFAULT_SPLIT_SEED),
        10,
        DEFAULT_SPLIT_SEED,
    )
    assert kept.labels == ["Drama"]
    assert any("Western (3)" in note for note in kept.notes)


def test_scale_skips_a_cell_only_when_the_same_settings_made_it(tmp_path: Path) -> None:
    csv = write_ggplot2_csv(tmp_path / "movies.csv", n=300)
    out = tmp_path / "out"

    def scale(**settings: str) -> list[dict]:
        req = RunRequest(
            task="tmdb-quality",
            options=RunOptions(data=csv, settings=settings),
            models=["logreg"],
            out=out,
        )
        return run_scaling(req, [0.5, 1.0])[0]

    first = scale()
    assert {(r.model, r.train_fraction) for r in first} == {
        (m, f) for m in ("majority", "logreg") for f in (0.5, 1.0)
    }
    assert all(
        r.status == "ok" and r.settings == {"min_votes": 10, "thresholds": None} for r in first
    )
    created = {r.path: Path(r.path).stat().st_mtime_ns for r in first}
    again = scale()
    assert {r.path: Path(r.path).stat().st_mtime_ns for r in again} == created  # all skipped
    changed = scale(thresholds="5.0,6.5")
    assert all(Path(r.path).stat().st_mtime_ns != created[r.path] for r in changed)
    assert all(r.settings["thresholds"] == [5.0, 6.5] for r in changed)
    half = next(r for r in changed if r.model == "logreg" and r.train_fraction == 0.5)
    full = next(r for r in changed if r.model == "logreg" and r.train_fraction == 1.0)
    assert half.n_train < full.n_train and half.n_test == full.n_test
