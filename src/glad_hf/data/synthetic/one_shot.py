"""Generator version 3 (the default): one-shot actions with phases in an order, none the time-reverse of
another, and a source clip's actor holding one or more of them."""

import numpy as np

from glad_hf.data.synthetic.config import SyntheticK2BConfig
from glad_hf.data.synthetic.trajectory import Trajectory, concatenate, held, placed, walk

# ---------------------------------------------------------------------------------------------------------------
# Version 3: one-shot actions. An action maps its progress p (0 at its first frame, 1 at its last, float [F]) and
# a horizontal direction (+1 / -1, random per video, as in periodic.py) to (dx, dy, scale) in amplitude units
# (y down).
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
    return placed(dx, dy, scale, frame_size, rng, wrap_x=False, amplitude=(0.3, 0.4))


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
