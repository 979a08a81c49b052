"""Stage-2 training throughput on a device: steps/s of GLAD on one finished batch already on the device (model
only) against the same steps fed by the real compact loader, as `make gpu-check` and `scripts/benchmark_gpu.py`
measure it, on the mini Kinetics->BABEL of `glad_hf.data.benchmark_media`."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ..configuration_glad import GladConfig
from ..data.benchmark_media import write_backgrounds, write_benchmark_data
from ..data.readers import decoder_available
from ..data.transforms import finish_batch
from ..modeling_glad import GladForVideoClassification


def build_model(model_size: str, num_labels: int) -> GladForVideoClassification:
    """A GLAD with all three domain classifiers: the paper's I3D R50-NL, or the tiny test model."""
    settings = dict(domain_alignment=("local", "global", "cross"), num_labels=num_labels)
    config = GladConfig.tiny(**settings) if model_size == "tiny" else GladConfig(**settings)
    return GladForVideoClassification(config)


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_step(model, optimizer, device: torch.device, *, bf16: bool, channels_last: bool) -> Callable:
    """One stage-2 training step on a collated batch already on `device`: finish it, forward source + target with all
    domain losses, backward, SGD step."""
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    memory_format = torch.channels_last_3d if channels_last else torch.contiguous_format
    model.to(device, memory_format=memory_format)

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

    return step


def time_steps(step: Callable, batches: Callable, device: torch.device, steps: int) -> float:
    """Steps/s over `steps` steps after one warm-up step; `batches()` gives each step's batch."""
    step(batches())
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step(batches())
    synchronize(device)
    return steps / (time.perf_counter() - start)


def stage2_throughput(
    dataset,
    *,
    device: torch.device,
    model_size: str,
    batch_size: int,
    steps: int,
    workers: int,
    prefetch_factor: int = 4,
    bf16: bool = True,
    channels_last: bool = True,
    compile: bool = False,
) -> dict:
    """Stage-2 steps/s of a fresh model, model only (one batch on the device, reused) and through a DataLoader over
    `dataset` (shuffled, `workers` workers, pinned memory on CUDA), with the peak device memory of both."""
    torch.manual_seed(0)
    model = build_model(model_size, num_labels=12).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    step = make_step(model, optimizer, device, bf16=bf16, channels_last=channels_last)
    if compile:
        model.compile()
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        prefetch_factor=prefetch_factor if workers else None,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
    )

    def loader_batches():
        while True:
            for batch in loader:
                yield to_device(batch, device)

    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    fixed = to_device(next(iter(DataLoader(dataset, batch_size=batch_size))), device)
    started = time.perf_counter()
    model_only = time_steps(step, lambda: fixed, device, steps)
    model_only_seconds = time.perf_counter() - started
    stream = loader_batches()
    with_loader = time_steps(step, lambda: next(stream), device, steps)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return {
        "compile": compile,
        "model_only_steps_per_s": model_only,
        "with_loader_steps_per_s": with_loader,
        "loader_fraction_of_model_only": with_loader / model_only,
        "samples_per_s_with_loader": with_loader * batch_size,
        "peak_device_memory_gib": peak,
        "model_only_seconds_with_warmup": model_only_seconds,  # compile time shows here
    }


def jpeg_decode_rates(folder: Path, device: torch.device, repeats: int = 5) -> dict[str, float]:
    """Frames/s of torchcodec's batched `decode_jpeg` on 22 frames of `folder`, on the CPU and on a CUDA `device`
    (nvJPEG); empty without torchcodec."""
    if not decoder_available("torchcodec"):
        return {}
    from torchcodec.decoders import decode_jpeg

    data = [path.read_bytes() for path in sorted(folder.glob("img_*.jpg"))[:22]]
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


def write_mini_k2b(root: Path, num_videos: int) -> tuple[Path, Path]:
    """The mini Kinetics->BABEL as rawframes under `root` (once; reused when present) and its backgrounds."""
    data_root, backgrounds = root / "rawframes", root / "backgrounds"
    if not (data_root / "kinetics2babel.tar").is_file():
        write_benchmark_data(root, num_videos, gops=[])
    if not backgrounds.is_dir():
        write_backgrounds(backgrounds)
    return data_root, backgrounds
