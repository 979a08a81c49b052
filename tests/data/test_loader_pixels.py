"""The compact items are the plain computation's, pixel for pixel: every cell's frame decoded on its own, stacked,
and resized / cropped with torchvision's functions, as the loader did before its CPU work was trimmed. The compact-vs-
grid tests (test_compact_path.py) share the loader's code on both sides; this one does not."""

import numpy as np
import pytest
import torch
from datasets import Dataset
from PIL import Image
from torchvision.transforms.v2 import functional as F

from glad_hf.data.background import BackgroundBlend
from glad_hf.data.builder import FEATURES
from glad_hf.data.readers import VideoFileReader
from glad_hf.data.sampling import sample_frames
from glad_hf.data.transforms import (
    VideoResizeTransform,
    VideoTestTransform,
    VideoTrainTransform,
    multi_scale_crop_params,
    short_side_size,
)
from glad_hf.data.video_datasets import GladClipDataset, TemporalOrderDataset, take_frames
from helpers import write_mp4

# Short side 64 and crops of 56: the scale 0.875 gives 56, snapped to the crop without a resize, as 224 of 256 is.
SHORT_SIDE, CROP = 64, 56
# (width, height): the short side already 64 (no first resize, the reference's resized rawframes), smaller
# (upsampled), larger (downsampled), portrait.
FRAME_SIZES = ((85, 64), (80, 60), (128, 96), (60, 90))
NUM_FRAMES = 40  # shorter than a test-mode grid's span (8 clips of 8 frames every 2): cells repeat frames


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("pixels")
    rng = np.random.default_rng(0)
    rows = {"rawframes": [], "video": []}
    for index, (width, height) in enumerate(FRAME_SIZES):
        folder = root / f"frames{index}"
        folder.mkdir()
        for number in range(1, NUM_FRAMES + 1):
            pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"img_{number:05d}.jpg", quality=90)
        rows["rawframes"].append((folder, 1))
    for index, (width, height) in enumerate(FRAME_SIZES[:2]):
        video = write_mp4(
            root / f"clip{index}.mp4", num_frames=NUM_FRAMES, height=height, width=width, seed=index
        )
        rows["video"].append((video, 0))
    (root / "bg").mkdir()
    for index in range(2):
        pixels = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / "bg" / f"{index}.png")
    split = {
        kind: Dataset.from_list(
            [
                {
                    "video_id": f"{kind}{index}",
                    "path": str(path),
                    "media": kind,
                    "offset": 0,
                    "num_frames": NUM_FRAMES,
                    "start_index": start,
                    "label": index % 3,
                    "domain": 1,
                }
                for index, (path, start) in enumerate(paths)
            ],
            features=FEATURES,
        )
        for kind, paths in rows.items()
    }
    return split, root / "bg"


def _decode_one(path: str, media: str, number: int, backend: str) -> np.ndarray:
    """uint8 [H, W, 3]: one frame on its own, with the dataset's decoder."""
    if media == "video":
        return VideoFileReader(backend).read(path, [number])[0]
    if backend == "torchcodec":
        from torchcodec.decoders import decode_jpeg

        return decode_jpeg(f"{path}/img_{number:05d}.jpg", mode="RGB").permute(1, 2, 0).numpy()
    from torchvision.io import ImageReadMode, decode_jpeg, read_file

    image = decode_jpeg(read_file(f"{path}/img_{number:05d}.jpg"), mode=ImageReadMode.RGB)
    return image.permute(1, 2, 0).numpy()


def _plain_item(dataset: GladClipDataset, index: int, epoch: int) -> tuple[dict, tuple]:
    """(the compact item of row `index` in `epoch` computed the plain way, the crop (height, width) drawn); the draws
    as the module docstring of glad_hf.data.video_datasets and the transforms' docstrings give them."""
    rng = np.random.default_rng([dataset.seed, epoch, index])
    row = dataset.hf_split[index]
    generator = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
    indices = sample_frames(
        NUM_FRAMES, dataset.clip_len, dataset.frame_interval, dataset.num_clips, dataset.test_mode, rng
    )
    backend = dataset.rawframe_reader.backend if row["media"] == "rawframes" else dataset.video_reader.backend
    numbers = row["start_index"] + indices[dataset.cell_mask]
    cells = np.stack([_decode_one(row["path"], row["media"], int(n), backend) for n in numbers])
    frames = torch.from_numpy(cells).permute(0, 3, 1, 2)  # as the readers gave them: channels last
    transform = dataset.transform
    size = short_side_size(*frames.shape[-2:], transform.short_side)
    if size != tuple(frames.shape[-2:]):
        frames = F.resize(frames, list(size), antialias=True)
    augmentation, crop = {}, ()
    if isinstance(transform, VideoTrainTransform):
        top, left, height, width = multi_scale_crop_params(
            *frames.shape[-2:], transform.crop_size, transform.scales, transform.max_wh_scale_gap, generator
        )
        crop = (height, width)
        frames = F.resize(F.crop(frames, top, left, height, width), [transform.crop_size] * 2, antialias=True)
        augmentation["flip"] = torch.tensor(torch.rand(1, generator=generator).item() < transform.flip_prob)
        if transform.background_blend is not None:
            background, alpha = transform.background_blend.draw(transform.crop_size, generator)
            augmentation.update(
                background=background, background_alpha=torch.tensor(alpha, dtype=torch.float64)
            )
    elif isinstance(transform, VideoTestTransform):
        height, width = frames.shape[-2:]
        top, left = (height - transform.crop_size) // 2, (width - transform.crop_size) // 2
        frames = F.crop(frames, top, left, transform.crop_size, transform.crop_size)
    else:
        frames = F.resize(frames, [transform.size] * 2, antialias=True)
    if dataset.cell_mask.all():
        frames = frames.view(dataset.num_clips, dataset.clip_len, *frames.shape[1:]).transpose(1, 2)
    return {"pixel_values": frames, **augmentation}, crop


