"""The one training loop of every stage: a stage hands it a `TrainingPlan` (model, optimiser, schedule, training
set, `compute_loss`, optional per-epoch validation); the loop owns everything else — preparing, resuming (also
mid-epoch), gradient accumulation and clipping, skipping non-finite steps, logging, checkpoints.

Checkpoints and progress are `checkpointing.py`'s, the refusals (non-finite steps, unreadable rows) `guards.py`'s.
The accelerator must hold only this stage's objects:
`train` starts with `accelerator.free_memory()`, so one Accelerator serves the stages of a run one after another.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.logging import get_logger
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from ..data.transforms import finish_batch
from .arguments import DataArguments, GladTrainingArguments
from .checkpointing import TrainingProgress, resume_checkpoint, save_checkpoint
from .guards import (
    all_finite,
    count_skipped_step,
    count_unreadable_rows,
    restore_buffers,
    snapshot_buffers,
)

logger = get_logger(__name__)


@dataclass
class TrainingPlan:
    """What a stage trains: the loop prepares `model`, `optimizer`, a loader over `train_dataset` and one over each of
    `eval_datasets`, then builds the scheduler with `make_scheduler(optimizer, max_steps, steps_per_epoch)` and runs
    `compute_loss(model, batch, progress) -> (loss, logged values)` per batch. `validate(model, eval_loaders,
    progress)` (optional) runs after each epoch and after the last step. Training stops after `num_epochs` passes or
    `max_steps` optimiser steps, whichever comes first (either may be None, not both); the schedule spans
    `max_steps`, else `num_epochs`."""

    name: str  # the stage folder's name and the log prefix
    description: str  # the progress bar's
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    make_scheduler: Callable
    train_dataset: Dataset
    batch_size: int
    compute_loss: Callable
    num_epochs: int | None
    max_steps: int | None = None
    eval_datasets: dict[str, Dataset] = field(default_factory=dict)
    eval_batch_size: int = 16
    validate: Callable | None = None
    on_checkpoint: Callable | None = (
        None  # (stage_dir, checkpoint folder), in the main process, after each save
    )


@dataclass
class TrainedStage:
    """What `train` hands back: the prepared model, its progress, the prepared evaluation loaders and the optimiser
    steps per second of this process's run (None under two steps)."""

    model: torch.nn.Module
    progress: TrainingProgress
    eval_loaders: dict[str, DataLoader]
    steps_per_second: float | None = None


class StepRate:
    """Optimiser steps per second between steps, data loading included; the first step (warm-up), checkpoints and
    validation are left out (`pause` before them, the next `step` restarts the clock)."""

    def __init__(self) -> None:
        self.seconds, self.steps, self.last = 0.0, 0, None

    def step(self) -> None:
        now = time.perf_counter()
        if self.last is not None:
            self.seconds += now - self.last
            self.steps += 1
        self.last = now

    def pause(self) -> None:
        self.last = None

    @property
    def per_second(self) -> float | None:
        return self.steps / self.seconds if self.steps else None


def make_loader(
    dataset: Dataset, batch_size: int, data_args: DataArguments, *, shuffle: bool, drop_last: bool
):
    # A private generator: starting an iteration draws a worker base seed from the loader's generator, which would
    # otherwise advance the global RNG (that dropout and TOL permutations use) at epoch boundaries, and a resumed
    # run would draw different dropout masks than an uninterrupted one.
    # Workers are not persistent: each pass starts them anew, so they see the epoch `set_epoch` gave the dataset.
    workers = data_args.num_workers
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        drop_last=drop_last,
        num_workers=workers,
        prefetch_factor=data_args.prefetch_factor if workers else None,
        pin_memory=data_args.pin_memory
        and torch.cuda.is_available(),  # nothing to pin for on a CPU-only machine
        persistent_workers=False,
        generator=torch.Generator().manual_seed(0),
    )


def _log_step(accelerator, progress: TrainingProgress, logging_steps: int, prefix: str, values: dict) -> None:
    if progress.global_step % logging_steps and progress.global_step != 1:
        return
    scalars = {k: float(v.detach() if torch.is_tensor(v) else v) for k, v in values.items() if v is not None}
    for key, value in scalars.items():
        progress.record(f"train/{key}", value)
    accelerator.log({f"{prefix}/{k}": v for k, v in scalars.items()}, step=progress.global_step)


