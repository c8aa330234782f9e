"""Long data steps report progress to the ladder display: counts, totals, a rate column."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from rich.console import Console

from moviebench import progress
from moviebench.datasets.images import readable_flags
from moviebench.display import LadderDisplay
from moviebench.features.images import pixels


def posters(tmp_path: Path, n: int) -> list[str]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = tmp_path / f"p{i}.png"
        Image.fromarray(rng.integers(0, 255, (12, 8, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


def test_image_checks_and_decoding_report_counts_to_the_end(tmp_path: Path) -> None:
    paths = posters(tmp_path, progress.EVERY + 6)
    heard: list[tuple[str, int, int]] = []
    with progress.listening(lambda *args: heard.append(args)):
        readable_flags(paths)
        pixels(paths, 16)
    checks = [h for h in heard if h[0] == "checking images"]
    decodes = [h for h in heard if h[0].startswith("decoding images")]
    assert checks[-1][1:] == (len(paths), len(paths)) and len(checks) >= 2
    assert decodes[-1][1:] == (len(paths), len(paths))
    assert [c for _, c, _ in checks] == sorted(c for _, c, _ in checks)
    heard.clear()
    with progress.listening(lambda *args: heard.append(args)):
        pixels(paths, 16)  # all stored now: nothing to decode, nothing reported
    assert heard == []
    progress.report("nobody listens", 1, 1)  # outside a display: a no-op


def test_the_ladder_display_shows_a_data_step_with_its_count(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with LadderDisplay(console, total=1) as display:
        progress.report("checking images", 3, 10)
        bar = display.bars.tasks[display.bars.task_ids.index(display.inner)]
        assert (bar.description.strip(), bar.completed, bar.total) == ("checking images", 3, 10)
        progress.report("decoding images at 64 px", 1, 4)  # another step: a fresh bar
        bar = display.bars.tasks[display.bars.task_ids.index(display.inner)]
        assert (bar.completed, bar.total) == (1, 4)
    assert progress._listener is None  # the display stopped listening when it closed
