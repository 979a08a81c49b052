"""From parsed arguments to the torch datasets each stage trains and evaluates on."""

from __future__ import annotations

import bisect
import functools
import json
import os
from pathlib import Path

import torch
from datasets import DatasetDict
from torch.utils.data import ConcatDataset

from ..configuration_glad import GladConfig
from ..data import (
    BackgroundBlend,
    DecodedVideoCache,
    DomainPairedDataset,
    GladClipDataset,
    SyntheticMotionConfig,
    SyntheticMotionDataset,
    TemporalOrderDataset,
    VideoResizeTransform,
    VideoTestTransform,
    VideoTrainTransform,
    extract_backgrounds,
    load_k2b_domains,
    load_two_domains,
)
from ..data.annotations import read_annotation_tar
from ..data.prepare import read_prepare_reports
from ..data.readers import is_video_file
from ..data.synthetic import METADATA_FILENAME
from .arguments import DataArguments, GladTrainingArguments

# Stage-1 frame intervals (SPEC §6): Kinetics clips are sampled sparser than BABEL's.
TOL_SOURCE_FRAME_INTERVAL = 2
TOL_TARGET_FRAME_INTERVAL = 1


def glad_cache_dir() -> Path:
    """$GLAD_HF_CACHE, else $XDG_CACHE_HOME/glad_hf (~/.cache/glad_hf)."""
    cache = os.environ.get("GLAD_HF_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "glad_hf"
    )
    return Path(cache)


def default_synthetic_root() -> Path:
    """Where the synthetic Kinetics->BABEL is generated when --data_dir is not given."""
    return glad_cache_dir() / "synthetic_k2b"


def data_root(data_args: DataArguments) -> Path:
    if data_args.data_dir:
        return Path(data_args.data_dir)
    if data_args.dataset != "synthetic":
        raise ValueError("--data_dir is required for --dataset kinetics2babel")
    return default_synthetic_root()


@functools.cache
def _process_video_cache(max_mb: int) -> DecodedVideoCache:
    return DecodedVideoCache(max_mb * 2**20)


def video_cache(data_args: DataArguments) -> DecodedVideoCache | None:
    """The process's cache of decoded videos (--video_cache_mb): one per size, shared by every dataset and run of
    the process (a benchmark worker decodes each video once over all its runs)."""
    return _process_video_cache(data_args.video_cache_mb) if data_args.video_cache_mb else None


def decoding(data_args: DataArguments, *, training: bool) -> dict:
    """The datasets' decoding arguments; training sets replace a row that fails to decode (and the loop counts it),
    evaluation sets fail on it, since a replaced row would change the score."""
    return dict(
        video_backend=data_args.video_backend,
        jpeg_backend=data_args.jpeg_backend,
        decode_threads=data_args.decode_threads,
        video_cache=video_cache(data_args),
        replace_unreadable=training,
    )


def load_domains(data_args: DataArguments) -> dict:
    """{"source": DatasetDict, "target": DatasetDict} of the run's --dataset (the synthetic one is generated when
    needed), less the rows of videos that --exclude_reports list as failed."""
    if data_args.dataset in ("lists", "folders"):
        domains = load_two_domains(
            data_args.dataset,
            source_root=data_args.source_dir,
            target_root=data_args.target_dir,
            source_lists=dict(zip(("train", "test"), data_args.source_lists or (), strict=False)) or None,
            target_lists=dict(zip(("train", "test"), data_args.target_lists or (), strict=False)) or None,
            source_classes=data_args.source_classes,
            target_classes=data_args.target_classes,
            class_map=data_args.class_map,
            media=data_args.media,
            frame_template=data_args.frame_template,
            source_start_index=data_args.source_start_index,
            target_start_index=data_args.target_start_index,
            cache_dir=data_args.cache_dir,
        )
    else:
        domains = load_k2b_domains(
            dataset=data_args.dataset,
            data_dir=data_root(data_args),
            annotations=data_args.annotations,
            cache_dir=data_args.cache_dir,
        )
    if data_args.exclude_reports:
        failed = set(read_prepare_reports(data_args.exclude_reports))
        domains = {
            name: DatasetDict(
                {split: rows.filter(lambda path: not _listed(path, failed), input_columns="path")
                 for split, rows in splits.items()}
            )
            for name, splits in domains.items()
        }  # fmt: skip
    return domains


