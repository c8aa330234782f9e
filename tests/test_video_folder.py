"""video-folder: frames sampled from small generated videos, and frame-id's time-block split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moviebench.errors import DataError

av = pytest.importorskip("av", reason="PyAV (the 'video' extra) is not installed")

from moviebench.datasets import load_source  # noqa: E402
from moviebench.datasets.video_folder import (  # noqa: E402
    VideoSettings,
    decode_frames,
    sample_times,
    write_synthetic_video,
)
from moviebench.features import cache  # noqa: E402
from moviebench.options import RunOptions  # noqa: E402
from moviebench.prepare import prepare  # noqa: E402
from moviebench.tasks import TASKS  # noqa: E402
from moviebench.tasks.image import frame_blocks  # noqa: E402


def write_films(root: Path, n: int = 3, seconds: float = 3.0) -> Path:
    for i in range(n):
        write_synthetic_video(root / f"film_{i}.mp4", seed=i, seconds=seconds, fps=10)
    return root


def test_sampling_is_deterministic_and_follows_the_setting(tmp_path: Path) -> None:
    video = write_synthetic_video(tmp_path / "a.mp4", seed=0, seconds=3.0, fps=10)
    first = decode_frames(video, VideoSettings(frames_per_film=6))
    again = decode_frames(video, VideoSettings(frames_per_film=6))
    assert [t for t, _ in first] == [t for t, _ in again] == [0.3, 0.8, 1.3, 1.8, 2.3, 2.8]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(first, again))
    assert first[0][1].shape == (32, 48, 3) and first[0][1].dtype == np.uint8
    # frame_rate: one frame every 1/R s, at (i + 0.5) / R
    assert [t for t, _ in decode_frames(video, VideoSettings(frame_rate=1.0))] == [0.5, 1.5, 2.5]
    np.testing.assert_allclose(
        sample_times(10.0, VideoSettings(frames_per_film=4)), [1.25, 3.75, 6.25, 8.75]
    )
    with pytest.raises(DataError, match="not both"):
        sample_times(3.0, VideoSettings(frames_per_film=2, frame_rate=1.0))
    # frame_size caps the longer side; the aspect is kept
    assert decode_frames(video, VideoSettings(frames_per_film=1, frame_size=24))[0][1].shape == (
        16,
        24,
        3,
    )


def test_seeking_picks_the_frames_decoding_everything_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = write_synthetic_video(tmp_path / "a.mp4", seed=3, seconds=4.0, fps=10)
    straight = decode_frames(video, VideoSettings(frames_per_film=5))
    monkeypatch.setattr("moviebench.datasets.video_folder.SEEK_GAP_SECONDS", 0.01)
    seeking = decode_frames(video, VideoSettings(frames_per_film=5))
    assert [t for t, _ in seeking] == [t for t, _ in straight]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(seeking, straight))


def test_load_rows_fingerprint_and_no_redecode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_films(tmp_path / "videos")
    loaded = load_source("video-folder", root, {"frames_per_film": "5"})
    table = loaded.table
    assert len(table) == 15 and sorted(table["movie_id"].unique()) == ["film_0", "film_1", "film_2"]
    assert table["image_id"].iloc[0] == "film_0.mp4@0.300"
    assert all(Path(p).is_file() for p in table["image"])
    # A rerun decodes nothing: frames and content hashes are found on disk.
    calls = []
    monkeypatch.setattr(
        "moviebench.datasets.video_folder.decode_frames", lambda *a: calls.append(a) or []
    )
    hits = cache.STATS["video-digest:hit"]
    again = load_source("video-folder", root, {"frames_per_film": "5"})
    assert calls == [] and cache.STATS["video-digest:hit"] == hits + 3
    assert again.fingerprint == loaded.fingerprint
    monkeypatch.undo()
    # Another sampling, or another video content under the same name, is other data.
    assert (
        load_source("video-folder", root, {"frames_per_film": "4"}).fingerprint
        != loaded.fingerprint
    )
    write_synthetic_video(root / "film_1.mp4", seed=7, seconds=3.0, fps=10)
    assert (
        load_source("video-folder", root, {"frames_per_film": "5"}).fingerprint
        != loaded.fingerprint
    )


def test_bad_video_is_one_line_naming_the_file(tmp_path: Path) -> None:
    root = write_films(tmp_path / "videos", n=2)
    (root / "broken.mp4").write_bytes(b"not a video at all" * 50)
    with pytest.raises(DataError) as err:
        load_source("video-folder", root)
    message = str(err.value)
    assert "broken.mp4" in message and "\n" not in message
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no video files"):
        load_source("video-folder", tmp_path / "empty")


def test_leak_guard_keeps_each_time_block_in_one_part(tmp_path: Path) -> None:
    root = write_films(tmp_path / "videos", n=3, seconds=6.0)
    spec = TASKS.get("frame-id")
    options = RunOptions(
        source="video-folder",
        data=root,
        settings={"frames_per_film": "30", "block_seconds": "0.5"},
    )
    prep = prepare(spec, options)
    data, split = prep.data, prep.split
    times = prep.loaded.table.set_index("image_id").loc[data.ids, "time"].to_numpy()
    part_of = np.empty(len(data), dtype=object)
    for name in ("train", "val", "test"):
        part_of[split.part(name)] = name
    blocks = pd.DataFrame({"key": data.split_key, "part": part_of})
    assert blocks.groupby("key")["part"].nunique().max() == 1  # no block straddles parts
    assert blocks["key"].nunique() == 3 * 12  # 6 s films in 0.5 s blocks
    # frames of one block are close in time: all within block_seconds of each other
    spans = pd.DataFrame({"key": data.split_key, "t": times}).groupby("key")["t"].agg(np.ptp)
    assert spans.max() < 0.5
    assert any("leak guard" in note for note in data.notes)
    # frames without a time (image-folder) keep one key per frame
    no_time = pd.DataFrame({"movie_id": ["a", "a"], "image_id": ["a/1", "a/2"]})
    assert frame_blocks(no_time, 0.5, []) is None
    timed = pd.DataFrame({"movie_id": ["a", "a", "a", "a", "b"], "time": [0.1, 0.4, 0.6, 1.1, 0.1]})
    notes: list[str] = []
    assert list(frame_blocks(timed, 0.5, notes)) == ["a#0", "a#0", "a#1", "a#2", "b#0"]
    assert any("1 films span fewer than 3 blocks" in note for note in notes)
    with pytest.raises(DataError, match="block_seconds"):
        frame_blocks(timed, 0.0, [])
    # films all shorter than three blocks: no film could be in every part, said with a fix
    with pytest.raises(DataError, match=r"fewer than 3 blocks.*--set block_seconds="):
        frame_blocks(timed, 30.0, [])


def test_every_film_has_frames_in_train_val_and_test(tmp_path: Path) -> None:
    """Blocks are dealt film by film: no film is left with test frames and no training
    frame, which a plain hash over 12 blocks per film would do to some film by chance."""
    root = write_films(tmp_path / "videos", n=4, seconds=6.0)
    options = RunOptions(
        source="video-folder",
        data=root,
        settings={"frames_per_film": "30", "block_seconds": "0.5"},
    )
    prep = prepare(TASKS.get("frame-id"), options)
    films = prep.data.y
    for name in ("train", "val", "test"):
        assert set(films[prep.split.part(name)]) == set(range(4)), name
    assert not any("no training row" in note for note in prep.data.notes)


def test_frame_id_end_to_end_from_videos(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from moviebench.cli import cli

    root = write_films(tmp_path / "videos", n=3, seconds=4.0)
    out = tmp_path / "out"
    args = [
        "run", "--task", "frame-id", "--source", "video-folder", "--data", str(root),
        "--models", "majority,hist-logreg", "--set", "frames_per_film=20",
        "--set", "block_seconds=0.5", "--out", str(out), "--device", "cpu",
    ]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    from moviebench.records import load_records

    records = {r.model: r for r in load_records(out)}
    assert {m: r.status for m, r in records.items()} == {"majority": "ok", "hist-logreg": "ok"}
    total = sum(getattr(records["majority"], f"n_{p}") for p in ("train", "val", "test"))
    assert total == 60
    assert records["hist-logreg"].metrics["accuracy"] > records["majority"].metrics["accuracy"]
    assert any("leak guard" in note for note in records["hist-logreg"].data_notes)


def test_source_settings_are_typed_and_kept_apart_from_the_task(tmp_path: Path) -> None:
    from moviebench.errors import BenchError, UnknownNameError

    root = write_films(tmp_path / "videos", n=1, seconds=1.0)
    with pytest.raises(BenchError, match="frames_per_film=0: must be at least 1"):
        load_source("video-folder", root, {"frames_per_film": "0"})
    with pytest.raises(BenchError, match="expected"):
        load_source("video-folder", root, {"frame_rate": "fast"})
    with pytest.raises(DataError, match="frame_rate=-1.0"):
        load_source("video-folder", root, {"frame_rate": "-1"})
    spec = TASKS.get("frame-id")
    # the source's keys are not the task's: a typo still names the task's settings
    with pytest.raises(UnknownNameError, match="block_secs"):
        prepare(spec, RunOptions(source="video-folder", data=root, settings={"block_secs": "1"}))


def test_a_rerun_on_videos_is_answered_by_the_manifest_until_a_video_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoded frames are derived from --data, which the manifest stamps: they are not
    stamped again (800 films x 50 frames took seconds to stat), yet a rewritten video still
    makes the rerun load, decode and train again."""
    from moviebench import manifest, runner
    from moviebench.runner import RunRequest, run

    root = write_films(tmp_path / "videos", n=3, seconds=4.0)
    calls: list[str] = []
    real = runner.prepare
    monkeypatch.setattr(runner, "prepare", lambda s, o: calls.append(s.name) or real(s, o))
    options = RunOptions(
        source="video-folder",
        data=root,
        settings={"frames_per_film": "20", "block_seconds": "0.5"},
        device="cpu",
    )

    def request() -> RunRequest:
        return RunRequest(
            task="frame-id", options=options, models=["majority"], out=tmp_path / "out"
        )

    first = run(request())
    stamped = json.loads(manifest.manifest_path(request()).read_text())["inputs"]
    assert stamped == {}  # no frame folder stamped
    again = run(request())
    assert calls == ["frame-id"] and [r.path for r in again] == [r.path for r in first]
    write_synthetic_video(root / "film_1.mp4", seed=99, seconds=4.0, fps=10)
    run(request())
    assert calls == ["frame-id", "frame-id"]


@pytest.mark.parametrize("damage", ["remove", "truncate", "add"])
def test_a_damaged_frame_folder_is_decoded_again_and_the_fingerprint_stays(
    tmp_path: Path, damage: str
) -> None:
    """A frame folder is checked against the content hashes written with it, not trusted by
    its name: a frame missing, cut short or added is decoded again with a note, and the
    data's fingerprint does not move (no video changed)."""
    root = write_films(tmp_path / "videos", n=2)
    loaded = load_source("video-folder", root, {"frames_per_film": "4"})
    frame = Path(loaded.table["image"].iloc[1])
    if damage == "remove":
        frame.unlink()
    elif damage == "truncate":
        frame.write_bytes(frame.read_bytes()[:50])
    else:
        (frame.parent / "000000001.png").write_bytes(frame.read_bytes())
    again = load_source("video-folder", root, {"frames_per_film": "4"})
    assert len(again.table) == len(loaded.table) == 8
    assert again.fingerprint == loaded.fingerprint
    assert any("damaged" in note and "film_0.mp4" in note for note in again.report.notes)
    clean = load_source("video-folder", root, {"frames_per_film": "4"})
    assert not any("damaged" in note for note in clean.report.notes)
