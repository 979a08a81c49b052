"""SPEC §2 frame sampling (mmaction2 0.x `SampleFrames`) and the grid cells each view uses (SPEC §3), shared by the
data loaders, the video processor and the model (which cuts views out of compact cell stacks).

It lives outside `glad_hf.data` so that the model side (the video processor) can use it without importing data
code.
"""

from __future__ import annotations

import numpy as np


def _train_clip_offsets(num_frames: int, clip_span: int, num_clips: int, rng: np.random.Generator | None):
    # mmaction2 0.x `SampleFrames._get_train_clips`, branch for branch. Without `rng` the legacy global
    # `np.random.randint` is used, so that under `np.random.seed(s)` the draws equal the reference's.
    randint = np.random.randint if rng is None else rng.integers
    avg_interval = (num_frames - clip_span + 1) // num_clips
    if avg_interval > 0:
        return np.arange(num_clips) * avg_interval + randint(avg_interval, size=num_clips)
    if num_frames > max(num_clips, clip_span):
        return np.sort(randint(num_frames - clip_span + 1, size=num_clips))
    if avg_interval == 0:
        ratio = (num_frames - clip_span + 1.0) / num_clips
        return np.around(np.arange(num_clips) * ratio)
    return np.zeros(num_clips)


def _test_clip_offsets(num_frames: int, clip_span: int, num_clips: int):
    # mmaction2 0.x `SampleFrames._get_test_clips` (without `twice_sample`).
    avg_interval = (num_frames - clip_span + 1) / float(num_clips)
    if num_frames > clip_span - 1:
        return (np.arange(num_clips) * avg_interval + avg_interval / 2.0).astype(np.int64)
    return np.zeros(num_clips)


def sample_frames(
    num_frames: int,
    clip_len: int,
    frame_interval: int,
    num_clips: int,
    test_mode: bool,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """0-based frame indices `[num_clips, clip_len]` within a segment of `num_frames` frames (SPEC §2).

    Reproduces mmaction2 0.x `SampleFrames(clip_len, frame_interval, num_clips, test_mode,
    out_of_bound_opt="loop")`: clip `k` starts at an offset chosen per mode, frame `j` of it is
    `offset_k + j * frame_interval`, wrapped modulo `num_frames` (short segments loop). Test mode is
    deterministic; train mode draws from `rng` (`rng.integers` with the reference's bounds), or from the
    global `np.random` state when `rng` is None, exactly as the reference does.
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if clip_len < 1 or frame_interval < 1 or num_clips < 1:
        raise ValueError(
            f"clip_len, frame_interval and num_clips must be >= 1, got {clip_len}, {frame_interval}, {num_clips}"
        )
    clip_span = clip_len * frame_interval
    if test_mode:
        offsets = _test_clip_offsets(num_frames, clip_span, num_clips)
    else:
        offsets = _train_clip_offsets(num_frames, clip_span, num_clips, rng)
    indices = (
        offsets.astype(np.int64)[:, None] + np.arange(clip_len, dtype=np.int64)[None, :] * frame_interval
    )
    return np.mod(indices, num_frames)


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
