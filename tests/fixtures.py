"""Tiny generated datasets and a CLI runner for fast tests. Nothing here is real data.

The generator lives in moviebench.testing, where model authors' checks use it too."""

from __future__ import annotations

import pytest

from moviebench.cli import main
from moviebench.testing import write_ggplot2_csv

__all__ = ["bench", "write_ggplot2_csv"]


def bench(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    """`bench ARGS...` in this process: its exit code, stdout and stderr."""
    monkeypatch.setattr("sys.argv", ["bench", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
