"""Synthetic motion pre-training set: the Kinetics stand-in of the synthetic benchmark.

GLAD starts from a Kinetics-pretrained I3D; its effect rests on a backbone that already sees motion. A tiny network
trained from scratch on the synthetic K->B learns the source's background cue long before any motion, so the
synthetic benchmark first pre-trains, supervised, on motions that are *not* its classes: the motions of
`glad_hf.data.synthetic` left over by the K->B classes (with 5 classes: dance, clean, squat, punch, crawl, clap,
lift), of the K->B data's generator version, on random cluttered backgrounds with no class cue. Version 3: one
one-shot action per video, lasting 16-160 frames (log-uniform), filling 60-100% of the video; version 2: a
periodic pattern, one cycle every 5-40 frames.

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
    GENERATOR_VERSIONS,
    MOTION_PATTERNS,
    ONE_SHOT_ACTIONS,
    Trajectory,
    held,
    motion_trajectory,
    one_shot_trajectory,
    render_actor,
    source_background,
)
from glad_hf.data.synthetic.render import _source_actor
from glad_hf.data.video_datasets import GladClipDataset

# Bump when the rendering changes, so that models pre-trained on older renders are not reused.
MOTION_GENERATOR_VERSION = 1
SPLIT_CODES = {"train": 0, "val": 1}
DEFAULT_PERIOD_FRAMES = {2: (5.0, 40.0), 3: (16.0, 160.0)}


@dataclass(frozen=True)
class SyntheticMotionConfig:
    """Knobs of the motion pre-training set.

    Args:
        version: the generator version of the motions (`glad_hf.data.synthetic`): 3 one-shot actions, 2 periodic
            patterns.
        motions: names of the version's motions (`ONE_SHOT_ACTIONS` or `MOTION_PATTERNS`), one class each.
        frame_size: frames are `frame_size` x `frame_size` RGB (match the K->B frames).
        num_train_videos, num_val_videos: videos per split, classes balanced.
        num_frames: (min, max) frames of a video, uniform (version 2; a version-3 video is its action's length
            over a uniform 0.6-1.0).
        period_frames: (min, max) frames of the action (version 3) or of one cycle (version 2), log-uniform;
            None = (16, 160) or (5, 40).
        background_contrast: amplitude of the random background stripes (never class-related here).
        seed: every video is a deterministic function of the config (this seed included) and its index.
    """

    version: int = 3
    motions: tuple[str, ...] = ("dance", "clean", "squat", "punch", "crawl", "clap", "lift")
    frame_size: int = 32
    num_train_videos: int = 10_500
    num_val_videos: int = 700
    num_frames: tuple[int, int] = (60, 150)
    period_frames: tuple[float, float] | None = None
    background_contrast: float = 14.0
    seed: int = 0

    def __post_init__(self):
        if self.version not in GENERATOR_VERSIONS:
            raise ValueError(f"version must be one of {GENERATOR_VERSIONS}, got {self.version}")
        if self.period_frames is None:  # frozen: the version's default is set once, here
            object.__setattr__(self, "period_frames", DEFAULT_PERIOD_FRAMES[self.version])
        known = ONE_SHOT_ACTIONS if self.version == 3 else MOTION_PATTERNS
        unknown = [name for name in self.motions if name not in known]
        if unknown:
            raise ValueError(
                f"motions {unknown} are not motions of version {self.version}; choose from {sorted(known)}"
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
        known = ONE_SHOT_ACTIONS if overrides.get("version", 3) == 3 else MOTION_PATTERNS
        motions = tuple(name for name in known if name not in set(classes))
        if len(motions) < 2:
            raise ValueError(
                f"classes {tuple(classes)} leave {len(motions)} motion pattern(s) for pre-training; use fewer classes"
            )
        return cls(motions=motions, **overrides)

    def config_hash(self) -> str:
        payload = json.dumps({"version": MOTION_GENERATOR_VERSION, "config": asdict(self)}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def motion_rows(config: SyntheticMotionConfig, split: str) -> list[dict]:
    """The videos of a split: {"video_id", "label", "num_frames", "period", "idle_before", "seed"} each, classes
    balanced; "period" is the action's length (version 3, "idle_before" frames after the start) or one cycle's
    (version 2, "idle_before" 0)."""
    if split not in SPLIT_CODES:
        raise ValueError(f"split must be one of {sorted(SPLIT_CODES)}, got {split!r}")
    count = config.num_train_videos if split == "train" else config.num_val_videos
    rng = np.random.default_rng([config.seed, 3, SPLIT_CODES[split]])
    lengths = rng.integers(config.num_frames[0], config.num_frames[1] + 1, count)
    periods = np.exp(rng.uniform(*np.log(config.period_frames), count))
    idle_before = np.zeros(count, int)
    if config.version == 3:
        periods = np.round(periods)
        lengths = np.round(periods / rng.uniform(0.6, 1.0, count)).astype(int)
        idle_before = np.floor(rng.uniform(0, 1, count) * (lengths - periods + 1)).astype(int)
    return [
        {
            "video_id": f"motion_{split}_{index:06d}",
            "label": index % len(config.motions),
            "num_frames": int(lengths[index]),
            "period": float(periods[index]),
            "idle_before": int(idle_before[index]),
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
    name = config.motions[row["label"]]
    if config.version == 3:
        action = one_shot_trajectory(name, int(row["period"]), size, rng)
        whole = held(action, row["num_frames"], row["idle_before"])
    else:
        whole = motion_trajectory(name, row["num_frames"], 1.0, row["period"], size, rng)
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
