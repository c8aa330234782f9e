"""Models from outside moviebench: an entry-point plugin package made in a temporary folder
(a dist-info on sys.path, no pip), a --plugins file and a --models pkg.module:Class run as
built-in rungs do (serial, --jobs 2, Ray), carry their code in their identity and show on the
board marked as plugins; every error a worker raises pickles."""

from __future__ import annotations

import pickle
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from moviebench import api, plugins
from moviebench.cli import cli
from moviebench.errors import BadRequest, BenchError, DataError, LeakageError, UnknownNameError
from moviebench.models import MODELS
from moviebench.options import RunOptions
from tests.fixtures import write_ggplot2_csv

PLUGIN = '''
"""A user's rung: logistic regression with its own default C."""
from sklearn.linear_model import LogisticRegression

from moviebench.models.classical.tabular import SklearnTabular
from moviebench.targets import CLASSIFICATION


class UserLogReg(SklearnTabular):
    name = "{name}"
    summary = "a user's logistic regression"
    targets = CLASSIFICATION
    defaults = {{"C": {C}}}

    def classifier(self):
        return LogisticRegression(C=self.params["C"], max_iter=500, random_state=self.context.seed)
'''


def write_plugin(path: Path, name: str = "user-logreg", C: float = 1.0) -> Path:
    path.write_text(textwrap.dedent(PLUGIN.format(name=name, C=C)))
    return path


