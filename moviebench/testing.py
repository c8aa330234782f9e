"""Checks a model author can run: `check_model(MyModel)` runs the battery that moviebench's
own tests run on every built-in rung, in the spirit of scikit-learn's `check_estimator`.

The battery:

- the params contract: `params` are the defaults updated by what was asked for, unknown
  params are refused, `fitted_` starts empty, and the search space tunes only params;
- on a tiny generated table (no download, a few hundred films) and each task of it whose
  target kind and inputs the model accepts (tmdb-quality: multiclass on tabular inputs;
  tmdb-rating: regression; title-genre: multi-label on titles), `fit` never changes params,
  `fitted_` is JSON-able, and `predict_scores` gives one finite row per film of the right
  shape (class probabilities summing to one for multiclass); `predict_scores` is given the
  test split without labels, as in a run (a model that reads them fails), and neither `fit`
  nor `predict_scores` may edit the data it is given in place;
- determinism: two fits at one seed give the same scores.

A failed check raises `ModelCheckFailed` (an AssertionError, so pytest shows it as a failed
test) whose message names the model, the task and what went wrong.
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from moviebench.models.base import Model, RunContext

# The tasks a generated ggplot2-layout table serves, one per target kind it can give.
FIXTURE_TASKS = ("tmdb-quality", "tmdb-rating", "title-genre")


class ModelCheckFailed(AssertionError):
    """A model that breaks the Model contract: the message says which rule and where."""


class LowTrial:
    """An Optuna trial stand-in that answers every suggestion with its low end (or the
    first choice), so a search space can be read without a study."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def _low(self, name: str, low: Any, *args: Any, **kwargs: Any) -> Any:
        self.asked.append(name)
        return low

    suggest_float = suggest_int = _low

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        self.asked.append(name)
        return choices[0]


def write_ggplot2_csv(path: Path, n: int = 400, seed: int = 0) -> Path:
    """A CSV in the ggplot2 `movies` layout whose rating depends on votes, budget and genre.
    Nothing in it is real data."""
    from moviebench.datasets.ggplot2movies import GENRE_FLAGS

    rng = np.random.default_rng(seed)
    votes = np.exp(rng.uniform(2.4, 9.0, n)).astype(int)  # all above the 10-vote filter
    budget = np.where(rng.random(n) < 0.5, np.nan, rng.lognormal(15, 1.5, n))
    drama = rng.random(n) < 0.4
    rating = np.clip(
        3.3 + 0.35 * np.log1p(votes) + 1.5 * drama + rng.normal(0, 0.4, n), 1, 10
    ).round(1)
    frame = pd.DataFrame(
        {
            "title": [f"Film {i}" for i in range(n)],
            "year": rng.integers(1950, 2005, n),
            "length": rng.integers(70, 180, n),
            "budget": budget,
            "rating": rating,
            "votes": votes,
            **{f"r{i}": rng.random(n) * 10 for i in range(1, 11)},
            "mpaa": rng.choice(["", "R", "PG", "PG-13"], n),
        }
    )
    for genre in GENRE_FLAGS:
        frame[genre] = (rng.random(n) < 0.2).astype(int)
    frame["Drama"] = drama.astype(int)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def fixture_tasks(folder: Path, tasks: Iterable[str] = FIXTURE_TASKS) -> dict[str, Any]:
    """Each fixture task prepared on a generated table under `folder` (task name ->
    PreparedTask); prepare them once and pass them to several `check_model` calls."""
    from moviebench.options import RunOptions
    from moviebench.prepare import prepare
    from moviebench.tasks import TASKS

    path = write_ggplot2_csv(Path(folder) / "movies.csv")
    options = RunOptions(source="ggplot2movies", data=path)
    return {name: prepare(TASKS.get(name), options) for name in tasks}


def _fail(cls: type[Model], where: str, why: str, fix: str | None = None) -> None:
    fix = f" Fix: {fix}" if fix else ""
    raise ModelCheckFailed(f"{cls.__name__} ('{getattr(cls, 'name', '?')}'), {where}: {why}.{fix}")


# What usually fixes an exception a model raised on the fixture: (words in the message, fix).
_FIXES = (
    (
        "nan",
        "tabular inputs hold NaN (e.g. unknown budgets); impute them in fit, e.g. "
        "make_pipeline(SimpleImputer(strategy='median', add_indicator=True), StandardScaler(), "
        "estimator), or subclass moviebench.models.classical.tabular.SklearnTabular, which does",
    ),
    (
        "shape",
        "predict_scores must return one row per film: (n,) for regression, else (n, n_outputs)",
    ),
)


def _raised(cls: type[Model], where: str, err: Exception) -> None:
    """An exception from the model's own code, as one paragraph: the check, the error, the
    line of the model's code it came from, and the likely fix (no traceback to read)."""
    import traceback

    frames = traceback.extract_tb(err.__traceback__)
    own = [f for f in frames if f.filename == _module_file(cls)]
    at = (own or frames[-1:] or [None])[-1]
    line = f" (at {Path(at.filename).name}:{at.lineno}, in {at.name})" if at else ""
    message = (str(err).strip().splitlines() or [""])[0][:200].rstrip(".")
    fix = next((f for word, f in _FIXES if word in message.lower()), None)
    fix = fix or "make fit and predict_scores run on this fixture task, then rerun check_model"
    try:
        _fail(cls, where, f"raised {type(err).__name__}: {message}{line}", fix)
    except ModelCheckFailed as failed:
        raise failed from None  # the paragraph says it all; the traceback is the model's own


