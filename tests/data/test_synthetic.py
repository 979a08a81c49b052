import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glad_hf.data.annotations import read_annotation_tar
from glad_hf.data.readers import VideoFileReader, read_frames
from glad_hf.data.synthetic import (
    MOTION_PATTERNS,
    ONE_SHOT_ACTIONS,
    SyntheticK2BConfig,
    generate_synthetic_k2b,
    motion_trajectory,
    one_shot_trajectory,
    plan_source,
    plan_target,
    render_source_video,
    render_target_sequence,
    save_preview_grid,
    temporal_gap,
)
from glad_hf.labels import K2B_LABELS, K400_CLASSES_PER_LABEL

TINY = SyntheticK2BConfig(
    num_classes=3,
    frame_size=16,
    source_train_per_class=2,
    source_test_per_class=1,
    source_num_frames=(16, 24),
    target_train_sequences=2,
    target_test_sequences=1,
    segments_per_sequence=(2, 3),
    target_segment_range=(16, 30),
    transition_frames=(2, 4),
)


def generate(root: Path, config: SyntheticK2BConfig = TINY) -> Path:
    return generate_synthetic_k2b(root, config, progress=False, num_workers=1)


def file_digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("synthetic"))


def test_lists_parse_in_the_real_format(tiny_root):
    lists = read_annotation_tar(tiny_root / "kinetics2babel.tar")
    with tarfile.open(tiny_root / "kinetics2babel.tar") as tar:
        members = sorted(m.name for m in tar.getmembers() if m.isfile())
    assert members == [
        f"kinetics2babel/{n}.txt" for n in ("babel_test", "babel_train", "k400_test", "k400_train")
    ]
    assert len(lists["k400_train"]) == 3 * 2 and len(lists["k400_test"]) == 3 * 1
    metadata = json.loads((tiny_root / "synthetic_k2b.json").read_text())
    assert metadata["counts"] == {name: len(rows) for name, rows in lists.items()}
    assert metadata["labels"] == list(K2B_LABELS[:3])
    for row in lists["k400_train"] + lists["k400_test"]:
        kinetics_class, video = row.rel_path.split("/")
        assert kinetics_class in K400_CLASSES_PER_LABEL[K2B_LABELS[row.label]]
        ytid, start, end = video[:11], video[12:18], video[19:]
        assert len(video) == 25 and int(end) - int(start) == 10 and len(ytid) == 11
        assert 16 <= row.num_frames <= 24
    for name, split in (("babel_train", "train"), ("babel_test", "val")):
        assert {row.label for row in lists[name]} <= {0, 1, 2}
        for row in lists[name]:
            assert row.rel_path.startswith(f"{split}/") and 16 <= row.num_frames <= 30
    # Segments of a sequence follow each other with a transition gap and never overlap.
    by_sequence = {}
    for row in lists["babel_train"]:
        by_sequence.setdefault(row.rel_path, []).append(row)
    for rows in by_sequence.values():
        for before, after in zip(rows, rows[1:], strict=False):
            assert 2 <= after.offset - (before.offset + before.num_frames) <= 4


def test_mp4_layout_matches_the_rows(tiny_root):
    lists = read_annotation_tar(tiny_root / "kinetics2babel.tar")
    reader = VideoFileReader(backend="pyav")
    for name, split in (("k400_train", "train"), ("k400_test", "val")):
        for row in lists[name]:
            path = tiny_root / "k400" / split / f"{row.rel_path}.mp4"
            assert reader.num_frames(path) == row.num_frames
    for row in lists["babel_train"] + lists["babel_test"]:
        path = tiny_root / "babel" / f"{row.rel_path}.mp4"
        assert row.offset + row.num_frames <= reader.num_frames(path)
    frames = reader.read(tiny_root / "babel" / f"{lists['babel_test'][0].rel_path}.mp4", [0, 1])
    assert frames.shape == (2, 16, 16, 3)


