"""An image folder with links in it: each file is read once, under its own class."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from moviebench.datasets import load_source
from tests.datasets_fixtures import write_images

pytestmark = pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")


def _films(root: Path) -> Path:
    for film in ("alpha", "beta"):
        write_images(root / film, good=[f"{film}-{i}.jpg" for i in range(3)])
    return root


def test_a_class_folder_linked_to_another_is_read_once_and_noted(tmp_path: Path) -> None:
    root = _films(tmp_path / "frames")
    (root / "alpha-again").symlink_to(root / "alpha", target_is_directory=True)
    loaded = load_source("image-folder", root)
    assert sorted(loaded.table["movie_id"].unique()) == ["alpha", "beta"]  # no fake class
    assert len(loaded.table) == 6
    assert any("alpha-again (= alpha)" in n for n in loaded.report.notes)


def test_a_link_back_to_its_own_folder_adds_no_frame(tmp_path: Path) -> None:
    root = _films(tmp_path / "frames")
    (root / "alpha" / "loop").symlink_to(root / "alpha", target_is_directory=True)
    table = load_source("image-folder", root).table
    assert (table["movie_id"] == "alpha").sum() == 3 and len(table) == 6