def _module_file(cls: type[Model]) -> str:
    import inspect

    try:
        return str(inspect.getsourcefile(cls))
    except TypeError:
        return ""


def check_params(cls: type[Model]) -> None:
    """The params contract, without fitting anything."""
    if cls().params != cls.defaults:
        _fail(cls, "params", f"{cls().params} are not its defaults {cls.defaults}")
    if cls(**copy.deepcopy(cls.defaults)).params != cls.defaults:
        _fail(cls, "params", "asking for the defaults gives other params")
    if cls().fitted_ != {}:
        _fail(cls, "fitted_", "is not empty before fit")
    try:
        cls(not_a_param=1)
    except ValueError:
        pass
    else:
        _fail(cls, "params", "an unknown param (not_a_param=1) was accepted")
    sampled = cls.search_space(LowTrial())
    if not set(sampled) <= set(cls.defaults):
        _fail(cls, "search_space", f"tunes {sorted(set(sampled) - set(cls.defaults))}, not params")
    if cls(**sampled).params != {**cls.defaults, **sampled}:
        _fail(cls, "search_space", "its sampled params are not what the model then holds")


def _snapshot(data: Any) -> tuple[Any, ...]:
    """What a model is handed, as plain values: to tell whether it edited them in place."""
    y = data.y.copy() if data.labelled else None
    columns = {k: list(v) for k, v in data.columns.items()}
    return (
        data.ids.copy(),
        data.X.copy(),
        y,
        list(data.labels),
        columns,
        copy.deepcopy(data.scoring),
    )


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    ids, X, y, labels, columns, scoring = a
    return (
        np.array_equal(ids, b[0])
        and X.equals(b[1])
        and (y is None or np.array_equal(y, b[2]))
        and (labels, columns, scoring) == b[3:]
    )


def _fit_scores(cls: type[Model], prep: Any, seed: int) -> np.ndarray:
    from moviebench.errors import LabelsHidden

    task = prep.spec.name
    model = cls(context=RunContext(seed=seed, epochs=1), **copy.deepcopy(cls.defaults))
    asked = copy.deepcopy(model.params)
    train, val = prep.part("train"), prep.part("val")
    given = _snapshot(train), _snapshot(val)
    model.fit(train, val)
    if model.params != asked:
        _fail(cls, f"fit on {task}", f"changed its params from {asked} to {model.params}")
    if not (_same(_snapshot(train), given[0]) and _same(_snapshot(val), given[1])):
        _fail(cls, f"fit on {task}", "edited the data it was given in place (copy it first)")
    try:
        json.dumps(model.fitted_)
    except (TypeError, ValueError) as err:
        _fail(cls, f"fit on {task}", f"fitted_ is not JSON-able ({err})")
    test = prep.part("test").without_labels("test")  # as the harness hands it over
    before = _snapshot(test)
    try:
        scores = model.predict_scores(test)
    except LabelsHidden:
        _fail(
            cls, f"predict_scores on {task}", "read the test labels (data.y): it gets inputs only"
        )
    if not _same(_snapshot(test), before):
        _fail(cls, f"predict_scores on {task}", "edited the data it was given in place")
    kind = prep.spec.target
    problem = kind.scores_problem(scores, len(test), test.n_outputs)
    if problem is None and np.shape(scores) != kind.score_shape(len(test), test.n_outputs):
        problem = (
            f"shape {np.shape(scores)}, expected {kind.score_shape(len(test), test.n_outputs)}"
        )
    problem = problem or kind.contract_problem(np.asarray(scores), prep.part("train").y)
    if problem:
        _fail(cls, f"predict_scores on {task}", problem)
    return np.asarray(scores)


def check_model(
    cls: type[Model],
    *,
    fit: bool = True,
    tasks: dict[str, Any] | None = None,
    deterministic: bool = True,
) -> list[str]:
    """Run the battery on a model class; returns the fixture tasks it was fitted on.

    `fit=False` checks the params contract only. `tasks` are prepared fixture tasks
    (`fixture_tasks`), made in a temporary folder when not given. A model no fixture task
    fits (e.g. image or retrieval rungs) is checked on its params alone.
    """
    check_params(cls)
    if not fit:
        return []
    with tempfile.TemporaryDirectory() as folder:
        if tasks is None:
            wanted = [t for t in FIXTURE_TASKS if _accepts(cls, t)]
            tasks = fixture_tasks(Path(folder), wanted) if wanted else {}
        fitted = []
        for name, prep in tasks.items():
            if not cls.accepts(prep.spec.target, prep.spec.inputs):
                continue
            scores = _checked_fit(cls, prep)
            if deterministic and not np.allclose(_checked_fit(cls, prep), scores):
                _fail(cls, f"fit on {name}", "two fits at seed 0 gave different scores")
            fitted.append(name)
    return fitted


def _checked_fit(cls: type[Model], prep: Any) -> np.ndarray:
    """`_fit_scores`, with an exception from the model's code reported as one paragraph."""
    try:
        return _fit_scores(cls, prep, seed=0)
    except ModelCheckFailed:
        raise
    except Exception as err:  # noqa: BLE001 - whatever the model raised is the finding
        _raised(cls, f"fit/predict_scores on {prep.spec.name}", err)
        raise  # unreachable: _raised always raises


def _accepts(cls: type[Model], task: str) -> bool:
    from moviebench.tasks import TASKS

    spec = TASKS.get(task)
    return cls.accepts(spec.target, spec.inputs)