def test_rawframes_layout_numbers_kinetics_from_0_and_babel_from_1(tmp_path):
    config = dataclasses.replace(TINY, format="rawframes", target_train_sequences=1)
    root = generate(tmp_path, config)
    lists = read_annotation_tar(root / "kinetics2babel.tar")
    row = lists["k400_train"][0]
    folder = root / "k400" / "train" / row.rel_path
    assert sorted(p.name for p in folder.iterdir()) == [f"img_{n:05d}.jpg" for n in range(row.num_frames)]
    row = lists["babel_train"][-1]
    sequence = root / "babel" / row.rel_path
    numbers = sorted(int(p.stem[4:]) for p in sequence.iterdir())
    assert numbers[0] == 1 and numbers == list(range(1, len(numbers) + 1))
    assert row.offset + row.num_frames <= len(numbers)
    assert read_frames(sequence, "rawframes", [row.offset + 1]).shape == (1, 16, 16, 3)


def test_generation_is_deterministic(tiny_root, tmp_path):
    again = generate(tmp_path / "again")
    assert file_digests(again) == file_digests(tiny_root)


def test_existing_dataset_is_reused_by_config_hash(tmp_path):
    root = generate(tmp_path)
    metadata = root / "synthetic_k2b.json"
    assert json.loads(metadata.read_text())["config_hash"] == TINY.config_hash()
    video = next((root / "k400").rglob("*.mp4"))
    video.write_bytes(b"marker")  # would be rewritten by a second generation
    generate(root)
    assert video.read_bytes() == b"marker"

    other = dataclasses.replace(TINY, seed=1)
    assert other.config_hash() != TINY.config_hash()
    generate(root, other)
    assert json.loads(metadata.read_text())["config_hash"] == other.config_hash()
    assert not video.exists() or video.read_bytes() != b"marker"
    assert not [p for p in root.iterdir() if p.name.startswith(".synthetic_k2b-")]  # no staging left


def test_refuses_to_overwrite_data_it_did_not_write(tmp_path):
    (tmp_path / "k400" / "train").mkdir(parents=True)
    with pytest.raises(FileExistsError, match="not written by the synthetic generator"):
        generate(tmp_path)


def test_config_validation():
    with pytest.raises(ValueError, match="num_classes"):
        SyntheticK2BConfig(num_classes=1)
    with pytest.raises(ValueError, match="format"):
        SyntheticK2BConfig(format="gif")
    with pytest.raises(ValueError, match="frame_size"):
        SyntheticK2BConfig(frame_size=33)
    with pytest.raises(ValueError, match="target_speed_range"):
        SyntheticK2BConfig(target_speed_range=(2.0, 0.5))
    with pytest.raises(ValueError, match="version must be one of"):
        SyntheticK2BConfig(version=1)
    with pytest.raises(ValueError, match="source_actions_per_clip"):
        SyntheticK2BConfig(source_actions_per_clip=(0, 2))
    assert SyntheticK2BConfig().config_hash() != SyntheticK2BConfig(version=2).config_hash()


@pytest.mark.parametrize("name", sorted(MOTION_PATTERNS))
def test_every_motion_stays_in_the_frame_and_moves(name):
    for seed in range(5):
        trajectory = motion_trajectory(name, 90, 1.0, 30.0, 48, np.random.default_rng(seed))
        for values in (trajectory.x, trajectory.y):
            assert values.min() >= 0 and values.max() <= 48
        motion = (
            np.abs(np.diff(trajectory.x)) + np.abs(np.diff(trajectory.y)) + np.abs(np.diff(trajectory.radius))
        )
        assert motion.sum() > 5  # pixels travelled (or grown) over 3 cycles


def test_target_sequence_is_on_a_plain_background():
    frames, rows = render_target_sequence(
        TINY, [(0, 20, 1.0), (1, 20, 2.0)], [3, 5], np.random.default_rng(0)
    )
    assert rows == [(3, 20, 0), (28, 20, 1)] and len(frames) == 48
    background = np.median(frames, axis=0)
    corner_values = background[:2, :2].reshape(-1, 3)
    assert np.ptp(corner_values) == 0  # one grey everywhere the actor is not


def test_preview_grid_is_a_png(tmp_path):
    path = save_preview_grid(tmp_path / "grid.png", TINY, num_columns=3, frame_step=2)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 100 and image.height > 100


def test_worker_processes_write_the_same_files(tiny_root, tmp_path):
    again = generate_synthetic_k2b(tmp_path, TINY, progress=False, num_workers=2)
    assert file_digests(again) == file_digests(tiny_root)


@pytest.mark.parametrize("fraction, expected", [(0.0, set()), (1.0, {True})])
def test_background_cue_fraction_selects_the_cue_videos(fraction, expected):
    config = dataclasses.replace(TINY, background_cue_fraction=fraction)
    assert {item.with_cue for item in plan_source(config, "train") if item.with_cue} == expected
    assert len(plan_source(config, "train")) == 3 * 2


