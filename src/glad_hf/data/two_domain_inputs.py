"""Reading what describes two video domains: class-name files, annotation lists (rows `path total_frames label`
or `path offset total_frames label`; errors name the file and line) and folders-layout domains
(`<root>/<split>/<class>/<video or rawframe folder>`)."""

from __future__ import annotations

import logging
import os
import posixpath
import re
import string
from dataclasses import dataclass
from pathlib import Path

from glad_hf.data.annotations import AnnotationError
from glad_hf.data.readers import FRAME_FILENAME_TEMPLATE, VIDEO_EXTENSIONS, is_video_file

logger = logging.getLogger(__name__)

SPLITS = ("train", "test")
# `num_frames` of a video whose length no list gives: the whole video, its length read when decoding.
WHOLE_VIDEO = -1
# Folder of the "test" split in the folders layout: `test/`, else `val/`.
TEST_SPLIT_DIRS = ("test", "val")
ROW_FORMATS = "`<path> <total_frames> <label>` or `<path> <offset> <total_frames> <label>`"


def frame_number_pattern(template: str) -> re.Pattern:
    """Regex matching the file names `template` (e.g. `img_{:05d}.jpg`) gives; group 1 is the frame number."""
    try:
        parts = list(string.Formatter().parse(template))
        template.format(1)
    except (ValueError, IndexError, KeyError) as error:
        raise ValueError(
            f"frame_template {template!r} is not a format string of one integer: {error}"
        ) from None
    fields = [part for part in parts if part[1] is not None]
    if len(fields) != 1 or fields[0][1] not in ("", "0") or fields[0][3] is not None or "/" in template:
        raise ValueError(
            f"frame_template must be a file name with one integer field such as {FRAME_FILENAME_TEMPLATE!r}, "
            f"got {template!r}"
        )
    prefix = "".join(part[0] for part in parts[: parts.index(fields[0]) + 1])
    suffix = "".join(part[0] for part in parts[parts.index(fields[0]) + 1 :])
    return re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix))


@dataclass(frozen=True)
class VideoListRow:
    """One row of a two-domain annotation list: `label` indexes the domain's class names."""

    rel_path: str
    offset: int
    num_frames: int
    label: int
    line_number: int


def read_class_names(path: str | os.PathLike) -> list[str]:
    """Class names of a class-name file, one a line (surrounding spaces stripped, trailing blank lines ignored)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"class-name file {path} does not exist (expected one class name a line)")
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f.read().splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise ValueError(f"{path}: holds no class name (expected one class name a line)")
    seen = {}
    for line_number, name in enumerate(lines, start=1):
        if not name:
            raise ValueError(
                f"{path}:{line_number}: empty class name (class ids are line positions, so none may be blank)"
            )
        if name in seen:
            raise ValueError(f"{path}:{line_number}: class {name!r} repeats line {seen[name]}")
        seen[name] = line_number
    return lines


def _parse_int(text: str, what: str, where: str, line: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise AnnotationError(f"{where}: {what} must be an integer, got {text!r} in row {line!r}") from None


def _relative_path(text: str, root: Path, where: str) -> str:
    """The row's path relative to `root`, refusing one that leaves it."""
    if os.path.isabs(text) or text.startswith("~"):
        absolute = os.path.normpath(os.path.expanduser(text))
        if os.path.commonpath([absolute, os.fspath(root)]) != os.fspath(root):
            raise AnnotationError(f"{where}: path {text!r} is outside the domain root {root}")
        text = os.path.relpath(absolute, root)
    normal = posixpath.normpath(text.replace(os.sep, "/"))
    if normal in (".", "..") or normal.startswith("../"):
        raise AnnotationError(
            f"{where}: path {text!r} leaves the domain root {root} (paths are relative to it)"
        )
    return normal


