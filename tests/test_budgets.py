"""Declared training budgets: profiles, no wall clock by default, truncation, threads, determinism."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
import torch

from moviebench import threads
from moviebench.check import compare, save_baseline
from moviebench.errors import BenchError
from moviebench.leaderboard import aggregate, caveats, table_rows
from moviebench.models import MODELS, RunContext, loop
from moviebench.options import PROFILES, RunOptions
from moviebench.records import load_records
from moviebench.runner import RunRequest, run
from moviebench.targets import RETRIEVAL
from moviebench.tasks import TASKS
from moviebench.tasks.image import ImageSettings
from tests.fixtures import write_ggplot2_csv

NETWORKS = sorted(
    (
        m
        for m in MODELS
        if m.__module__.startswith("moviebench.models.") and issubclass(m, loop.TorchModel)
    ),
    key=lambda m: m.name,
)


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    return write_ggplot2_csv(tmp_path / "movies.csv", n=300)


def quality_run(csv: Path, out: Path, models: list[str], **options: Any) -> list[dict[str, Any]]:
    opts = RunOptions(source="ggplot2movies", data=csv, **options)
    return run(RunRequest(task="tmdb-quality", options=opts, models=models, out=out))


def by_model(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r.model: r for r in records}


# ---- every network declares both profiles, in one place -------------------------------------


@pytest.mark.parametrize("model", NETWORKS, ids=[m.name for m in NETWORKS])
def test_every_network_declares_every_profile(model: type[loop.TorchModel]) -> None:
    assert set(model.budgets) == set(PROFILES)
    for profile in PROFILES:
        budget = model.resolve_budget(profile, model.defaults)
        assert (
            budget["profile"] == profile and budget["time_budget"] is None
        )  # no wall clock by default
        assert budget["epochs"] >= 1 and budget["patience"] >= 1 and budget["batch_size"] >= 1
        assert model(context=RunContext(profile=profile)).train_config().time_budget is None
    assert not model.budget_keys() & set(model.defaults), (
        "a budget entry must not also be a default param"
    )
    assert model.budgets["full"]["epochs"] >= model.budgets["quick"]["epochs"]


def test_budget_resolves_profile_then_params_then_the_run() -> None:
    mlp = MODELS.get("mlp")
    assert (
        mlp(context=RunContext(profile="full")).train_config().epochs
        == mlp.budgets["full"]["epochs"]
    )
    assert (
        mlp(context=RunContext(), epochs=3).train_config().epochs == 3
    )  # a param of the same name
    config = mlp(context=RunContext(epochs=2, time_budget=5.0), epochs=3).train_config()
    assert (config.epochs, config.time_budget) == (2, 5.0)  # --epochs / --time-budget win
    with pytest.raises(BenchError, match="unknown profile"):
        RunOptions(profile="fast")


def test_no_default_training_path_reads_the_wall_clock() -> None:
    """Grep-able: the loop's only clock is `loop.clock`, and no rung sets a time budget."""
    models = Path(loop.__file__).parent  # moviebench/models
    for path in models.rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"time_budget\W+\d", text) and "time.time(" not in text, path
        if path.name != "loop.py":
            assert "perf_counter" not in text, path


# ---- the clock decides nothing ---------------------------------------------------------------


class SlowClock:
    """Each reading is an hour after the one before."""

    def __init__(self) -> None:
        self.ticks = itertools.count()

    def __call__(self) -> float:
        return 3600.0 * next(self.ticks)


