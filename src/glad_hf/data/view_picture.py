"""A picture of the views GLAD samples from one video (SPEC §2-3): the grid of `num_clips` clips x `clip_len` frames
of the test-mode sampling, with the dense *local* clips (rows) and the sparse *global* view (one column, spanning the
whole video) marked. `scripts/draw_views.py` makes it; docs/views.png is one."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..frame_sampling import sample_frames
from ..metrics.plots import _save_figure_atomically
from .readers import VideoFileReader

LOCAL_COLOUR = "#e66101"
GLOBAL_COLOUR = "#5e3c99"


def save_views_png(
    video: str | os.PathLike,
    path: str | os.PathLike,
    *,
    num_clips: int = 8,
    clip_len: int = 8,
    frame_interval: int = 2,
    local_clip_indices: tuple[int, ...] = (4, 5),
    global_frame_index: int = 3,
    title: str | None = None,
) -> Path:
    """Draw the sampled grid of `video` into the PNG `path` (written atomically): every sampled frame as a
    thumbnail, row k = clip k, column j = its frame j; the local clips framed in orange, the global view (column
    `global_frame_index` of every row) in purple, the frames no view uses dimmed. Returns `path`."""
    reader = VideoFileReader()
    total = reader.num_frames(video)
    grid = sample_frames(total, clip_len, frame_interval, num_clips, test_mode=True)  # [num_clips, clip_len]
    unique, inverse = np.unique(grid, return_inverse=True)
    frames = reader.read(video, unique.tolist())[inverse.reshape(grid.shape)]  # [N, T, H, W, 3]
    height, width = frames.shape[2:4]
    figure = Figure(figsize=(1.0 + 1.1 * clip_len * width / height, 0.6 + 1.1 * num_clips))
    axes = figure.subplots(num_clips, clip_len, squeeze=False, gridspec_kw=dict(wspace=0.08, hspace=0.25))
    local = set(local_clip_indices)
    for row in range(num_clips):
        for column in range(clip_len):
            axis = axes[row][column]
            in_local, in_global = row in local, column == global_frame_index
            axis.imshow(
                frames[row, column], alpha=1.0 if in_local or in_global else 0.3, interpolation="nearest"
            )
            axis.set_xticks([])
            axis.set_yticks([])
            axis.set_title(f"{grid[row, column]}", fontsize=7, pad=2)
            colour = LOCAL_COLOUR if in_local else GLOBAL_COLOUR if in_global else "#bbbbbb"
            for spine in axis.spines.values():
                spine.set_edgecolor(colour)
                spine.set_linewidth(3.0 if in_local or in_global else 0.5)
            if in_global and in_local:  # a cell both views read: purple inside the orange frame
                axis.add_patch(Rectangle((0.04, 0.04), 0.92, 0.92, transform=axis.transAxes, fill=False,
                                         edgecolor=GLOBAL_COLOUR, linewidth=2.0))  # fmt: skip
        axes[row][0].set_ylabel(f"clip {row}", fontsize=8, color=LOCAL_COLOUR if row in local else "black")
    rows = " and ".join(str(i) for i in local_clip_indices)
    figure.suptitle(
        (title + "\n" if title else "")
        + f"{num_clips} clips x {clip_len} frames (interval {frame_interval}) of a {total}-frame video; "
        f"numbers: frame indices\nlocal views: clips {rows} (dense, orange); global view: frame "
        f"{global_frame_index} of every clip (sparse, whole video, purple)",
        fontsize=9,
    )
    return _save_figure_atomically(figure, path)
