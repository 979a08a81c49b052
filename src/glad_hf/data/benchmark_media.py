"""A mini Kinetics->BABEL in the real layout for the data-path benchmarks (`scripts/benchmark_decoding.py`,
`scripts/benchmark_data_path.py`, `scripts/benchmark_gpu.py`): full-resolution textured clips written as JPEG
rawframes and as H.264 mp4, with the annotation tar that `load_k2b_domains` reads."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import av
import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from glad_hf.data.background import BackgroundBlend
from glad_hf.data.builder import load_k2b_domains
from glad_hf.data.transforms import VideoTrainTransform
from glad_hf.data.video_datasets import DomainPairedDataset, GladClipDataset
from glad_hf.labels import K2B_LABELS, K400_CLASSES_PER_LABEL

SOURCE_FRAMES = 300
TARGET_SEGMENT_FRAMES = 54
TARGET_SEGMENTS_PER_RENDER = 6


def synthetic_video(num_frames: int, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 [F, H, W, 3]: a smooth textured scene panning slowly, with a moving square (compresses like video)."""
    coarse = rng.integers(0, 256, (height // 16 + 2, width // 16 + 2, 3), dtype=np.uint8)
    scene = np.asarray(Image.fromarray(coarse).resize((width + 2 * num_frames, height), Image.BICUBIC))
    scene = np.clip(scene.astype(np.int16) + rng.integers(-12, 12, scene.shape), 0, 255).astype(np.uint8)
    frames = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    for t in range(num_frames):
        frames[t] = scene[:, 2 * t : 2 * t + width]
        y, x = (t * 3) % (height - 40), (t * 5) % (width - 40)
        frames[t, y : y + 40, x : x + 40] = (255, 64, 32)
    return frames


def write_rawframes(folder: Path, frames: np.ndarray, first_number: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"img_{first_number + i:05d}.jpg", quality=90)


def write_mp4(path: Path, frames: np.ndarray, gop: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"g": str(gop), "crf": "23", "threads": "1"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_benchmark_data(
    root: Path,
    num_videos: int,
    gops: list[int],
    *,
    source_size: tuple[int, int] = (340, 256),
    target_size: tuple[int, int] = (320, 240),
) -> dict[str, Path]:
    """One benchmark root per layout ("rawframes", "mp4, keyframe every N"), each with k400/, babel/ and the lists
    tar: `num_videos` Kinetics-like training clips of 300 frames at `source_size` (width, height; the reference's
    resized rawframes) and as many BABEL-like renders at `target_size`, each of six 54-frame segments; a quarter as
    many (at least one) of each in the test splits. Video i is of class i mod 12 (one Kinetics folder per class)."""
    rng = np.random.default_rng(0)
    layouts = {
        "rawframes": root / "rawframes",
        **{f"mp4, keyframe every {g}": root / f"mp4_gop{g}" for g in gops},
    }
    lists = {"k400_train": [], "k400_test": [], "babel_train": [], "babel_test": []}
    render_frames = TARGET_SEGMENTS_PER_RENDER * TARGET_SEGMENT_FRAMES
    num_test = max(1, num_videos // 4)  # test splits: Kinetics val/ clips and BABEL val/ renders of their own
    for index in tqdm(range(num_videos + num_test), desc="writing benchmark videos"):
        split = "train" if index < num_videos else "test"
        folder = "train" if split == "train" else "val"
        label = index % len(K2B_LABELS)  # the classes in turn: 12 videos or more hold every class
        clip_name = f"{K400_CLASSES_PER_LABEL[K2B_LABELS[label]][0]}/video{index:05d}xx_000000_000010"
        sequence = f"{index:06d}"
        clip = synthetic_video(SOURCE_FRAMES, *source_size, rng)
        render = synthetic_video(render_frames, *target_size, rng)
        for layout, layout_root in layouts.items():
            clip_base = layout_root / "k400" / folder / clip_name
            render_base = layout_root / "babel" / folder / sequence
            if layout == "rawframes":
                write_rawframes(clip_base, clip, first_number=0)
                write_rawframes(render_base, render, first_number=1)
            else:
                gop = int(layout.rsplit(" ", 1)[-1])
                write_mp4(clip_base.with_name(clip_base.name + ".mp4"), clip, gop)
                write_mp4(render_base.with_name(render_base.name + ".mp4"), render, gop)
        lists[f"k400_{split}"].append(f"{clip_name} {SOURCE_FRAMES} {label}")
        lists[f"babel_{split}"].extend(
            f"{folder}/{sequence} {k * TARGET_SEGMENT_FRAMES} {TARGET_SEGMENT_FRAMES} {label}"
            for k in range(TARGET_SEGMENTS_PER_RENDER)
        )
    for layout_root in layouts.values():
        with tarfile.open(layout_root / "kinetics2babel.tar", "w") as tar:
            for name, lines in lists.items():
                data = "".join(line + "\n" for line in lines).encode()
                info = tarfile.TarInfo(f"kinetics2babel/{name}.txt")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return layouts


def load_benchmark_domains(layout: str, layout_root: Path, *, cache_dir: Path) -> dict:
    """{"source", "target"} of one layout root of `write_benchmark_data` ("rawframes" or an mp4 layout)."""
    return load_k2b_domains(
        "kinetics2babel",
        layout_root,
        annotations=layout_root / "kinetics2babel.tar",
        cache_dir=cache_dir,
        media="rawframes" if layout == "rawframes" else "video",
    )


def write_backgrounds(folder: Path, count: int = 4) -> Path:
    """`count` random 340x256 JPEG backgrounds for BackgroundBlend (the medians' stand-in)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for index in range(count):
        Image.fromarray(rng.integers(0, 256, (256, 340, 3), dtype=np.uint8)).save(folder / f"bg{index}.jpg")
    return folder


def stage2_benchmark_dataset(
    domains: dict,
    backgrounds: Path,
    *,
    layout: str = "compact",
    crop_size: int = 224,
    decode_threads: int = 1,
) -> DomainPairedDataset:
    """Stage-2 items with the paper's transforms (SPEC §7): source clips in train mode with MultiScaleCrop, flip and
    BackgroundBlend (p 0.25, alpha 0.75), target clips in test mode; short side `crop_size * 256 / 224`."""
    sizes = dict(short_side=round(crop_size * 256 / 224), crop_size=crop_size)
    common = dict(layout=layout, replace_unreadable=True, decode_threads=decode_threads)
    blend = BackgroundBlend(backgrounds, p=0.25, alpha=0.75)
    source = GladClipDataset(
        domains["source"]["train"],
        VideoTrainTransform(**sizes, background_blend=blend),
        test_mode=False,
        **common,
    )
    target = GladClipDataset(
        domains["target"]["train"], VideoTrainTransform(**sizes), test_mode=True, seed=1, **common
    )
    return DomainPairedDataset(source, target)
