"""Typed arguments of `scripts/train_glad.py`, parsed by transformers' `HfArgumentParser` from a YAML/JSON file
and/or the command line (command line wins), over the recipe of the --dataset (`glad_hf.training.recipes`).

The dataclasses' defaults are the synthetic dataset's (demo) recipe: a tiny GLAD that starts from a backbone
pre-trained on synthetic motions (cached), trained on CPU in minutes (AdamW, backbone at 0.3x, cosine, the DANN ramp).
Kinetics->BABEL, `lists` and `folders` take the paper's recipe (SPEC §7: I3D R50-NL, 256 -> 224, SGD, constant
schedule) unless a --config or a flag says otherwise. Flags without a prefix set stage 2 (GLAD); `tol_*` flags set
stage 1 (temporal-order learning).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from transformers import HfArgumentParser

from ..hub.run_sync import HUB_STRATEGIES
from .data_arguments import DataArguments
from .options import check_choices, check_numbers, option
from .recipes import recipe_defaults, recipe_help

STAGES = ("pretrain", "tol", "glad", "both")
MODEL_SIZES = ("i3d_r50_nl", "tiny")
OPTIMIZERS = ("sgd", "adamw")
LR_SCHEDULERS = ("constant", "cosine")
GRL_SCHEDULES = ("constant", "dann")


@dataclass
class ModelArguments:
    """Which network, where it starts from, and the GLAD switches of the paper's tables."""

    model_size: str = option(
        "tiny",
        help="i3d_r50_nl (the paper's) | tiny (demo, tests: small heads; with --backbone_type: that "
        "family, tiny unless --backbone_config gives it)",
    )
    backbone_type: str | None = option(
        None, help="resnet3d | tsm | transformers | torchvision (default: resnet3d)"
    )
    backbone_config: str | None = option(
        None, help="The backbone's own config: a JSON string or the path of a JSON file (docs/backbones.md)."
    )
    init_model: str | None = option(
        None,
        help="Folder or Hub id to start from: stage 1's start with --stage tol/both (the paper: the "
        "converted mmaction Kinetics I3D), stage 2's with --stage glad. None = from scratch, or from the "
        "motion pre-training with --motion_pretraining.",
    )
    motion_pretraining: bool = option(
        True,
        help="Synthetic dataset only: start from a backbone pre-trained (supervised) on synthetic motions "
        "that are none of the classes, the stand-in for the paper's Kinetics I3D (stage 'pretrain', trained "
        "once per recipe and cached). Set false with --init_model.",
    )
    domain_alignment: list[str] = option(
        default_factory=lambda: ["local", "global", "cross"],
        help="Domain classifiers: any of local global cross video (DANN); 'none' for source-only.",
    )
    forward_target: bool = option(True, help="Forward target batches in stage 2 (batch-norm statistics).")
    batch_norm_grouping: str = option("per_group", help="per_group | fused")
    test_view_aggregation: str = option("reference", help="reference | all_views")
    grl_lambda: float | None = option(
        None,
        help="Gradient-reversal factor (its peak with --grl_lambda_schedule dann). None: the model "
        "config's (SPEC: 1.0 for a new model; the --init_model's otherwise).",
    )
    domain_loss_weight: float | None = option(
        None,
        help="Weight of each domain loss. None: the model config's (SPEC: 1.0 for a new model; the "
        "--init_model's otherwise). The synthetic recipe uses 0.3.",
    )
    gradient_checkpointing: bool = option(False)

    def __post_init__(self):
        check_choices(self, model_size=MODEL_SIZES)
        if self.backbone_config and not self.backbone_config.lstrip().startswith("{"):
            path = Path(self.backbone_config)
            if not path.is_file():
                raise ValueError(
                    f"--backbone_config {self.backbone_config} is neither a JSON object nor a file"
                )
            self.backbone_config = path.read_text()
        if self.backbone_config:
            try:
                json.loads(self.backbone_config)
            except json.JSONDecodeError as error:
                raise ValueError(f"--backbone_config is not valid JSON: {error}") from error
        if isinstance(self.domain_alignment, str):
            self.domain_alignment = self.domain_alignment.split()
        if list(self.domain_alignment) in (["none"], []):
            self.domain_alignment = []
        if self.domain_alignment and not self.forward_target:
            raise ValueError(
                f"--domain_alignment {' '.join(self.domain_alignment)} trains domain classifiers on target batches, "
                "which --forward_target false never forwards: pass --domain_alignment none for a source-only run"
            )
        check_numbers(self, at_least_0="grl_lambda domain_loss_weight")


