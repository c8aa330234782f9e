"""A ladder through the Python API, the board as a pandas DataFrame (run: python examples/notebook.py).

A notebook's own model class works as a plugin: give it a name and a family, run it by name.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from sklearn.linear_model import LogisticRegression

from moviebench import api
from moviebench.models import register_model
from moviebench.models.classical.tabular import SklearnTabular
from moviebench.targets import MULTICLASS
from moviebench.testing import check_model, write_ggplot2_csv


@register_model
class StrongLogReg(SklearnTabular):
    """A user's rung: logistic regression with stronger regularisation."""

    name = "strong-logreg"
    targets = frozenset({MULTICLASS})
    defaults = {"C": 0.05}

    def classifier(self) -> LogisticRegression:
        return LogisticRegression(C=self.params["C"], max_iter=2000, random_state=self.context.seed)


def main() -> pd.DataFrame:
    check_model(StrongLogReg)  # the battery built-in rungs pass
    folder = Path(tempfile.mkdtemp(prefix="moviebench-notebook-"))
    movies = write_ggplot2_csv(folder / "movies.csv")  # a generated table: no download
    records = api.run(
        "tmdb-quality",
        models=["logreg", "random-forest", "strong-logreg"],
        seeds=[0, 1],
        data=movies,
        out=folder / "results",
    )
    assert all(r.status == "ok" for r in records), [r.error for r in records]
    board = api.board(out=folder / "results", task="tmdb-quality")
    rows = [row.to_dict() for rows in board.boards.values() for row in rows]
    frame = pd.DataFrame(rows)[["model", "family", "origin", "primary", "primary_std", "tie"]]
    return frame


if __name__ == "__main__":
    with pd.option_context("display.width", 120):
        print(main().to_string(index=False))
