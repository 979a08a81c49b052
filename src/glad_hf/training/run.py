"""One training run: on the synthetic dataset, motion pre-training (cached); stage 1 (TOL), then stage 2 (GLAD)
from its backbone, optionally a source-only stage 2 on the same budget for comparison; evaluation, artefacts and
Hub uploads."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.logging import get_logger
from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration, set_seed

from .arguments import DataArguments, GladTrainingArguments, ModelArguments
from .hub import BackgroundHubUploader
from .hub_sync import HubPublisher, download_stage_state
from .methods import method_arguments
from .output_dir import (
    apply_output_plan,
    merge_results,
    output_dir_lock,
    plan_output_dir,
    record_run_arguments,
)
from .outputs import StageResult, completed_stage, load_stage_result
from .preflight import check_data, check_setup
from .recipes import write_recipe
from .stage_datasets import glad_cache_dir, load_domains, motion_pretraining_config
from .stage_models import build_config, check_model_source
from .stage_recipe import stage_recipe
from .stages import StageContext, train_glad_stage, train_motion_pretraining_stage, train_temporal_order_stage

logger = get_logger(__name__)

# Bump when the motion pre-training recipe changes, so that cached models of the old recipe are not reused.
MOTION_PRETRAINING_VERSION = 2  # 2: the batch is global, the folder independent of the process count


def make_accelerator(train_args: GladTrainingArguments) -> Accelerator:
    """Devices, DDP and mixed precision come from `accelerate launch`; this adds seeding-friendly loaders,
    gradient accumulation and trackers."""
    output_dir = Path(train_args.output_dir)
    report_to = None if train_args.report_to == "none" else train_args.report_to
    # `accelerate launch --multi_gpu` or torchrun on a machine without GPUs starts several processes, which
    # Accelerate joins (gloo, MULTI_CPU) only when told to use the CPU; it would otherwise run them unaware of
    # each other.
    several_cpu_processes = int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()
    accelerator = Accelerator(
        cpu=several_cpu_processes,
        gradient_accumulation_steps=train_args.gradient_accumulation_steps,
        log_with=report_to,
        project_config=ProjectConfiguration(
            project_dir=str(output_dir), logging_dir=str(output_dir / "logs")
        ),
        # non_blocking: batches are copied from pinned memory to the device without the host waiting for the copy.
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, non_blocking=True),
    )
    if accelerator.mixed_precision == "fp16" and accelerator.device.type == "cpu":
        raise ValueError(
            "--mixed_precision fp16 needs a GPU (its gradient scaler is for CUDA devices); on the CPU use "
            "--mixed_precision bf16 or no"
        )
    return accelerator


def fetch_stage_from_hub(
    accelerator: Accelerator, train_args: GladTrainingArguments, stage_dir: Path
) -> None:
    """`--resume_from_checkpoint hub`: bring the stage's state on --hub_model_id (a finished stage, or its newest
    training state) into `stage_dir`, in the main process, before the stage resumes from it."""
    if accelerator.is_main_process:
        found = download_stage_state(train_args.hub_model_id, stage_dir, token=train_args.hub_token)
        logger.info(
            f"{stage_dir.name}: from {train_args.hub_model_id}: {found or 'nothing yet'}",
            main_process_only=True,
        )
    accelerator.wait_for_everyone()


def stage2_label(model_args: ModelArguments, train_args: GladTrainingArguments) -> str:
    if train_args.labelled_domain == "target":
        return "supervised target"
    return "GLAD" if model_args.domain_alignment else "source-only"


def check_combinations(model_args: ModelArguments, train_args: GladTrainingArguments) -> None:
    """Refuse, before any work, switches of different argument groups that contradict each other."""
    if train_args.labelled_domain == "target" and (model_args.domain_alignment or model_args.forward_target):
        raise ValueError(
            "--labelled_domain target trains on the target's labels alone: pass --domain_alignment none and "
            "--forward_target false with it"
        )


def check_motion_pretraining(
    data_args: DataArguments, model_args: ModelArguments, train_args: GladTrainingArguments
) -> None:
    """Refuse, before any work, motion pre-training where it does not apply."""
    if not model_args.motion_pretraining:
        if train_args.stage == "pretrain":
            raise ValueError("--stage pretrain needs --motion_pretraining true")
        return
    if data_args.dataset != "synthetic":
        raise ValueError(
            "--motion_pretraining is the synthetic dataset's stand-in for Kinetics pre-training; with --dataset "
            f"{data_args.dataset} pass --motion_pretraining false (and --init_model, e.g. a converted I3D)"
        )
    if model_args.init_model:
        raise ValueError(
            f"--init_model {model_args.init_model} and --motion_pretraining both choose the starting weights; "
            "pass --motion_pretraining false to start from --init_model"
        )


def motion_pretraining_dir(data_args, model_args, train_args, motion_config) -> Path:
    """The cache folder of one pre-training recipe: `<cache>/pretrained/synthetic-motions-<content hash>`, the hash
    of everything that defines the recipe (motions, architecture, optimisation with its global batch, input size,
    seed) and not how many processes ran it."""
    recipe = {
        "version": MOTION_PRETRAINING_VERSION,
        "motions": motion_config.config_hash(),
        "model": _architecture(model_args),
        "steps": train_args.pretrain_max_train_steps,
        "batch": train_args.pretrain_batch_size,
        "learning_rate": train_args.pretrain_learning_rate,
        "weight_decay": train_args.weight_decay,
        "max_grad_norm": train_args.max_grad_norm,
        "seed": train_args.seed,
        "input": [data_args.short_side, data_args.crop_size],
    }
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
    return glad_cache_dir() / "pretrained" / f"synthetic-motions-{digest}"


def _architecture(model_args: ModelArguments) -> dict:
    """The run's model configuration without what does not shape the network (versions, stage-2 switches)."""
    config = build_config(model_args, None).to_dict()
    for key in ("transformers_version", "domain_alignment", "grl_lambda", "domain_loss_weight"):
        config.pop(key, None)
    return config


