"""The actor's path, per frame, shared by both generator versions: `Trajectory`, placing motion offsets in
the frame, holding, joining and walking between trajectories."""

from dataclasses import dataclass

import numpy as np


@dataclass
class Trajectory:
    """Per-frame actor state in pixels: centre x, y and radius, each float [F]."""

    x: np.ndarray
    y: np.ndarray
    radius: np.ndarray


def placed(
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
