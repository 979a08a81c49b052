"""The SPEC §2 sampling and the SPEC §3 view cells, re-exported from `glad_hf.frame_sampling` (model side, shared
with the video processor and the model's view sampler)."""

from glad_hf.frame_sampling import DECODE_MODES, sample_frames, view_cell_mask

__all__ = ["DECODE_MODES", "sample_frames", "view_cell_mask"]