def _listed(path: str, keys: set[str]) -> bool:
    """Whether a row's media path, less its video extension, ends with one of the report's keys (paths relative to
    the folder prepare_rawframes read, which may sit anywhere above the row's file)."""
    stem = Path(path).with_suffix("") if is_video_file(path) else Path(path)
    parts = stem.parts
    return any("/".join(parts[i:]) in keys for i in range(len(parts)))


def dataset_name(data_args: DataArguments) -> str:
    """The run's data as model cards name it: the --dataset, or `<source root>-to-<target root>` for any two domains."""
    if data_args.dataset in ("lists", "folders"):
        return f"{Path(data_args.source_dir).name}-to-{Path(data_args.target_dir).name}"
    return data_args.dataset


def class_names(domains: dict) -> list[str]:
    """The dataset's class names (its `label` ClassLabel, shared by both domains)."""
    return list(domains["source"]["train"].features["label"].names)


def ensure_backgrounds(data_args: DataArguments, num_workers: int = 2) -> Path:
    """The backgrounds folder: --backgrounds_dir, or (synthetic) median backgrounds extracted once under the data
    root (SPEC §5; resumable, existing images are kept)."""
    if data_args.backgrounds_dir:
        return Path(data_args.backgrounds_dir)
    if data_args.dataset != "synthetic":
        raise ValueError(
            "--background_blend needs --backgrounds_dir (extract them with scripts/extract_backgrounds.py)"
        )
    root = data_root(data_args)
    output = root / "backgrounds" / "k400" / "train"
    rows = read_annotation_tar(root / "kinetics2babel.tar")["k400_train"]
    extract_backgrounds(root / "k400" / "train", rows, output, num_workers=num_workers, progress=False)
    return output


def view_geometry(config: GladConfig) -> dict:
    """The clip grid and views of `config`, as the datasets take them."""
    return dict(
        clip_len=config.clip_len,
        num_clips=config.num_clips,
        local_clip_indices=config.local_clip_indices,
        global_frame_index=config.global_frame_index,
    )


def evaluation_decode(config: GladConfig) -> str:
    """The grid cells the test path reads (SPEC §4): the reference's last local clip + global view, or all views."""
    return "reference_test" if config.test_view_aggregation == "reference" else "views"


def glad_train_dataset(
    domains, config: GladConfig, data_args, train_args: GladTrainingArguments, *, forward_target: bool
) -> GladClipDataset | DomainPairedDataset:
    """Stage-2 training items (SPEC §2, §5, §7): source clips (train-mode sampling, augmentation, BackgroundBlend with
    --background_blend) paired with target clips (test-mode sampling, augmentation) when `forward_target`; source
    clips alone otherwise (no target video is decoded); labelled target clips alone with --labelled_domain target."""
    background = None
    if train_args.background_blend:
        background = BackgroundBlend(
            ensure_backgrounds(data_args), p=train_args.blend_prob, alpha=train_args.blend_alpha
        )
    common = dict(decode="views", **decoding(data_args, training=True), **view_geometry(config))
    sizes = dict(short_side=data_args.short_side, crop_size=data_args.crop_size)
    if (
        train_args.labelled_domain == "target"
    ):  # the supervised-target upper bound: target labels, no adaptation
        target_sampling = dict(test_mode=True, seed=train_args.seed + 1)
        return GladClipDataset(
            domains["target"]["train"], VideoTrainTransform(**sizes), **target_sampling, **common
        )
    source = GladClipDataset(
        domains["source"]["train"],
        VideoTrainTransform(**sizes, background_blend=background),
        test_mode=False,
        seed=train_args.seed,
        **common,
    )
    if not forward_target:
        return source
    target = GladClipDataset(
        domains["target"]["train"],
        VideoTrainTransform(**sizes),
        test_mode=True,
        seed=train_args.seed + 1,
        **common,
    )
    return DomainPairedDataset(source, target, seed=train_args.seed)


