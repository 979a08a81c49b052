"""A stage's recipe: the settings that change what it trains (data, model, its optimisation), recorded in
`<stage>/recipe.json` when a run starts it and compared when a run comes back to the folder, so that a resumed run
continues under the recipe it started with and a folder says only true things about its run.

Not in the recipe: where things are written, logging, trackers, the Hub, loader workers and decoders, checkpoint
frequency, evaluation batch size, resume switches, tolerances (what does not change the weights or the scores).
Stage 1 ("tol") does not depend on stage-2 settings and stage 2 not on the `tol_*` ones, so each stage is compared
on its own settings: `--stage tol` then `--stage glad --init_model OUT/tol/last` into the same OUT is one run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

from ..atomic import atomic_write_json
from .arguments import DataArguments, GladTrainingArguments, ModelArguments

RECIPE_FILENAME = "recipe.json"
RECIPE_VERSION = 1

# Settings that do not change what a stage trains or how it is scored.
NOT_RECIPE = frozenset(
    """output_dir stage resume_from_checkpoint overwrite_output_dir logging_steps report_to push_to_hub hub_model_id
    hub_strategy hub_private hub_token cache_dir num_workers prefetch_factor pin_memory decode_threads video_cache_mb
    video_backend jpeg_backend checkpointing_steps checkpoints_total_limit per_device_eval_batch_size
    max_consecutive_nonfinite_steps max_unreadable_fraction gradient_checkpointing""".split()
)
# Stage 1 alone reads these; stage 2 alone the next ones (its optimisation, the domain switches, BackgroundBlend,
# validation). Motion pre-training and --init_model are a stage's starting point, recorded as its "init".
TOL_ONLY = frozenset(
    "tol_num_train_epochs tol_max_train_steps tol_per_device_train_batch_size tol_learning_rate "
    "tol_backbone_learning_rate_scale tol_lr_decay_epochs".split()
)
STAGE2_ONLY = frozenset(
    """num_train_epochs max_train_steps per_device_train_batch_size learning_rate backbone_learning_rate_scale
    lr_scheduler_type grl_lambda_schedule background_blend blend_prob blend_alpha labelled_domain compare_source_only
    eval_split evaluate_every_epoch domain_alignment forward_target test_view_aggregation grl_lambda
    domain_loss_weight backgrounds_dir""".split()
)
START = frozenset(
    "init_model motion_pretraining pretrain_max_train_steps pretrain_batch_size pretrain_learning_rate "
    "pretrain_num_videos".split()
)
# Data settings that are paths: recorded resolved, so that a relative path from another working folder still matches.
PATHS = frozenset(
    "data_dir annotations backgrounds_dir source_dir target_dir source_lists target_lists source_classes "
    "target_classes class_map exclude_reports".split()
)


class RecipeMismatchError(ValueError):
    """A run came back to a stage folder with settings other than those the stage was started with."""


def _resolved(value):
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [_resolved(v) for v in value]
    if "://" in str(value):
        return value
    return os.path.abspath(os.path.expanduser(str(value)))


def _init_location(init: str, output_dir: Path) -> str:
    """A starting model as recorded: relative to the output folder when inside it (e.g. "tol/last", so that stage 2
    of `--stage both` and `--stage glad --init_model OUT/tol/last` agree), else absolute; a Hub id as given."""
    path = Path(init).expanduser().resolve()
    try:
        return str(path.relative_to(Path(output_dir).resolve()))
    except ValueError:
        return str(path) if path.exists() else init


def stage_recipe(
    stage: str,
    data_args: DataArguments,
    model_args: ModelArguments,
    train_args: GladTrainingArguments,
    *,
    init: str | None,
) -> dict:
    """{setting: value} of `stage` ("tol", "glad" or "source_only") starting from `init` (a folder or Hub id; None:
    motion pre-training with --motion_pretraining, else random). Values are JSON values; paths are absolute."""
    skip = NOT_RECIPE | START | (STAGE2_ONLY if stage == "tol" else TOL_ONLY)
    settings = {}
    for arguments in (data_args, model_args, train_args):
        for field in dataclasses.fields(arguments):
            if field.name in skip:
                continue
            value = getattr(arguments, field.name)
            if field.name in PATHS:
                value = _resolved(value)
            elif field.name == "backbone_config" and value:
                value = json.loads(value)  # the same config written with other spacing is the same recipe
            settings[field.name] = value
    if init:
        settings["init_model"] = _init_location(init, Path(train_args.output_dir))
    elif model_args.motion_pretraining:
        settings["motion_pretraining"] = True
        for name in ("pretrain_max_train_steps", "pretrain_batch_size", "pretrain_learning_rate",
                     "pretrain_num_videos"):  # fmt: skip
            settings[name] = getattr(train_args, name)
    else:
        settings["init_model"] = None
    return json.loads(json.dumps(settings))  # tuples as lists, as they come back from the file


def read_stage_recipe(stage_dir: Path) -> dict | None:
    """The recipe recorded in `stage_dir` (its settings), or None when none was recorded."""
    path = Path(stage_dir) / RECIPE_FILENAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())["settings"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a recipe file this package wrote ({error})") from error


def write_stage_recipe(stage_dir: Path, settings: dict) -> Path:
    """Record `settings` as the recipe of `stage_dir` (atomically)."""
    from .. import __version__

    return atomic_write_json(
        Path(stage_dir) / RECIPE_FILENAME,
        {
            "version": RECIPE_VERSION,
            "stage": Path(stage_dir).name,
            "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "glad_hf_version": __version__,
            "settings": settings,
        },
    )


def recipe_differences(recorded: dict, current: dict) -> list[str]:
    """Each setting whose value differs, as "--name: recorded R, now C" (sorted by name)."""
    missing = object()
    lines = []
    for name in sorted(set(recorded) | set(current)):
        before, now = recorded.get(name, missing), current.get(name, missing)
        if before != now:
            before = "unset" if before is missing else json.dumps(before)
            now = "unset" if now is missing else json.dumps(now)
            lines.append(f"--{name}: recorded {before}, now {now}")
    return lines
