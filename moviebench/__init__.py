"""moviebench: a benchmarking harness for movie machine-learning tasks.

Data flows one way through the package:
datasets -> tasks -> splits -> features -> models -> records -> leaderboard.
"""

__version__ = "0.1.0"
