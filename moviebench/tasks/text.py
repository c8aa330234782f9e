"""Text tasks: `overview-genre`, `title-genre` (multi-label) and `tagline-title` (retrieval).

Reports 001 and 004 predict genres from plot summaries, report 003 from titles, report 000
matches taglines to titles. Genres too rare in the training split to learn or score are
left out (the minimum is the task setting `min_label_count`), a film left with no genre is
dropped, and films without the input text are dropped: every one of them is counted in
the task notes.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from moviebench.errors import DataError
from moviebench.settings import GenreSettings, RetrievalSettings
from moviebench.targets import MULTILABEL, RETRIEVAL
from moviebench.tasks import TaskData, TaskOptions, TaskSpec, register_task

GENRE_METRICS = (
    "mAP",
    "micro_f1",
    "macro_f1",
    "samples_f1",
    "map@3",
    "hamming_loss",
    "subset_accuracy",
)
GENRE_LADDER = (
    "prior",
    "tfidf-logreg",
    "tfidf-char-svm",
    "minilm-logreg",
    "minilm-mlp",
    "text-lstm",
    "cnn-bilstm",
)
RETRIEVAL_LADDER = ("random-rank", "tfidf-cosine", "minilm-cosine", "minilm-projection")

# MovieLens writes "American President, The (1995)": the year goes, the article moves back.
_YEAR = re.compile(r"\s*\(\d{4}\)\s*$")
_TRAILING_ARTICLE = re.compile(r"^(.*), (The|A|An|Les|La|Le|L'|Il|Das|Der|Die|El|Los|Las)$")


def clean_title(title: str) -> str:
    """Strip a trailing '(year)' and move a trailing ', The' back to the front."""
    title = _YEAR.sub("", str(title)).strip()
    match = _TRAILING_ARTICLE.match(title)
    if match:
        head, article = match.groups()
        title = f"{article}{'' if article.endswith(chr(39)) else ' '}{head}"
    return title


def _texts(table: pd.DataFrame, column: str) -> pd.Series:
    """The column as stripped strings; missing values become ''."""
    return table[column].astype("string").fillna("").str.strip().astype(str)


def _require(table: pd.DataFrame, columns: list[str], task: str, source: str) -> None:
    missing = [c for c in columns if c not in table]
    if missing:
        raise DataError(
            f"source {source}: task {task} needs column(s) {', '.join(missing)}, which it does not provide"
        )


def _genre_lists(series: pd.Series) -> list[list[str]]:
    out = []
    for value in series:
        if isinstance(value, (list, tuple, np.ndarray)):
            out.append([str(g) for g in value if str(g).strip()])
        else:
            out.append([])  # NaN or a malformed cell: no genres, counted when dropped
    return out


def build_genre_task(
    table: pd.DataFrame,
    source: str,
    options: TaskOptions,
    *,
    task: str,
    text_column: str,
    clean: bool = False,
) -> TaskData:
    """Text -> genres rows, one column per genre any film has. The harness then leaves out
    genres too rare in the training split (`prepare.drop_rare_labels`), counted on train only."""
    _require(table, ["movie_id", text_column, "genres"], task, source)
    notes: list[str] = []

    texts = _texts(table, text_column)
    if clean:
        texts = texts.map(clean_title)
    genres = _genre_lists(table["genres"])
    keep = (texts.str.len() > 0).to_numpy().copy()
    if (~keep).any():
        notes.append(f"dropped {int((~keep).sum())} films with an empty {text_column}")
    no_genre = keep & np.array([len(g) == 0 for g in genres], dtype=bool)
    if no_genre.any():
        notes.append(f"dropped {int(no_genre.sum())} films without a genre")
    keep &= ~no_genre
    labels, y = genre_matrix([g for g, k in zip(genres, keep) if k])
    return TaskData(
        ids=table["movie_id"].astype(str).to_numpy()[keep],
        X=pd.DataFrame({text_column: texts[keep].to_numpy()}),
        columns={"text": [text_column]},
        y=y,
        labels=labels,
        target=MULTILABEL,
        notes=notes,
    )


def genre_matrix(genres: list[list[str]]) -> tuple[list[str], np.ndarray]:
    """Every genre that occurs (sorted) and the films x genres 0/1 matrix."""
    labels = sorted({g for gs in genres for g in gs})
    index = {g: j for j, g in enumerate(labels)}
    y = np.zeros((len(genres), len(labels)), dtype=np.int64)
    for i, gs in enumerate(genres):
        for g in gs:
            y[i, index[g]] = 1
    return labels, y


def build_overview_genre(table: pd.DataFrame, source: str, options: TaskOptions) -> TaskData:
    return build_genre_task(table, source, options, task="overview-genre", text_column="overview")


def build_title_genre(table: pd.DataFrame, source: str, options: TaskOptions) -> TaskData:
    return build_genre_task(
        table, source, options, task="title-genre", text_column="title", clean=True
    )


def build_tagline_title(table: pd.DataFrame, source: str, options: TaskOptions) -> TaskData:
    """One row per film with both a tagline and a title; candidate i is row i's own title.

    `y` is the row's position: the metric assumes query i's right answer is candidate i. A
    title shared by two films would make the right answer ambiguous, so repeats are dropped.
    """
    _require(table, ["movie_id", "tagline", "title"], "tagline-title", source)
    notes = []
    tagline, title = _texts(table, "tagline"), _texts(table, "title").map(clean_title)
    keep = (tagline.str.len() > 0) & (title.str.len() > 0)
    if (~keep).any():
        notes.append(f"dropped {int((~keep).sum())} films without a tagline or title")
    # only films that are in the task can collide: a title repeated by a film without a tagline is fine
    repeated = title.str.lower().where(keep).duplicated(keep="first") & keep
    if repeated.any():
        notes.append(f"dropped {int(repeated.sum())} films whose title repeats another film's")
    keep &= ~repeated
    X = pd.DataFrame({"tagline": tagline[keep].to_numpy(), "title": title[keep].to_numpy()})
    notes.append("query: a test film's tagline; candidates: every test film's title")
    return TaskData(
        ids=table["movie_id"].astype(str).to_numpy()[keep.to_numpy()],
        X=X,
        columns={"query": ["tagline"], "candidate": ["title"]},
        y=np.arange(len(X)),
        labels=[],
        target=RETRIEVAL,
        notes=notes,
    )


register_task(
    TaskSpec(
        name="overview-genre",
        description="plot overview -> genres (multi-label; reports 001, 004)",
        target=MULTILABEL,
        inputs=("text",),
        metrics=GENRE_METRICS,
        primary_metric="mAP",
        default_source="tmdb",
        sources=("tmdb",),
        columns=("movie_id", "overview", "genres"),
        ladder=GENRE_LADDER,
        build=build_overview_genre,
        settings_type=GenreSettings,
    )
)

register_task(
    TaskSpec(
        name="title-genre",
        description="title -> genres (multi-label; report 003, scored with MAP@3)",
        target=MULTILABEL,
        inputs=("text",),
        metrics=GENRE_METRICS,
        primary_metric="map@3",
        default_source="ggplot2movies",
        sources=("ggplot2movies", "movielens-1m", "tmdb"),
        ladder=GENRE_LADDER,
        build=build_title_genre,
        settings_type=GenreSettings,
    )
)

register_task(
    TaskSpec(
        name="tagline-title",
        description="a test film's tagline -> rank every test film's title (report 000)",
        target=RETRIEVAL,
        inputs=("text",),
        metrics=("mrr", "top1", "top5"),
        primary_metric="mrr",
        default_source="tmdb",
        sources=("tmdb",),
        ladder=RETRIEVAL_LADDER,
        build=build_tagline_title,
        settings_type=RetrievalSettings,
    )
)
