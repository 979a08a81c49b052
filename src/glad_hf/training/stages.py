"""The training stages under Accelerate: temporal-order learning (SPEC §6), then GLAD (SPEC §3-§5, §7); before
them, on the synthetic dataset, supervised pre-training on synthetic motions (the stand-in for Kinetics).

Each stage writes under `<output_dir>/<stage name>/`: `checkpoints/step_*` (Accelerate states, atomic, for
`--resume_from_checkpoint`), `best/` and `last/` (`save_pretrained` folders with processor and model card; TOL
writes `last/` only), `metrics.json`, `confusion_matrix.png` (stage 2), `curves.png`, and `complete.json` once the
stage has finished (a resumed run then reuses it).
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.logging import get_logger
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers.utils import logging as transformers_logging

from ..configuration_glad import GladConfig
from ..data import DomainPairedLoader, SyntheticMotionConfig
from ..labels import K2B_LABELS
from ..metrics.plots import save_confusion_matrix_png, save_curves_png
from ..modeling_glad import GladForTemporalOrderLearning, GladForVideoClassification
from ..video_processing_glad import GladVideoProcessor
from .arguments import DataArguments, GladTrainingArguments, ModelArguments
from .checkpointing import atomic_accelerator_save_state, atomic_save_pretrained, atomic_write_json
from .data import (
    evaluation_dataset,
    glad_train_datasets,
    motion_pretraining_datasets,
    temporal_order_dataset,
)
from .evaluation import classification_metrics, predict
from .model_card import write_model_card
from .optim import make_optimizer, one_cycle_schedule, stage_schedule, step_decay_schedule

logger = get_logger(__name__)


@dataclass
class StageProgress:
    """Where a stage is; saved with every checkpoint (`Accelerator.register_for_checkpointing`)."""

    epoch: int = 0
    batches_done_in_epoch: int = 0
    global_step: int = 0
    best_metric: float = -1.0
    history: dict[str, list] = field(default_factory=dict)

    def state_dict(self) -> dict:
        return dataclasses.asdict(self)

    def load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value)

    def record(self, name: str, value: float) -> None:
        self.history.setdefault(name, []).append((self.global_step, float(value)))


@dataclass
class StageResult:
    """A finished stage: its saved model folder, metrics, wall time and (when trained in this process) the
    trained model, unwrapped."""

    name: str
    model_dir: Path
    metrics: dict
    seconds: float
    model: torch.nn.Module | None = None


# ----------------------------------------------------------------------------------------------- helpers


def build_config(model_args: ModelArguments, init: str | None, **overrides) -> GladConfig:
    """The run's GladConfig: the init folder's architecture (or the chosen size), this run's switches."""
    settings = dict(
        domain_alignment=tuple(model_args.domain_alignment),
        batch_norm_grouping=model_args.batch_norm_grouping,
        test_view_aggregation=model_args.test_view_aggregation,
        grl_lambda=model_args.grl_lambda,
        domain_loss_weight=model_args.domain_loss_weight,
    )
    settings.update(overrides)
    if init:
        config = GladConfig.from_pretrained(init)
        for key, value in settings.items():
            setattr(config, key, value)
        if config.num_labels != len(K2B_LABELS):  # e.g. starting from the Kinetics-400 classifier
            config.id2label = dict(enumerate(K2B_LABELS))
            config.label2id = {name: i for i, name in config.id2label.items()}
        config._validate()
        return config
    if model_args.backbone_type:
        backbone = json.loads(model_args.backbone_config) if model_args.backbone_config else None
        if model_args.model_size == "tiny":  # tiny heads, on the given backbone or the family's tiny one
            return GladConfig.tiny(model_args.backbone_type, backbone_config=backbone, **settings)
        return GladConfig.for_backbone(model_args.backbone_type, backbone, **settings)
    if model_args.model_size == "tiny":
        return GladConfig.tiny(**settings)
    return GladConfig(**settings)


