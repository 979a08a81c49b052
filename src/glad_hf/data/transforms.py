"""Spatial transforms of a whole video (SPEC §7), in two halves.

Every transform takes the decoded frames of ONE video as a uint8 tensor ``[F, C, H, W]`` (RGB, 0-255) and applies
one set of random parameters to all ``F`` frames (the same crop and flip for every frame of the video). All
randomness comes from the ``generator`` argument, so a sample is reproducible from the generator's seed.

- ``transform.geometry(frames, generator)`` is the half that runs where the video is decoded (a loader worker):
  resize and crop, in uint8 -> ``(uint8 [F, C, S, S], augmentation)``, where ``augmentation`` holds the per-video
  draws of the other half: ``flip`` (bool), ``background`` (uint8 [C, S, S]) and ``background_alpha`` (float64).
- ``finish_frames(pixel_values, **augmentation)`` is the other half, run where the frames are used (on the
  accelerator, on a whole batch): to float, flip, background blend, normalise with ``IMAGE_MEAN`` / ``IMAGE_STD``.
- ``transform(frames, generator)`` is both halves on one video -> float32 ``[F, C, S, S]``.

Training and evaluation finish their batches with ``finish_batch``, so CPU and GPU runs share this code.

Resizing uses ``torchvision.transforms.v2.functional`` (bilinear, antialiased). The reference resizes with
OpenCV's bilinear filter without antialiasing; the two agree when frames are stored at short side 256 (the
reference's ``rawframes_resized``), where the first resize is the identity.
"""

import functools

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


def finish_frames(
    pixel_values: torch.Tensor,
    *,
    flip: torch.Tensor | None = None,
    background: torch.Tensor | None = None,
    background_alpha: torch.Tensor | None = None,
) -> torch.Tensor:
    """The augmentation half that runs where the frames are used, on a batch: uint8 -> normalised float32.

    pixel_values: uint8 [B, M, C, ..., S, S] with channels at dim 2 (compact view cells [B, K, C, S, S], clip grids
    [B, N, C, T, S, S]); flip: bool [B] (mirror left-right); background: uint8 [B, C, S, S] with
    background_alpha: float64 [B], the weight of the video's frames (1.0: not blended). Returns float32 of
    pixel_values' shape: ``(alpha * frames + (1 - alpha) * background - IMAGE_MEAN) / IMAGE_STD``, flipped first.
    """
    on_host = pixel_values.device.type == "cpu"
    if flip is not None:
        pixel_values = _flip(pixel_values, flip, on_host=on_host)
    frames = pixel_values.to(torch.float32, copy=True)
    channels = frames.shape[2]
    if background is not None:
        frames = _blend(frames, background, background_alpha, on_host=on_host)
    # torchvision's normalize wants channels at dim -3; a clip grid has them at -4, hence the explicit broadcast.
    per_channel = (1, 1, channels) + (1,) * (frames.ndim - 3)
    mean, std = _normalisation(frames.device)
    return frames.sub_(mean.view(per_channel)).div_(std.view(per_channel))


def _flip(pixel_values: torch.Tensor, flip: torch.Tensor, *, on_host: bool) -> torch.Tensor:
    """uint8 [B, ...] mirrored left-right where `flip` [B] is True. On the CPU only the flipped videos are touched (a
    quarter of the bytes of float work); on a device every video is, and `torch.where` keeps the host from waiting
    for the device to read `flip`."""
    if on_host:
        if not bool(flip.any()):
            return pixel_values
        flipped = flip.nonzero().flatten()
        return pixel_values.index_copy(0, flipped, pixel_values.index_select(0, flipped).flip(-1))
    return torch.where(flip.view(-1, *([1] * (pixel_values.ndim - 1))), pixel_values.flip(-1), pixel_values)


