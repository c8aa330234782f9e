"""Records typed on read: the schema version, the first layout, damaged records and caches,
and a board built from its records alone."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from moviebench import leaderboard
from moviebench.errors import DamagedFileWarning
from moviebench.records import (
    SCHEMA_VERSION,
    Record,
    RecordError,
    bootstrap_cache_path,
    load_records,
    read_record,
    record_path,
    write_predictions,
    write_record,
)
from tests.test_cli import bench


def _fields(model: str = "logreg", primary: float = 0.5, **extra: object) -> dict:
    return {
        "task": "t",
        "source": "s",
        "model": model,
        "seed": 0,
        "status": "ok",
        "family": "classical",
        "target": "multiclass",
        "primary_metric": "accuracy",
        "primary": primary,
        "metrics": {"accuracy": primary},
        "split_hash": "abc",
        "data_fingerprint": "f" * 16,
        **extra,
    }


def _full_record() -> Record:
    return Record(
        task="t",
        source="s",
        model="logreg",
        seed=1,
        family="classical",
        target="multiclass",
        primary_metric="accuracy",
        split_hash="abc",
        data_fingerprint="f" * 16,
        n_train=10,
        n_val=3,
        n_test=4,
        labels=["a", "b"],
        settings={"k": 1},
        options={"epochs": None},
        params={"C": 1.0},
        params_source="defaults",
        identity={"params": {"C": 1.0}},
        status="ok",
        primary=0.75,
        metrics={"accuracy": 0.75},
        groups=[{"name": "single", "models": ["y"]}, {"name": "fusion", "models": ["x"]}],
    )


# ---- from_dict ---------------------------------------------------------------------------------


def test_a_record_round_trips_through_its_file_and_keeps_unknown_keys(tmp_path: Path) -> None:
    record = _full_record()
    record.extra = {"from_a_newer_version": [1, 2]}
    path = tmp_path / "seed-1.json"
    write_record(path, record)
    written = json.loads(path.read_text())
    assert written["schema_version"] == SCHEMA_VERSION
    assert written["from_a_newer_version"] == [1, 2]  # written back, not dropped
    assert not {"path", "reused", "extra"} & set(written)  # what readers add is not stored
    back = read_record(path)
    assert back == record and back.path == path and back.reused is None
    assert back.extra == {"from_a_newer_version": [1, 2]}


def test_a_record_of_the_first_layout_reads_with_the_old_assumptions() -> None:
    old = _fields()  # no schema_version, no profile, no groups, no params_source...
    record = Record.from_dict(old)
    assert record.schema_version == 1
    assert record.profile == "quick" and record.params_source == "defaults"
    assert record.groups == [] and record.labels == [] and record.identity == {}
    assert record.versions == {} and record.git_commit is None  # not this machine's
    assert Record.from_dict({**old, "profile": None}).profile == "quick"


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"primary": "0.9"}, "field 'primary' is \"0.9\" (a JSON str), not float | None"),
        ({"metrics": {"accuracy": "high"}}, "metric 'accuracy' is \"high\""),
        ({"metrics": [0.5]}, "field 'metrics'"),
        ({"seed": True}, "field 'seed' is true (a JSON bool), not int"),
        ({"labels": "a,b"}, "field 'labels'"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_with_its_field(change: dict, reason: str) -> None:
    with pytest.raises(RecordError) as err:
        Record.from_dict(_fields(**change))
    assert reason in str(err.value)


def test_a_record_without_what_a_board_needs_is_refused() -> None:
    with pytest.raises(RecordError, match="missing field"):
        Record.from_dict({k: v for k, v in _fields().items() if k != "source"})
    with pytest.raises(RecordError, match="missing field"):
        Record.from_dict({k: v for k, v in _fields().items() if k != "metrics"})
    with pytest.raises(RecordError, match="not a record"):
        Record.from_dict([1, 2])


# ---- damaged record files ------------------------------------------------------------------------


def test_damaged_records_are_reported_and_left_out(tmp_path: Path) -> None:
    write_record(record_path(tmp_path, "t", "s", "good", 0), _fields("good"))
    write_record(record_path(tmp_path, "t", "s", "string", 0), _fields("string", primary="0.9"))
    metric = _fields("metric")
    metric["metrics"] = {"accuracy": "n/a"}
    write_record(record_path(tmp_path, "t", "s", "metric", 0), metric)
    latin1 = record_path(tmp_path, "t", "s", "latin1", 0)
    latin1.parent.mkdir(parents=True)
    text = json.dumps(_fields("latin1", title="x")).encode()
    latin1.write_bytes(text.replace(b'"x"', b'"\xe9"'))  # Latin-1, not UTF-8
    with pytest.warns(DamagedFileWarning) as caught:
        records = load_records(tmp_path)
    assert [r.model for r in records] == ["good"]
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 3
    assert any("latin1" in m and "not UTF-8" in m for m in messages)
    assert any("string" in m and "field 'primary'" in m for m in messages)
    assert any("metric" in m and "metric 'accuracy'" in m for m in messages)


def test_the_leaderboard_skips_a_damaged_record_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_record(record_path(tmp_path, "t", "s", "good", 0), _fields("good"))
    write_record(record_path(tmp_path, "t", "s", "bad", 0), _fields("bad", primary="0.9"))
    code, out, err = bench(
        capsys, monkeypatch, "leaderboard", "--out", str(tmp_path), "--format", "json"
    )
    assert code == 0, err
    assert "warning:" in err and "bad/seed-0.json" in err and "field 'primary'" in err
    assert [r["model"] for r in json.loads(out)] == ["good"]


# ---- the bootstrap cache -------------------------------------------------------------------------


def _scored_records(out: Path) -> list[Record]:
    """Three records of one board with test scores: a tie and a clearly worse model."""
    rng = np.random.default_rng(0)
    n = 300
    y = rng.integers(0, 3, n)
    ids = np.array([f"m{i}" for i in range(n)])
    for model, accuracy in (("strong", 0.9), ("twin", 0.9), ("weak", 0.3)):
        pred = np.where(rng.random(n) < accuracy, y, rng.integers(0, 3, n))
        scores = np.eye(3)[pred] * 0.8 + 0.2 / 3
        primary = float((scores.argmax(1) == y).mean())
        path = record_path(out, "t", "s", model, 0)
        write_record(path, _fields(model, primary))
        write_predictions(path, ids=ids, y=y, scores=scores)
    return load_records(out)


def _board_json(out: Path) -> str:
    return leaderboard.to_json(leaderboard.aggregate(load_records(out)))


@pytest.mark.parametrize("damage", ["truncate", "garble", "not-a-zip"])
def test_a_damaged_bootstrap_cache_is_recomputed_with_a_warning(
    tmp_path: Path, damage: str
) -> None:
    _scored_records(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DamagedFileWarning)
        before = _board_json(tmp_path)
    assert '"tie": true' in before  # the board really reads the bootstrap
    cache = bootstrap_cache_path(record_path(tmp_path, "t", "s", "twin", 0))
    data = cache.read_bytes()
    if damage == "truncate":
        cache.write_bytes(data[: len(data) // 2])
    elif damage == "garble":  # the values' bytes change, the zip still opens
        start = data.index(b"values.npy") + 200
        cache.write_bytes(
            data[:start] + bytes(b ^ 0xFF for b in data[start : start + 64]) + data[start + 64 :]
        )
    else:
        cache.write_text("not a cache")
    with pytest.warns(DamagedFileWarning, match="twin/seed-0.boot.npz.*recomputed"):
        after = _board_json(tmp_path)
    assert after == before
    with warnings.catch_warnings():
        warnings.simplefilter("error", DamagedFileWarning)  # rewritten whole: no warning again
        assert _board_json(tmp_path) == before


def test_bench_leaderboard_renders_past_a_truncated_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    _scored_records(tmp_path)
    args = ("leaderboard", "--out", str(tmp_path), "--format", "md")
    code, first, err = bench(capsys, monkeypatch, *args)
    assert code == 0 and "warning" not in err, err
    cache = bootstrap_cache_path(record_path(tmp_path, "t", "s", "strong", 0))
    cache.write_bytes(cache.read_bytes()[:100])
    code, again, err = bench(capsys, monkeypatch, *args)
    assert code == 0, err
    assert "strong/seed-0.boot.npz" in err and "recomputed" in err
    assert again == first and "1=" in first  # the same board, ties and all


def test_a_changed_record_recomputes_its_cache_without_a_warning(tmp_path: Path) -> None:
    records = _scored_records(tmp_path)
    rows = leaderboard.aggregate(records)[("t", "s")]
    first = leaderboard.bootstrap_by_model(rows, records)
    records[0].details = {"note": "rerun"}  # other inputs: the stored values are stale
    with warnings.catch_warnings():
        warnings.simplefilter("error", DamagedFileWarning)
        again = leaderboard.bootstrap_by_model(rows, records)
    assert all(np.array_equal(first[m], again[m]) for m in first)


# ---- a board from its records alone ----------------------------------------------------------


def test_the_board_compares_the_groups_its_records_declare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moviebench import tasks

    def untouched(*args: object) -> None:
        raise AssertionError("the board read the task registry")

    monkeypatch.setattr(tasks.TASKS, "get", untouched)
    # Declared in this order: a file's JSON keys are sorted, a list keeps its order.
    groups = [
        {"name": "twins", "models": ["twin"]},
        {"name": "others", "models": ["weak", "strong"]},
    ]
    for record in _scored_records(tmp_path):
        write_record(record.path, {**record.to_dict(), "groups": groups})
    rows = leaderboard.aggregate(load_records(tmp_path))[("t", "s")]
    (gap,) = [r.gap for r in rows if r.gap]
    assert (gap.group, gap.vs_group, gap.vs) == ("twins", "others", "strong")
    (line,) = leaderboard.gap_lines(rows)
    assert line.startswith("best twins (twin) vs best others (strong):")
    assert "paired bootstrap 95% interval" in line


def test_records_without_groups_get_no_gap_even_where_the_task_declares_one(
    tmp_path: Path,
) -> None:
    from moviebench.tasks import TASKS

    assert TASKS.get("multimodal-genre").compare  # the registry declares fusion vs single
    for model, primary in (("prior", 0.1), ("tfidf-logreg", 0.3), ("late-fusion-avg", 0.35)):
        fields = _fields(model, primary, task="multimodal-genre", primary_metric="mAP")
        fields["metrics"] = {"mAP": primary}
        write_record(record_path(tmp_path, "multimodal-genre", "s", model, 0), fields)
    with pytest.warns(DamagedFileWarning):  # no stored test scores: no intervals
        boards = leaderboard.aggregate(load_records(tmp_path))
    assert leaderboard.gap_lines(boards[("multimodal-genre", "s")]) == []


def test_board_json_keeps_its_shape(tmp_path: Path) -> None:
    _scored_records(tmp_path)
    rows = json.loads(_board_json(tmp_path))
    assert list(rows[0]) == [
        "task", "source", "model", "family", "pretrained_weights", "primary_metric", "primary",
        "primary_std", "n_seeds", "seeds", "metrics", "fit_seconds", "fit_seconds_per_1k",
        "predict_seconds",
        "peak_memory_mb", "n_params", "params_source", "profile", "epochs", "truncated",
        "status", "error", "split_hash", "vs_baseline",
    ]  # fmt: skip
    # a measured row says what measured it (tie_test: the bootstrap here, one split)
    assert [list(r)[-3:] for r in rows[1:]] == [["diff_ci", "tie", "tie_test"]] * 2
    assert {r["tie_test"] for r in rows[1:]} == {"bootstrap"}


# ---- one path layout --------------------------------------------------------------------------


def test_record_paths_of_profiles_and_scaling_points(tmp_path: Path) -> None:
    fp = "0123456789abcdef"
    assert record_path(tmp_path, "t", "s", "m", 2, fp) == tmp_path / "t/s/01234567/m/seed-2.json"
    assert (
        record_path(tmp_path, "t", "s", "m", 2, fp, profile="full")
        == tmp_path / "t/s/01234567/m/profile-full/seed-2.json"
    )
    assert (
        record_path(tmp_path, "t", "s", "m", 2, fp, train_fraction=0.25, profile="full")
        == tmp_path / "scaling/t/s/01234567/m/profile-full/frac-0.25-seed-2.json"
    )
    assert record_path(tmp_path, "t", "s", "m", 0) == tmp_path / "t/s/m/seed-0.json"


def test_a_rerun_brings_an_old_record_up_to_date_without_training(tmp_path: Path) -> None:
    from moviebench.options import RunOptions
    from moviebench.runner import RunRequest, run
    from tests.fixtures import write_ggplot2_csv

    request = RunRequest(
        task="tmdb-quality",
        options=RunOptions(source="ggplot2movies", data=write_ggplot2_csv(tmp_path / "m.csv")),
        models=["majority"],
        out=tmp_path / "out",
    )
    (first,) = run(request)
    old = {k: v for k, v in first.to_dict().items() if k not in ("schema_version", "groups")}
    write_record(first.path, old)  # as the first layout wrote it
    assert read_record(first.path).schema_version == 1
    (again,) = run(request)
    assert again.created == first.created  # nothing trained
    stored = json.loads(first.path.read_text())
    assert stored["schema_version"] == SCHEMA_VERSION and stored["groups"] == []
