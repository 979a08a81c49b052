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

    python scripts/benchmark_gpu.py                       # I3D R50-NL at 224^2, 4 + 4 per step, bf16
    python scripts/benchmark_gpu.py --compile             # with torch.compile
    python scripts/benchmark_gpu.py --device cpu --model-size tiny --size 32 --steps 2 --num-videos 2   # a dry run
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from glad_hf import GladConfig, GladForVideoClassification
from glad_hf.data.benchmark_media import (
    load_benchmark_domains,
    stage2_benchmark_dataset,
    write_backgrounds,
    write_benchmark_data,
)
from glad_hf.data.readers import decoder_available
from glad_hf.data.transforms import finish_batch


def build_model(model_size: str, num_labels: int) -> GladForVideoClassification:
    settings = dict(domain_alignment=("local", "global", "cross"), num_labels=num_labels)
    config = GladConfig.tiny(**settings) if model_size == "tiny" else GladConfig(**settings)
    return GladForVideoClassification(config)


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def make_step(model, optimizer, device: torch.device, *, bf16: bool, channels_last: bool):
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    memory_format = torch.channels_last_3d if channels_last else torch.contiguous_format

    def step(batch: dict) -> None:
        batch = finish_batch(batch)
        with autocast:
            out = model(
                batch["pixel_values"].contiguous(),
                labels=batch["labels"],
                target_pixel_values=batch["target_pixel_values"].contiguous(),
            )
        out.loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    model.to(device, memory_format=memory_format)
    return step


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(step, batches, device: torch.device, steps: int) -> float:
    """Steps/s over `steps` steps after one warm-up step; `batches()` gives each step's batch."""
    step(batches())
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step(batches())
    synchronize(device)
    return steps / (time.perf_counter() - start)


def jpeg_decode_rates(folder: Path, device: torch.device, repeats: int = 5) -> dict[str, float]:
    """Frames/s of torchcodec's batched `decode_jpeg` on 22 frames, on the CPU and on `device` (nvJPEG)."""
    if not decoder_available("torchcodec"):
        return {}
    from torchcodec.decoders import decode_jpeg

    paths = [str(path) for path in sorted(folder.glob("img_*.jpg"))[:22]]
    data = [Path(path).read_bytes() for path in paths]
    rates = {}
    for name, target in [("cpu", "cpu")] + ([("device", device)] if device.type == "cuda" else []):
        decode_jpeg(data, device=target)
        synchronize(device)
        start = time.perf_counter()
        for _ in range(repeats):
            decode_jpeg(data, device=target)
        synchronize(device)
        rates[name] = repeats * len(data) / (time.perf_counter() - start)
    return rates


def main() -> None:
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
    parser.add_argument("--media", choices=("rawframes", "video"), default="rawframes")
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--work-dir", type=Path, default=None, help="where to write the data (default: temp)")
    parser.add_argument("--output", type=Path, default=Path("benchmark_gpu.json"))
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)

    with tempfile.TemporaryDirectory() as temp_dir:
        root = args.work_dir or Path(temp_dir)
        roots = write_benchmark_data(root, args.num_videos, [32])
        layout = "rawframes" if args.media == "rawframes" else "mp4, keyframe every 32"
        domains = load_benchmark_domains(layout, roots[layout], cache_dir=root / "cache")
        dataset = stage2_benchmark_dataset(
            domains, write_backgrounds(root / "backgrounds"), crop_size=args.size
        )
        if len(dataset) < args.batch_size:
            parser.error(
                f"--num-videos {args.num_videos} gives fewer source clips than --batch-size {args.batch_size}"
            )
        model = build_model(args.model_size, num_labels=12).train()
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
        step = make_step(model, optimizer, device, bf16=args.bf16, channels_last=args.channels_last)
        if args.compile:
            model.compile()
        loader = DataLoader(
            dataset,
            batch_size=args.batch_size,
            shuffle=True,
            drop_last=True,
            num_workers=args.workers,
            prefetch_factor=args.prefetch_factor if args.workers else None,
            pin_memory=device.type == "cuda",
            persistent_workers=args.workers > 0,
        )

        def loader_batches():
            iterator = iter(loader)
            while True:
                for batch in iterator:
                    yield to_device(batch, device)
                iterator = iter(loader)

        fixed = to_device(next(iter(DataLoader(dataset, batch_size=args.batch_size))), device)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        model_only = time_steps(step, lambda: fixed, device, args.steps)
        stream = loader_batches()
        with_loader = time_steps(step, lambda: next(stream), device, args.steps)
        jpeg = jpeg_decode_rates(next((root / "rawframes" / "k400" / "train").rglob("video*")), device)
        peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")

    result = {
        "device": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or "cpu",
        "model": args.model_size,
        "size": args.size,
        "batch": f"{args.batch_size} + {args.batch_size}",
        "media": args.media,
        "workers": args.workers,
        "bf16": args.bf16,
        "channels_last_3d": args.channels_last,
        "compile": args.compile,
        "model_only_steps_per_s": model_only,
        "with_loader_steps_per_s": with_loader,
        "loader_fraction_of_model_only": with_loader / model_only,
        "samples_per_s_with_loader": with_loader * args.batch_size,
        "peak_device_memory_gib": peak,
        "jpeg_frames_per_s": jpeg,
    }
    args.output.write_text(json.dumps(result, indent=2))
    print(
        f"\n{result['device']}: {args.model_size} at {args.size}^2, {result['batch']} clips per step, {args.media}, "
        f"{args.workers} workers, bf16 {args.bf16}, channels-last-3d {args.channels_last}, compile {args.compile}\n"
    )
    print("| model only steps/s | with loader steps/s | loader / model only | samples/s | peak device GiB | "
          "JPEG frames/s CPU | JPEG frames/s device |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {model_only:.2f} | {with_loader:.2f} | {100 * with_loader / model_only:.0f}% | "
        f"{result['samples_per_s_with_loader']:.1f} | {peak:.1f} | {jpeg.get('cpu', float('nan')):.0f} | "
        f"{jpeg.get('device', float('nan')):.0f} |"
    )
    print(f"\nJSON: {args.output}")


if __name__ == "__main__":
    main()
