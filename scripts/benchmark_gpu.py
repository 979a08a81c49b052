"""Stage-2 throughput on an accelerator: is the loader fast enough to keep the device busy?

Measures, side by side in one run, GLAD stage-2 training steps/s (source + target batches, all three domain
losses, forward + backward + optimiser step)

- model only: one finished batch already on the device, reused every step (the device's own speed);
- with the real loader: the compact stage-2 dataset (`glad_hf.data.benchmark_media`'s full-resolution mini
  Kinetics->BABEL, paper transforms) through a DataLoader with `--workers` workers and pinned memory, the batch
  copied to the device and finished there (`finish_batch`), as training does;

with bf16 autocast, channels-last-3d memory format and optionally `torch.compile`, and reports the ratio (goal:
loader >= 90% of model only), samples/s, peak device memory, and batched JPEG decoding of one sample's 22 view
frames on the CPU vs on the device (nvJPEG, where there is one). Prints a markdown table and writes JSON.
`make gpu-check` (scripts/gpu_check.py) runs this and the training entry point in one go.

    python scripts/benchmark_gpu.py                       # I3D R50-NL at 224^2, 4 + 4 per step, bf16
    python scripts/benchmark_gpu.py --compile             # with torch.compile
    python scripts/benchmark_gpu.py --device cpu --model-size tiny --size 32 --steps 2 --num-videos 2   # a dry run
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from pathlib import Path

import torch
from torch.utils.data import Dataset

from glad_hf.atomic import atomic_write_json
from glad_hf.data.benchmark_media import load_benchmark_domains, stage2_benchmark_dataset
from glad_hf.training.throughput import jpeg_decode_rates, stage2_throughput, write_mini_k2b


def argument_parser() -> argparse.ArgumentParser:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--model-size", choices=("i3d_r50_nl", "tiny"), default="i3d_r50_nl")
    parser.add_argument("--size", type=int, default=224, help="crop size (frames are 340x256 / 320x240)")
    parser.add_argument(
        "--batch-size", type=int, default=4, help="source clips per step (as many target clips)"
    )
    parser.add_argument("--steps", type=int, default=20, help="timed steps per setting")
    parser.add_argument("--workers", type=int, default=12)
    parser.add_argument("--prefetch-factor", type=int, default=4)
    parser.add_argument("--num-videos", type=int, default=16)
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--work-dir", type=Path, default=None, help="where to write the data (default: temp)")
    parser.add_argument("--output", type=Path, default=Path("benchmark_gpu.json"))
    return parser


def build_dataset(root: Path, args: argparse.Namespace) -> tuple[Path, Dataset]:
    """Writes the mini Kinetics->BABEL as rawframes under `root`: (its folder, its compact stage-2 dataset at
    `--size`)."""
    data_root, backgrounds = write_mini_k2b(root, args.num_videos)
    domains = load_benchmark_domains("rawframes", data_root, cache_dir=root / "cache")
    return data_root, stage2_benchmark_dataset(domains, backgrounds, crop_size=args.size)


def measure(dataset, data_root: Path, device: torch.device, args: argparse.Namespace) -> tuple[dict, dict]:
    """(stage-2 throughput, model only and with the loader; JPEG frames/s on the CPU and the device)."""
    throughput = stage2_throughput(
        dataset,
        device=device,
        model_size=args.model_size,
        batch_size=args.batch_size,
        steps=args.steps,
        workers=args.workers,
        prefetch_factor=args.prefetch_factor,
        bf16=args.bf16,
        channels_last=args.channels_last,
        compile=args.compile,
    )
    jpeg = jpeg_decode_rates(next((data_root / "k400" / "train").rglob("video*")), device)
    return throughput, jpeg


def report(throughput: dict, jpeg: dict, device: torch.device, args: argparse.Namespace) -> dict:
    """The JSON report: the device's name and the settings, then the measurements."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    return {
        "device": name,
        "model": args.model_size,
        "size": args.size,
        "batch": f"{args.batch_size} + {args.batch_size}",
        "workers": args.workers,
        "bf16": args.bf16,
        "channels_last_3d": args.channels_last,
        **throughput,
        "jpeg_frames_per_s": jpeg,
    }


def print_report(result: dict, args: argparse.Namespace) -> None:
    """The settings line and the one-row markdown table."""
    print(
        f"\n{result['device']}: {args.model_size} at {args.size}^2, {result['batch']} clips per step, rawframes, "
        f"{args.workers} workers, bf16 {args.bf16}, channels-last-3d {args.channels_last}, compile {args.compile}\n"
    )
    print("| model only steps/s | with loader steps/s | loader / model only | samples/s | peak device GiB | "
          "JPEG frames/s CPU | JPEG frames/s device |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|")
    peak, jpeg = result["peak_device_memory_gib"], result["jpeg_frames_per_s"]
    print(
        f"| {result['model_only_steps_per_s']:.2f} | {result['with_loader_steps_per_s']:.2f} | "
        f"{100 * result['loader_fraction_of_model_only']:.0f}% | {result['samples_per_s_with_loader']:.1f} | "
        f"{'—' if peak is None else f'{peak:.1f}'} | {jpeg.get('cpu', float('nan')):.0f} | "
        f"{jpeg.get('device', float('nan')):.0f} |"
    )


def main() -> None:
    """Writes the data, measures, writes the JSON and prints the table."""
    parser = argument_parser()
    args = parser.parse_args()
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as temp_dir:
        data_root, dataset = build_dataset(args.work_dir or Path(temp_dir), args)
        if len(dataset) < args.batch_size:
            parser.error(
                f"--num-videos {args.num_videos} gives fewer source clips than --batch-size {args.batch_size}"
            )
        throughput, jpeg = measure(dataset, data_root, device, args)
    result = report(throughput, jpeg, device, args)
    atomic_write_json(args.output, result)
    print_report(result, args)
    print(f"\nJSON: {args.output}")


if __name__ == "__main__":
    main()
