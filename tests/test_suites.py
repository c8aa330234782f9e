"""Suites as data (`bench run --suite FILE`, moviebench.suites): the committed suite files
hold the cells results/ is made of, a suite runs as `bench run` would (params, shards), and
a bad file is one line naming the file and the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moviebench import api
from moviebench.cli import main
from moviebench.errors import BenchError
from moviebench.suites import SuiteError, expand, load
from moviebench.tasks import TASKS
from tests.fixtures import write_ggplot2_csv

REPO = Path(__file__).resolve().parents[1]
SUITES = REPO / "results" / "suites"


@pytest.fixture
def all_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """MOVIEBENCH_DATA with every path the suites name (empty files: nothing is loaded)."""
    root = tmp_path / "data"
    (root / "tmdb-5000").mkdir(parents=True)
    (root / "tmdb-5000" / "tmdb_5000_movies.csv").write_text("")
    (root / "ml-1m").mkdir()
    monkeypatch.setenv("MOVIEBENCH_DATA", str(root))
    return root


def test_the_baseline_suite_is_the_committed_baselines_cells(all_data: Path) -> None:
    """CI reruns baseline.toml and `bench check` compares it with results/baseline: the same
    (task, source, model) cells, model seed 0, the default split, the quick profile."""
    committed = json.loads((REPO / "results" / "baseline" / "baseline.json").read_text())
    suite = load(SUITES / "baseline.toml")
    assert not suite.skipped
    cells = {(i.task, i.source, m) for i in suite.items for m in i.models or ()}
    assert cells == {(r["task"], r["source"], r["model"]) for r in committed}
    assert {r["seed"] for r in committed} == {0}
    for item in suite.items:
        assert item.seeds == [0] and item.split_seeds is None and item.profile == "quick"
        assert item.data is None or str(item.data).startswith(str(all_data))


def test_the_board_suite_runs_each_ladder_then_the_cheap_rungs_on_three_seeds_and_splits(
    all_data: Path,
) -> None:
    suite = load(SUITES / "board.toml")
    assert suite.out == Path("results/board")
    baseline = load(SUITES / "baseline.toml").items
    boards = len(baseline)
    ladder, seeds, splits = (
        suite.items[:boards],
        suite.items[boards : 2 * boards],
        suite.items[2 * boards :],
    )
    assert [i.models for i in ladder] == [None] * boards  # the task's own ladder, not restated
    assert [i.models for i in seeds] == [i.models for i in baseline]
    assert all(i.seeds == [0, 1, 2] for i in seeds)
    assert all(i.split_seeds == [1, 3] and "cnn-lstm" not in (i.models or ()) for i in splits)


def test_the_full_suites_cover_every_task_with_networks(all_data: Path) -> None:
    full = load(SUITES / "full.toml")
    assert all(i.profile == "full" and i.models is None for i in full.items)
    smoke = load(SUITES / "full-smoke.toml")
    assert {i.task for i in smoke.items} == {i.task for i in full.items}
    assert all(i.epochs == 1 for i in smoke.items)
    image = [i for i in smoke.items if i.task in ("poster-genre", "multimodal-genre")]
    assert image and all(i.settings == {"image_size": "32"} for i in image)


def test_a_board_on_missing_data_is_skipped_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOVIEBENCH_DATA", str(tmp_path / "nowhere"))
    suite = load(SUITES / "baseline.toml")
    assert {(i.task, i.source) for i in suite.items} == {
        ("tmdb-quality", "ggplot2movies"),
        ("tmdb-rating", "ggplot2movies"),
        ("title-genre", "ggplot2movies"),
    }
    assert any("skipping tmdb-quality on tmdb" in note for note in suite.skipped)


def test_variables_expand_with_their_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOVIEBENCH_TEST_VAR", raising=False)
    assert expand("${MOVIEBENCH_TEST_VAR:-../shared}/x") == "../shared/x"
    monkeypatch.setenv("MOVIEBENCH_TEST_VAR", "/d")
    assert expand("${MOVIEBENCH_TEST_VAR:-../shared}/x") == "/d/x"


def write_suite(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(body)
    return path


GOOD = """
board = [{ task = "tmdb-quality", source = "ggplot2movies", data = "csv", cheap = ["logreg"] }]
[data]
csv = "CSV"
[[run]]
models = "cheap"
"""


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("[[run]]\nseedz = [0]\n", "run 1.seedz: unknown key"),
        (GOOD + "seeds = [0, 'one']\n", "run 1.seeds: expected a list of integers"),
        (
            GOOD.replace('models = "cheap"', 'models = ["logreg", "ridge"]'),
            "run 1.models: model 'ridge' cannot run task tmdb-quality",
        ),
        (GOOD.replace('"tmdb-quality"', '"tmdb-qualty"'), "board 1: unknown task 'tmdb-qualty'"),
        (
            GOOD.replace('data = "csv"', 'data = "tmdb"'),
            "board 1.data: 'tmdb' is not a name of [data]",
        ),
        (
            GOOD + "params = { lightgbm = { nope = 1 } }\n",
            "run 1.params lightgbm.nope: lightgbm has no param 'nope'",
        ),
        (GOOD + "profile = 'fast'\n", "run 1.profile: expected one of"),
        ("outt = 'x'\n" + GOOD, "outt: unknown key"),
        ("board = [\n", "not valid TOML"),
        ("include = 'other.toml'\n" + GOOD, "cannot read the suite"),
    ],
)
def test_a_bad_suite_is_one_line_naming_the_file_and_the_key(
    tmp_path: Path, body: str, where: str
) -> None:
    path = write_suite(tmp_path, body)
    with pytest.raises(SuiteError) as err:
        load(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path.parent)) and where in message


def test_a_suite_runs_its_cells_with_params_and_shards(tmp_path: Path) -> None:
    csv = write_ggplot2_csv(tmp_path / "movies.csv")
    body = GOOD.replace("CSV", str(csv)) + "seeds = [0, 1]\nparams = { logreg = { C = 0.5 } }\n"
    path = write_suite(tmp_path, body)
    whole = api.run_suite(path, out=tmp_path / "out")
    assert sorted((r.model, r.seed) for r in whole) == [
        ("logreg", 0), ("logreg", 1), ("majority", 0), ("majority", 1)
    ]  # fmt: skip
    logreg = [r for r in whole if r.model == "logreg"]
    assert all(r.params["C"] == 0.5 and r.params_source == "suite: C=0.5" for r in logreg)
    shares = [api.run_suite(path, out=tmp_path / "out", shard=(i, 2)) for i in range(2)]
    assert sorted((r.model, r.seed) for share in shares for r in share) == sorted(
        (r.model, r.seed) for r in whole
    )
    assert all(len(share) == 2 for share in shares)


def test_the_cli_takes_a_suite_and_refuses_run_options_beside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    csv = write_ggplot2_csv(tmp_path / "movies.csv")
    path = write_suite(tmp_path, GOOD.replace("CSV", str(csv)))
    monkeypatch.setattr("sys.argv", ["bench", "run", "--suite", str(path), "--seeds", "1"])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 2 and "--seeds" in capsys.readouterr().err
    monkeypatch.setattr(
        "sys.argv", ["bench", "run", "--suite", str(path), "--out", str(tmp_path / "out")]
    )
    main()
    captured = capsys.readouterr()
    assert "== bench run --task tmdb-quality" in captured.err
    assert "1 run(s), 2 cell(s)" in captured.out


def test_suites_name_rungs_the_tasks_run(all_data: Path) -> None:
    """No suite restates a task's ladder: the ladder runs as `models = "ladder"`."""
    for file in SUITES.glob("*.toml"):
        for item in load(file).items:
            assert item.models != list(TASKS.get(item.task).ladder), (file.name, item.task)


