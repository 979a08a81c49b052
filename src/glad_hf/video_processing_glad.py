"""GLAD video processor: decode -> SPEC §2 test-mode sampling (num_clips x clip_len) -> short side 256 ->
centre crop 224 -> normalise (0-255 RGB mean/std of SPEC §7) -> `pixel_values` [B, N, C, T, H, W]."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from transformers.image_processing_utils import BatchFeature
from transformers.image_utils import PILImageResampling
from transformers.utils import logging
from transformers.video_processing_utils import BaseVideoProcessor
from transformers.video_utils import VideoMetadata, load_video

from .frame_sampling import sample_frames
from .labels import IMAGE_MEAN, IMAGE_STD

logger = logging.get_logger(__name__)


class GladVideoProcessor(BaseVideoProcessor):
    r"""
    num_clips (`int`, defaults to 8) / clip_len (`int`, defaults to 8) / frame_interval (`int`, defaults to 2):
        the SPEC §2 test-mode sampling grid.
    size (`dict`, defaults to `{"shortest_edge": 256}`) / crop_size (`dict`, defaults to 224x224): resize, centre crop.
    image_mean / image_std: per-channel statistics of 0-255 RGB (no rescaling to [0, 1]).
    decode_backends (`tuple[str]`, defaults to `("torchcodec", "decord", "pyav")`): tried in order for video files
        (the data loaders' "auto" order, fastest first as measured; torchcodec needs FFmpeg's shared libraries).
    """

    resample = PILImageResampling.BILINEAR
    size = {"shortest_edge": 256}
    default_to_square = False
    crop_size = {"height": 224, "width": 224}
    do_resize = True
    do_center_crop = True
    do_rescale = False
    do_normalize = True
    image_mean = list(IMAGE_MEAN)
    image_std = list(IMAGE_STD)
    do_convert_rgb = True
    do_sample_frames = True
    model_input_names = ["pixel_values"]

    def __init__(
        self, num_clips: int = 8, clip_len: int = 8, frame_interval: int = 2, decode_backends=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.num_clips = num_clips
        self.clip_len = clip_len
        self.frame_interval = frame_interval
        self.decode_backends = list(decode_backends or ("torchcodec", "decord", "pyav"))

    def sample_frames(self, metadata: VideoMetadata, **kwargs) -> np.ndarray:
        """Flattened [num_clips * clip_len] indices of the test-mode grid, replacing transformers' uniform sampling
        (`preprocess` and `fetch_videos` call it for arrays and files alike); `num_frames` / `fps` are ignored."""
        if metadata is None or metadata.total_num_frames is None:
            raise ValueError("GladVideoProcessor needs the video's frame count to sample clips")
        grid = sample_frames(
            metadata.total_num_frames, self.clip_len, self.frame_interval, self.num_clips, test_mode=True
        )
        return grid.reshape(-1)

    def fetch_videos(self, video_url_or_urls, sample_indices_fn=None):
        """Decode with the first of `decode_backends` that can read the file (transformers' `load_video`)."""
        if isinstance(video_url_or_urls, list):
            return list(
                zip(*[self.fetch_videos(x, sample_indices_fn=sample_indices_fn) for x in video_url_or_urls])
            )
        if isinstance(video_url_or_urls, str | os.PathLike) and "://" not in str(video_url_or_urls):
            path = Path(video_url_or_urls)
            if path.is_dir():
                raise ValueError(f"{path} is a folder; give a video file (or a list of them)")
            if not path.is_file():
                raise FileNotFoundError(f"{path}: no such video file")
            video_url_or_urls = str(path)
        # The backends read each requested frame once, in increasing order (PyAV's reader drops repeats and stops at
        # the last index), so ask for the sorted unique indices and expand them back to the looping grid.
        inverse = {}

        def unique_indices_fn(metadata, **kwargs):
            unique, inverse["grid"] = np.unique(
                sample_indices_fn(metadata=metadata, **kwargs), return_inverse=True
            )
            return unique

        errors = []
        for backend in self.decode_backends:
            try:
                video, metadata = load_video(
                    video_url_or_urls, backend=backend, sample_indices_fn=unique_indices_fn
                )
            except Exception as err:  # try the next backend, report all if none works
                errors.append(f"{backend}: {err}")
                continue
            metadata.frames_indices = metadata.frames_indices[inverse["grid"]]
            return video[inverse["grid"]], metadata
        raise ValueError(f"could not decode video {video_url_or_urls!r} ({'; '.join(errors)})")

    def preprocess(self, videos, **kwargs) -> BatchFeature:
        """videos: paths, or decoded videos [F, H, W, C]; returns `pixel_values` [B, N, C, T, H', W']."""
        kwargs.pop(
            "num_frames", None
        )  # the grid is fixed by num_clips x clip_len (the pipeline passes num_frames)
        kwargs.pop("fps", None)
        kwargs["do_sample_frames"] = kwargs.get("do_sample_frames", self.do_sample_frames)
        batch = super().preprocess(videos, **kwargs)
        frames = batch.pop("pixel_values_videos")
        stacked = frames if isinstance(frames, torch.Tensor) else torch.stack(list(frames))
        if stacked.shape[1] != self.num_clips * self.clip_len:
            raise ValueError(
                f"expected {self.num_clips * self.clip_len} frames per video after sampling, got {stacked.shape[1]}"
            )
        b, _, c, h, w = stacked.shape
        grid = stacked.view(b, self.num_clips, self.clip_len, c, h, w).transpose(2, 3)
        batch["pixel_values"] = grid.contiguous()
        return batch
