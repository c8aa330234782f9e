"""Deterministic train / val / test splits decided by hashing a stable id.

A row's part depends only on its split key and the task's split seed, never on row order
or on which other rows exist. So the split is the same for every model, run and machine,
and adding films never moves an existing film to another part.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

PARTS = ("train", "val", "test")


def hash_unit(keys: np.ndarray, seed: int) -> np.ndarray:
    """Map each key to a uniform number in [0, 1), stable across processes and machines."""
    out = np.empty(len(keys), dtype=np.float64)
    salt = f"moviebench-split-{seed}:".encode()
    for i, key in enumerate(keys):
        digest = hashlib.blake2b(salt + str(key).encode(), digest_size=8).digest()
        out[i] = int.from_bytes(digest, "big") / 2**64
    return out


@dataclass(frozen=True)
class Split:
    train: np.ndarray  # row indices
    val: np.ndarray
    test: np.ndarray
    hash: str  # identifies exactly which keys went where

    def part(self, name: str) -> np.ndarray:
        return getattr(self, name)


def make_split(
    keys: np.ndarray, seed: int, fractions: tuple[float, float, float] = (0.70, 0.15, 0.15)
) -> Split:
    keys = np.asarray(keys).astype(str)
    u = hash_unit(keys, seed)
    train_cut = fractions[0]
    val_cut = fractions[0] + fractions[1]
    part = np.where(u < train_cut, 0, np.where(u < val_cut, 1, 2))
    order = np.argsort(keys, kind="stable")
    digest = hashlib.sha256()
    for i in order:
        digest.update(f"{keys[i]}={part[i]};".encode())
    return Split(
        train=np.flatnonzero(part == 0),
        val=np.flatnonzero(part == 1),
        test=np.flatnonzero(part == 2),
        hash=digest.hexdigest()[:16],
    )