def train(
    accelerator: Accelerator,
    plan: TrainingPlan,
    data_args: DataArguments,
    train_args: GladTrainingArguments,
    stage_dir: Path,
    resume: str | None,
) -> TrainedStage:
    """Train `plan` from where its checkpoint (`resume`: a folder, "latest" or None) left it."""
    accelerator.free_memory()
    batch = plan.batch_size
    drop_last = len(plan.train_dataset) >= 2 * batch
    loader = make_loader(plan.train_dataset, batch, data_args, shuffle=True, drop_last=drop_last)
    eval_loaders = {
        name: make_loader(dataset, plan.eval_batch_size, data_args, shuffle=False, drop_last=False)
        for name, dataset in plan.eval_datasets.items()
    }
    model, optimizer, loader, *prepared = accelerator.prepare(
        plan.model, plan.optimizer, loader, *eval_loaders.values()
    )
    eval_loaders = dict(zip(eval_loaders, prepared, strict=True))
    steps_per_epoch = math.ceil(len(loader) / accelerator.gradient_accumulation_steps)
    max_steps = plan.max_steps or steps_per_epoch * plan.num_epochs
    num_epochs = plan.num_epochs or math.ceil(max_steps / steps_per_epoch)
    scheduler = accelerator.prepare(plan.make_scheduler(optimizer, max_steps, steps_per_epoch))
    progress = resume_checkpoint(accelerator, stage_dir, resume)
    progress.max_steps = max_steps

    bar = tqdm(total=max_steps, initial=progress.global_step, desc=plan.description,
               disable=not accelerator.is_local_main_process)  # fmt: skip
    model.train()
    rate = StepRate()

    def checkpoint() -> None:
        save_checkpoint(
            accelerator,
            stage_dir,
            progress,
            limit=train_args.checkpoints_total_limit,
            on_saved=plan.on_checkpoint,
        )
        rate.pause()

    while progress.epoch < num_epochs and progress.global_step < max_steps:
        plan.train_dataset.set_epoch(progress.epoch)
        loader.set_epoch(progress.epoch)
        epoch_loader = accelerator.skip_first_batches(loader, progress.batches_done_in_epoch)
        epoch_loader.set_epoch(progress.epoch)
        window_finite, window_start = True, None
        for batch_data in epoch_loader:
            count_unreadable_rows(
                accelerator,
                batch_data,
                progress,
                dataset=plan.train_dataset,
                stage=plan.name,
                max_fraction=data_args.max_unreadable_fraction,
            )
            batch_data = finish_batch(batch_data)
            with accelerator.accumulate(model):
                if window_start is None:  # batch-norm statistics before this optimiser step's forward passes
                    window_start = snapshot_buffers(model)
                loss, values = plan.compute_loss(model, batch_data, progress)
                finite = all_finite(accelerator, [loss])
                if finite:
                    accelerator.backward(loss)
                window_finite &= finite
                if accelerator.sync_gradients:
                    if window_finite:
                        norm = accelerator.clip_grad_norm_(model.parameters(), train_args.max_grad_norm)
                        # Under fp16 Accelerate's grad scaler skips a step with inf gradients and lowers its scale.
                        window_finite = accelerator.mixed_precision == "fp16" or bool(torch.isfinite(norm))
                    if window_finite:
                        optimizer.step()
                    else:
                        restore_buffers(model, window_start)
                    scheduler.step()
                    optimizer.zero_grad()
            progress.batches_done_in_epoch += 1
            if not accelerator.sync_gradients:
                continue
            progress.global_step += 1
            rate.step()
            bar.update(1)
            skipped = not window_finite or accelerator.optimizer_step_was_skipped
            window_finite, window_start = True, None
            count_skipped_step(
                progress, skipped, values, limit=train_args.max_consecutive_nonfinite_steps, stage=plan.name
            )
            values = dict(values, lr=scheduler.get_last_lr()[0], skipped_steps=progress.skipped_steps)
            _log_step(accelerator, progress, train_args.logging_steps, plan.name, values)
            if train_args.checkpointing_steps and progress.global_step % train_args.checkpointing_steps == 0:
                checkpoint()
            if progress.global_step >= max_steps:
                break
        epoch_finished = progress.batches_done_in_epoch >= len(loader)
        if epoch_finished:
            progress.epoch += 1
            progress.batches_done_in_epoch = 0
        if plan.validate and (epoch_finished or progress.global_step >= max_steps):
            plan.validate(model, eval_loaders, progress)
        checkpoint()
    bar.close()
    return TrainedStage(model, progress, eval_loaders, rate.per_second)
