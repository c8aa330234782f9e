"""A per-item feature store: one row per (item content, extractor settings), in SQLite.

Whole-matrix caches are keyed by a split's full list of inputs, so another task, subset,
seed or order that meets the same poster or text computes it again. Here each item is
stored once under a key made of its content hash and the extractor's identity, and any
caller that meets the same item reads it back.

Why SQLite: thousands of small vectors read back in a few milliseconds from one file
(a folder of .npy files costs an open() per item, see benchmarks/README.md), writes are
transactions (a killed process leaves no half row), and two processes filling the same
store wait on its lock instead of corrupting it. Each row carries its dtype, shape and a
CRC32 of its bytes: a row that fails the check is recomputed and overwritten, never
trusted; a store file that is not a database at all is moved aside and started afresh.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from moviebench.features.cache import STATS, cache_root

# Rows fetched per SELECT (well under SQLite's limit on bound parameters).
_FETCH = 500
# 64 KiB pages: measured the fastest here for both 1.5 KB vectors and 150 KB pixel rows.
_PAGE = 65536
_LOCK = threading.Lock()
# (path, size, mtime_ns, inode) -> content digest, for this process: a file is hashed once.
_DIGESTS: dict[tuple[str, int, int, int], str] = {}


def file_digest(path: str | os.PathLike) -> str:
    """blake2b of a file's bytes (cheap next to decoding it), memoised on its stat."""
    st = os.stat(path)
    memo = (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
    digest = _DIGESTS.get(memo)
    if digest is None:
        # file_digest reads into one reused buffer: a new 1 MiB bytes object per read was a
        # fresh mapping each time (660 of them for a 690 MB file, ~0.4 s of page faults).
        with open(path, "rb") as fh:
            h = hashlib.file_digest(fh, lambda: hashlib.blake2b(digest_size=16))
        digest = _DIGESTS[memo] = h.hexdigest()
    return digest


def text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class ItemStore:
    """key -> one numpy array per row, in `<cache root>/items/<name>.sqlite`."""

    def __init__(self, name: str, root: Path | None = None) -> None:
        self.name = name
        self.path = (root or cache_root()) / "items" / f"{name}.sqlite"

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return self._open()
        except sqlite3.DatabaseError:
            # Not a database (overwritten, truncated header): keep it for inspection, start afresh.
            os.replace(self.path, self.path.with_name(f"{self.path.name}.damaged-{os.getpid()}"))
            return self._open()

    def _open(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=120, isolation_level=None)
        con.execute("PRAGMA busy_timeout = 120000")
        con.execute(f"PRAGMA page_size = {_PAGE}")
        con.execute("PRAGMA journal_mode = WAL")  # readers never wait on a writer
        con.execute("PRAGMA synchronous = NORMAL")
        con.execute(
            "CREATE TABLE IF NOT EXISTS items (key TEXT PRIMARY KEY, dtype TEXT, shape TEXT,"
            " crc INTEGER, data BLOB)"
        )
        return con

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored, intact rows among `keys` (a damaged row is left out: the caller recomputes it)."""
        found: dict[str, np.ndarray] = {}
        if not keys or not self.path.exists():
            return found
        con = self._connect()
        try:
            for start in range(0, len(keys), _FETCH):
                part = list(keys[start : start + _FETCH])
                marks = ",".join("?" * len(part))
                for key, dtype, shape, crc, data in con.execute(
                    f"SELECT key, dtype, shape, crc, data FROM items WHERE key IN ({marks})", part
                ):
                    array = _decode(dtype, shape, crc, data)
                    if array is not None:
                        found[key] = array
                    else:
                        STATS[f"{self.name}:damaged"] += 1
        finally:
            con.close()
        return found

    def put(self, rows: dict[str, np.ndarray]) -> None:
        """Store rows in one transaction; an existing key is overwritten (same content, or a repair)."""
        if not rows:
            return
        values = []
        for key, array in rows.items():
            array = np.ascontiguousarray(array)
            data = array.tobytes()
            values.append(
                (key, array.dtype.str, ",".join(map(str, array.shape)), zlib.crc32(data), data)
            )
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            con.executemany("INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?)", values)
            con.execute("COMMIT")
        finally:
            con.close()


def _decode(dtype: str, shape: str, crc: int, data: bytes) -> np.ndarray | None:
    try:
        dims = tuple(int(d) for d in shape.split(",")) if shape else ()
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        return None
    if (
        not isinstance(data, bytes)
        or len(data) != dt.itemsize * int(np.prod(dims))
        or zlib.crc32(data) != crc
    ):
        return None
    return np.frombuffer(data, dtype=dt).reshape(dims)


def cached_items(
    name: str,
    keys: Sequence[str],
    compute: Callable[[list[int]], np.ndarray],
    *,
    chunk: int = 256,
    root: Path | None = None,
    on_missing: Callable[[int], None] | None = None,
) -> np.ndarray:
    """One row per key: stored rows are read, the others computed, stored and returned in order.

    `compute(positions)` gets positions into `keys` of items to compute (each distinct key
    once) and returns their rows stacked in that order. It is called in chunks of `chunk`
    items and each chunk is stored at once, so an interrupted run keeps what it finished.
    `on_missing(n)` hears how many items will be computed, before the first chunk (for
    progress bars). STATS counts items: `<name>:hit` read, `<name>:miss` computed.
    """
    store = ItemStore(name, root)
    first: dict[str, int] = {}
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    with _LOCK:
        found = store.get(list(first))
    missing = [i for key, i in first.items() if key not in found]
    STATS[f"{name}:hit"] += len(found)
    STATS[f"{name}:miss"] += len(missing)
    if on_missing:
        on_missing(len(missing))
    for start in range(0, len(missing), chunk):
        positions = missing[start : start + chunk]
        rows = np.asarray(compute(positions))
        if len(rows) != len(positions):
            raise ValueError(f"{name}: computed {len(rows)} rows for {len(positions)} items")
        new = {keys[i]: row for i, row in zip(positions, rows)}
        with _LOCK:
            store.put(new)
        found.update(new)
    if not keys:
        return np.asarray(compute([]))  # the extractor knows the shape of no rows
    return np.stack([found[key] for key in keys])
