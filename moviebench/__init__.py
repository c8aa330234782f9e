"""moviebench: a benchmarking harness for movie machine-learning tasks.

Data flows one way through the package:
datasets -> tasks -> splits -> features -> models -> records -> leaderboard.
"""

import os as _os

from moviebench import threads as _threads

# Before anything imports torch: OpenMP reads its wait policy once, when it starts.
_threads.use_passive_wait()

# Before anything imports pyarrow: its jemalloc reads this once, when it starts. Set later
# (datasets/common.py `_memory_pool`), a decay of 0 misses the main thread's arena, which
# then kept a text task's freed columns (~230 MB on a million real-length TMDB rows)
# resident under every task built after it.
_os.environ.setdefault("JE_ARROW_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")

__version__ = "0.1.0"
