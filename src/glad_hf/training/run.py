"""One training run, read top-down: `run_training` checks the arguments (preflight), sets the run up (the output
folder's plan, the accelerator, the data, the run's record, trackers, Hub uploads, every stage's arguments resolved
once), runs the stages in order — motion pre-training (synthetic only, cached), stage 1 (TOL), stage 2 (GLAD, and
source-only on the same budget with --compare_source_only) — and finishes (uploads, results.json)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from accelerate import Accelerator, PartialState
from accelerate.logging import get_logger
from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration, set_seed

from ..hub.background import BackgroundHubUploader
from ..hub.run_sync import HubPublisher, download_stage_state
from .arguments import DataArguments, GladTrainingArguments, ModelArguments
from .methods import method_arguments
from .output_dir import (
    apply_output_plan,
    merge_results,
    output_dir_lock,
    plan_output_dir,
    record_run_arguments,
)
from .outputs import StageResult, completed_stage, load_stage_result
from .preflight import check_arguments, check_data
from .recipes import write_recipe
from .stage_datasets import load_domains
from .stage_recipe import stage_recipe
from .stages import (
    StageContext,
    motion_pretraining_dir,
    pretrain_on_motions,
    train_glad_stage,
    train_temporal_order_stage,
)

logger = get_logger(__name__)


@dataclass(frozen=True)
class StageRun:
    """A stage of the run with its arguments resolved: its name ("pretrain", or its folder's: "tol", "glad",
    "source_only"), its label, its arguments and the model it starts from."""

    name: str
    label: str
    model_args: ModelArguments
    train_args: GladTrainingArguments
    init: str | None


@dataclass
class Run:
    """A run once set up: what every stage reads, where motion pre-training is cached (None: no stage 0), the
    stages in training order, whether finished stages are reused (`resume`) and fetched from the Hub first."""

    accelerator: Accelerator
    domains: dict
    data_args: DataArguments
    output_dir: Path
    pretrain_dir: Path | None
    stages: list[StageRun]
    resume: bool
    from_hub: bool
    uploader: BackgroundHubUploader | None = None
    publisher: HubPublisher | None = None

    def context(self, stage: StageRun) -> StageContext:
        publisher = None if stage.name == "pretrain" else self.publisher  # the cached start is not pushed
        return StageContext(
            self.accelerator, self.domains, self.data_args, stage.model_args, stage.train_args, publisher
        )


def run_training(
    data_args: DataArguments,
    model_args: ModelArguments,
    train_args: GladTrainingArguments,
    accelerator: Accelerator | None = None,
) -> dict[str, StageResult]:
    """Run the stages `train_args.stage` asks for; returns their results by stage name."""
    check_arguments(data_args, model_args, train_args)
    with output_dir_lock(Path(train_args.output_dir)):
        run = set_up_run(data_args, model_args, train_args, accelerator)
        results = run_stages(run)
        finish_run(run, results)
    return results


def set_up_run(
    data_args: DataArguments,
    model_args: ModelArguments,
    train_args: GladTrainingArguments,
    accelerator: Accelerator | None,
) -> Run:
    """Decide what the run does with an existing --output_dir (resume, refuse: `output_dir.py`) before any work,
    then start the accelerator, load and check the data, record the run, start trackers and Hub uploads."""
    output_dir = Path(train_args.output_dir)
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
    arguments = {"data": data_args, "model": model_args, "training": train_args}
    if accelerator.is_main_process:
        output_dir.mkdir(parents=True, exist_ok=True)
        apply_output_plan(output_plan)
        record_run_arguments(output_dir, _as_dicts(arguments), stages=list(output_plan.recipes))
        write_recipe(output_dir / "recipe.yaml", data_args, model_args, train_args)
    accelerator.wait_for_everyone()
    if train_args.report_to != "none":
        flat = {k: v for group in _as_dicts(arguments).values() for k, v in group.items()}
        accelerator.init_trackers("glad", config={k: _tracker_value(v) for k, v in flat.items()})
    pretrain_dir = (
        motion_pretraining_dir(data_args, model_args, train_args) if model_args.motion_pretraining else None
    )
    run = Run(
        accelerator,
        domains,
        data_args,
        output_dir,
        pretrain_dir,
        resolve_stages(model_args, train_args, pretrain_dir=pretrain_dir),
        resume=bool(train_args.resume_from_checkpoint),
        from_hub=train_args.resume_from_checkpoint == "hub",
    )
    if train_args.push_to_hub and accelerator.is_main_process:
        run.uploader = BackgroundHubUploader(
            train_args.hub_model_id, token=train_args.hub_token, private=train_args.hub_private
        )
        run.publisher = HubPublisher(run.uploader, train_args.hub_strategy)
    return run


def resolve_stages(
    model_args: ModelArguments, train_args: GladTrainingArguments, *, pretrain_dir: Path | None
) -> list[StageRun]:
    """The stages `--stage` asks for, in training order, each with its own arguments: after motion pre-training
    every stage starts from its model; stage 2 starts from stage 1's when both run; "hub" resumes as "latest" once
    the Hub's state is fetched; source-only gets its method's arguments (`methods.py`)."""
    stages = []
    if pretrain_dir is not None:
        stages.append(StageRun("pretrain", "motion pre-training", model_args, train_args, init=None))
        model_args = dataclasses.replace(
            model_args, init_model=str(pretrain_dir / "last"), motion_pretraining=False
        )
    if train_args.resume_from_checkpoint == "hub":
        train_args = dataclasses.replace(train_args, resume_from_checkpoint="latest")
    stage2_init = model_args.init_model
    if train_args.stage in ("tol", "both"):
        stages.append(StageRun("tol", "TOL", model_args, train_args, init=model_args.init_model))
        stage2_init = str(Path(train_args.output_dir) / "tol" / "last")
    if train_args.stage in ("glad", "both"):
        stages.append(
            StageRun("glad", stage2_label(model_args, train_args), model_args, train_args, init=stage2_init)
        )
        if train_args.compare_source_only and model_args.domain_alignment:
            source_only = method_arguments("source_only", model_args, train_args)
            stages.append(StageRun("source_only", "source-only", *source_only, init=stage2_init))
    return stages


def run_stages(run: Run) -> dict[str, StageResult]:
    """Each stage in order: motion pre-training is reused from its cache when there; a finished stage of this folder
    is reused when resuming; any other is trained (or resumed mid-way)."""
    results = {}
    for stage in run.stages:
        context = run.context(stage)
        seed = stage.train_args.seed
        if stage.name == "pretrain":
            results["pretrain"] = pretrain_on_motions(context, run.pretrain_dir)
            set_seed(seed)  # later stages draw the same numbers whether pre-training ran or was cached
            continue
        stage_dir = run.output_dir / stage.name
        if stage.name != "tol":
            set_seed(seed)  # each stage-2 method starts from the same numbers
        if run.from_hub:  # what the Hub holds of the stage is brought here first, then resumed as "latest"
            fetch_stage_from_hub(run.accelerator, stage.train_args, stage_dir)
        if run.resume and completed_stage(stage_dir):
            results[stage.name] = load_stage_result(stage_dir, stage.name)
            continue
        if stage.name == "tol":
            results[stage.name] = train_temporal_order_stage(context, stage_dir)
        else:
            results[stage.name] = train_glad_stage(context, stage_dir, init=stage.init, label=stage.label)
        if run.publisher:
            run.publisher.stage_finished(stage_dir, headline=stage.name == "glad")
    return results


def finish_run(run: Run, results: dict[str, StageResult]) -> None:
    """End trackers, let the Hub uploads finish, merge the stages' metrics into results.json."""
    run.accelerator.end_training()
    if run.uploader:
        status = run.uploader.close()
        logger.info(f"hub uploads: {status}", main_process_only=True)
    if run.accelerator.is_main_process:
        merge_results(run.output_dir, {name: result.metrics for name, result in results.items()})


