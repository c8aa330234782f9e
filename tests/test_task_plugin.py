"""A task written outside the package composes the shared metadata features: a revenue-tercile
task as a --plugins file, its tercile edges learned on the training films alone, revenue
itself never a feature, run through `bench run` with no edit to moviebench."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from moviebench import api, plugins
from moviebench.cli import cli
from moviebench.errors import LeakageError
from moviebench.options import RunOptions
from moviebench.prepare import prepare
from moviebench.tasks import TASKS
from tests.datasets_fixtures import TMDB_5000_HEADER, json_list, write_csv

TASK_PLUGIN = '''
"""revenue-tercile: a film's metadata -> LOW / MID / HIGH box office, cut at the training
films' terciles."""
import numpy as np

from moviebench.targets import MULTICLASS
from moviebench.tasks import TaskData, TaskSpec, register_task
from moviebench.tasks.metadata import Metadata

CLASSES = ["LOW", "MID", "HIGH"]
# Films with a known revenue; every metadata feature but the revenue's own.
FEATURES = Metadata(require=("revenue",), exclude=("log_revenue",))


def build(table, source, options):
    table, X, notes = FEATURES.rows(table, source, options, "revenue-tercile")
    return TaskData(
        ids=table["movie_id"].to_numpy(),
        X=X,
        columns={"tabular": list(X.columns)},
        y=table["revenue"].to_numpy(dtype=float),  # cut into terciles by learn_labels
        labels=CLASSES,
        target=MULTICLASS,
        notes=notes,
    )


def learn_labels(data, train, settings):
    edges = np.quantile(data.y[train], [1 / 3, 2 / 3])
    data.y = np.digitize(data.y, edges)
    data.notes.insert(0, f"label: revenue terciles of the training films, {edges[0]:.0f} and {edges[1]:.0f}")
    return data