def pretrain_on_motions(
    accelerator: Accelerator,
    data_args: DataArguments,
    model_args: ModelArguments,
    train_args: GladTrainingArguments,
) -> StageResult:
    """The motion-pretrained model of this recipe: reused from the cache when it exists, trained (or an interrupted
    training resumed) there otherwise. The synthetic root must exist (`load_domains` generates it)."""
    motion_config = motion_pretraining_config(data_args, train_args.pretrain_num_videos)
    stage_dir = motion_pretraining_dir(data_args, model_args, train_args, motion_config)
    if completed_stage(stage_dir):
        logger.info(f"motion pre-training: reusing {stage_dir}", main_process_only=True)
        return load_stage_result(stage_dir, "pretrain")
    steps = train_args.pretrain_max_train_steps
    logger.warning(
        f"stage 0: the motion pre-training of this recipe is not cached yet, so it is trained once now: {steps} steps "
        f"x {train_args.pretrain_batch_size} videos (the default recipe took about 2 min on a 2-core CPU; the progress bar "
        f"shows the time left), into {stage_dir}, which every later run reuses. To skip it: --motion_pretraining false "
        "(random initialisation) or a shorter --pretrain_max_train_steps (another recipe, another cache folder).",
        main_process_only=True,
    )
    set_seed(train_args.seed)
    return train_motion_pretraining_stage(
        accelerator, motion_config, data_args, model_args, train_args, stage_dir
    )


def stage_recipes(
    data_args: DataArguments, model_args: ModelArguments, train_args: GladTrainingArguments
) -> dict[str, dict]:
    """{stage folder: recipe} of the stage folders the run writes under --output_dir, in training order (stage 2
    of `--stage both` starts from this folder's tol/last)."""
    recipes = {}
    if train_args.stage in ("tol", "both"):
        recipes["tol"] = stage_recipe("tol", data_args, model_args, train_args, init=model_args.init_model)
    if train_args.stage in ("glad", "both"):
        init = (
            str(Path(train_args.output_dir) / "tol" / "last")
            if train_args.stage == "both"
            else model_args.init_model
        )
        recipes["glad"] = stage_recipe("glad", data_args, model_args, train_args, init=init)
        if train_args.compare_source_only and model_args.domain_alignment:
            recipes["source_only"] = recipes["glad"]
    return recipes


def run_training(
    data_args: DataArguments,
    model_args: ModelArguments,
    train_args: GladTrainingArguments,
    accelerator: Accelerator | None = None,
) -> dict[str, StageResult]:
    """Run the stages `train_args.stage` asks for; returns their results by stage name."""
    check_model_source(model_args.init_model, "--init_model")
    check_motion_pretraining(data_args, model_args, train_args)
    check_combinations(model_args, train_args)
    check_setup(data_args, model_args, train_args)
    with output_dir_lock(Path(train_args.output_dir)):
        return _run_stages(data_args, model_args, train_args, accelerator)


