"""Deterministic train / val / test splits decided by hashing a stable id.

A row's part depends only on its split key and the task's split seed, never on row order
or on which other rows exist. So the split is the same for every model, run and machine,
and adding films never moves an existing film to another part.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
    keys: np.ndarray,
    seed: int,
    fractions: tuple[float, float, float] = (0.70, 0.15, 0.15),
    groups: np.ndarray | None = None,
) -> Split:
    """Rows with one key share a part. With `groups` (frame-id: the film of each time block),
    the keys of one group are dealt out by rank of their hash, so every group with three keys
    or more has keys in train, val and test: a film's test frames always have training frames
    of the same film, whatever the luck of the hash."""
    keys = np.asarray(keys).astype(str)
    u = hash_unit(keys, seed)
    train_cut = fractions[0]
    val_cut = fractions[0] + fractions[1]
    part = np.where(u < train_cut, 0, np.where(u < val_cut, 1, 2))
    if groups is not None:
        part = _dealt_within_groups(keys, np.asarray(groups).astype(str), u, part, fractions)
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


def _dealt_within_groups(
    keys: np.ndarray,
    groups: np.ndarray,
    u: np.ndarray,
    part: np.ndarray,
    fractions: tuple[float, float, float],
) -> np.ndarray:
    """Each group's distinct keys in order of their hash: the first ~70% to train, the next
    ~15% to val, the rest to test, at least one each where the group has three keys. A
    group's parts depend on its own keys only (adding a film moves no other film's frames).
    Groups of one or two keys keep their hashed part."""
    frame = pd.DataFrame({"key": keys, "group": groups, "u": u})
    distinct = frame.drop_duplicates("key").sort_values(["group", "u", "key"], kind="stable")
    rank = distinct.groupby("group", sort=False).cumcount().to_numpy()
    n = distinct.groupby("group", sort=False)["key"].transform("size").to_numpy()
    # Cut points by rounding the cumulative shares, kept one key apart for val and test.
    train_end = np.clip(np.floor(n * fractions[0] + 0.5), 1, n - 2)
    val_end = np.clip(np.floor(n * (fractions[0] + fractions[1]) + 0.5), train_end + 1, n - 1)
    dealt = np.where(rank < train_end, 0, np.where(rank < val_end, 1, 2))
    key_part = pd.Series(np.where(n >= 3, dealt, -1), index=distinct["key"].to_numpy())
    chosen = key_part.reindex(keys).to_numpy()
    return np.where(chosen >= 0, chosen, part)