def load_model(model_class, config: GladConfig, init: str | None):
    """`model_class` from `init` (only the tensors that fit are loaded; new heads are initialised) or new."""
    if not init:
        return model_class(config)
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()  # its load report lists every new head tensor; we summarise below
    try:
        model, info = model_class.from_pretrained(
            init, config=config, ignore_mismatched_sizes=True, output_loading_info=True
        )
    finally:
        transformers_logging.set_verbosity(verbosity)
    missing_backbone = [k for k in info["missing_keys"] if k.startswith("glad.backbone.")]
    if missing_backbone:
        raise ValueError(f"--init_model {init} lacks backbone tensors, e.g. {missing_backbone[:3]}")
    new_heads = sorted({k.split(".")[0] for k in info["missing_keys"]})
    logger.info(
        f"{model_class.__name__}: backbone from {init}; newly initialised: {new_heads}",
        main_process_only=True,
    )
    return model


def _backward_and_step(accelerator, model, optimizer, scheduler, loss, max_grad_norm: float) -> None:
    """Backward, clip the gradient norm (SPEC §7) when gradients are synchronised, step (inside `accumulate`)."""
    accelerator.backward(loss)
    if accelerator.sync_gradients:
        accelerator.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()


def _after_batch(
    accelerator, progress, bar, train_args, stage_dir: Path, prefix: str, values: dict, max_steps: int
) -> bool:
    """Count the batch; after an optimiser step, log, checkpoint every `checkpointing_steps`. True = stop the stage."""
    progress.batches_done_in_epoch += 1
    if not accelerator.sync_gradients:
        return False
    progress.global_step += 1
    bar.update(1)
    _log_step(accelerator, progress, train_args, prefix, values)
    if train_args.checkpointing_steps and progress.global_step % train_args.checkpointing_steps == 0:
        _save_checkpoint(accelerator, stage_dir, progress, train_args.checkpoints_total_limit)
    return progress.global_step >= max_steps


def _checkpoint_dirs(stage_dir: Path) -> list[Path]:
    return sorted((stage_dir / "checkpoints").glob("step_*"), key=lambda p: int(p.name.split("_")[1]))


def _save_checkpoint(accelerator, stage_dir: Path, progress: StageProgress, limit: int) -> None:
    folder = stage_dir / "checkpoints" / f"step_{progress.global_step:08d}"
    atomic_accelerator_save_state(accelerator, folder)
    if accelerator.is_main_process:
        for old in _checkpoint_dirs(stage_dir)[:-limit]:
            shutil.rmtree(old, ignore_errors=True)


def _begin_stage(accelerator: Accelerator) -> None:
    """Forget the previous stage's prepared objects: a checkpoint then holds this stage's model, optimiser,
    scheduler and progress only, so that a fresh process that resumes this stage (earlier stages finished and
    not re-prepared) loads it. Accelerate's `free_memory` drops all but the registered custom objects, which
    it has no public way to drop."""
    accelerator.free_memory()
    accelerator._custom_objects.clear()


def _resume(accelerator, stage_dir: Path, resume: str | None) -> bool:
    if not resume:
        return False
    if resume == "latest":
        found = _checkpoint_dirs(stage_dir)
        if not found:
            return False
        folder = found[-1]
    else:
        folder = Path(resume)
        if not folder.is_dir():
            raise ValueError(f"--resume_from_checkpoint {resume} is not a folder")
    accelerator.load_state(str(folder))
    logger.info(f"resumed from {folder}", main_process_only=True)
    return True


def _set_epoch(dataset, epoch: int) -> None:
    if hasattr(dataset, "set_epoch"):
        dataset.set_epoch(epoch)


