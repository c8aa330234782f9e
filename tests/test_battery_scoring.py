"""A contributor's-eye battery against honest scoring (issue 39): user rungs that cheat, crash,
edit their data, return odd shapes or values, or share a name; submissions that are
malformed or declared otherwise. Each case asserts what the harness does with it.

The model cases share two runs per task (every odd rung in one ladder, then `logreg` /
`ridge` last, compared with a clean run of it alone), so the battery stays cheap.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from moviebench import api
from moviebench.errors import BadRequest, DataError
from moviebench.models import MODELS, Model
from moviebench.records import Record, read_predictions
from moviebench.targets import CLASSIFICATION, REGRESSION
from tests.fixtures import bench, write_ggplot2_csv
from tests.test_cli import one_line_error

QUALITY, RATING, GENRE = "tmdb-quality", "tmdb-rating", "title-genre"


class UserRung(Model):
    """A user's rung that learns nothing: uniform class scores, or the training mean."""

    family = "classical"
    inputs = frozenset()
    targets = CLASSIFICATION | {REGRESSION}

    def fit(self, train: Any, val: Any) -> None:
        self.mean_ = float(np.mean(train.y)) if train.target == REGRESSION else None

    def scores(self, data: Any) -> np.ndarray:
        if self.mean_ is not None:
            return np.full(len(data), self.mean_)
        return np.full((len(data), data.n_outputs), 1 / data.n_outputs)

    def predict_scores(self, data: Any) -> Any:
        return self.answer(data, self.scores(data))

    def answer(self, data: Any, scores: np.ndarray) -> Any:
        return scores


def rung(name: str, **methods: Callable[..., Any]) -> type[Model]:
    return type(name.title().replace("-", ""), (UserRung,), {"name": name, **methods})


def edit_fit(edit: Callable[[Any], None]) -> Callable[..., None]:
    def fit(self: Any, train: Any, val: Any) -> None:
        UserRung.fit(self, train, val)
        edit(train)
        edit(val)

    return fit


def crash(self: Any, *args: Any) -> None:
    raise RuntimeError("the user's bug")


def saw(self: Any, data: Any, scores: np.ndarray) -> np.ndarray:
    self.fitted_["has_y"] = hasattr(data, "y")
    self.fitted_["fields"] = sorted(vars(data))
    return scores


def vandal_ids(self: Any, data: Any, scores: np.ndarray) -> np.ndarray:
    data.ids[:] = "forged"
    return scores


def vandal_scoring(part: Any) -> None:
    part.scoring["bins"] = [0.0, 0.1]


# name -> (rung, what the harness must make of it: a status and text the error holds)
QUALITY_CASES: dict[str, tuple[type[Model], str, str]] = {
    "cheat-y": (
        rung("cheat-y", answer=lambda self, data, s: np.eye(data.n_outputs)[data.y]),
        "failed",
        "LabelsHidden: the validation split's labels are not given to predict_scores",
    ),
    "cheat-look": (rung("cheat-look", answer=saw), "ok", ""),
    "crash-fit": (rung("crash-fit", fit=crash), "failed", "RuntimeError: the user's bug"),
    "crash-predict": (
        rung("crash-predict", predict_scores=crash),
        "failed",
        "RuntimeError: the user's bug",
    ),
    "returns-none": (rung("returns-none", answer=lambda self, d, s: None), "failed", "shape ()"),
    "returns-list": (rung("returns-list", answer=lambda self, d, s: s.tolist()), "ok", ""),
    "returns-text": (
        rung("returns-text", answer=lambda self, d, s: np.full(s.shape, "high")),
        "failed",
        "not an array of numbers",
    ),
    "one-column-more": (
        rung("one-column-more", answer=lambda self, d, s: np.hstack([s, s[:, :1]])),
        "failed",
        ", 4), expected (",
    ),
    "one-column-less": (
        rung("one-column-less", answer=lambda self, d, s: s[:, :2]),
        "failed",
        ", 2), expected (",
    ),
    "transposed": (rung("transposed", answer=lambda self, d, s: s.T), "failed", "shape (3, "),
    "one-row-short": (
        rung("one-row-short", answer=lambda self, d, s: s[:-1]),
        "failed",
        "predict_scores on the validation split: shape",
    ),
    "a-nan": (
        rung(
            "a-nan",
            answer=lambda self, d, s: np.where(np.arange(s.size).reshape(s.shape) == 4, np.nan, s),
        ),
        "failed",
        "1 of",
    ),
    "an-inf": (
        rung("an-inf", answer=lambda self, d, s: s + np.inf),
        "failed",
        "scores are NaN or infinite",
    ),
    "edits-labels": (rung("edits-labels", fit=edit_fit(lambda p: p.labels.reverse())), "ok", ""),
    "edits-columns": (
        rung("edits-columns", fit=edit_fit(lambda p: p.columns["tabular"].clear())),
        "ok",
        "",
    ),
    "edits-y": (rung("edits-y", fit=edit_fit(lambda p: p.y.fill(0))), "ok", ""),
    "edits-test-ids": (rung("edits-test-ids", answer=vandal_ids), "ok", ""),
}
RATING_CASES: dict[str, tuple[type[Model], str, str]] = {
    "value-column": (rung("value-column", answer=lambda self, d, s: s[:, None]), "ok", ""),
    "two-values": (
        rung("two-values", answer=lambda self, d, s: np.column_stack([s, s])),
        "failed",
        "(one value per film)",
    ),
    "edits-bins": (rung("edits-bins", fit=edit_fit(vandal_scoring)), "ok", ""),
}


