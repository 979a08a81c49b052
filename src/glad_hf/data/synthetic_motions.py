"""Synthetic motion pre-training set: the Kinetics stand-in of the synthetic benchmark.

GLAD starts from a Kinetics-pretrained I3D; its effect rests on a backbone that already sees motion. A tiny network
trained from scratch on the synthetic K->B learns the source's background cue long before any motion, so the
synthetic benchmark first pre-trains, supervised, on motions that are *not* its classes: the motion patterns of
`glad_hf.data.synthetic` left over by the K->B classes (with 5 classes: dance, clean, squat, punch, crawl, clap,
lift; punch and lift have a direction in time, crawl a steady drift), on random cluttered backgrounds with no
class cue and a wide range of speeds (one cycle every 5-40 frames).

Clips are rendered on the fly, and only the frames the sampled views use: nothing is written to disk, and a video
is a deterministic function of its row (look, place, phase, speed), while frame sampling and augmentation vary per
epoch as for the K->B datasets (the dataset is a `GladClipDataset` whose "decoder" renders).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np
import torch

from glad_hf.data.synthetic import (
    MOTION_PATTERNS,
    Trajectory,
    _source_actor,
    motion_trajectory,
    render_actor,
    source_background,
)
from glad_hf.data.video_datasets import GladClipDataset

# Bump when the rendering changes, so that models pre-trained on older renders are not reused.
MOTION_GENERATOR_VERSION = 1
SPLIT_CODES = {"train": 0, "val": 1}


@dataclass(frozen=True)
class SyntheticMotionConfig:
    """Knobs of the motion pre-training set.

    Args:
        motions: names of `glad_hf.data.synthetic.MOTION_PATTERNS`, one class each.
        frame_size: frames are `frame_size` x `frame_size` RGB (match the K->B frames).
        num_train_videos, num_val_videos: videos per split, classes balanced.
        num_frames: (min, max) frames of a video, uniform.
        period_frames: (min, max) frames of one motion cycle, log-uniform.
        background_contrast: amplitude of the random background stripes (never class-related here).
        seed: every video is a deterministic function of the config (this seed included) and its index.
    """

    motions: tuple[str, ...] = ("dance", "clean", "squat", "punch", "crawl", "clap", "lift")
    frame_size: int = 32
    num_train_videos: int = 10_500
    num_val_videos: int = 700
    num_frames: tuple[int, int] = (60, 150)
    period_frames: tuple[float, float] = (5.0, 40.0)
    background_contrast: float = 14.0
    seed: int = 0

    def __post_init__(self):
        unknown = [name for name in self.motions if name not in MOTION_PATTERNS]
        if unknown:
            raise ValueError(
                f"motions {unknown} are not motion patterns; choose from {sorted(MOTION_PATTERNS)}"
            )
        if len(set(self.motions)) != len(self.motions) or len(self.motions) < 2:
            raise ValueError(f"motions must be at least 2 distinct patterns, got {self.motions}")
        if self.frame_size < 16 or self.frame_size % 2:
            raise ValueError(f"frame_size must be an even number >= 16, got {self.frame_size}")
        for name in ("num_train_videos", "num_val_videos"):
            if getattr(self, name) < len(self.motions):
                raise ValueError(f"{name} must be at least one video per motion, got {getattr(self, name)}")
        for name in ("num_frames", "period_frames"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"{name} must be (min, max) with 0 < min <= max, got {getattr(self, name)}")

    @classmethod
    def disjoint_from(cls, classes, **overrides) -> SyntheticMotionConfig:
        """The motion patterns that are none of `classes` (the benchmark's labels)."""
        motions = tuple(name for name in MOTION_PATTERNS if name not in set(classes))
        if len(motions) < 2:
            raise ValueError(
                f"classes {tuple(classes)} leave {len(motions)} motion pattern(s) for pre-training; use fewer classes"
            )
        return cls(motions=motions, **overrides)

    def config_hash(self) -> str:
        payload = json.dumps({"version": MOTION_GENERATOR_VERSION, "config": asdict(self)}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def motion_rows(config: SyntheticMotionConfig, split: str) -> list[dict]:
    """The videos of a split: {"video_id", "label", "num_frames", "period", "seed"} each, classes balanced."""
    if split not in SPLIT_CODES:
        raise ValueError(f"split must be one of {sorted(SPLIT_CODES)}, got {split!r}")
    count = config.num_train_videos if split == "train" else config.num_val_videos
    rng = np.random.default_rng([config.seed, 3, SPLIT_CODES[split]])
    lengths = rng.integers(config.num_frames[0], config.num_frames[1] + 1, count)
    periods = np.exp(rng.uniform(*np.log(config.period_frames), count))
    return [
        {
            "video_id": f"motion_{split}_{index:06d}",
            "label": index % len(config.motions),
            "num_frames": int(lengths[index]),
            "period": float(periods[index]),
            "seed": (config.seed, 4, SPLIT_CODES[split], index),
        }
        for index in range(count)
    ]


def render_motion_frames(config: SyntheticMotionConfig, row: dict, indices: np.ndarray) -> np.ndarray:
    """Frames `indices` (0-based) of a motion video: uint8 [F, S, S, 3]."""
    rng = np.random.default_rng(row["seed"])
    size = config.frame_size
    background = source_background(size, 0, 2, False, config.background_contrast, rng)
    shape, color, outline = _source_actor(rng)
    whole = motion_trajectory(config.motions[row["label"]], row["num_frames"], 1.0, row["period"], size, rng)
    indices = np.asarray(indices, dtype=np.int64)
    trajectory = Trajectory(whole.x[indices], whole.y[indices], whole.radius[indices])
    return render_actor(background, trajectory, shape, color, outline=outline)


class SyntheticMotionDataset(GladClipDataset):
    """`GladClipDataset` samples (`[num_clips, C, clip_len, S, S]` grids of the views) of rendered motion videos;
    the other arguments are `GladClipDataset`'s. Items: {"pixel_values", "labels", "index"}."""

    def __init__(self, config: SyntheticMotionConfig, split: str, transform, test_mode: bool, **kwargs):
        super().__init__(motion_rows(config, split), transform, test_mode, **kwargs)
        self.config = config

    def segment_length(self, row: dict) -> int:
        return row["num_frames"]

    def read_segment_frames(self, row: dict, indices: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(render_motion_frames(self.config, row, indices)).permute(0, 3, 1, 2)