def _train_epochs(
    accelerator,
    model,
    optimizer,
    scheduler,
    train_set,
    train_loader,
    progress,
    train_args,
    stage_dir: Path,
    prefix: str,
    description: str,
    num_epochs: int,
    max_steps: int,
    compute_loss,
) -> None:
    """One-loader training from where `progress` is: `compute_loss(batch) -> (loss, logged values)` per batch, logged
    under `prefix/`, a checkpoint at each epoch's end; `description` labels the progress bar."""
    bar = tqdm(
        total=max_steps,
        initial=progress.global_step,
        desc=description,
        disable=not accelerator.is_local_main_process,
    )
    model.train()
    while progress.epoch < num_epochs and progress.global_step < max_steps:
        _set_epoch(train_set, progress.epoch)
        train_loader.set_epoch(progress.epoch)
        loader = accelerator.skip_first_batches(train_loader, progress.batches_done_in_epoch)
        for batch_data in loader:
            with accelerator.accumulate(model):
                loss, values = compute_loss(batch_data)
                _backward_and_step(accelerator, model, optimizer, scheduler, loss, train_args.max_grad_norm)
            values["lr"] = scheduler.get_last_lr()[0]
            if _after_batch(accelerator, progress, bar, train_args, stage_dir, prefix, values, max_steps):
                break
        if progress.batches_done_in_epoch >= len(train_loader):
            progress.epoch += 1
            progress.batches_done_in_epoch = 0
        _save_checkpoint(accelerator, stage_dir, progress, train_args.checkpoints_total_limit)
    bar.close()


def grl_ramp(schedule: str, progress: float) -> float:
    """Multiplier of the gradient-reversal factor at training progress `progress` in [0, 1]: 1 ("constant") or
    DANN's 2 / (1 + exp(-10 p)) - 1 ("dann", Ganin & Lempitsky 2015), from 0 to ~1."""
    if schedule == "constant":
        return 1.0
    if schedule == "dann":
        return 2.0 / (1.0 + math.exp(-10.0 * min(max(progress, 0.0), 1.0))) - 1.0
    raise ValueError(f"grl_lambda_schedule must be 'constant' or 'dann', got {schedule!r}")


def _loader(dataset, batch_size: int, shuffle: bool, data_args: DataArguments, drop_last: bool = False):
    # A private generator: starting an iteration draws a worker base seed from the loader's generator, which
    # would otherwise advance the global RNG (that dropout and TOL permutations use) at epoch and target-pass
    # boundaries, and a resumed run would draw different dropout masks than an uninterrupted one.
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        drop_last=drop_last,
        num_workers=data_args.num_workers,
        persistent_workers=False,
        generator=torch.Generator().manual_seed(0),
    )


def _processor(config: GladConfig, data_args: DataArguments) -> GladVideoProcessor:
    return GladVideoProcessor(
        num_clips=config.num_clips,
        clip_len=config.clip_len,
        size={"shortest_edge": data_args.short_side},
        crop_size={"height": data_args.crop_size, "width": data_args.crop_size},
    )


def _card_results(metrics: dict, split: str) -> dict:
    return dict(metrics, split=split)


def _model_id(train_args: GladTrainingArguments, stage_dir: Path) -> str:
    """The Hub id the card documents: --hub_model_id (stage 2) or a name from the output folder."""
    if train_args.hub_model_id:
        return (
            train_args.hub_model_id
            if stage_dir.name == "glad"
            else f"{train_args.hub_model_id}-{stage_dir.name}"
        )
    return f"{Path(train_args.output_dir).name}-{stage_dir.name}"


def _save_model(accelerator, model, config, data_args, folder: Path, card: dict) -> None:
    if accelerator.is_main_process:
        atomic_save_pretrained(accelerator.unwrap_model(model), _processor(config, data_args), folder)
        write_model_card(folder, **card)
    accelerator.wait_for_everyone()


def _finish(stage_dir: Path, progress: StageProgress, metrics: dict, accelerator, start: float) -> float:
    """Write the stage's metrics, curves and `complete.json`; returns the stage's wall time (the one recorded)."""
    if accelerator.is_main_process:
        atomic_write_json(stage_dir / "metrics.json", metrics)
        if progress.history:
            save_curves_png(progress.history, stage_dir / "curves.png", title=stage_dir.name)
    seconds = time.time() - start
    if accelerator.is_main_process:
        atomic_write_json(stage_dir / "complete.json", {"seconds": seconds})
    accelerator.wait_for_everyone()
    return seconds


def completed_stage(stage_dir: Path) -> bool:
    return (stage_dir / "complete.json").is_file()


# ----------------------------------------------------------------------------------------------- stage 0