def test_make_synthetic_k2b_cli(tmp_path):
    command = [
        sys.executable,
        str(Path(__file__).resolve().parents[2] / "scripts" / "make_synthetic_k2b.py"),
        "--output_dir", str(tmp_path / "data"),
        "--num_workers", "1",
        "--num_classes", "2",
        "--frame_size", "16",
        "--source_train_per_class", "1",
        "--source_test_per_class", "1",
        "--source_num_frames", "16", "20",
        "--target_train_sequences", "1",
        "--target_test_sequences", "1",
        "--segments_per_sequence", "2", "2",
        "--format", "rawframes",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    metadata = json.loads((tmp_path / "data" / "synthetic_k2b.json").read_text())
    assert metadata["config"]["source_num_frames"] == [16, 20] and metadata["config"]["format"] == "rawframes"
    assert metadata["counts"]["k400_train"] == 2 and metadata["counts"]["babel_test"] == 2


def test_target_action_fraction_leaves_the_actor_standing_for_the_rest_of_the_segment():
    config = dataclasses.replace(TINY, target_action_fraction=(0.5, 0.5))
    frames, rows = render_target_sequence(config, [(1, 40, 1.0)], [0], np.random.default_rng(0))
    still = (np.abs(np.diff(frames.astype(int), axis=0)).sum(axis=(1, 2, 3)) == 0).sum()
    assert 19 - 1 <= still <= 20  # 20 action frames: the other 20 repeat the first or the last pose
    moving = render_target_sequence(TINY, [(1, 40, 1.0)], [0], np.random.default_rng(0))[0]
    assert (np.abs(np.diff(moving.astype(int), axis=0)).sum(axis=(1, 2, 3)) == 0).sum() < 5
    with pytest.raises(ValueError, match="target_action_fraction"):
        SyntheticK2BConfig(target_action_fraction=(0.5, 1.5))


@pytest.mark.parametrize("name", sorted(ONE_SHOT_ACTIONS))
def test_every_one_shot_action_stays_in_the_frame_and_moves(name):
    for seed in range(5):
        trajectory = one_shot_trajectory(name, 60, 48, np.random.default_rng(seed))
        for values in (trajectory.x, trajectory.y):
            assert values.min() >= 0 and values.max() <= 48
        motion = (
            np.abs(np.diff(trajectory.x)) + np.abs(np.diff(trajectory.y)) + np.abs(np.diff(trajectory.radius))
        )
        assert motion.sum() > 5


def _offsets(name: str, progress: np.ndarray, direction: float) -> np.ndarray:
    return np.stack(ONE_SHOT_ACTIONS[name](progress, direction))


def test_no_one_shot_action_is_a_time_reverse_of_itself_or_of_another():
    """Clip order is learnable from motion only if an action played backwards looks like no action at all (either
    way round: horizontal flips are an augmentation)."""
    progress = np.linspace(0.0, 1.0, 61)
    for name in ONE_SHOT_ACTIONS:
        backwards = _offsets(name, progress[::-1], 1.0)
        backwards -= backwards.mean(axis=1, keepdims=True)  # the place is random: compare shapes of the path
        for other in ONE_SHOT_ACTIONS:
            for direction in (1.0, -1.0):
                forwards = _offsets(other, progress, direction)
                forwards -= forwards.mean(axis=1, keepdims=True)
                difference = np.abs(backwards - forwards).mean()
                assert difference > 0.05, (
                    f"{name} backwards looks like {other} (mean offset gap {difference:.3f})"
                )


def test_a_version_3_source_clip_holds_one_or_two_actions_inside_it():
    config = dataclasses.replace(TINY, frame_size=32, source_actions_per_clip=(1, 1), period_frames=40.0)
    frames = render_source_video(config, 2, 150, 1.0, False, np.random.default_rng(0))
    moving = np.abs(np.diff(frames.astype(int), axis=0)).sum(axis=(1, 2, 3)) > 0
    assert frames.shape == (150, 32, 32, 3)
    assert 30 <= moving.sum() <= 40  # one 40-frame action; the actor stands still for the other 110 frames
    twice = dataclasses.replace(config, source_actions_per_clip=(2, 2))
    frames = render_source_video(twice, 2, 150, 1.0, False, np.random.default_rng(0))
    moving = np.abs(np.diff(frames.astype(int), axis=0)).sum(axis=(1, 2, 3)) > 0
    assert 60 <= moving.sum() <= 149  # two actions and the walk between them
    crowded = dataclasses.replace(config, source_actions_per_clip=(3, 3), period_frames=100.0)
    frames = render_source_video(crowded, 2, 150, 1.0, False, np.random.default_rng(0))
    assert len(frames) == 150  # only one 100-frame action fits


def test_a_version_3_target_segment_is_one_whole_action_whatever_its_length():
    config = dataclasses.replace(TINY, frame_size=32, target_action_fraction=(1.0, 1.0))
    for length in (16, 200):
        frames, _ = render_target_sequence(config, [(0, length, 1.0)], [0], np.random.default_rng(1))
        moving = np.abs(np.diff(frames.astype(int), axis=0)).sum(axis=(1, 2, 3)) > 0
        # The jump ends where it started vertically, ahead of it horizontally: one leap, not a repeated hop.
        path = frames.astype(int).sum(axis=3)
        assert moving.mean() > 0.5 and not np.array_equal(path[0], path[-1])


def test_temporal_gap_reports_action_lengths_and_local_view_share_per_domain():
    gap = temporal_gap(SyntheticK2BConfig())
    source, target = gap["source"], gap["target"]
    assert 48 <= source["action_frames"][1] <= 75  # period 60 frames over speeds 0.8-1.25
    assert target["action_frames"][0] < 25 and target["action_frames"][2] > 100  # log-normal, median 54
    assert (
        target["local_view_share"][2] > 2 * source["local_view_share"][2]
    )  # short targets: a local view sees most
    with pytest.raises(ValueError, match="version 3"):
        temporal_gap(SyntheticK2BConfig(version=2))


def test_version_2_renders_as_before_version_3():
    """The `v2` benchmark preset keeps its tables reproducible: its videos are the frames the version-2 generator
    wrote (digests recorded from the code before version 3 existed)."""
    from glad_hf.training.benchmark_presets import PRESETS

    config = PRESETS["v2"].data
    item = plan_source(config, "train")[123]
    source = render_source_video(
        config, item.label, item.num_frames, item.speed, item.with_cue, np.random.default_rng(item.seed)
    )
    target_item = plan_target(config, "val", 125)[7]
    target, _ = render_target_sequence(
        config,
        list(target_item.segments),
        list(target_item.transitions),
        np.random.default_rng(target_item.seed),
    )
    assert hashlib.sha256(source.tobytes()).hexdigest()[:16] == "320be4f8d87b4132"
    assert hashlib.sha256(target.tobytes()).hexdigest()[:16] == "8339f33f153bc250"


def test_a_second_generator_waits_for_the_first_and_reuses_its_dataset(tiny_root, tmp_path, monkeypatch):
    """One generator per root at a time (a file lock): one arriving while another holds the root finds no
    dataset, waits for the lock, then reuses what the first wrote instead of generating again."""
    from glad_hf.data.synthetic import writing

    root = tmp_path / "root"
    root.mkdir()
    checked, errors = threading.Event(), []
    is_complete = writing._is_complete

    def spy(*args):
        complete = is_complete(*args)
        checked.set()
        return complete

    def second_generator():
        try:
            generate(root)
        except Exception as error:  # reported by the assertion below
            errors.append(error)

    monkeypatch.setattr(writing, "_is_complete", spy)
    with writing._exclusive_lock(root):  # the first generator holds the root
        waiter = threading.Thread(target=second_generator)
        waiter.start()
        assert checked.wait(60)  # the second found no dataset ...
        waiter.join(0.5)
        assert waiter.is_alive() and not (root / "k400").exists()  # ... and waits
        shutil.copytree(tiny_root, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".*"))
        video = next((root / "k400").rglob("*.mp4"))
        video.write_bytes(b"marker")  # a second generation would rewrite it
    waiter.join(120)
    assert not waiter.is_alive() and errors == []
    assert video.read_bytes() == b"marker"


def test_the_data_package_imports_without_fcntl():
    """Windows has no `fcntl`; the generator's lock is `filelock`'s, so `import glad_hf.data` works there."""
    code = "import sys; sys.modules['fcntl'] = None; import glad_hf.data.synthetic, glad_hf.data"
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
