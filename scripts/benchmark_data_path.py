"""The stage-2 data path at full resolution: compact uint8 view cells (what training uses) vs float clip grids (the
path before it), side by side in one run.

Writes a mini Kinetics->BABEL in the real layout (`glad_hf.data.benchmark_media`: 300-frame 340x256 source clips,
320x240 target renders with 54-frame segments) as JPEG rawframes and as mp4, builds the stage-2 datasets with the
paper's transforms (short side 256, MultiScaleCrop to 224, flip, BackgroundBlend on the source; test-mode target),
and measures, for each media and layout, in interleaved repeats:

1. bytes of one stage-2 sample (source + target) handed to the device;
2. loader samples/s with `--workers` DataLoader workers, batches of 4 + 4, and the workers' peak memory (USS);
3. collate, and copy into pinned memory (a plain copy where no CUDA driver is present), ms per 4 + 4 batch;
4. stage-2 training steps/s at 224^2 on the CPU with a small backbone (`small_model`; so data dominates),
   the batch finished by `finish_batch` and the model fed as in training;
5. loader samples/s by worker count, prefetch factor and decoding threads per worker (compact, mp4), to size the
   real-data configs;
6. one core's cost of a compact stage-2 pair (JPEG rawframes, in this process, one thread) against decoding alone:
   each pair is timed, then the same JPEG files it read are decoded again by the loader's decoder (batched
   `decode_jpeg`, no transform, nothing stacked), so the ratio compares the two on the same files, interleaved.

Prints markdown tables and writes a PNG chart.

    python scripts/benchmark_data_path.py --num-videos 6 --batches 8 --repeats 3
    python scripts/benchmark_data_path.py --pair-cost-only --pairs 60 --repeats 5   # table 6 only, in seconds
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import matplotlib
import numpy as np
import psutil
import torch
from torch.utils.data import DataLoader, RandomSampler, default_collate
from tqdm.auto import tqdm

from glad_hf import GladConfig, GladForVideoClassification
from glad_hf.data.benchmark_media import (
    load_benchmark_domains,
    stage2_benchmark_dataset,
    write_backgrounds,
    write_benchmark_data,
)
from glad_hf.data.readers import RawFrameReader
from glad_hf.data.transforms import finish_batch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LAYOUTS = ("grid", "compact")
BATCH = 4


def cycling_sampler(dataset, batches: int, seed: int) -> RandomSampler:
    """Shuffled indices for `batches` batches, passing over the dataset as often as that needs."""
    return RandomSampler(dataset, num_samples=batches * BATCH, generator=torch.Generator().manual_seed(seed))


def sample_bytes(item: dict) -> int:
    return sum(value.nbytes for value in item.values() if torch.is_tensor(value))


class PeakMemory:
    """Peak memory of the loader's workers: the sum of their unique memory (USS; forked workers share the pages they
    inherit, which RSS would count once per worker), sampled every 50 ms."""

    def __enter__(self):
        self.peak, self.running = 0, True
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()
        return self

    def _poll(self) -> None:
        me = psutil.Process()
        while self.running:
            try:
                uss = sum(child.memory_full_info().uss for child in me.children(recursive=True))
            except psutil.Error:
                continue
            self.peak = max(self.peak, uss)
            time.sleep(0.05)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()


def loader_rate(dataset, *, workers: int, batches: int, epoch: int, prefetch: int = 2) -> tuple[float, int]:
    """(stage-2 samples/s, workers' peak bytes) of a DataLoader pass of `batches` batches, timed from the start of
    the pass (worker start-up included) to its last batch, so that batches loaded ahead are not counted as free."""
    dataset.set_epoch(epoch)
    loader = DataLoader(
        dataset,
        batch_size=BATCH,
        sampler=cycling_sampler(dataset, batches, epoch),
        num_workers=workers,
        prefetch_factor=prefetch if workers else None,
    )
    with PeakMemory() as memory:
        start = time.perf_counter()
        for _ in loader:
            pass
        elapsed = time.perf_counter() - start
    return batches * BATCH / elapsed, memory.peak


def collate_and_pin_ms(items: list[dict]) -> tuple[float, float]:
    start = time.perf_counter()
    batch = default_collate(items)
    collated = time.perf_counter()
    tensors = [value for value in batch.values() if torch.is_tensor(value)]
    if torch.cuda.is_available():
        [tensor.pin_memory() for tensor in tensors]
    else:
        [tensor.clone() for tensor in tensors]
    return 1000 * (collated - start), 1000 * (time.perf_counter() - collated)


def small_model() -> GladForVideoClassification:
    """A backbone small enough at 224^2 that the data dominates a CPU step: ResNet3d-10 (one basic block per
    stage), 4 channels, a 1x7x7 stem with spatial stride 4, no non-local blocks; GLAD's heads, all domain losses."""
    backbone = GladConfig.tiny().backbone_config
    backbone.update(
        dict(
            stage_blocks=[1, 1, 1, 1],
            base_channels=4,
            conv1_kernel=[1, 7, 7],
            conv1_stride_s=4,
            inflate=[[1]] * 4,
            non_local=[[0]] * 4,
        )
    )
    config = GladConfig.tiny(backbone_config=backbone, domain_alignment=("local", "global", "cross"))
    return GladForVideoClassification(config)


def step_rate(dataset, model, *, workers: int, steps: int, epoch: int) -> float:
    """Stage-2 training steps/s (loader with `workers` workers + finish_batch + forward, backward, SGD step) over a
    pass of `steps` batches, timed from its start (worker start-up included) to its last step; the model is warmed
    up on another batch first."""
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    model.train()

    def step(batch) -> None:
        batch = finish_batch(batch)
        out = model(
            batch["pixel_values"], labels=batch["labels"], target_pixel_values=batch["target_pixel_values"]
        )
        out.loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    step(default_collate([dataset[0]] * BATCH))
    dataset.set_epoch(epoch)
    loader = DataLoader(
        dataset, batch_size=BATCH, sampler=cycling_sampler(dataset, steps, epoch), num_workers=workers
    )
    start = time.perf_counter()
    for batch in loader:
        step(batch)
    return steps / (time.perf_counter() - start)


class RecordingReader(RawFrameReader):
    """A dataset's JPEG reader that records the files each call decodes (the decode-only pass decodes them again);
    the recording, some 43 file names per pair, is inside the pair's time."""

    def __init__(self, backend: str):
        super().__init__(backend=backend)
        self.calls: list[list[str]] = []

    def read(self, frame_dir, frame_numbers, filename_template=None) -> np.ndarray:
        template = filename_template or self.filename_template
        self.calls.append([os.path.join(frame_dir, template.format(n)) for n in np.unique(frame_numbers)])
        return super().read(frame_dir, frame_numbers, filename_template)


def decode_only(paths: list[str], backend: str) -> None:
    """Reads and decodes JPEG files with one batched `decode_jpeg` call of `backend` (what the reader calls)."""
    if backend == "torchcodec":
        from torchcodec.decoders import decode_jpeg

        decode_jpeg(paths, mode="RGB")
    else:
        from torchvision.io import ImageReadMode, decode_jpeg, read_file

        decode_jpeg([read_file(path) for path in paths], mode=ImageReadMode.RGB)


def pair_cost_ms(dataset, *, pairs: int, epoch: int) -> tuple[list[float], list[float], str]:
    """(ms per compact stage-2 pair, ms to decode the same pair's JPEG files alone, decoder) for `pairs` pairs of
    `epoch`, each pair timed then its files decoded again, in this process."""
    readers = []
    for part in (dataset.source, dataset.target):
        part.rawframe_reader = RecordingReader(part.rawframe_reader.backend)
        readers.append(part.rawframe_reader)
    backend = readers[0].backend
    if backend == "pil":
        raise ValueError(
            "the decode-only pass needs a batched decode_jpeg (torchcodec or torchvision), not PIL"
        )
    dataset.set_epoch(epoch)
    pair_ms, decode_ms = [], []
    for index in range(pairs):
        for reader in readers:
            reader.calls.clear()
        start = time.perf_counter()
        dataset[index % len(dataset)]
        pair_ms.append(1000 * (time.perf_counter() - start))
        start = time.perf_counter()
        for reader in readers:
            for paths in reader.calls:
                decode_only(paths, backend)
        decode_ms.append(1000 * (time.perf_counter() - start))
    return pair_ms, decode_ms, backend


def pair_cost_table(dataset, *, pairs: int, repeats: int) -> str:
    """Table 6: one core's ms per compact pair against decode-only, per repeat and the median over repeats."""
    dataset.set_epoch(0)
    for index in range(min(pairs, len(dataset))):  # warm-up: page cache, decoders, background images
        dataset[index]
    per_repeat, backend = [], None
    for repeat in tqdm(range(repeats), desc="pair cost"):
        pair_ms, decode_ms, backend = pair_cost_ms(dataset, pairs=pairs, epoch=repeat + 1)
        per_repeat.append(
            (statistics.median(pair_ms), statistics.median(decode_ms), median_ratio(pair_ms, decode_ms))
        )
    lines = [
        f"One core's cost of a compact stage-2 pair (rawframes, source + target, {pairs} pairs per repeat, one "
        f"thread, in-process) against decoding the same JPEG files alone ({backend} decode_jpeg, batched); "
        "ratio: median of per-pair ratios",
        "",
        "| repeat | pair ms | decode-only ms | pair / decode-only | pairs/s per core | decode-only pairs/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for repeat, (pair, decode, ratio) in enumerate(per_repeat):
        lines.append(
            f"| {repeat} | {pair:.1f} | {decode:.1f} | {ratio:.2f} | {1000 / pair:.1f} | {1000 / decode:.1f} |"
        )
    pair, decode, ratio = (statistics.median(column) for column in zip(*per_repeat, strict=True))
    low, high = min(r[2] for r in per_repeat), max(r[2] for r in per_repeat)
    lines.append(
        f"| median | {pair:.1f} | {decode:.1f} | {ratio:.2f} (spread {low:.2f}-{high:.2f}) | {1000 / pair:.1f} | "
        f"{1000 / decode:.1f} |"
    )
    return "\n".join(lines)


def median_ratio(numerators, denominators) -> float:
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True))