def test_a_very_slow_clock_changes_nothing(
    tiny_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    normal = by_model(quality_run(tiny_csv, tmp_path / "a", ["mlp"], epochs=4))["mlp"]
    monkeypatch.setattr(loop, "clock", SlowClock())
    slow = by_model(quality_run(tiny_csv, tmp_path / "b", ["mlp"], epochs=4))["mlp"]
    assert slow.metrics == normal.metrics and slow.epochs_done == normal.epochs_done == 4
    assert not slow.truncated


def test_an_explicit_time_budget_truncates_and_says_so(
    tiny_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loop, "clock", SlowClock())
    out = tmp_path / "out"
    record = by_model(quality_run(tiny_csv, out, ["mlp"], epochs=4, time_budget=60.0))["mlp"]
    assert record.truncated and record.epochs_done < 4
    assert record.budget["time_budget"] == 60.0
    rows = next(iter(aggregate(load_records(out)).values()))
    header, body = table_rows(rows)
    cells = next(c for c in body if c[1].startswith("mlp"))
    assert "TRUNCATED" in cells[1] and cells[header.index("epochs")].endswith("!")
    assert any(line.startswith("TRUNCATED: mlp") for line in caveats(rows))
    with pytest.raises(BenchError, match="truncated"):
        save_baseline(load_records(out), tmp_path / "baseline")
    findings = compare(load_records(out), load_records(out))
    assert [f.kind for f in findings if f.key[2] == "mlp"] == ["truncated"]
    assert all(f.fails for f in findings if f.kind == "truncated")


# ---- profiles in records, identities and boards ------------------------------------------------


def test_profile_and_budget_are_stored_and_never_share_a_board(
    tiny_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    quick = by_model(quality_run(tiny_csv, out, ["mlp"], epochs=1))
    assert quick["mlp"].profile == "quick" and quick["mlp"].budget["batch_size"] == 512
    assert quick["mlp"].threads == threads.current() and quick["majority"].budget is None
    full = by_model(quality_run(tiny_csv, out, ["mlp"], epochs=1, profile="full"))
    assert full["mlp"].profile == "full" and full["mlp"].budget["batch_size"] == 64
    assert full["mlp"].identity != quick["mlp"].identity  # a quick record is not current for full
    assert len(load_records(out)) == 4  # both profiles keep their records
    boards = aggregate(load_records(out))
    assert sorted(boards) == [
        ("tmdb-quality", "ggplot2movies"),
        ("tmdb-quality", "ggplot2movies (profile full)"),
    ]
    assert {r.profile for rows in boards.values() for r in rows} == {"quick", "full"}
    assert all(len({r.profile for r in rows}) == 1 for rows in boards.values())
    # A baseline of one profile is never met by records of the other.
    findings = compare(
        [r for r in load_records(out) if r.profile == "quick"],
        [r for r in load_records(out) if r.profile == "full"],
    )
    assert {f.kind for f in findings} == {"missing", "new"}


def test_tuned_and_default_rows_are_marked(tiny_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    quality_run(tiny_csv, out, ["logreg", "mlp"], epochs=1)
    records = load_records(out)
    for r in records:
        if r.model == "logreg":
            r.params_source = "tuned: study s trial 3 of 20 (val macro_f1 0.5)"
    rows = next(iter(aggregate(records).values()))
    _, body = table_rows(rows)
    assert any(c[1] == "logreg (tuned)" for c in body)
    assert any(
        line.startswith("tuned beside default: logreg (tuned) use the best params of their "
                        "studies (20 trials)")
        for line in caveats(rows)
    )  # fmt: skip


def test_tune_ladder_gives_every_tunable_rung_the_same_trials() -> None:
    from moviebench.tuning import TuneRequest, is_tunable, ladder_requests

    requests = ladder_requests(TuneRequest(task="tmdb-quality", model="", trials=3))
    # the task's ladder, in its order, less the trivial rung (nothing to tune)
    assert [r.model for r in requests] == [
        m for m in TASKS.get("tmdb-quality").ladder if m != "majority"
    ]
    assert {"logreg", "lightgbm", "catboost", "mlp", "realmlp", "tabm"} <= {
        r.model for r in requests
    }
    assert all(r.trials == 3 and is_tunable(r.model) for r in requests)
    with pytest.raises(BenchError, match="--trials"):
        ladder_requests(TuneRequest(task="tmdb-quality", model="", trials=None, timeout=10))


# ---- threads -------------------------------------------------------------------------------------


def test_workers_share_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "cores", lambda: 8)
    assert [threads.per_worker(j) for j in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]
    before = torch.get_num_threads()
    try:
        threads.use(1)  # what each worker's initializer does with its share (runner._init_worker)
        assert torch.get_num_threads() == 1 and threads.current() == 1
        xgb = MODELS.get("xgboost")(context=RunContext())
        assert xgb.classifier().get_params()["n_jobs"] == 1
    finally:
        monkeypatch.setattr(threads, "_THREADS", None)
        torch.set_num_threads(before)


# ---- determinism and the full recipes ----------------------------------------------------------


def test_networks_train_deterministically(tiny_csv: Path, tmp_path: Path) -> None:
    """Same profile, seed and thread count: the same metrics, epoch for epoch."""
    first = by_model(quality_run(tiny_csv, tmp_path / "a", ["mlp", "cnn-lstm"], epochs=3))
    second = by_model(quality_run(tiny_csv, tmp_path / "b", ["mlp", "cnn-lstm"], epochs=3))
    for name in ("mlp", "cnn-lstm"):
        assert first[name].metrics == second[name].metrics, name
        strip = [{k: v for k, v in h.items() if k != "seconds"} for h in first[name].history]
        assert strip == [
            {k: v for k, v in h.items() if k != "seconds"} for h in second[name].history
        ]


def _full_recipe_data(model: type[loop.TorchModel], tmp_path: Path) -> Any:
    """A tiny train split of the kind `model` reads."""
    import pandas as pd

    from tests.test_image_models import image_data
    from tests.test_text_models import genre_data, retrieval_data

    if model.inputs == {"tabular"}:
        from moviebench.prepare import prepare
        from moviebench.tasks import TASKS

        csv = write_ggplot2_csv(tmp_path / "movies.csv", n=120)
        return prepare(
            TASKS.get("tmdb-quality"), RunOptions(source="ggplot2movies", data=csv)
        ).part("train")
    if model.targets == {RETRIEVAL}:
        return retrieval_data(8, seed=0)
    if model.inputs == {"text"}:
        return genre_data(8, seed=0)
    images = image_data(tmp_path, n=6)
    if model.inputs == {"image"}:
        return images
    texts = genre_data(6, seed=0)
    return type(images)(
        ids=images.ids,
        X=pd.concat([images.X, texts.X], axis=1),
        columns={**images.columns, **texts.columns},
        y=images.y,
        labels=images.labels,
        target="multilabel",
    )


# One torchvision family shares one full recipe: the -pretrained rungs of ResNet50 and VGG16 (whose
# ImageNet files are too large to make in a test) train exactly like resnet18-pretrained.
SAME_RECIPE = {
    "resnet50-pretrained": "resnet18-pretrained",
    "vgg16-pretrained": "resnet18-pretrained",
}


@pytest.mark.parametrize("model", NETWORKS, ids=[m.name for m in NETWORKS])
def test_full_recipe_builds_and_trains_one_epoch(
    model: type[loop.TorchModel], tmp_path: Path
) -> None:
    """`--profile full` on a tiny fixture: each recipe (resolution, augmentation, unfrozen stages,
    batch size) builds its network and trains one epoch, at the declared resolution."""
    if model.name in SAME_RECIPE:
        assert model.budgets == MODELS.get(SAME_RECIPE[model.name]).budgets
        return
    data = _full_recipe_data(model, tmp_path)
    weights = None
    if model.name == "effnet-finetune":
        from tests.test_image_models import tf_layout_state_dict

        weights = tmp_path / "lite0.pth"
        torch.save(tf_layout_state_dict(), weights)
    elif model.name == "resnet18-pretrained":
        import torchvision

        weights = tmp_path / "resnet18.pth"
        torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights)
    # VGG16's step at 224 px costs ~20 s on one CPU thread: it trains at 64 px (--image-size) here.
    settings = ImageSettings(image_size=64 if model.name == "vgg16" else None)
    context = RunContext(profile="full", epochs=1, weights=weights, settings=settings)
    network = model(context=context)
    network.fit(data, data)
    assert network.history[-1]["epoch"] == 1 and network.fitted_["epochs_done"] == 1
    assert not network.fitted_["truncated"]
    if "image" in model.inputs:
        assert network.budget()["image_size"] == 224  # report 002 / 003's resolution
        assert network.fitted_["image_size"] == (settings.image_size or 224)
    scores = network.predict_scores(data)
    assert len(scores) == len(data) and torch.isfinite(torch.as_tensor(scores)).all()


# ---- the CLI ---------------------------------------------------------------------------------------


def test_cli_lists_budgets_and_validates_profile_and_ladder(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_cli import bench

    monkeypatch.setenv("COLUMNS", "300")
    code, out, _ = bench(capsys, monkeypatch, "ls")
    assert code == 0 and "training budgets" in out
    line = next(row for row in out.splitlines() if " cnn-lstm " in row and "epochs" in row)
    quick, full = (
        loop.describe_budget(MODELS.get("cnn-lstm").resolve_budget(p, {})) for p in PROFILES
    )
    assert quick in line and full in line
    code, _, err = bench(capsys, monkeypatch, "run", "--task", "tmdb-quality", "--profile", "fast")
    assert code == 2 and "fast" in err
    code, _, err = bench(
        capsys, monkeypatch, "tune", "--task", "tmdb-quality", "--model", "mlp", "--ladder"
    )
    assert code == 2 and "either --model NAME or --ladder" in err


def test_warmup_rises_to_each_groups_rate() -> None:
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([{"params": [a], "lr": 1e-4}, {"params": [b], "lr": 1e-3}])
    warmup = loop._Warmup(optimizer, steps=4)
    rates = [[g["lr"] for g in optimizer.param_groups]]
    for _ in range(5):
        warmup.step()
        rates.append([g["lr"] for g in optimizer.param_groups])
    assert rates[0] == pytest.approx([1e-5, 1e-4]) and rates[-1] == pytest.approx([1e-4, 1e-3])
    assert all(x[0] <= y[0] for x, y in zip(rates, rates[1:])) and warmup.done


def test_readme_budget_table_matches_the_code() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for model in NETWORKS:
        cells = [loop.describe_budget(model.resolve_budget(p, model.defaults)) for p in PROFILES]
        assert f"| `{model.name}` | " + " | ".join(cells) + " |" in readme, (
            f"README budget row of {model.name}"
        )
