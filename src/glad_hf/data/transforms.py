"""Spatial transforms of a whole video (SPEC §7).

Every transform takes the decoded frames of ONE video as a uint8 tensor ``[F, C, H, W]`` (RGB, 0-255), applies
one set of random parameters to all ``F`` frames (the same crop and flip for every frame of the video) and
returns float32 ``[F, C, S, S]`` normalised with ``IMAGE_MEAN`` / ``IMAGE_STD``. All randomness comes from the
``generator`` argument, so a sample is reproducible from the generator's seed.

Resizing uses ``torchvision.transforms.v2.functional`` (bilinear, antialiased). The reference resizes with
OpenCV's bilinear filter without antialiasing; the two agree when frames are stored at short side 256 (the
reference's ``rawframes_resized``), where the first resize is the identity.
"""

import torch
from torchvision.transforms.v2 import functional as F

from glad_hf.labels import IMAGE_MEAN, IMAGE_STD

# The 13 fixed crop positions of mmaction2's MultiScaleCrop(num_fixed_crops=13), in units of
# (w_step, h_step) = ((W - crop_w) // 4, (H - crop_h) // 4): 4 corners, centre, 4 edge centres, 4 quarter points.
FIXED_CROP_OFFSETS = (
    (0, 0),
    (4, 0),
    (0, 4),
    (4, 4),
    (2, 2),
    (0, 2),
    (4, 2),
    (2, 4),
    (2, 0),
    (1, 1),
    (3, 1),
    (1, 3),
    (3, 3),
)


def _check_frames(frames: torch.Tensor) -> None:
    if not isinstance(frames, torch.Tensor) or frames.ndim != 4 or frames.shape[1] != 3:
        shape = tuple(frames.shape) if isinstance(frames, torch.Tensor) else type(frames).__name__
        raise ValueError(f"expected video frames as a tensor [F, 3, H, W], got {shape}")
    if frames.shape[0] == 0:
        raise ValueError("expected at least one frame, got an empty frame stack [0, 3, H, W]")


def _random_index(num_choices: int, generator: torch.Generator | None) -> int:
    return int(torch.randint(num_choices, (1,), generator=generator).item())


def short_side_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(new_height, new_width) with the short side at ``short_side`` and the aspect ratio kept, rounded as
    mmcv's ``rescale_size`` does (``int(x * scale + 0.5)``)."""
    scale = short_side / min(height, width)
    return int(height * scale + 0.5), int(width * scale + 0.5)


def resize_short_side(frames: torch.Tensor, short_side: int) -> torch.Tensor:
    """[F, C, H, W] -> [F, C, H', W'] with min(H', W') == short_side (no-op when it already is)."""
    height, width = frames.shape[-2:]
    size = short_side_size(height, width, short_side)
    if size == (height, width):
        return frames
    return F.resize(frames, list(size), antialias=True)


def normalize(frames: torch.Tensor) -> torch.Tensor:
    """0-255 RGB [F, C, H, W] (any dtype) -> float32 normalised with IMAGE_MEAN / IMAGE_STD."""
    return F.normalize(frames.to(torch.float32), mean=list(IMAGE_MEAN), std=list(IMAGE_STD))


def multi_scale_crop_params(
    height: int,
    width: int,
    crop_size: int,
    scales: tuple[float, ...] = (1, 0.875, 0.66),
    max_wh_scale_gap: int = 1,
    generator: torch.Generator | None = None,
) -> tuple[int, int, int, int]:
    """Draw one crop box of mmaction2 0.x ``MultiScaleCrop(random_crop=False, num_fixed_crops=13)``.

    torchvision has no multi-scale crop with fixed offsets (RandomResizedCrop draws area and aspect ratio and
    a free position), so it is written here: crop sizes are ``int(min(H, W) * s)`` for each scale; a (w, h)
    pair is drawn among those whose scale indices differ by at most ``max_wh_scale_gap``; a side within 3
    pixels of ``crop_size`` snaps to it; the position is one of the 13 ``FIXED_CROP_OFFSETS``.

    Returns (top, left, crop_height, crop_width).
    """
    base_size = min(height, width)
    crop_sizes = [int(base_size * scale) for scale in scales]
    candidate_sizes = [
        (crop_w, crop_h)
        for i, crop_h in enumerate(crop_sizes)
        for j, crop_w in enumerate(crop_sizes)
        if abs(i - j) <= max_wh_scale_gap
    ]
    crop_w, crop_h = candidate_sizes[_random_index(len(candidate_sizes), generator)]
    if abs(crop_w - crop_size) < 3:
        crop_w = min(crop_size, width)
    if abs(crop_h - crop_size) < 3:
        crop_h = min(crop_size, height)
    w_step = (width - crop_w) // 4
    h_step = (height - crop_h) // 4
    x_steps, y_steps = FIXED_CROP_OFFSETS[_random_index(len(FIXED_CROP_OFFSETS), generator)]
    return y_steps * h_step, x_steps * w_step, crop_h, crop_w