def train_motion_pretraining_stage(
    accelerator: Accelerator,
    motion_config: SyntheticMotionConfig,
    data_args: DataArguments,
    model_args: ModelArguments,
    train_args: GladTrainingArguments,
    stage_dir: Path,
) -> StageResult:
    """Supervised pre-training on synthetic motions (`glad_hf.data.synthetic_motions`), the synthetic benchmark's
    stand-in for the Kinetics I3D: the run's architecture with one class per motion, AdamW on a one-cycle schedule
    over `pretrain_max_train_steps` steps; resumes from its own checkpoints; writes `last/` and the validation
    accuracy."""
    start = time.time()
    _begin_stage(accelerator)
    motions = dict(enumerate(motion_config.motions))
    config = build_config(
        model_args, None, domain_alignment=(), id2label=motions, label2id={m: i for i, m in motions.items()}
    )
    model = GladForVideoClassification(config)
    train_set, val_set = motion_pretraining_datasets(motion_config, config, data_args, train_args.seed)
    batch = train_args.pretrain_batch_size
    train_loader = _loader(train_set, batch, True, data_args, drop_last=True)
    val_loader = _loader(val_set, train_args.per_device_eval_batch_size, False, data_args)
    optimizer = make_optimizer(
        model, "adamw", train_args.pretrain_learning_rate, train_args.weight_decay, train_args.momentum
    )
    model, optimizer, train_loader, val_loader = accelerator.prepare(
        model, optimizer, train_loader, val_loader
    )
    max_steps = train_args.pretrain_max_train_steps
    scheduler = accelerator.prepare(one_cycle_schedule(optimizer, max_steps, accelerator.num_processes))
    progress = StageProgress()
    accelerator.register_for_checkpointing(progress)
    _resume(accelerator, stage_dir, "latest")

    def compute_loss(batch_data):
        out = model(batch_data["pixel_values"], labels=batch_data["labels"])
        return out.loss, {"loss": out.loss}

    num_epochs = math.ceil(max_steps * accelerator.gradient_accumulation_steps / len(train_loader))
    _train_epochs(
        accelerator,
        model,
        optimizer,
        scheduler,
        train_set,
        train_loader,
        progress,
        train_args,
        stage_dir,
        "pretrain",
        "stage 0: motion pre-training",
        num_epochs,
        max_steps,
        compute_loss,
    )
    scores, labels = predict(model, val_loader, accelerator, "motion validation")
    metrics = classification_metrics(scores, labels, config.num_labels)
    metrics.update(steps=progress.global_step, motions=list(motion_config.motions))
    summary = {
        "stage": "0: supervised pre-training on synthetic motions (stand-in for Kinetics)",
        "motions": ", ".join(motion_config.motions),
        "training videos": motion_config.num_train_videos,
        "optimizer steps": progress.global_step,
        "batch per device": batch,
        "peak learning rate (one cycle)": train_args.pretrain_learning_rate,
        "validation accuracy": f"{100 * metrics['top1_accuracy']:.1f}%",
    }
    card = dict(
        model_id=_model_id(train_args, stage_dir),
        dataset_name="synthetic motions",
        training_summary=summary,
        config_summary=_config_summary(config),
    )
    _save_model(accelerator, model, config, data_args, stage_dir / "last", card)
    seconds = _finish(stage_dir, progress, metrics, accelerator, start)
    return StageResult("pretrain", stage_dir / "last", metrics, seconds, accelerator.unwrap_model(model))


# ----------------------------------------------------------------------------------------------- stage 1