@dataclass
class GladTrainingArguments:
    """Both stages' optimisation, checkpoints, logging and Hub upload."""

    output_dir: str = option("outputs/glad_synthetic", help="Where models, logs, metrics go.")
    overwrite_output_dir: bool = option(
        False,
        help="Delete the stage folders of --output_dir this run writes, and start over. Without it a folder "
        "holding an unfinished run of this recipe is resumed, and one holding a finished run or another recipe is "
        "refused (docs/safe_runs.md).",
    )
    stage: str = option(
        "both",
        help="tol | glad | both (tol, then glad from its backbone) | pretrain (only the motion "
        "pre-training, which every other stage runs first with --motion_pretraining)",
    )
    seed: int = option(0)
    # stage 2 (GLAD)
    num_train_epochs: int = option(4, help="Stage 2 epochs (one pass over the source).")
    max_train_steps: int | None = option(None, help="Cap on optimiser steps of each stage.")
    per_device_train_batch_size: int = option(16, help="Stage 2 videos per domain per device.")
    per_device_eval_batch_size: int = option(16)
    optimizer: str = option(
        "adamw", help="sgd (the paper's, with its parameter groups) | adamw (the from-scratch synthetic demo)"
    )
    learning_rate: float = option(1e-3, help="Stage 2 base learning rate.")
    backbone_learning_rate_scale: float = option(
        0.3, help="Stage 2: the backbone's learning rate is the base one times this (SPEC: 1)."
    )
    lr_scheduler_type: str = option("cosine", help="Stage 2 schedule: constant (SPEC §7) | cosine (to 0).")
    grl_lambda_schedule: str = option(
        "dann",
        help="Stage 2 gradient-reversal factor: constant (--grl_lambda, SPEC) | dann (--grl_lambda x "
        "2 / (1 + exp(-10 p)) - 1, p = training progress; Ganin & Lempitsky's ramp).",
    )
    weight_decay: float = option(1e-4)
    momentum: float = option(0.9, help="SGD momentum.")
    max_grad_norm: float = option(40.0)
    background_blend: bool = option(True, help="BackgroundBlend on source clips (SPEC §5).")
    blend_prob: float = option(0.25)
    blend_alpha: float = option(0.75)
    labelled_domain: str = option(
        "source",
        help="Stage 2's labelled data: source (domain adaptation) | target (the supervised-target upper bound: "
        "trained on the target train labels, no domain classifier, no blending; not UDA).",
    )
    compare_source_only: bool = option(
        True, help="Also train a source-only stage 2 on the same budget and compare."
    )
    # stage 1 (TOL)
    tol_num_train_epochs: int = option(8)
    tol_max_train_steps: int | None = option(None, help="Defaults to --max_train_steps.")
    tol_per_device_train_batch_size: int = option(16)
    tol_learning_rate: float = option(1e-3)
    tol_backbone_learning_rate_scale: float = option(
        1.0,
        help="Stage 1: the backbone's learning rate is --tol_learning_rate times this (how far temporal-order "
        "learning moves a pre-trained backbone; SPEC: 1).",
    )
    tol_lr_decay_epochs: list[int] = option(default_factory=list, help="Epochs where the LR x 0.1.")
    # stage 0 (motion pre-training, synthetic only)
    pretrain_max_train_steps: int = option(600, help="Motion pre-training steps.")
    pretrain_batch_size: int = option(
        32,
        help="Motion pre-training videos per optimiser step, over all processes (the recipe, and its "
        "cache folder, do not depend on the number of processes).",
    )
    pretrain_learning_rate: float = option(
        2e-3, help="Peak of the one-cycle AdamW schedule of motion pre-training."
    )
    pretrain_num_videos: int = option(10_500, help="Rendered training videos of the motion pre-training set.")
    # run
    gradient_accumulation_steps: int = option(1)
    checkpointing_steps: int | None = option(
        None, help="Save the training state every N steps (always at each epoch's end)."
    )
    checkpoints_total_limit: int = option(2)
    resume_from_checkpoint: str | None = option(
        None,
        help="'latest', a checkpoint folder of the stage being trained, or 'hub': what --hub_model_id holds of the "
        "run (finished stages, the newest training state of the interrupted one; --hub_strategy checkpoint).",
    )
    evaluate_every_epoch: bool = option(True)
    eval_split: str = option("test", help="Target split for validation and the final scores.")
    max_consecutive_nonfinite_steps: int = option(
        10,
        help="Steps with a non-finite loss or gradient are skipped (no update) and counted; this many "
        "in a row stop the run with an error.",
    )
    logging_steps: int = option(10)
    report_to: str = option("tensorboard", help="tensorboard | wandb | all | none")
    push_to_hub: bool = option(False)
    hub_model_id: str | None = option(None)
    hub_strategy: str = option(
        "every_save",
        help="With --push_to_hub: end (each stage's model when it is done) | every_save (also every saved model) | "
        "checkpoint (also the newest training state, for --resume_from_checkpoint hub) | all_checkpoints.",
    )
    hub_private: bool = option(False)
    hub_token: str | None = option(None)

    def __post_init__(self):
        check_choices(
            self,
            stage=STAGES,
            lr_scheduler_type=LR_SCHEDULERS,
            grl_lambda_schedule=GRL_SCHEDULES,
            optimizer=OPTIMIZERS,
            labelled_domain=("source", "target"),
        )
        if self.labelled_domain == "target" and self.background_blend:
            raise ValueError(
                "--labelled_domain target trains on target clips, which --background_blend (source backgrounds) "
                "does not apply to: pass --background_blend false"
            )
        if self.push_to_hub and not self.hub_model_id:
            raise ValueError("--push_to_hub needs --hub_model_id ORG/NAME")
        check_choices(self, hub_strategy=HUB_STRATEGIES)
        if self.overwrite_output_dir and self.resume_from_checkpoint:
            raise ValueError(
                f"--overwrite_output_dir deletes what --resume_from_checkpoint {self.resume_from_checkpoint} would "
                "resume from: pass one of them"
            )
        if self.resume_from_checkpoint == "hub" and not self.hub_model_id:
            raise ValueError(
                "--resume_from_checkpoint hub needs --hub_model_id ORG/NAME (the repo the run pushed to)"
            )
        check_numbers(
            self,
            at_least_1="num_train_epochs max_train_steps per_device_train_batch_size per_device_eval_batch_size "
            "tol_num_train_epochs tol_max_train_steps tol_per_device_train_batch_size pretrain_max_train_steps "
            "pretrain_batch_size pretrain_num_videos gradient_accumulation_steps checkpointing_steps "
            "checkpoints_total_limit max_consecutive_nonfinite_steps logging_steps",
            positive="learning_rate tol_learning_rate pretrain_learning_rate max_grad_norm",
            at_least_0="seed backbone_learning_rate_scale tol_backbone_learning_rate_scale weight_decay",
            fraction="blend_prob blend_alpha momentum",
        )
        if any(epoch < 0 for epoch in self.tol_lr_decay_epochs):
            raise ValueError(f"--tol_lr_decay_epochs must be epochs >= 0, got {self.tol_lr_decay_epochs}")
        if self.tol_max_train_steps is None:
            self.tol_max_train_steps = self.max_train_steps