def test_run_suite_refuses_a_task_it_does_not_hold(all_data: Path) -> None:
    with pytest.raises(BenchError, match="no board of task frame-id"):
        load(SUITES / "baseline.toml", tasks=["frame-id"])


def test_also_adds_a_rung_to_every_board_whose_task_it_runs(tmp_path: Path) -> None:
    """How a new rung joins the board: one name in board.toml's `also`."""
    from moviebench.models import MODELS, Model, register_model

    class NewRung(Model):  # a rung in no task's ladder, for classes from metadata
        name = "test-suite-new-rung"
        family = "classical"
        inputs = frozenset({"tabular"})
        targets = frozenset({"multiclass"})

    if NewRung.name not in MODELS:
        register_model(NewRung)
    csv = write_ggplot2_csv(tmp_path / "movies.csv")
    body = GOOD.replace("CSV", str(csv)).replace('models = "cheap"', 'models = "ladder"')
    body = body.replace(
        'data = "csv", ', 'data = "csv" },\n  { task = "title-genre", source = "ggplot2movies", '
    )
    suite = load(write_suite(tmp_path, body + f'also = ["{NewRung.name}"]\n'))
    by_task = {i.task: i.models for i in suite.items}
    assert by_task["tmdb-quality"] == [*TASKS.get("tmdb-quality").ladder, NewRung.name]
    assert by_task["title-genre"] is None  # it cannot run titles: that board keeps its ladder
    with pytest.raises(SuiteError, match=r"run 1\.also: unknown model 'nope'"):
        load(write_suite(tmp_path, body + 'also = ["nope"]\n'))


def test_a_suite_plan_lists_every_run_and_split_and_trains_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`bench run --suite FILE --plan` once ran the whole suite: it must only plan."""
    csv = write_ggplot2_csv(tmp_path / "movies.csv")
    body = GOOD.replace("CSV", str(csv)) + "seeds = [0, 1]\nsplit_seeds = [1, 3]\n"
    path = write_suite(tmp_path, body)
    out = tmp_path / "out"
    monkeypatch.setattr(
        "sys.argv", ["bench", "run", "--suite", str(path), "--out", str(out), "--plan"]
    )
    main()
    printed = capsys.readouterr().out
    assert not out.exists()  # nothing trained, nothing written
    assert "split seed 1" in printed and "split seed 3" in printed
    assert "suite: 8 cell(s)" in printed  # (majority, logreg) x 2 seeds x 2 splits