def train_temporal_order_stage(
    accelerator: Accelerator,
    domains: dict,
    data_args: DataArguments,
    model_args: ModelArguments,
    train_args: GladTrainingArguments,
    stage_dir: Path,
) -> StageResult:
    """SPEC §6 on both domains; returns the folder whose backbone stage 2 starts from."""
    start = time.time()
    _begin_stage(accelerator)
    config = build_config(model_args, model_args.init_model)
    model = load_model(GladForTemporalOrderLearning, config, model_args.init_model)
    if model_args.gradient_checkpointing:
        model.activation_checkpointing_enable()
    train_set = temporal_order_dataset(domains, "train", config, data_args, train_args.seed)
    test_set = temporal_order_dataset(domains, "test", config, data_args, train_args.seed)
    batch = train_args.tol_per_device_train_batch_size
    train_loader = _loader(train_set, batch, True, data_args, drop_last=len(train_set) >= 2 * batch)
    test_loader = _loader(test_set, train_args.per_device_eval_batch_size, False, data_args)
    optimizer = make_optimizer(
        model,
        train_args.optimizer,
        train_args.tol_learning_rate,
        train_args.weight_decay,
        train_args.momentum,
    )
    model, optimizer, train_loader, test_loader = accelerator.prepare(
        model, optimizer, train_loader, test_loader
    )
    steps_per_epoch = math.ceil(len(train_loader) / accelerator.gradient_accumulation_steps)
    scheduler = step_decay_schedule(
        optimizer,
        [e * steps_per_epoch for e in train_args.tol_lr_decay_epochs],
        num_processes=accelerator.num_processes,
    )
    scheduler = accelerator.prepare(scheduler)
    progress = StageProgress()
    accelerator.register_for_checkpointing(progress)
    _resume(accelerator, stage_dir, train_args.resume_from_checkpoint)
    max_steps = train_args.tol_max_train_steps or steps_per_epoch * train_args.tol_num_train_epochs

    def compute_loss(batch_data):
        out = model(batch_data["pixel_values"])
        return out.loss, {"loss": out.loss, "accuracy": out.accuracy}

    _train_epochs(
        accelerator,
        model,
        optimizer,
        scheduler,
        train_set,
        train_loader,
        progress,
        train_args,
        stage_dir,
        "tol",
        "stage 1: TOL",
        train_args.tol_num_train_epochs,
        max_steps,
        compute_loss,
    )

    metrics = evaluate_temporal_order(model, test_loader, accelerator, seed=train_args.seed)
    accelerator.log({f"tol/test_{k}": v for k, v in metrics.items()}, step=progress.global_step)
    unwrapped = accelerator.unwrap_model(model)
    summary = _training_summary(train_args, progress, stage="tol")
    summary["clip-order accuracy on the test splits (chance 1/6)"] = f"{100 * metrics['accuracy']:.1f}%"
    card = dict(
        model_id=_model_id(train_args, stage_dir),
        dataset_name=data_args.dataset,
        training_summary=summary,
        config_summary=_config_summary(unwrapped.config),
        base_model=model_args.init_model,
    )
    _save_model(accelerator, model, unwrapped.config, data_args, stage_dir / "last", card)
    metrics["steps"] = progress.global_step
    seconds = _finish(stage_dir, progress, metrics, accelerator, start)
    return StageResult("tol", stage_dir / "last", metrics, seconds, unwrapped)


@torch.no_grad()
def evaluate_temporal_order(model, loader, accelerator, seed: int) -> dict:
    """Clip-order accuracy with permutations drawn from a fixed generator (comparable across runs)."""
    generator = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    correct, total = [], []
    for batch in loader:
        pixel_values = batch["pixel_values"]
        num_orders = math.factorial(pixel_values.shape[1])
        permutation = torch.randint(num_orders, (pixel_values.shape[0],), generator=generator)
        out = model(pixel_values, permutation=permutation.to(pixel_values.device))
        hits = (out.logits.argmax(-1) == out.permutation).long()
        correct.append(accelerator.gather_for_metrics(hits).cpu())
    model.train(was_training)
    hits = torch.cat(correct) if correct else torch.zeros(0)
    total = hits.numel()
    return {"accuracy": float(hits.float().mean()) if total else float("nan"), "num_videos": total}


# ----------------------------------------------------------------------------------------------- stage 2


