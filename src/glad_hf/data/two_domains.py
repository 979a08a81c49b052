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
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import datasets
from datasets.builder import Key

from glad_hf.data.annotations import MEDIA
from glad_hf.data.builder import DOMAIN_NAMES, FEATURES
from glad_hf.data.readers import FRAME_FILENAME_TEMPLATE
from glad_hf.data.shared_classes import (
    DROPPED_PREFIX,
    SharedClasses,
    describe_dropped,
    dropped_rows,
    shared_classes,
)
from glad_hf.data.two_domain_inputs import (
    SPLITS,
    detect_list_media,
    frame_number_pattern,
    read_annotation_rows,
    read_class_names,
    scan_domain_folder,
)

logger = logging.getLogger(__name__)

KINDS = ("lists", "folders")
_INDEX_VERSION = "1"

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
        self.info.description = f"{self._description}\n{summary}\n{DROPPED_PREFIX}{json.dumps(dropped)}"
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
        rows = read_annotation_rows(
            list_file, root=root, class_names=names, class_file=self._class_files[domain]
        )
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
