import numpy as np
import pytest
import torch

from glad_hf.data.sampling import view_cell_mask
from glad_hf.data.synthetic import MOTION_PATTERNS
from glad_hf.data.synthetic_motions import (
    SyntheticMotionConfig,
    SyntheticMotionDataset,
    motion_rows,
    render_motion_frames,
)
from glad_hf.data.transforms import VideoTestTransform, VideoTrainTransform
from glad_hf.labels import K2B_LABELS

SMALL = SyntheticMotionConfig(
    frame_size=16, num_train_videos=21, num_val_videos=7, period_frames=(10.0, 30.0)
)
SMALL_V2 = SyntheticMotionConfig(
    version=2,
    motions=SMALL.motions,
    frame_size=16,
    num_train_videos=21,
    num_val_videos=7,
    num_frames=(20, 40),
)


def test_motions_are_disjoint_from_the_benchmark_classes_and_include_directional_ones():
    config = SyntheticMotionConfig.disjoint_from(K2B_LABELS[:5])
    assert config.motions == ("dance", "clean", "squat", "punch", "crawl", "clap", "lift")
    assert not set(config.motions) & set(K2B_LABELS[:5])
    assert {"punch", "lift"} <= set(config.motions)  # fast-out slow-back and slow-rise fast-drop
    with pytest.raises(ValueError, match="leave 1 motion pattern"):
        SyntheticMotionConfig.disjoint_from(K2B_LABELS[:11])


def test_config_validation():
    with pytest.raises(ValueError, match="not motions of version 3"):
        SyntheticMotionConfig(motions=("lift", "moonwalk"))
    with pytest.raises(ValueError, match="version must be one of"):
        SyntheticMotionConfig(version=4)
    with pytest.raises(ValueError, match="at least 2 distinct"):
        SyntheticMotionConfig(motions=("lift", "lift"))
    with pytest.raises(ValueError, match="frame_size"):
        SyntheticMotionConfig(frame_size=15)
    with pytest.raises(ValueError, match="num_val_videos"):
        SyntheticMotionConfig(num_val_videos=3)
    with pytest.raises(ValueError, match="period_frames"):
        SyntheticMotionConfig(period_frames=(40.0, 5.0))
    assert SyntheticMotionConfig().config_hash() != SyntheticMotionConfig(seed=1).config_hash()


def test_rows_are_balanced_deterministic_and_split_apart():
    rows = motion_rows(SMALL, "train")
    assert len(rows) == 21 and np.bincount([r["label"] for r in rows]).tolist() == [3] * 7
    assert rows == motion_rows(SMALL, "train")
    for row in rows:  # one action of 10-30 frames filling 60-100% of its video
        assert 10 <= row["period"] <= 30 and row["period"] == int(row["period"])
        assert row["period"] <= row["num_frames"] <= row["period"] / 0.6 + 1
        assert 0 <= row["idle_before"] <= row["num_frames"] - row["period"]
    rows_v2 = motion_rows(SMALL_V2, "train")
    assert all(5.0 <= r["period"] <= 40.0 and 20 <= r["num_frames"] <= 40 for r in rows_v2)
    val = motion_rows(SMALL, "val")
    assert {r["video_id"] for r in val}.isdisjoint(r["video_id"] for r in rows)
    with pytest.raises(ValueError, match="split"):
        motion_rows(SMALL, "test")


def test_a_frame_does_not_depend_on_which_other_frames_are_rendered():
    row = motion_rows(SMALL, "train")[5]
    whole = render_motion_frames(SMALL, row, np.arange(row["num_frames"]))
    indices = [row["num_frames"] - 1, 2, 2, row["num_frames"] // 2]
    picked = render_motion_frames(SMALL, row, np.array(indices))
    assert whole.shape == (row["num_frames"], 16, 16, 3) and whole.dtype == np.uint8
    np.testing.assert_array_equal(picked, whole[indices])
    assert np.abs(np.diff(whole.astype(int), axis=0)).sum() > 0  # the actor moves


def test_samples_fill_only_the_view_cells_and_repeat_per_seed_epoch_index():
    dataset = SyntheticMotionDataset(
        SMALL,
        "train",
        VideoTrainTransform(short_side=16, crop_size=16),
        test_mode=False,
        seed=3,
        layout="grid",
    )
    item = dataset[4]
    pixels = item["pixel_values"]
    assert pixels.shape == (8, 3, 8, 16, 16) and item["labels"] == 4 % 7
    used = view_cell_mask(8, 8, (4, 5), 3, "views")
    cell_energy = pixels.abs().sum(dim=(1, 3, 4)).numpy()  # [N, T]
    assert (cell_energy[~used] == 0).all() and (cell_energy[used] > 0).all()
    torch.testing.assert_close(dataset[4]["pixel_values"], pixels)
    dataset.set_epoch(1)
    assert not torch.equal(dataset[4]["pixel_values"], pixels)


def test_validation_samples_are_fixed_test_path_grids():
    dataset = SyntheticMotionDataset(
        SMALL,
        "val",
        VideoTestTransform(short_side=16, crop_size=16),
        test_mode=True,
        decode="reference_test",
        layout="grid",
    )
    first = dataset[0]["pixel_values"]
    dataset.set_epoch(5)
    torch.testing.assert_close(dataset[0]["pixel_values"], first)
    assert len(dataset) == 7


@pytest.mark.parametrize("name", ["punch", "lift"])
def test_directional_motions_are_not_symmetric_in_time(name):
    # A clip and its reversal differ in the distribution of velocities: fast one way, slow the other.
    u = np.linspace(0, 1, 200, endpoint=False)
    dx, dy, _ = MOTION_PATTERNS[name](u, 1.0)
    velocity = np.diff(dx + dy)
    assert abs(velocity.max() + velocity.min()) > 0.5 * np.abs(velocity).max()
