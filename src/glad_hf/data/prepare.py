"""Videos -> JPEG rawframe folders: resumable, shardable over machines, parallel (the reference extracts rawframes
beforehand "to optimize I/O").

A video ``<videos_root>/<rel>/<name>.<ext>`` becomes the folder ``<output_root>/<rel>/<name>/`` holding every
decodable frame as ``img_{:05d}.jpg`` (``template``) numbered from ``start_index``, resized so that its short side
is ``short_side`` (aspect kept; 0 keeps the size; 256 like the reference's ``rawframes_resized``). The layouts the
Kinetics->BABEL builder reads (``glad_hf.data.annotations.media_path`` / ``first_frame_number``):

- Kinetics, numbered from 0: ``<videos>/train/<class>/<ytid>_<start>_<end>.mp4`` ->
  ``<k400>/train/<class>/<ytid>_<start>_<end>/img_00000.jpg, ...`` (the same for ``val``);
- BABEL, numbered from 1 (``--start_index 1``): one render per sequence, ``<videos>/<train|val>/<sid>.mp4`` ->
  ``<babel>/<train|val>/<sid>/img_00001.jpg, ...``; the lists' segments are cut from it when read.

Usage (``glad-prepare-rawframes`` and ``python scripts/prepare_rawframes.py`` take the same arguments)::

    # one machine, 4 worker processes
    glad-prepare-rawframes --videos_root videos/k400 --output_root data/k400 --num_workers 4

    # BABEL renders from an mmaction list (first column `train/<sid>`; the extension is found on disk)
    glad-prepare-rawframes --videos_root videos/babel --output_root data/babel --start_index 1 \\
        --list babel_train.txt

    # a Slurm array of 16 tasks, no coordination (task K takes videos K, K + 16, K + 32, ... of the sorted list)
    #SBATCH --array=0-15
    glad-prepare-rawframes --videos_root videos/k400 --output_root data/k400 --num_workers $SLURM_CPUS_PER_TASK \\
        --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT

Which videos: every file under ``videos_root`` with one of ``extensions`` (case-insensitive; names starting with
"." are skipped), or the entries of ``video_list``, a text file with one path relative to ``videos_root`` per line
(blank lines and lines starting with "#" skipped). Of a line only the first whitespace-separated column is used, so
mmaction list rows ``path total_frames label`` work as they are (paths with spaces do not); an entry whose suffix is
not one of ``extensions`` gets the first extension under which the file exists. Either list is de-duplicated and
sorted; two videos that differ only in extension (same output folder) are an error.

Resuming: frames are written into a temporary sibling ``<name>.tmp-<pid>/`` that is renamed to ``<name>/`` once
complete, so a folder exists only when complete. An existing folder is skipped (``done_earlier``); stale
``<name>.tmp-*`` folders of a killed run are removed and the video done again. Do not run one shard twice at once.

Sharding: ``shard=(K, N)`` (``--shard K/N``, 0 <= K < N) keeps the videos whose position in the sorted list is
K mod N: N machines partition the work from the same inputs alone. Give every machine the same ``--list`` (a
folder still being filled may list differently on each). The same selection splits the rows of
``glad_hf.data.background.extract_backgrounds`` (``scripts/extract_backgrounds.py --shard K/N``).

Report: at the end of a run, ``<report_dir>/prepare-report.json`` and ``prepare-report.csv``
(``prepare-report-shard-K-of-N.*`` for a shard, so shards never overwrite each other; a rerun of the same shard
replaces its own), written atomically. JSON::

    {"format": "glad_hf.prepare_rawframes", "version": 1, "videos_root": "...", "output_root": "...",
     "video_list": null, "shard": [K, N] | null, "seconds": 81.2,
     "settings": {"start_index": 0, "template": "img_{:05d}.jpg", "short_side": 256, "quality": 95,
                  "min_frames": 1, "extensions": ["mp4", ...]},
     "counts": {"written": 12, "done_earlier": 3, "missing": 0, "unreadable": 1, "too_short": 1, "total": 17,
                "stale_temps_removed": 0},
     "videos": [{"video": "a/x.mp4", "key": "a/x", "status": "written", "frames": 300, "reason": ""}, ...]}

One entry per video of the shard, in list order. ``video``: path relative to ``videos_root`` (as listed when it is
missing); ``key``: it without extension, the output folder relative to ``output_root`` and the first column of
the annotation lists; ``status``: ``written`` (``frames`` written), ``done_earlier`` (folder already there;
frames null), ``missing`` (listed, no file), ``unreadable`` (decoding failed; nothing kept; ``reason`` is the
error), ``too_short`` (fewer than ``min_frames`` decodable frames, ``frames`` of them; nothing kept). The CSV has
the columns ``video,key,status,frames,reason``. ``read_prepare_reports`` gathers the bad ones (missing,
unreadable, too_short) as ``{key: "status: reason"}`` so that training can skip them.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import multiprocessing
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar

import av
import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from glad_hf.atomic import atomic_write_text
from glad_hf.data.readers import FRAME_FILENAME_TEMPLATE, VIDEO_EXTENSIONS, FrameReadError
from glad_hf.data.transforms import resize_short_side

STATUSES = ("written", "done_earlier", "missing", "unreadable", "too_short")
BAD_STATUSES = ("missing", "unreadable", "too_short")
REPORT_FORMAT = "glad_hf.prepare_rawframes"
REPORT_VERSION = 1
REPORT_STEM = "prepare-report"
TEMP_MARKER = ".tmp-"

T = TypeVar("T")


class PrepareArgumentError(ValueError):
    """A bad argument of a preparation run (found before any video is touched); the message names it."""


class VideoTooShortError(FrameReadError):
    """A video decoded to fewer frames than asked for (``num_frames`` of them)."""

    def __init__(self, message: str, num_frames: int):
        super().__init__(message)
        self.num_frames = num_frames


# --- shards -----------------------------------------------------------------------------------------------------


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> ``(K, N)`` with 0 <= K < N; ValueError naming the text otherwise."""
    try:
        index, count = (int(part) for part in str(text).split("/"))
    except ValueError:  # not two parts, or not integers
        raise ValueError(
            f"--shard must be K/N with integers 0 <= K < N (e.g. 0/4, or "
            f"$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT), got {text!r}"
        ) from None
    return check_shard((index, count))


