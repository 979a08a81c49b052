"""What a run does with an existing `--output_dir`, decided before any work (transformers' example scripts refuse a
non-empty output folder and resume from `get_last_checkpoint`; a GLAD run has stages, so this decides per stage).

Per stage folder the run writes (`tol`, `glad`, `source_only`):

- absent or empty: trained from the start; its recipe is recorded (`recipe.json`);
- holding a run of this recipe that did not finish: resumed from its newest checkpoint, without
  `--resume_from_checkpoint` (the same command run again after a crash continues it, and says so in one line);
- holding a finished run of this recipe: reused when another stage still has work; when every stage is finished
  the run is refused (nothing to do), unless `--resume_from_checkpoint` asks to reuse it;
- holding a run of another recipe: refused, naming each setting that differs;
- holding files without a recorded recipe (an older version, by hand): refused, unless `--resume_from_checkpoint`
  adopts it under this run's recipe.

`--overwrite_output_dir true` deletes the stage folders this run writes, and nothing else, before it starts. A run
never writes into the folder of its own `--init_model`. Files beside the stage folders are never deleted:
`results.json` gains this run's stages, `run_arguments.json` records every invocation.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from accelerate.logging import get_logger
from filelock import FileLock, Timeout

from ..atomic import atomic_write_json
from .checkpointing import PROGRESS_FILENAME, checkpoint_dirs
from .outputs import completed_stage
from .stage_recipe import (
    RECIPE_FILENAME,
    RecipeMismatchError,
    read_stage_recipe,
    recipe_differences,
    write_stage_recipe,
)

logger = get_logger(__name__)

RUN_ARGUMENTS_FILENAME = "run_arguments.json"
RESULTS_FILENAME = "results.json"
LOCK_FILENAME = ".glad_run.lock"


class OutputDirError(ValueError):
    """`--output_dir` holds work that this run must not touch, or cannot be written."""


@dataclass
class OutputPlan:
    """What the run does with `output_dir`: `resume` is the --resume_from_checkpoint it runs with, `delete` the
    stage folders --overwrite_output_dir deletes, `recipes` the recipes to record ({stage folder name: settings}),
    `note` the one line said about the folder (None for a new one)."""

    output_dir: Path
    recipes: dict[str, dict]
    resume: str | None
    delete: list[Path] = field(default_factory=list)
    note: str | None = None


def _is_empty(folder: Path) -> bool:
    """Whether a stage folder holds no work: absent, empty, or only the recipe of a run that never reached it."""
    return not folder.exists() or (
        folder.is_dir() and all(p.name == RECIPE_FILENAME for p in folder.iterdir())
    )


def _where(stage_dir: Path) -> str:
    """Where an unfinished stage stands: its newest checkpoint and step, or that it has none."""
    found = checkpoint_dirs(stage_dir)
    if not found:
        return "no checkpoint yet, so from its start"
    try:
        progress = json.loads((found[-1] / PROGRESS_FILENAME).read_text())
        step = f" (step {progress['global_step']} of {progress['max_steps']})"
    except (OSError, ValueError, KeyError):
        step = ""
    return f"from {found[-1].relative_to(stage_dir.parent)}{step}"


def check_writable(output_dir: Path) -> None:
    """Refuse an --output_dir that is a file, or lies under one."""
    if not str(output_dir).strip() or str(output_dir) == ".":
        raise OutputDirError(
            "--output_dir is empty (it would write into the working folder); give a folder path"
        )
    for folder in (output_dir, *output_dir.parents):
        if folder.exists() and not folder.is_dir():
            what = "is a file" if folder == output_dir else f"lies under {folder}, which is a file"
            raise OutputDirError(f"--output_dir {output_dir} {what}; give a folder path")


@contextlib.contextmanager
def output_dir_lock(output_dir: Path) -> Iterator[None]:
    """Hold `OUTPUT_DIR/.glad_run.lock` while the run uses the folder, so that a second run launched into it (the
    same command in another terminal) is refused instead of writing the same files. Taken by the main process
    (RANK 0) only; the operating system drops it when the process dies."""
    if os.environ.get("RANK", "0") != "0":
        yield
        return
    check_writable(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(output_dir / LOCK_FILENAME)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise OutputDirError(
            f"another run is using {output_dir} now (it holds {output_dir / LOCK_FILENAME}); wait for it to end, "
            "or choose another --output_dir"
        ) from None
    try:
        yield
    finally:
        lock.release()


def check_not_init_model(output_dir: Path, stage_names: list[str], init_model: str | None) -> None:
    """Refuse a run whose stage folders would hold (and so overwrite) its own --init_model."""
    if not init_model or not Path(init_model).expanduser().exists():
        return
    init = Path(init_model).expanduser().resolve()
    for name in stage_names:
        stage_dir = (output_dir / name).resolve()
        if init == stage_dir or stage_dir in init.parents:
            raise OutputDirError(
                f"--init_model {init_model} lies in {output_dir / name}, which this run writes: it would overwrite "
                f"the model it starts from. Choose another --output_dir (or, to train stage 2 from this stage 1, "
                f"--stage glad --init_model {init_model} --output_dir {output_dir})"
            )


def plan_output_dir(
    output_dir: str | Path,
    recipes: dict[str, dict],
    *,
    resume: str | None,
    overwrite: bool,
    init_model: str | None,
) -> OutputPlan:
    """Decide, reading only, what the run does with `output_dir` whose stage folders `recipes` names (in training
    order, each with its recipe). Raises `OutputDirError` / `RecipeMismatchError` for what it must not touch."""
    output_dir = Path(output_dir)
    check_writable(output_dir)
    check_not_init_model(output_dir, list(recipes), init_model)
    stage_dirs = {name: output_dir / name for name in recipes}
    if overwrite:
        delete = [folder for folder in stage_dirs.values() if folder.exists()]
        note = None
        if delete:
            note = f"--overwrite_output_dir: deleting {', '.join(str(f) for f in delete)} and starting over"
        return OutputPlan(output_dir, recipes, resume, delete, note)

    finished, interrupted, adopted = [], [], []
    for name, stage_dir in stage_dirs.items():
        if _is_empty(stage_dir):
            continue
        recorded = read_stage_recipe(stage_dir)
        if recorded is None:
            if resume:  # the user asked to resume a folder an older version (or a person) filled
                adopted.append(name)
            else:
                names = sorted(p.name for p in stage_dir.iterdir())[:6]
                raise OutputDirError(
                    f"{stage_dir} already holds files ({', '.join(names)}) but no {stage_dir.name}/recipe.json, so "
                    "what it was trained with is unknown. Ways on: --resume_from_checkpoint latest to continue it "
                    "under this run's settings; a new --output_dir; or --overwrite_output_dir true to delete "
                    f"{stage_dir} and start over"
                )
        else:
            differences = recipe_differences(recorded, recipes[name])
            if differences:
                raise RecipeMismatchError(
                    f"{stage_dir} holds a run started with another recipe; continuing it with this one would train "
                    "one model under two recipes. Settings that differ:\n  "
                    + "\n  ".join(differences)
                    + f"\nWays on: run again with the recorded values to resume it ({stage_dir / 'recipe.json'}); "
                    "a new --output_dir for the new recipe (to train longer, start it from the finished model with "
                    f"--init_model: a longer schedule is another recipe); or --overwrite_output_dir true to delete "
                    f"{stage_dir} and start over"
                )
        (finished if completed_stage(stage_dir) else interrupted).append(name)

    if not finished and not interrupted:
        note = None
        if resume == "latest":
            note = f"--resume_from_checkpoint latest: {output_dir} holds no run of these stages yet; starting them"
        return OutputPlan(output_dir, recipes, resume, note=note)
    if not interrupted and len(finished) == len(recipes) and not resume:
        raise OutputDirError(
            f"{output_dir} already holds a finished run of this recipe ({', '.join(finished)}: complete.json; "
            f"models in {', '.join(f'{n}/last' for n in finished)}): nothing to do. Ways on: "
            "--resume_from_checkpoint latest to reuse it (prints its results); a new --output_dir for another "
            "run; or --overwrite_output_dir true to delete "
            f"{', '.join(str(stage_dirs[n]) for n in finished)} and train again"
        )
    parts = [f"{name} finished (reused)" for name in finished]
    parts += [f"{name} {_where(stage_dirs[name])}" for name in interrupted]
    verb = "resuming" if resume is None else f"--resume_from_checkpoint {resume}:"
    note = f"{output_dir} holds an unfinished run of this recipe; {verb} {'; '.join(parts)}"
    if adopted:
        note += (
            f" ({', '.join(adopted)} recorded no recipe, an older glad_hf made it?: resumed on your word, "
            "--resume_from_checkpoint, under this run's settings, which are recorded now)"
        )
    return OutputPlan(output_dir, recipes, resume or "latest", note=note)


def apply_output_plan(plan: OutputPlan) -> None:
    """Main process: delete what --overwrite_output_dir deletes (and those stages' entries of results.json), record
    the recipes of stages that have none, say the plan's line."""
    if plan.note:
        logger.warning(plan.note, main_process_only=True)
    for folder in plan.delete:
        shutil.rmtree(folder)
    results = plan.output_dir / RESULTS_FILENAME
    if plan.delete and results.is_file():
        kept = {
            k: v for k, v in json.loads(results.read_text()).items() if k not in {f.name for f in plan.delete}
        }
        atomic_write_json(results, kept)
    for name, settings in plan.recipes.items():
        stage_dir = plan.output_dir / name
        if read_stage_recipe(stage_dir) is None or _is_empty(
            stage_dir
        ):  # none yet, or a stage that never started
            stage_dir.mkdir(parents=True, exist_ok=True)
            write_stage_recipe(stage_dir, settings)


def record_run_arguments(output_dir: Path, arguments: dict, *, stages: list[str]) -> None:
    """`run_arguments.json`: the first invocation's arguments (`data`, `model`, `training`), then one entry per later
    invocation in `later_invocations` with the stages it ran and the arguments it changed."""
    path = output_dir / RUN_ARGUMENTS_FILENAME
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if not path.is_file():
        atomic_write_json(path, {**arguments, "started": started, "stages": stages})
        return
    record = json.loads(path.read_text())
    changed = {
        f"{group}.{name}": value
        for group, values in arguments.items()
        for name, value in values.items()
        if record.get(group, {}).get(name) != json.loads(json.dumps(value))
    }
    record.setdefault("later_invocations", []).append(
        {"started": started, "stages": stages, "changed": changed}
    )
    atomic_write_json(path, record)


def merge_results(output_dir: Path, summary: dict) -> None:
    """Add this run's stage results to `results.json`, keeping those of stages other runs wrote."""
    path = output_dir / RESULTS_FILENAME
    results = json.loads(path.read_text()) if path.is_file() else {}
    atomic_write_json(path, {**results, **summary})
