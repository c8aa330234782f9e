"""Tiny generated datasets for fast tests. Nothing here is real data.

The generator lives in moviebench.testing, where model authors' checks use it too."""

from __future__ import annotations

from moviebench.testing import write_ggplot2_csv

__all__ = ["write_ggplot2_csv"]