def check_shard(shard: tuple[int, int] | None) -> tuple[int, int] | None:
    """Validate ``shard=(K, N)`` (None = everything): integers, N >= 1, 0 <= K < N."""
    if shard is None:
        return None
    try:
        index, count = shard
    except (TypeError, ValueError):
        raise ValueError(f"shard must be a pair (K, N) or None, got {shard!r}") from None
    if not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in (index, count)):
        raise ValueError(f"shard (K, N) must be integers, got {shard!r}")
    if count < 1:
        raise ValueError(f"shard {index}/{count}: the number of shards N must be >= 1")
    if not 0 <= index < count:
        raise ValueError(f"shard {index}/{count}: K must be in 0..{count - 1} (K is 0-based, K < N)")
    return int(index), int(count)


def shard_items(items: Sequence[T], shard: tuple[int, int] | None) -> list[T]:
    """The items whose position is K mod N (all of them for None): N shards partition ``items``."""
    shard = check_shard(shard)
    if shard is None:
        return list(items)
    index, count = shard
    return list(items[index::count])


def shard_argument(text: str) -> tuple[int, int]:
    """``parse_shard`` as an argparse ``type`` (its message shown as the usage error)."""
    try:
        return parse_shard(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


# --- which videos -----------------------------------------------------------------------------------------------


def normalize_extensions(extensions: Iterable[str]) -> tuple[str, ...]:
    """``(".MP4", "avi")`` -> ``("mp4", "avi")``; PrepareArgumentError when empty."""
    extensions = [extensions] if isinstance(extensions, str) else list(extensions)
    normalized = tuple(
        dict.fromkeys(e.strip().lstrip(".").lower() for e in extensions if e.strip().lstrip("."))
    )
    if not normalized:
        raise PrepareArgumentError(f"extensions: give at least one video extension, got {list(extensions)!r}")
    return normalized


def video_key(video: str, extensions: Sequence[str]) -> str:
    """``"a/x.mp4"`` -> ``"a/x"`` (the output folder); an entry without one of ``extensions`` is its own key."""
    stem, dot, suffix = video.rpartition(".")
    if dot and "/" not in suffix and suffix.lower() in extensions:
        return stem
    return video


def list_videos(videos_root: str | os.PathLike, extensions: Sequence[str] = VIDEO_EXTENSIONS) -> list[str]:
    """Sorted paths (relative to ``videos_root``, "/"-separated) of the video files below it."""
    root = Path(videos_root)
    extensions = normalize_extensions(extensions)
    found = []
    for folder, subfolders, files in os.walk(root, followlinks=True):
        subfolders[:] = sorted(s for s in subfolders if not s.startswith(".") and TEMP_MARKER not in s)
        relative = Path(folder).relative_to(root).as_posix()
        for name in files:
            if not name.startswith(".") and name.rpartition(".")[2].lower() in extensions:
                found.append(name if relative == "." else f"{relative}/{name}")
    return sorted(found)


def read_video_list(list_path: str | os.PathLike) -> list[str]:
    """First column of every non-blank, non-"#" line of a list file (paths relative to ``videos_root``)."""
    entries = []
    with open(list_path, encoding="utf-8") as f:
        for line_number, line in enumerate(f, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            entry = text.split()[0].replace("\\", "/")
            parts = entry.rstrip("/").split("/")
            if entry.startswith("/") or os.path.isabs(entry) or any(p in ("", ".", "..") for p in parts):
                raise PrepareArgumentError(
                    f"{os.fspath(list_path)}:{line_number}: the first column must be a path relative to "
                    f"videos_root (no '.', '..' or empty parts, not absolute), got {text.split()[0]!r} in row "
                    f"{text!r}"
                )
            entries.append("/".join(parts))
    return entries


def plan_videos(
    videos_root: str | os.PathLike,
    *,
    video_list: str | os.PathLike | None = None,
    extensions: Sequence[str] = VIDEO_EXTENSIONS,
    shard: tuple[int, int] | None = None,
) -> list[str]:
    """The shard's videos: the sorted, de-duplicated list (folder scan or ``video_list``), every N-th from K."""
    extensions = normalize_extensions(extensions)
    shard = _check_shard_argument(shard)
    if not Path(videos_root).is_dir():
        raise PrepareArgumentError(
            f"videos_root {os.fspath(videos_root)!r} does not exist or is not a folder"
        )
    if video_list is not None:
        if not Path(video_list).is_file():
            raise PrepareArgumentError(f"list {os.fspath(video_list)!r} does not exist or is not a file")
        videos = sorted(set(read_video_list(video_list)))
    else:
        videos = list_videos(videos_root, extensions)
    by_key: dict[str, list[str]] = {}
    for video in videos:
        by_key.setdefault(video_key(video, extensions), []).append(video)
    clashes = [paths for paths in by_key.values() if len(paths) > 1]
    if clashes:
        listed = "; ".join(" and ".join(paths) for paths in clashes[:10])
        raise PrepareArgumentError(
            f"{len(clashes)} videos under {os.fspath(videos_root)} would share an output folder (same path, "
            f"different extension): {listed}; keep one of each or pass --list / --extensions"
        )
    return shard_items(videos, shard)


def _check_shard_argument(shard: tuple[int, int] | None) -> tuple[int, int] | None:
    try:
        return check_shard(shard)
    except ValueError as error:
        raise PrepareArgumentError(str(error)) from None


# --- one video --------------------------------------------------------------------------------------------------


def iter_video_frames(path: str | os.PathLike, *, threads: int = 0) -> Iterator[np.ndarray]:
    """uint8 RGB frames ``[H, W, 3]`` of a video, one at a time in presentation order (PyAV); FrameReadError
    (naming the file and how many frames came out) when it cannot be opened or decoded."""
    path = os.fspath(path)
    try:
        container = av.open(path)
    except Exception as error:  # PyAV raises several types (FFmpegError, ValueError, ...) on damaged input
        raise FrameReadError(f"cannot open video {path} (corrupt or truncated?): {error}") from error
    with container:
        if not container.streams.video:
            raise FrameReadError(f"{path} holds no video stream")
        stream = container.streams.video[0]
        stream.codec_context.thread_count = threads
        decoded = container.decode(stream)
        count = 0
        while True:
            try:
                frame = next(decoded, None)
                if frame is None:
                    return
                pixels = frame.to_ndarray(format="rgb24")
            except Exception as error:
                raise FrameReadError(
                    f"cannot decode video {path} after {count} frames (corrupt or truncated?): {error}"
                ) from error
            count += 1
            yield pixels


def extract_rawframes(
    video_path: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    start_index: int = 0,
    template: str = FRAME_FILENAME_TEMPLATE,
    short_side: int = 256,
    quality: int = 95,
    min_frames: int = 1,
    decode_threads: int = 0,
) -> int:
    """Write every frame of one video as JPEGs ``output_dir/template.format(start_index + i)``; returns the count.

    Frames go to ``<output_dir>.tmp-<pid>/`` first, renamed to ``output_dir`` when all are written, so
    ``output_dir`` exists only complete (``prepare_rawframes`` removes the ``.tmp-*`` of killed runs).
    FrameReadError when decoding fails, VideoTooShortError under ``min_frames`` frames; neither leaves anything.
    """
    output_dir = Path(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    temp_dir = output_dir.with_name(f"{output_dir.name}{TEMP_MARKER}{os.getpid()}")
    if temp_dir.exists():  # left by an earlier process with the same id
        shutil.rmtree(temp_dir)
    temp_dir.mkdir()
    try:
        count = 0
        for pixels in iter_video_frames(video_path, threads=decode_threads):
            if short_side:
                frame = resize_short_side(torch.from_numpy(pixels).permute(2, 0, 1)[None], short_side)[0]
                pixels = frame.permute(1, 2, 0).contiguous().numpy()
            path = temp_dir / template.format(start_index + count)
            Image.fromarray(pixels).save(path, format="JPEG", quality=quality)
            count += 1
        if count < min_frames:
            raise VideoTooShortError(
                f"{os.fspath(video_path)} has {count} decodable frames, fewer than min_frames={min_frames}",
                count,
            )
        os.replace(temp_dir, output_dir)
    finally:
        if temp_dir.exists():
            shutil.rmtree(temp_dir, ignore_errors=True)
    return count


def scan_outputs(
    output_root: str | os.PathLike, keys: Iterable[str]
) -> tuple[set[str], dict[str, list[Path]]]:
    """(keys whose folder exists, {key: its ``.tmp-*`` folders left by killed runs}); one listing per folder."""
    output_root = Path(output_root)
    by_parent: dict[str, set[str]] = {}
    for key in keys:
        parent, _, name = key.rpartition("/")
        by_parent.setdefault(parent, set()).add(name)
    done, stale = set(), {}
    for parent, names in by_parent.items():
        folder = output_root / parent
        try:
            entries = [entry for entry in os.scandir(folder) if entry.is_dir()]
        except FileNotFoundError:
            continue
        prefix = f"{parent}/" if parent else ""
        for entry in entries:
            name, marker, _ = entry.name.rpartition(TEMP_MARKER)
            if entry.name in names:
                done.add(prefix + entry.name)
            elif marker and name in names:
                stale.setdefault(prefix + name, []).append(folder / entry.name)
    return done, stale


@dataclass(frozen=True)
class VideoResult:
    """What happened to one video (a row of the report)."""

    video: str
    key: str
    status: str
    frames: int | None = None
    reason: str = ""
    stale_temps_removed: int = 0


@dataclass(frozen=True)
class _VideoTask:
    video: str
    key: str
    video_path: str
    output_dir: str
    settings: dict
    stale: int


def _resolve_video(videos_root: Path, video: str, key: str, extensions: Sequence[str]) -> Path | None:
    if video != key:
        path = videos_root / video
        return path if path.is_file() else None
    for extension in extensions:
        path = videos_root / f"{video}.{extension}"
        if path.is_file():
            return path
    return None


def _prepare_one(task: _VideoTask) -> VideoResult:
    try:
        frames = extract_rawframes(task.video_path, task.output_dir, **task.settings)
    except VideoTooShortError as error:
        return VideoResult(task.video, task.key, "too_short", error.num_frames, str(error), task.stale)
    except FrameReadError as error:
        return VideoResult(task.video, task.key, "unreadable", None, str(error), task.stale)
    return VideoResult(task.video, task.key, "written", frames, "", task.stale)


def _init_worker() -> None:
    torch.set_num_threads(1)


# --- a run ------------------------------------------------------------------------------------------------------


@dataclass
class PrepareReport:
    """The outcome of ``prepare_rawframes``: one ``VideoResult`` per video of the shard, counts, report files."""

    results: list[VideoResult]
    counts: dict[str, int]
    shard: tuple[int, int] | None
    output_root: str
    json_path: str
    csv_path: str
    settings: dict = field(default_factory=dict)

    def bad(self) -> dict[str, str]:
        """``{key: "status: reason"}`` of the missing, unreadable and too-short videos."""
        return {r.key: f"{r.status}: {r.reason}" for r in self.results if r.status in BAD_STATUSES}

    def summary(self) -> str:
        """A small table of the counts, the shard and where the report is."""
        shard = f" (shard {self.shard[0]}/{self.shard[1]})" if self.shard else ""
        width = max(len(name) for name in (*STATUSES, "total"))
        lines = [f"rawframes in {self.output_root}{shard}", f"{'status':<{width}}  videos"]
        lines += [f"{name:<{width}}  {self.counts[name]:>6}" for name in (*STATUSES, "total")]
        if self.counts.get("stale_temps_removed"):
            lines.append(
                f"(removed {self.counts['stale_temps_removed']} unfinished folder(s) of a killed run)"
            )
        lines.append(f"report: {self.json_path} (and .csv)")
        return "\n".join(lines)


def report_stem(shard: tuple[int, int] | None) -> str:
    """``prepare-report`` or ``prepare-report-shard-K-of-N``."""
    return REPORT_STEM if shard is None else f"{REPORT_STEM}-shard-{shard[0]}-of-{shard[1]}"


def prepare_rawframes(
    videos_root: str | os.PathLike,
    output_root: str | os.PathLike,
    *,
    video_list: str | os.PathLike | None = None,
    start_index: int = 0,
    template: str = FRAME_FILENAME_TEMPLATE,
    short_side: int = 256,
    quality: int = 95,
    min_frames: int = 1,
    extensions: Sequence[str] = VIDEO_EXTENSIONS,
    num_workers: int = 0,
    shard: tuple[int, int] | None = None,
    report_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> PrepareReport:
    """Extract the rawframes of every video of the shard (see the module docstring); returns the report.

    Args:
        videos_root: folder of the videos; ``output_root``: folder of the rawframe folders (mirrors it).
        video_list: text file of videos relative to ``videos_root`` (None: every video file below it).
        start_index: number of the first frame file (Kinetics 0, BABEL 1); ``template``: frame file names.
        short_side: short side of the written frames (0 = the video's size); ``quality``: JPEG quality 1-100.
        min_frames: videos with fewer decodable frames are reported ``too_short`` and not kept.
        extensions: video file extensions to look for.
        num_workers: worker processes (spawned); 0 = in this process.
        shard: ``(K, N)``: only the videos at positions K mod N of the sorted list (None = all).
        report_dir: where ``prepare-report[-shard-K-of-N].{json,csv}`` go (default ``output_root``).

    Raises PrepareArgumentError for a bad argument before any work; a video that cannot be read is reported,
    never raised. Other errors (e.g. a full disk) stop the run, naming the video.
    """
    settings = _check_settings(
        start_index=start_index,
        template=template,
        short_side=short_side,
        quality=quality,
        min_frames=min_frames,
        num_workers=num_workers,
    )
    extensions = normalize_extensions(extensions)
    shard = _check_shard_argument(shard)
    videos = plan_videos(videos_root, video_list=video_list, extensions=extensions, shard=shard)
    videos_root, output_root = Path(videos_root), Path(output_root)
    report_dir = Path(report_dir) if report_dir is not None else output_root
    output_root.mkdir(parents=True, exist_ok=True)
    report_dir.mkdir(parents=True, exist_ok=True)

    keys = [video_key(video, extensions) for video in videos]
    done, stale = scan_outputs(output_root, keys)
    task_settings = {**settings, "decode_threads": 1 if num_workers else 0}
    results: list[VideoResult | None] = [None] * len(videos)
    tasks: list[tuple[int, _VideoTask]] = []
    for position, (video, key) in enumerate(zip(videos, keys)):
        for folder in stale.get(key, []):  # a killed run's unfinished frames
            shutil.rmtree(folder)
        removed = len(stale.get(key, []))
        if key in done:
            results[position] = VideoResult(video, key, "done_earlier", None, "", removed)
            continue
        path = _resolve_video(videos_root, video, key, extensions)
        if path is None:
            where = videos_root / video if video != key else f"{videos_root / key}.{{{','.join(extensions)}}}"
            reason = f"no video file {where}"
            results[position] = VideoResult(video, key, "missing", None, reason, removed)
            continue
        video = path.relative_to(videos_root).as_posix()
        task = _VideoTask(video, key, str(path), str(output_root / key), task_settings, removed)
        tasks.append((position, task))

    shard_text = f" {shard[0]}/{shard[1]}" if shard else ""
    started = time.time()
    with tqdm(total=len(videos), desc=f"rawframes{shard_text}", unit="video", disable=not progress) as bar:
        bar.update(len(videos) - len(tasks))
        if num_workers == 0:
            for position, task in tasks:
                results[position] = _run_task(task)
                bar.update()
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(num_workers, mp_context=context, initializer=_init_worker) as executor:
                futures = {executor.submit(_prepare_one, task): (position, task) for position, task in tasks}
                try:
                    for future in as_completed(futures):
                        position, task = futures[future]
                        try:
                            results[position] = future.result()
                        except Exception as error:
                            raise RuntimeError(f"stopped at video {task.video_path}: {error}") from error
                        bar.update()
                except BaseException:
                    executor.shutdown(wait=True, cancel_futures=True)
                    raise

    counts = {status: sum(r.status == status for r in results) for status in STATUSES}
    counts["total"] = len(results)
    counts["stale_temps_removed"] = sum(r.stale_temps_removed for r in results)
    stem = report_stem(shard)
    report = PrepareReport(
        results=list(results),
        counts=counts,
        shard=shard,
        output_root=str(output_root),
        json_path=str(report_dir / f"{stem}.json"),
        csv_path=str(report_dir / f"{stem}.csv"),
        settings={**settings, "extensions": list(extensions)},
    )
    document = {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "videos_root": str(videos_root),
        "output_root": str(output_root),
        "video_list": os.fspath(video_list) if video_list is not None else None,
        "shard": list(shard) if shard else None,
        "settings": report.settings,
        "seconds": round(time.time() - started, 3),
        "counts": counts,
        "videos": [_report_row(r) for r in results],
    }
    atomic_write_text(report.json_path, json.dumps(document, indent=1) + "\n")
    atomic_write_text(report.csv_path, _csv_text(results))
    return report


def _run_task(task: _VideoTask) -> VideoResult:
    try:
        return _prepare_one(task)
    except Exception as error:
        raise RuntimeError(f"stopped at video {task.video_path}: {error}") from error


def _report_row(result: VideoResult) -> dict:
    row = asdict(result)
    del row["stale_temps_removed"]
    return row


def _csv_text(results: Iterable[VideoResult]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["video", "key", "status", "frames", "reason"])
    for r in results:
        writer.writerow([r.video, r.key, r.status, "" if r.frames is None else r.frames, r.reason])
    return buffer.getvalue()


def _check_settings(
    *, start_index: int, template: str, short_side: int, quality: int, min_frames: int, num_workers: int
) -> dict:
    def integer(name: str, value, low: int, high: int | None = None) -> int:
        wanted = f">= {low}" if high is None else f"in {low}..{high}"
        is_integer = isinstance(value, int | np.integer) and not isinstance(value, bool)
        if not is_integer or value < low or (high is not None and value > high):
            raise PrepareArgumentError(f"{name} must be an integer {wanted}, got {value!r}")
        return int(value)

    try:
        names = {template.format(0), template.format(1)}
    except (AttributeError, IndexError, KeyError, ValueError):
        names = set()
    if len(names) != 2 or any("/" in name or os.sep in name or not name for name in names):
        raise PrepareArgumentError(
            f"template must format one frame number into a file name, like {FRAME_FILENAME_TEMPLATE!r}; "
            f"got {template!r}"
        )
    integer("num_workers", num_workers, 0)
    return {
        "start_index": integer("start_index", start_index, 0),
        "template": template,
        "short_side": integer("short_side", short_side, 0),
        "quality": integer("quality", quality, 1, 100),
        "min_frames": integer("min_frames", min_frames, 1),
    }


def read_prepare_reports(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> dict[str, str]:
    """``{key: "status: reason"}`` of the missing, unreadable and too-short videos of preparation reports.

    ``paths``: report JSON files, or folders (each contributes its ``prepare-report*.json``, sorted). Reports are
    read in order and a later one wins for a key, so a video that is fine in a later report is dropped.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(path.glob(f"{REPORT_STEM}*.json"))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"preparation report {path} does not exist")
    bad: dict[str, str] = {}
    for path in files:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"cannot read preparation report {path}: {error}") from error
        if not isinstance(document, dict) or document.get("format") != REPORT_FORMAT:
            raise ValueError(f'{path} is not a preparation report (no "format": {REPORT_FORMAT!r})')
        for number, row in enumerate(document.get("videos", []), start=1):
            if not isinstance(row, dict) or row.get("status") not in STATUSES or "key" not in row:
                raise ValueError(f"{path}: video entry {number} is malformed: {row!r}")
            if row["status"] in BAD_STATUSES:
                bad[row["key"]] = f"{row['status']}: {row.get('reason', '')}"
            else:
                bad.pop(row["key"], None)
    return bad


# --- command line -----------------------------------------------------------------------------------------------


def default_num_workers() -> int:
    """CPU cores this process may use (Slurm's allocation, not the node's), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glad-prepare-rawframes",
        description=__doc__.split("\n\n")[0],
        epilog="examples:"
        + __doc__.split("arguments)::", 1)[1].split("Which videos")[0].rstrip()
        + "\n\nLayouts, resuming, sharding and the report format: the docstring of glad_hf.data.prepare.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--videos_root", required=True, help="folder of the videos")
    parser.add_argument("--output_root", required=True, help="folder of the rawframe folders (mirrors it)")
    parser.add_argument(
        "--list",
        default=None,
        help="text file of videos relative to videos_root, one per line (first column of mmaction rows; "
        "extension found on disk when absent); default: every video file below videos_root",
    )
    parser.add_argument(
        "--start_index", type=int, default=0, help="number of the first frame file: 0 Kinetics, 1 BABEL"
    )
    parser.add_argument("--template", default=FRAME_FILENAME_TEMPLATE, help="frame file names")
    parser.add_argument("--short_side", type=int, default=256, help="short side of the frames; 0 = keep size")
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality 1-100")
    parser.add_argument(
        "--min_frames", type=int, default=1, help="fewer decodable frames: reported too_short, not kept"
    )
    parser.add_argument(
        "--extensions", nargs="+", default=list(VIDEO_EXTENSIONS), help="video file extensions to look for"
    )
    parser.add_argument(
        "--num_workers",
        type=int,
        default=default_num_workers(),
        help="worker processes (default: the cores this process may use); 0 = in this process",
    )
    parser.add_argument(
        "--shard",
        type=shard_argument,
        default=None,
        metavar="K/N",
        help="only the videos at positions K mod N of the sorted list (0 <= K < N), e.g. "
        "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT",
    )
    parser.add_argument("--report_dir", default=None, help="where the report goes (default: output_root)")
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Command line of ``prepare_rawframes``; prints the summary table."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        report = prepare_rawframes(
            args.videos_root,
            args.output_root,
            video_list=args.list,
            start_index=args.start_index,
            template=args.template,
            short_side=args.short_side,
            quality=args.quality,
            min_frames=args.min_frames,
            extensions=args.extensions,
            num_workers=args.num_workers,
            shard=args.shard,
            report_dir=args.report_dir,
            progress=not args.no_progress,
        )
    except PrepareArgumentError as error:
        parser.error(str(error))
    print(report.summary())


if __name__ == "__main__":
    main()