def _blend(
    frames: torch.Tensor, background: torch.Tensor, background_alpha: torch.Tensor, *, on_host: bool
) -> torch.Tensor:
    """BackgroundBlend's mix of float32 `frames` [B, M, C, ..., S, S] with uint8 `background` [B, C, S, S] at weight
    `background_alpha` [B] (float64, rounded to float32 as a Python float would be; 1.0: not blended). On the CPU
    only the blended videos are computed (in place); on a device every video is and the blended ones are kept: the
    same values, and the host does not wait for the device to read which videos are blended."""
    channels = frames.shape[2]
    blended = background_alpha != 1.0
    alpha = background_alpha.view(-1, *([1] * (frames.ndim - 1)))
    image = background.view(-1, 1, channels, *([1] * (frames.ndim - 5)), *background.shape[-2:])
    if not on_host:
        mixed = alpha.to(torch.float32) * frames + (1.0 - alpha).to(torch.float32) * image.to(torch.float32)
        return torch.where(blended.view(alpha.shape), mixed, frames)
    if bool(blended.any()):
        alpha, image = alpha[blended], image[blended]
        frames[blended] = alpha.to(torch.float32) * frames[blended] + (1.0 - alpha).to(
            torch.float32
        ) * image.to(torch.float32)
    return frames


@functools.cache
def _normalisation(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """IMAGE_MEAN and IMAGE_STD as float32 [C] on `device`, made once per device (a copy per batch is a wait)."""
    return (
        torch.tensor(IMAGE_MEAN, dtype=torch.float32, device=device),
        torch.tensor(IMAGE_STD, dtype=torch.float32, device=device),
    )


AUGMENTATION_KEYS = ("flip", "background", "background_alpha")


def finish_batch(batch: dict) -> dict:
    """A collated batch made ready for the model, on the batch's device: every uint8 ``pixel_values`` /
    ``target_pixel_values`` becomes normalised float32 (``finish_frames``, with the item's augmentation keys,
    which are removed). Float pixel values (the grid layout, the video processor's) pass unchanged."""
    batch = dict(batch)
    for prefix in ("", "target_"):
        pixel_values = batch.get(f"{prefix}pixel_values")
        augmentation = {key: batch.pop(f"{prefix}{key}", None) for key in AUGMENTATION_KEYS}
        if pixel_values is not None and pixel_values.dtype == torch.uint8:
            batch[f"{prefix}pixel_values"] = finish_frames(pixel_values, **augmentation)
    return batch


def _finish_one(frames: torch.Tensor, augmentation: dict) -> torch.Tensor:
    """``finish_frames`` on one video's frames [F, C, S, S] (a batch of one)."""
    batched = {key: torch.as_tensor(value)[None] for key, value in augmentation.items()}
    return finish_frames(frames[None], **batched)[0]


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

    def geometry(
        self, frames: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, dict]:
        """uint8 [F, C, H, W] -> (uint8 [F, C, crop_size, crop_size], {"flip", and with a background blend
        "background", "background_alpha"}); the draws are made in the order of the single-step transform."""
        _check_frames(frames)
        frames = resize_short_side(frames, self.short_side)
        top, left, crop_h, crop_w = multi_scale_crop_params(
            frames.shape[-2], frames.shape[-1], self.crop_size, self.scales, self.max_wh_scale_gap, generator
        )
        frames = F.resized_crop(
            frames, top, left, crop_h, crop_w, [self.crop_size, self.crop_size], antialias=True
        )
        augmentation = {"flip": torch.tensor(torch.rand(1, generator=generator).item() < self.flip_prob)}
        if self.background_blend is not None:
            background, alpha = self.background_blend.draw(self.crop_size, generator)
            augmentation.update(
                background=background, background_alpha=torch.tensor(alpha, dtype=torch.float64)
            )
        return frames, augmentation

    def __call__(self, frames: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return _finish_one(*self.geometry(frames, generator))

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

    def geometry(
        self, frames: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, dict]:
        """uint8 [F, C, H, W] -> (uint8 [F, C, crop_size, crop_size], {})."""
        _check_frames(frames)
        frames = resize_short_side(frames, self.short_side)
        height, width = frames.shape[-2:]
        top, left = (height - self.crop_size) // 2, (width - self.crop_size) // 2
        return F.crop(frames, top, left, self.crop_size, self.crop_size), {}

    def __call__(self, frames: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return _finish_one(*self.geometry(frames, generator))

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

    def geometry(
        self, frames: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, dict]:
        """uint8 [F, C, H, W] -> (uint8 [F, C, size, size], {})."""
        _check_frames(frames)
        frames = resize_short_side(frames, self.short_side)
        if tuple(frames.shape[-2:]) != (self.size, self.size):
            frames = F.resize(frames, [self.size, self.size], antialias=True)
        return frames, {}

    def __call__(self, frames: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return _finish_one(*self.geometry(frames, generator))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, short_side={self.short_side})"
