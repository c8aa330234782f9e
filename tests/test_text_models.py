"""Every text rung trains on a tiny generated fixture, quickly, and learns what it can."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from moviebench.features import cache
from moviebench.features.text import embed_texts
from moviebench.models import MODELS, RunContext
from moviebench.models.loop import TorchModel
from moviebench.targets import MULTILABEL, RETRIEVAL, target_kind
from moviebench.tasks import TASKS, TaskData
from moviebench.tasks.text import GenreSettings

WORDS = {
    "Action": ["gun", "chase", "explosion", "fight", "cop", "mission"],
    "Romance": ["love", "kiss", "wedding", "heart", "romance", "couple"],
    "Horror": ["ghost", "blood", "haunted", "scream", "demon", "curse"],
}
FILLER = ["the", "a", "story", "of", "man", "woman", "city", "night", "life", "young"]
GENRE_LADDER = TASKS.get("overview-genre").ladder
RETRIEVAL_LADDER = TASKS.get("tagline-title").ladder


def genre_data(n: int, seed: int) -> TaskData:
    rng = np.random.default_rng(seed)
    genres = list(WORDS)
    y = (rng.random((n, 3)) < 0.4).astype(int)
    y[y.sum(axis=1) == 0, rng.integers(0, 3)] = 1
    texts = []
    for i, row in enumerate(y):
        words = list(rng.choice(FILLER, 5))
        for j in np.flatnonzero(row):
            words += list(rng.choice(WORDS[genres[j]], 3))
        rng.shuffle(words)
        texts.append(" ".join(words) if i % 17 else "")  # a few empty texts on purpose
    return TaskData(
        ids=[f"{seed}-{i}" for i in range(n)],
        X=pd.DataFrame({"overview": texts}),
        columns={"text": ["overview"]},
        y=y,
        labels=genres,
        target="multilabel",
    )


def retrieval_data(n: int, seed: int) -> TaskData:
    rng = np.random.default_rng(seed)
    vocab = [w for ws in WORDS.values() for w in ws] + FILLER
    titles, taglines = [], []
    for _ in range(n):
        key = list(rng.choice(vocab, 2, replace=False))
        titles.append(" ".join(key).title())
        taglines.append(" ".join([*rng.choice(FILLER, 3), key[0], "and", key[1]]))
    return TaskData(
        ids=[f"r{seed}-{i}" for i in range(n)],
        X=pd.DataFrame({"tagline": taglines, "title": titles}),
        columns={"query": ["tagline"], "candidate": ["title"]},
        y=np.arange(n),
        labels=[],
        target="retrieval",
    )


def context(target: Any, **settings: object) -> RunContext:
    kind = target_kind(target)
    primary = "mAP" if kind is MULTILABEL else "mrr"
    return RunContext(
        seed=0,
        epochs=3,
        settings=GenreSettings(**settings),
        val_score=lambda y, s: kind.validation_score(primary, y, s),
    )


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("text-cache"))


@pytest.fixture(autouse=True)
def _one_cache_per_module(shared_cache: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixture texts are embedded once for this module, not once per test."""
    monkeypatch.setenv("MOVIEBENCH_CACHE", shared_cache)


@pytest.fixture(scope="module")
def genre_splits() -> tuple[TaskData, TaskData, TaskData]:
    return genre_data(150, 0), genre_data(60, 1), genre_data(60, 2)


def fit_score(
    name: str, splits: tuple[TaskData, TaskData, TaskData], **settings: object
) -> tuple[np.ndarray, object]:
    train, val, test = splits
    model = MODELS.get(name)(context=context(train.target, **settings))
    model.fit(train, val)
    return model.predict_scores(test), model


