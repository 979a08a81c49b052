"""Fixtures that write tiny media (mp4 with PyAV, JPEG rawframe folders with PIL) and annotation tars.

Tests reach the helpers through the `media` fixture (a `conftest` module is not importable reliably when
several test folders have one).

Every frame is a flat colour that encodes its frame number in base 16 (red, green, blue digits in steps of 16
levels; numbers up to 4095), so a test can tell which frame a decoded image is through JPEG or H.264.
"""

import io
import tarfile
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image


def frame_image(number: int, size: int = 32) -> np.ndarray:
    """uint8 [size, size, 3] flat frame encoding `number` (0-4095)."""
    digits = [number % 16, number // 16 % 16, number // 256]
    return np.broadcast_to(np.array(digits, dtype=np.uint8) * 16 + 8, (size, size, 3)).copy()


def frame_number_of(frames) -> np.ndarray:
    """Frame numbers encoded in frames `[..., H, W, 3]` (uint8 numpy) or `[..., 3, H, W]` (torch, 0-255)."""
    array = np.asarray(frames, dtype=np.float64)
    if array.shape[-1] != 3:
        array = np.moveaxis(array, -3, -1)
    digits = np.rint((array.mean(axis=(-3, -2)) - 8) / 16)
    return (digits[..., 0] + 16 * digits[..., 1] + 256 * digits[..., 2]).astype(np.int64)


def write_mp4(path: Path, num_frames: int, size: int = 32, gop: int = 8, faststart: bool = False) -> Path:
    """H.264 mp4 whose frame i encodes the number i; a keyframe every `gop` frames."""
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), mode="w", format="mp4", options=options) as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "threads": "1"}
        for number in range(num_frames):
            for packet in stream.encode(
                av.VideoFrame.from_ndarray(frame_image(number, size), format="rgb24")
            ):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_rawframes(folder: Path, numbers, size: int = 32) -> Path:
    """JPEG frames `img_{n:05d}.jpg` for every n in `numbers`, each encoding n."""
    folder.mkdir(parents=True, exist_ok=True)
    for number in numbers:
        Image.fromarray(frame_image(number, size)).save(folder / f"img_{number:05d}.jpg", quality=95)
    return folder


def write_annotation_tar(path: Path, lists: dict[str, list[str]]) -> Path:
    """A tar laid out as the official one: `kinetics2babel/<name>.txt` for each list."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tar:
        for name, lines in lists.items():
            data = "".join(line + "\n" for line in lines).encode()
            info = tarfile.TarInfo(f"kinetics2babel/{name}.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


# A tiny benchmark: 3 Kinetics clips per split, 2 BABEL sequences holding 3 / 2 segments.
TINY_LISTS = {
    "k400_train": [
        "long_jump/aaaaaaaaaaa_000000_000010 40 0",
        "jogging/bbbbbbbbbbb_000005_000015 24 1",
        "clapping/ccccccccccc_000001_000011 30 10",
    ],
    "k400_test": [
        "high_jump/ddddddddddd_000000_000010 36 0",
        "squat/eeeeeeeeeee_000002_000012 20 7",
    ],
    "babel_train": ["train/000001 0 20 3", "train/000001 25 40 5", "train/000002 3 15 9"],
    "babel_test": ["val/000010 10 30 11", "val/000010 45 17 2"],
}
# Frames each BABEL sequence has (enough for every segment above).
TINY_BABEL_SEQUENCE_FRAMES = {"train/000001": 70, "train/000002": 24, "val/000010": 64}


def write_tiny_benchmark(root: Path, media: str) -> Path:
    """`root/k400`, `root/babel` (rawframes or mp4) and `root/kinetics2babel.tar` with TINY_LISTS."""
    for name in ("k400_train", "k400_test"):
        split_dir = "train" if name == "k400_train" else "val"
        for line in TINY_LISTS[name]:
            rel_path, num_frames, _ = line.split()
            base = root / "k400" / split_dir / rel_path
            if media == "rawframes":
                write_rawframes(base, range(int(num_frames)))
            else:
                write_mp4(base.with_name(base.name + ".mp4"), int(num_frames))
    for rel_path, num_frames in TINY_BABEL_SEQUENCE_FRAMES.items():
        base = root / "babel" / rel_path
        if media == "rawframes":
            write_rawframes(base, range(1, num_frames + 1))
        else:
            write_mp4(base.with_name(base.name + ".mp4"), num_frames)
    write_annotation_tar(root / "kinetics2babel.tar", TINY_LISTS)
    return root


class MediaHelpers:
    """What the `media` fixture gives a test."""

    frame_image = staticmethod(frame_image)
    frame_number_of = staticmethod(frame_number_of)
    write_mp4 = staticmethod(write_mp4)
    write_rawframes = staticmethod(write_rawframes)
    write_annotation_tar = staticmethod(write_annotation_tar)
    write_tiny_benchmark = staticmethod(write_tiny_benchmark)
    TINY_LISTS = TINY_LISTS
    TINY_BABEL_SEQUENCE_FRAMES = TINY_BABEL_SEQUENCE_FRAMES


@pytest.fixture(scope="session")
def media() -> type[MediaHelpers]:
    return MediaHelpers


@pytest.fixture
def shared_tar(shared_dir) -> Path:
    path = shared_dir / "data" / "kinetics2babel.tar"
    if not path.is_file():
        pytest.skip(f"the real annotation tar is not at {path}")
    return path


@pytest.fixture(scope="session")
def tiny_rawframes_root(tmp_path_factory) -> Path:
    return write_tiny_benchmark(tmp_path_factory.mktemp("tiny_rawframes"), "rawframes")


@pytest.fixture(scope="session")
def tiny_video_root(tmp_path_factory) -> Path:
    return write_tiny_benchmark(tmp_path_factory.mktemp("tiny_video"), "video")
