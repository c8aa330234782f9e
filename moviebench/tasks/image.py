"""Image tasks: `poster-genre` (poster -> genres) and `frame-id` (frame -> film).

Rows whose image file is missing or unreadable (0-byte, truncated, not an image) are left
out and listed by path in the task's notes and in every record of the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from moviebench.errors import DataError
from moviebench.settings import AtLeastOne, ImageSide, TaskSettings
from moviebench.targets import MULTICLASS, MULTILABEL
from moviebench.tasks import TaskData, TaskOptions, TaskSpec, register_task
from moviebench.tasks.text import GenreSettings, genre_matrix


@dataclass(frozen=True)
class ImageSettings(TaskSettings):
    image_size: ImageSide | None = None  # overrides both defaults below when given (--image-size)
    scratch_image_size: ImageSide = 64  # networks trained from scratch on CPU
    pretrained_image_size: ImageSide = 224  # ImageNet encoders see what they were trained on

    def image_side(self, pretrained: bool) -> int:
        """The side images are resized to for a rung trained from scratch or from weights."""
        if self.image_size:
            return self.image_size
        return self.pretrained_image_size if pretrained else self.scratch_image_size


@dataclass(frozen=True)
class PosterGenreSettings(ImageSettings, GenreSettings):
    min_label_count: AtLeastOne = 10


@dataclass(frozen=True)
class FrameSettings(ImageSettings):
    scratch_image_size: ImageSide = 32  # report 000 trains at 32x32
    split: Literal["seen-films", "unseen-films"] = "seen-films"
    min_frames_per_film: AtLeastOne = 3  # a film needs a frame in each of train, val and test
    # Nearby frames are leaky: frames with a time (video-folder) are split by blocks of this
    # many seconds of their film, so frames of one shot or moment share a part.
    block_seconds: float = 30.0


IMAGE_LADDER = (
    "hist-logreg",
    "hist-svm",
    "cnn4",
    "resnet18",
    "resnet34",
    "resnet50",
    "vgg16",
    "resnet18-pretrained",
    "effnet-logreg",
    "effnet2-logreg",  # kept: Lite2 and Lite0+Lite2 beat Lite0 alone on ML-1M posters
    "effnet-concat-logreg",  # (mAP 0.2249 and 0.2593 vs 0.2156, seed 0, benchmarks/README.md)
    "effnet-finetune",
)
SPLITS = {
    "seen-films": "seen films, unseen frames: rows split by image id, so a film's frames spread over the parts "
    "(test frames of films with no training frame, if any, are counted in a note); frames with a "
    "time in their video are split by time block instead (setting block_seconds), so nearby "
    "frames share a part, and each film's blocks are dealt over train, val and test",
    "unseen-films": "unseen films: rows split by movie id, all frames of a film in one part",
}


def _readable(paths: pd.Series, notes: list[str]) -> tuple[np.ndarray, list[str]]:
    """Keep rows with a readable image; note the missing count and every unreadable path."""
    has_path = paths.notna() & (paths.astype(str).str.len() > 0)
    if (~has_path).sum():
        notes.append(f"left out {int((~has_path).sum())} rows without an image file")
    keep = has_path.to_numpy().copy()
    present = paths[has_path].astype(str)
    if present.empty:
        return keep, []
    # decoding needs torch/torchvision: imported here so listing tasks stays light
    from moviebench.features.images import check_images

    check = check_images(list(present))
    keep[np.flatnonzero(has_path.to_numpy())[~check.ok]] = False
    if check.unreadable:
        notes.append(
            f"unreadable images skipped: {len(check.unreadable)}: " + ", ".join(check.unreadable)
        )
    return keep, check.unreadable


def build_poster_genre(table: pd.DataFrame, source: str, options: TaskOptions) -> TaskData:
    for col in ("movie_id", "genres", "poster"):
        if col not in table:
            raise DataError(
                f"source {source}: poster-genre needs column '{col}' (a poster image path per film)"
            )
    if table["poster"].isna().all():
        raise DataError(
            f"source {source}: no poster files found for poster-genre "
            "(tmdb: put a posters/ folder of <id>.jpg beside the CSV)"
        )
    notes: list[str] = []
    keep, unreadable = _readable(table["poster"], notes)
    genres = table["genres"].map(
        lambda g: list(g) if isinstance(g, (list, tuple, np.ndarray)) else []
    )
    no_genre = keep & (genres.map(len) == 0).to_numpy()
    if no_genre.sum():
        notes.append(f"left out {int(no_genre.sum())} films without a genre")
    keep &= ~no_genre
    table, genres = table[keep].reset_index(drop=True), genres[keep].reset_index(drop=True)
    # Genres too rare to learn are left out later, counted on the training split only.
    labels, y = genre_matrix(list(genres))
    return TaskData(
        ids=table["movie_id"].to_numpy(),
        X=pd.DataFrame({"image": table["poster"].astype(str).to_numpy()}),
        columns={"image": ["image"]},
        y=y,
        labels=labels,
        target=MULTILABEL,
        notes=notes,
        unreadable=unreadable,
    )


def build_frame_id(table: pd.DataFrame, source: str, options: TaskOptions) -> TaskData:
    for col in ("movie_id", "image"):
        if col not in table:
            raise DataError(
                f"source {source}: frame-id needs columns 'movie_id' and 'image' (one row per frame)"
            )
    setting = options.settings.split
    if setting not in SPLITS:
        raise DataError(f"frame-id: unknown split setting '{setting}'; known: {', '.join(SPLITS)}")
    if setting == "unseen-films":
        # A classifier over N films cannot name a film it never saw in training.
        raise DataError(
            "frame-id is multiclass over the films seen in training; 'unseen-films' "
            "puts each film in one part only, so its test films would have no class"
        )
    notes = [
        f"split setting: {SPLITS[setting]}",
        "frames of one film are near-duplicates, so this measures recognition of seen films",
    ]
    keep, unreadable = _readable(table["image"], notes)
    table = table[keep].reset_index(drop=True)
    # A film with fewer frames than this cannot be in train, val and test at once.
    frames = table["movie_id"].astype(str).map(table["movie_id"].astype(str).value_counts())
    few = frames < options.settings.min_frames_per_film
    if few.any():
        n_films = table.loc[few, "movie_id"].astype(str).nunique()
        notes.append(
            f"left out {n_films} films with fewer than {options.settings.min_frames_per_film} "
            f"frames ({int(few.sum())} frames; setting min_frames_per_film)"
        )
        table = table[~few].reset_index(drop=True)
    films = sorted(table["movie_id"].astype(str).unique())
    index = {f: i for i, f in enumerate(films)}
    image_id = table["image_id"].astype(str) if "image_id" in table else table["image"].astype(str)
    split_key = frame_blocks(table, options.settings.block_seconds, notes)
    # Time blocks are dealt out film by film, so every film with three blocks or more is in
    # train, val and test (a film seen in test only could not be named by any model).
    split_group = None if split_key is None else table["movie_id"].astype(str).to_numpy()
    if split_key is None:
        split_key = image_id
    return TaskData(
        ids=image_id.to_numpy(),
        X=pd.DataFrame({"image": table["image"].astype(str).to_numpy()}),
        columns={"image": ["image"]},
        y=table["movie_id"].astype(str).map(index).to_numpy(dtype=np.int64),
        labels=films,
        target=MULTICLASS,
        split_key=split_key.to_numpy(),
        split_group=split_group,
        notes=notes,
        unreadable=unreadable,
    )


def frame_blocks(table: pd.DataFrame, block_seconds: float, notes: list[str]) -> pd.Series | None:
    """The leak guard: `<film>#<block>` per frame, block = floor(time / block_seconds), so
    frames of one film less than a block apart share a part unless a block edge falls between
    them. None for frames without a time (image-folder: each frame is its own key)."""
    if "time" not in table:
        return None
    if not block_seconds > 0:
        raise DataError(
            f"--set block_seconds={block_seconds}: must be a positive number of seconds"
        )
    block = np.floor(table["time"].to_numpy(dtype=np.float64) / block_seconds).astype(np.int64)
    key = table["movie_id"].astype(str) + "#" + pd.Series(block, index=table.index).astype(str)
    blocks = key.groupby(table["movie_id"].astype(str)).nunique()
    short = int((blocks < 3).sum())
    if short == len(blocks):
        longest = float(table["time"].max())
        raise DataError(
            f"frame-id: every film spans fewer than 3 blocks of block_seconds={block_seconds:g} "
            f"(the longest frame time is {longest:.1f} s), so no film can be in train, val and "
            f"test; lower it, e.g. --set block_seconds={max(longest / 10, 0.1):.2g}"
        )
    notes.append(
        f"leak guard: frames split by {block_seconds:g} s blocks of their film "
        f"({key.nunique()} blocks for {len(key)} frames), not frame by frame; each film's "
        "blocks are dealt over train, val and test"
    )
    if short:
        notes.append(
            f"{short} films span fewer than 3 blocks and cannot be in every part "
            "(lower block_seconds to spread them)"
        )
    return key


register_task(
    TaskSpec(
        name="poster-genre",
        description="poster image -> genres (multi-label); scored by mAP with thresholds from validation",
        target=MULTILABEL,
        inputs=("image",),
        metrics=(
            "mAP",
            "micro_f1",
            "macro_f1",
            "samples_f1",
            "weighted_f1",
            "hamming_loss",
            "subset_accuracy",
            "map@3",
        ),
        primary_metric="mAP",
        default_source="movielens-1m",
        sources=("movielens-1m", "poster-csv", "tmdb"),
        columns=("movie_id", "poster", "genres"),
        ladder=("prior", *IMAGE_LADDER),
        build=build_poster_genre,
        forbidden_features=(r"genres?", r"genre_.*"),
        settings_type=PosterGenreSettings,
    )
)

register_task(
    TaskSpec(
        name="frame-id",
        description="film frame -> which film (multiclass over N films); seen films, unseen frames",
        target=MULTICLASS,
        inputs=("image",),
        # No ordinal_mse: film indices have no order (only tmdb-quality's BAD<AVG<GOOD do).
        metrics=("accuracy", "macro_f1", "balanced_accuracy", "log_loss"),
        primary_metric="accuracy",
        default_source="image-folder",
        sources=("image-folder", "video-folder"),
        columns=("movie_id", "image"),
        ladder=("majority", *IMAGE_LADDER),
        build=build_frame_id,
        forbidden_features=(r"movie_id", r"film", r"label"),
        # The report's setting: every film appears in train, val and test; frames do not.
        settings_type=FrameSettings,
    )
)
