"""`datasets` builder of any two video domains (UCF101->HMDB51, EPIC-Kitchens D1/D2/D3, one's own cameras).

Two configurations index a source and a target domain, each with a "train" and a "test" split:

- "lists": mmaction-style annotation lists per domain and split, rows `path total_frames label` or
  `path offset total_frames label`, the label an index into the domain's class-name file (one name a line).
  `path` (relative to the domain root) is a rawframe folder or a video file.
- "folders": `<root>/<split>/<class>/<video file or rawframe folder>` per domain, indexed automatically.

Rows have the Kinetics->BABEL builder's columns plus `frame_template`; `label` is a ClassLabel of the classes the
two domains share (their intersection, or a class map's shared names), so `GladClipDataset` reads them as they
are. Rows of other classes are dropped and counted (`dropped_rows`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import posixpath
import re
import string
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import datasets
import yaml
from datasets.builder import Key

from glad_hf.data.annotations import MEDIA, AnnotationError
from glad_hf.data.builder import DOMAIN_NAMES, FEATURES
from glad_hf.data.readers import FRAME_FILENAME_TEMPLATE, VIDEO_EXTENSIONS, is_video_file

logger = logging.getLogger(__name__)

KINDS = ("lists", "folders")
SPLITS = ("train", "test")
# `num_frames` of a video whose length no list gives: the whole video, its length read when decoding.
WHOLE_VIDEO = -1
# Folder of the "test" split in the folders layout: `test/`, else `val/`.
TEST_SPLIT_DIRS = ("test", "val")
_INDEX_VERSION = "1"
_DROPPED_PREFIX = "dropped_rows: "
_ROW_FORMATS = "`<path> <total_frames> <label>` or `<path> <offset> <total_frames> <label>`"

_DESCRIPTION = """\
Two video domains for unsupervised domain adaptation (GLAD): splits source_train, source_test, target_train and
target_test. One row per video or segment: `path` is a rawframe folder (frames `frame_template`, numbered
`start_index ... start_index + num_frames - 1`) or a video file (0-based frames from `start_index`;
`num_frames` -1 = the whole video, its length read from the container when decoding)."""


def two_domain_features(class_names: list[str]) -> datasets.Features:
    """The K->B builder's `FEATURES` with `label` over `class_names`, plus `frame_template`."""
    columns = {
        name: datasets.ClassLabel(names=list(class_names)) if name == "label" else feature
        for name, feature in FEATURES.items()
    }
    return datasets.Features({**columns, "frame_template": datasets.Value("string")})


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


@dataclass
class TwoDomainVideosConfig(datasets.BuilderConfig):
    """Configuration of `TwoDomainVideos` ("lists" or "folders").

    source_root, target_root: the domain roots (list paths are relative to them; the folders layout is
        `<root>/{train,test}/<class>/<video>`, `val/` standing for a missing `test/`).
    source_lists, target_lists ("lists"): `{"train": list file, "test": list file}` per domain.
    source_classes, target_classes ("lists"): class-name files, one name a line; the list labels index them.
        With only one given, both domains use it.
    class_map: dict, or a JSON/YAML file, `{"source": {domain class: shared name or null}, "target": {...}}`.
        A domain's classes missing from its mapping are dropped; a domain missing from the map keeps its names.
        Without a map the shared classes are the two domains' intersection ("lists") or their class folders,
        which must agree ("folders").
    media ("lists"): "auto" (rawframes or videos, from the first row found under the root, per domain and
        split), "rawframes" or "video" (the index is built without looking at the media).
    frame_template: file names of rawframes, one integer field (default `img_{:05d}.jpg`).
    source_start_index, target_start_index ("lists"): number of a rawframe folder's first frame (Kinetics-style 0,
        BABEL-style 1); a row's segment starts at start_index + offset. The folders layout reads it off the files.
    """

    source_root: str | None = None
    target_root: str | None = None
    source_lists: dict[str, str] | None = None
    target_lists: dict[str, str] | None = None
    source_classes: str | None = None
    target_classes: str | None = None
    class_map: dict | str | None = None
    media: str = "auto"
    frame_template: str = FRAME_FILENAME_TEMPLATE
    source_start_index: int = 0
    target_start_index: int = 0

    def check(self) -> None:
        """Validate the options (datasets sets them after construction, so this runs in the builder)."""
        if self.source_root is None or self.target_root is None:
            raise ValueError(f"TwoDomainVideos(config_name={self.name!r}) needs source_root and target_root")
        frame_number_pattern(self.frame_template)
        if self.name == "lists":
            if self.media not in ("auto", *MEDIA):
                raise ValueError(f"media must be 'auto', 'rawframes' or 'video', got {self.media!r}")
            for domain in DOMAIN_NAMES:
                lists = getattr(self, f"{domain}_lists")
                if not isinstance(lists, dict) or set(lists) != set(SPLITS):
                    raise ValueError(
                        f"{domain}_lists must be {{'train': list file, 'test': list file}}, got {lists!r}"
                    )
                start = getattr(self, f"{domain}_start_index")
                if not isinstance(start, int) or start < 0:
                    raise ValueError(f"{domain}_start_index must be an integer >= 0, got {start!r}")
            if self.source_classes is None and self.target_classes is None:
                raise ValueError(
                    "config 'lists' needs source_classes and/or target_classes (class-name files)"
                )
        else:
            given = [
                name
                for name in ("source_lists", "target_lists", "source_classes", "target_classes")
                if getattr(self, name) is not None
            ]
            given += [n for n in ("source_start_index", "target_start_index") if getattr(self, n) != 0]
            if self.media != "auto":
                given.append("media")
            if given:
                raise ValueError(
                    f"{', '.join(given)} only apply to config 'lists'; 'folders' finds the classes, media and "
                    f"frame numbers in the folders"
                )


