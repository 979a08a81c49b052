"""A stage's checkpoints and where it is (`TrainingProgress`): `<stage_dir>/checkpoints/step_*`, each Accelerate's
`save_state` (model, optimiser, scheduler, sampler, RNG states) plus `progress.json`; and the finished models.

Crash-safe: a process killed mid-save leaves the previous checkpoint complete. Model folders
(`save_pretrained`) and Accelerate training states are written through `glad_hf.atomic`'s folder swap
(`ckpt.tmp` -> `ckpt`, the old one kept as `ckpt.old` until the new one is in place); an Accelerate state is saved
by every process between barriers. Multi-process runs need the checkpoint folder on a filesystem all processes
share, as `accelerate`'s own `save_state`/`load_state` do."""

import dataclasses
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from accelerate import Accelerator
from accelerate.logging import get_logger

from ..atomic import atomic_write_folder, recover_interrupted_save, swap_in_folder, temporary_folder

logger = get_logger(__name__)

PROGRESS_FILENAME = "progress.json"


def atomic_save_pretrained(model, processor, folder: str | os.PathLike, **kwargs) -> Path:
    """`model.save_pretrained(folder, **kwargs)` and `processor.save_pretrained(folder)` (processor may be None),
    swapped in atomically. Call it on the main process only, with the unwrapped model. Returns `folder`."""

    def write(temporary: Path) -> None:
        model.save_pretrained(temporary, **kwargs)
        if processor is not None:
            processor.save_pretrained(temporary)

    return atomic_write_folder(folder, write)


def atomic_accelerator_save_state(
    accelerator, folder: str | os.PathLike, extra_files: dict[str, str] | None = None, **kwargs
) -> Path:
    """`accelerator.save_state(folder, **kwargs)` and the text files `extra_files` ({name: text}, written by the
    main process) swapped in atomically. Call it on every process, like `save_state`; the main process prepares and
    swaps the folders between barriers. Returns `folder`."""
    if accelerator.project_configuration.automatic_checkpoint_naming:
        raise ValueError(
            "atomic_accelerator_save_state needs an explicit folder: create the Accelerator without "
            "ProjectConfiguration(automatic_checkpoint_naming=True)."
        )
    folder = Path(folder)
    temporary = temporary_folder(folder)
    if accelerator.is_main_process:
        folder.parent.mkdir(parents=True, exist_ok=True)
        recover_interrupted_save(folder)
        # Made before the barrier: every process writes its RNG state into it, and Accelerate creates the folder in
        # the main process only, so another process could otherwise write before it exists.
        temporary.mkdir()
    accelerator.wait_for_everyone()
    try:
        accelerator.save_state(str(temporary), **kwargs)
    except BaseException:
        if accelerator.is_main_process:
            shutil.rmtree(temporary, ignore_errors=True)
        raise
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        for name, text in (extra_files or {}).items():
            (temporary / name).write_text(text)
        swap_in_folder(temporary, folder)
    accelerator.wait_for_everyone()
    return folder


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


def checkpoint_dirs(stage_dir: Path) -> list[Path]:
    return sorted((stage_dir / "checkpoints").glob("step_*"), key=lambda p: int(p.name.split("_")[1]))


def save_checkpoint(
    accelerator: Accelerator,
    stage_dir: Path,
    progress: TrainingProgress,
    *,
    limit: int,
    on_saved: Callable | None = None,
) -> None:
    """Save `checkpoints/step_<global step>`, keep the newest `limit`, then call `on_saved(stage_dir, folder)` in the
    main process."""
    folder = stage_dir / "checkpoints" / f"step_{progress.global_step:08d}"
    state = json.dumps(dataclasses.asdict(progress))
    atomic_accelerator_save_state(accelerator, folder, extra_files={PROGRESS_FILENAME: state})
    if accelerator.is_main_process:
        for old in checkpoint_dirs(stage_dir)[:-limit]:
            shutil.rmtree(old, ignore_errors=True)
        if on_saved:
            on_saved(stage_dir, folder)


def resume_checkpoint(accelerator: Accelerator, stage_dir: Path, resume: str | None) -> TrainingProgress:
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
