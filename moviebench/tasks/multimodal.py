"""`multimodal-genre`: poster + title (or overview) -> genres, the fusion reports 001, 003, 004 wanted.

Rows are films with both a readable poster and a non-empty text. The text field is a task
setting: the title on MovieLens-1M (report 003), the overview on TMDB. The ladder puts the
best single-modality rungs of `title-genre` and `poster-genre` beside the fusion rungs on
the same films and the same split, since fusion only counts where it beats them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from moviebench.targets import MULTILABEL
from moviebench.tasks import TaskData, TaskOptions, TaskSpec, register_task
from moviebench.tasks.image import PosterGenreSettings, _readable
from moviebench.tasks.text import GENRE_METRICS, build_genre_task


@dataclass(frozen=True)
class MultimodalSettings(PosterGenreSettings):
    text_field: str | None = None  # default: the title on MovieLens, the overview on TMDB


TEXT_FIELD = {
    "movielens-1m": "title",
    "tmdb": "overview",
    "poster-csv": "title",
    "mmimdb": "overview",  # the plot, as the MM-IMDb papers read it
}
SINGLE_MODALITY = (
    "tfidf-logreg",
    "tfidf-char-svm",
    "minilm-logreg",
    "hist-logreg",
    "effnet-logreg",
)
FUSION = (
    "early-fusion-logreg",
    "early-fusion-lgbm",
    "late-fusion-avg",
    "late-fusion-stack",
    "fusion-resnet18",
)


def build(table: pd.DataFrame, source: str, options: TaskOptions) -> TaskData:
    field = options.settings.text_field or TEXT_FIELD.get(source, "title")
    notes: list[str] = [f"text field: {field}"]
    if "poster" not in table:
        table = table.assign(poster=None)
    keep, unreadable = _readable(table["poster"], notes)
    films = table[keep].reset_index(drop=True)
    data = build_genre_task(
        films, source, options, task="multimodal-genre", text_column=field, clean=field == "title"
    )
    poster_of = dict(zip(films["movie_id"].astype(str), films["poster"].astype(str)))
    X = data.X.assign(image=[poster_of[i] for i in data.ids])
    return TaskData(
        ids=data.ids,
        X=X,
        columns={"text": [field], "image": ["image"]},
        y=data.y,
        labels=data.labels,
        target=MULTILABEL,
        notes=notes + data.notes,
        unreadable=unreadable,
    )


register_task(
    TaskSpec(
        name="multimodal-genre",
        description="poster + title/overview -> genres (multi-label): fusion against each modality alone",
        target=MULTILABEL,
        inputs=("image", "text"),
        metrics=GENRE_METRICS,
        primary_metric="mAP",
        default_source="movielens-1m",
        sources=("movielens-1m", "tmdb", "poster-csv"),
        columns=("movie_id", "title", "poster", "genres"),  # the text field's default: title
        ladder=("prior", *SINGLE_MODALITY, *FUSION),
        build=build,
        forbidden_features=(r"genres?", r"genre_.*"),
        settings_type=MultimodalSettings,
        compare={"fusion": FUSION, "single modality": SINGLE_MODALITY},
    )
)
