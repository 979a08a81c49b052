import pickle

import decord
import numpy as np
import pytest
import torch
from accelerate.data_loader import prepare_data_loader
from datasets import Dataset
from PIL import Image
from torch.utils.data import DataLoader

from glad_hf.data import readers
from glad_hf.data.builder import FEATURES
from glad_hf.data.readers import FrameReadError
from glad_hf.data.sampling import sample_frames, view_cell_mask
from glad_hf.data.transforms import (
    VideoResizeTransform,
    VideoTestTransform,
    VideoTrainTransform,
    finish_batch,
)
from glad_hf.data.video_datasets import DomainPairedDataset, GladClipDataset, TemporalOrderDataset


def as_float(frames, generator=None):
    """Stand-in transform: keeps the pixels (so frame numbers can be read back), float32."""
    return frames.to(torch.float32)


def _row(path, media, domain, num_frames, start_index, offset=0, label=3, video_id="clip"):
    return {
        "video_id": video_id,
        "path": str(path),
        "media": media,
        "offset": offset,
        "num_frames": num_frames,
        "start_index": start_index,
        "label": label,
        "domain": domain,
    }


def _split(*rows) -> Dataset:
    return Dataset.from_list(list(rows), features=FEATURES)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory, media):
    """A 300-frame Kinetics-like clip as rawframes (numbered from 0) and as an mp4."""
    root = tmp_path_factory.mktemp("long_clip")
    return {
        "rawframes": media.write_rawframes(root / "frames", range(300)),
        "video": media.write_mp4(root / "clip.mp4", 300, gop=16),
    }


def _cell_numbers(media, pixel_values) -> np.ndarray:
    """Frame numbers [N, T] read back from pixel_values [N, C, T, H, W] of the stand-in transform."""
    return media.frame_number_of(pixel_values.permute(0, 2, 1, 3, 4).numpy())


@pytest.mark.parametrize("layout", ["rawframes", "video"])
def test_stage2_source_sample_decodes_only_the_22_view_frames(long_clip, media, layout, monkeypatch):
    calls = []
    if layout == "rawframes":
        original_open = Image.open
        monkeypatch.setattr(readers.Image, "open", lambda p, *a, **k: calls.append(p) or original_open(p))
    else:
        original_batch = decord.VideoReader.get_batch
        monkeypatch.setattr(
            decord.VideoReader, "get_batch", lambda self, i: calls.extend(i) or original_batch(self, i)
        )
    dataset = GladClipDataset(
        _split(_row(long_clip[layout], layout, 0, 300, 0)),
        as_float,
        layout="grid",
        test_mode=False,
        jpeg_backend="pil",
        video_backend="decord",
    )
    item = dataset[0]
    pixel_values = item["pixel_values"]
    assert pixel_values.shape == (8, 3, 8, 32, 32) and pixel_values.dtype == torch.float32
    assert item["labels"] == 3 and item["index"] == 0
    assert dataset.frames_decoded == 22 and len(calls) == 22

    used = view_cell_mask()
    assert torch.all(pixel_values.permute(0, 2, 1, 3, 4)[torch.from_numpy(~used)] == 0)
    numbers = _cell_numbers(media, pixel_values)
    offsets = numbers[:, 3] - 6  # the global column holds frame offset_k + 3 * 2 of every clip
    avg = (300 - 16 + 1) // 8
    assert np.all(offsets >= np.arange(8) * avg) and np.all(offsets < np.arange(1, 9) * avg)
    for row in (4, 5):
        np.testing.assert_array_equal(numbers[row], offsets[row] + 2 * np.arange(8))


@pytest.mark.parametrize("layout", ["rawframes", "video"])
def test_all_mode_decodes_every_sampled_frame(long_clip, media, layout):
    dataset = GladClipDataset(
        _split(_row(long_clip[layout], layout, 0, 300, 0)),
        as_float,
        layout="grid",
        test_mode=True,
        decode="all",
    )
    numbers = _cell_numbers(media, dataset[0]["pixel_values"])
    np.testing.assert_array_equal(numbers, sample_frames(300, 8, 2, 8, True))
    assert dataset.frames_decoded == 64


@pytest.mark.parametrize("layout", ["rawframes", "video"])
def test_target_segment_in_test_mode_reads_its_frame_range(
    tiny_rawframes_root, tiny_video_root, media, layout
):
    # BABEL val/000010, segment offset 10, 30 frames: rawframe file numbers 11 ..., video frames 10 ...
    if layout == "rawframes":
        row = _row(tiny_rawframes_root / "babel" / "val" / "000010", layout, 1, 30, 11, offset=10)
    else:
        row = _row(tiny_video_root / "babel" / "val" / "000010.mp4", layout, 1, 30, 10, offset=10)
    dataset = GladClipDataset(_split(row), as_float, layout="grid", test_mode=True, decode="reference_test")
    pixel_values = dataset[0]["pixel_values"]
    used = view_cell_mask(decode="reference_test")
    expected = sample_frames(30, 8, 2, 8, True) + row["start_index"]
    np.testing.assert_array_equal(_cell_numbers(media, pixel_values)[used], expected[used])
    assert torch.all(pixel_values.permute(0, 2, 1, 3, 4)[torch.from_numpy(~used)] == 0)
    assert dataset.frames_decoded == len(np.unique(expected[used]))


