"""Small builders shared by tests: tiny configs, clip grids and mp4 files."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import torch

from glad_hf import GladConfig
from glad_hf.data.synthetic import SyntheticK2BConfig

# A synthetic K->B small enough for end-to-end training tests: 3 classes at 32x32, a dozen source clips.
TINY_DATA = SyntheticK2BConfig(
    num_classes=3,
    frame_size=32,
    source_train_per_class=4,
    source_test_per_class=2,
    source_num_frames=(20, 30),
    target_train_sequences=2,
    target_test_sequences=1,
    segments_per_sequence=(3, 4),
    target_segment_range=(16, 40),
)


def tiny_config(**overrides) -> GladConfig:
    """GladConfig.tiny() without dropout, so that two forwards of one input agree."""
    settings = dict(classifier_dropout=0.0, domain_dropout=0.0, tol_dropout=0.0)
    settings.update(overrides)
    return GladConfig.tiny(**settings)


def clip_grid(
    batch: int = 2, num_clips: int = 8, clip_len: int = 8, size: int = 32, seed: int = 0
) -> torch.Tensor:
    """Random pixel_values [B, N, 3, T, size, size]."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, num_clips, 3, clip_len, size, size, generator=generator)


def write_mp4(path: Path, num_frames: int = 40, height: int = 40, width: int = 48, seed: int = 0) -> Path:
    """A small mpeg4 video whose frames differ (a moving bright square on noise)."""
    rng = np.random.default_rng(seed)
    container = av.open(str(path), "w")
    stream = container.add_stream("mpeg4", rate=25)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    for index in range(num_frames):
        frame = rng.integers(0, 60, (height, width, 3), dtype=np.uint8)
        x = (index * 2) % (width - 8)
        frame[10:18, x : x + 8] = 255
        for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


def crash_at_step(step: int, log_step, message: str = "simulated kill"):
    """A stand-in for `glad_hf.training.loop._log_step` that logs, then raises KeyboardInterrupt after `step`."""

    def crashing(accelerator, progress, logging_steps, prefix, values):
        log_step(accelerator, progress, logging_steps, prefix, values)
        if progress.global_step == step:
            raise KeyboardInterrupt(message)

    return crashing
