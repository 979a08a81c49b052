"""The knobs of the synthetic K->B dataset (`SyntheticK2BConfig`) and the names of what the generator writes."""

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np

from glad_hf.labels import K2B_LABELS

# The generator versions `SyntheticK2BConfig.version` chooses from (the package docstring).
GENERATOR_VERSIONS = (2, 3)
METADATA_FILENAME = "synthetic_k2b.json"
ANNOTATION_TAR = "kinetics2babel.tar"
LIST_NAMES = ("k400_train", "k400_test", "babel_train", "babel_test")
RANGE_KNOBS = (
    "source_num_frames",
    "source_speed_range",
    "segments_per_sequence",
    "target_segment_range",
    "target_speed_range",
    "transition_frames",
    "target_action_fraction",
    "source_actions_per_clip",
)
YOUTUBE_ID_ALPHABET = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))


@dataclass(frozen=True)
class SyntheticK2BConfig:
    """Knobs of the synthetic Kinetics->BABEL dataset. The defaults are the synthetic benchmark's data (README,
    `glad_hf.training.benchmark`): generator version 3, 5 classes at 32x32, 1,000 + 500 source clips of 80-120
    frames, each holding one action of 48-75 frames, 90% of them with the class's background cue, and ~1,000 +
    500 target segments, log-normal lengths (median 54 frames, 15-1,300), each one whole action.

    Args:
        version: 3 = one-shot actions, 2 = periodic motion patterns (package docstring). Version 2's recipe is
            ``version=2, source_num_frames=(150, 150), period_frames=30, background_texture_contrast=14,
            target_action_fraction=(0.6, 1.0)`` (`glad_hf.training.benchmark_presets.PRESETS["v2"]`).
        seed: everything is a deterministic function of the config (this seed included).
        num_classes: the first ``num_classes`` K->B labels (``glad_hf.labels.K2B_LABELS``) are used.
        frame_size: frames are ``frame_size`` x ``frame_size`` RGB (even, for yuv420p video).
        format: "mp4" (one H.264 file per Kinetics clip / BABEL sequence) or "rawframes" (JPEG folders).
        fps: frame rate written into the mp4 files.
        source_train_per_class, source_test_per_class: Kinetics-like clips per class in k400_train / k400_test.
        source_num_frames: (min, max) frames of a source clip, uniform.
        source_speed_range: (min, max) speed of source clips, log-uniform: at speed s a version-3 action lasts
            ``period_frames / s`` frames, a version-2 pattern repeats every ``period_frames / s`` frames.
        period_frames: frames of one action (version 3) or one motion cycle (version 2) at speed 1.
        source_actions_per_clip: (min, max) actions in a source clip (version 3), uniform, at most as many as
            fit; the actor stands still before, between (walking to the next action's place) and after them.
        background_cue_fraction: fraction of source videos whose background stripe orientation encodes the
            class (the others get a random orientation); 0 removes the background shortcut.
        background_texture_contrast: amplitude (0-255 levels) of the background stripes.
        target_train_sequences, target_test_sequences: BABEL-like sequences in babel_train / babel_test.
        segments_per_sequence: (min, max) labelled segments per sequence, uniform.
        target_segment_median, target_segment_sigma: log-normal segment length (frames), median and sigma of
            the log.
        target_segment_range: (min, max) segment length, the log-normal is clipped to it.
        target_speed_range: (min, max) motion speed of target segments, log-uniform (version 2; in version 3 a
            segment's one action spans the segment, so its speed follows from the segment's length).
        transition_frames: (min, max) unlabelled frames between segments, in which the actor walks to the next
            segment's place.
        target_action_fraction: (min, max) fraction of a target segment the action fills, uniform; the actor
            stands still for the rest, split at random before and after the action (BABEL segments are loosely
            cut). (1, 1) = the action fills every segment.
    """

    version: int = 3
    seed: int = 0
    num_classes: int = 5
    frame_size: int = 32
    format: str = "mp4"
    fps: int = 30
    source_train_per_class: int = 200
    source_test_per_class: int = 100
    source_num_frames: tuple[int, int] = (80, 120)
    source_speed_range: tuple[float, float] = (0.8, 1.25)
    period_frames: float = 60.0
    source_actions_per_clip: tuple[int, int] = (1, 1)
    background_cue_fraction: float = 0.9
    background_texture_contrast: float = 28.0
    target_train_sequences: int = 125
    target_test_sequences: int = 63
    segments_per_sequence: tuple[int, int] = (6, 10)
    target_segment_median: float = 54.0
    target_segment_sigma: float = 0.8
    target_segment_range: tuple[int, int] = (15, 1300)
    target_speed_range: tuple[float, float] = (0.5, 2.0)
    transition_frames: tuple[int, int] = (4, 12)
    target_action_fraction: tuple[float, float] = (0.85, 1.0)

    def __post_init__(self):
        if self.version not in GENERATOR_VERSIONS:
            raise ValueError(f"version must be one of {GENERATOR_VERSIONS}, got {self.version}")
        if not 2 <= self.num_classes <= len(K2B_LABELS):
            raise ValueError(f"num_classes must be in [2, {len(K2B_LABELS)}], got {self.num_classes}")
        if self.frame_size < 16 or self.frame_size % 2:
            raise ValueError(f"frame_size must be an even number >= 16, got {self.frame_size}")
        if self.format not in ("mp4", "rawframes"):
            raise ValueError(f"format must be 'mp4' or 'rawframes', got {self.format!r}")
        if not 0.0 <= self.background_cue_fraction <= 1.0:
            raise ValueError(f"background_cue_fraction must be in [0, 1], got {self.background_cue_fraction}")
        for name in RANGE_KNOBS:
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"{name} must be (min, max) with 0 < min <= max, got {getattr(self, name)}")
        if self.target_action_fraction[1] > 1.0:
            raise ValueError(
                f"target_action_fraction must be within (0, 1], got {self.target_action_fraction}"
            )
        if self.source_num_frames[0] < 16:
            raise ValueError(f"source_num_frames must be at least 16 frames, got {self.source_num_frames}")

    @property
    def labels(self) -> tuple[str, ...]:
        return K2B_LABELS[: self.num_classes]

    def config_hash(self) -> str:
        """Content hash of the config, its generator version included (what makes two datasets identical)."""
        payload = json.dumps({"config": asdict(self)}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]
