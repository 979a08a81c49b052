"""Synthetic Kinetics->BABEL: a small procedural dataset in the real benchmark's layout (SPEC §1).

It has the two gaps of K->B in miniature (see dataset_scripts/kinetics2babel/SYNTHETIC.md):
- source ("k400"): one clip per video, a cluttered background; a fraction of the videos carries a
  class-correlated background texture (a shortcut a model can learn);
- target ("babel"): long "sequences" on a plain grey background, one fixed-looking actor, several labelled
  segments of log-normal length (median 54 frames), with transitions in between.
A class is a motion of one actor: the actor's look, size and position are drawn independently of the class, so a
single frame does not tell the class. Two generator versions (``SyntheticK2BConfig.version``):
- 3 (default): **one-shot actions** with phases in an order (crouch -> leap -> land, wind-up -> release ->
  follow-through, ...), none the time-reverse of another. A source clip (80-120 frames) holds the action once
  (``source_actions_per_clip``) at the source's pace (48-75 frames), somewhere inside the clip; a target segment is
  one whole action stretched over the segment, however long (15-1,300 frames): the temporal gap. The order of
  three clips of a video is visible in the motion alone.
- 2: periodic motion patterns (hop, run across, throw arc, ...) repeated throughout a clip or segment at varied
  speed; kept for the earlier benchmark tables (docs/benchmark_synthetic/v2). Clip order is not learnable there.

``generate_synthetic_k2b(root)`` writes ``<root>/k400/{train,val}``, ``<root>/babel/{train,val}`` (mp4 or
rawframes, named as the real data), ``<root>/kinetics2babel.tar`` with the four lists in the real format, and
``<root>/synthetic_k2b.json`` (config + content hash, so an identical dataset is reused).
"""

import colorsys
import dataclasses
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from filelock import FileLock
from PIL import Image
from tqdm.auto import tqdm

from glad_hf.atomic import atomic_path, atomic_write_text
from glad_hf.labels import K2B_LABELS, K400_CLASSES_PER_LABEL

# The generator versions `SyntheticK2BConfig.version` chooses from (module docstring).
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
        version: 3 = one-shot actions, 2 = periodic motion patterns (module docstring). Version 2's recipe is
            ``version=2, source_num_frames=(150, 150), period_frames=30, background_texture_contrast=14,
            target_action_fraction=(0.6, 1.0)`` (`glad_hf.training.benchmark.PRESETS["v2"]`).
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


# ---------------------------------------------------------------------------------------------------------------
# Version 2: periodic motion patterns. A pattern maps the motion phase u (cycles, float [F]) and a horizontal direction (+1 / -1,
# random per video: horizontal flips are a training augmentation, so no class may depend on left vs right) to
# (dx, dy, scale): offsets in units of the video's amplitude (y down) and a size multiplier.
# "run" and "crawl" return dx in frame widths, wrapped around the frame (the actor crosses the picture).
# ---------------------------------------------------------------------------------------------------------------


def _hop(u, direction):  # jump: repeated hops up from the ground
    return np.zeros_like(u), -np.abs(np.sin(np.pi * u)), np.ones_like(u)


def _run(u, direction):  # run: fast translation across the frame with a quick bob
    return direction * 0.6 * u, -0.25 * np.abs(np.sin(2 * np.pi * u)), np.ones_like(u)


def _throw(u, direction):  # throw: ease-out arc over the frame, then the next throw starts from the hand
    g = 1 - (1 - u % 1) ** 2
    return direction * (2 * g - 1), -4 * g * (1 - g), np.ones_like(u)


def _kick(u, direction):  # kick: quick forward-up swing (40% of the cycle), then rest
    swing = np.sin(np.pi * np.clip((u % 1) / 0.4, 0, 1))
    return direction * swing, -0.6 * swing**2, np.ones_like(u)


def _bend(u, direction):  # bend: slow smooth dip down-forward and back up
    c = (1 - np.cos(2 * np.pi * u)) / 2
    return direction * 0.5 * c, 0.9 * c, np.ones_like(u)


def _dance(u, direction):  # dance: circling
    return direction * np.sin(2 * np.pi * u), -np.cos(2 * np.pi * u), np.ones_like(u)


def _clean(u, direction):  # clean: fast small wiping strokes while sweeping up and down
    return 0.6 * np.sin(6 * np.pi * u), 0.5 * np.sin(2 * np.pi * u), np.ones_like(u)


def _squat(u, direction):  # squat: down and back up, squashed at the bottom
    c = (1 - np.cos(2 * np.pi * u)) / 2
    return np.zeros_like(u), c, 1.0 - 0.2 * c


def _punch(u, direction):  # punch: fast jab out (15% of the cycle), slow return (40%), rest
    f = u % 1
    reach = np.where(f < 0.15, f / 0.15, np.clip(1 - (f - 0.15) / 0.4, 0, 1))
    return direction * reach, np.zeros_like(u), np.ones_like(u)


def _crawl(u, direction):  # crawl: slow translation with a low wiggle
    return direction * 0.2 * u, 0.3 * np.sin(4 * np.pi * u), np.ones_like(u)


