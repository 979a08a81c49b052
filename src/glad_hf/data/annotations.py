"""The Kinetics->BABEL annotation lists (SPEC §1) and where each row's frames live on disk.

The four lists come in one tar (`kinetics2babel/{k400_train,k400_test,babel_train,babel_test}.txt`):
- Kinetics rows `class/ytid_start_end total_frames label`;
- BABEL rows `split/sid offset total_frames label` (a segment of sequence `sid`).
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from glad_hf.labels import K2B_LABELS, K400_CLASSES_PER_LABEL

# The reference repository's copy of the lists (KHU-VLL/GLAD, BSD-3-Clause).
KINETICS2BABEL_ANNOTATIONS_URL = "https://github.com/KHU-VLL/GLAD/raw/main/data/kinetics2babel.tar"

DOMAINS = ("k400", "babel")
SPLITS = ("train", "test")
MEDIA = ("rawframes", "video")
VIDEO_EXTENSION = ".mp4"
# Kinetics rows of the test list live under the `val/` folder of the Kinetics root.
KINETICS_SPLIT_DIRS = {"train": "train", "test": "val"}
BABEL_SPLIT_DIRS = ("train", "val")

_ROW_FORMATS = {
    "k400": "<class>/<ytid>_<start>_<end> <total_frames> <label>",
    "babel": "<train|val>/<sid> <offset> <total_frames> <label>",
}


class AnnotationError(ValueError):
    """A malformed annotation row; the message names the file and the line."""


@dataclass(frozen=True)
class AnnotationRow:
    """One row of an annotation list.

    `rel_path` is the list's first column, `offset` the first frame of a BABEL segment within its
    sequence (0 for Kinetics), `num_frames` the segment length, `label` the K->B class id.
    """

    rel_path: str
    offset: int
    num_frames: int
    label: int
    line_number: int
    source_file: str


def annotation_file_name(domain: str, split: str) -> str:
    """File name of a list inside the tar: `k400_train.txt`, ..., `babel_test.txt`."""
    if domain not in DOMAINS:
        raise ValueError(f"domain must be one of {DOMAINS}, got {domain!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return f"{domain}_{split}.txt"


def _parse_int(text: str, what: str, where: str, line: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise AnnotationError(f"{where}: {what} must be an integer, got {text!r} in row {line!r}") from None


def parse_annotation_line(line: str, domain: str, source_file: str, line_number: int) -> AnnotationRow:
    """Parse one non-empty row of a `domain` ("k400" or "babel") list, validating every field."""
    where = f"{source_file}:{line_number}"
    fields = line.split()
    expected_fields = 3 if domain == "k400" else 4
    if len(fields) != expected_fields:
        raise AnnotationError(
            f"{where}: expected {expected_fields} space-separated fields `{_ROW_FORMATS[domain]}`, "
            f"got {len(fields)} in row {line.strip()!r}"
        )
    rel_path = fields[0]
    parts = rel_path.split("/")
    if len(parts) != 2 or not all(parts) or ".." in parts:
        raise AnnotationError(
            f"{where}: path must look like `{_ROW_FORMATS[domain].split()[0]}`, got {rel_path!r}"
        )
    if domain == "k400":
        offset = 0
        num_frames = _parse_int(fields[1], "total_frames", where, line.strip())
        label = _parse_int(fields[2], "label", where, line.strip())
    else:
        if parts[0] not in BABEL_SPLIT_DIRS:
            raise AnnotationError(f"{where}: a BABEL path starts with `train/` or `val/`, got {rel_path!r}")
        offset = _parse_int(fields[1], "offset", where, line.strip())
        num_frames = _parse_int(fields[2], "total_frames", where, line.strip())
        label = _parse_int(fields[3], "label", where, line.strip())
        if offset < 0:
            raise AnnotationError(f"{where}: offset must be >= 0, got {offset}")
    if num_frames < 1:
        raise AnnotationError(f"{where}: total_frames must be >= 1, got {num_frames}")
    if not 0 <= label < len(K2B_LABELS):
        raise AnnotationError(f"{where}: label {label} is outside 0-{len(K2B_LABELS) - 1} (the K->B classes)")
    if domain == "k400" and parts[0] not in K400_CLASSES_PER_LABEL[K2B_LABELS[label]]:
        raise AnnotationError(
            f"{where}: Kinetics class {parts[0]!r} does not belong to label {label} ({K2B_LABELS[label]}), "
            f"whose classes are {K400_CLASSES_PER_LABEL[K2B_LABELS[label]]}"
        )
    return AnnotationRow(rel_path, offset, num_frames, label, line_number, source_file)


def parse_annotation_lines(lines: Iterable[str], domain: str, source_file: str) -> list[AnnotationRow]:
    """Parse the rows of a list (blank lines are skipped); errors name `source_file` and the line."""
    if domain not in DOMAINS:
        raise ValueError(f"domain must be one of {DOMAINS}, got {domain!r}")
    rows = []
    for line_number, line in enumerate(lines, start=1):
        if line.strip():
            rows.append(parse_annotation_line(line, domain, source_file, line_number))
    return rows


def read_annotation_list(path: str | os.PathLike, domain: str) -> list[AnnotationRow]:
    """Read one list file (e.g. an extracted `k400_train.txt`)."""
    with open(path, encoding="utf-8") as f:
        return parse_annotation_lines(f, domain, os.fspath(path))


def read_annotation_tar(tar_path: str | os.PathLike) -> dict[str, list[AnnotationRow]]:
    """The four lists of a local Kinetics->BABEL tar, keyed "k400_train", ..., "babel_test".

    Members are found by file name (the official tar keeps them under `kinetics2babel/`).
    """
    tar_path = os.fspath(tar_path)
    wanted = {annotation_file_name(d, s): (d, s) for d in DOMAINS for s in SPLITS}
    found: dict[str, list[AnnotationRow]] = {}
    try:
        with tarfile.open(tar_path) as tar:
            names = []
            for member in tar.getmembers():
                names.append(member.name)
                base = _member_basename(member.name)
                if not member.isfile() or base not in wanted:
                    continue
                if base[: -len(".txt")] in found:
                    raise AnnotationError(f"{tar_path}: holds {base} twice")
                text = tar.extractfile(member).read().decode("utf-8")
                domain = wanted[base][0]
                found[base[: -len(".txt")]] = parse_annotation_lines(
                    text.splitlines(), domain, f"{tar_path}:{member.name}"
                )
    except tarfile.TarError as error:
        raise AnnotationError(f"{tar_path}: not a readable tar archive ({error})") from error
    missing = sorted(set(n[: -len(".txt")] for n in wanted) - set(found))
    if missing:
        raise AnnotationError(
            f"{tar_path}: missing {', '.join(m + '.txt' for m in missing)}; the archive holds {names[:10]}"
        )
    return found


def _member_basename(name: str) -> str:
    return name.rstrip("/").rsplit("/", 1)[-1]


def resolve_annotations(annotations: str | os.PathLike | None = None, download_manager=None) -> str:
    """Local path of the annotation tar: `annotations` as given when it is a local file, else downloaded.

    `annotations` is a local path or a URL (default: `KINETICS2BABEL_ANNOTATIONS_URL`); URLs go through
    `datasets`' download manager (cached, so the second call does not touch the network).
    """
    annotations = os.fspath(annotations) if annotations is not None else KINETICS2BABEL_ANNOTATIONS_URL
    if "://" not in annotations:
        if not os.path.isfile(annotations):
            raise FileNotFoundError(
                f"annotation tar {annotations!r} does not exist; pass the path or URL of kinetics2babel.tar "
                f"(default download: {KINETICS2BABEL_ANNOTATIONS_URL})"
            )
        return annotations
    if download_manager is None:
        from datasets import DownloadManager

        download_manager = DownloadManager(dataset_name="kinetics2babel")
    return download_manager.download(annotations)


def media_path(
    domain_root: str | os.PathLike, domain: str, split: str, row: AnnotationRow, media: str
) -> Path:
    """Frame folder (`media="rawframes"`) or video file (`media="video"`) of a row (SPEC §1 layouts).

    Kinetics: `<root>/{train|val}/<class>/<ytid>_<start>_<end>[/ | .mp4]`; BABEL: `<root>/<split>/<sid>[/ | .mp4]`
    (one render per sequence, shared by its segments).
    """
    if media not in MEDIA:
        raise ValueError(f"media must be one of {MEDIA}, got {media!r}")
    root = Path(domain_root)
    base = root / KINETICS_SPLIT_DIRS[split] / row.rel_path if domain == "k400" else root / row.rel_path
    return base if media == "rawframes" else base.with_name(base.name + VIDEO_EXTENSION)


def first_frame_number(domain: str, media: str, offset: int) -> int:
    """Number of a segment's first frame: its JPEG file number for rawframes (Kinetics numbered from 0,
    BABEL from 1), its 0-based frame index for videos."""
    if media == "video":
        return offset
    return offset + 1 if domain == "babel" else offset
