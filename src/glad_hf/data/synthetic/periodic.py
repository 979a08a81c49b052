"""Generator version 2: periodic motion patterns, repeated throughout a clip or segment at varied speed (kept for
the earlier benchmark tables, docs/benchmark_synthetic/v2)."""

import numpy as np

from glad_hf.data.synthetic.trajectory import Trajectory, placed

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
    return placed(dx, dy, scale, frame_size, rng, wrap_x=label_name in WRAPPING_PATTERNS)