def test_kinetics_video_length_comes_from_the_container(tmp_path, media):
    video = media.write_mp4(tmp_path / "clip.mp4", 40)
    dataset = GladClipDataset(
        _split(_row(video, "video", 0, 300, 0)), as_float, layout="grid", test_mode=True, decode="all"
    )
    np.testing.assert_array_equal(
        _cell_numbers(media, dataset[0]["pixel_values"]), sample_frames(40, 8, 2, 8, True)
    )


def test_babel_segment_beyond_the_end_of_its_video(tmp_path, media):
    video = media.write_mp4(tmp_path / "000010.mp4", 50)
    row = _row(video, "video", 1, 17, 45, offset=45, video_id="val/000010")
    with pytest.raises(FrameReadError, match=r"row 0 \(val/000010\).*45-61 .* end beyond .* 50 frames"):
        GladClipDataset(_split(row), as_float, layout="grid", test_mode=True)[0]


def test_missing_frame_file_names_the_row(tmp_path, media):
    folder = media.write_rawframes(tmp_path / "frames", range(1, 20))
    row = _row(folder, "rawframes", 1, 30, 1, video_id="train/000001")
    with pytest.raises(FrameReadError, match=r"row 0 \(train/000001\): missing frame file .*img_000"):
        GladClipDataset(_split(row), as_float, layout="grid", test_mode=True)[0]


def test_video_cache_gives_the_same_samples_and_segment_lengths(tmp_path, media):
    video = media.write_mp4(tmp_path / "000007.mp4", 120)
    rows = [
        _row(video, "video", 0, 300, 0),
        _row(video, "video", 1, 30, 50, offset=50, video_id="val/000007"),
    ]
    cache = readers.DecodedVideoCache(2**26)
    for test_mode in (False, True):
        plain = GladClipDataset(_split(*rows), as_float, layout="grid", test_mode=test_mode, seed=2)
        cached = GladClipDataset(
            _split(*rows), as_float, layout="grid", test_mode=test_mode, seed=2, video_cache=cache
        )
        for index in range(2):
            assert torch.equal(plain[index]["pixel_values"], cached[index]["pixel_values"])
    assert list(cache.videos) == [str(video)] and cache.bytes == 120 * 32 * 32 * 3


def test_samples_depend_only_on_seed_epoch_and_index(long_clip):
    split = _split(*[_row(long_clip["rawframes"], "rawframes", 0, 300, 0)] * 2)
    dataset = GladClipDataset(split, as_float, layout="grid", test_mode=False, seed=5)
    first = dataset[1]["pixel_values"]
    assert torch.equal(
        first, GladClipDataset(split, as_float, layout="grid", test_mode=False, seed=5)[1]["pixel_values"]
    )
    assert not torch.equal(first, dataset[0]["pixel_values"])
    dataset.set_epoch(1)
    assert not torch.equal(first, dataset[1]["pixel_values"])


def test_with_the_real_transforms_and_a_dataloader(long_clip):
    split = _split(*[_row(long_clip["video"], "video", 0, 300, 0, label=label) for label in (2, 7)])
    train = GladClipDataset(split, VideoTrainTransform(crop_size=16, short_side=20), test_mode=False)
    batch = next(iter(DataLoader(train, batch_size=2)))
    # compact: the 22 view cells, uint8, with the per-video flip; finish_batch makes them normalised float
    assert batch["pixel_values"].shape == (2, 22, 3, 16, 16) and batch["pixel_values"].dtype == torch.uint8
    assert batch["flip"].shape == (2,) and batch["flip"].dtype == torch.bool
    assert batch["labels"].tolist() == [2, 7] and batch["index"].tolist() == [0, 1]
    finished = finish_batch(batch)
    assert finished["pixel_values"].dtype == torch.float32 and "flip" not in finished
    grid_train = GladClipDataset(
        split, VideoTrainTransform(crop_size=16, short_side=20), test_mode=False, layout="grid"
    )
    grid = next(iter(DataLoader(grid_train, batch_size=2)))["pixel_values"].permute(0, 1, 3, 2, 4, 5)
    used = torch.from_numpy(view_cell_mask())
    assert torch.all(grid[:, ~used] == 0) and torch.all(grid[:, used].abs().amax(dim=(-3, -2, -1)) > 0)
    assert torch.equal(grid[:, used], finished["pixel_values"])
    test = GladClipDataset(
        split, VideoTestTransform(short_side=20, crop_size=16), test_mode=True, layout="grid"
    )
    assert test[0]["pixel_values"].shape == (8, 3, 8, 16, 16)


