"""Stage-2 loading throughput: decoding only the frames the views use vs decoding all 64 sampled frames.

Generates Kinetics-like clips (300 frames, 340x256, the size of the reference's resized rawframes) and
BABEL-like renders with 54-frame segments, once as JPEG rawframes and as mp4 (H.264, two keyframe
intervals), indexes them with the `Kinetics2Babel` builder, and times `GladClipDataset` samples side by side
in one process with one thread: source rows in train mode with the stage-2 train transform, target rows in
test mode. Prints a markdown table.

    python scripts/benchmark_decoding.py --num-videos 6 --num-samples 24
"""

from __future__ import annotations

import argparse
import io
import itertools
import statistics
import tarfile
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from glad_hf.data import GladClipDataset, VideoTrainTransform, load_k2b_domains
from glad_hf.data.transforms import VideoTestTransform

SOURCE_FRAMES = 300
TARGET_SEGMENT_FRAMES = 54
TARGET_SEGMENTS_PER_RENDER = 6
LABEL, KINETICS_CLASS = 7, "squat"


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
    root: Path, num_videos: int, width: int, height: int, gops: list[int]
) -> dict[str, Path]:
    """One benchmark root per layout ("rawframes", "mp4 gop N"), each with k400/, babel/ and the lists tar."""
    rng = np.random.default_rng(0)
    layouts = {
        "rawframes": root / "rawframes",
        **{f"mp4, keyframe every {g}": root / f"mp4_gop{g}" for g in gops},
    }
    lists = {"k400_train": [], "k400_test": [], "babel_train": [], "babel_test": []}
    render_frames = TARGET_SEGMENTS_PER_RENDER * TARGET_SEGMENT_FRAMES
    for index in tqdm(range(num_videos), desc="writing benchmark videos"):
        clip_name = f"{KINETICS_CLASS}/video{index:05d}xx_000000_000010"
        sequence = f"{index:06d}"
        clip = synthetic_video(SOURCE_FRAMES, width, height, rng)
        render = synthetic_video(render_frames, width, height, rng)
        for layout, layout_root in layouts.items():
            clip_base = layout_root / "k400" / "train" / clip_name
            render_base = layout_root / "babel" / "train" / sequence
            if layout == "rawframes":
                write_rawframes(clip_base, clip, first_number=0)
                write_rawframes(render_base, render, first_number=1)
            else:
                gop = int(layout.rsplit(" ", 1)[-1])
                write_mp4(clip_base.with_name(clip_base.name + ".mp4"), clip, gop)
                write_mp4(render_base.with_name(render_base.name + ".mp4"), render, gop)
        lists["k400_train"].append(f"{clip_name} {SOURCE_FRAMES} {LABEL}")
        lists["babel_train"].extend(
            f"train/{sequence} {k * TARGET_SEGMENT_FRAMES} {TARGET_SEGMENT_FRAMES} {LABEL}"
            for k in range(TARGET_SEGMENTS_PER_RENDER)
        )
    lists["k400_test"], lists["babel_test"] = lists["k400_train"][:1], lists["babel_train"][:1]  # unused
    for layout_root in layouts.values():
        with tarfile.open(layout_root / "kinetics2babel.tar", "w") as tar:
            for name, lines in lists.items():
                data = "".join(line + "\n" for line in lines).encode()
                info = tarfile.TarInfo(f"kinetics2babel/{name}.txt")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return layouts


def decode_only(frames: torch.Tensor, generator=None) -> torch.Tensor:
    """Stand-in transform isolating the decoding cost: a 224 crop (same grid size as the real transforms)."""
    return frames[..., :224, :224].to(torch.float32)


