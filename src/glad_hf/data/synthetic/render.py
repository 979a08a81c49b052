"""Rendering the synthetic videos (numpy, vectorised over frames): the actor, the source's cluttered background
with its class cue, a source clip and a target sequence."""

import colorsys

import numpy as np

from glad_hf.data.synthetic.config import SyntheticK2BConfig
from glad_hf.data.synthetic.one_shot import one_shot_trajectory, source_action_trajectory
from glad_hf.data.synthetic.periodic import motion_trajectory
from glad_hf.data.synthetic.trajectory import Trajectory, concatenate, held, walk


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
