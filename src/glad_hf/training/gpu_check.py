"""The GPU check (`make gpu-check`, `scripts/gpu_check.py`): does the package work on this machine's accelerator, and
how fast? One table (and JSON) in three parts, each reported even when another one fails:

1. **environment**: torch, CUDA, cuDNN, the device and its memory, the package's dependencies (versions, missing
   ones), the video and JPEG decoders that work here;
2. **stage-2 throughput** (`stage2_throughput`, also `scripts/benchmark_gpu.py`): GLAD training steps/s on one
   finished batch already on the device (model only) against the same steps fed by the real compact loader
   (workers, pinned memory, `finish_batch` on the device), eager and with `torch.compile`, bf16 autocast,
   channels-last-3d, peak device memory;
3. **the training entry point** (`cli_check`): `parse_arguments` + `run_training`, as `scripts/train_glad.py` runs
   them, both stages on the mini Kinetics->BABEL of `glad_hf.data.benchmark_media` in bf16; the first run is a
   separate process killed after its first stage-2 checkpoint, the same command then resumes it while every
   host-device synchronisation is recorded (`torch.cuda.set_sync_debug_mode`) and named by its line; its stage-2
   steps/s against the model-only rate; the last model evaluated.

Without CUDA the same sequence runs with the tiny model at 32 pixels on the CPU: a dry run, which says so. The timed
steps are `throughput.py`'s, the sync counting `sync_debug.py`'s, the markdown `gpu_check_report.py`'s.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import multiprocessing
import os
import platform
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from unittest import mock

import torch

from ..data.benchmark_media import load_benchmark_domains, stage2_benchmark_dataset
from ..data.readers import AUTO_JPEG_BACKENDS, AUTO_VIDEO_BACKENDS, decoder_available
from .sync_debug import SyncRecorder
from .throughput import jpeg_decode_rates, stage2_throughput, write_mini_k2b

# What `pip install glad_hf` brings (setup.cfg), looked up by distribution name.
DEPENDENCIES = (
    "torch", "torchvision", "transformers", "datasets", "accelerate", "huggingface_hub", "evaluate", "safetensors",
    "av", "numpy", "pillow", "pyyaml", "tqdm", "matplotlib", "tensorboard", "scipy",
)  # fmt: skip
OPTIONAL_DECODERS = ("torchcodec", "decord")


@dataclass(frozen=True)
class GpuCheckSettings:
    """What the check runs: the model and input of both timed parts, and the length of the training run."""

    device: str
    model_size: str  # i3d_r50_nl (the paper's) | tiny
    crop_size: int
    batch_size: int  # source clips per stage-2 step (as many target clips)
    timed_steps: int  # per throughput setting, after one warm-up step
    workers: int
    num_videos: int  # of each domain in the mini K->B (12 or more: every class has a training video)
    throughput: bool  # time stage 2, model only vs through the loader
    compile: bool  # also under torch.compile
    mixed_precision: str  # bf16 | no
    tol_steps: int
    glad_steps: int
    checkpointing_steps: int

    @property
    def dry_run(self) -> bool:
        return self.device == "cpu"

    @classmethod
    def for_device(cls, device: str, *, quick: bool = False) -> GpuCheckSettings:
        """The real check on a CUDA device (I3D R50-NL at 224^2, 4 + 4, bf16); a tiny one on the CPU. `quick`: the
        training entry point alone, shorter (about a minute of work on an H200)."""
        if device.startswith("cuda"):
            workers = max(1, min(12, (os.cpu_count() or 2) - 2))
            full = cls(device, "i3d_r50_nl", 224, 4, 20, workers, 12, True, True, "bf16", 12, 40, 10)
            return (
                replace(full, throughput=False, compile=False, tol_steps=4, glad_steps=16) if quick else full
            )
        return cls(device, "tiny", 32, 2, 2, 1, 12, not quick, False, "no", 3, 8, 3)


# ---------------------------------------------------------------------------------------------------- environment


def environment(device: str) -> dict:
    """Versions, the device, the dependencies that are missing, the decoders that work."""
    versions, missing = {}, []
    for name in (*DEPENDENCIES, *OPTIONAL_DECODERS):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            if name in DEPENDENCIES:
                missing.append(name)
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "device": device,
        "cpu_count": os.cpu_count(),
        "versions": versions,
        "missing_dependencies": missing,
        "video_decoders": [name for name in AUTO_VIDEO_BACKENDS if decoder_available(name)],
        "jpeg_decoders": [name for name in AUTO_JPEG_BACKENDS if decoder_available(name)],
    }
    if device.startswith("cuda"):
        properties = torch.cuda.get_device_properties(device)
        info.update(
            device_name=properties.name,
            device_memory_gib=properties.total_memory / 2**30,
            compute_capability=f"{properties.major}.{properties.minor}",
            multiprocessors=properties.multi_processor_count,
        )
    else:
        info["device_name"] = platform.processor() or platform.machine()
    return info


# ------------------------------------------------------------------------------------- the training entry point


def cli_arguments(
    settings: GpuCheckSettings, *, data_root: Path, backgrounds: Path, output_dir: Path
) -> list:
    """The training command's flags for both stages on the mini K->B (every recipe value given, none defaulted)."""
    values = {
        "dataset": "kinetics2babel",
        "data_dir": data_root,
        "annotations": data_root / "kinetics2babel.tar",
        "cache_dir": output_dir.parent / "datasets_cache",
        "backgrounds_dir": backgrounds,
        "short_side": round(settings.crop_size * 256 / 224),
        "crop_size": settings.crop_size,
        "num_workers": settings.workers,
        "pin_memory": "true",
        "model_size": settings.model_size,
        "motion_pretraining": "false",
        "stage": "both",
        "compare_source_only": "false",
        "tol_max_train_steps": settings.tol_steps,
        "max_train_steps": settings.glad_steps,
        "tol_num_train_epochs": 10_000,  # the step counts above end the stages, not the tiny set's epochs
        "num_train_epochs": 10_000,
        "tol_per_device_train_batch_size": settings.batch_size,
        "per_device_train_batch_size": settings.batch_size,
        "per_device_eval_batch_size": settings.batch_size,
        "optimizer": "sgd",
        "learning_rate": 0.001,
        "tol_learning_rate": 0.001,
        "lr_scheduler_type": "constant",
        "checkpointing_steps": settings.checkpointing_steps,
        "evaluate_every_epoch": "false",
        "report_to": "none",
        "logging_steps": 10,
        "seed": 0,
        "output_dir": output_dir,
    }
    return [item for key, value in values.items() for item in (f"--{key}", str(value))]


