"""Models trained outside the harness: the split handed out, the predictions scored here.

`export_split` writes the harness's split of a task (movie id, part, split hash, the inputs
the task uses, labels for train and val only). `score_predictions` reads a submission (scores
for every validation and test film), refuses a bad one in one line, and scores it as a cell
of an `external` rung: the same Cell, Record and record path as any rung, so validation
alone sets multi-label thresholds, and the board gives it the same intervals and ties. Its
identity holds the submission file's hash.

Submission layout (CSV): `movie_id`, `split_hash` (the export's), and the scores: `score`
for a regression, else one `score:<label>` column per label. Scores are probabilities
unless declared otherwise (`--scores logits` or `raw`): a multiclass row must be
non-negative and sum to 1 (within TargetKind.PROBABILITY_TOLERANCE), a multi-label score lie
in [0, 1]; a file that is neither is refused in one line, never clipped into shape.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from moviebench.errors import BadRequest, DataError
from moviebench.models.base import Model
from moviebench.prepare import PreparedTask
from moviebench.targets import CLASSIFICATION, REGRESSION, TargetKind
from moviebench.tasks.base import TaskData

SCORED_PARTS = ("val", "test")


def label_columns(prep: PreparedTask) -> list[str]:
    """The label columns of an export (`label`, or `label:<name>` per label)."""
    return prep.spec.target.export_columns("label", prep.data.labels)


def score_columns(prep: PreparedTask) -> list[str]:
    """A submission's score columns (`score`, or `score:<name>` per label)."""
    return prep.spec.target.export_columns("score", prep.data.labels)


def _check_exportable(prep: PreparedTask) -> None:
    if not prep.spec.target.exportable:
        raise BadRequest(
            f"task {prep.spec.name}: {prep.spec.target.name} tasks cannot be exported "
            "(only multiclass, multi-label and regression)"
        )


def split_frame(prep: PreparedTask) -> pd.DataFrame:
    """One row per film: movie_id, part, split_hash, the task's inputs, and the labels of
    train and val films (test labels are left empty: they never leave the harness)."""
    _check_exportable(prep)
    data = prep.data
    part = np.empty(len(data), dtype=object)
    for name in ("train", "val", "test"):
        part[prep.split.part(name)] = name
    frame = pd.DataFrame({"movie_id": data.ids, "part": part, "split_hash": prep.split.hash})
    inputs = [c for cols in data.columns.values() for c in cols]
    frame = pd.concat([frame, data.X[inputs].reset_index(drop=True)], axis=1)
    shown = part != "test"
    for column, values in prep.spec.target.export_labels(data.y, shown, data.labels).items():
        frame[column] = values
    return frame


def export_split(prep: PreparedTask, out: Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    split_frame(prep).to_csv(out, index=False)
    return out


def check_submission_path(path: Path | str) -> Path:
    """The submission file, or one line: a folder or a missing path is no submission."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"--predictions {path}: a folder, not a CSV file of predictions")
    if not path.is_file():
        raise DataError(f"--predictions {path}: no such file")
    return path


def read_submission(prep: PreparedTask, path: Path, scores: str | None = None) -> pd.DataFrame:
    """The submission's scores indexed by movie id, read as `scores` declares them
    (probabilities, logits or raw; None: the task's kind's default), or a DataError saying
    what is wrong. Probabilities are checked (non-negative rows summing to 1, or each in
    [0, 1] for multi-label), never clipped or renormalised into shape."""
    _check_exportable(prep)
    kind = prep.spec.target
    if scores is not None and scores not in TargetKind.SCORE_KINDS:
        raise BadRequest(f"--scores {scores}: choose one of {', '.join(TargetKind.SCORE_KINDS)}")
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype={"movie_id": str, "split_hash": str})
    except FileNotFoundError:
        raise DataError(f"--predictions {path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"--predictions {path}: not a CSV ({err})") from None
    where = f"--predictions {path}"
    for needed in ("movie_id", "split_hash"):
        if needed not in frame.columns:
            raise DataError(f"{where}: no '{needed}' column")
    hashes = set(frame["split_hash"].astype(str))
    if hashes != {prep.split.hash}:
        raise DataError(
            f"{where}: made for split {', '.join(sorted(hashes))}, not this run's split "
            f"{prep.split.hash} (export it again with the same task, source and --split-seed)"
        )
    wanted = score_columns(prep)
    given = [c for c in frame.columns if c.startswith("score")]
    if sorted(given) != sorted(wanted):
        missing, extra = sorted(set(wanted) - set(given)), sorted(set(given) - set(wanted))
        raise DataError(
            f"{where}: wrong label columns"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(extra)}" if extra else "")
        )
    ids = {name: set(prep.data.ids[prep.split.part(name)]) for name in ("train", "val", "test")}
    got = set(frame["movie_id"])
    if frame["movie_id"].duplicated().any():
        first = frame.loc[frame["movie_id"].duplicated(), "movie_id"].iloc[0]
        raise DataError(f"{where}: movie id {first} is given more than once")
    if kind.needs_validation_scores() and not got & ids["val"]:
        raise DataError(
            f"{where}: a multi-label submission needs validation scores: the decision "
            "thresholds are chosen on them"
        )
    missing = (ids["val"] | ids["test"]) - got
    extra = got - ids["val"] - ids["test"]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"{len(missing)} validation/test film(s) missing (e.g. {min(missing)})")
        if extra:
            which = "training films" if extra <= ids["train"] else "films not in this split"
            parts.append(f"{len(extra)} {which} given (e.g. {min(extra)})")
        raise DataError(f"{where}: {'; '.join(parts)}")
    values = frame[wanted].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise DataError(
            f"{where}: {int(bad.sum())} score(s) are NaN, infinite or not numbers "
            f"(first: movie {frame['movie_id'].iloc[row]}, line {row + 2})"
        )
    movie_ids = frame["movie_id"].to_numpy()
    try:
        values = kind.submission_scores(values, scores, movie_ids)
    except ValueError as err:
        raise DataError(f"{where}: {err}") from None
    return pd.DataFrame(values, index=movie_ids).rename_axis("movie_id")


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class ExternalModel(Model):
    """Scores made elsewhere, read back by movie id: nothing is fitted here."""

    family: ClassVar[Any] = "external"
    inputs: ClassVar[frozenset[str]] = frozenset()
    targets: ClassVar[frozenset[Any]] = CLASSIFICATION | {REGRESSION}
    summary = "predictions made outside the harness, scored by it"
    submission: ClassVar[pd.DataFrame]

    def fit(self, train: TaskData, val: TaskData) -> None:
        self.fitted_ = {"external": True}

    def predict_scores(self, data: TaskData) -> np.ndarray:
        scores = self.submission.loc[data.ids].to_numpy(float)
        return scores.reshape(len(data)) if scores.shape[1:] == (1,) else scores


def external_model(
    name: str, submission: pd.DataFrame, digest: str, scores: str | None = None
) -> type[Model]:
    """A model class named `name` whose params are the submission's hash and how its scores
    were declared (`--scores`): its identity."""
    defaults: dict[str, Any] = {"predictions_sha256": digest}
    if scores is not None:  # the default declaration keeps older records' identity
        defaults["scores"] = scores
    return type(
        "External",
        (ExternalModel,),
        {"name": name, "defaults": defaults, "submission": submission},
    )
