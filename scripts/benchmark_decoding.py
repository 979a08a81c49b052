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
from typing import NamedTuple

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


class Row(NamedTuple):
    """One table row: a media, decoder and domain's median samples/s with the views and with all 64 frames, the
    median per-repeat speed-ups (full pipeline, decode only) and the frames decoded per sample, views vs all."""

    layout: str
    decoder: str
    domain: str
    views: float
    everything: float
    speed_up: float
    decode_speed_up: float
    decoded: str


RUNS = [(pipeline, mode) for pipeline in ("full", "decode") for mode in ("views", "all")]


def parse_args() -> argparse.Namespace:
    """The command line (see the module docstring)."""
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
    return parser.parse_args()


def build_settings(root: Path, num_videos: int, gops: list[int]) -> list[dict]:
    """Writes the benchmark data under `root` and returns, per media, installed decoder and domain, its key
    (media, decoder, domain) and one dataset per run (pipeline "full" or "decode", decoding the "views" or "all")."""
    layouts = write_benchmark_data(root, num_videos, gops)
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
    return settings


def time_settings(settings: list[dict], num_samples: int, repeats: int) -> list[dict]:
    """Per setting, run -> samples/s of each repeat; every setting's runs back to back in each repeat, their order
    alternating between repeats."""
    timings = [{run: [] for run in RUNS} for _ in settings]
    for repeat in tqdm(range(repeats), desc="timing"):
        for setting, timing in zip(settings, timings, strict=True):
            for run in RUNS if repeat % 2 == 0 else RUNS[::-1]:  # alternate the order
                timing[run].append(samples_per_second(setting[run], num_samples, repeat))
    return timings


def summarise(setting: dict, timing: dict, samples: int) -> Row:
    """A setting's table row from its timings and its datasets' decoded-frame counts over `samples` samples."""
    views, everything = (statistics.median(timing[("full", mode)]) for mode in ("views", "all"))
    # Speed-ups are medians of per-repeat ratios: views and all are timed back to back in each repeat.
    speed_up, decode_speed_up = (
        statistics.median(v / a for v, a in zip(timing[(p, "views")], timing[(p, "all")], strict=True))
        for p in ("full", "decode")
    )
    decoded = " vs ".join(
        f"{setting[('full', mode)].frames_decoded / samples:.0f}" for mode in ("views", "all")
    )
    return Row(*setting["key"], views, everything, speed_up, decode_speed_up, decoded)


def print_report(rows: list[Row], args: argparse.Namespace) -> None:
    """The table as markdown, after a paragraph on what was timed."""
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
    for row in rows:
        print(
            f"| {row.layout} | {row.decoder} | {row.domain} | {row.views:.2f} | {row.everything:.2f} | "
            f"{row.speed_up:.2f}x | {row.decode_speed_up:.2f}x | {row.decoded} |"
        )


def draw_chart(rows: list[Row], path: Path) -> None:
    """Writes each row's samples/s with the views as a bar chart to a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(max(8, len(rows) * 0.9), 4.5))
    axes.bar(range(len(rows)), [row.views for row in rows], color="tab:blue")
    names = [f"{row.layout}\n{row.decoder}\n{row.domain.split()[0]}" for row in rows]
    axes.set_xticks(range(len(rows)), names, fontsize=7)
    axes.set_ylabel("stage-2 samples/s (views, one thread)")
    axes.set_title("Decoders on the same files")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    print(f"\nchart: {path}")


def main() -> None:
    """Writes the data, times every decoder, prints the table and draws the chart."""
    args = parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as temp_dir:
        gops = [int(g) for g in args.gops.split(",")]
        settings = build_settings(args.work_dir or Path(temp_dir), args.num_videos, gops)
        timings = time_settings(settings, args.num_samples, args.repeats)
    samples = args.num_samples * args.repeats
    rows = [summarise(setting, timing, samples) for setting, timing in zip(settings, timings, strict=True)]
    print_report(rows, args)
    draw_chart(rows, args.chart)


if __name__ == "__main__":
    main()