ARGUMENT_CLASSES = (DataArguments, ModelArguments, GladTrainingArguments)


def _read_config_file(path: str) -> dict:
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise ValueError(f"--config {path}: cannot be read ({error.strerror})") from error
    try:
        values = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"--config {path}, line {error.lineno}: not valid JSON ({error.msg})") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise ValueError(
            f"--config {path}{where}: not valid YAML ({getattr(error, 'problem', error)})"
        ) from error
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a mapping of argument names to values")
    known = {f.name for cls in ARGUMENT_CLASSES for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{path}: unknown configuration keys {unknown}; known keys are {sorted(known)}")
    return values


def parse_arguments(
    argv: list[str] | None = None, classes: tuple = ARGUMENT_CLASSES, description: str | None = None
) -> tuple:
    """`[--config FILE.yaml|json] [--flag value ...]` into instances of `classes` (default: the training's
    `DataArguments, ModelArguments, GladTrainingArguments`). Values come from the recipe of the --dataset
    (`recipes.RECIPES`), then the file, then the flags; the recipe and the file set fields of those three classes
    only (evaluation takes a training config for its `DataArguments` and ignores the rest). `--help` prints the
    flags grouped as the recipe is."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # the recipe and the file set the training's argument classes only (a training config's output_dir is not an
    # evaluation's)
    names = {f.name for cls in classes if cls in ARGUMENT_CLASSES for f in dataclasses.fields(cls)}
    if "-h" in argv or "--help" in argv:
        print(recipe_help(classes, description or __doc__.split("\n\n")[0], names))
        sys.exit(0)
    config_path = None
    if "--config" in argv:
        position = argv.index("--config")
        if position + 1 >= len(argv):
            raise ValueError("--config needs a file path")
        config_path = argv[position + 1]
        del argv[position : position + 2]
    config = _read_config_file(config_path) if config_path else {}
    # argparse's prefix matching is off, so that the --dataset read here is the one the parser reads
    dataset_flag = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    dataset_flag.add_argument("--dataset")
    dataset = dataset_flag.parse_known_args(argv)[0].dataset or config.get("dataset") or DataArguments.dataset
    parser = HfArgumentParser(classes, allow_abbrev=False)
    parser.set_defaults(**recipe_defaults(dataset, names))
    parser.set_defaults(**{name: value for name, value in config.items() if name in names})
    *parsed, remaining = parser.parse_args_into_dataclasses(args=argv, return_remaining_strings=True)
    if remaining:
        raise ValueError(f"unknown arguments {remaining}")
    return tuple(parsed)
