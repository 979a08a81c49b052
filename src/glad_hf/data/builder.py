"""`datasets` builder of the Kinetics->BABEL benchmark (SPEC §1) and the loader the training code calls.

The index (one row per list row: id, media path, frame range, label, domain) is built from the annotation
lists alone; media are opened only when decoding, or by the optional verification pass. Paths stay
strings (the `datasets` `Video` feature would need torchcodec and a system FFmpeg).
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import datasets
from datasets.builder import Key
from tqdm.auto import tqdm

from glad_hf.data.annotations import (
    DOMAINS,
    KINETICS2BABEL_ANNOTATIONS_URL,
    MEDIA,
    AnnotationRow,
    annotation_file_name,
    first_frame_number,
    media_path,
    read_annotation_tar,
    resolve_annotations,
)
from glad_hf.data.readers import FRAME_FILENAME_TEMPLATE, FrameReadError, VideoFileReader
from glad_hf.data.synthetic import ANNOTATION_TAR, METADATA_FILENAME, generate_synthetic_k2b
from glad_hf.labels import K2B_LABELS

logger = logging.getLogger(__name__)

CONFIG_NAMES = ("k400", "babel", "synthetic")
DOMAIN_NAMES = ("source", "target")  # k400 is the source domain, babel the target
# Bump when the rows this builder writes change, so that caches of older versions are not reused.
_INDEX_VERSION = "1"

FEATURES = datasets.Features(
    {
        "video_id": datasets.Value("string"),
        "path": datasets.Value("string"),
        "media": datasets.Value("string"),
        "offset": datasets.Value("int32"),
        "num_frames": datasets.Value("int32"),
        "start_index": datasets.Value("int32"),
        "label": datasets.ClassLabel(names=list(K2B_LABELS)),
        "domain": datasets.ClassLabel(names=list(DOMAIN_NAMES)),
    }
)

_DESCRIPTION = """\
Kinetics->BABEL (GLAD, WACV 2024): 12 actions, source = 28 Kinetics-400 classes (real videos),
target = BABEL segments of AMASS motion-capture renders. One row per annotation-list row:
`path` is a rawframe folder or a video file, the segment is frames `start_index ... start_index +
num_frames - 1` of it (JPEG file numbers for rawframes, 0-based frame indices for videos; for a
Kinetics video the frame count is read from the container when decoding)."""

_CITATION = """\
@inproceedings{leebae2024glad,
  title={{GLAD}: Global-Local View Alignment and Background Debiasing for Video Domain Adaptation},
  author={Lee, Hyogun and Bae, Kyungho and Ha, Seong Jong and Ko, Yumin and Park, Gyeong-Moon and Choi, Jinwoo},
  booktitle={Proceedings of the IEEE Winter Conference on Applications of Computer Vision (WACV)},
  year={2024}
}"""


@dataclass
class Kinetics2BabelConfig(datasets.BuilderConfig):
    """Configuration of `Kinetics2Babel`.

    annotations: path or URL of `kinetics2babel.tar` (default: the reference repository's copy; for
        `synthetic`, `<data_dir>/kinetics2babel.tar`).
    media: "auto" (detect rawframes or videos under `data_dir`, failing when neither is there),
        "rawframes" or "video" (no detection: the index is built even when `data_dir` is empty).
    verify: check that every row's frames exist (rawframes) or that its video opens and is long enough.
    skip_missing: with `verify`, drop rows whose media fail the check (logging their count) instead of
        raising. Malformed annotation rows always raise.
    """

    annotations: str | None = None
    media: str = "auto"
    verify: bool = False
    skip_missing: bool = False

    def check(self) -> None:
        """Validate the options (datasets sets them after construction, so this runs in the builder)."""
        if self.media not in ("auto", *MEDIA):
            raise ValueError(f"media must be 'auto', 'rawframes' or 'video', got {self.media!r}")
        if self.skip_missing and not self.verify:
            raise ValueError("skip_missing=True needs verify=True (rows are only checked by verification)")


def _fingerprint(config_name: str | None, data_dir, annotations) -> str:
    # The cache directory is keyed by the config's arguments (paths); hashing the annotation tar's bytes
    # (and the synthetic manifest) as well makes a changed list at the same path rebuild the index.
    hasher = hashlib.sha256(f"kinetics2babel-index-v{_INDEX_VERSION}".encode())
    files = []
    if annotations is not None and "://" not in os.fspath(annotations):
        files.append(Path(annotations))
    if config_name == "synthetic" and data_dir is not None:
        files.append(Path(data_dir) / METADATA_FILENAME)
        if annotations is None:
            files.append(Path(data_dir) / ANNOTATION_TAR)
    for path in files:
        if path.is_file():
            hasher.update(path.read_bytes())
    return hasher.hexdigest()[:16]


def detect_media(domain_root: str | os.PathLike, domain: str, split: str, rows: list[AnnotationRow]) -> str:
    """The layout ("rawframes" or "video") of the first row found under `domain_root` (SPEC §1).

    Raises FileNotFoundError listing both expected layouts when no row's frames or video are there.
    """
    for row in rows:
        if media_path(domain_root, domain, split, row, "rawframes").is_dir():
            return "rawframes"
        if media_path(domain_root, domain, split, row, "video").is_file():
            return "video"
    example = rows[0]
    frame_dir = media_path(domain_root, domain, split, example, "rawframes")
    first = first_frame_number(domain, "rawframes", example.offset)
    raise FileNotFoundError(
        f"found neither rawframes nor videos for the {len(rows)} rows of {annotation_file_name(domain, split)} "
        f"under {domain_root}. Expected either rawframe folders such as "
        f"{frame_dir / FRAME_FILENAME_TEMPLATE.format(first)} (Kinetics numbered from 0, BABEL from 1) or video "
        f"files such as {media_path(domain_root, domain, split, example, 'video')} "
        f"({'one per clip' if domain == 'k400' else 'one render per sequence'}). Pass media='rawframes' or "
        f"media='video' to build the index without media."
    )


def _example(domain_root: Path, domain: str, split: str, row: AnnotationRow, media: str) -> dict:
    return {
        "video_id": row.rel_path,
        "path": os.fspath(media_path(domain_root, domain, split, row, media)),
        "media": media,
        "offset": row.offset,
        "num_frames": row.num_frames,
        "start_index": first_frame_number(domain, media, row.offset),
        "label": row.label,
        "domain": DOMAIN_NAMES[DOMAINS.index(domain)],
    }


def verify_media(rows, progress: bool = True) -> list[tuple[int, str]]:
    """Check every row's media; returns `(row position, reason)` for each row that fails.

    `rows` are index rows (dicts from this builder, or a built split). Rawframes: every frame file of the
    segment exists. Videos: the file opens; a BABEL segment ends within the render (`domain` "target").
    """
    reader = VideoFileReader()
    folder_listings: dict[str, set[str]] = {}
    video_lengths: dict[str, int | str] = {}
    problems = []
    for position, row in enumerate(tqdm(rows, desc="verifying media", unit="row", disable=not progress)):
        path, start, count = row["path"], int(row["start_index"]), int(row["num_frames"])
        if row["media"] == "rawframes":
            if path not in folder_listings:
                folder_listings[path] = set(os.listdir(path)) if os.path.isdir(path) else set()
            missing = [
                n
                for n in range(start, start + count)
                if FRAME_FILENAME_TEMPLATE.format(n) not in folder_listings[path]
            ]
            if missing:
                problems.append(
                    (
                        position,
                        f"{len(missing)} of {count} frame files missing in {path} "
                        f"(first: {FRAME_FILENAME_TEMPLATE.format(missing[0])})",
                    )
                )
            continue
        if path not in video_lengths:
            try:
                video_lengths[path] = reader.num_frames(path)
            except FrameReadError as error:
                video_lengths[path] = str(error)
        length = video_lengths[path]
        if isinstance(length, str):
            problems.append((position, length))
        elif row["domain"] in (1, "target") and start + count > length:
            problems.append(
                (position, f"segment frames {start}-{start + count - 1} end beyond {path} ({length} frames)")
            )
    return problems


class Kinetics2Babel(datasets.GeneratorBasedBuilder):
    """Kinetics->BABEL index builder; configs "k400" (source), "babel" (target) and "synthetic" (both).

    `data_dir` is a domain root holding `train/` and `val/` for "k400" and "babel", and a synthetic root
    (`k400/`, `babel/`, `kinetics2babel.tar`; generated there if it holds no `synthetic_k2b.json`) for
    "synthetic". Splits "train" and "test" (Kinetics `val/`, BABEL val).

        builder = Kinetics2Babel(config_name="babel", data_dir="data/babel", annotations="kinetics2babel.tar")
        builder.download_and_prepare()
        dataset = builder.as_dataset()  # DatasetDict with "train" and "test"

    The index is cached per config, `data_dir`, options and annotation-tar content; after changing the media
    under `data_dir` (e.g. rawframes replaced by videos), rebuild it with
    `download_and_prepare(download_mode="force_redownload")`.
    """

    BUILDER_CONFIG_CLASS = Kinetics2BabelConfig
    BUILDER_CONFIGS = [
        Kinetics2BabelConfig(
            name="k400", description="Source domain: 28 Kinetics-400 classes in 12 actions."
        ),
        Kinetics2BabelConfig(name="babel", description="Target domain: BABEL segments of AMASS renders."),
        Kinetics2BabelConfig(
            name="synthetic", description="Generated stand-in with both domains (demo, tests)."
        ),
    ]

    def __init__(self, *args, dataset_name: str = "kinetics2babel", hash: str | None = None, **kwargs):
        if kwargs.get("annotations") is not None:
            kwargs["annotations"] = os.fspath(kwargs["annotations"])
        data_dir = kwargs.get("data_dir")
        if kwargs.get("config_name") == "synthetic" and data_dir is not None:
            # Generated before the cache key is computed: the key hashes the generated manifest, and one computed
            # while the root is missing would match an index built for an earlier root at this path, since deleted.
            root = Path(data_dir).expanduser().resolve()
            if not (root / METADATA_FILENAME).is_file():
                generate_synthetic_k2b(root)
        if hash is None:
            hash = _fingerprint(kwargs.get("config_name"), data_dir, kwargs.get("annotations"))
        super().__init__(*args, dataset_name=dataset_name, hash=hash, **kwargs)
        self.config.check()

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=_DESCRIPTION,
            features=FEATURES,
            homepage="https://github.com/KHU-VLL/GLAD",
            citation=_CITATION,
            license="lists: BSD-3-Clause (GLAD); Kinetics: CC BY 4.0; BABEL/AMASS: non-commercial research only",
        )

    def _split_generators(self, dl_manager):
        if self.config.data_dir is None:
            raise ValueError(
                f"Kinetics2Babel(config_name={self.config.name!r}) needs data_dir: a domain root holding train/ "
                f"and val/ for 'k400' and 'babel', a synthetic root for 'synthetic'"
            )
        root = Path(self.config.data_dir).expanduser().resolve()
        annotations = self.config.annotations
        if self.config.name == "synthetic":
            if not (root / METADATA_FILENAME).is_file():
                generate_synthetic_k2b(root)
            domain_roots = [("k400", root / "k400"), ("babel", root / "babel")]
            if annotations is None:
                annotations = os.fspath(root / ANNOTATION_TAR)
        else:
            domain_roots = [(self.config.name, root)]
        lists = read_annotation_tar(
            resolve_annotations(annotations or KINETICS2BABEL_ANNOTATIONS_URL, dl_manager)
        )
        # The index is built here rather than in _generate_examples so that a missing layout or failed
        # verification reaches the caller as is, not wrapped in a DatasetGenerationError.
        generators = []
        for split in ("train", "test"):
            examples = []
            for domain, domain_root in domain_roots:
                rows = lists[f"{domain}_{split}"]
                media = self.config.media
                if media == "auto":
                    media = detect_media(domain_root, domain, split, rows)
                    logger.info("%s %s: found %s under %s", domain, split, media, domain_root)
                examples.extend(_example(domain_root, domain, split, row, media) for row in rows)
            if self.config.verify:
                examples = self._drop_or_raise(examples, verify_media(examples), split)
            generators.append(datasets.SplitGenerator(name=split, gen_kwargs={"examples": tuple(examples)}))
        return generators

    def _generate_examples(self, examples: tuple[dict, ...]):
        for position, example in enumerate(examples):
            yield Key(0, position), example

    def _drop_or_raise(self, examples: list[dict], problems: list[tuple[int, str]], split: str) -> list[dict]:
        if not problems:
            return examples
        first = "; ".join(f"{examples[p]['video_id']}: {reason}" for p, reason in problems[:5])
        summary = f"{len(problems)} of {len(examples)} {self.config.name} {split} rows have missing or unreadable media"
        if not self.config.skip_missing:
            raise FrameReadError(f"{summary}. First: {first}. Pass skip_missing=True to drop them.")
        if len(problems) == len(examples):
            raise FrameReadError(
                f"{summary}: none left to keep; is data_dir the right folder? First: {first}"
            )
        logger.warning("%s; skipped them. First: %s", summary, first)
        bad = {p for p, _ in problems}
        return [example for position, example in enumerate(examples) if position not in bad]


def load_k2b_domains(
    dataset: str,
    data_dir: str | os.PathLike,
    annotations: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    verify: bool = False,
    media: str = "auto",
    skip_missing: bool = False,
) -> dict[str, datasets.DatasetDict]:
    """`{"source": DatasetDict(train, test), "target": DatasetDict(train, test)}` of a benchmark root.

    dataset: "kinetics2babel" (`data_dir` holds the domain roots `k400/` and `babel/`) or "synthetic"
    (`data_dir` is a synthetic root, generated if empty).
    """
    options = {"verify": verify, "media": media, "skip_missing": skip_missing}
    if annotations is not None:
        options["annotations"] = os.fspath(annotations)
    if cache_dir is not None:
        options["cache_dir"] = os.fspath(cache_dir)
    if dataset == "synthetic":
        both = _build("synthetic", data_dir, options)
        return {
            name: datasets.DatasetDict(
                {split: part.select(_positions(part["domain"], index)) for split, part in both.items()}
            )
            for index, name in enumerate(DOMAIN_NAMES)
        }
    if dataset == "kinetics2babel":
        root = Path(data_dir)
        return {
            "source": _build("k400", root / "k400", options),
            "target": _build("babel", root / "babel", options),
        }
    raise ValueError(f"dataset must be 'synthetic' or 'kinetics2babel', got {dataset!r}")


def _positions(domains: list[int], index: int) -> list[int]:
    return [position for position, domain in enumerate(domains) if domain == index]


def _build(config_name: str, data_dir, options: dict) -> datasets.DatasetDict:
    builder = Kinetics2Babel(config_name=config_name, data_dir=os.fspath(data_dir), **options)
    builder.download_and_prepare()
    return builder.as_dataset()