@dataclass
class SharedClasses:
    """The shared class names and, per domain, its class names and their shared index (None: dropped)."""

    names: list[str]
    domain_names: dict[str, list[str]]
    to_shared: dict[str, list[int | None]]


class TwoDomainVideos(datasets.GeneratorBasedBuilder):
    """Index builder of two video domains; configs "lists" and "folders" (see `TwoDomainVideosConfig`).

        builder = TwoDomainVideos(config_name="folders", source_root="data/ucf", target_root="data/hmdb")
        builder.download_and_prepare()
        dataset = builder.as_dataset()  # source_train, source_test, target_train, target_test

    The index is cached per options and the content of the list, class and class-map files ("lists") or the
    folder listing ("folders"). "lists" with `media="auto"` detects the media when building: after replacing
    rawframes by videos, rebuild with `download_and_prepare(download_mode="force_redownload")`.
    """

    BUILDER_CONFIG_CLASS = TwoDomainVideosConfig
    BUILDER_CONFIGS = [
        TwoDomainVideosConfig(name="lists", description="Annotation lists and class files per domain."),
        TwoDomainVideosConfig(name="folders", description="<root>/<split>/<class>/<video> per domain."),
    ]

    def __init__(self, *args, dataset_name: str = "two_domain_videos", hash: str | None = None, **kwargs):
        kwargs = _absolute_paths(kwargs)
        self.built_now = False  # whether this builder generated the index (rather than loading a cached one)
        self._listings = None
        if kwargs.get("config_name") in KINDS:  # options first, before the folders are scanned
            options = {f.name for f in dataclasses.fields(TwoDomainVideosConfig)} - {"name"}
            TwoDomainVideosConfig(
                name=kwargs["config_name"], **{k: v for k, v in kwargs.items() if k in options}
            ).check()
        if kwargs.get("config_name") == "folders":
            template = kwargs.get("frame_template", FRAME_FILENAME_TEMPLATE)
            self._listings = {
                domain: scan_domain_folder(kwargs[f"{domain}_root"], template, domain=domain)
                for domain in DOMAIN_NAMES
                if kwargs.get(f"{domain}_root") is not None
            }
        if hash is None:
            hash = _fingerprint(kwargs, self._listings)
        super().__init__(*args, dataset_name=dataset_name, hash=hash, **kwargs)

    def _info(self) -> datasets.DatasetInfo:
        self.config.check()
        self._classes = self._resolve_classes()
        names = self._classes.names
        self._description = f"{_DESCRIPTION}\n\nShared classes ({len(names)}): {', '.join(names)}."
        return datasets.DatasetInfo(description=self._description, features=two_domain_features(names))

    def _resolve_classes(self) -> SharedClasses:
        config = self.config
        if config.name == "lists":
            given = {d: getattr(config, f"{d}_classes") for d in DOMAIN_NAMES}
            # With one class file, both domains use it.
            self._class_files = {d: given[d] or given[o] for d, o in zip(DOMAIN_NAMES, DOMAIN_NAMES[::-1])}
            names = {d: read_class_names(self._class_files[d]) for d in DOMAIN_NAMES}
            described = {d: f"{d} classes {names[d]} ({self._class_files[d]})" for d in DOMAIN_NAMES}
        else:
            names = {
                d: sorted({c for split in self._listings[d].values() for c in split["classes"]})
                for d in DOMAIN_NAMES
            }
            described = {
                d: f"{d} class folders {names[d]} (under {getattr(config, f'{d}_root')})"
                for d in DOMAIN_NAMES
            }
            if config.class_map is None and set(names["source"]) != set(names["target"]):
                only = {
                    d: sorted(set(names[d]) - set(names[o]))
                    for d, o in (("source", "target"), ("target", "source"))
                }
                raise ValueError(
                    f"the class folders of the two domains differ: {described['source']}; {described['target']} "
                    f"(only in source: {only['source']}; only in target: {only['target']}). Rename the folders, or "
                    f"pass class_map to map or drop classes"
                )
        return shared_classes(names, config.class_map, described=described)

    def _split_generators(self, dl_manager):
        # The index is built here rather than in _generate_examples so that errors reach the caller as they are,
        # not wrapped in a DatasetGenerationError.
        build = self._lists_examples if self.config.name == "lists" else self._folders_examples
        examples, dropped = {}, {}
        for domain in DOMAIN_NAMES:
            for split in SPLITS:
                rows, where, dropped_here = build(domain, split)
                if not rows:
                    raise ValueError(
                        f"no row of {where} has one of the {len(self._classes.names)} shared classes "
                        f"{self._classes.names} ({sum(dropped_here.values())} rows dropped: {dict(dropped_here)})"
                    )
                examples[f"{domain}_{split}"] = rows
                dropped.setdefault(domain, {})[split] = dict(dropped_here)
        summary = describe_dropped(dropped)
        self.info.description = f"{self._description}\n{summary}\n{_DROPPED_PREFIX}{json.dumps(dropped)}"
        if any(counts for splits in dropped.values() for counts in splits.values()):
            logger.warning(summary)
        self.built_now = True
        return [
            datasets.SplitGenerator(name=name, gen_kwargs={"examples": tuple(rows)})
            for name, rows in examples.items()
        ]

    def _generate_examples(self, examples: tuple[dict, ...]):
        for position, example in enumerate(examples):
            yield Key(0, position), example

    def _lists_examples(self, domain: str, split: str) -> tuple[list[dict], str, Counter]:
        config = self.config
        root = Path(getattr(config, f"{domain}_root"))
        list_file = getattr(config, f"{domain}_lists")[split]
        names = self._classes.domain_names[domain]
        rows = read_video_list(list_file, root=root, class_names=names, class_file=self._class_files[domain])
        start = getattr(config, f"{domain}_start_index")
        media = config.media
        if media == "auto":
            media = detect_list_media(
                root, rows, list_file=list_file, first_frame=config.frame_template.format(start)
            )
            logger.info("%s %s: found %s under %s", domain, split, media, root)
        first = start if media == "rawframes" else 0
        examples, dropped = [], Counter()
        for row in rows:
            label = self._classes.to_shared[domain][row.label]
            if label is None:
                dropped[names[row.label]] += 1
                continue
            examples.append(
                {
                    "video_id": row.rel_path,
                    "path": os.fspath(root / row.rel_path),
                    "media": media,
                    "offset": row.offset,
                    "num_frames": row.num_frames,
                    "start_index": first + row.offset,
                    "label": label,
                    "domain": domain,
                    "frame_template": config.frame_template,
                }
            )
        return examples, list_file, dropped

    def _folders_examples(self, domain: str, split: str) -> tuple[list[dict], str, Counter]:
        listing = self._listings[domain][split]
        names = self._classes.domain_names[domain]
        examples, dropped = [], Counter()
        for class_name, items in listing["classes"].items():
            label = self._classes.to_shared[domain][names.index(class_name)]
            if label is None:
                dropped[class_name] += len(items)
                continue
            for name, media, first, count in items:
                examples.append(
                    {
                        "video_id": f"{listing['folder_name']}/{class_name}/{name}",
                        "path": os.path.join(listing["folder"], class_name, name),
                        "media": media,
                        "offset": 0,
                        "num_frames": count,
                        "start_index": first,
                        "label": label,
                        "domain": domain,
                        "frame_template": self.config.frame_template,
                    }
                )
        return examples, listing["folder"], dropped


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


