import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from glad_hf.data.annotations import AnnotationRow
from glad_hf.data.background import BackgroundBlend, extract_backgrounds, median_background
from glad_hf.data.transforms import VideoTrainTransform

REPO_ROOT = Path(__file__).resolve().parents[2]


def row(rel_path: str, num_frames: int, offset: int = 0, label: int = 0) -> AnnotationRow:
    return AnnotationRow(rel_path, offset, num_frames, label, line_number=1, source_file="test")


def save_png(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def read_image(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(np.int64)


# --- median_background ------------------------------------------------------------------------------------------


def test_median_background_is_the_per_pixel_temporal_median():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (5, 4, 6, 3), dtype=np.uint8)
    median = median_background(frames)
    assert median.shape == (4, 6, 3) and median.dtype == np.uint8
    assert np.array_equal(median, np.sort(frames, axis=0)[2])


def test_median_background_of_even_counts_truncates_the_middle_mean():
    frames = np.array([0, 1, 2, 5], dtype=np.uint8).reshape(4, 1, 1, 1).repeat(3, axis=3)
    assert median_background(frames)[0, 0].tolist() == [1, 1, 1]  # (1 + 2) / 2 = 1.5 -> 1


def test_median_background_removes_a_moving_object():
    frames = np.full((7, 8, 8, 3), 90, dtype=np.uint8)
    for t in range(7):
        frames[t, 3, t] = 255  # a dot crossing the row
    assert np.all(median_background(frames) == 90)


def test_median_background_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\[F>0, H, W, 3\]"):
        median_background(np.zeros((4, 4, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"\[F>0, H, W, 3\]"):
        median_background(np.zeros((0, 4, 4, 3), dtype=np.uint8))


# --- BackgroundBlend --------------------------------------------------------------------------------------------


def test_blend_with_p_one_mixes_a_known_background(tmp_path):
    save_png(tmp_path / "bg" / "a" / "only.png", np.full((40, 60, 3), 200, dtype=np.uint8))
    blend = BackgroundBlend(tmp_path / "bg", p=1.0, alpha=0.75)
    frames = torch.full((4, 3, 16, 16), 100.0)
    out = blend(frames, torch.Generator().manual_seed(0))
    assert out.shape == frames.shape
    torch.testing.assert_close(out, torch.full_like(frames, 0.75 * 100 + 0.25 * 200))


def test_blend_centre_crops_the_resized_background(tmp_path):
    # Left half black, right half white, 20 x 40: short side 20 -> round(16 * 256 / 224) = 18 -> 18 x 36,
    # centre crop 16 x 16 keeps columns 10..25, i.e. 8 black and 8 white columns.
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)
    pixels[:, 20:] = 255
    save_png(tmp_path / "bg" / "halves.png", pixels)
    background = BackgroundBlend(tmp_path / "bg").load_background(0, 16)
    assert background.shape == (3, 16, 16)
    assert background[0, 8, :7].max() < 10 and background[0, 8, 9:].min() > 245


def test_blend_probability_and_generator(tmp_path):
    save_png(tmp_path / "bg" / "one.png", np.full((16, 16, 3), 0, dtype=np.uint8))
    save_png(tmp_path / "bg" / "two.png", np.full((16, 16, 3), 255, dtype=np.uint8))
    frames = torch.full((2, 3, 16, 16), 100.0)
    assert torch.equal(BackgroundBlend(tmp_path / "bg", p=0.0)(frames, torch.Generator()), frames)
    blend = BackgroundBlend(tmp_path / "bg", p=0.25, alpha=0.5)
    outcomes = [blend(frames, torch.Generator().manual_seed(seed))[0, 0, 0, 0].item() for seed in range(400)]
    counts = {value: outcomes.count(value) for value in set(outcomes)}
    assert set(counts) == {100.0, 50.0, 177.5}  # unchanged, blended with black, blended with white
    assert 60 < counts[50.0] + counts[177.5] < 140
    assert outcomes == [
        blend(frames, torch.Generator().manual_seed(seed))[0, 0, 0, 0].item() for seed in range(400)
    ]


def test_blend_inside_the_train_transform_happens_before_normalisation(tmp_path):
    save_png(tmp_path / "bg" / "grey.png", np.full((32, 32, 3), 200, dtype=np.uint8))
    transform = VideoTrainTransform(
        crop_size=16, short_side=20, background_blend=BackgroundBlend(tmp_path / "bg", p=1.0, alpha=0.75)
    )
    video = torch.full((3, 3, 20, 30), 100, dtype=torch.uint8)
    out = transform(video, torch.Generator().manual_seed(0))
    pixels = out * torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    pixels = pixels + torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    torch.testing.assert_close(pixels, torch.full_like(pixels, 125.0), atol=1e-3, rtol=0)


def test_blend_errors_name_the_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match="no background images .* under .*empty"):
        BackgroundBlend(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="missing.*extract_backgrounds"):
        BackgroundBlend(tmp_path / "missing")
    save_png(tmp_path / "bg" / "x.png", np.zeros((8, 8, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="alpha"):
        BackgroundBlend(tmp_path / "bg", alpha=1.5)
    with pytest.raises(ValueError, match="image_size=32"):
        BackgroundBlend(tmp_path / "bg", image_size=32)(torch.zeros(1, 3, 16, 16), torch.Generator())


# --- extract_backgrounds ----------------------------------------------------------------------------------------


@pytest.fixture
def kinetics_split(tmp_path, media) -> tuple[Path, list[AnnotationRow]]:
    """train/ with two rawframe clips (5 and 6 frames) and one mp4 (7 frames); frame n encodes n."""
    root = tmp_path / "k400" / "train"
    media.write_rawframes(root / "long_jump" / "aaaaaaaaaaa_000000_000010", range(5))
    media.write_rawframes(root / "jogging" / "bbbbbbbbbbb_000001_000011", range(6))
    media.write_mp4(root / "clapping" / "ccccccccccc_000002_000012.mp4", 7)
    rows = [
        row("long_jump/aaaaaaaaaaa_000000_000010", 5),
        row("jogging/bbbbbbbbbbb_000001_000011", 6, label=1),
        row("clapping/ccccccccccc_000002_000012", 7, label=10),
    ]
    return root, rows


def test_extract_backgrounds_writes_medians_mirroring_the_rows(tmp_path, kinetics_split, media):
    data_root, rows = kinetics_split
    out = tmp_path / "median"
    summary = extract_backgrounds(data_root, rows, out, num_workers=1, progress=False)
    assert summary == {"total": 3, "written": 3, "skipped": 0, "output_dir": str(out)}
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == [
        "clapping/ccccccccccc_000002_000012.jpg",
        "jogging/bbbbbbbbbbb_000001_000011.jpg",
        "long_jump/aaaaaaaaaaa_000000_000010.jpg",
    ]
    # Frames encode their numbers in the red channel: the median of 0..4 is frame 2, of 0..6 frame 3;
    # of 0..5 it is the mean of frames 2 and 3 (red 40 and 56 -> 48).
    assert np.abs(read_image(out / written[2]) - media.frame_image(2)).max() <= 3
    assert np.abs(read_image(out / written[0]) - media.frame_image(3)).max() <= 3
    assert abs(read_image(out / written[1])[..., 0].mean() - 48) <= 3


def test_extract_backgrounds_resumes_and_overwrites(tmp_path, kinetics_split):
    data_root, rows = kinetics_split
    out = tmp_path / "median"
    extract_backgrounds(data_root, rows, out, num_workers=1, progress=False)
    kept = out / "long_jump" / "aaaaaaaaaaa_000000_000010.jpg"
    os.utime(kept, (1, 1))
    (out / "jogging" / "bbbbbbbbbbb_000001_000011.jpg").unlink()
    summary = extract_backgrounds(data_root, rows, out, num_workers=1, progress=False)
    assert (summary["written"], summary["skipped"]) == (1, 2)
    assert kept.stat().st_mtime == 1
    summary = extract_backgrounds(data_root, rows, out, num_workers=2, overwrite=True, progress=False)
    assert (summary["written"], summary["skipped"]) == (3, 0)
    assert kept.stat().st_mtime > 1
    assert not list(out.rglob("*.tmp"))


def test_extract_backgrounds_uses_segment_frames_with_the_start_index(tmp_path, media):
    # BABEL rawframes are numbered from 1; the segment at offset 2 of length 3 is files 3, 4, 5 -> median 4.
    media.write_rawframes(tmp_path / "babel" / "train" / "000001", range(1, 11))
    out = tmp_path / "median"
    extract_backgrounds(
        tmp_path / "babel", [row("train/000001", 3, offset=2)], out, rawframe_start_index=1, progress=False
    )
    assert np.abs(read_image(out / "train" / "000001.jpg") - media.frame_image(4)).max() <= 3


def test_extract_backgrounds_reports_unreadable_and_missing_videos(tmp_path, kinetics_split):
    data_root, rows = kinetics_split
    broken = data_root / "squat" / "ddddddddddd_000000_000010.mp4"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not a video at all")
    out = tmp_path / "median"
    with pytest.raises(
        RuntimeError, match=r"(?s)1 of 4 .*failed.*ddddddddddd_000000_000010\.mp4: cannot open video"
    ):
        extract_backgrounds(
            data_root, [*rows, row("squat/ddddddddddd_000000_000010", 5, label=7)], out, progress=False
        )
    assert len(list(out.rglob("*.jpg"))) == 3  # the readable ones were written
    with pytest.raises(FileNotFoundError, match="nowhere/eeeeeeeeeee"):
        extract_backgrounds(data_root, [row("nowhere/eeeeeeeeeee", 5)], out, progress=False)


def test_extract_backgrounds_cli(tmp_path, media):
    data_root = tmp_path / "k400" / "train"
    media.write_rawframes(data_root / "long_jump" / "aaaaaaaaaaa_000000_000010", range(3))
    lists = {
        "k400_train": ["long_jump/aaaaaaaaaaa_000000_000010 3 0"],
        "k400_test": [],
        "babel_train": [],
        "babel_test": [],
    }
    tar = media.write_annotation_tar(tmp_path / "kinetics2babel.tar", lists)
    command = [
        sys.executable,
        str(REPO_ROOT / "scripts" / "extract_backgrounds.py"),
        "--data_root",
        str(data_root),
        "--annotations",
        str(tar),
        "--output_dir",
        str(tmp_path / "median"),
        "--num_workers",
        "1",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "median" / "long_jump" / "aaaaaaaaaaa_000000_000010.jpg").is_file()
    assert "written 1" in result.stdout


def test_extract_backgrounds_writes_one_image_per_sequence(tmp_path, media):
    media.write_rawframes(tmp_path / "babel" / "train" / "000001", range(1, 11))
    rows = [row("train/000001", 3, offset=0), row("train/000001", 3, offset=5)]
    summary = extract_backgrounds(
        tmp_path / "babel", rows, tmp_path / "median", rawframe_start_index=1, progress=False
    )
    assert (summary["total"], summary["written"]) == (1, 1)
    # From the first segment: files 1, 2, 3 -> median frame 2.
    assert np.abs(read_image(tmp_path / "median" / "train" / "000001.jpg") - media.frame_image(2)).max() <= 3
