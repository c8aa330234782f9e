"""`image-folder`: one folder per class, its images inside (the ImageFolder layout).

The "Movie Identification Dataset [800 Movies]" is one folder per film holding its frames.
Each image is one row: `movie_id` and `title` are its class folder's name, `image` its
path and `image_id` its path relative to the root (unique, so rows of one film can still
be told apart). Files without an image extension are ignored and counted; image files that
do not decode are kept, counted unreadable and listed in the report, for the task to skip.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from moviebench.datasets import register_source
from moviebench.datasets.base import LoadedSource, LoadReport, SourceSpec
from moviebench.datasets.images import IMAGE_EXTENSIONS, with_checked_images
from moviebench.errors import DataError


def load(path: Path | None) -> LoadedSource:
    if path is None or not path.is_dir():
        raise DataError(
            f"source 'image-folder' needs --data: a folder of class folders (got {path})"
        )
    report = LoadReport(source="image-folder", path=str(path))
    classes = sorted(d for d in path.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataError(f"--data {path}: no class folders inside (expected one folder per class)")
    loose = [f for f in path.iterdir() if f.is_file() and not f.name.startswith(".")]
    if loose:
        report.notes.append(
            f"{len(loose)} file(s) directly in {path} ignored: not inside a class folder"
        )

    # A folder reached twice (a class folder that is a symlink to another, a link back to
    # itself inside one) is read once: its frames would count twice, under a class of its own.
    seen_folders: dict[Path, str] = {}
    aliases = []
    for folder in classes:
        real = folder.resolve()
        if real in seen_folders:
            aliases.append(f"{folder.name} (= {seen_folders[real]})")
        else:
            seen_folders[real] = folder.name
    if aliases:
        report.notes.append(
            f"{len(aliases)} class folder(s) that are links to another one skipped: "
            + ", ".join(aliases[:5])
            + (" ..." if len(aliases) > 5 else "")
        )
    classes = [c for c in classes if seen_folders.get(c.resolve()) == c.name]
    rows, ignored, empty, seen_files = [], 0, [], set()
    for folder in classes:
        files = []
        for f in sorted(folder.rglob("*")):
            if f.is_file() and not f.name.startswith(".") and f.resolve() not in seen_files:
                seen_files.add(f.resolve())
                files.append(f)
        images = [f for f in files if f.suffix.lower() in IMAGE_EXTENSIONS]
        ignored += len(files) - len(images)
        if not images:
            empty.append(folder.name)
        for f in images:
            rows.append(
                {
                    "movie_id": folder.name,
                    "title": folder.name,
                    "image": str(f),
                    "image_id": f.relative_to(path).as_posix(),
                }
            )
    if ignored:
        report.notes.append(f"{ignored} file(s) without an image extension ignored")
    if empty:
        report.notes.append(
            f"{len(empty)} class folder(s) without images: {', '.join(empty[:5])}"
            + (" ..." if len(empty) > 5 else "")
        )
    table = pd.DataFrame(rows, columns=["movie_id", "title", "image", "image_id"])
    report.rows_read = len(table)
    loaded = LoadedSource(table=table, report=report, root=path)
    return with_checked_images(loaded, "image")  # every row names a file found on disk


register_source(
    SourceSpec(
        name="image-folder",
        description="one folder per class (e.g. per film), images inside: one row per image",
        load=load,
        needs_path=True,
        path_hint="a folder of class folders holding images (ImageFolder layout)",
    )
)
