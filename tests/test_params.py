"""Model params from the command line and the API (`--param MODEL.KEY=VALUE`,
`api.run(params=...)`): typed by the declared default, refused in one line naming the model
and the key before any data is loaded, part of the cell's identity, shown on the board."""

from __future__ import annotations

from pathlib import Path

import pytest

from moviebench import api, params, runner
from moviebench.cli import main
from moviebench.errors import BenchError
from moviebench.options import RunOptions
from tests.fixtures import write_ggplot2_csv


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    return write_ggplot2_csv(tmp_path / "movies.csv")


@pytest.fixture
def prepares(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = runner.prepare

    def counting(spec, options):  # type: ignore[no-untyped-def]
        calls.append(spec.name)
        return real(spec, options)

    monkeypatch.setattr(runner, "prepare", counting)
    return calls


def test_text_is_typed_by_the_declared_default() -> None:
    pairs = [
        "lightgbm.num_leaves=63",
        "lightgbm.learning_rate=1",
        "logreg.C=0.5",
        "mlp.epochs=3",  # a network's budget key
    ]
    assert params.check(params.parse_pairs(pairs)) == {
        "lightgbm": {"num_leaves": 63, "learning_rate": 1.0},
        "logreg": {"C": 0.5},
        "mlp": {"epochs": 3},
    }
    assert params.check({"lightgbm": {"num_leaves": 63}}) == {"lightgbm": {"num_leaves": 63}}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"lightgbm": {"nope": "1"}}, r"^--param lightgbm\.nope: lightgbm has no param 'nope'"),
        (
            {"lightgbm": {"num_leaves": "many"}},
            r"^--param lightgbm\.num_leaves='many': expected an integer",
        ),
        ({"lightgbm": {"num_leaves": 6.5}}, r"lightgbm\.num_leaves=6\.5: expected an integer"),
        ({"lightgbm": {"num_leaves": True}}, r"expected an integer"),
        ({"logreg": {"C": "nan"}}, r"^--param logreg\.C='nan': expected a finite number"),
        ({"lightgbmx": {"num_leaves": 3}}, r"^--param lightgbmx\.num_leaves: unknown model"),
    ],
)
def test_an_unknown_key_model_or_wrong_type_is_one_line(given: dict, message: str) -> None:
    with pytest.raises(BenchError, match=message) as err:
        params.check(given)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("pair", ["lightgbm=3", "num_leaves=3", ".x=1", "lightgbm.num_leaves"])
def test_a_malformed_pair_is_refused(pair: str) -> None:
    with pytest.raises(BenchError, match="expected MODEL.KEY=VALUE"):
        params.parse_pairs([pair])


def test_given_params_are_in_the_record_its_identity_and_the_board_label(
    tiny_csv: Path, tmp_path: Path, prepares: list[str]
) -> None:
    out = tmp_path / "out"
    options = RunOptions(source="ggplot2movies", data=tiny_csv)
    kw = {"models": ["logreg"], "out": out, "options": options}
    (_, default) = api.run("tmdb-quality", **kw)
    assert default.params_source == "defaults" and default.params["C"] == 1.0
    (_, given) = api.run("tmdb-quality", params={"logreg": {"C": 0.01}}, **kw)
    assert given.params["C"] == 0.01 and given.params_source == "api: C=0.01"
    assert given.identity["params"]["C"] == 0.01
    assert given.identity["params_source"] == "api: C=0.01"
    assert prepares == ["tmdb-quality"] * 2  # another identity: not the manifest's answer
    board = api.board(out, "tmdb-quality")
    assert "logreg (C=0.01)" in board.render("md")
    assert [
        r.params_source for r in api.run("tmdb-quality", params={"logreg": {"C": 0.01}}, **kw)
    ] == [
        "defaults",
        "api: C=0.01",
    ]
    assert prepares == ["tmdb-quality"] * 2  # unchanged rerun: the manifest answers


def _run_args(csv: Path, out: Path) -> list[str]:
    """`bench run` of majority and lightgbm on the tiny CSV, as the CLI tests give it."""
    return ["bench", "run", "--task", "tmdb-quality", "--data", str(csv), "--source",
            "ggplot2movies", "--models", "majority,lightgbm", "--out", str(out)]  # fmt: skip


def test_the_cli_refuses_an_unknown_param_in_one_line_before_loading(
    tiny_csv: Path,
    tmp_path: Path,
    prepares: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = _run_args(tiny_csv, tmp_path)
    monkeypatch.setattr("sys.argv", [*args, "--param", "lightgbm.nope=1"])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "lightgbm.nope" in err and "no param 'nope'" in err
    assert prepares == []


def test_the_cli_param_reaches_the_record_and_the_board(
    tiny_csv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = _run_args(tiny_csv, tmp_path)
    monkeypatch.setattr("sys.argv", [*args, "--param", "lightgbm.num_leaves=63"])
    main()
    assert "lightgbm (num_leaves=63)" in capsys.readouterr().out
    (record,) = [r for r in api.board(tmp_path, "tmdb-quality").records if r.model == "lightgbm"]
    assert record.params["num_leaves"] == 63 and record.params_source == "cli: num_leaves=63"


def test_params_and_tuned_are_not_taken_together(tiny_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="--param with --tuned"):
        api.run(
            "tmdb-quality",
            models=["logreg"],
            out=tmp_path,
            options=RunOptions(source="ggplot2movies", data=tiny_csv),
            params={"logreg": {"C": 0.5}},
            tuned=True,
        )