def read_annotation_rows(
    path: str | os.PathLike, *, root: str | os.PathLike, class_names: list[str], class_file: str | os.PathLike
) -> list[VideoListRow]:
    """Rows of a list file (blank lines skipped); errors name the file and line."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"annotation list {path} does not exist (rows {ROW_FORMATS})")
    root = Path(root)
    rows = []
    with open(path, encoding="utf-8") as f:
        for line_number, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                continue
            where, text = f"{path}:{line_number}", line.strip()
            if len(fields) not in (3, 4):
                raise AnnotationError(
                    f"{where}: expected 3 or 4 space-separated fields, {ROW_FORMATS}, got {len(fields)} in row {text!r}"
                )
            rel_path = _relative_path(fields[0], root, where)
            offset = _parse_int(fields[1], "offset", where, text) if len(fields) == 4 else 0
            num_frames = _parse_int(fields[-2], "total_frames", where, text)
            label = _parse_int(fields[-1], "label", where, text)
            if offset < 0:
                raise AnnotationError(f"{where}: offset must be >= 0, got {offset}")
            if num_frames < 1:
                raise AnnotationError(f"{where}: total_frames must be >= 1, got {num_frames}")
            if not 0 <= label < len(class_names):
                raise AnnotationError(
                    f"{where}: class id {label} is outside 0-{len(class_names) - 1}, the {len(class_names)} "
                    f"classes of {os.fspath(class_file)}"
                )
            rows.append(VideoListRow(rel_path, offset, num_frames, label, line_number))
    if not rows:
        raise AnnotationError(f"{path}: holds no row (expected rows {ROW_FORMATS})")
    return rows


def detect_list_media(root: Path, rows: list[VideoListRow], *, list_file: str, first_frame: str) -> str:
    """The layout of the first row found under `root`: "rawframes" (a folder) or "video" (a file)."""
    for row in rows:
        path = root / row.rel_path
        if path.is_dir():
            return "rawframes"
        if path.is_file():
            return "video"
    example = root / rows[0].rel_path
    raise FileNotFoundError(
        f"none of the {len(rows)} rows of {list_file} is under {root}: expected rawframe folders such as "
        f"{example / first_frame} or video files such as {example}. Check the root, or pass "
        f"media='rawframes' or media='video' to build the index without media"
    )


def scan_domain_folder(root: str | os.PathLike, template: str, *, domain: str = "source") -> dict:
    """Listing of a folders-layout domain: `{split: {"folder", "folder_name", "classes": {class: items}}}`.

    An item is `[name, media, start_index, num_frames]`: a video file (`"video", 0, -1`) or a rawframe folder
    (`"rawframes"`, its first frame number, its frame count). Hidden entries and other files are skipped.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"{domain}_root {root} is not a folder (expected {root}/train/<class>/<video>)"
        )
    pattern = frame_number_pattern(template)
    listing = {}
    for split in SPLITS:
        candidates = ("train",) if split == "train" else TEST_SPLIT_DIRS
        folder = next((root / name for name in candidates if (root / name).is_dir()), None)
        if folder is None:
            found = sorted(entry.name for entry in os.scandir(root))
            raise FileNotFoundError(
                f"{domain} folder {root} has no {' or '.join(f'{c}/' for c in candidates)} split folder "
                f"(expected {root}/{candidates[0]}/<class>/<video>; found {found[:20]})"
            )
        classes, skipped = {}, []
        for class_entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if class_entry.name.startswith(".") or not class_entry.is_dir():
                continue
            items = classes.setdefault(class_entry.name, [])
            for entry in sorted(os.scandir(class_entry.path), key=lambda e: e.name):
                if entry.name.startswith("."):
                    continue
                if entry.is_file() and is_video_file(entry.name):
                    items.append([entry.name, "video", 0, WHOLE_VIDEO])
                elif entry.is_dir() and (frames := _frame_numbers(entry.path, pattern, template)):
                    items.append([entry.name, "rawframes", frames[0], len(frames)])
                else:
                    skipped.append(os.path.join(class_entry.name, entry.name))
        if not any(classes.values()):
            raise FileNotFoundError(
                f"no videos in {domain} folder {folder}: expected <class>/<name>.{{{','.join(VIDEO_EXTENSIONS)}}} "
                f"or rawframe folders <class>/<name>/{template.format(1)}; found {len(classes)} class folders"
                + (f" holding {skipped[:5]}" if skipped else "")
            )
        if skipped:
            logger.info(
                "%s: skipped %d entries that are neither videos nor rawframe folders, e.g. %s",
                folder,
                len(skipped),
                skipped[:5],
            )
        listing[split] = {"folder": os.fspath(folder), "folder_name": folder.name, "classes": classes}
    return listing


def _frame_numbers(folder: str, pattern: re.Pattern, template: str) -> list[int]:
    numbers = sorted(
        int(match.group(1))
        for name in os.listdir(folder)
        if (match := pattern.fullmatch(name)) and template.format(int(match.group(1))) == name
    )
    if numbers and numbers[-1] - numbers[0] + 1 != len(numbers):
        missing = next(n for n, m in zip(range(numbers[0], numbers[-1] + 1), numbers, strict=False) if n != m)
        raise ValueError(
            f"rawframe folder {folder}: {len(numbers)} frames numbered {numbers[0]}-{numbers[-1]} are not "
            f"consecutive (first missing: {template.format(missing)})"
        )
    return numbers