@pytest.fixture(scope="module")
def csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_ggplot2_csv(tmp_path_factory.mktemp("data") / "movies.csv", n=200)


@pytest.fixture(scope="module")
def registry() -> Iterator[None]:
    MODELS.names()
    items = dict(MODELS._items)
    for cls, _, _ in [*QUALITY_CASES.values(), *RATING_CASES.values()]:
        MODELS.add(cls.name, cls)
    yield
    MODELS._items.clear()
    MODELS._items.update(items)


def _ladder(task: str, cases: dict, last: str, csv: Path, out: Path) -> dict[str, Record]:
    records = api.run(task, models=[*cases, last], out=out, data=csv)
    return {r.model: r for r in records}


@pytest.fixture(scope="module")
def quality(csv: Path, registry: None, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("quality")
    clean = api.run(QUALITY, models=["logreg"], out=out / "clean", data=csv)[-1]
    return {"clean": clean, **_ladder(QUALITY, QUALITY_CASES, "logreg", csv, out / "battery")}


@pytest.fixture(scope="module")
def rating(csv: Path, registry: None, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("rating")
    clean = api.run(RATING, models=["ridge"], out=out / "clean", data=csv)[-1]
    return {"clean": clean, **_ladder(RATING, RATING_CASES, "ridge", csv, out / "battery")}


def _holds(record: Record, status: str, says: str) -> None:
    assert record.status == status, record.error
    assert says in (record.error or ""), record.error


@pytest.mark.parametrize("name", list(QUALITY_CASES))
def test_a_user_rung_on_a_classification_board(name: str, quality: dict) -> None:
    _, status, says = QUALITY_CASES[name]
    _holds(quality[name], status, says)


@pytest.mark.parametrize("name", list(RATING_CASES))
def test_a_user_rung_on_a_regression_board(name: str, rating: dict) -> None:
    _, status, says = RATING_CASES[name]
    _holds(rating[name], status, says)


def test_a_scored_split_has_no_labels_to_find(quality: dict) -> None:
    fitted = quality["cheat-look"].fitted
    assert fitted["has_y"] is False and "y" not in fitted["fields"]


def test_the_rung_after_the_vandals_scores_as_if_alone(quality: dict, rating: dict) -> None:
    for board, last in ((quality, "logreg"), (rating, "ridge")):
        assert board[last].status == "ok"
        assert board[last].metrics == board["clean"].metrics
        assert board[last].labels == board["clean"].labels


def test_forged_test_ids_never_reach_the_stored_scores(quality: dict) -> None:
    stored = read_predictions(quality["edits-test-ids"].path)
    assert stored is not None and "forged" not in set(stored["ids"].tolist())
    assert list(stored["ids"]) == list(read_predictions(quality["logreg"].path)["ids"])


# ---- names -----------------------------------------------------------------------------------


def test_a_file_class_named_like_a_built_in_is_refused_in_one_line(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, csv: Path, tmp_path: Path
) -> None:
    (tmp_path / "same_name.py").write_text(
        "from moviebench.models.classical.tabular import LogReg\n\n\n"
        "class Mine(LogReg):\n    name = 'logreg'\n"
    )
    code, _, err = bench(
        capsys, monkeypatch, "run", "--task", QUALITY, "--data", str(csv),
        "--out", str(tmp_path / "out"), "--models", f"{tmp_path / 'same_name.py'}:Mine",
    )  # fmt: skip
    assert code == 2 and "'logreg'" in one_line_error(err)


def test_a_failing_file_class_named_as_typed_exits_1(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, csv: Path, tmp_path: Path
) -> None:
    (tmp_path / "nan_rung.py").write_text(
        textwrap.dedent(
            """
            import numpy as np
            from moviebench.models.classical.tabular import LogReg


            class NaNs(LogReg):
                name = "user-nans"

                def predict_scores(self, data):
                    return np.full((len(data), data.n_outputs), np.nan)
            """
        )
    )
    spec = f"{tmp_path / 'nan_rung.py'}:NaNs"
    code, _, err = bench(
        capsys, monkeypatch, "run", "--task", QUALITY, "--data", str(csv),
        "--out", str(tmp_path / "out"), "--models", spec,
    )  # fmt: skip
    assert code == 1
    assert f"error: 1 of 1 cell(s) failed: {spec} seed 0 (ScoreError: " in one_line_error(err)


# ---- submissions -----------------------------------------------------------------------------


def _export(task: str, csv: Path, folder: Path) -> pd.DataFrame:
    path = api.export_split(task, folder / f"{task}.csv", data=csv)
    split = pd.read_csv(path, dtype={"movie_id": str, "split_hash": str})
    return split[split["part"] != "train"].reset_index(drop=True)


@pytest.fixture(scope="module")
def exports(csv: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("exports")
    return {task: _export(task, csv, folder) for task in (QUALITY, GENRE, RATING)}


def submission(split: pd.DataFrame, scores: np.ndarray | None = None) -> pd.DataFrame:
    """Scores for every validation and test film; `scores` in label order (uniform by default)."""
    labels = [c[len("label:") :] for c in split.columns if c.startswith("label:")]
    frame = split[["movie_id", "split_hash"]].copy()
    if not labels:  # a regression
        frame["score"] = 6.0 if scores is None else scores
        return frame
    if scores is None:
        scores = np.full((len(split), len(labels)), 1 / len(labels))
    for j, label in enumerate(labels):
        frame[f"score:{label}"] = scores[:, j]
    return frame


def _probs(split: pd.DataFrame, seed: int = 0) -> np.ndarray:
    k = sum(c.startswith("label:") for c in split.columns)
    p = np.random.default_rng(seed).random((len(split), k)) + 0.1
    return p / p.sum(axis=1, keepdims=True)


def _edit_first(p: np.ndarray, value: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    p = p.copy()
    p[0] = value(p[0])
    return p


# name -> (task, scores from the split, --scores, None if it is scored, else what the error says)
SUBMISSIONS: dict[str, tuple[str, Callable[[pd.DataFrame], Any], str | None, str | None]] = {
    "row-sums-1.5": (
        QUALITY,
        lambda s: _edit_first(_probs(s), lambda r: r * 1.5),
        None,
        "sums to 1.5",
    ),
    "negative-probability": (
        QUALITY,
        lambda s: _edit_first(_probs(s), lambda r: r - r.max()),
        None,
        "has a negative score",
    ),
    "all-zero-row": (QUALITY, lambda s: _edit_first(_probs(s), lambda r: r * 0), None, "sums to 0"),
    "rounded-probabilities": (QUALITY, lambda s: _probs(s).round(4), None, None),
    "log-probabilities-declared": (QUALITY, lambda s: np.log(_probs(s)), "logits", None),
    "margins-declared-raw": (QUALITY, lambda s: 10 * _probs(s) - 3, "raw", None),
    "multilabel-above-one": (GENRE, lambda s: _probs(s) + 1, None, "outside [0, 1]"),
    "multilabel-raw-margins": (GENRE, lambda s: 2 * _probs(s) - 1, "raw", None),
    "multilabel-logits": (GENRE, lambda s: 4 * _probs(s) - 2, "logits", None),
    "regression-as-probabilities": (
        RATING,
        lambda s: None,
        "probabilities",
        "--scores probabilities: regression scores are read as raw",
    ),
}


@pytest.mark.parametrize("name", list(SUBMISSIONS))
def test_a_submission(
    name: str, exports: dict[str, pd.DataFrame], csv: Path, tmp_path: Path
) -> None:
    task, make, declared, refused = SUBMISSIONS[name]
    split = exports[task]
    path = tmp_path / "preds.csv"
    submission(split, make(split)).to_csv(path, index=False)
    if refused is not None:
        with pytest.raises(DataError) as err:
            api.score(task, path, name, out=tmp_path / "out", data=csv, scores=declared)
        assert refused in str(err.value) and "\n" not in str(err.value)
        return
    record = api.score(task, path, name, out=tmp_path / "out", data=csv, scores=declared)
    assert record.status == "ok", record.error
    assert np.isfinite(record.primary)


def test_logits_score_as_the_probabilities_they_came_from(
    exports: dict[str, pd.DataFrame], csv: Path, tmp_path: Path
) -> None:
    split = exports[QUALITY]
    p = _probs(split, seed=3)
    submission(split, p).to_csv(tmp_path / "p.csv", index=False)
    submission(split, np.log(p) + 7).to_csv(tmp_path / "l.csv", index=False)  # any offset
    a = api.score(QUALITY, tmp_path / "p.csv", "p", out=tmp_path / "out", data=csv)
    b = api.score(QUALITY, tmp_path / "l.csv", "l", out=tmp_path / "out", data=csv, scores="logits")
    assert b.metrics == pytest.approx(a.metrics, abs=1e-9)


def test_an_unknown_scores_kind_is_refused(exports: dict, csv: Path, tmp_path: Path) -> None:
    submission(exports[QUALITY]).to_csv(tmp_path / "u.csv", index=False)
    with pytest.raises(BadRequest, match="--scores odds: choose one of probabilities, logits, raw"):
        api.score(QUALITY, tmp_path / "u.csv", "u", out=tmp_path / "o", data=csv, scores="odds")
