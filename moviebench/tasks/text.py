"""Text tasks: `overview-genre`, `title-genre` (multi-label) and `tagline-title` (retrieval).

Reports 001 and 004 predict genres from plot summaries, report 003 from titles, report 000
matches taglines to titles. Genres too rare in the training split to learn or score are
left out (the minimum is the task setting `min_label_count`), a film left with no genre is
dropped, and films without the input text are dropped: every one of them is counted in
the task notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from moviebench.errors import DataError
from moviebench.settings import AtLeastOne, TaskSettings
from moviebench.targets import MULTILABEL, RETRIEVAL
from moviebench.tasks import TaskData, TaskOptions, TaskSpec, register_task

ClassWeight = Literal["none", "largest", "balanced"]


@dataclass(frozen=True)
class GenreSettings(TaskSettings):
    # A genre with fewer training films than this is left out as a label (counted on train only).
    min_label_count: AtLeastOne = 20
    per_label_threshold: bool = False  # one decision threshold per genre, chosen on validation
    map_k: AtLeastOne = 3
    class_weight: ClassWeight = "none"  # report 001's W_i = n_largest / n_i is "largest"


@dataclass(frozen=True)
class RetrievalSettings(TaskSettings):
    pass


GENRE_METRICS = (
    "mAP",
    "micro_f1",
    "macro_f1",
    "samples_f1",
    "weighted_f1",
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
    "minilm-finetune",
)
RETRIEVAL_LADDER = ("random-rank", "tfidf-cosine", "minilm-cosine", "minilm-projection")

# MovieLens writes "American President, The (1995)": the year goes, the article moves back.
_YEAR = re.compile(r"\s*\(\d{4}\)\s*$")
_ARTICLES = "The|A|An|Les|La|Le|L'|Il|Das|Der|Die|El|Los|Las"
_TRAILING_ARTICLE = re.compile(rf"^(.*), ({_ARTICLES})$")
_ENDS_IN_ARTICLE = rf", (?:{_ARTICLES})$"


def clean_titles(titles: pd.Series) -> pd.Series:
    """Strip a trailing '(year)' and move a trailing ', The' back to the front, on a whole
    column at once (a million titles in a second, not a minute)."""
    # Arrow strings: the regexes run in Arrow's engine, not once per title in Python.
    arrow = pd.ArrowDtype(pa.string())
    titles = titles.astype(arrow).str.replace(_YEAR.pattern, "", regex=True).str.strip()
    moved = titles.str.contains(_ENDS_IN_ARTICLE, regex=True).fillna(False)
    if moved.any():  # only the few titles ending in ", The" are taken apart
        parts = titles[moved].str.extract(_TRAILING_ARTICLE.pattern)
        space = np.where(parts[1].str.endswith("'"), "", " ")
        titles = titles.copy()
        titles[moved] = parts[1] + pd.Series(space, index=parts.index, dtype=arrow) + parts[0]
    return titles.astype(str)


def _texts(table: pd.DataFrame, column: str) -> pd.Series:
    """The column as stripped strings; missing values become ''."""
    return table[column].astype("string").fillna("").str.strip().astype(str)


# Rows per slice when a long text column is stripped and filtered: the task's copy grows a
# slice at a time beside the table's column (a million overviews are ~300 MB each).
TEXT_SLICE = 1 << 16


def _kept_texts(values: pd.Series, labelled: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """`_texts(column)` of the rows with text that are `labelled`, and which rows have text;
    the same strings as `_texts` then a row filter, with no whole-column copy between."""
    strings = values.array._pa_array if isinstance(values.dtype, pd.ArrowDtype) else None
    if strings is None or not pa.types.is_string(strings.type):
        strings = values.astype("string").array._pa_array
    has_text, kept = [], []
    for start in range(0, len(strings), TEXT_SLICE):
        # A missing cell stays null (no filled copy of the slice): it has no text, so no row.
        part = pc.utf8_trim_whitespace(strings.slice(start, TEXT_SLICE))
        nonempty = pc.fill_null(pc.greater(pc.utf8_length(part), 0), False).to_numpy()
        has_text.append(nonempty)
        rows = pa.array(nonempty & labelled[start : start + TEXT_SLICE])
        kept.extend(part.filter(rows).cast(pa.large_string()).chunks)
    texts = pa.chunked_array(kept, type=pa.large_string())
    keep = np.concatenate(has_text) if has_text else np.zeros(0, dtype=bool)
    return pd.Series(pd.arrays.ArrowStringArray(texts)).astype(str), keep


def str_ids(values: pd.Series, keep: np.ndarray | None = None) -> np.ndarray:
    """`values.astype(str).to_numpy()[keep]` (every row without `keep`) as TaskData holds ids
    (a NumPy str array), a slice at a time: a million ids as Python strings at once cost
    ~60 MB beside the rows."""
    parts = []
    for start in range(0, len(values), TEXT_SLICE):
        part = values.iloc[start : start + TEXT_SLICE].astype(str).to_numpy()
        if keep is not None:
            part = part[keep[start : start + TEXT_SLICE]]
        parts.append(part.astype(str))
    return np.concatenate(parts) if parts else np.array([], dtype=str)


def _require(table: pd.DataFrame, columns: list[str], task: str, source: str) -> None:
    missing = [c for c in columns if c not in table]
    if missing:
        raise DataError(
            f"source {source}: task {task} needs column(s) {', '.join(missing)}, which it does not provide"
        )


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

    # The label matrix is int8: a million films x 20 genres is 20 MB, where int64 was 160 MB
    # beside the task's texts (`bench data inspect`'s peak). Every run's labels reach the
    # models through `MULTILABEL.prune_labels`, which hands them over as int64.
    genre_names, genres = genre_matrix(table["genres"], dtype=np.int8)
    labelled = genres.any(axis=1)
    if clean:
        texts = clean_titles(_texts(table, text_column))
        keep = (texts.str.len() > 0).to_numpy().copy()
        kept_texts = None
    else:  # stripped and filtered a slice at a time: no second whole copy of a long column
        kept_texts, keep = _kept_texts(table[text_column], labelled)
    if (~keep).any():
        notes.append(f"dropped {int((~keep).sum())} films with an empty {text_column}")
    no_genre = keep & ~labelled
    if no_genre.any():
        notes.append(f"dropped {int(no_genre.sum())} films without a genre")
    keep &= ~no_genre
    if kept_texts is None:
        kept_texts = texts[keep].reset_index(drop=True)
    ids = str_ids(table["movie_id"], keep)
    # The kept films' rows; a genre only dropped films had goes too.
    y = genres[keep]
    del genres
    present = y.any(axis=0)
    labels = [g for g, p in zip(genre_names, present) if p]
    if not present.all():
        y = y[:, present]
    return TaskData(
        ids=ids,
        # Arrow strings, not a NumPy array of Python str: a million overviews in a tenth of
        # the memory (models read them through `texts_of`, which makes the str list).
        X=pd.DataFrame({text_column: kept_texts}),
        columns={"text": [text_column]},
        y=y,
        labels=labels,
        target=MULTILABEL,
        notes=notes,
    )


def genre_matrix(genres: pd.Series | list, dtype: type = np.int64) -> tuple[list[str], np.ndarray]:
    """Every genre that occurs (sorted) and the films x genres 0/1 matrix. A cell that is not
    a list (NaN, a malformed cell) has no genre; blank names are ignored."""
    if isinstance(genres, pd.Series) and genres.dtype == object:
        values = genres.to_numpy()  # the column's own 1-D object array: no per-row copy
    else:
        cells = list(genres)
        values = np.empty(len(cells), dtype=object)  # 1-D even when every list has one length
        for i, cell in enumerate(cells):
            values[i] = cell
    # Sources share one list object between the rows of a repeated cell (a million TMDB rows
    # hold a few thousand distinct genre lists): each distinct object is read once.
    rows = pd.factorize(np.fromiter(map(id, values), dtype=np.int64, count=len(values)))[0]
    # Codes count up in order of first row: each code's first row, by one reversed scatter
    # (the last write wins), not a sort of a million codes.
    first = np.empty(rows.max() + 1 if len(rows) else 0, dtype=np.intp)
    first[rows[::-1]] = np.arange(len(rows) - 1, -1, -1)
    cells = pd.Series(values[first], dtype=object)
    is_list = np.fromiter(
        (isinstance(v, (list, tuple, np.ndarray)) for v in cells), dtype=bool, count=len(cells)
    )
    flat = cells.where(is_list, None).explode()
    names = flat.dropna().astype(str).str.strip()
    names = names[names.str.len() > 0]
    codes, labels = pd.factorize(names, sort=True)
    distinct = np.zeros((len(cells), len(labels)), dtype=dtype)
    distinct[names.index.to_numpy(), codes] = 1
    return [str(g) for g in labels], distinct[rows]


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
    tagline, title = _texts(table, "tagline"), clean_titles(_texts(table, "title"))
    keep = (tagline.str.len() > 0) & (title.str.len() > 0)
    if (~keep).any():
        notes.append(f"dropped {int((~keep).sum())} films without a tagline or title")
    # only films that are in the task can collide: a title repeated by a film without a tagline is fine
    repeated = title.str.lower().where(keep).duplicated(keep="first") & keep
    if repeated.any():
        notes.append(f"dropped {int(repeated.sum())} films whose title repeats another film's")
    keep &= ~repeated
    X = pd.DataFrame(
        {
            "tagline": tagline[keep].reset_index(drop=True),
            "title": title[keep].reset_index(drop=True),
        }
    )
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
        columns=("movie_id", "title", "genres"),
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
        columns=("movie_id", "tagline", "title"),
        ladder=RETRIEVAL_LADDER,
        build=build_tagline_title,
        settings_type=RetrievalSettings,
    )
)
