"""One training run: stage 1 (TOL), then stage 2 (GLAD) from its backbone, optionally a source-only stage 2 on the
same budget for comparison; evaluation, artefacts and Hub uploads."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.logging import get_logger
from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration, set_seed

from .arguments import DataArguments, GladTrainingArguments, ModelArguments
from .checkpointing import atomic_write_json
from .data import load_domains
from .hub import BackgroundHubUploader
from .stages import StageResult, completed_stage, train_glad_stage, train_temporal_order_stage

logger = get_logger(__name__)

SOURCE_ONLY = dict(domain_alignment=[], forward_target=False)


def make_accelerator(train_args: GladTrainingArguments) -> Accelerator:
    """Devices, DDP and mixed precision come from `accelerate launch`; this adds seeding-friendly loaders,
    gradient accumulation and trackers."""
    output_dir = Path(train_args.output_dir)
    report_to = None if train_args.report_to == "none" else train_args.report_to
    # `accelerate launch --multi_gpu` or torchrun on a machine without GPUs starts several processes, which
    # Accelerate joins (gloo, MULTI_CPU) only when told to use the CPU; it would otherwise run them unaware of
    # each other.
    several_cpu_processes = int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()
    return Accelerator(
        cpu=several_cpu_processes,
        gradient_accumulation_steps=train_args.gradient_accumulation_steps,
        log_with=report_to,
        project_config=ProjectConfiguration(
            project_dir=str(output_dir), logging_dir=str(output_dir / "logs")
        ),
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True),
    )


def check_init_model(init_model: str | None) -> None:
    """Refuse, before any work, a local --init_model folder that is no GLAD model (a Hub id is checked on load)."""
    if not init_model or not Path(init_model).exists():
        return
    folder = Path(init_model)
    config_file = folder / "config.json"
    model_type = json.loads(config_file.read_text()).get("model_type") if config_file.is_file() else None
    if model_type != "glad":
        raise ValueError(
            f"--init_model {folder} is not a GLAD model folder (config.json with model_type 'glad' expected, "
            f"found {model_type!r}); convert mmaction checkpoints with scripts/convert_mmaction_checkpoint.py"
        )
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        raise ValueError(f"--init_model {folder} holds no *.safetensors weights")
    from safetensors import safe_open

    keys = []
    for shard in weights:
        with safe_open(str(shard), framework="pt") as handle:
            keys += list(handle.keys())
    if not any(key.startswith("glad.backbone.") for key in keys):
        raise ValueError(f"--init_model {folder} has no backbone weights (no 'glad.backbone.*' tensors)")


def _stage_result(stage_dir: Path, name: str) -> StageResult:
    metrics = json.loads((stage_dir / "metrics.json").read_text())
    model_dir = stage_dir / ("best" if (stage_dir / "best").is_dir() else "last")
    return StageResult(name, model_dir, metrics, 0.0)


def run_training(
    data_args: DataArguments,
    model_args: ModelArguments,
    train_args: GladTrainingArguments,
    accelerator: Accelerator | None = None,
) -> dict[str, StageResult]:
    """Run the stages `train_args.stage` asks for; returns their results by stage name."""
    check_init_model(model_args.init_model)
    accelerator = accelerator or make_accelerator(train_args)
    output_dir = Path(train_args.output_dir)
    set_seed(train_args.seed)
    if accelerator.is_main_process:
        output_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(
            output_dir / "run_arguments.json",
            {
                "data": dataclasses.asdict(data_args),
                "model": dataclasses.asdict(model_args),
                "training": {k: v for k, v in dataclasses.asdict(train_args).items() if k != "hub_token"},
            },
        )
    if train_args.report_to != "none":
        flat = {
            **dataclasses.asdict(data_args),
            **dataclasses.asdict(model_args),
            **dataclasses.asdict(train_args),
        }
        flat = {
            k: (v if isinstance(v, int | float | str | bool) else str(v))
            for k, v in flat.items()
            if k != "hub_token"
        }
        accelerator.init_trackers("glad", config=flat)
    with accelerator.main_process_first():
        domains = load_domains(data_args)
    uploader = None
    if train_args.push_to_hub and accelerator.is_main_process:
        uploader = BackgroundHubUploader(
            train_args.hub_model_id, token=train_args.hub_token, private=train_args.hub_private
        )

    results: dict[str, StageResult] = {}
    stage2_init = model_args.init_model
    resume = train_args.resume_from_checkpoint
    if train_args.stage in ("tol", "both"):
        stage_dir = output_dir / "tol"
        if resume and completed_stage(stage_dir):
            results["tol"] = _stage_result(stage_dir, "tol")
        else:
            results["tol"] = train_temporal_order_stage(
                accelerator, domains, data_args, model_args, train_args, stage_dir
            )
        stage2_init = str(results["tol"].model_dir)
        if uploader:
            uploader.submit(
                results["tol"].model_dir, path_in_repo="tol", commit_message="Stage 1 (TOL) model"
            )
    if train_args.stage in ("glad", "both"):
        runs = [("glad", model_args, "GLAD" if model_args.domain_alignment else "source-only")]
        if train_args.compare_source_only and model_args.domain_alignment:
            runs.append(("source_only", dataclasses.replace(model_args, **SOURCE_ONLY), "source-only"))
        for name, args, label in runs:
            stage_dir = output_dir / name
            set_seed(train_args.seed)
            if resume and completed_stage(stage_dir):
                results[name] = _stage_result(stage_dir, label)
                continue
            blend = train_args if name == "glad" else dataclasses.replace(train_args, background_blend=False)
            results[name] = train_glad_stage(
                accelerator, domains, data_args, args, blend, stage_dir, stage2_init, label
            )
            if uploader and name == "glad":
                uploader.submit(
                    results[name].model_dir, commit_message=f"GLAD model ({results[name].model_dir.name})"
                )
    accelerator.end_training()
    if uploader:
        status = uploader.close()
        logger.info(f"hub uploads: {status}", main_process_only=True)
    if accelerator.is_main_process:
        summary = {name: result.metrics for name, result in results.items()}
        atomic_write_json(output_dir / "results.json", summary)
    return results


def comparison_table(results: dict[str, StageResult]) -> str:
    """Markdown table of source / target MCA per stage-2 run."""
    lines = ["| run | target MCA | target top-1 | source MCA | steps |", "|---|---|---|---|---|"]
    for name, result in results.items():
        if name == "tol":
            continue
        target, source = result.metrics["target"], result.metrics["source"]
        lines.append(
            f"| {result.name} | {100 * target['mean_class_accuracy']:.1f} | {100 * target['top1_accuracy']:.1f} | "
            f"{100 * source['mean_class_accuracy']:.1f} | {result.metrics['steps']} |"
        )
    return "\n".join(lines)