class VideoTrainTransform:
    """Stage-2 training augmentation (SPEC §7): short side ``short_side`` -> MultiScaleCrop with the 13 fixed
    offsets -> resize to ``crop_size``² -> horizontal flip with ``flip_prob`` -> optional background blend
    (SPEC §5) -> normalise. One crop, one flip decision and one background for the whole video.

    Call: ``frames`` uint8 [F, C, H, W], ``generator`` torch.Generator -> float32 [F, C, crop_size, crop_size].
    """

    def __init__(
        self,
        *,
        short_side: int = 256,
        crop_size: int = 224,
        scales: tuple[float, ...] = (1, 0.875, 0.66),
        max_wh_scale_gap: int = 1,
        flip_prob: float = 0.5,
        background_blend=None,
    ):
        if not 0.0 <= flip_prob <= 1.0:
            raise ValueError(f"flip_prob must be in [0, 1], got {flip_prob}")
        self.crop_size = crop_size
        self.short_side = short_side
        self.scales = tuple(scales)
        self.max_wh_scale_gap = max_wh_scale_gap
        self.flip_prob = flip_prob
        self.background_blend = background_blend

    def __call__(self, frames: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        _check_frames(frames)
        frames = resize_short_side(frames, self.short_side)
        top, left, crop_h, crop_w = multi_scale_crop_params(
            frames.shape[-2], frames.shape[-1], self.crop_size, self.scales, self.max_wh_scale_gap, generator
        )
        frames = F.resized_crop(
            frames, top, left, crop_h, crop_w, [self.crop_size, self.crop_size], antialias=True
        )
        if torch.rand(1, generator=generator).item() < self.flip_prob:
            frames = F.horizontal_flip(frames)
        frames = frames.to(torch.float32)
        if self.background_blend is not None:
            frames = self.background_blend(frames, generator)
        return normalize(frames)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(crop_size={self.crop_size}, short_side={self.short_side}, "
            f"scales={self.scales}, max_wh_scale_gap={self.max_wh_scale_gap}, flip_prob={self.flip_prob}, "
            f"background_blend={self.background_blend!r})"
        )


class VideoTestTransform:
    """Evaluation transform (SPEC §4): short side ``short_side`` -> centre crop ``crop_size`` -> normalise.

    The centre crop's corner is ``((H - crop) // 2, (W - crop) // 2)`` as in mmaction's CenterCrop
    (torchvision's center_crop rounds instead, one pixel off on odd margins).
    Call: uint8 [F, C, H, W] -> float32 [F, C, crop_size, crop_size]; ``generator`` is unused.
    """

    def __init__(self, *, short_side: int = 256, crop_size: int = 224):
        if crop_size > short_side:
            raise ValueError(f"crop_size ({crop_size}) must not exceed short_side ({short_side})")
        self.short_side = short_side
        self.crop_size = crop_size

    def __call__(self, frames: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        _check_frames(frames)
        frames = resize_short_side(frames, self.short_side)
        height, width = frames.shape[-2:]
        top, left = (height - self.crop_size) // 2, (width - self.crop_size) // 2
        frames = F.crop(frames, top, left, self.crop_size, self.crop_size)
        return normalize(frames)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(short_side={self.short_side}, crop_size={self.crop_size})"


class VideoResizeTransform:
    """Temporal-order-learning transform (SPEC §6/§7): short side ``short_side`` -> resize to ``size``² (the
    aspect ratio is not kept, nothing is cropped) -> normalise.

    Call: uint8 [F, C, H, W] -> float32 [F, C, size, size]; ``generator`` is unused.
    """

    def __init__(self, *, short_side: int = 256, size: int = 224):
        self.size = size
        self.short_side = short_side

    def __call__(self, frames: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        _check_frames(frames)
        frames = resize_short_side(frames, self.short_side)
        if tuple(frames.shape[-2:]) != (self.size, self.size):
            frames = F.resize(frames, [self.size, self.size], antialias=True)
        return normalize(frames)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, short_side={self.short_side})"
