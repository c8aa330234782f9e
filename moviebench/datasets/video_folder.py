"""`video-folder`: one video file per film; frames sampled from it, deterministically.

The "Movie Identification Dataset" is 800 films of ~1,000 frames each. Here each film is one
video file directly in the folder (its stem is the film's id), or any video files inside a
folder per film. Frames are sampled at fixed times, set by the source settings:

- `frames_per_film=K`: K frames at the centres of K equal spans of the video;
- `frame_rate=R`: one frame every 1/R seconds, at (i + 0.5) / R;
- neither: 50 frames per film. `frame_size` caps the longer side of a stored frame.

Each target time takes the first decoded frame at or after it (seeking ahead when the next
target is far away; the frame chosen is the same as decoding every frame). The frames are
written once as PNG files under `<cache root>/frames/<video content hash>-<sampling>/`,
so a rerun on the same videos decodes nothing: a video's content hash is remembered by its
path, size, modification time and inode (features/store.py), and a frame folder is found by
name and used once its frames match the content hashes written beside them (frames.json);
a damaged one is decoded again, with a note. One row per frame: `movie_id`, `title`, `image` (the frame file),
`image_id` (`<video>@<seconds>`), `time` (seconds into the video) and `video_digest`, so the
data fingerprint changes when a video's content does. A file that does not decode as a
video stops the load with one line naming it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from moviebench.datasets import register_source
from moviebench.datasets.base import LoadedSource, LoadReport, SourceSpec
from moviebench.errors import DataError
from moviebench.settings import AtLeastOne, TaskSettings

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg")
DEFAULT_FRAMES_PER_FILM = 50
# Bumped when sampling, decoding or the stored format changes: older frame folders are not reused.
SAMPLER_VERSION = 1
# A gap to the next target longer than this is crossed by seeking rather than decoding.
SEEK_GAP_SECONDS = 10.0


@dataclass(frozen=True)
class VideoSettings(TaskSettings):
    """How frames are sampled from each video (`--set KEY=VALUE`, read by the source)."""

    frames_per_film: AtLeastOne | None = None  # K evenly spaced frames per film
    frame_rate: float | None = None  # or frames per second of video
    frame_size: AtLeastOne = 320  # longer side of a stored frame, in pixels (never upscaled)


def sample_times(duration: float, settings: VideoSettings) -> np.ndarray:
    """The target times (seconds) of the frames to take from a video `duration` s long."""
    if settings.frames_per_film is not None and settings.frame_rate is not None:
        raise DataError("source video-folder: set frames_per_film or frame_rate, not both")
    if settings.frame_rate is not None:
        if not settings.frame_rate > 0 or not math.isfinite(settings.frame_rate):
            raise DataError(f"--set frame_rate={settings.frame_rate}: must be a positive number")
        n = int(math.floor(duration * settings.frame_rate + 1e-9))
        return (np.arange(n) + 0.5) / settings.frame_rate
    k = settings.frames_per_film or DEFAULT_FRAMES_PER_FILM
    return (np.arange(k) + 0.5) * (duration / k)


def _sampling_key(settings: VideoSettings) -> str:
    if settings.frame_rate is not None:
        how = f"r{settings.frame_rate:g}"
    else:
        how = f"k{settings.frames_per_film or DEFAULT_FRAMES_PER_FILM}"
    return f"{how}-s{settings.frame_size}-v{SAMPLER_VERSION}"


def decode_frames(path: Path, settings: VideoSettings) -> list[tuple[float, np.ndarray]]:
    """(time in seconds, RGB uint8 array) of each sampled frame; DataError naming the file."""
    av = require_av()

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DataError(f"video {path}: no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            duration = _duration(container, stream)
            if duration is None or duration <= 0:
                raise DataError(f"video {path}: unknown or zero duration")
            targets = deque(float(t) for t in sample_times(duration, settings))
            frames: list[tuple[float, np.ndarray]] = []
            scale = _scaled(stream.codec_context.width, stream.codec_context.height, settings)
            last = -math.inf
            while targets:
                if targets[0] - last > SEEK_GAP_SECONDS:
                    container.seek(int(targets[0] / stream.time_base), stream=stream, backward=True)
                ended = True
                try:
                    for frame in container.decode(stream):
                        if frame.time is None:
                            continue
                        last = frame.time
                        if frame.time + 1e-6 < targets[0]:
                            continue
                        # the first frame at or after a target, once for all targets it reaches
                        frames.append(
                            (float(frame.time), frame.to_ndarray(format="rgb24", **scale))
                        )
                        while targets and targets[0] <= frame.time + 1e-6:
                            targets.popleft()
                        if not targets or targets[0] - last > SEEK_GAP_SECONDS:
                            ended = False
                            break
                except EOFError:
                    pass
                if ended:
                    break  # the video ended before the remaining targets
    except DataError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise DataError(f"video {path}: does not decode ({type(exc).__name__}: {exc})") from None
    if not frames:
        raise DataError(f"video {path}: no frame decoded")
    return frames


def _duration(container: object, stream: object) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        import av

        return container.duration / av.time_base
    return None


def _scaled(width: int, height: int, settings: VideoSettings) -> dict[str, int]:
    side = max(width, height)
    if not side or side <= settings.frame_size:
        return {}
    factor = settings.frame_size / side
    return {"width": max(1, round(width * factor)), "height": max(1, round(height * factor))}


def require_av():  # noqa: ANN201 (the av module)
    """PyAV, or one line saying how to install it."""
    try:
        import av
    except ImportError:
        raise DataError(
            "source video-folder decodes videos with PyAV: pip install 'moviebench[video]' (or av)"
        ) from None
    return av


def frames_root() -> Path:
    from moviebench.features.cache import cache_root

    return cache_root() / "frames"


def video_digests(paths: list[Path]) -> list[str]:
    """Content hashes of the videos, remembered on disk by path, size, mtime and inode."""
    from moviebench.features.store import cached_items, file_digest

    stamps = []
    for p in paths:
        st = os.stat(p)
        stamps.append(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}")
    rows = cached_items(
        "video-digest",
        stamps,
        lambda positions: np.array(
            [
                np.frombuffer(bytes.fromhex(file_digest(paths[i])), dtype=np.uint8)
                for i in positions
            ],
            dtype=np.uint8,
        ).reshape(len(positions), 16),
    )
    return [bytes(row).hex() for row in rows]


FRAME_LIST = "frames.json"  # inside a frame folder: each frame's name and content hash


def _frame_list(folder: Path) -> dict[str, str]:
    from moviebench.features.store import file_digest

    return {f.name: file_digest(f) for f in sorted(folder.glob("*.png"))}


def frames_intact(folder: Path) -> bool:
    """Whether a frame folder holds exactly the frames it was written with, byte for byte
    (content hashes memoised on each file's stat, so checking an intact folder reads
    nothing twice): a folder is not trusted by its name alone."""
    try:
        written = json.loads((folder / FRAME_LIST).read_text())
        return isinstance(written, dict) and written == _frame_list(folder)
    except (OSError, ValueError):
        return False


def extract(path: Path, digest: str, settings: VideoSettings, notes: list[str]) -> Path:
    """The folder of this video's sampled frames, decoded and written once. A damaged
    folder (a frame missing, added or changed) is decoded again, with a note: the frames
    come out the same, so the data's fingerprint does not move."""
    from PIL import Image

    folder = frames_root() / f"{digest}-{_sampling_key(settings)}"
    if folder.is_dir():
        if frames_intact(folder):
            return folder
        notes.append(f"frame cache {folder} damaged: {path.name} decoded again")
        aside = folder.with_name(f"{folder.name}.{os.getpid()}.damaged")
        with contextlib.suppress(OSError):
            os.replace(folder, aside)
        shutil.rmtree(aside, ignore_errors=True)
    tmp = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for t, array in decode_frames(path, settings):
            Image.fromarray(array).save(tmp / f"{round(t * 1000):09d}.png", compress_level=1)
        (tmp / FRAME_LIST).write_text(json.dumps(_frame_list(tmp)))
        try:
            os.replace(tmp, folder)  # complete or absent: a killed run leaves only a .tmp
        except OSError:
            if not folder.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def find_videos(root: Path) -> list[tuple[str, Path]]:
    """(film id, video file): files directly in the folder, or inside one folder per film."""
    found = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix.lower() in VIDEO_EXTENSIONS:
            found.append((entry.stem, entry))
        elif entry.is_dir():
            for f in sorted(entry.rglob("*")):
                if f.is_file() and f.suffix.lower() in VIDEO_EXTENSIONS:
                    found.append((entry.name, f))
    return found


