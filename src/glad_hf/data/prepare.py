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

Usage (``prepare_cli``: ``glad-prepare-rawframes`` and ``scripts/prepare_rawframes.py`` take the same arguments)::

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

import csv
import io
import json
import multiprocessing
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from glad_hf.atomic import atomic_write_text
from glad_hf.data.rawframes import VideoTooShortError, extract_rawframes, scan_outputs
from glad_hf.data.readers import FRAME_FILENAME_TEMPLATE, VIDEO_EXTENSIONS, FrameReadError
from glad_hf.data.video_listing import (
    PrepareArgumentError,
    check_shard_argument,
    normalize_extensions,
    plan_videos,
    video_key,
)

STATUSES = ("written", "done_earlier", "missing", "unreadable", "too_short")
BAD_STATUSES = ("missing", "unreadable", "too_short")
REPORT_FORMAT = "glad_hf.prepare_rawframes"
REPORT_VERSION = 1
REPORT_STEM = "prepare-report"


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
    shard = check_shard_argument(shard)
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
