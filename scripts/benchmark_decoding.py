"""Decoders, side by side: stage-2 samples/s of every installed decoder on the same files, decoding only the frames
the views use vs all 64 sampled frames.

Writes a mini Kinetics->BABEL in the real layout (`glad_hf.data.benchmark_media`: 300-frame 340x256 clips,
320x240 renders with 54-frame segments) as JPEG rawframes and as mp4 (H.264, two keyframe intervals), and times
`GladClipDataset` samples in one process with one thread, every decoder of a media on the same rows, in interleaved
repeats: JPEG rawframes with torchcodec's and torchvision's `decode_jpeg` and PIL; mp4 with torchcodec, decord and
PyAV. Source rows in train mode with the stage-2 train transform, target rows in test mode. Prints a markdown table
and writes a PNG chart.

    python scripts/benchmark_decoding.py --num-videos 6 --num-samples 24
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from pathlib import Path

import matplotlib
import torch
from tqdm.auto import tqdm

from glad_hf.data import GladClipDataset, VideoTrainTransform
from glad_hf.data.benchmark_media import (
    SOURCE_FRAMES,
    TARGET_SEGMENT_FRAMES,
    load_benchmark_domains,
    write_benchmark_data,
)
from glad_hf.data.readers import JPEG_BACKENDS, VIDEO_BACKENDS, decoder_available
from glad_hf.data.transforms import VideoTestTransform

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


class DecodeOnly:
    """Stand-in transform isolating the decoding cost: a 224 crop (the grid size of the real transforms)."""

    def __call__(self, frames: torch.Tensor, generator=None) -> torch.Tensor:
        return frames[..., :224, :224].to(torch.float32)


def samples_per_second(dataset: GladClipDataset, num_samples: int, epoch: int) -> float:
    dataset.set_epoch(epoch)
    start = time.perf_counter()
    for i in range(num_samples):
        dataset[i % len(dataset)]
    return num_samples / (time.perf_counter() - start)


def decoders(layout: str) -> list[tuple[str, dict]]:
    """(name, dataset reader arguments) of every decoder installed here for a layout."""
    if layout == "rawframes":
        return [(f"{name} (JPEG)", {"jpeg_backend": name}) for name in JPEG_BACKENDS if name != "auto"]
    return [
        (name, {"video_backend": name})
        for name in VIDEO_BACKENDS
        if name != "auto" and decoder_available(name)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--num-videos", type=int, default=6, help="Kinetics-like clips and BABEL-like renders"
    )
    parser.add_argument("--num-samples", type=int, default=24, help="samples timed per setting and repeat")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats; the median is reported")
    parser.add_argument("--gops", default="32,250", help="keyframe intervals of the mp4 variants (x264: 250)")
    parser.add_argument("--work-dir", type=Path, default=None, help="where to write the data (default: temp)")
    parser.add_argument("--chart", type=Path, default=Path("docs/benchmark_data_path/decoders.png"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as temp_dir:
        root = args.work_dir or Path(temp_dir)
        gops = [int(g) for g in args.gops.split(",")]
        layouts = write_benchmark_data(root, args.num_videos, gops)
        settings = []
        for layout, layout_root in layouts.items():
            domains = load_benchmark_domains(layout, layout_root, cache_dir=root / "cache")
            for (decoder, reader), (domain, split, test_mode, transform) in itertools.product(
                decoders(layout),
                [
                    ("source (train mode)", domains["source"]["train"], False, VideoTrainTransform()),
                    ("target (test mode)", domains["target"]["train"], True, VideoTestTransform()),
                ],
            ):
                settings.append(
                    {
                        "key": (layout, decoder, domain),
                        **{
                            (pipeline, mode): GladClipDataset(
                                split, used, test_mode, decode=mode, layout="grid", **reader
                            )
                            for pipeline, used in (("full", transform), ("decode", DecodeOnly()))
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
        f"\nStage-2 samples/s per decoder, one process, one thread; source: {SOURCE_FRAMES}-frame 340x256 clips, "
        f"train mode + train transform; target: {TARGET_SEGMENT_FRAMES}-frame segments of 320x240 renders, test "
        f"mode + test transform; median of {args.repeats} interleaved repeats of {args.num_samples} samples "
        "(speed-up: median of the per-repeat ratios). 'decode only' swaps the transform for a crop to 224 (no "
        "resize, no normalisation). Frames decoded: JPEG files, frames asked of torchcodec/decord, frames out of "
        "PyAV's decoder (those before a wanted frame in its GOP included).\n"
    )
    print(
        "| media | decoder | domain | views samples/s | all-64 samples/s | views vs all | decode-only views vs all "
        "| frames decoded / sample (views vs all) |"
    )
    print("|---|---|---|---:|---:|---:|---:|---|")
    rows = []
    for setting, timing in zip(settings, timings, strict=True):
        layout, decoder, domain = setting["key"]
        views, everything = (statistics.median(timing[("full", mode)]) for mode in ("views", "all"))
        # Speed-ups are medians of per-repeat ratios: views and all are timed back to back in each repeat.
        speed_up, decode_speed_up = (
            statistics.median(v / a for v, a in zip(timing[(p, "views")], timing[(p, "all")], strict=True))
            for p in ("full", "decode")
        )
        decoded = " vs ".join(
            f"{setting[('full', mode)].frames_decoded / samples:.0f}" for mode in ("views", "all")
        )
        rows.append((f"{layout}\n{decoder}\n{domain.split()[0]}", views))
        print(
            f"| {layout} | {decoder} | {domain} | {views:.2f} | {everything:.2f} | {speed_up:.2f}x | "
            f"{decode_speed_up:.2f}x | {decoded} |"
        )
    args.chart.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(max(8, len(rows) * 0.9), 4.5))
    axes.bar(range(len(rows)), [value for _, value in rows], color="tab:blue")
    axes.set_xticks(range(len(rows)), [name for name, _ in rows], fontsize=7)
    axes.set_ylabel("stage-2 samples/s (views, one thread)")
    axes.set_title("Decoders on the same files")
    figure.tight_layout()
    figure.savefig(args.chart, dpi=120)
    print(f"\nchart: {args.chart}")


if __name__ == "__main__":
    main()