def test_worker_processes_load_the_same_samples(long_clip):
    split = _split(*[_row(long_clip["video"], "video", 0, 300, 0, label=label) for label in (2, 7)])
    dataset = GladClipDataset(split, as_float, layout="grid", test_mode=False, seed=1)
    dataset.set_epoch(2)
    # Reading here leaves an open decord reader that forked workers inherit (and must not destroy).
    expected = torch.stack([dataset[0]["pixel_values"], dataset[1]["pixel_values"]])
    batch = next(iter(DataLoader(dataset, batch_size=1, num_workers=2, timeout=60)))
    assert torch.equal(batch["pixel_values"][0], expected[0])
    # Workers started with "spawn" receive a pickled copy, open video reader included.
    copy = pickle.loads(pickle.dumps(dataset))
    assert torch.equal(copy[1]["pixel_values"], expected[1])


def test_temporal_order_samples(long_clip, media):
    split = _split(_row(long_clip["rawframes"], "rawframes", 0, 300, 0))
    item = TemporalOrderDataset(split, as_float, layout="grid", frame_interval=1)[0]
    assert item["pixel_values"].shape == (3, 3, 8, 32, 32)
    numbers = _cell_numbers(media, item["pixel_values"])
    np.testing.assert_array_equal(numbers, numbers[:, :1] + np.arange(8)[None, :])
    assert numbers[0, 0] < numbers[1, 0] < numbers[2, 0]
    avg = (300 - 8 + 1) // 3
    assert np.all(numbers[:, 0] >= np.arange(3) * avg) and np.all(numbers[:, 0] < np.arange(1, 4) * avg)
    resized = TemporalOrderDataset(split, VideoResizeTransform(size=16, short_side=20), frame_interval=2)[0]
    assert resized["pixel_values"].shape == (3, 3, 8, 16, 16)


class IndexDataset(torch.utils.data.Dataset):
    """Items are {"pixel_values": index}; `sample(index, epoch)` also records the epoch it was drawn in."""

    def __init__(self, size):
        self.size = size
        self.epoch = 0
        self.draws = []

    def __len__(self):
        return self.size

    def set_epoch(self, epoch):
        self.epoch = epoch

    def sample(self, index, epoch):
        self.draws.append((index, epoch))
        return {"pixel_values": index, "index": index}

    def __getitem__(self, index):
        return self.sample(index, self.epoch)


def _targets(paired):
    return [paired[i]["target_index"] for i in range(len(paired))]


def test_paired_dataset_cycles_the_target_in_reshuffled_passes():
    source, target = IndexDataset(10), IndexDataset(4)
    paired = DomainPairedDataset(source, target, seed=0)
    assert len(paired) == 10 and paired.passes_per_epoch == 3
    items = [paired[i] for i in range(10)]
    assert [item["pixel_values"] for item in items] == list(range(10))
    assert all(item["target_pixel_values"] == item["target_index"] for item in items)
    targets = [item["target_index"] for item in items]
    first_pass, second_pass = targets[:4], targets[4:8]
    assert sorted(first_pass) == sorted(second_pass) == [0, 1, 2, 3]  # every target item once per pass
    assert first_pass != second_pass  # reshuffled each pass
    assert [epoch for _, epoch in target.draws[:10]] == [0] * 4 + [1] * 4 + [
        2
    ] * 2  # the target's epoch is its pass

    paired.set_epoch(1)  # epoch 1: target passes 3, 4, 5; the source follows the epoch
    assert source.epoch == 1 and _targets(paired) != targets
    assert {epoch for _, epoch in target.draws[10:]} == {3, 4, 5}
    paired.set_epoch(0)  # a resumed epoch 0 sees the same pairs
    assert _targets(paired) == targets


def test_paired_dataset_through_prepared_loaders_shards_the_source_across_processes():
    shards = []
    for process_index in range(2):
        loader = prepare_data_loader(
            DataLoader(DomainPairedDataset(IndexDataset(12), IndexDataset(4)), batch_size=2, shuffle=True),
            num_processes=2,
            process_index=process_index,
            use_seedable_sampler=True,
            data_seed=3,
        )
        assert len(loader) == 3
        shards.append([(b["pixel_values"].tolist(), b["target_index"].tolist()) for b in loader])
    source_items = [i for shard in shards for s, _ in shard for i in s]
    assert sorted(source_items) == list(range(12))  # disjoint shards covering the source once
    target_items = [i for shard in shards for _, t in shard for i in t]
    assert sorted(target_items) == sorted(list(range(4)) * 3)  # three passes over the target


def test_paired_dataset_rejects_an_empty_target():
    with pytest.raises(ValueError, match="target dataset has no item"):
        DomainPairedDataset(IndexDataset(4), IndexDataset(0))
