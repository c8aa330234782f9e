"""Whether image files decode, cached on disk by each file's path, size and modification time.

Shared by the sources (counted in their LoadReport) and the image features (which refuse an
undecodable file), so it lives below both: decoding every poster on each load would cost
seconds per thousand files, and a changed or replaced file is checked again.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageFile

from moviebench import progress
from moviebench.features.cache import cache_key, cached_array, fingerprint_strings


def image_readable(path: str) -> bool:
    """True when Pillow decodes the whole file: a 0-byte, truncated or non-image file is False."""
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # another module may have relaxed it; we must not
    try:
        with Image.open(path) as image:
            # JPEG decodes at 1/8 scale in draft mode: every byte is still read, so truncation
            # is caught, at a fraction of the cost of a full decode.
            image.draft("RGB", (64, 64))
            image.load()
        return True
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return False
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def readable_flags(paths: Sequence[str]) -> np.ndarray:
    """One bool per existing file path, cached by (path, size, mtime)."""
    if not paths:
        return np.zeros(0, dtype=bool)
    stamps = []
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:  # e.g. a symlink to itself: no image, counted unreadable below
            stamps.append(f"{os.path.abspath(p)}|unreadable")
            continue
        stamps.append(f"{os.path.abspath(p)}|{st.st_size}|{st.st_mtime_ns}")
    key = cache_key(files=fingerprint_strings(stamps), check="pillow-draft-load-v1")

    def check() -> np.ndarray:
        flags = np.zeros(len(paths), dtype=bool)
        for i, path in enumerate(paths):
            flags[i] = image_readable(path)
            if i % progress.EVERY == 0 or i + 1 == len(paths):
                progress.report("checking images", i + 1, len(paths))
        return flags

    return cached_array("image-check", key, check)