class BenchmarkData(NamedTuple):
    """Where the mini Kinetics->BABEL was written: the root, each media's folder, the background images."""

    root: Path
    media_roots: dict[str, Path]
    backgrounds: Path


@dataclass
class LayoutTimings:
    """One media and layout: the bytes of a sample, and per repeat the loader's samples/s, its workers' peak bytes,
    collate and pin ms per batch, and train steps/s."""

    sample_bytes: int
    rates: list[float] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)
    collate_ms: list[float] = field(default_factory=list)
    pin_ms: list[float] = field(default_factory=list)
    steps: list[float] = field(default_factory=list)


@dataclass
class Results:
    """Tables 1-6: the timings of each (media, layout), the loader settings sweep of one mp4 media, and the
    pair-cost table."""

    media: list[str]
    layouts: dict[tuple[str, str], LayoutTimings]
    sweep_media: str
    sweep: dict[tuple[int, int, int], float]
    pair_cost: str


def parse_args() -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--num-videos", type=int, default=6, help="Kinetics-like clips and BABEL-like renders"
    )
    parser.add_argument("--batches", type=int, default=8, help="batches per timed loader pass")
    parser.add_argument("--steps", type=int, default=8, help="training steps per timed pass")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats; medians are reported")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work-dir", type=Path, default=None, help="where to write the data (default: temp)")
    parser.add_argument("--chart", type=Path, default=Path("docs/benchmark_data_path/data_path.png"))
    parser.add_argument(
        "--pairs", type=int, default=40, help="pairs per repeat of the one-core pair-cost table"
    )
    parser.add_argument(
        "--pair-cost-only",
        action="store_true",
        help="only the one-core pair-cost table (6.), no loaders or steps",
    )
    return parser.parse_args()