def evaluation_rows(split, data_args: DataArguments):
    """The rows of an evaluation split: all of them, or --max_eval_samples of them (a fixed random subset)."""
    if data_args.max_eval_samples is None or data_args.max_eval_samples >= len(split):
        return split
    return split.shuffle(seed=0).select(range(data_args.max_eval_samples))


def evaluation_dataset(split, config: GladConfig, data_args) -> GladClipDataset:
    """Test-path samples (SPEC §4): test-mode sampling, short side + centre crop, decoding only what the configured
    aggregation reads."""
    return GladClipDataset(
        evaluation_rows(split, data_args),
        VideoTestTransform(short_side=data_args.short_side, crop_size=data_args.crop_size),
        test_mode=True,
        decode=evaluation_decode(config),
        **decoding(data_args, training=False),
        **view_geometry(config),
    )


def motion_pretraining_config(data_args: DataArguments, num_videos: int) -> SyntheticMotionConfig:
    """The motion pre-training set of a synthetic K->B root: the motions of its generator version that are none of
    its classes, rendered at its frame size (the root is generated first when needed)."""
    if data_args.dataset != "synthetic":
        raise ValueError("motion pre-training is for --dataset synthetic; pass --motion_pretraining false")
    metadata = json.loads((data_root(data_args) / METADATA_FILENAME).read_text())
    return SyntheticMotionConfig.disjoint_from(
        metadata["labels"],
        version=metadata["config"]["version"],
        frame_size=metadata["config"]["frame_size"],
        num_train_videos=num_videos,
    )


def motion_pretraining_datasets(
    motion_config: SyntheticMotionConfig, config: GladConfig, data_args, seed: int
) -> tuple[SyntheticMotionDataset, SyntheticMotionDataset]:
    """Train (train-mode sampling and augmentation) and validation (test path) motion datasets."""
    train = SyntheticMotionDataset(
        motion_config,
        "train",
        VideoTrainTransform(short_side=data_args.short_side, crop_size=data_args.crop_size),
        test_mode=False,
        decode="views",
        seed=seed,
        replace_unreadable=True,
        **view_geometry(config),
    )
    validation = SyntheticMotionDataset(
        motion_config,
        "val",
        VideoTestTransform(short_side=data_args.short_side, crop_size=data_args.crop_size),
        test_mode=True,
        decode=evaluation_decode(config),
        **view_geometry(config),
    )
    return train, validation


class EpochConcatDataset(ConcatDataset):
    """ConcatDataset that forwards `set_epoch` to its parts (their per-sample randomness depends on the epoch); an
    item's "decode_failures" are rows of the whole, like its index."""

    def set_epoch(self, epoch: int) -> None:
        for part in self.datasets:
            part.set_epoch(epoch)

    def _part(self, index: int) -> tuple[int, int]:
        part = bisect.bisect_right(self.cumulative_sizes, index)
        return part, (self.cumulative_sizes[part - 1] if part else 0)

    def __getitem__(self, index: int) -> dict:
        item = super().__getitem__(index)
        if "decode_failures" in item:
            offset = self._part(index)[1]
            failures = item["decode_failures"]
            item["decode_failures"] = torch.where(failures >= 0, failures + offset, failures)
        return item

    def describe_row(self, index: int) -> str:
        part, offset = self._part(index)
        return self.datasets[part].describe_row(index - offset)


def temporal_order_datasets(domains, split: str, config: GladConfig, data_args, seed: int) -> dict:
    """Stage-1 samples of each domain: {"source": TemporalOrderDataset, "target": TemporalOrderDataset} (training
    mixes them into one batch, SPEC §6; evaluation scores each)."""
    transform = VideoResizeTransform(short_side=data_args.short_side, size=data_args.crop_size)
    return {
        domain: TemporalOrderDataset(
            domains[domain][split]
            if split == "train"
            else evaluation_rows(domains[domain][split], data_args),
            transform,
            frame_interval=interval,
            num_clips=config.tol_num_clips,
            clip_len=config.clip_len,
            seed=seed + offset,
            **decoding(data_args, training=split == "train"),
        )
        for offset, (domain, interval) in enumerate(
            [("source", TOL_SOURCE_FRAME_INTERVAL), ("target", TOL_TARGET_FRAME_INTERVAL)]
        )
    }
