"""The compact data path (uint8 view cells, finished on the device) feeds the backbone exactly what the float clip
grid path does: same sampling indices, same crop / flip / background draws, for training, evaluation and TOL
samples, rawframes and mp4."""

import av
import numpy as np
import pytest
import torch
from datasets import Dataset
from PIL import Image
from torch.utils.data import DataLoader

from glad_hf import GladConfig, GladForVideoClassification, GladModel
from glad_hf.data.background import BackgroundBlend
from glad_hf.data.builder import FEATURES
from glad_hf.data.transforms import (
    VideoResizeTransform,
    VideoTestTransform,
    VideoTrainTransform,
    finish_batch,
)
from glad_hf.data.video_datasets import DomainPairedDataset, GladClipDataset, TemporalOrderDataset
from helpers import write_mp4

SIZES = dict(short_side=40, crop_size=32)


def _rows(clips: dict, media: str) -> Dataset:
    rows = [
        {
            "video_id": f"clip{index}",
            "path": str(clips[media][index]),
            "media": media,
            "offset": 0,
            "num_frames": 120 if media == "rawframes" else (90 if index % 2 else -1),
            "start_index": 0,
            "label": index % 3,
            "domain": index % 2,
        }
        for index in range(4)
    ]
    return Dataset.from_list(rows, features=FEATURES)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Four 120-frame clips (48 x 64, textured, so crops, resizes and flips change pixels) as mp4 and as rawframes
    (its decoded frames as JPEGs), and two backgrounds."""
    root = tmp_path_factory.mktemp("compact")
    out = {"rawframes": [], "video": []}
    for index in range(4):
        video = write_mp4(root / f"clip{index}.mp4", num_frames=120, height=48, width=64, seed=index)
        folder = root / f"frames{index}"
        folder.mkdir()
        with av.open(str(video)) as container:
            for number, frame in enumerate(container.decode(video=0)):
                frame.to_image().save(folder / f"img_{number:05d}.jpg", quality=90)
        out["video"].append(video)
        out["rawframes"].append(folder)
    for index, value in enumerate((30, 220)):
        (root / "bg").mkdir(exist_ok=True)
        pixels = np.random.default_rng(index).integers(0, value, (50, 70, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / "bg" / f"{index}.png")
    out["backgrounds"] = root / "bg"
    return out


def _batches(dataset, epoch: int):
    dataset.set_epoch(epoch)
    return finish_batch(next(iter(DataLoader(dataset, batch_size=len(dataset)))))


def _views(pixel_values, config, local_clip_indices=None):
    model = GladModel(config)
    return model.view_sampler(pixel_values, local_clip_indices or config.local_clip_indices)


def _assert_same_views(compact, grid, config, local_clip_indices=None):
    for got, expected in zip(
        _views(compact, config, local_clip_indices), _views(grid, config, local_clip_indices), strict=True
    ):
        assert got.shape == expected.shape
        assert (got - expected).abs().max() <= 1e-6


@pytest.mark.parametrize("media_kind", ["rawframes", "video"])
def test_training_items_feed_the_same_views(clips, media_kind):
    blend = BackgroundBlend(clips["backgrounds"], p=0.5, alpha=0.75)
    config = GladConfig.tiny()
    split = _rows(clips, media_kind)

    def paired(layout):
        source = GladClipDataset(
            split,
            VideoTrainTransform(**SIZES, background_blend=blend),
            test_mode=False,
            seed=3,
            layout=layout,
        )
        target = GladClipDataset(split, VideoTrainTransform(**SIZES), test_mode=True, seed=4, layout=layout)
        return DomainPairedDataset(source, target, seed=5)

    flips, blends = set(), set()
    for epoch in range(3):
        compact, grid = _batches(paired("compact"), epoch), _batches(paired("grid"), epoch)
        assert compact["pixel_values"].shape == (4, 22, 3, 32, 32)
        for key in ("pixel_values", "target_pixel_values"):
            _assert_same_views(compact[key], grid[key], config)
        assert torch.equal(compact["labels"], grid["labels"])
        assert torch.equal(compact["target_index"], grid["target_index"])
        raw = paired("compact")
        raw.set_epoch(epoch)
        items = [raw[index] for index in range(4)]
        flips.update(bool(item["flip"]) for item in items)
        blends.update(float(item["background_alpha"]) for item in items)
    assert flips == {True, False} and blends == {0.75, 1.0}  # both branches of each draw were compared


@pytest.mark.parametrize("media_kind", ["rawframes", "video"])
@pytest.mark.parametrize("decode, local_clip_indices", [("views", None), ("reference_test", (5,))])
def test_evaluation_items_feed_the_same_views(clips, media_kind, decode, local_clip_indices):
    config = GladConfig.tiny()
    split = _rows(clips, media_kind)

    def dataset(layout):
        return GladClipDataset(
            split, VideoTestTransform(**SIZES), test_mode=True, decode=decode, layout=layout
        )

    compact, grid = _batches(dataset("compact"), 0), _batches(dataset("grid"), 0)
    assert compact["pixel_values"].shape[1] == {"views": 22, "reference_test": 15}[decode]
    _assert_same_views(compact["pixel_values"], grid["pixel_values"], config, local_clip_indices)


@pytest.mark.parametrize("media_kind", ["rawframes", "video"])
def test_temporal_order_items_are_the_same_clips(clips, media_kind):
    split = _rows(clips, media_kind)

    def dataset(layout):
        transform = VideoResizeTransform(short_side=40, size=32)
        return TemporalOrderDataset(split, transform, frame_interval=2, seed=7, layout=layout)

    for epoch in range(2):
        compact, grid = _batches(dataset("compact"), epoch), _batches(dataset("grid"), epoch)
        assert compact["pixel_values"].shape == grid["pixel_values"].shape == (4, 3, 3, 8, 32, 32)
        assert (compact["pixel_values"] - grid["pixel_values"]).abs().max() <= 1e-6


def test_the_model_scores_compact_cells_as_it_scores_grids(clips):
    torch.manual_seed(0)
    config = GladConfig.tiny()
    model = GladForVideoClassification(config).eval()
    split = _rows(clips, "video")
    for decode in ("views", "reference_test"):
        compact = _batches(
            GladClipDataset(split, VideoTestTransform(**SIZES), test_mode=True, decode=decode), 0
        )
        grid = _batches(
            GladClipDataset(split, VideoTestTransform(**SIZES), test_mode=True, decode=decode, layout="grid"),
            0,
        )
        with torch.no_grad():
            torch.testing.assert_close(
                model(compact["pixel_values"]).logits, model(grid["pixel_values"]).logits, rtol=0, atol=0
            )


def test_compact_items_are_a_tenth_of_the_bytes(clips):
    split = _rows(clips, "video")
    source = {
        layout: GladClipDataset(split, VideoTrainTransform(**SIZES), test_mode=False, layout=layout)[0]
        for layout in ("compact", "grid")
    }
    compact_bytes = sum(v.nbytes for v in source["compact"].values() if torch.is_tensor(v))
    grid_bytes = source["grid"]["pixel_values"].nbytes
    assert compact_bytes * 10 <= grid_bytes
