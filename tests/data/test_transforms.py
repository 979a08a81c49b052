import pytest
import torch

from glad_hf.data.transforms import (
    FIXED_CROP_OFFSETS,
    VideoResizeTransform,
    VideoTestTransform,
    VideoTrainTransform,
    multi_scale_crop_params,
    short_side_size,
)
from glad_hf.labels import IMAGE_MEAN, IMAGE_STD

MEAN = torch.tensor(IMAGE_MEAN).view(1, 3, 1, 1)
STD = torch.tensor(IMAGE_STD).view(1, 3, 1, 1)


def denormalize(frames: torch.Tensor) -> torch.Tensor:
    return frames * STD + MEAN


def random_video(num_frames=5, height=40, width=56, seed=0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (num_frames, 3, height, width), dtype=torch.uint8, generator=generator)


def coordinate_video(height: int, width: int, num_frames: int = 2) -> torch.Tensor:
    """Red channel = x, green = y (so a crop's position can be read back)."""
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    frame = torch.stack([xs, ys, torch.zeros_like(xs)]).to(torch.uint8)
    return frame.expand(num_frames, -1, -1, -1).clone()


def test_short_side_size_rounds_like_mmcv():
    assert short_side_size(240, 320, 256) == (256, 341)  # 320 * 256 / 240 = 341.33
    assert short_side_size(340, 256, 256) == (340, 256)
    assert short_side_size(100, 150, 256) == (256, 384)


