"""The one training loop of every stage: a stage hands it a `TrainingPlan` (model, optimiser, schedule, training
set, `compute_loss`, optional per-epoch validation); the loop owns everything else — preparing, resuming (also
mid-epoch), gradient accumulation and clipping, skipping non-finite steps, logging, checkpoints.

Checkpoints are `<stage_dir>/checkpoints/step_*`: Accelerate's `save_state` (model, optimiser, scheduler, sampler,
RNG states) plus `progress.json`, written atomically. The accelerator must hold only this stage's objects:
`train` starts with `accelerator.free_memory()`, so one Accelerator serves the stages of a run one after another.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
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
from .checkpointing import atomic_accelerator_save_state

logger = get_logger(__name__)

PROGRESS_FILENAME = "progress.json"


class NonFiniteLossError(RuntimeError):
    """Too many consecutive optimiser steps had a non-finite loss or gradient."""


class UnreadableVideosError(RuntimeError):
    """More training rows than --max_unreadable_fraction of an epoch failed to decode."""


@dataclass
class TrainingProgress:
    """Where a stage is; saved with every checkpoint as `progress.json`."""

    epoch: int = 0
    batches_done_in_epoch: int = 0
    global_step: int = 0
    max_steps: int = 0  # the schedule's length in optimiser steps
    skipped_steps: int = 0
    consecutive_skipped_steps: int = 0
    best_metric: float = -1.0
    unreadable_rows: list[list] = field(
        default_factory=list
    )  # distinct [item key, row] that failed to decode
    history: dict[str, list] = field(default_factory=dict)

    def record(self, name: str, value: float) -> None:
        self.history.setdefault(name, []).append((self.global_step, float(value)))


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


def checkpoint_dirs(stage_dir: Path) -> list[Path]:
    return sorted((stage_dir / "checkpoints").glob("step_*"), key=lambda p: int(p.name.split("_")[1]))


def _save_checkpoint(
    accelerator: Accelerator, stage_dir: Path, progress: TrainingProgress, plan: TrainingPlan, limit: int
) -> None:
    folder = stage_dir / "checkpoints" / f"step_{progress.global_step:08d}"
    state = json.dumps(dataclasses.asdict(progress))
    atomic_accelerator_save_state(accelerator, folder, extra_files={PROGRESS_FILENAME: state})
    if accelerator.is_main_process:
        for old in checkpoint_dirs(stage_dir)[:-limit]:
            shutil.rmtree(old, ignore_errors=True)
        if plan.on_checkpoint:
            plan.on_checkpoint(stage_dir, folder)


def _resume(accelerator: Accelerator, stage_dir: Path, resume: str | None) -> TrainingProgress:
    """The progress of the checkpoint `resume` names ("latest" = the stage's newest, if any), its state loaded."""
    if not resume:
        return TrainingProgress()
    if resume == "latest":
        found = checkpoint_dirs(stage_dir)
        if not found:
            return TrainingProgress()
        folder = found[-1]
    else:
        folder = Path(resume)
        if folder.parent.name == "checkpoints" and folder.parent.parent.name != stage_dir.name:
            raise ValueError(
                f"--resume_from_checkpoint {resume} is a checkpoint of the {folder.parent.parent.name!r} stage, not of "
                f"{stage_dir.name!r}; this stage's checkpoints are {stage_dir / 'checkpoints'}/step_* (or pass "
                "--resume_from_checkpoint latest)"
            )
        if not (folder / PROGRESS_FILENAME).is_file():
            raise ValueError(
                f"--resume_from_checkpoint {resume} is not a checkpoint folder of this stage (no {PROGRESS_FILENAME}); "
                f"checkpoints are {stage_dir / 'checkpoints'}/step_*"
            )
    accelerator.load_state(str(folder))
    logger.info(f"resumed from {folder}", main_process_only=True)
    return TrainingProgress(**json.loads((folder / PROGRESS_FILENAME).read_text()))


def _log_step(accelerator, progress: TrainingProgress, logging_steps: int, prefix: str, values: dict) -> None:
    if progress.global_step % logging_steps and progress.global_step != 1:
        return
    scalars = {k: float(v.detach() if torch.is_tensor(v) else v) for k, v in values.items() if v is not None}
    for key, value in scalars.items():
        progress.record(f"train/{key}", value)
    accelerator.log({f"{prefix}/{k}": v for k, v in scalars.items()}, step=progress.global_step)


def _buffers(model: torch.nn.Module) -> list[torch.Tensor]:
    """Copies of the model's buffers (batch-norm statistics), to undo a forward pass of a skipped step."""
    return [buffer.detach().clone() for buffer in model.buffers()]


def _restore_buffers(model: torch.nn.Module, saved: list[torch.Tensor]) -> None:
    with torch.no_grad():
        for buffer, value in zip(model.buffers(), saved, strict=True):
            buffer.copy_(value)


def _all_finite(accelerator: Accelerator, values: list[torch.Tensor]) -> bool:
    """Whether every value is finite in every process (all processes then skip a step together). Computed on the
    device, read once: one wait for the device per batch."""
    bad = torch.stack([~torch.isfinite(v.detach()).all() for v in values]).any().to(torch.float32).reshape(1)
    return float(accelerator.reduce(bad.to(accelerator.device), "max")) == 0.0


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
    progress = _resume(accelerator, stage_dir, resume)
    progress.max_steps = max_steps

    bar = tqdm(total=max_steps, initial=progress.global_step, desc=plan.description,
               disable=not accelerator.is_local_main_process)  # fmt: skip
    model.train()
    rate = StepRate()
    while progress.epoch < num_epochs and progress.global_step < max_steps:
        plan.train_dataset.set_epoch(progress.epoch)
        loader.set_epoch(progress.epoch)
        epoch_loader = accelerator.skip_first_batches(loader, progress.batches_done_in_epoch)
        epoch_loader.set_epoch(progress.epoch)
        window_finite, window_start = True, None
        for batch_data in epoch_loader:
            _count_unreadable(accelerator, batch_data, progress, plan, data_args.max_unreadable_fraction)
            batch_data = finish_batch(batch_data)
            with accelerator.accumulate(model):
                if window_start is None:  # batch-norm statistics before this optimiser step's forward passes
                    window_start = _buffers(model)
                loss, values = plan.compute_loss(model, batch_data, progress)
                finite = _all_finite(accelerator, [loss])
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
                        _restore_buffers(model, window_start)
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
            _count_skips(progress, skipped, values, train_args.max_consecutive_nonfinite_steps, plan.name)
            values = dict(values, lr=scheduler.get_last_lr()[0], skipped_steps=progress.skipped_steps)
            _log_step(accelerator, progress, train_args.logging_steps, plan.name, values)
            if train_args.checkpointing_steps and progress.global_step % train_args.checkpointing_steps == 0:
                _save_checkpoint(accelerator, stage_dir, progress, plan, train_args.checkpoints_total_limit)
                rate.pause()
            if progress.global_step >= max_steps:
                break
        epoch_finished = progress.batches_done_in_epoch >= len(loader)
        if epoch_finished:
            progress.epoch += 1
            progress.batches_done_in_epoch = 0
        if plan.validate and (epoch_finished or progress.global_step >= max_steps):
            plan.validate(model, eval_loaders, progress)
        _save_checkpoint(accelerator, stage_dir, progress, plan, train_args.checkpoints_total_limit)
        rate.pause()
    bar.close()
    return TrainedStage(model, progress, eval_loaders, rate.per_second)


def _count_unreadable(
    accelerator: Accelerator, batch: dict, progress: TrainingProgress, plan: TrainingPlan, max_fraction: float
) -> None:
    """Record the rows this step's items replaced because they failed to decode (every process's, gathered: all
    processes stop together); past `max_fraction` of an epoch's rows, raise with the list."""
    keys = sorted(key for key in batch if key.endswith("decode_failures"))
    if not keys:
        return
    # One collective and one copy to the host per batch, for the source's and the target's rows together.
    failures = torch.stack([batch.pop(key) for key in keys], dim=1)  # [B, keys, MAX_REPLACEMENTS]
    failures = accelerator.gather(accelerator.pad_across_processes(failures, pad_index=-1)).cpu()
    seen = {tuple(entry) for entry in progress.unreadable_rows}
    for position, key in enumerate(keys):
        rows = failures[:, position]
        for row in sorted(set(rows[rows >= 0].tolist()) - {row for k, row in seen if k == key}):
            progress.unreadable_rows.append([key, row])
            seen.add((key, row))
            logger.warning(
                f"{plan.name}: {_describe_unreadable(plan.train_dataset, key, row)} failed to decode and was replaced",
                main_process_only=True,
            )
    limit = max_fraction * len(plan.train_dataset)
    if len(progress.unreadable_rows) > limit:
        described = [
            _describe_unreadable(plan.train_dataset, key, row) for key, row in progress.unreadable_rows
        ]
        raise UnreadableVideosError(
            f"{plan.name}: {len(described)} training rows failed to decode by step {progress.global_step}, more "
            f"than --max_unreadable_fraction {max_fraction} of the epoch's {len(plan.train_dataset)} rows: "
            + "; ".join(described)
            + ". Leave them out (scripts/prepare_rawframes.py's report with --exclude_reports) or re-download them."
        )


def _describe_unreadable(dataset, key: str, row: int) -> str:
    if key.startswith("target_"):
        return "target " + dataset.describe_row(row, target=True)
    return dataset.describe_row(row)


def _count_skips(progress: TrainingProgress, skipped: bool, values: dict, limit: int, stage: str) -> None:
    """Count a skipped step; raise after `limit` in a row, naming the step and the loss components."""
    if not skipped:
        progress.consecutive_skipped_steps = 0
        return
    progress.skipped_steps += 1
    progress.consecutive_skipped_steps += 1
    components = {
        k: float(v.detach() if torch.is_tensor(v) else v) for k, v in values.items() if v is not None
    }
    logger.warning(
        f"{stage}: step {progress.global_step} skipped (non-finite loss or gradients): {components}"
    )
    if progress.consecutive_skipped_steps >= limit:
        raise NonFiniteLossError(
            f"{stage}: {progress.consecutive_skipped_steps} consecutive steps up to step {progress.global_step} had a "
            f"non-finite loss or gradients (--max_consecutive_nonfinite_steps {limit}); last loss components "
            f"{components}. The last checkpoint before them is in the stage's checkpoints/ folder."
        )