def write_data(root: Path, num_videos: int) -> BenchmarkData:
    """Writes the mini Kinetics->BABEL (rawframes and mp4 with keyframes every 32 frames) and background images."""
    media_roots = write_benchmark_data(root, num_videos, [32])
    return BenchmarkData(root, media_roots, write_backgrounds(root / "backgrounds"))


def pair_cost(data: BenchmarkData, args: argparse.Namespace) -> str:
    """Table 6 on the rawframes' compact stage-2 dataset."""
    domains = load_benchmark_domains(
        "rawframes", data.media_roots["rawframes"], cache_dir=data.root / "cache"
    )
    return pair_cost_table(
        stage2_benchmark_dataset(domains, data.backgrounds), pairs=args.pairs, repeats=args.repeats
    )


def build_datasets(data: BenchmarkData) -> tuple[dict, dict]:
    """Per media, the stage-2 dataset of each layout, and the compact one decoding with two threads."""
    datasets, threaded = {}, {}
    for media, media_root in data.media_roots.items():
        domains = load_benchmark_domains(media, media_root, cache_dir=data.root / "cache")
        datasets[media] = {
            layout: stage2_benchmark_dataset(domains, data.backgrounds, layout=layout) for layout in LAYOUTS
        }
        threaded[media] = stage2_benchmark_dataset(domains, data.backgrounds, decode_threads=2)
    return datasets, threaded


