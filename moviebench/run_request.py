"""What one `bench run` asks for: task, options, models, seeds, params and where records go.

Below the runner and the manifest, which both read it (the manifest answers a rerun from it
before any data loads), so neither has to import the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moviebench.options import RunOptions

if TYPE_CHECKING:
    from moviebench.executors import Executor


@dataclass
class RunRequest:
    task: str
    options: RunOptions = field(default_factory=RunOptions)
    models: list[str] | None = None  # None: the task's whole ladder
    seeds: list[int] = field(default_factory=lambda: [0])
    out: Path = Path("results")
    force: bool = False
    tuned: bool = False  # take each model's best params from its Optuna study (moviebench.tuning)
    tuning_storage: str | None = None  # default: the journal file under `out`
    jobs: int = 1  # cells run in this many separate processes
    shard: tuple[int, int] | None = None  # (I, N): run only share I of N (see `shard_cells`)
    executor: Executor | None = None  # None: this machine (serial or --jobs), else e.g. Ray
    # Params over some models' defaults (moviebench.params): {model: {key: value}}, and where
    # they came from (cli, api, suite), which the records' params_source names.
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    params_origin: str = "api"

    def cell_executor(self) -> Executor:
        """The executor this request's cells run on."""
        from moviebench.executors import local_executor

        return self.executor if self.executor is not None else local_executor(self.jobs)
