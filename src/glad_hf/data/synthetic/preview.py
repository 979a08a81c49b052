"""The preview picture of the dataset card: frames and motion paths of one clip per class and domain."""

import dataclasses
import os
from pathlib import Path

import numpy as np

from glad_hf.atomic import atomic_path
from glad_hf.data.synthetic.config import SyntheticK2BConfig
from glad_hf.data.synthetic.render import render_source_video, render_target_sequence


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