def time_layouts(datasets: dict, model, args: argparse.Namespace) -> dict[tuple[str, str], LayoutTimings]:
    """Tables 1-4: each sample's bytes, then per repeat and (media, layout), alternating which layout goes first,
    the loader's rate and workers' peak memory, collate and pin ms, and train steps/s."""
    timings = {
        (media, layout): LayoutTimings(sample_bytes(dataset[0]))
        for media, pair in datasets.items()
        for layout, dataset in pair.items()
    }
    for repeat in tqdm(range(args.repeats), desc="timing"):
        for media, pair in datasets.items():
            order = LAYOUTS if repeat % 2 == 0 else LAYOUTS[::-1]  # alternate which layout goes first
            for layout in order:
                timing = timings[media, layout]
                rate, peak = loader_rate(
                    pair[layout], workers=args.workers, batches=args.batches, epoch=repeat
                )
                timing.rates.append(rate)
                timing.peaks.append(peak)
                items = [pair[layout][index % len(pair[layout])] for index in range(BATCH)]
                collate_ms, pin_ms = collate_and_pin_ms(items)
                timing.collate_ms.append(collate_ms)
                timing.pin_ms.append(pin_ms)
                timing.steps.append(
                    step_rate(pair[layout], model, workers=args.workers, steps=args.steps, epoch=repeat)
                )
    return timings


def loader_sweep(datasets: dict, threaded: dict, args: argparse.Namespace) -> tuple[str, dict]:
    """Table 5: (mp4 media, (workers, prefetch factor, decoding threads per worker) -> median samples/s, compact)."""
    sweep = {}
    mp4 = next(media for media in datasets if media != "rawframes")
    for workers, prefetch, threads in [(0, 2, 1), (0, 2, 2), (1, 2, 1), (1, 2, 2), (2, 2, 1), (2, 4, 1)]:
        dataset = datasets[mp4]["compact"] if threads == 1 else threaded[mp4]
        sweep[workers, prefetch, threads] = statistics.median(
            loader_rate(dataset, workers=workers, batches=args.batches, epoch=r, prefetch=prefetch)[0]
            for r in range(args.repeats)
        )
    return mp4, sweep


def measure(data: BenchmarkData, args: argparse.Namespace) -> Results:
    """Tables 1-6 on the written data."""
    datasets, threaded = build_datasets(data)
    model = small_model()
    layouts = time_layouts(datasets, model, args)
    sweep_media, sweep = loader_sweep(datasets, threaded, args)
    return Results(list(datasets), layouts, sweep_media, sweep, pair_cost(data, args))