def read_video_list(
    path: str | os.PathLike, *, root: str | os.PathLike, class_names: list[str], class_file: str | os.PathLike
) -> list[VideoListRow]:
    """Rows of a list file (blank lines skipped); errors name the file and line."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"annotation list {path} does not exist (rows {_ROW_FORMATS})")
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
                    f"{where}: expected 3 or 4 space-separated fields, {_ROW_FORMATS}, got {len(fields)} in row {text!r}"
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
        raise AnnotationError(f"{path}: holds no row (expected rows {_ROW_FORMATS})")
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


def load_class_map(class_map: dict | str | os.PathLike) -> tuple[dict[str, dict[str, str | None]], str]:
    """`{"source": {...}, "target": {...}}` of a dict or a JSON/YAML file, and its name for error messages."""
    if isinstance(class_map, dict):
        where, data = "class_map", class_map
    else:
        where = os.fspath(class_map)
        if not os.path.isfile(where):
            raise FileNotFoundError(f"class map {where} does not exist")
        suffix = os.path.splitext(where)[1].lower()
        if suffix not in (".json", ".yaml", ".yml"):
            raise ValueError(f"class map {where}: expected a .json, .yaml or .yml file")
        with open(where, encoding="utf-8") as f:
            try:
                data = json.load(f) if suffix == ".json" else yaml.safe_load(f)
            except (json.JSONDecodeError, yaml.YAMLError) as error:
                raise ValueError(f"class map {where}: not valid {suffix[1:].upper()}: {error}") from None
    if not isinstance(data, dict) or not data or set(data) - set(DOMAIN_NAMES):
        raise ValueError(
            f"{where}: expected {{'source': {{class: shared name or null}}, 'target': {{...}}}}, got "
            f"{list(data) if isinstance(data, dict) else type(data).__name__}"
        )
    for domain, mapping in data.items():
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in mapping.items()
        ):
            raise ValueError(
                f"{where}: {domain!r} must map class names to a shared name or null, got {mapping!r}"
            )
    return data, where


def shared_classes(
    domain_names: dict[str, list[str]], class_map=None, *, described: dict[str, str] | None = None
) -> SharedClasses:
    """Shared class names (the class map's order, else the source's) and each domain class's shared index."""
    described = described or {d: f"{d} classes {domain_names[d]}" for d in DOMAIN_NAMES}
    if class_map is None:
        mappings = {d: {name: name for name in domain_names[d]} for d in DOMAIN_NAMES}
        where = None
    else:
        data, where = load_class_map(class_map)
        mappings = {}
        for domain in DOMAIN_NAMES:
            if domain not in data:
                mappings[domain] = {name: name for name in domain_names[domain]}
                continue
            unknown = [name for name in data[domain] if name not in domain_names[domain]]
            if unknown:
                raise ValueError(f"{where}: {domain} classes {unknown} are not among the {described[domain]}")
            mappings[domain] = data[domain]
    targets = set(mappings["target"].values())
    names = list(dict.fromkeys(v for v in mappings["source"].values() if v is not None and v in targets))
    if not names:
        raise ValueError(
            f"the two domains share no class: {described['source']}; {described['target']}"
            + (f"; mapped by {where}" if where else "")
        )
    one_sided = sorted({v for m in mappings.values() for v in m.values() if v is not None} - set(names))
    if where is not None and one_sided:
        logger.warning(
            "%s: shared names %s have classes in one domain only; their rows are dropped", where, one_sided
        )
    index = {name: position for position, name in enumerate(names)}
    to_shared = {d: [index.get(mappings[d].get(name)) for name in domain_names[d]] for d in DOMAIN_NAMES}
    return SharedClasses(names, {d: list(domain_names[d]) for d in DOMAIN_NAMES}, to_shared)