def _clap(u, direction):  # clap: the actor pulses in size in place
    return np.zeros_like(u), np.zeros_like(u), 1.0 + 0.4 * np.sin(2 * np.pi * u)


def _lift(u, direction):  # lift: slow rise (70% of the cycle), fast drop
    f = u % 1
    return np.zeros_like(u), -np.where(f < 0.7, f / 0.7, 1 - (f - 0.7) / 0.3), np.ones_like(u)


MOTION_PATTERNS = {
    "jump": _hop,
    "run": _run,
    "throw": _throw,
    "kick": _kick,
    "bend": _bend,
    "dance": _dance,
    "clean": _clean,
    "squat": _squat,
    "punch": _punch,
    "crawl": _crawl,
    "clap": _clap,
    "lift": _lift,
}
WRAPPING_PATTERNS = ("run", "crawl")


@dataclass
class Trajectory:
    """Per-frame actor state in pixels: centre x, y and radius, each float [F]."""

    x: np.ndarray
    y: np.ndarray
    radius: np.ndarray


def motion_trajectory(
    label_name: str,
    num_frames: int,
    speed: float,
    period_frames: float,
    frame_size: int,
    rng: np.random.Generator,
) -> Trajectory:
    """Pixel trajectory of one action of ``num_frames`` frames; phase, amplitude, size, direction and place are
    drawn from ``rng`` independently of the class."""
    u = rng.uniform(0, 1) + speed * np.arange(num_frames) / period_frames
    direction = rng.choice([-1.0, 1.0])
    dx, dy, scale = MOTION_PATTERNS[label_name](u, direction)
    return _placed(dx, dy, scale, frame_size, rng, wrap_x=label_name in WRAPPING_PATTERNS)


def _placed(
    dx: np.ndarray,
    dy: np.ndarray,
    scale: np.ndarray,
    frame_size: int,
    rng: np.random.Generator,
    wrap_x: bool,
    amplitude: tuple[float, float] = (0.2, 0.3),
) -> Trajectory:
    """Offsets (amplitude units) and size multipliers -> a pixel trajectory with a random amplitude (a share of the
    frame in the ``amplitude`` range), size and place inside the frame; with ``wrap_x``, dx is in frame widths and
    wraps around the frame."""
    amplitude = rng.uniform(*amplitude) * frame_size
    radius = rng.uniform(0.08, 0.12) * frame_size * scale
    margin = 1.5 * radius.max() + 1.0  # room for the tallest shape (the target body is 1.5 radii high)
    low, high = margin, frame_size - margin
    if wrap_x:
        x = low + (rng.uniform(0, high - low) + dx * frame_size) % (high - low)
    else:
        x = _place(dx * amplitude, low, high, rng)
    y = _place(dy * amplitude, low, high, rng)
    return Trajectory(x=x, y=y, radius=radius)


def _place(offsets: np.ndarray, low: float, high: float, rng: np.random.Generator) -> np.ndarray:
    """Shift ``offsets`` by a random centre so that they stay within [low, high] (clipped if they cannot)."""
    start_low, start_high = low - offsets.min(), high - offsets.max()
    centre = (
        rng.uniform(start_low, start_high) if start_high > start_low else (low + high) / 2 - offsets.mean()
    )
    return np.clip(centre + offsets, low, high)


# ---------------------------------------------------------------------------------------------------------------
# Version 3: one-shot actions. An action maps its progress p (0 at its first frame, 1 at its last, float [F]) and
# a horizontal direction (+1 / -1, random per video, as above) to (dx, dy, scale) in amplitude units (y down).
# Each has phases in an order: none is the time-reverse of another, so the order of clips is visible in the motion.
# ---------------------------------------------------------------------------------------------------------------


def _ramp(p, start, end):
    """0 before ``start``, 1 after ``end``, linear in between."""
    return np.clip((p - start) / (end - start), 0.0, 1.0)


def _ease(p, start, end):
    """`_ramp` eased in and out (smoothstep)."""
    t = _ramp(p, start, end)
    return t * t * (3 - 2 * t)


def _jump_once(p, direction):  # slow crouch -> ballistic leap forward -> quick landing squash
    crouch = _ease(p, 0.0, 0.3) - _ease(p, 0.3, 0.38)
    flight = _ramp(p, 0.35, 0.75)
    land = np.sin(np.pi * _ramp(p, 0.75, 0.9))
    dy = 0.35 * crouch - 1.2 * 4 * flight * (1 - flight) + 0.3 * land
    return direction * 1.0 * flight, dy, 1.0 - 0.2 * crouch - 0.25 * land


def _run_once(p, direction):  # start from standing and accelerate across the frame, strides getting longer
    travelled = p**2
    return direction * (1.8 * travelled - 0.9), -0.25 * np.abs(np.sin(6 * np.pi * travelled)), np.ones_like(p)