def train_glad_stage(
    accelerator: Accelerator,
    domains: dict,
    data_args: DataArguments,
    model_args: ModelArguments,
    train_args: GladTrainingArguments,
    stage_dir: Path,
    init: str | None,
    label: str = "GLAD",
) -> StageResult:
    """SPEC §3-§5 and §7: source + target batches, domain classifiers, BackgroundBlend on source, validation on the
    target each epoch (best by MCA kept), final scores on the target and source test splits."""
    start = time.time()
    _begin_stage(accelerator)
    config = build_config(model_args, init)
    model = load_model(GladForVideoClassification, config, init)
    if model_args.gradient_checkpointing:
        model.activation_checkpointing_enable()
    source_set, target_set = glad_train_datasets(
        domains, config, data_args, train_args, train_args.background_blend
    )
    eval_set = evaluation_dataset(domains["target"][train_args.eval_split], config, data_args)
    source_eval_set = evaluation_dataset(domains["source"]["test"], config, data_args)
    batch = train_args.per_device_train_batch_size
    source_loader = _loader(source_set, batch, True, data_args, drop_last=len(source_set) >= 2 * batch)
    target_loader = _loader(target_set, batch, True, data_args, drop_last=len(target_set) >= 2 * batch)
    eval_loader = _loader(eval_set, train_args.per_device_eval_batch_size, False, data_args)
    source_eval_loader = _loader(source_eval_set, train_args.per_device_eval_batch_size, False, data_args)
    optimizer = make_optimizer(
        model,
        train_args.optimizer,
        train_args.learning_rate,
        train_args.weight_decay,
        train_args.momentum,
        backbone_lr_scale=train_args.backbone_learning_rate_scale,
    )
    model, optimizer, source_loader, target_loader, eval_loader, source_eval_loader = accelerator.prepare(
        model, optimizer, source_loader, target_loader, eval_loader, source_eval_loader
    )
    paired = DomainPairedLoader(source_loader, target_loader)
    steps_per_epoch = math.ceil(len(paired) / accelerator.gradient_accumulation_steps)
    max_steps = train_args.max_train_steps or steps_per_epoch * train_args.num_train_epochs
    scheduler = accelerator.prepare(
        stage_schedule(optimizer, train_args.lr_scheduler_type, max_steps, accelerator.num_processes)
    )
    progress = StageProgress()
    accelerator.register_for_checkpointing(progress)
    _resume(accelerator, stage_dir, train_args.resume_from_checkpoint)
    forward_target = model_args.forward_target
    num_labels = config.num_labels
    card_base = dict(
        model_id=_model_id(train_args, stage_dir),
        dataset_name=data_args.dataset,
        base_model=init,
        config_summary=_config_summary(config),
    )

    bar = tqdm(
        total=max_steps,
        initial=progress.global_step,
        desc=f"stage 2: {label}",
        disable=not accelerator.is_local_main_process,
    )
    model.train()
    while progress.epoch < train_args.num_train_epochs and progress.global_step < max_steps:
        paired.set_epoch(progress.epoch)
        for source, target in paired.iterate(start=progress.batches_done_in_epoch):
            grl_lambda = model_args.grl_lambda * grl_ramp(
                train_args.grl_lambda_schedule, progress.global_step / max_steps
            )
            with accelerator.accumulate(model):
                out = model(
                    source["pixel_values"],
                    labels=source["labels"],
                    target_pixel_values=target["pixel_values"] if forward_target else None,
                    grl_lambda=grl_lambda,
                )
                _backward_and_step(
                    accelerator, model, optimizer, scheduler, out.loss, train_args.max_grad_norm
                )
            values = {
                "loss": out.loss,
                "classification_loss": out.classification_loss,
                "lr": scheduler.get_last_lr()[0],
            }
            if model_args.domain_alignment:
                values["grl_lambda"] = grl_lambda
            for name, value in (out.domain_losses or {}).items():
                values[f"domain_loss_{name}"] = value
            for name, value in (out.domain_accuracies or {}).items():
                values[f"domain_accuracy_{name}"] = value
            if _after_batch(
                accelerator, progress, bar, train_args, stage_dir, stage_dir.name, values, max_steps
            ):
                break
        epoch_finished = progress.batches_done_in_epoch >= len(paired)
        if epoch_finished:
            progress.epoch += 1
            progress.batches_done_in_epoch = 0
        if train_args.evaluate_every_epoch and (epoch_finished or progress.global_step >= max_steps):
            scores, labels = predict(model, eval_loader, accelerator, "validation")
            metrics = classification_metrics(scores, labels, num_labels)
            progress.record("eval/mean_class_accuracy", metrics["mean_class_accuracy"])
            accelerator.log(
                {f"{stage_dir.name}/val_mca": metrics["mean_class_accuracy"]}, step=progress.global_step
            )
            if metrics["mean_class_accuracy"] > progress.best_metric:
                progress.best_metric = metrics["mean_class_accuracy"]
                card = dict(
                    card_base,
                    eval_results=_card_results(metrics, train_args.eval_split),
                    training_summary=_training_summary(train_args, progress, stage="glad", label=label),
                )
                _save_model(accelerator, model, config, data_args, stage_dir / "best", card)
        _save_checkpoint(accelerator, stage_dir, progress, train_args.checkpoints_total_limit)
    bar.close()

    scores, labels = predict(model, eval_loader, accelerator, "target test")
    target_metrics = classification_metrics(scores, labels, num_labels)
    source_scores, source_labels = predict(model, source_eval_loader, accelerator, "source test")
    source_metrics = classification_metrics(source_scores, source_labels, num_labels)
    metrics = {
        "target": target_metrics,
        "source": source_metrics,
        "best_validation_mean_class_accuracy": progress.best_metric,
        "steps": progress.global_step,
        "method": label,
    }
    accelerator.log(
        {
            f"{stage_dir.name}/target_mca": target_metrics["mean_class_accuracy"],
            f"{stage_dir.name}/source_mca": source_metrics["mean_class_accuracy"],
        },
        step=progress.global_step,
    )
    card = dict(
        card_base,
        eval_results=_card_results(target_metrics, train_args.eval_split),
        training_summary=_training_summary(train_args, progress, stage="glad", label=label),
    )
    _save_model(accelerator, model, config, data_args, stage_dir / "last", card)
    if accelerator.is_main_process:
        names = [config.id2label[i] for i in range(num_labels)]
        save_confusion_matrix_png(
            np.asarray(target_metrics["confusion_matrix"]),
            names,
            stage_dir / "confusion_matrix.png",
            title=f"{label}: target {train_args.eval_split}, MCA {100 * target_metrics['mean_class_accuracy']:.1f}",
        )
    seconds = _finish(stage_dir, progress, metrics, accelerator, start)
    model_dir = stage_dir / ("best" if (stage_dir / "best").is_dir() else "last")
    return StageResult(label, model_dir, metrics, seconds, accelerator.unwrap_model(model))