def _run_stages(
    data_args: DataArguments,
    model_args: ModelArguments,
    train_args: GladTrainingArguments,
    accelerator: Accelerator | None,
) -> dict[str, StageResult]:
    """`run_training` once the arguments are checked and the output folder is this run's."""
    output_dir = Path(train_args.output_dir)
    # What the run does with an existing --output_dir (resume, refuse), decided before any work (output_dir.py).
    output_plan = plan_output_dir(
        output_dir,
        stage_recipes(data_args, model_args, train_args),
        resume=train_args.resume_from_checkpoint,
        overwrite=train_args.overwrite_output_dir,
        init_model=model_args.init_model,
    )
    train_args = dataclasses.replace(train_args, resume_from_checkpoint=output_plan.resume)
    accelerator = accelerator or make_accelerator(train_args)
    set_seed(train_args.seed)
    with accelerator.main_process_first():
        domains = load_domains(data_args)
    check_data(domains, data_args, model_args, train_args)
    if accelerator.is_main_process:
        output_dir.mkdir(parents=True, exist_ok=True)
        apply_output_plan(output_plan)
        record_run_arguments(
            output_dir,
            {
                "data": dataclasses.asdict(data_args),
                "model": dataclasses.asdict(model_args),
                "training": {k: v for k, v in dataclasses.asdict(train_args).items() if k != "hub_token"},
            },
            stages=list(output_plan.recipes),
        )
        write_recipe(output_dir / "recipe.yaml", data_args, model_args, train_args)
    accelerator.wait_for_everyone()
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
    uploader = publisher = None
    if train_args.push_to_hub and accelerator.is_main_process:
        uploader = BackgroundHubUploader(
            train_args.hub_model_id, token=train_args.hub_token, private=train_args.hub_private
        )
        publisher = HubPublisher(uploader, train_args.hub_strategy)

    results: dict[str, StageResult] = {}
    if model_args.motion_pretraining:
        results["pretrain"] = pretrain_on_motions(accelerator, data_args, model_args, train_args)
        model_args = dataclasses.replace(
            model_args, init_model=str(results["pretrain"].model_dir), motion_pretraining=False
        )
        set_seed(train_args.seed)  # later stages draw the same numbers whether pre-training ran or was cached
    stage2_init = model_args.init_model
    resume = train_args.resume_from_checkpoint
    if resume == "hub":  # what the Hub holds of each stage is brought here first, then resumed as "latest"
        train_args = dataclasses.replace(train_args, resume_from_checkpoint="latest")
    if train_args.stage in ("tol", "both"):
        stage_dir = output_dir / "tol"
        if resume == "hub":
            fetch_stage_from_hub(accelerator, train_args, stage_dir)
        if resume and completed_stage(stage_dir):
            results["tol"] = load_stage_result(stage_dir, "tol")
        else:
            context = StageContext(accelerator, domains, data_args, model_args, train_args, publisher)
            results["tol"] = train_temporal_order_stage(context, stage_dir)
            if publisher:
                publisher.stage_finished(stage_dir, headline=False)
        stage2_init = str(results["tol"].model_dir)
    if train_args.stage in ("glad", "both"):
        runs = [("glad", model_args, train_args, stage2_label(model_args, train_args))]
        if train_args.compare_source_only and model_args.domain_alignment:
            runs.append(
                ("source_only", *method_arguments("source_only", model_args, train_args), "source-only")
            )
        for name, args, stage_train_args, label in runs:
            stage_dir = output_dir / name
            set_seed(train_args.seed)
            if resume == "hub":
                fetch_stage_from_hub(accelerator, train_args, stage_dir)
            if resume and completed_stage(stage_dir):
                results[name] = load_stage_result(stage_dir, name)
                continue
            context = StageContext(accelerator, domains, data_args, args, stage_train_args, publisher)
            results[name] = train_glad_stage(context, stage_dir, init=stage2_init, label=label)
            if publisher:
                publisher.stage_finished(stage_dir, headline=name == "glad")
    accelerator.end_training()
    if uploader:
        status = uploader.close()
        logger.info(f"hub uploads: {status}", main_process_only=True)
    if accelerator.is_main_process:
        summary = {name: result.metrics for name, result in results.items()}
        merge_results(output_dir, summary)
    return results