def _train(argv: list, mixed_precision: str) -> dict:
    """`scripts/train_glad.py`'s work in this process: parse, train; the stages' metrics by name."""
    from .arguments import parse_arguments  # the training entry point, imported where it runs
    from .run import run_training

    # `accelerate launch --mixed_precision` says it through this variable; set for this run only
    with mock.patch.dict(os.environ, {"ACCELERATE_MIXED_PRECISION": mixed_precision}):
        results = run_training(*parse_arguments([str(a) for a in argv]))
    return {name: result.metrics for name, result in results.items()}


def _train_in_child(argv: list, mixed_precision: str) -> None:
    """The killed process's work, in a process group of its own, so that its loader workers die with it."""
    if hasattr(os, "setpgrp"):
        os.setpgrp()
    _train(argv, mixed_precision)


def run_until_first_checkpoint(argv: list, mixed_precision: str, checkpoints: Path, timeout: float) -> dict:
    """Start the training in another process, SIGKILL it and its loader workers as soon as `checkpoints` holds a step
    folder: what a crash or a pre-empted job leaves."""
    context = multiprocessing.get_context("spawn")
    process = context.Process(target=_train_in_child, args=(argv, mixed_precision))  # its loader has workers
    started = time.perf_counter()
    process.start()
    found = []
    try:
        while process.is_alive() and time.perf_counter() - started < timeout and not found:
            found = sorted(checkpoints.glob("step_*/progress.json"))
            time.sleep(0.05)
        killed = process.is_alive()
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if hasattr(os, "killpg") and os.getpgid(process.pid) == process.pid:
                os.killpg(process.pid, signal.SIGKILL)  # the workers too: orphans would hold the output open
        process.kill()
        process.join()
    if not killed and process.exitcode != 0:
        raise RuntimeError(
            f"the training process to be killed failed by itself (exit code {process.exitcode})"
        )
    found = sorted(checkpoints.glob("step_*/progress.json"))
    return {
        "killed": killed,
        "exit_code": process.exitcode,
        "checkpoints_at_kill": [path.parent.name for path in found],
        "seconds": time.perf_counter() - started,
    }


