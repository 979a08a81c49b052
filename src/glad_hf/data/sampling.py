"""The grid cells each view uses (SPEC §3). The SPEC §2 sampling itself is `glad_hf.frame_sampling.sample_frames`
(re-exported here), shared with the video processor."""

from __future__ import annotations

import numpy as np

from glad_hf.frame_sampling import sample_frames

__all__ = ["DECODE_MODES", "sample_frames", "view_cell_mask"]

DECODE_MODES = ("views", "reference_test", "all")


def view_cell_mask(
    num_clips: int = 8,
    clip_len: int = 8,
    local_clip_indices: tuple[int, ...] = (4, 5),
    global_frame_index: int = 3,
    decode: str = "views",
) -> np.ndarray:
    """Boolean `[num_clips, clip_len]` mask of the sampled-grid cells a loader must decode (SPEC §3).

    - "views": the local rows plus the global column (22 of 64 cells with the defaults);
    - "reference_test": only the last local row plus the global column, all the reference's test path
      reads (SPEC §4; 15 cells);
    - "all": every cell (what the reference decodes).
    """
    if decode not in DECODE_MODES:
        raise ValueError(f"decode must be one of {DECODE_MODES}, got {decode!r}")
    if not local_clip_indices:
        raise ValueError("local_clip_indices must name at least one clip")
    for row in local_clip_indices:
        if not 0 <= row < num_clips:
            raise ValueError(f"local clip index {row} is outside the {num_clips} sampled clips")
    if not 0 <= global_frame_index < clip_len:
        raise ValueError(f"global_frame_index {global_frame_index} is outside a clip of {clip_len} frames")
    mask = np.zeros((num_clips, clip_len), dtype=bool)
    if decode == "all":
        mask[:] = True
        return mask
    rows = list(local_clip_indices) if decode == "views" else [local_clip_indices[-1]]
    mask[rows, :] = True
    mask[:, global_frame_index] = True
    return mask
