"""The synthetic Kinetics->BABEL benchmark: does the package's GLAD adapt?

Kinetics, BABEL and GPUs being out of reach, this runs the paper's comparison on the synthetic K->B through the
same code as real use (the `synthetic` builder, a small ResNet3d through the backbone interface, the stage loops of
`run_training`): motion pre-training once (the Kinetics stand-in, cached), stage 1 (TOL) once per seed, then
source-only, a target-forward-only batch-norm control, DANN, GLA, GLA + BG, GLA + TOL and GLAD for every seed on
fixed data. Runs go to a pool of single-threaded worker processes; each run is resumable and a finished one is
reused. The report: every run in `benchmark.json`, a markdown table (mean ± std, per-seed values, exact or Monte
Carlo permutation-test p-values against source-only and DANN, wall-clock) and a bar chart.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path

import torch

from ..atomic import atomic_write_text
from ..data.synthetic import generate_synthetic_k2b
from .arguments import DataArguments, GladTrainingArguments, ModelArguments
from .benchmark_presets import PRESETS, BenchmarkPreset
from .experiments import motion_pretrained_arguments, results_table, run_experiments, write_report
from .methods import METHODS, check_methods
from .outputs import StageResult
from .stage_datasets import ensure_backgrounds, glad_cache_dir, load_domains


def benchmark_arguments(
    preset: BenchmarkPreset, data_dir: Path, output_dir: Path
) -> tuple[DataArguments, ModelArguments, GladTrainingArguments]:
    """The `scripts/train_glad.py` arguments of the preset's runs."""
    size = preset.data.frame_size
    data_args = DataArguments(
        dataset="synthetic", data_dir=str(data_dir), short_side=size, crop_size=size, video_cache_mb=4096
    )
    model_args = ModelArguments(
        model_size="tiny",
        backbone_type="resnet3d",
        backbone_config=json.dumps(preset.backbone_config),
        **preset.model,
    )
    train_args = GladTrainingArguments(
        output_dir=str(output_dir),
        optimizer="adamw",
        evaluate_every_epoch=False,  # scores come from the last model: no selection on the target test split
        compare_source_only=False,
        report_to="none",
        **preset.train,
    )
    return data_args, model_args, train_args


def prepare_benchmark(
    spec: BenchmarkPreset, output_dir: Path, methods: list[str], data_dir: str | os.PathLike | None = None
) -> tuple[DataArguments, ModelArguments, GladTrainingArguments, dict, StageResult]:
    """The preset's data (generated or reused), backgrounds when a method blends, and the motion-pretrained start
    (trained once into `output_dir/pretrain`, or reused from the cache): the runs' arguments, the timings so far
    and the pre-training's `StageResult`."""
    data_dir = Path(data_dir) if data_dir else glad_cache_dir() / "benchmark_data" / spec.data.config_hash()
    started = time.time()
    timings = {}
    generate_synthetic_k2b(data_dir, spec.data)
    data_args, model_args, train_args = benchmark_arguments(spec, data_dir, output_dir)
    load_domains(data_args)  # builds the datasets index once, before the workers read it
    timings["data_seconds"] = time.time() - started

    if any(METHODS[m].background_blend for m in methods):
        ensure_backgrounds(data_args)  # once, before workers would extract them side by side

    pretrain_started = time.time()
    # The pool is not running yet: one loader worker renders the motion clips while this process trains on the
    # other cores (on 2 cores, 1 thread + 1 worker: 0.12 s/step against 0.15 s for 2 threads and no worker).
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, threads - 1))
    try:
        model_args, pretrain = motion_pretrained_arguments(
            dataclasses.replace(data_args, num_workers=1), model_args, train_args, output_dir / "pretrain"
        )
    finally:
        torch.set_num_threads(threads)
    timings["pretrain_seconds"] = time.time() - pretrain_started
    timings["pretrain_trained_seconds"] = pretrain.seconds
    return data_args, model_args, train_args, timings, pretrain


def run_synthetic_benchmark(
    output_dir: str | os.PathLike,
    preset: str = "default",
    seeds: int | None = None,
    source_only_seeds: int | None = None,
    methods: list[str] | None = None,
    num_workers: int = 2,
    data_dir: str | os.PathLike | None = None,
) -> dict:
    """Run the benchmark; writes `benchmark.json`, `benchmark.md` and `benchmark.png` under `output_dir`.

    Args:
        preset: a `PRESETS` name ("default": the README's table; "quick": a smoke test, about 30 s on 2 cores).
        seeds, source_only_seeds: seeds per method and for source-only (default: the preset's). Seeds are
            0, 1, ...; the data are the same for every run.
        methods: names of `methods.METHODS` (default: the preset's; all eight for "default": the seven of the comparison and the supervised-target upper bound).
        num_workers: worker processes with one thread each; 0 = every run in this process.
        data_dir: where the synthetic K->B is generated (default: a folder of the cache named by its content
            hash, reused by later calls).
    """
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    spec = PRESETS[preset]
    methods = list(methods or spec.methods)
    check_methods(methods)
    seeds = spec.seeds if seeds is None else seeds
    source_only_seeds = spec.source_only_seeds if source_only_seeds is None else source_only_seeds
    if seeds < 1 or source_only_seeds < 1:
        raise ValueError(f"seeds and source_only_seeds must be >= 1, got {seeds} and {source_only_seeds}")
    output_dir = Path(output_dir)
    started = time.time()
    data_args, model_args, train_args, timings, pretrain = prepare_benchmark(
        spec, output_dir, methods, data_dir
    )

    jobs_started = time.time()
    jobs = [
        (m, seed)
        for m in sorted(methods, key=lambda m: METHODS[m].temporal_order)  # the TOL methods wait for stage 1
        for seed in range(source_only_seeds if m == "source_only" else seeds)
    ]
    runs = run_experiments(data_args, model_args, train_args, jobs, output_dir / "runs", num_workers)
    runs.sort(key=lambda r: (methods.index(r["method"]), r["seed"]))
    timings["runs_seconds"] = time.time() - jobs_started
    timings["total_seconds"] = time.time() - started

    machine = {"cpu_count": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__}
    title = f"synthetic K->B ({preset}): target and source test MCA, mean ± std over seeds"
    summary = write_report(
        output_dir,
        "benchmark",
        runs,
        title,
        preset=preset,
        preset_config=asdict(spec),
        seeds=seeds,
        source_only_seeds=source_only_seeds,
        num_workers=num_workers,
        machine=dict(machine, device="cpu"),
        timings=timings,
        pretrain={"model_dir": str(pretrain.model_dir), "metrics": pretrain.metrics},
    )
    table = results_table(summary)
    atomic_write_text(output_dir / "benchmark.md", table + "\n" + timing_line(timings, num_workers) + "\n")
    return {
        "summary": summary,
        "timings": timings,
        "runs": runs,
        "pretrain": {"model_dir": str(pretrain.model_dir), "metrics": pretrain.metrics},
    }


def timing_line(timings: dict, num_workers: int) -> str:
    """One sentence of a report's `timings`."""
    return (
        f"Wall clock {timings['total_seconds'] / 60:.1f} min on {os.cpu_count()} CPU cores ({num_workers} workers): "
        f"data {timings['data_seconds']:.0f} s, motion pre-training {timings['pretrain_seconds']:.0f} s "
        f"(trained in {timings['pretrain_trained_seconds']:.0f} s), runs {timings['runs_seconds']:.0f} s."
    )
