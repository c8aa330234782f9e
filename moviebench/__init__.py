"""moviebench: a benchmarking harness for movie machine-learning tasks.

Data flows one way through the package:
datasets -> tasks -> splits -> features -> models -> records -> leaderboard.
"""

from moviebench import threads as _threads

# Before anything imports torch: OpenMP reads its wait policy once, when it starts.
_threads.use_passive_wait()

__version__ = "0.1.0"