@pytest.fixture(autouse=True)
def _clean_registry() -> Iterator[None]:
    """Each test starts from the built-in models and no plugin; what it added is removed."""
    MODELS.names()  # built-ins register on import, once: load them before the snapshot
    items, loaded = dict(MODELS._items), MODELS._loaded
    modules = set(sys.modules)
    active = list(plugins._ACTIVE)
    yield
    MODELS._items.clear()
    MODELS._items.update(items)
    MODELS._loaded = loaded
    plugins._ACTIVE[:] = active
    for name in set(sys.modules) - modules:
        if name.startswith(("userplug", "moviebench_plugin_", "loose")):
            del sys.modules[name]


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A distribution `userplug` 0.3 with a `moviebench.models` entry point, on sys.path."""
    site = tmp_path / "site"
    (site / "userplug").mkdir(parents=True)
    module = write_plugin(site / "userplug" / "__init__.py")
    info = site / "userplug-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: userplug\nVersion: 0.3\n")
    (info / "top_level.txt").write_text("userplug\n")
    (info / "entry_points.txt").write_text(
        "[moviebench.models]\nuser-logreg = userplug:UserLogReg\n"
    )
    monkeypatch.syspath_prepend(str(site))
    MODELS._loaded = False  # read the entry points again, now that there is one
    return module


@pytest.fixture(scope="module")
def movies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_ggplot2_csv(tmp_path_factory.mktemp("data") / "movies.csv", n=300)


def run(movies: Path, out: Path, models: list[str], **kwargs: object) -> list:
    return api.run(
        "tmdb-quality", models=models, out=out, options=RunOptions(data=movies), **kwargs
    )


def by_model(records: list) -> dict:
    return {r.model: r for r in records}


@pytest.mark.parametrize(
    "error",
    [
        UnknownNameError("model", "lgreg", ["logreg", "ridge"]),
        BadRequest("both a model and a ladder"),
        DataError("movies.csv: no column 'title'"),
        LeakageError("feature 'rating' is the target"),
        plugins.PluginError("--plugins x.py: no such file"),
    ],
)
def test_every_bench_error_pickles(error: BenchError) -> None:
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) and str(again) == str(error)


def test_entry_point_model_is_listed_runs_and_is_marked_on_the_board(
    installed: Path, movies: Path, tmp_path: Path
) -> None:
    listing = CliRunner().invoke(cli, ["ls"])
    assert listing.exit_code == 0, listing.output
    assert "user-logreg" in listing.output
    records = by_model(run(movies, tmp_path / "out", ["user-logreg", "logreg"]))
    user, builtin = records["user-logreg"], records["logreg"]
    assert user.status == "ok", user.error
    assert user.family == "classical"
    # same pipeline, same C: the user's rung scores exactly what the built-in one does
    assert user.metrics == pytest.approx(builtin.metrics, abs=1e-12)
    code = user.identity["model_code"]
    assert code["class"] == "userplug.UserLogReg"
    assert code["distribution"] == {"name": "userplug", "version": "0.3"}
    assert len(code["source_hash"]) == 64
    assert "model_code" not in builtin.identity  # built-in code: the manifest's package stamp
    board = api.board(out=tmp_path / "out", task="tmdb-quality").render("md")
    row = next(line for line in board.splitlines() if "user-logreg" in line)
    assert "classical (plugin)" in row
    assert "classical (plugin)" not in next(
        line for line in board.splitlines() if "| logreg" in line
    )


def test_entry_point_model_skips_when_untouched_and_reruns_after_a_change(
    installed: Path, movies: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"

    def written() -> int:
        return next(out.rglob("user-logreg/seed-0.json")).stat().st_mtime_ns

    first = by_model(run(movies, out, ["user-logreg"]))["user-logreg"]
    stamp = written()
    again = by_model(run(movies, out, ["user-logreg"]))["user-logreg"]
    assert written() == stamp and again.identity == first.identity  # untouched: skipped
    cls = MODELS.get("user-logreg")
    cls.defaults = {"C": 0.01}  # a changed default
    changed = by_model(run(movies, out, ["user-logreg"]))["user-logreg"]
    assert written() != stamp and changed.params["C"] == 0.01
    stamp = written()
    installed.write_text(installed.read_text() + "\n# an edit to the plugin's code\n")
    edited = by_model(run(movies, out, ["user-logreg"]))["user-logreg"]
    assert written() != stamp
    assert (
        edited.identity["model_code"]["source_hash"]
        != changed.identity["model_code"]["source_hash"]
    )


def test_entry_point_model_under_two_jobs_matches_a_serial_run(
    installed: Path, movies: Path, tmp_path: Path
) -> None:
    serial = by_model(run(movies, tmp_path / "serial", ["user-logreg", "logreg"]))
    pooled = by_model(run(movies, tmp_path / "pool", ["user-logreg", "logreg"], jobs=2))
    for name, record in pooled.items():
        assert record.status == "ok", record.error
        assert record.metrics == pytest.approx(serial[name].metrics, abs=1e-12)
        assert record.identity == serial[name].identity


def test_plugins_file_runs_serial_and_in_two_jobs(movies: Path, tmp_path: Path) -> None:
    file = write_plugin(tmp_path / "loose_rung.py", name="loose-logreg")
    file.write_text(
        file.read_text() + "\nfrom moviebench.models import register_model\n"
        "register_model(UserLogReg)\n"
    )
    serial = CliRunner().invoke(
        cli,
        ["--plugins", str(file), "run", "--task", "tmdb-quality", "--models", "loose-logreg"]
        + ["--data", str(movies), "--out", str(tmp_path / "serial")],
    )
    assert serial.exit_code == 0, serial.output
    serial_records = by_model(api.board(out=tmp_path / "serial").records)
    pooled = by_model(run(movies, tmp_path / "pool", ["loose-logreg"], jobs=2, plugins=[str(file)]))
    assert pooled["loose-logreg"].status == "ok", pooled["loose-logreg"].error
    assert pooled["loose-logreg"].metrics == pytest.approx(
        serial_records["loose-logreg"].metrics, abs=1e-12
    )
    assert pooled["loose-logreg"].identity["model_code"]["distribution"] is None


def test_plugins_from_the_environment(
    movies: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = write_plugin(tmp_path / "loose_env.py", name="env-logreg")
    file.write_text(
        file.read_text() + "\nfrom moviebench.models import register_model\n"
        "register_model(UserLogReg)\n"
    )
    monkeypatch.setenv(plugins.ENV, str(file))
    listing = CliRunner().invoke(cli, ["ls"])
    assert listing.exit_code == 0 and "env-logreg" in listing.output


def test_models_names_an_unregistered_class(
    movies: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "loosepkg").mkdir()
    (tmp_path / "loosepkg" / "__init__.py").write_text("")
    write_plugin(tmp_path / "loosepkg" / "rungs.py", name="class-logreg")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = "loosepkg.rungs:UserLogReg"
    serial = by_model(run(movies, tmp_path / "serial", [spec]))
    pooled = by_model(run(movies, tmp_path / "pool", [spec], jobs=2))
    assert serial["class-logreg"].status == "ok", serial["class-logreg"].error
    assert pooled["class-logreg"].metrics == pytest.approx(
        serial["class-logreg"].metrics, abs=1e-12
    )
    assert serial["class-logreg"].identity["model_code"]["class"] == "loosepkg.rungs.UserLogReg"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--plugins", "nowhere.py", "ls"], "--plugins nowhere.py: no such file"),
        (["--plugins", "no_such_module_xyz", "ls"], "cannot import 'no_such_module_xyz'"),
        (
            ["run", "--task", "tmdb-quality", "--models", "moviebench.errors:BenchError"],
            "is not a moviebench Model subclass",
        ),
        (["run", "--task", "tmdb-quality", "--models", "moviebench.errors:Nope"], "has no 'Nope'"),
    ],
)
def test_bad_plugins_are_one_line_errors(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moviebench.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["bench", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2


def test_plugins_file_under_the_local_ray_executor_matches_a_serial_run(
    movies: Path, tmp_path: Path
) -> None:
    ray = pytest.importorskip("ray")
    from moviebench.executors import RayExecutor

    file = write_plugin(tmp_path / "loose_ray.py", name="ray-logreg")
    file.write_text(
        file.read_text() + "\nfrom moviebench.models import register_model\n"
        "register_model(UserLogReg)\n"
    )
    serial = by_model(run(movies, tmp_path / "serial", ["ray-logreg"], plugins=[str(file)]))
    ray.init(
        num_cpus=1, include_dashboard=False, object_store_memory=80 * 2**20, log_to_driver=False
    )
    try:
        remote = by_model(run(movies, tmp_path / "ray", ["ray-logreg"], executor=RayExecutor()))
    finally:
        ray.shutdown()
    record = remote["ray-logreg"]
    assert record.status == "ok", record.error
    assert record.executor["kind"] == "ray"
    assert record.metrics == pytest.approx(serial["ray-logreg"].metrics, abs=1e-12)
    assert record.identity == serial["ray-logreg"].identity


SOURCE_PLUGIN = '''
"""A user's source: a generated table in canonical columns, declared so tasks find it."""
import numpy as np
import pandas as pd