def load(path: Path | None, settings: VideoSettings | None = None) -> LoadedSource:
    settings = settings or VideoSettings()
    if path is None or not path.is_dir():
        raise DataError(f"source 'video-folder' needs --data: a folder of video files (got {path})")
    videos = find_videos(path)
    require_av()
    if not videos:
        raise DataError(f"--data {path}: no video files inside ({', '.join(VIDEO_EXTENSIONS)})")
    report = LoadReport(source="video-folder", path=str(path))
    digests = video_digests([v for _, v in videos])
    rows = []
    from moviebench import progress

    for n, ((film, video), digest) in enumerate(zip(videos, digests), 1):
        folder = extract(video, digest, settings, report.notes)
        rel = video.relative_to(path).as_posix()
        for frame in sorted(folder.iterdir()):
            if frame.suffix != ".png":
                continue
            seconds = int(frame.stem) / 1000
            rows.append(
                {
                    "movie_id": film,
                    "title": film,
                    "image": str(frame),
                    "image_id": f"{rel}@{seconds:.3f}",
                    "time": seconds,
                    "video_digest": digest,
                }
            )
        if n % progress.EVERY == 0 or n == len(videos):
            progress.report("sampling video frames", n, len(videos))
    table = pd.DataFrame(
        rows, columns=["movie_id", "title", "image", "image_id", "time", "video_digest"]
    )
    report.rows_read = len(table)
    report.notes.append(f"{len(videos)} videos, frames sampled by {_sampling_key(settings)}")
    # Frames are written by this loader from decoded video: every one of them is an image.
    report.images = {"found": len(table), "missing": 0, "unreadable": 0}
    # Frame paths are fingerprinted relative to the frames cache (named by video content).
    return LoadedSource(table=table, report=report, root=frames_root(), files_derived=True)


register_source(
    SourceSpec(
        name="video-folder",
        description="one video file per film; frames sampled at fixed times (PyAV): one row per frame",
        load=load,
        needs_path=True,
        path_hint="a folder of video files, one per film (or one folder per film holding its video)",
        settings_type=VideoSettings,
    )
)


def write_synthetic_video(
    path: Path, seed: int, seconds: float = 2.0, fps: int = 10, size: tuple[int, int] = (48, 32)
) -> Path:
    """A small distinct film for tests and benchmarks: its own colours and moving pattern
    (drawn from `seed`), changing over time, encoded with PyAV (MPEG-4 Part 2)."""
    import av

    rng = np.random.default_rng(seed)
    width, height = size
    base = rng.integers(0, 256, size=3)
    texture = rng.integers(0, 256, size=(height, width, 3))
    speed = rng.integers(1, 4, size=2)
    n = max(1, round(seconds * fps))
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = fps  # a keyframe a second, so seeking lands near
        for i in range(n):
            moved = np.roll(texture, (int(i * speed[0]), int(i * speed[1])), axis=(0, 1))
            shade = (base + 40 * np.sin(i / fps + np.arange(3))).clip(0, 255)
            image = (0.5 * moved + 0.5 * shade).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
