"""One video -> one JPEG rawframe folder, written whole or not at all: frames go to a temporary sibling
``<name>.tmp-<pid>/`` renamed to ``<name>/`` once complete; ``scan_outputs`` finds the finished folders and the
temporary ones of killed runs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image

from glad_hf.data.readers import FRAME_FILENAME_TEMPLATE, FrameReadError
from glad_hf.data.transforms import resize_short_side

TEMP_MARKER = ".tmp-"


class VideoTooShortError(FrameReadError):
    """A video decoded to fewer frames than asked for (``num_frames`` of them)."""

    def __init__(self, message: str, num_frames: int):
        super().__init__(message)
        self.num_frames = num_frames


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
