"""Pieces of Optuna search spaces that rungs share (`Model.search_space` returns params)."""

from __future__ import annotations

from typing import Any


def log_uniform(trial: Any, **ranges: tuple[float, float]) -> dict[str, float]:
    """Each named param sampled log-uniformly in its (low, high) range, in the order given:
    rates, decays and regularisers, whose sensible values span orders of magnitude."""
    return {
        name: trial.suggest_float(name, low, high, log=True) for name, (low, high) in ranges.items()
    }