def cli_check(settings: GpuCheckSettings, work_dir: Path, *, data_root: Path, backgrounds: Path) -> dict:
    """Kill a training run after its first stage-2 checkpoint, resume it with the same command, evaluate its model."""
    from .arguments import DataArguments
    from .evaluation import evaluate_checkpoint

    work_dir.mkdir(parents=True, exist_ok=True)
    # A new run folder per check: a --work-dir given again holds the earlier check's finished run, which the same
    # command would (rightly) refuse to train into.
    output_dir = Path(tempfile.mkdtemp(prefix="run-", dir=work_dir))
    argv = cli_arguments(settings, data_root=data_root, backgrounds=backgrounds, output_dir=output_dir)
    report = {"command": "scripts/train_glad.py " + " ".join(str(a) for a in argv)}
    report["killed_run"] = run_until_first_checkpoint(
        argv, settings.mixed_precision, output_dir / "glad" / "checkpoints", timeout=600
    )
    cuda = settings.device.startswith("cuda")
    recorder = SyncRecorder()
    if cuda:
        torch.cuda.reset_peak_memory_stats(settings.device)
    tol_done = output_dir / "tol" / "complete.json"
    tol_written = tol_done.stat().st_mtime_ns if tol_done.is_file() else None
    started = time.perf_counter()
    with recorder.recording() if cuda else contextlib.nullcontext():
        metrics = _train(
            argv, settings.mixed_precision
        )  # the same command: the folder's interrupted run resumes
    glad = metrics["glad"]
    report["resumed_run"] = {
        "seconds": time.perf_counter() - started,
        "stage_1_reused": tol_written is not None and tol_done.stat().st_mtime_ns == tol_written,
        "glad_steps": glad["steps"],
        "glad_steps_per_s": glad.get("train_steps_per_second"),
        "target_mca": glad["target"]["mean_class_accuracy"],
        "peak_device_memory_gib": torch.cuda.max_memory_allocated(settings.device) / 2**30 if cuda else None,
    }
    if cuda:
        steps_recorded = max(1, glad["steps"] - _last_step(report["killed_run"]["checkpoints_at_kill"]))
        report["syncs"] = {
            "optimizer_steps": steps_recorded,
            "per_step": sum(recorder.in_steps.values()) / steps_recorded,
            "in_steps": dict(recorder.in_steps.most_common()),
            "all": dict(recorder.sites.most_common()),
        }
    started = time.perf_counter()
    data_args = DataArguments(
        dataset="kinetics2babel",
        data_dir=str(data_root),
        annotations=str(data_root / "kinetics2babel.tar"),
        cache_dir=str(work_dir / "datasets_cache"),
        num_workers=settings.workers,
    )
    scores = evaluate_checkpoint(
        str(output_dir / "glad" / "last"), data_args, "test", "target", work_dir / "eval", settings.batch_size
    )
    report["evaluation"] = {
        "seconds": time.perf_counter() - started,
        "videos": scores["num_videos"],
        "mean_class_accuracy": scores["mean_class_accuracy"],
    }
    return report


def _last_step(checkpoints: list[str]) -> int:
    return max((int(name.split("_")[1]) for name in checkpoints), default=0)


# -------------------------------------------------------------------------------------------------- the whole check


def _section(report: dict, name: str, output: Path, work: Callable[[], object]) -> None:
    """Run one part; its result or its error (with the traceback) goes into the report, written after each part."""
    started = time.perf_counter()
    print(f"gpu-check: {name} ...", flush=True)
    try:
        report[name] = work()
    except Exception as error:  # a part that fails is reported, and the next part still runs
        report[name] = {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
        print(report[name]["traceback"], file=sys.stderr, flush=True)
    report.setdefault("seconds", {})[name] = time.perf_counter() - started
    output.write_text(json.dumps(report, indent=2, default=str))


def run_gpu_check(work_dir: Path, output: Path, settings: GpuCheckSettings | None = None) -> dict:
    """The whole check into `output` (JSON, rewritten after each part); returns the report. `work_dir` holds the mini
    K->B and the training run. Default settings: `GpuCheckSettings.for_device` of CUDA if there is one, else the CPU."""
    settings = settings or GpuCheckSettings.for_device("cuda" if torch.cuda.is_available() else "cpu")
    report: dict = {"dry_run": settings.dry_run, "settings": asdict(settings)}
    work_dir.mkdir(parents=True, exist_ok=True)
    _section(report, "environment", output, lambda: environment(settings.device))
    data: dict = {}

    def prepare():
        data["root"], data["backgrounds"] = write_mini_k2b(work_dir / "media", settings.num_videos)
        domains = load_benchmark_domains("rawframes", data["root"], cache_dir=work_dir / "datasets_cache")
        data["dataset"] = stage2_benchmark_dataset(domains, data["backgrounds"], crop_size=settings.crop_size)
        return {"source_clips": len(data["dataset"]), "root": str(data["root"])}

    _section(report, "data", output, prepare)
    device = torch.device(settings.device)

    def throughput(compiled: bool) -> dict:
        return stage2_throughput(
            data["dataset"], device=device, model_size=settings.model_size, batch_size=settings.batch_size,
            steps=settings.timed_steps, workers=settings.workers, bf16=settings.mixed_precision == "bf16",
            compile=compiled,
        )  # fmt: skip

    if settings.throughput:
        _section(report, "throughput_eager", output, lambda: throughput(False))
    _section(report, "jpeg_decoding", output, lambda: jpeg_decode_rates(
        next((data["root"] / "k400" / "train").rglob("video*")), device
    ))  # fmt: skip
    _section(report, "training_cli", output, lambda: cli_check(
        settings, work_dir / "cli", data_root=data["root"], backgrounds=data["backgrounds"]
    ))  # fmt: skip
    if settings.compile:  # last: compiling the network is the part most likely to take long
        _section(report, "throughput_compiled", output, lambda: throughput(True))
    eager = report.get("throughput_eager", {})
    cli = report.get("training_cli", {}).get("resumed_run", {})
    if eager.get("model_only_steps_per_s") and cli.get("glad_steps_per_s"):
        report["cli_fraction_of_model_only"] = cli["glad_steps_per_s"] / eager["model_only_steps_per_s"]
    output.write_text(json.dumps(report, indent=2, default=str))
    return report