def print_loader_table(results: Results, args: argparse.Namespace) -> None:
    """Tables 1-2: bytes per sample, loader samples/s and workers' peak memory per media, grid vs compact."""
    print(
        f"\nStage-2 data path, full resolution (source 340x256, target 320x240, crops 224), {args.repeats} interleaved "
        f"repeats, medians (ratios: medians of per-repeat ratios); {args.workers} loader workers, batches of "
        f"{BATCH} + {BATCH}; one torch thread per process.\n"
    )
    print("| media | grid MB / sample | compact MB / sample | bytes ratio | grid samples/s | compact samples/s | "
          "loader speed-up | grid workers' peak MiB | compact workers' peak MiB |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for media in results.media:
        grid, compact = results.layouts[media, "grid"], results.layouts[media, "compact"]
        print(
            f"| {media} | {grid.sample_bytes / 1e6:.1f} | {compact.sample_bytes / 1e6:.2f} | "
            f"1/{grid.sample_bytes / compact.sample_bytes:.1f} | {statistics.median(grid.rates):.2f} | "
            f"{statistics.median(compact.rates):.2f} | {median_ratio(compact.rates, grid.rates):.2f}x | "
            f"{max(grid.peaks) / 2**20:.0f} | {max(compact.peaks) / 2**20:.0f} |"
        )


def print_step_table(results: Results) -> None:
    """Tables 3-4: collate and pin ms per batch and train steps/s per media and layout."""
    pin_name = (
        "pin"
        if torch.cuda.is_available()
        else "copy (no CUDA driver here: a plain copy stands in for pinning)"
    )
    print(f"\n| media | layout | collate ms / {BATCH}+{BATCH} batch | {pin_name} ms / batch | train steps/s | "
          "step speed-up |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|")
    for media in results.media:
        for layout in LAYOUTS:
            timing, grid = results.layouts[media, layout], results.layouts[media, "grid"]
            print(
                f"| {media} | {layout} | {statistics.median(timing.collate_ms):.1f} | "
                f"{statistics.median(timing.pin_ms):.1f} | {statistics.median(timing.steps):.3f} | "
                f"{median_ratio(timing.steps, grid.steps):.2f}x |"
            )


def print_sweep_table(results: Results) -> None:
    """Table 5: loader samples/s by workers, prefetch factor and decoding threads, against no workers."""
    sweep = results.sweep
    print(
        f"\nLoader settings ({results.sweep_media}, compact): samples/s by workers, prefetch factor and decoding "
        "threads\n"
    )
    print("| workers | prefetch factor | decoding threads per worker | samples/s | vs no workers |")
    print("|---:|---:|---:|---:|---:|")
    for (workers, prefetch, threads), rate in sweep.items():
        print(f"| {workers} | {prefetch} | {threads} | {rate:.2f} | {rate / sweep[0, 2, 1]:.2f}x |")


def print_report(results: Results, args: argparse.Namespace) -> None:
    """Tables 1-6 as markdown."""
    print_loader_table(results, args)
    print_step_table(results)
    print_sweep_table(results)
    print(f"\n{results.pair_cost}")


def chart_ratios(results: Results) -> dict[str, tuple[float, float, float]]:
    """Per media, compact against grid: bytes per sample (grid / compact), loader samples/s and train steps/s."""
    ratios = {}
    for media in results.media:
        grid, compact = results.layouts[media, "grid"], results.layouts[media, "compact"]
        ratios[media] = (
            grid.sample_bytes / compact.sample_bytes,
            median_ratio(compact.rates, grid.rates),
            median_ratio(compact.steps, grid.steps),
        )
    return ratios


def draw_chart(ratios: dict[str, tuple[float, float, float]], path: Path) -> None:
    """Writes the ratios as grouped bars (one group per ratio, one bar per media), log scale, to a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(7, 4))
    names = [
        "bytes / sample\n(grid / compact)",
        "loader samples/s\n(compact / grid)",
        "train steps/s\n(compact / grid)",
    ]
    width = 0.8 / len(ratios)
    for k, (media, values) in enumerate(ratios.items()):
        axes.bar(np.arange(3) + k * width, values, width, label=media)
    axes.axhline(1.0, color="grey", linewidth=0.8)
    axes.set_yscale("log")
    axes.set_xticks(np.arange(3) + width * (len(ratios) - 1) / 2, names)
    axes.set_ylabel("ratio (log scale)")
    axes.set_title("Compact uint8 views vs float clip grids")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    print(f"\nchart: {path}")


def main() -> None:
    """Writes the data, measures, prints the tables and draws the chart (with --pair-cost-only: table 6 alone)."""
    args = parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as temp_dir:
        data = write_data(args.work_dir or Path(temp_dir), args.num_videos)
        if args.pair_cost_only:
            print(f"\n{pair_cost(data, args)}")
            return
        results = measure(data, args)
    print_report(results, args)
    draw_chart(chart_ratios(results), args.chart)


if __name__ == "__main__":
    main()