@pytest.mark.parametrize("name", GENRE_LADDER)
def test_genre_rung_trains_and_scores(name: str, genre_splits: tuple) -> None:
    train, val, test = genre_splits
    scores, model = fit_score(name, genre_splits)
    assert scores.shape == (len(test), 3) and np.isfinite(scores).all()
    ev = MULTILABEL.evaluate(
        test.y,
        scores,
        labels=test.labels,
        y_val=val.y,
        s_val=model.predict_scores(val),
    )
    if name == "prior":
        assert ev.metrics["mAP"] < 0.6
    elif not isinstance(model, TorchModel):
        # the genre words are in the text: a linear model on it must find them
        assert ev.metrics["mAP"] > 0.8, ev.metrics
    else:
        assert len(model.history) <= 3  # the epoch cap of the run context holds
    assert model.n_params() > 0


@pytest.mark.parametrize("name", ["tfidf-logreg", "tfidf-char-svm", "cnn-bilstm"])
def test_report_001_class_weighting_changes_the_fit(name: str, genre_splits: tuple) -> None:
    plain, _ = fit_score(name, genre_splits)
    weighted, _ = fit_score(name, genre_splits, class_weight="largest")
    assert weighted.shape == plain.shape and not np.allclose(weighted, plain)


def test_unknown_class_weighting_is_refused(genre_splits: tuple) -> None:
    from moviebench.errors import BenchError

    with pytest.raises(BenchError, match="class_weight"):
        fit_score("tfidf-logreg", genre_splits, class_weight="heavy")


@pytest.mark.parametrize("name", RETRIEVAL_LADDER)
def test_retrieval_rung(name: str) -> None:
    train, val, test = retrieval_data(120, 0), retrieval_data(40, 1), retrieval_data(40, 2)
    model = MODELS.get(name)(context=context("retrieval"))
    model.fit(train, val)
    sim = model.predict_scores(test)
    assert sim.shape == (40, 40) and np.isfinite(sim).all()
    mrr = RETRIEVAL.evaluate(None, sim).metrics["mrr"]
    if name == "random-rank":
        assert mrr < 0.3
    else:
        if isinstance(
            model, TorchModel
        ):  # trained by the shared loop: its history, capped by --epochs
            assert 1 <= len(model.history) <= 3 and "lr" in model.history[0]
            assert (
                model.fitted_["best_epoch"]
                == max(model.history, key=lambda h: h["val_score"])["epoch"]
            )
        # the tagline spells out the title's words: any text similarity finds most of them
        assert mrr > 0.5, mrr


def test_embeddings_are_cached_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOVIEBENCH_CACHE", str(tmp_path / "own-cache"))
    texts = ["a ghost in the house", "", "a ghost in the house", "two lovers"]
    before = cache.STATS.copy()
    first = embed_texts(texts)
    assert cache.STATS["minilm:miss"] == before["minilm:miss"] + 3  # a repeated text is one text
    second = embed_texts(texts)
    assert cache.STATS["minilm:hit"] == before["minilm:hit"] + 3
    np.testing.assert_array_equal(first, second)
    assert first.shape == (4, 384) and np.allclose(np.linalg.norm(first, axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(first[0], first[2])
    assert (cache.cache_root() / "items" / "minilm.sqlite").exists()
    embed_texts(["two lovers", "a new text"])  # only the new text is encoded
    assert cache.STATS["minilm:miss"] == before["minilm:miss"] + 4


def test_second_embedding_model_reuses_the_first_ones_embeddings(
    genre_splits: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, first = fit_score("minilm-logreg", genre_splits)
    first.predict_scores(genre_splits[1])  # the runner scores validation too
    import moviebench.features.text as text_features

    def no_encoder(*args: object, **kwargs: object) -> None:
        raise AssertionError("the encoder ran although every embedding was cached")

    monkeypatch.setattr(text_features, "load_encoder", no_encoder)
    before = cache.STATS.copy()
    scores, _ = fit_score("minilm-mlp", genre_splits)
    assert cache.STATS["minilm:hit"] - before["minilm:hit"] >= 3  # train, val, test
    assert cache.STATS["minilm:miss"] == before["minilm:miss"]
