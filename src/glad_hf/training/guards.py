"""What the loop refuses to train on: steps with a non-finite loss or gradients (skipped, their batch-norm statistics
undone; too many in a row stop the stage) and training rows that failed to decode (replaced by their dataset; past
--max_unreadable_fraction of an epoch the stage stops, naming them)."""

from __future__ import annotations

import torch
from accelerate import Accelerator
from accelerate.logging import get_logger

from .checkpointing import TrainingProgress

logger = get_logger(__name__)


class NonFiniteLossError(RuntimeError):
    """Too many consecutive optimiser steps had a non-finite loss or gradient."""


class UnreadableVideosError(RuntimeError):
    """More training rows than --max_unreadable_fraction of an epoch failed to decode."""


def all_finite(accelerator: Accelerator, values: list[torch.Tensor]) -> bool:
    """Whether every value is finite in every process (all processes then skip a step together). Computed on the
    device, read once: one wait for the device per batch."""
    bad = torch.stack([~torch.isfinite(v.detach()).all() for v in values]).any().to(torch.float32).reshape(1)
    return float(accelerator.reduce(bad.to(accelerator.device), "max")) == 0.0


def snapshot_buffers(model: torch.nn.Module) -> list[torch.Tensor]:
    """Copies of the model's buffers (batch-norm statistics), to undo a forward pass of a skipped step."""
    return [buffer.detach().clone() for buffer in model.buffers()]


def restore_buffers(model: torch.nn.Module, saved: list[torch.Tensor]) -> None:
    with torch.no_grad():
        for buffer, value in zip(model.buffers(), saved, strict=True):
            buffer.copy_(value)


def count_skipped_step(
    progress: TrainingProgress, skipped: bool, values: dict, *, limit: int, stage: str
) -> None:
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


def count_unreadable_rows(
    accelerator: Accelerator,
    batch: dict,
    progress: TrainingProgress,
    *,
    dataset,
    stage: str,
    max_fraction: float,
) -> None:
    """Take the `*decode_failures` entries out of `batch` and record the rows of `dataset` they name (every process's,
    gathered: all processes stop together); past `max_fraction` of an epoch's rows, raise with the list."""
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
                f"{stage}: {_describe_row(dataset, key, row)} failed to decode and was replaced",
                main_process_only=True,
            )
    if len(progress.unreadable_rows) > max_fraction * len(dataset):
        described = [_describe_row(dataset, key, row) for key, row in progress.unreadable_rows]
        raise UnreadableVideosError(
            f"{stage}: {len(described)} training rows failed to decode by step {progress.global_step}, more than "
            f"--max_unreadable_fraction {max_fraction} of the epoch's {len(dataset)} rows: "
            + "; ".join(described)
            + ". Leave them out (scripts/prepare_rawframes.py's report with --exclude_reports) or re-download them."
        )


def _describe_row(dataset, key: str, row: int) -> str:
    if key.startswith("target_"):
        return "target " + dataset.describe_row(row, target=True)
    return dataset.describe_row(row)
