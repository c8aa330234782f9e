"""Task settings are checked by their own field types (bounds declared as `Range`s), never by
the suffix of a field's name; each task's settings class sits beside its task."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from moviebench.errors import BenchError
from moviebench.settings import AtLeastOne, ImageSide, TaskSettings, parse_settings, settings_of
from moviebench.tasks import TASKS
from moviebench.tasks.quality import QualitySettings
from moviebench.tasks.text import GenreSettings


@dataclass(frozen=True)
class PluginSettings(TaskSettings):
    trees: AtLeastOne = 5  # bounded, though its name says nothing
    crop_size: int = 3  # a name that once meant "at least 1": only the type counts now
    side: ImageSide | None = None


def test_bounds_come_from_the_types() -> None:
    with pytest.raises(BenchError, match="--set trees=0: must be at least 1"):
        parse_settings(PluginSettings, {"trees": "0"})
    assert parse_settings(PluginSettings, {"crop_size": "0"}).crop_size == 0
    with pytest.raises(BenchError, match="--set side=8: image sides must be 16 to 1024 pixels"):
        parse_settings(PluginSettings, {"side": "8"})
    assert parse_settings(PluginSettings, {"side": "none"}).side is None
    assert parse_settings(PluginSettings, {"side": "64"}).side == 64
    with pytest.raises(BenchError, match="--set trees=-1: must be at least 1"):
        PluginSettings(trees=-1)  # made directly, checked all the same
    with pytest.raises(BenchError, match="expected int"):
        parse_settings(PluginSettings, {"trees": "many"})
    with pytest.raises(BenchError, match="class_weight='heavy': expected 'none' | 'largest'"):
        GenreSettings(class_weight="heavy")  # a Literal's choices, made directly too


def test_a_class_checks_what_spans_its_fields() -> None:
    with pytest.raises(BenchError, match="the first must be below the second"):
        parse_settings(QualitySettings, {"thresholds": "6.5,5"})
    with pytest.raises(BenchError, match="--min-votes -1: must be 0 or more"):
        QualitySettings(min_votes=-1)


def test_models_read_the_settings_they_understand() -> None:
    genre = GenreSettings(class_weight="largest")
    assert settings_of(genre, GenreSettings) is genre
    assert settings_of(QualitySettings(), GenreSettings) == GenreSettings()  # defaults, once


def test_every_task_settings_class_sits_beside_a_task() -> None:
    for spec in TASKS:
        assert spec.settings_type.__module__.startswith("moviebench.tasks."), spec.name