def describe_dropped(dropped: dict[str, dict[str, dict[str, int]]]) -> str:
    """One line: rows dropped per domain and split because their class is outside the shared set."""
    parts = []
    for domain, splits in dropped.items():
        for split, counts in splits.items():
            total = sum(counts.values())
            detail = f" ({', '.join(f'{name}: {n}' for name, n in counts.items())})" if counts else ""
            parts.append(f"{domain} {split} {total}{detail}")
    return f"Rows dropped because their class is outside the shared set: {'; '.join(parts)}."


def dropped_rows(dataset) -> dict[str, dict[str, dict[str, int]]]:
    """`{domain: {split: {class: rows}}}` dropped from a two-domain index (class outside the shared set).

    `dataset`: what `load_two_domains` returns, a `DatasetDict` or a `Dataset` of a `TwoDomainVideos` index.
    """
    if isinstance(dataset, dict) and not isinstance(dataset, datasets.DatasetDict):
        dataset = dataset["source"]
    if isinstance(dataset, datasets.DatasetDict):
        dataset = next(iter(dataset.values()))
    for line in dataset.info.description.splitlines():
        if line.startswith(_DROPPED_PREFIX):
            return json.loads(line[len(_DROPPED_PREFIX) :])
    raise ValueError(
        "this dataset was not built by TwoDomainVideos (its description holds no dropped_rows line)"
    )


