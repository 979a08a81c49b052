import numpy as np
import pytest

from glad_hf.data.sampling import sample_frames, view_cell_mask

# Stage-2 sampling (SPEC §2): clip_len 8, frame_interval 2 (clip span L = 16), 8 clips.
# Test-mode clip offsets computed by hand: avg = (n - 15) / 8; offset_k = int(k * avg + avg / 2) when n > 15.
#   n=16: avg 0.125 -> 0.0625 ... 0.9375 -> all 0
#   n=17: avg 0.25 -> 0.125, 0.375, ..., 1.875 -> 0, 0, 0, 0, 1, 1, 1, 1
#   n=54: avg 4.875 -> 2.4375, 7.3125, 12.1875, 17.0625, 21.9375, 26.8125, 31.6875, 36.5625
#   n=300: avg 35.625 -> 17.8125, 53.4375, 89.0625, 124.6875, 160.3125, 195.9375, 231.5625, 267.1875
#   n=1326: avg 163.875 -> 81.9375, 245.8125, ..., 1229.0625
#   n <= 15: all 0 (the clips then loop modulo n)
TEST_MODE_OFFSETS = {
    1: [0] * 8,
    8: [0] * 8,
    15: [0] * 8,
    16: [0] * 8,
    17: [0, 0, 0, 0, 1, 1, 1, 1],
    54: [2, 7, 12, 17, 21, 26, 31, 36],
    300: [17, 53, 89, 124, 160, 195, 231, 267],
    1326: [81, 245, 409, 573, 737, 901, 1065, 1229],
}


@pytest.mark.parametrize("num_frames", sorted(TEST_MODE_OFFSETS))
def test_test_mode_indices_match_hand_computed_table(num_frames):
    indices = sample_frames(num_frames, clip_len=8, frame_interval=2, num_clips=8, test_mode=True)
    offsets = np.array(TEST_MODE_OFFSETS[num_frames])
    expected = np.mod(offsets[:, None] + 2 * np.arange(8)[None, :], num_frames)
    assert indices.shape == (8, 8)
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(indices, expected)


def test_short_segments_loop_modulo_length():
    np.testing.assert_array_equal(sample_frames(8, 8, 2, 8, True)[0], [0, 2, 4, 6, 0, 2, 4, 6])
    np.testing.assert_array_equal(sample_frames(15, 8, 2, 8, True)[3], [0, 2, 4, 6, 8, 10, 12, 14])
    np.testing.assert_array_equal(sample_frames(1, 8, 2, 8, False), np.zeros((8, 8)))
    # n = 17: clip 4 starts at 1 and reaches frame 15; clip 0 reaches 14.
    np.testing.assert_array_equal(sample_frames(17, 8, 2, 8, True)[4], np.arange(1, 16, 2))


def test_tol_test_mode_offsets():
    # TOL target sampling (SPEC §6): 3 clips of 8 frames, interval 1; n=54: avg = 47/3 -> offsets 7, 23, 39.
    np.testing.assert_array_equal(sample_frames(54, 8, 1, 3, True)[:, 0], [7, 23, 39])


@pytest.mark.parametrize("num_frames", [23, 54, 300, 1326])
def test_train_mode_offsets_fall_in_their_interval(num_frames):
    avg = (num_frames - 16 + 1) // 8
    assert avg > 0
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(50):
        indices = sample_frames(num_frames, 8, 2, 8, False, rng)
        offsets = indices[:, 0]
        k = np.arange(8)
        assert np.all(offsets >= k * avg) and np.all(offsets < (k + 1) * avg)
        np.testing.assert_array_equal(indices, offsets[:, None] + 2 * np.arange(8)[None, :])
        seen.update(offsets.tolist())
    if avg > 1:
        assert len(seen) > 8  # the offsets are random


@pytest.mark.parametrize("num_frames", [17, 20, 22])
def test_train_mode_random_branch_draws_sorted_offsets(num_frames):
    # avg == 0 but n > max(num_clips, L): sorted draws from randint(n - L + 1).
    rng = np.random.default_rng(1)
    draws = set()
    for _ in range(30):
        offsets = sample_frames(num_frames, 8, 2, 8, False, rng)[:, 0]
        assert np.all(np.diff(offsets) >= 0)
        assert offsets.min() >= 0 and offsets.max() <= num_frames - 16
        draws.add(tuple(offsets))
    assert len(draws) > 1