def _throw_once(
    p, direction
):  # slow wind-up back and down -> fast release up and forward -> drifting follow-through
    wind, release, follow = _ease(p, 0.0, 0.5), _ramp(p, 0.5, 0.62), _ease(p, 0.62, 1.0)
    return (
        direction * (-0.6 * wind + 1.6 * release + 0.3 * follow),
        0.4 * wind - 1.0 * release + 0.4 * follow,
        np.ones_like(p),
    )


def _kick_once(p, direction):  # small step back -> fast swing forward and up -> slow return
    back, swing, settle = _ease(p, 0.0, 0.25), _ramp(p, 0.25, 0.4), _ease(p, 0.4, 1.0)
    return direction * (-0.3 * back + 1.3 * swing - 1.0 * settle), -0.7 * (swing - settle), np.ones_like(p)


def _bend_once(p, direction):  # slow bend down and forward -> hold -> quick straightening
    down = _ease(p, 0.0, 0.6) - _ease(p, 0.75, 1.0)
    return direction * 0.5 * down, 0.9 * down, 1.0 - 0.1 * down


def _dance_once(p, direction):  # two turns of an outward spiral
    angle, reach = 4 * np.pi * p, 0.15 + 0.85 * p
    return direction * reach * np.sin(angle), -reach * np.cos(angle), np.ones_like(p)


def _clean_once(p, direction):  # fast wiping strokes while sweeping from top to bottom
    return 0.6 * np.sin(6 * np.pi * p), -0.7 + 1.4 * _ease(p, 0.0, 1.0), np.ones_like(p)


def _squat_once(p, direction):  # fast drop, squashed -> hold -> slow rise
    down = _ease(p, 0.0, 0.2) - _ease(p, 0.45, 1.0)
    return np.zeros_like(p), down, 1.0 - 0.3 * down


def _punch_once(p, direction):  # slow draw back -> fast jab -> hold -> slow return
    draw, jab, back = _ease(p, 0.0, 0.4), _ramp(p, 0.4, 0.5), _ease(p, 0.65, 1.0)
    return direction * (-0.4 * draw + 1.4 * jab - 1.0 * back), np.zeros_like(p), np.ones_like(p)


def _crawl_once(p, direction):  # get down -> crawl forward with a wiggle, speeding up
    down, crawl = _ease(p, 0.0, 0.25), _ramp(p, 0.25, 1.0) ** 1.5
    dy = 0.7 * down + 0.15 * np.sin(8 * np.pi * crawl) * down
    return direction * (1.4 * crawl - 0.7), dy, 1.0 - 0.15 * down


def _clap_once(p, direction):  # size pulses getting faster (a chirp: 0.5 -> 4.5 pulses per action length)
    return np.zeros_like(p), np.zeros_like(p), 1.0 + 0.35 * np.sin(2 * np.pi * (0.5 * p + 2 * p**2))


def _lift_once(p, direction):  # slow rise -> hold -> fast drop
    up = _ease(p, 0.0, 0.6) - _ramp(p, 0.8, 1.0) ** 2
    return np.zeros_like(p), -1.0 * up, np.ones_like(p)


ONE_SHOT_ACTIONS = {
    "jump": _jump_once,
    "run": _run_once,
    "throw": _throw_once,
    "kick": _kick_once,
    "bend": _bend_once,
    "dance": _dance_once,
    "clean": _clean_once,
    "squat": _squat_once,
    "punch": _punch_once,
    "crawl": _crawl_once,
    "clap": _clap_once,
    "lift": _lift_once,
}


def one_shot_trajectory(
    label_name: str, num_frames: int, frame_size: int, rng: np.random.Generator
) -> Trajectory:
    """Pixel trajectory of one whole version-3 action lasting ``num_frames`` frames; amplitude, size, direction and
    place are drawn from ``rng`` independently of the class."""
    progress = np.linspace(0.0, 1.0, num_frames)
    direction = rng.choice([-1.0, 1.0])
    dx, dy, scale = ONE_SHOT_ACTIONS[label_name](progress, direction)
    # Larger than version 2's patterns: a one-shot action has one chance per clip to be seen.
    return _placed(dx, dy, scale, frame_size, rng, wrap_x=False, amplitude=(0.3, 0.4))


def held(action: Trajectory, num_frames: int, idle_before: int) -> Trajectory:
    """``action`` inside ``num_frames`` frames: its first state held for ``idle_before`` frames, its last for the
    rest."""
    frames = len(action.x)
    index = np.r_[
        np.zeros(idle_before, int), np.arange(frames), np.full(num_frames - frames - idle_before, frames - 1)
    ]
    return Trajectory(action.x[index], action.y[index], action.radius[index])


def concatenate(parts: list[Trajectory]) -> Trajectory:
    return Trajectory(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("x", "y", "radius")))


def walk(start: Trajectory, end: Trajectory, num_frames: int) -> Trajectory:
    """``num_frames`` frames moving in a straight line from the last state of ``start`` to the first of ``end``
    (both excluded)."""
    steps = np.linspace(0, 1, num_frames + 2)[1:-1]
    first = (start.x[-1], start.y[-1], start.radius[-1])
    last = (end.x[0], end.y[0], end.radius[0])
    return Trajectory(*(a + (b - a) * steps for a, b in zip(first, last, strict=True)))


