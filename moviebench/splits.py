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
# How rows are split (`--split`): by the harness's hash of each key (the default, every
# source), or by the source's own published split, where it declares one (a column of
# OFFICIAL_COLUMN in its table; mmimdb's split.json, with `dev` as val).
SPLIT_KINDS = ("hash", "official")
DEFAULT_SPLIT = "hash"
OFFICIAL_COLUMN = "official_split"


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
    return _split_of_parts(keys, part)


def _split_of_parts(keys: np.ndarray, part: np.ndarray) -> Split:
    """The Split of each key's part (0 train, 1 val, 2 test); its hash is made over the
    `key=part` pairs in key order, so it names exactly which keys went where."""
    digest = hashlib.sha256()
    for i in np.argsort(keys, kind="stable"):
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


def official_split(keys: np.ndarray, parts: pd.Series) -> Split:
    """The source's own split: each key's part read from `parts` (key -> train/val/test,
    the table's OFFICIAL_COLUMN by film). The hash is made as make_split's is, over the
    same `key=part` pairs, so it names exactly which keys went where."""
    from moviebench.errors import DataError

    keys = np.asarray(keys).astype(str)
    names = pd.Series(parts.to_numpy(dtype=object), index=parts.index.astype(str))
    names = names[~names.index.duplicated()].reindex(keys).to_numpy(dtype=object)
    unknown = sorted({str(p) for p in names if p not in PARTS})
    if unknown:
        raise DataError(
            f"--split official: {sum(p not in PARTS for p in names)} rows have no official "
            f"part (found {', '.join(unknown[:3])}; parts are {', '.join(PARTS)})"
        )
    part = np.array([PARTS.index(p) for p in names], dtype=np.int64)
    return _split_of_parts(keys, part)