def test_multi_scale_crop_draws_scale_pairs_within_the_gap_and_the_13_fixed_offsets():
    generator = torch.Generator().manual_seed(0)
    height, width = 256, 340
    sizes, offset_steps = set(), set()
    for _ in range(3000):
        top, left, crop_h, crop_w = multi_scale_crop_params(
            height, width, 224, (1, 0.875, 0.66), 1, generator
        )
        sizes.add((crop_h, crop_w))
        h_step, w_step = (height - crop_h) // 4, (width - crop_w) // 4
        assert top % max(h_step, 1) == 0 and left % max(w_step, 1) == 0
        assert top + crop_h <= height and left + crop_w <= width
        if crop_h == 168 and crop_w == 168:  # both steps > 0: the position identifies the offset
            offset_steps.add((left // w_step, top // h_step))
    # int(256 * s) = 256, 224, 168; pairs whose scale indices differ by at most 1.
    assert sizes == {(256, 256), (256, 224), (224, 256), (224, 224), (224, 168), (168, 224), (168, 168)}
    assert offset_steps == set(FIXED_CROP_OFFSETS)
    assert len(FIXED_CROP_OFFSETS) == 13


def test_multi_scale_crop_gap_zero_gives_square_crops_and_snaps_near_crop_size():
    generator = torch.Generator().manual_seed(1)
    sizes = {multi_scale_crop_params(255, 300, 224, (1, 0.875), 0, generator)[2:] for _ in range(200)}
    # int(255 * 0.875) = 223 is within 3 pixels of 224 and snaps to it.
    assert sizes == {(255, 255), (224, 224)}


def test_train_transform_uses_one_crop_and_flip_for_all_frames():
    video = random_video(num_frames=6)
    transform = VideoTrainTransform(crop_size=24, short_side=32, flip_prob=0.5)
    for seed in range(10):
        whole = transform(video, torch.Generator().manual_seed(seed))
        for index in range(len(video)):
            alone = transform(video[index : index + 1], torch.Generator().manual_seed(seed))
            torch.testing.assert_close(whole[index], alone[0])


def test_train_transform_keeps_identical_frames_identical():
    frame = random_video(num_frames=1, seed=3)
    video = frame.expand(8, -1, -1, -1).clone()
    transform = VideoTrainTransform(crop_size=24, short_side=32)
    for seed in range(5):
        out = transform(video, torch.Generator().manual_seed(seed))
        assert out.shape == (8, 3, 24, 24) and out.dtype == torch.float32
        assert torch.equal(out, out[:1].expand_as(out))


def test_train_transform_is_reproducible_from_the_generator_seed():
    video = random_video()
    transform = VideoTrainTransform(crop_size=24, short_side=32)
    first = transform(video, torch.Generator().manual_seed(7))
    assert torch.equal(first, transform(video, torch.Generator().manual_seed(7)))
    assert any(
        not torch.equal(first, transform(video, torch.Generator().manual_seed(s))) for s in range(8, 12)
    )


def test_flip_probability_and_flip_direction():
    video = random_video(num_frames=2)
    never = VideoTrainTransform(crop_size=24, short_side=32, flip_prob=0.0)
    always = VideoTrainTransform(crop_size=24, short_side=32, flip_prob=1.0)
    half = VideoTrainTransform(crop_size=24, short_side=32, flip_prob=0.5)
    flipped = 0
    for seed in range(400):
        plain = never(video, torch.Generator().manual_seed(seed))
        mirrored = always(video, torch.Generator().manual_seed(seed))
        assert torch.equal(mirrored, plain.flip(-1))
        out = half(video, torch.Generator().manual_seed(seed))
        assert torch.equal(out, plain) or torch.equal(out, mirrored)
        flipped += torch.equal(out, mirrored)
    assert 160 < flipped < 240


def test_train_transform_crops_at_fixed_offsets_of_the_resized_video():
    # 32 x 48 is already at short side 32; crops are read back from the coordinate encoding.
    video = coordinate_video(32, 48)
    transform = VideoTrainTransform(crop_size=32, short_side=32, scales=(1,), flip_prob=0.0)
    lefts = set()
    for seed in range(100):
        out = denormalize(transform(video, torch.Generator().manual_seed(seed)))
        left = round(out[0, 0, 0, 0].item())
        assert round(out[0, 1, 0, 0].item()) == 0  # the full height is kept
        lefts.add(left)
    assert lefts == {0, 4, 8, 12, 16}  # (48 - 32) // 4 = 4: x offsets 0..4 steps


def test_test_transform_centre_crop_and_normalisation():
    video = coordinate_video(64, 91)
    out = VideoTestTransform(short_side=64, crop_size=48)(video)
    assert out.shape == (2, 3, 48, 48) and out.dtype == torch.float32
    pixels = denormalize(out)
    assert round(pixels[0, 0, 0, 0].item()) == (91 - 48) // 2  # left = 21 (torchvision would round to 22)
    assert round(pixels[0, 1, 0, 0].item()) == (64 - 48) // 2

    mean_video = torch.tensor([124, 116, 104], dtype=torch.uint8).view(1, 3, 1, 1).expand(3, 3, 70, 90)
    out = VideoTestTransform(short_side=64, crop_size=48)(mean_video.clone())
    expected = (torch.tensor([124, 116, 104]) - torch.tensor(IMAGE_MEAN)) / torch.tensor(IMAGE_STD)
    torch.testing.assert_close(out.mean(dim=(0, 2, 3)), expected.to(torch.float32), atol=1e-4, rtol=0)


def test_resize_transform_squashes_without_cropping():
    video = coordinate_video(40, 80)
    out = VideoResizeTransform(size=24, short_side=32)(video)
    assert out.shape == (2, 3, 24, 24)
    pixels = denormalize(out)
    # The whole width is kept: x runs from near 0 to near 79 across the output.
    assert pixels[0, 0, 0, 0] < 4 and pixels[0, 0, 0, -1] > 75


def test_transforms_reject_bad_frame_stacks():
    transform = VideoTrainTransform(crop_size=24, short_side=32)
    with pytest.raises(ValueError, match=r"\[F, 3, H, W\]"):
        transform(torch.zeros(3, 32, 32, dtype=torch.uint8), torch.Generator())
    with pytest.raises(ValueError, match="at least one frame"):
        VideoTestTransform(short_side=32, crop_size=24)(torch.zeros(0, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match="flip_prob"):
        VideoTrainTransform(flip_prob=1.5)


def test_finishing_on_a_device_gives_the_host_path_s_values_bit_for_bit():
    """finish_frames decides on the host which videos to flip and blend on the CPU, and computes every video with
    torch.where on a device (no wait for the device): both paths must give identical floats."""
    from glad_hf.data.transforms import _blend, _flip

    generator = torch.Generator().manual_seed(0)
    cells = torch.randint(0, 256, (6, 5, 3, 16, 16), dtype=torch.uint8, generator=generator)
    flip = torch.tensor([True, False, True, False, False, True])
    assert torch.equal(_flip(cells, flip, on_host=True), _flip(cells, flip, on_host=False))
    assert torch.equal(_flip(cells, ~flip & False, on_host=False), cells)
    background = torch.randint(0, 256, (6, 3, 16, 16), dtype=torch.uint8, generator=generator)
    alpha = torch.tensor([1.0, 0.75, 1.0, 0.75, 0.6, 1.0], dtype=torch.float64)
    frames = cells.to(torch.float32)
    host = _blend(frames.clone(), background, alpha, on_host=True)
    device = _blend(frames.clone(), background, alpha, on_host=False)
    assert torch.equal(host, device)
    assert torch.equal(device[0], frames[0]) and not torch.equal(device[1], frames[1])