# ----------------------------------------------------------------------------------------------- logging


def _log_step(accelerator, progress: StageProgress, train_args, prefix: str, values: dict) -> None:
    if progress.global_step % train_args.logging_steps and progress.global_step != 1:
        return
    scalars = {k: float(v.detach() if torch.is_tensor(v) else v) for k, v in values.items() if v is not None}
    for key, value in scalars.items():
        progress.record(f"train/{key}", value)
    accelerator.log({f"{prefix}/{k}": v for k, v in scalars.items()}, step=progress.global_step)


def _training_summary(
    train_args: GladTrainingArguments, progress: StageProgress, stage: str, label: str = ""
) -> dict:
    if stage == "tol":
        return {
            "stage": "1: temporal-order learning (SPEC §6)",
            "optimizer steps": progress.global_step,
            "batch per device": train_args.tol_per_device_train_batch_size,
            "learning rate": train_args.tol_learning_rate,
            "seed": train_args.seed,
        }
    return {
        "stage": f"2: {label}",
        "optimizer steps": progress.global_step,
        "epochs completed": progress.epoch,
        "batch per device": f"{train_args.per_device_train_batch_size} source + {train_args.per_device_train_batch_size} target",
        "learning rate": train_args.learning_rate,
        "background blend": train_args.background_blend,
        "seed": train_args.seed,
    }


def _config_summary(config: GladConfig) -> dict:
    return {
        "backbone_type": config.backbone_type,
        "feature size": config.hidden_size,
        "views": f"local rows {list(config.local_clip_indices)}, global column {config.global_frame_index}",
        "domain_alignment": list(config.domain_alignment),
        "test_view_aggregation": config.test_view_aggregation,
        "batch_norm_grouping": config.batch_norm_grouping,
        "id2label": config.id2label,
    }