from moviebench.datasets import register_source
from moviebench.datasets.base import LoadedSource, LoadReport, SourceSpec

GENRES = ["Drama", "Comedy", "Action", "Horror"]
WORDS = {"Drama": "family tears", "Comedy": "jokes laugh", "Action": "guns chase",
         "Horror": "ghost blood"}


def load(path):
    rng = np.random.default_rng(0)
    n = 400
    genres = [[g for g in GENRES if rng.random() < 0.35] or ["Drama"] for _ in range(n)]
    overview = [" ".join(WORDS[g] for g in gs) + " story" for gs in genres]
    votes = np.exp(rng.uniform(3, 9, n)).astype(int)
    table = pd.DataFrame({
        "movie_id": [f"m{i}" for i in range(n)],
        "title": [f"Film {i}" for i in range(n)],
        "overview": overview,
        "genres": genres,
        "vote_count": votes,
        "vote_average": np.clip(4 + 0.3 * np.log(votes) + rng.normal(0, 0.5, n), 1, 10),
        "runtime": rng.integers(80, 160, n).astype(float),
        "year": rng.integers(1970, 2020, n).astype(float),
    })
    return LoadedSource(table=table, report=LoadReport(source="my-films", path=None, rows_read=n))


register_source(SourceSpec(
    name="my-films", description="a user's films", load=load, needs_path=False,
    columns=("movie_id", "title", "overview", "genres", "vote_count", "vote_average",
             "runtime", "year"),
))
'''


def test_a_plugin_source_serves_tasks_by_their_columns(tmp_path: Path) -> None:
    from moviebench.datasets import SOURCES
    from moviebench.prepare import prepare
    from moviebench.tasks import TASKS

    sources = dict(SOURCES._items)
    file = tmp_path / "loose_source.py"
    file.write_text(SOURCE_PLUGIN)
    try:
        listing = CliRunner().invoke(cli, ["--plugins", str(file), "ls"])
        assert listing.exit_code == 0, listing.output
        quality_row = next(line for line in listing.output.splitlines() if "tmdb-quality" in line)
        assert "my-films" in quality_row
        out = tmp_path / "out"
        quality = by_model(api.run("tmdb-quality", models=["logreg"], out=out, source="my-films"))
        assert quality["logreg"].status == "ok", quality["logreg"].error
        genre = by_model(
            api.run("overview-genre", models=["tfidf-logreg"], out=out, source="my-films")
        )
        assert genre["tfidf-logreg"].status == "ok", genre["tfidf-logreg"].error
        assert genre["tfidf-logreg"].source == "my-films"
        notes = prepare(TASKS.get("tmdb-quality"), RunOptions(source="my-films")).data.notes
        assert any("TMDB's, because source my-films declares none" in n for n in notes)
        with pytest.raises(BenchError, match="does not serve task tagline-title"):
            prepare(TASKS.get("tagline-title"), RunOptions(source="my-films"))
    finally:
        SOURCES._items.clear()
        SOURCES._items.update(sources)


def test_every_task_declares_the_columns_a_source_must_have() -> None:
    """Sources by columns: a new source with these columns serves the task unnamed."""
    from moviebench.datasets.base import SourceSpec
    from moviebench.tasks import TASKS

    for task in TASKS:
        assert task.columns and "movie_id" in task.columns, task.name
        stranger = SourceSpec("stranger", "", lambda p: None, needs_path=True, columns=task.columns)
        short = SourceSpec("short", "", lambda p: None, needs_path=True, columns=task.columns[:-1])
        assert task.serves(stranger) and not task.serves(short), task.name