def test_train_mode_deterministic_branches():
    # avg == 0 and n <= max(num_clips, L): round(k * (n - L + 1) / num_clips), numpy's half-to-even rounding.
    np.testing.assert_array_equal(sample_frames(16, 8, 2, 8, False)[:, 0], [0, 0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(sample_frames(15, 8, 2, 8, False)[:, 0], np.zeros(8))
    # n < L - 1: all offsets 0, clips loop.
    np.testing.assert_array_equal(sample_frames(8, 8, 2, 8, False)[5], [0, 2, 4, 6, 0, 2, 4, 6])


def _reference_sample_frames(num_frames, clip_len, frame_interval, num_clips, test_mode):
    # mmaction2 0.x SampleFrames (out_of_bound_opt="loop", start_index 0), transcribed literally.
    ori_clip_len = clip_len * frame_interval
    if test_mode:
        avg_interval = (num_frames - ori_clip_len + 1) / float(num_clips)
        if num_frames > ori_clip_len - 1:
            base_offsets = np.arange(num_clips) * avg_interval
            clip_offsets = (base_offsets + avg_interval / 2.0).astype(int)
        else:
            clip_offsets = np.zeros((num_clips,), dtype=int)
    else:
        avg_interval = (num_frames - ori_clip_len + 1) // num_clips
        if avg_interval > 0:
            base_offsets = np.arange(num_clips) * avg_interval
            clip_offsets = base_offsets + np.random.randint(avg_interval, size=num_clips)
        elif num_frames > max(num_clips, ori_clip_len):
            clip_offsets = np.sort(np.random.randint(num_frames - ori_clip_len + 1, size=num_clips))
        elif avg_interval == 0:
            ratio = (num_frames - ori_clip_len + 1.0) / num_clips
            clip_offsets = np.around(np.arange(num_clips) * ratio)
        else:
            clip_offsets = np.zeros((num_clips,), dtype=int)
    frame_inds = clip_offsets[:, None] + np.arange(clip_len)[None, :] * frame_interval
    frame_inds = np.concatenate(frame_inds).reshape((-1, clip_len))
    frame_inds = np.mod(frame_inds, num_frames)
    return np.concatenate(frame_inds).astype(int)


@pytest.mark.parametrize("test_mode", [True, False])
@pytest.mark.parametrize("num_frames", [1, 8, 15, 16, 17, 20, 22, 23, 54, 300, 1326])
@pytest.mark.parametrize("clip_len,frame_interval,num_clips", [(8, 2, 8), (8, 1, 3), (8, 2, 3)])
def test_equals_reference_under_global_seed(test_mode, num_frames, clip_len, frame_interval, num_clips):
    for seed in range(5):
        np.random.seed(seed)
        expected = _reference_sample_frames(num_frames, clip_len, frame_interval, num_clips, test_mode)
        np.random.seed(seed)
        indices = sample_frames(num_frames, clip_len, frame_interval, num_clips, test_mode)
        np.testing.assert_array_equal(indices.reshape(-1), expected)
        assert indices.min() >= 0 and indices.max() < num_frames


def test_rng_makes_train_sampling_reproducible():
    first = sample_frames(300, 8, 2, 8, False, np.random.default_rng([0, 1, 2]))
    second = sample_frames(300, 8, 2, 8, False, np.random.default_rng([0, 1, 2]))
    other = sample_frames(300, 8, 2, 8, False, np.random.default_rng([0, 2, 2]))
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="num_frames"):
        sample_frames(0, 8, 2, 8, True)
    with pytest.raises(ValueError, match="clip_len"):
        sample_frames(10, 0, 2, 8, True)


def test_view_cell_masks():
    views = view_cell_mask()
    assert views.shape == (8, 8) and views.sum() == 22
    assert views[4].all() and views[5].all() and views[:, 3].all()
    assert not views[0, 0] and not views[7, 4]
    reference = view_cell_mask(decode="reference_test")
    assert reference.sum() == 15 and reference[5].all() and reference[:, 3].all() and not reference[4, 0]
    assert view_cell_mask(decode="all").all()
    assert view_cell_mask(3, 8, (0,), 0, "all").shape == (3, 8)


def test_views_use_22_distinct_frames_of_a_long_segment():
    indices = sample_frames(300, 8, 2, 8, True)
    assert len(np.unique(indices[view_cell_mask()])) == 22
    assert len(np.unique(indices)) == 64


def test_view_cell_mask_rejects_bad_arguments():
    with pytest.raises(ValueError, match="decode"):
        view_cell_mask(decode="some")
    with pytest.raises(ValueError, match="local clip index 8"):
        view_cell_mask(local_clip_indices=(4, 8))
    with pytest.raises(ValueError, match="global_frame_index"):
        view_cell_mask(global_frame_index=8)