def make_accelerator(train_args: GladTrainingArguments) -> Accelerator:
    """Devices, DDP and mixed precision come from `accelerate launch`; this adds seeding-friendly loaders,
    gradient accumulation and trackers."""
    output_dir = Path(train_args.output_dir)
    report_to = None if train_args.report_to == "none" else train_args.report_to
    accelerator = Accelerator(
        cpu=_several_cpu_processes(),
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


def process_state() -> PartialState:
    """This process's Accelerate state, for a script that asks which process it is before `run_training`: the first
    state made decides whether the processes are joined, so it is made as `make_accelerator` makes it."""
    return PartialState(cpu=_several_cpu_processes())


def _several_cpu_processes() -> bool:
    # `accelerate launch --multi_gpu` or torchrun on a machine without GPUs starts several processes, which
    # Accelerate joins (gloo, MULTI_CPU) only when told to use the CPU; it would otherwise run them unaware of
    # each other, each believing it is the main process.
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()


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


def _as_dicts(arguments: dict) -> dict[str, dict]:
    """The argument groups as dicts, without the Hub token (never written or logged)."""
    return {
        group: {k: v for k, v in dataclasses.asdict(args).items() if k != "hub_token"}
        for group, args in arguments.items()
    }


def _tracker_value(value):
    return value if isinstance(value, int | float | str | bool) else str(value)