def _absolute_paths(kwargs: dict) -> dict:
    """Paths as absolute strings, so that the cache key does not depend on the working directory."""

    def absolute(path):
        return os.path.abspath(os.path.expanduser(os.fspath(path)))

    kwargs = dict(kwargs)
    for name in ("source_root", "target_root", "source_classes", "target_classes"):
        if kwargs.get(name) is not None:
            kwargs[name] = absolute(kwargs[name])
    for name in ("source_lists", "target_lists"):
        if isinstance(kwargs.get(name), dict):
            kwargs[name] = {split: absolute(path) for split, path in kwargs[name].items()}
    if kwargs.get("class_map") is not None and not isinstance(kwargs["class_map"], dict):
        kwargs["class_map"] = absolute(kwargs["class_map"])
    return kwargs


def _fingerprint(kwargs: dict, listings: dict | None) -> str:
    # The cache directory is keyed by the config's arguments; this adds the content they point to, so that a
    # changed list, class file, class map or folder rebuilds the index.
    hasher = hashlib.sha256(f"two-domain-videos-index-v{_INDEX_VERSION}".encode())
    hasher.update(json.dumps(listings, sort_keys=True).encode())
    files = [path for name in ("source_lists", "target_lists") for path in (kwargs.get(name) or {}).values()]
    files += [kwargs.get("source_classes"), kwargs.get("target_classes")]
    class_map = kwargs.get("class_map")
    if isinstance(class_map, dict):
        hasher.update(json.dumps(class_map).encode())  # its order is the label order
    else:
        files.append(class_map)
    for path in files:
        hasher.update(f"\0{path}\0".encode())
        if isinstance(path, str) and os.path.isfile(path):
            hasher.update(Path(path).read_bytes())
    return hasher.hexdigest()[:16]


def load_two_domains(
    kind: str,
    *,
    source_root: str | os.PathLike,
    target_root: str | os.PathLike,
    source_lists: dict[str, str | os.PathLike] | None = None,
    target_lists: dict[str, str | os.PathLike] | None = None,
    source_classes: str | os.PathLike | None = None,
    target_classes: str | os.PathLike | None = None,
    class_map: dict | str | os.PathLike | None = None,
    media: str = "auto",
    frame_template: str = FRAME_FILENAME_TEMPLATE,
    source_start_index: int = 0,
    target_start_index: int = 0,
    cache_dir: str | os.PathLike | None = None,
) -> dict[str, datasets.DatasetDict]:
    """`{"source": DatasetDict(train, test), "target": DatasetDict(train, test)}` of two video domains.

    kind: "lists" or "folders" (see `TwoDomainVideosConfig` for the other arguments). Rows whose class is outside
    the shared set are dropped; `dropped_rows(result)` counts them per domain, split and class, and each split's
    `info.description` says so in words (logged as a warning here too).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be 'lists' or 'folders', got {kind!r}")
    options = {
        "source_root": source_root,
        "target_root": target_root,
        "source_lists": source_lists,
        "target_lists": target_lists,
        "source_classes": source_classes,
        "target_classes": target_classes,
        "class_map": class_map,
        "cache_dir": None if cache_dir is None else os.fspath(cache_dir),
    }
    options = {name: value for name, value in options.items() if value is not None}
    options.update(media=media, frame_template=frame_template)
    options.update(source_start_index=source_start_index, target_start_index=target_start_index)
    builder = TwoDomainVideos(config_name=kind, **options)
    builder.download_and_prepare()
    index = builder.as_dataset()
    dropped = dropped_rows(index)
    if not builder.built_now and any(c for splits in dropped.values() for c in splits.values()):
        logger.warning(describe_dropped(dropped))
    return {
        domain: datasets.DatasetDict({split: index[f"{domain}_{split}"] for split in SPLITS})
        for domain in DOMAIN_NAMES
    }