register_task(
    TaskSpec(
        name="revenue-tercile",
        description="metadata -> LOW / MID / HIGH revenue (terciles of the training films)",
        target=MULTICLASS,
        inputs=("tabular",),
        metrics=("macro_f1", "accuracy"),
        primary_metric="macro_f1",
        default_source="tmdb",
        sources=("tmdb",),
        columns=("movie_id", "revenue"),
        ladder=("majority", "logreg"),
        build=build,
        learn_labels=learn_labels,
        forbidden_features=(r".*revenue.*",),
    )
)
'''


@pytest.fixture
def task_file(tmp_path: Path) -> Iterator[Path]:
    """The plugin file; the task it registers and the module it loads are removed after."""
    TASKS.names()
    items, active, modules = dict(TASKS._items), list(plugins._ACTIVE), set(sys.modules)
    path = tmp_path / "revenue_task.py"
    path.write_text(textwrap.dedent(TASK_PLUGIN))
    yield path
    TASKS._items.clear()
    TASKS._items.update(items)
    plugins._ACTIVE[:] = active
    for name in set(sys.modules) - modules:
        if name.startswith("moviebench_plugin_"):
            del sys.modules[name]


def write_films(path: Path, n: int = 240, seed: int = 0, scale_ids: set[int] = frozenset()) -> Path:
    """TMDB 5000 rows: revenue grows with budget; every fifth film has no revenue, every
    seventh no votes or rating (a revenue task must keep those). `scale_ids`' revenues are
    multiplied by 1000."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(1, n + 1):
        budget = float(rng.integers(1, 100)) * 1e6
        revenue = budget * float(rng.lognormal(0.3, 0.6)) * (1000 if i in scale_ids else 1)
        rows.append(
            {
                "id": i,
                "title": f"Film {i}",
                "budget": int(budget),
                "revenue": "" if i % 5 == 0 else int(revenue),
                "runtime": int(rng.integers(80, 160)),
                "release_date": f"{rng.integers(1980, 2016)}-06-01",
                "original_language": "en",
                "popularity": float(rng.random() * 50),
                "genres": json_list("Drama" if i % 2 else "Comedy"),
                "vote_average": "" if i % 7 == 0 else round(float(rng.uniform(3, 9)), 1),
                "vote_count": "" if i % 7 == 0 else int(rng.integers(0, 5000)),
            }
        )
    return write_csv(path, TMDB_5000_HEADER, rows)


def test_a_revenue_tercile_plugin_runs_through_bench_run(task_file: Path, tmp_path: Path) -> None:
    films = write_films(tmp_path / "tmdb_5000_movies.csv")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["--plugins", str(task_file), "run", "--task", "revenue-tercile", "--source", "tmdb"]
        + ["--data", str(films), "--models", "majority,logreg", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    records = {r.model: r for r in api.board(out=out, task="revenue-tercile").records}
    assert set(records) == {"majority", "logreg"}
    assert all(r.status == "ok" for r in records.values()), [r.error for r in records.values()]

    prep = prepare(TASKS.get("revenue-tercile"), RunOptions(source="tmdb", data=films))
    features = prep.data.columns["tabular"]
    assert "log_budget" in features and "runtime" in features
    assert not [f for f in features if "revenue" in f]
    # The films without votes or a rating stay: only a missing revenue leaves a film out.
    assert len(prep.data) == 240 - 240 // 5
    assert any(n == "left out 48 films without revenue" for n in prep.data.notes)
    # Three classes of about a third each on the training films, where the edges come from.
    counts = np.bincount(prep.data.y[prep.split.train], minlength=3)
    assert counts.min() >= len(prep.split.train) // 3 - 1


def test_tercile_edges_are_learned_on_the_training_films_alone(
    task_file: Path, tmp_path: Path
) -> None:
    plugins.load([str(task_file)])
    spec = TASKS.get("revenue-tercile")
    (tmp_path / "a").mkdir()
    films = write_films(tmp_path / "a" / "tmdb_5000_movies.csv", seed=1)
    prep = prepare(spec, RunOptions(source="tmdb", data=films))
    held_out = {int(i) for i in prep.data.ids[np.r_[prep.split.val, prep.split.test]]}
    # The same films, validation and test revenues a thousand times larger: if any of them
    # were read, the edges (and so the training labels) would move.
    (tmp_path / "b").mkdir()
    moved = write_films(tmp_path / "b" / "tmdb_5000_movies.csv", seed=1, scale_ids=held_out)
    again = prepare(spec, RunOptions(source="tmdb", data=moved))
    assert np.array_equal(again.split.train, prep.split.train)
    assert np.array_equal(again.data.y[again.split.train], prep.data.y[prep.split.train])
    assert again.data.notes[0] == prep.data.notes[0]
    assert prep.data.notes[0].startswith("label: revenue terciles of the training films")
    # Held-out films are cut with the training edges: scaled up, they are all HIGH.
    assert (again.data.y[again.split.test] == 2).all()


def test_the_revenue_is_refused_as_a_feature(task_file: Path, tmp_path: Path) -> None:
    plugins.load([str(task_file)])
    films = write_films(tmp_path / "tmdb_5000_movies.csv")
    options = RunOptions(source="tmdb", data=films, features=("revenue",))
    with pytest.raises(LeakageError, match="feature 'revenue' is derived from the target"):
        prepare(TASKS.get("revenue-tercile"), options)


def test_data_inspect_shows_the_learned_labels(task_file: Path, tmp_path: Path) -> None:
    """`bench data inspect` learns the labels as a run does, on the default split's training
    films: three classes, not a count per revenue value."""
    plugins.load([str(task_file)])
    films = write_films(tmp_path / "tmdb_5000_movies.csv")
    report = api.inspect_source("tmdb", films)
    (entry,) = [t for t in report["tasks"] if t["task"] == "revenue-tercile"]
    balance = dict(entry["balance"])
    assert list(balance) == ["LOW", "MID", "HIGH"] and sum(balance.values()) == 192
    assert min(balance.values()) > 192 // 4