def source_action_frames(config: SyntheticK2BConfig, num_frames: int, speed: float) -> int:
    """Frames of one version-3 action in a source clip of ``num_frames`` frames at ``speed``."""
    return int(min(num_frames, max(8, round(config.period_frames / speed))))


def source_action_trajectory(
    config: SyntheticK2BConfig, label: int, num_frames: int, speed: float, rng: np.random.Generator
) -> Trajectory:
    """A version-3 source clip's actor: ``config.source_actions_per_clip`` actions of ``period_frames / speed``
    frames each, at random times inside the clip, standing still around them and walking between them."""
    action_frames = source_action_frames(config, num_frames, speed)
    fitting = max(1, num_frames // action_frames)
    most = min(config.source_actions_per_clip[1], fitting)
    count = int(rng.integers(min(config.source_actions_per_clip[0], most), most + 1))
    actions = [
        one_shot_trajectory(config.labels[label], action_frames, config.frame_size, rng) for _ in range(count)
    ]
    idle = num_frames - count * action_frames
    idle_parts = np.diff(
        np.r_[0, np.sort(rng.integers(0, idle + 1, count)), idle]
    )  # before, between..., after
    parts = [actions[0]]
    for previous, action, gap in zip(actions[:-1], actions[1:], idle_parts[1:-1], strict=True):
        parts += [walk(previous, action, int(gap)), action]
    return held(concatenate(parts), num_frames, idle_before=int(idle_parts[0]))


def action_trajectory(
    config: SyntheticK2BConfig, label: int, num_frames: int, speed: float, rng: np.random.Generator
) -> Trajectory:
    """The class's motion over ``num_frames`` frames: one whole action (version 3; ``speed`` unused) or the
    pattern repeated at ``speed`` (version 2)."""
    if config.version == 3:
        return one_shot_trajectory(config.labels[label], num_frames, config.frame_size, rng)
    return motion_trajectory(
        config.labels[label], num_frames, speed, config.period_frames, config.frame_size, rng
    )


# ---------------------------------------------------------------------------------------------------------------
# Rendering (numpy, vectorised over frames).
# ---------------------------------------------------------------------------------------------------------------


def _coverage(distance: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage of a shape from the signed distance to its edge in pixels (negative inside)."""
    return np.clip(0.5 - distance, 0.0, 1.0)


def _shape_distance(shape: str, dx: np.ndarray, dy: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Approximate signed distance (pixels) to the edge of a shape centred at the origin."""
    if shape == "disk":
        return np.sqrt(dx**2 + dy**2) - radius
    if shape == "square":
        return np.maximum(np.abs(dx), np.abs(dy)) - 0.85 * radius
    if shape == "diamond":
        return (np.abs(dx) + np.abs(dy)) / np.sqrt(2) - 0.8 * radius
    if shape == "body":  # upright ellipse, the target's rendered "body"
        return (np.sqrt((dx / 0.9) ** 2 + (dy / 1.5) ** 2) - radius) * 0.9
    raise ValueError(f"unknown shape {shape!r}")


def render_actor(
    background: np.ndarray,
    trajectory: Trajectory,
    shape: str,
    color: np.ndarray,
    outline: np.ndarray | None = None,
    shaded: bool = False,
    chunk_frames: int = 256,
) -> np.ndarray:
    """Composite an actor over a static background: float [H, W, 3] -> uint8 [F, H, W, 3] (rendered
    ``chunk_frames`` frames at a time to bound memory)."""
    height, width = background.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    out = np.empty((len(trajectory.x), height, width, 3), np.uint8)
    for start in range(0, len(out), chunk_frames):
        part = slice(start, start + chunk_frames)
        dx = xs[None] - trajectory.x[part, None, None]
        dy = ys[None] - trajectory.y[part, None, None]
        radius = trajectory.radius[part, None, None]
        distance = _shape_distance(shape, dx, dy, radius)
        frames = np.broadcast_to(background, (len(dx), height, width, 3)).astype(np.float32)
        if outline is not None:
            ring = _coverage(distance - 1.2)[..., None]
            frames = frames * (1 - ring) + outline * ring
        fill = _coverage(distance)[..., None]
        paint = color
        if shaded:  # darker towards the rim, as a lit 3D body
            depth = np.clip(1 + distance / np.maximum(radius, 1e-3), 0, 1)[..., None]
            paint = color * (1 - 0.2 * depth**2)
        out[part] = np.clip(frames * (1 - fill) + paint * fill + 0.5, 0, 255).astype(np.uint8)
    return out


def source_background(
    frame_size: int, label: int, num_classes: int, with_cue: bool, contrast: float, rng: np.random.Generator
) -> np.ndarray:
    """Cluttered static scene, float [H, W, 3]: muted base colour, random rectangles and ellipses, a stripe
    texture and pixel noise. With ``with_cue`` the stripes' angle from the horizontal is the class's
    ((pi/2) * label / (num_classes - 1), mirrored at random so that horizontal flips keep the cue); otherwise
    it is uniform."""
    size = frame_size
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    image = np.empty((size, size, 3), np.float32)
    image[:] = rng.uniform(60, 190, 3)
    for _ in range(rng.integers(3, 7)):
        color = rng.uniform(40, 210, 3)
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * size
        w, h = rng.uniform(0.15, 0.6, 2) * size
        if rng.uniform() < 0.5:
            mask = (xs >= x0) & (xs < x0 + w) & (ys >= y0) & (ys < y0 + h)
        else:
            mask = ((xs - x0 - w / 2) / (w / 2)) ** 2 + ((ys - y0 - h / 2) / (h / 2)) ** 2 <= 1
        opacity = rng.uniform(0.4, 1.0)
        image[mask] = (1 - opacity) * image[mask] + opacity * color
    if with_cue:
        angle = np.pi / 2 * label / (num_classes - 1) + rng.uniform(-0.05, 0.05)
        angle = angle if rng.uniform() < 0.5 else np.pi - angle
    else:
        angle = rng.uniform(0, np.pi)
    period = rng.uniform(5.0, 7.0)
    stripes = np.sin(
        2 * np.pi * (xs * np.cos(angle) + ys * np.sin(angle)) / period + rng.uniform(0, 2 * np.pi)
    )
    image += contrast * stripes[..., None]
    image += rng.normal(0, 5, image.shape)
    return np.clip(image, 0, 255)


def _source_actor(rng: np.random.Generator) -> tuple[str, np.ndarray, np.ndarray]:
    """Random look of a source actor: shape, saturated colour, dark outline."""
    shape = str(rng.choice(["disk", "square", "diamond"]))
    color = 255 * np.array(colorsys.hsv_to_rgb(rng.uniform(0, 1), 0.85, 0.95), np.float32)
    return shape, color, np.full(3, rng.uniform(10, 40), np.float32)


def render_source_video(
    config: SyntheticK2BConfig,
    label: int,
    num_frames: int,
    speed: float,
    with_cue: bool,
    rng: np.random.Generator,
) -> np.ndarray:
    """One Kinetics-like clip: uint8 [num_frames, S, S, 3]; one or a few actions inside it (version 3) or the
    pattern throughout (version 2)."""
    background = source_background(
        config.frame_size, label, config.num_classes, with_cue, config.background_texture_contrast, rng
    )
    shape, color, outline = _source_actor(rng)
    if config.version == 3:
        trajectory = source_action_trajectory(config, label, num_frames, speed, rng)
    else:
        trajectory = action_trajectory(config, label, num_frames, speed, rng)
    return render_actor(background, trajectory, shape, color, outline=outline)


def render_target_sequence(
    config: SyntheticK2BConfig,
    segments: list[tuple[int, int, float]],
    transitions: list[int],
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """One BABEL-like sequence on a plain background with a fixed-looking actor.

    ``segments`` are (label, num_frames, speed); ``transitions[i]`` unlabelled frames come before segment i, in
    which the actor moves in a straight line to where segment i starts. Returns uint8 [T, S, S, 3] and the
    segments as (offset, num_frames, label), offset = 0-based index of the segment's first frame. The action fills
    a ``config.target_action_fraction`` share of each segment; the actor stands still before and after it.
    """
    size = config.frame_size
    background = np.full((size, size, 3), rng.uniform(100, 130), np.float32)
    color = np.array([200.0, 210.0, 240.0], np.float32) + rng.uniform(-10, 10, 3).astype(np.float32)
    parts, rows, offset = [], [], 0
    previous = None
    for (label, num_frames, speed), gap in zip(segments, transitions, strict=True):
        action_frames = max(2, round(num_frames * rng.uniform(*config.target_action_fraction)))
        action_frames = min(action_frames, num_frames)
        action = action_trajectory(config, label, action_frames, speed, rng)
        idle_before = int(rng.integers(0, num_frames - action_frames + 1))
        trajectory = held(action, num_frames, idle_before)
        if previous is None:  # the sequence opens standing where the first segment starts
            previous = Trajectory(trajectory.x[:1], trajectory.y[:1], trajectory.radius[:1])
        parts += [walk(previous, trajectory, gap), trajectory]
        offset += gap
        rows.append((offset, num_frames, label))
        offset += num_frames
        previous = trajectory
    return render_actor(background, concatenate(parts), "body", color, shaded=True), rows


# ---------------------------------------------------------------------------------------------------------------
# Dataset plan (names, labels, lengths, speeds): drawn in the main process from the config alone.
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceItem:
    split: str  # "train" | "val"
    rel_path: str  # "<kinetics class>/<ytid>_<start:06d>_<end:06d>"
    label: int
    num_frames: int
    speed: float
    with_cue: bool
    seed: tuple[int, ...]


@dataclass(frozen=True)
class TargetItem:
    split: str  # "train" | "val"
    sid: str
    segments: tuple[tuple[int, int, float], ...]  # (label, num_frames, speed)
    transitions: tuple[int, ...]
    seed: tuple[int, ...]
    rows: tuple[tuple[int, int, int], ...]  # (offset, num_frames, label) of each segment


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def plan_source(config: SyntheticK2BConfig, split: str) -> list[SourceItem]:
    per_class = config.source_train_per_class if split == "train" else config.source_test_per_class
    split_code = 0 if split == "train" else 1
    rng = np.random.default_rng([config.seed, 0, split_code])
    items = []
    for label in range(config.num_classes):
        kinetics_classes = K400_CLASSES_PER_LABEL[config.labels[label]]
        for index in range(per_class):
            ytid = "".join(rng.choice(YOUTUBE_ID_ALPHABET, 11))
            start = int(rng.integers(0, 290))
            rel_path = (
                f"{kinetics_classes[index % len(kinetics_classes)]}/{ytid}_{start:06d}_{start + 10:06d}"
            )
            items.append(
                SourceItem(
                    split=split,
                    rel_path=rel_path,
                    label=label,
                    num_frames=int(
                        rng.integers(config.source_num_frames[0], config.source_num_frames[1] + 1)
                    ),
                    speed=_log_uniform(rng, *config.source_speed_range),
                    with_cue=bool(rng.uniform() < config.background_cue_fraction),
                    seed=(config.seed, 0, split_code, label, index),
                )
            )
    return items


def plan_target(config: SyntheticK2BConfig, split: str, first_sid: int) -> list[TargetItem]:
    num_sequences = config.target_train_sequences if split == "train" else config.target_test_sequences
    split_code = 0 if split == "train" else 1
    rng = np.random.default_rng([config.seed, 1, split_code])
    counts = rng.integers(config.segments_per_sequence[0], config.segments_per_sequence[1] + 1, num_sequences)
    # Balanced classes over the split, in random order.
    labels = rng.permutation(np.resize(np.arange(config.num_classes), int(counts.sum())))
    low, high = config.target_segment_range
    items, cursor = [], 0
    for index, count in enumerate(counts):
        segments, transitions, rows, offset = [], [], [], 0
        for label in labels[cursor : cursor + count]:
            length = config.target_segment_median * np.exp(rng.normal(0, config.target_segment_sigma))
            length = int(np.clip(round(length), low, high))
            gap = int(rng.integers(config.transition_frames[0], config.transition_frames[1] + 1))
            segments.append((int(label), length, _log_uniform(rng, *config.target_speed_range)))
            transitions.append(gap)
            rows.append((offset + gap, length, int(label)))
            offset += gap + length
        cursor += count
        items.append(
            TargetItem(
                split=split,
                sid=f"{first_sid + index:06d}",
                segments=tuple(segments),
                transitions=tuple(transitions),
                seed=(config.seed, 1, split_code, index),
                rows=tuple(rows),
            )
        )
    return items


def temporal_gap(config: SyntheticK2BConfig, view_span: int = 15) -> dict:
    """How long one action lasts in each domain's train split, and how much of it a dense local view of
    ``view_span`` frames (stage 2: 8 frames, interval 2) sees; the sparse global view spans a whole source clip or
    target segment. Version 3 only (in version 2 an action repeats throughout). Returns {"source": {...},
    "target": {...}}, each {"action_frames": [p10, p50, p90], "local_view_share": [p10, p50, p90]}; a target
    action fills ``target_action_fraction`` of its segment, so its length is the segment's times that share (mean
    of the range)."""
    if config.version != 3:
        raise ValueError("temporal_gap describes one-shot actions (version 3)")
    fill = float(np.mean(config.target_action_fraction))
    lengths = {
        "source": np.array(
            [source_action_frames(config, i.num_frames, i.speed) for i in plan_source(config, "train")]
        ),
        "target": fill * np.array([n for i in plan_target(config, "train", 0) for _, n, _ in i.rows]),
    }
    quantiles = (10, 50, 90)
    return {
        domain: {
            "action_frames": np.percentile(frames, quantiles).round(1).tolist(),
            "local_view_share": np.percentile(np.minimum(1.0, view_span / frames), quantiles)
            .round(3)
            .tolist(),
        }
        for domain, frames in lengths.items()
    }


# ---------------------------------------------------------------------------------------------------------------
# Writing.
# ---------------------------------------------------------------------------------------------------------------


def write_mp4(path: Path, frames: np.ndarray, fps: int) -> None:
    """uint8 RGB [F, H, W, 3] -> H.264 (or MPEG-4 Part 2 where libx264 is missing) yuv420p mp4."""
    import av

    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        # One thread and no macroblock-tree rate control: with mbtree, x264's output on frames this small
        # depends on uninitialised heap memory (seen as a different file 1 time in ~7 for the same frames);
        # without it the file is a deterministic function of the frames. A keyframe every 32 frames keeps
        # seeks short.
        stream.options = (
            {"crf": "18", "threads": "1", "g": "32", "x264-params": "mbtree=0"}
            if codec == "libx264"
            else {"qscale": "2"}
        )
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_rawframes(folder: Path, frames: np.ndarray, start_number: int) -> None:
    """uint8 [F, H, W, 3] -> ``folder/img_{n:05d}.jpg`` numbered from ``start_number``."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, frame in enumerate(frames, start=start_number):
        Image.fromarray(frame).save(folder / f"img_{number:05d}.jpg", quality=95)


def _write_source_item(config: SyntheticK2BConfig, item: SourceItem, root: Path) -> None:
    rng = np.random.default_rng(item.seed)
    frames = render_source_video(config, item.label, item.num_frames, item.speed, item.with_cue, rng)
    base = root / "k400" / item.split / item.rel_path
    if config.format == "mp4":
        write_mp4(base.with_name(base.name + ".mp4"), frames, config.fps)
    else:
        write_rawframes(base, frames, start_number=0)


def _write_target_item(config: SyntheticK2BConfig, item: TargetItem, root: Path) -> None:
    rng = np.random.default_rng(item.seed)
    frames, rows = render_target_sequence(config, list(item.segments), list(item.transitions), rng)
    assert tuple(rows) == item.rows, "target plan and render disagree on segment offsets"
    base = root / "babel" / item.split / item.sid
    if config.format == "mp4":
        write_mp4(base.with_name(base.name + ".mp4"), frames, config.fps)
    else:
        write_rawframes(base, frames, start_number=1)


def _write_item(args: tuple) -> None:
    config, item, root = args
    if isinstance(item, SourceItem):
        _write_source_item(config, item, root)
    else:
        _write_target_item(config, item, root)


def annotation_lists(config: SyntheticK2BConfig) -> dict[str, list[str]]:
    """The four lists in the real format: ``class/ytid_start_end total_frames label`` (k400) and
    ``split/sid offset total_frames label`` (babel)."""
    target_train = plan_target(config, "train", first_sid=0)
    target_test = plan_target(config, "val", first_sid=len(target_train))
    return {
        "k400_train": [f"{i.rel_path} {i.num_frames} {i.label}" for i in plan_source(config, "train")],
        "k400_test": [f"{i.rel_path} {i.num_frames} {i.label}" for i in plan_source(config, "val")],
        "babel_train": [f"train/{i.sid} {o} {n} {label}" for i in target_train for o, n, label in i.rows],
        "babel_test": [f"val/{i.sid} {o} {n} {label}" for i in target_test for o, n, label in i.rows],
    }


def write_annotation_tar(path: Path, lists: dict[str, list[str]]) -> None:
    """``kinetics2babel/<name>.txt`` members as in the real tar (fixed mtime/owner: byte-identical output)."""
    with tarfile.open(path, "w") as tar:
        directory = tarfile.TarInfo("kinetics2babel")
        directory.type, directory.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(directory)
        for name in LIST_NAMES:
            data = "".join(f"{line}\n" for line in lists[name]).encode()
            info = tarfile.TarInfo(f"kinetics2babel/{name}.txt")
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))


def _is_complete(root: Path, config_hash: str) -> bool:
    metadata_path = root / METADATA_FILENAME
    if not metadata_path.is_file():
        return False
    try:
        metadata = json.loads(metadata_path.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return metadata.get("config_hash") == config_hash and all(
        (root / name).exists() for name in ("k400", "babel", ANNOTATION_TAR)
    )


def _exclusive_lock(root: Path) -> FileLock:
    """One generator per root at a time (e.g. several training processes starting together); the others wait.
    `filelock` rather than `fcntl`, so that the data package imports on Windows too."""
    return FileLock(root / ".synthetic_k2b.lock")


def generate_synthetic_k2b(
    root: str | os.PathLike,
    config: SyntheticK2BConfig | None = None,
    progress: bool = True,
    num_workers: int | None = None,
) -> Path:
    """Write the synthetic K->B dataset under ``root`` and return ``root``.

    An existing dataset whose ``synthetic_k2b.json`` has the same config hash is reused as is; one with another
    hash is replaced. Everything is written in a temporary folder inside ``root`` and moved into place at the
    end, the metadata file last, so an interrupted run leaves no half dataset behind.

    Args:
        root: output folder (created). Refuses to overwrite ``k400/``, ``babel/`` or the tar there unless they
            were written by this generator.
        config: the knobs; ``SyntheticK2BConfig()`` when None.
        progress: show a progress bar.
        num_workers: worker processes; None = ``min(os.cpu_count(), 8)``; 1 = in this process.
    """
    config = config or SyntheticK2BConfig()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    config_hash = config.config_hash()
    if _is_complete(root, config_hash):
        return root
    with _exclusive_lock(root):
        if _is_complete(root, config_hash):
            return root
        outputs = [root / "k400", root / "babel", root / ANNOTATION_TAR]
        if any(path.exists() for path in outputs) and not (root / METADATA_FILENAME).is_file():
            raise FileExistsError(
                f"{root} already holds k400/, babel/ or {ANNOTATION_TAR} not written by the synthetic generator "
                f"(no {METADATA_FILENAME}); choose an empty output directory"
            )
        target_train = plan_target(config, "train", first_sid=0)
        target_test = plan_target(config, "val", first_sid=len(target_train))
        items = plan_source(config, "train") + plan_source(config, "val") + target_train + target_test
        staging = Path(tempfile.mkdtemp(dir=root, prefix=".synthetic_k2b-"))
        try:
            tasks = [(config, item, staging) for item in items]
            num_workers = min(os.cpu_count() or 1, 8) if num_workers is None else num_workers
            with tqdm(total=len(tasks), desc="synthetic K->B", unit="video", disable=not progress) as bar:
                if num_workers <= 1:
                    for task in tasks:
                        _write_item(task)
                        bar.update()
                else:
                    with ProcessPoolExecutor(max_workers=num_workers) as executor:
                        for _ in executor.map(_write_item, tasks, chunksize=4):
                            bar.update()
            lists = annotation_lists(config)
            write_annotation_tar(staging / ANNOTATION_TAR, lists)
            (root / METADATA_FILENAME).unlink(missing_ok=True)
            for path in outputs:
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.exists():
                    path.unlink()
                os.replace(staging / path.name, path)
            metadata = {
                "generator_version": config.version,
                "config_hash": config_hash,
                "config": asdict(config),
                "labels": list(config.labels),
                "counts": {name: len(lines) for name, lines in lists.items()},
            }
            if config.version == 3:
                metadata["temporal_gap"] = temporal_gap(config)
            atomic_write_text(root / METADATA_FILENAME, json.dumps(metadata, indent=2) + "\n")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return root


# ---------------------------------------------------------------------------------------------------------------
# Preview picture for the dataset card.
# ---------------------------------------------------------------------------------------------------------------


def motion_path(frames: np.ndarray) -> np.ndarray:
    """Where a video moves: per-pixel max over time of |frame - temporal median|, uint8 [H, W] (0-255)."""
    deviation = np.abs(frames.astype(np.float32) - np.median(frames, axis=0)).max(axis=(0, 3))
    return (255 * deviation / max(float(deviation.max()), 1.0)).astype(np.uint8)


def _preview_frames(config: SyntheticK2BConfig) -> int:
    """Frames of a preview clip: one whole action (version 3) or two cycles (version 2) at speed 1."""
    return (1 if config.version == 3 else 2) * round(config.period_frames)


def _preview_step(config: SyntheticK2BConfig, num_columns: int) -> int:
    return max(1, _preview_frames(config) // num_columns)


def preview_frames(
    config: SyntheticK2BConfig, label: int, num_columns: int = 8, frame_step: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One source clip (with the background cue) and one target segment of class ``label`` at speed 1: one whole
    action (version 3) or two cycles (version 2). Returns frames 0, frame_step, ... (None: spread over the clip)
    as uint8 [num_columns, S, S, 3] and the motion path of the whole clip as uint8 [S, S], for each domain
    (source frames, source path, target frames, target path)."""
    frame_step = frame_step or _preview_step(config, num_columns)
    num_frames = max(_preview_frames(config), num_columns * frame_step)
    rng = np.random.default_rng([config.seed, 2, seed, label])
    one_action = dataclasses.replace(config, source_actions_per_clip=(1, 1))
    source = render_source_video(one_action, label, num_frames, 1.0, True, rng)
    target, _ = render_target_sequence(config, [(label, num_frames, 1.0)], [0], rng)
    stop = num_columns * frame_step
    return source[:stop:frame_step], motion_path(source), target[:stop:frame_step], motion_path(target)


def save_preview_grid(
    path: str | os.PathLike,
    config: SyntheticK2BConfig | None = None,
    num_columns: int = 8,
    frame_step: int | None = None,
    seed: int = 0,
) -> Path:
    """PNG grid: for every class, a source row and a target row of frames ``frame_step`` apart in time (None:
    spread over one action, or two cycles in version 2)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    config = config or SyntheticK2BConfig()
    frame_step = frame_step or _preview_step(config, num_columns)
    path = Path(path)
    rows, columns = config.num_classes * 2, num_columns + 1
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 0.9 + 1.2, rows * 0.9), squeeze=False)
    for label, name in enumerate(config.labels):
        source, source_path, target, target_path = preview_frames(
            config, label, num_columns, frame_step, seed
        )
        for domain, (frames, path_image) in enumerate(((source, source_path), (target, target_path))):
            row = 2 * label + domain
            for column in range(columns):
                axis = axes[row, column]
                if column < num_columns:
                    axis.imshow(frames[column], interpolation="nearest")
                else:
                    axis.imshow(path_image, cmap="gray", interpolation="nearest")
                axis.set_xticks([])
                axis.set_yticks([])
                if row == 0:
                    axis.set_title(f"t={column * frame_step}" if column < num_columns else "path", fontsize=8)
            axes[row, 0].set_ylabel(f"{name}\n{'source' if domain == 0 else 'target'}", fontsize=8)
    figure.suptitle(
        f"synthetic K->B v{config.version} ({config.frame_size}x{config.frame_size}, "
        f"{'one action' if config.version == 3 else 'one cycle'} = {config.period_frames:g} frames at speed 1)",
        fontsize=9,
    )
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)
    return path