def samples_per_second(dataset: GladClipDataset, num_samples: int, epoch: int) -> float:
    dataset.set_epoch(epoch)
    start = time.perf_counter()
    for i in range(num_samples):
        dataset[i % len(dataset)]
    return num_samples / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--num-videos", type=int, default=6, help="Kinetics-like clips and BABEL-like renders"
    )
    parser.add_argument("--num-samples", type=int, default=24, help="samples timed per setting and repeat")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats; the median is reported")
    parser.add_argument("--width", type=int, default=340)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--gops", default="32,250", help="keyframe intervals of the mp4 variants (x264: 250)")
    parser.add_argument("--work-dir", type=Path, default=None, help="where to write the data (default: temp)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as temp_dir:
        root = args.work_dir or Path(temp_dir)
        gops = [int(g) for g in args.gops.split(",")]
        layouts = write_benchmark_data(root, args.num_videos, args.width, args.height, gops)
        settings = []
        for layout, layout_root in layouts.items():
            domains = load_k2b_domains(
                "kinetics2babel",
                layout_root,
                annotations=layout_root / "kinetics2babel.tar",
                cache_dir=root / "cache",
                media="rawframes" if layout == "rawframes" else "video",
            )
            backends = ["-"] if layout == "rawframes" else ["decord", "pyav"]
            for backend, (domain, split, test_mode, transform) in itertools.product(
                backends,
                [
                    ("source (train mode)", domains["source"]["train"], False, VideoTrainTransform()),
                    ("target (test mode)", domains["target"]["train"], True, VideoTestTransform()),
                ],
            ):
                video_backend = "auto" if backend == "-" else backend
                settings.append(
                    {
                        "key": (layout, backend, domain),
                        **{
                            (pipeline, mode): GladClipDataset(
                                split, used_transform, test_mode, decode=mode, video_backend=video_backend
                            )
                            for pipeline, used_transform in (("full", transform), ("decode", decode_only))
                            for mode in ("views", "all")
                        },
                    }
                )
        runs = [(pipeline, mode) for pipeline in ("full", "decode") for mode in ("views", "all")]
        timings = [{run: [] for run in runs} for _ in settings]
        for repeat in tqdm(range(args.repeats), desc="timing"):
            for setting, timing in zip(settings, timings, strict=True):
                for run in runs if repeat % 2 == 0 else runs[::-1]:  # alternate the order
                    timing[run].append(samples_per_second(setting[run], args.num_samples, repeat))

    samples = args.num_samples * args.repeats
    print(
        f"\nStage-2 samples/s, one process, one thread; {args.width}x{args.height} frames; source: "
        f"{SOURCE_FRAMES}-frame clips, train mode + train transform; target: {TARGET_SEGMENT_FRAMES}-frame "
        f"segments, test mode + test transform; median of {args.repeats} interleaved repeats of "
        f"{args.num_samples} samples (speed-up: median of the per-repeat ratios). 'decode only' swaps the transform for a crop to 224 (no resize, no "
        f"normalisation). Frames decoded: JPEG files, frames asked of decord, frames out of PyAV's decoder "
        f"(those before a wanted frame in its GOP included).\n"
    )
    print(
        "| media | backend | domain | views samples/s | all-64 samples/s | speed-up | decode-only speed-up "
        "| frames decoded / sample (views vs all) |"
    )
    print("|---|---|---|---:|---:|---:|---:|---|")
    for setting, timing in zip(settings, timings, strict=True):
        layout, backend, domain = setting["key"]
        views, everything = (statistics.median(timing[("full", mode)]) for mode in ("views", "all"))
        # Speed-ups are medians of per-repeat ratios: views and all are timed back to back in each repeat.
        speed_up, decode_speed_up = (
            statistics.median(v / a for v, a in zip(timing[(p, "views")], timing[(p, "all")], strict=True))
            for p in ("full", "decode")
        )
        decoded = " vs ".join(
            f"{setting[('full', mode)].frames_decoded / samples:.0f}" for mode in ("views", "all")
        )
        print(
            f"| {layout} | {backend} | {domain} | {views:.2f} | {everything:.2f} | {speed_up:.2f}x | "
            f"{decode_speed_up:.2f}x | {decoded} |"
        )


if __name__ == "__main__":
    main()
