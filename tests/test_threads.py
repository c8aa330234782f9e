"""OpenMP's wait policy: passive unless the user chose one, set before torch starts OpenMP."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = "import moviebench, os, sys; print(os.environ['OMP_WAIT_POLICY']); print('torch' in sys.modules)"


def probe(env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_importing_moviebench_makes_openmp_wait_passively_before_torch_loads() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert probe(env) == ["PASSIVE", "False"]  # set, and torch not yet imported


def test_a_users_wait_policy_wins() -> None:
    assert probe({**os.environ, "OMP_WAIT_POLICY": "ACTIVE"})[0] == "ACTIVE"
