"""How many CPU threads one cell may use, for every library that spawns them.

A serial run gives its one cell every core; `--jobs N` gives each worker process
max(1, cores // N), so N cells side by side use the machine once, not N times over, and fit
seconds stay comparable between rungs and between serial and parallel runs. torch, the BLAS
and OpenMP pools (through threadpoolctl), scikit-learn's n_jobs, LightGBM's num_threads and
XGBoost's n_jobs all read `current()`; every record stores it.

OpenMP threads wait passively (`use_passive_wait`, called when moviebench is imported, before
torch loads OpenMP): a waiting thread that spins holds its core, and on a shared machine two
processes' spinning threads starve each other. A quick cnn4 fit on ML-1M (3 epochs) took 140 s
alone and 470 s beside a second one with OpenMP's default wait, 63 s and 108 s with passive
waiting (benchmarks/README.md). It changes no result, only who holds a core while waiting.
"""

from __future__ import annotations

import os
from typing import Any

_THREADS: int | None = None  # set by use(); None: what torch was left with (all cores by default)
_LIMITS: Any = None  # the threadpoolctl limiter, kept alive for the worker's lifetime


def use_passive_wait() -> None:
    """OMP_WAIT_POLICY=PASSIVE unless the user set a policy: read once, when OpenMP starts (so
    it must run before torch is imported; worker processes inherit it)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def per_worker(jobs: int) -> int:
    """Each of `jobs` worker processes' share of the cores."""
    return max(1, cores() // max(1, jobs))


def use(threads: int) -> None:
    """Limit this process to `threads` threads in torch, BLAS / OpenMP and the tree libraries."""
    global _THREADS, _LIMITS
    import torch
    from threadpoolctl import threadpool_limits

    _THREADS = max(1, int(threads))
    torch.set_num_threads(_THREADS)
    _LIMITS = threadpool_limits(limits=_THREADS)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(_THREADS)  # for pools started after this point


def current() -> int:
    """The threads a cell in this process uses: as set by `use`, else torch's own count."""
    if _THREADS is not None:
        return _THREADS
    import torch

    return int(torch.get_num_threads())
