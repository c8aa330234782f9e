"""Which image files a source points at exist and decode: counted in the LoadReport.

Decoding every poster on each load would cost seconds per thousand files, so the verdicts
are cached on disk, keyed by each file's path, size and modification time: a changed or
replaced file is checked again.
"""

from __future__ import annotations

from collections.abc import Sequence

from moviebench.datasets.base import LoadReport

# Re-exported: the check lives in features/ so that features never import datasets.
from moviebench.features.image_files import image_readable, readable_flags

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")

__all__ = ["IMAGE_EXTENSIONS", "check_images", "image_readable", "readable_flags"]


def check_images(paths: Sequence[str | None], report: LoadReport) -> None:
    """Count found / missing / unreadable images (None = no file) and list the unreadable ones."""
    present = [p for p in paths if isinstance(p, str)]
    flags = readable_flags(present)
    unreadable = [p for p, ok in zip(present, flags) if not ok]
    report.images = {
        "found": len(present),
        "missing": len(paths) - len(present),
        "unreadable": len(unreadable),
    }
    report.unreadable_images = unreadable
