"""Which videos a preparation run takes: every video file below a folder, or the entries of a list file, sorted,
de-duplicated and sharded, each with its key (the path without extension: the output folder and the first column
of the annotation lists)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from glad_hf.data.rawframes import TEMP_MARKER
from glad_hf.data.readers import VIDEO_EXTENSIONS
from glad_hf.data.sharding import check_shard, shard_items


class PrepareArgumentError(ValueError):
    """A bad argument of a preparation run (found before any video is touched); the message names it."""


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


def read_video_paths(list_path: str | os.PathLike) -> list[str]:
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
    shard = check_shard_argument(shard)
    if not Path(videos_root).is_dir():
        raise PrepareArgumentError(
            f"videos_root {os.fspath(videos_root)!r} does not exist or is not a folder"
        )
    if video_list is not None:
        if not Path(video_list).is_file():
            raise PrepareArgumentError(f"list {os.fspath(video_list)!r} does not exist or is not a file")
        videos = sorted(set(read_video_paths(video_list)))
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


def check_shard_argument(shard: tuple[int, int] | None) -> tuple[int, int] | None:
    try:
        return check_shard(shard)
    except ValueError as error:
        raise PrepareArgumentError(str(error)) from None