def _assert_plain(dataset: GladClipDataset, epochs) -> set:
    """Asserts every item of `epochs` is the plain computation's; returns the (pixel_values shape, crop) seen."""
    seen = set()
    for epoch in epochs:
        dataset.set_epoch(epoch)
        for index in range(len(dataset)):
            item, (plain, crop) = dataset[index], _plain_item(dataset, index, epoch)
            assert set(plain) <= set(item)
            for key, expected in plain.items():
                assert item[key].dtype == expected.dtype and item[key].shape == expected.shape, key
                assert torch.equal(item[key], expected), f"{key} of row {index}, epoch {epoch}"
            pixels = item["pixel_values"]
            # The item owns exactly its bytes (a view of a larger buffer would travel whole to the main process).
            assert pixels.untyped_storage().nbytes() == pixels.numel()
            seen.add((tuple(pixels.shape), crop))
    return seen


@pytest.mark.parametrize("media_kind", ["rawframes", "video"])
def test_training_items_are_the_plain_computation(media, media_kind):
    split, backgrounds = media
    blend = BackgroundBlend(backgrounds, p=0.5, alpha=0.75)
    source = GladClipDataset(
        split[media_kind],
        VideoTrainTransform(short_side=SHORT_SIDE, crop_size=CROP, background_blend=blend),
        test_mode=False,
        seed=3,
    )
    target = GladClipDataset(
        split[media_kind], VideoTrainTransform(short_side=SHORT_SIDE, crop_size=CROP), test_mode=True, seed=4
    )
    crops = {crop for _, crop in _assert_plain(source, range(6)) | _assert_plain(target, range(6))}
    # Crops snapped to the crop size (no resize), downsampled and upsampled ones were all compared.
    assert (
        (CROP, CROP) in crops
        and any(min(crop) > CROP for crop in crops)
        and any(max(crop) < CROP for crop in crops)
    )


@pytest.mark.parametrize("media_kind", ["rawframes", "video"])
@pytest.mark.parametrize("decode", ["views", "reference_test"])
def test_evaluation_items_are_the_plain_computation(media, media_kind, decode):
    split, _ = media
    dataset = GladClipDataset(
        split[media_kind],
        VideoTestTransform(short_side=SHORT_SIDE, crop_size=CROP),
        test_mode=True,
        decode=decode,
    )
    _assert_plain(dataset, range(1))


def test_temporal_order_items_are_the_plain_computation(media):
    split, _ = media
    for frame_interval in (1, 2):
        dataset = TemporalOrderDataset(
            split["rawframes"],
            VideoResizeTransform(short_side=SHORT_SIDE, size=CROP),
            frame_interval=frame_interval,
        )
        assert _assert_plain(dataset, range(2)) == {((3, 3, 8, CROP, CROP), ())}


def test_take_frames_is_advanced_indexing_in_a_tensor_of_its_own():
    hwc = torch.randint(0, 256, (5, 12, 14, 3), dtype=torch.uint8)
    channels_last, channels_first = hwc.permute(0, 3, 1, 2), hwc.permute(0, 3, 1, 2).contiguous()
    crop = channels_last[..., 2:10, 3:11]
    for frames in (channels_last, channels_first, crop, channels_first[..., 1:, :]):
        for indices in ([0, 1, 2, 3, 4], [4, 4, 0, 2], [1]):
            indices = torch.tensor(indices)
            taken = take_frames(frames, indices)
            assert torch.equal(taken, frames[indices])
            assert taken.untyped_storage().nbytes() == taken.numel()
            assert (taken.stride(1) == 1) == (frames.stride(1) == 1)  # the frames' layout is kept
    assert take_frames(channels_last, torch.arange(5)) is channels_last  # already a tensor of its own
