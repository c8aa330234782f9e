"""multimodal-genre: every fusion rung on a tiny generated MovieLens folder, and the honesty of
late fusion's weight (chosen from validation, following whichever modality carries signal)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from moviebench.leaderboard import render
from moviebench.models.pretrained.fusion import choose_weight
from moviebench.options import RunOptions
from moviebench.prepare import PreparedTask
from moviebench.records import load_records
from moviebench.runner import RunRequest, run
from moviebench.tasks import TaskData
from moviebench.tasks.multimodal import FUSION as FUSION_MODELS

GENRES = ["Comedy", "Horror", "War"]
WORDS = {"Comedy": "laugh", "Horror": "blood", "War": "battle"}
COLOURS = {"Comedy": (230, 200, 40), "Horror": (120, 0, 0), "War": (60, 90, 40)}


def write_movielens(folder: Path, n: int = 150, seed: int = 0) -> Path:
    """movies.dat + posters whose title words and poster colour both depend on the genres."""
    rng = np.random.default_rng(seed)
    (folder / "posters").mkdir(parents=True)
    lines = []
    for i in range(1, n + 1):
        genres = [g for g in GENRES if rng.random() < 0.4] or [GENRES[i % 3]]
        words = [WORDS[g] for g in genres] + [rng.choice(["night", "day", "man", "city"])]
        lines.append(f"{i}::{' '.join(words).title()} ({1950 + i % 50})::{'|'.join(genres)}")
        colour = np.mean([COLOURS[g] for g in genres], axis=0)
        pixels = np.clip(colour + rng.normal(0, 25, (24, 16, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / "posters" / f"{i}.jpg")
    (folder / "movies.dat").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def movielens(tmp_path: Path) -> Path:
    return write_movielens(tmp_path / "ml")


def test_every_fusion_rung_runs_and_beats_the_prior(movielens, tmp_path):
    request = RunRequest(
        task="multimodal-genre",
        out=tmp_path / "out",
        models=["tfidf-char-svm", "hist-logreg", *FUSION_MODELS],
        options=RunOptions(
            source="movielens-1m",
            data=movielens,
            epochs=1,
            settings={"image_size": 32, "min_label_count": 5},
        ),
    )
    records = {r.model: r for r in run(request)}
    assert set(records) == {"prior", "tfidf-char-svm", "hist-logreg", *FUSION_MODELS}
    for name, record in records.items():
        assert record.status == "ok", (name, record.error)
    prior = records["prior"].primary
    for name in ("early-fusion-logreg", "late-fusion-avg", "late-fusion-stack"):
        assert records[name].primary > prior + 0.1, name
    assert records["fusion-resnet18"].history  # trained by the shared loop
    stored = load_records(tmp_path / "out", "multimodal-genre")
    assert len(stored) == len(records)
    # The leaderboard states the gap between the best fusion and the best single-modality rung.
    markdown = render(stored, "md")
    found = re.search(
        # markdown escapes the interval's brackets (board_render.md_escape)
        r"Best fusion \((\S+)\) vs best single modality \((\S+)\): ([+-][\d.]+) mAP, "
        r"paired bootstrap 95% interval \\?\[([+-][\d.]+), ([+-][\d.]+)\\?\]",
        markdown,
    )
    assert found, markdown
    fusion, single, diff, low, high = found.groups()
    assert records[fusion].primary == max(records[m].primary for m in FUSION_MODELS)
    assert records[single].primary == max(
        records[m].primary for m in ("tfidf-char-svm", "hist-logreg")
    )
    assert float(diff) == pytest.approx(records[fusion].primary - records[single].primary, abs=1e-4)
    assert float(low) <= float(high)


@pytest.mark.parametrize("informative", ["text", "image"])
def test_late_fusion_weight_follows_the_informative_modality(informative):
    rng = np.random.default_rng(0)
    y = (rng.random((300, 3)) < 0.4).astype(int)
    signal, noise = y + rng.normal(0, 0.7, y.shape), rng.random(y.shape)
    text, image = (signal, noise) if informative == "text" else (noise, signal)
    weight, curve = choose_weight(y, text, image)
    assert curve[weight] == max(curve.values())
    assert weight >= 0.6 if informative == "text" else weight <= 0.4
    assert curve[weight] > max(curve[0.0], curve[1.0]) - 1e-9


def test_late_fusion_weight_is_chosen_without_test_labels(movielens, tmp_path, monkeypatch):
    """Shuffle the test labels the harness holds: the chosen weight must not move."""

    def weight(out: str) -> float:
        request = RunRequest(
            task="multimodal-genre",
            out=tmp_path / out,
            models=["late-fusion-avg"],
            options=RunOptions(
                source="movielens-1m",
                data=movielens,
                settings={"image_size": 32, "min_label_count": 5},
            ),
        )
        (record,) = [r for r in run(request) if r.model == "late-fusion-avg"]
        assert "chosen_text_weight" not in record.params  # fit decides it: it is not a param
        return record.fitted["text_weight"]

    honest = weight("a")
    original_part = PreparedTask.part

    def shuffled_test(self: PreparedTask, name: str) -> TaskData:
        data = original_part(self, name)
        if name == "test":
            data.y = np.random.default_rng(1).permutation(data.y)
        return data

    monkeypatch.setattr(PreparedTask, "part", shuffled_test)
    assert weight("b") == honest
