"""The recipe follows the data: which values a run takes for the flags it does not set, by --dataset.

    synthetic                    the demo's recipe (`make demo`): a tiny GLAD from the cached motion pre-training,
                                 32-pixel clips, AdamW + cosine + the DANN ramp, domain losses at 0.3. It is the
                                 argument dataclasses' defaults plus `SYNTHETIC_RECIPE` (their one source of truth).
    kinetics2babel | lists |     the paper's recipe (SPEC §7, `PAPER_RECIPE`): I3D R50-NL, 256 -> 224, SGD at a
    folders                      constant rate, the constant gradient reversal, and the loader settings measured
                                 on real data (docs/data_path.md).

Precedence: recipe < `--config FILE` < command-line flags. The effective recipe is printed at start grouped as a
reader thinks of it (`GROUPS`: data, model, stage 1, stage 2, runtime) and saved with the run as `recipe.yaml`, a
file `--config` takes back.
"""

from __future__ import annotations

import argparse
import dataclasses
import textwrap
from pathlib import Path

import yaml

from ..atomic import atomic_write_text

# Added to the dataclasses' defaults on the synthetic dataset: the synthetic benchmark's domain-loss weight (a new
# model's config has the SPEC's 1.0).
SYNTHETIC_RECIPE: dict = {"domain_loss_weight": 0.3}

# SPEC §7 for 8 GPUs (stage 1) and 7 GPUs (stage 2): batch sizes per device, learning rates the paper's totals.
# With G devices: tol_learning_rate = 0.002 * G / 8 and learning_rate = 0.000125 * G (or keep the totals with
# --gradient_accumulation_steps).
PAPER_RECIPE: dict = {
    # data
    "short_side": 256,
    "crop_size": 224,
    # model: the converted mmaction Kinetics I3D is given with --init_model (docs/hub_and_zoo.md)
    "model_size": "i3d_r50_nl",
    "motion_pretraining": False,  # the synthetic stand-in for Kinetics pre-training is for --dataset synthetic
    "domain_alignment": ["local", "global", "cross"],
    "batch_norm_grouping": "per_group",
    "test_view_aggregation": "reference",
    "domain_loss_weight": 1.0,
    # stage 1: temporal-order learning
    "tol_per_device_train_batch_size": 18,
    "tol_learning_rate": 0.002,
    "tol_num_train_epochs": 300,
    "tol_lr_decay_epochs": [285],
    # stage 2: GLAD
    "optimizer": "sgd",
    "lr_scheduler_type": "constant",
    "grl_lambda_schedule": "constant",
    "backbone_learning_rate_scale": 1.0,
    "per_device_train_batch_size": 4,
    "per_device_eval_batch_size": 4,
    "learning_rate": 0.000875,
    "num_train_epochs": 3,
    "weight_decay": 0.0001,
    "momentum": 0.9,
    "max_grad_norm": 40.0,
    "background_blend": True,
    "blend_prob": 0.25,
    "blend_alpha": 0.75,
    "compare_source_only": False,
    # runtime. Loader settings by measurement (docs/data_path.md): one worker delivers ~10-16 compact samples/s per
    # CPU core, so each process gets as many workers as it has cores to spare; prefetching 4 batches instead of 2
    # gained nothing, nor did a second decoding thread per worker; pinned memory for the GPU copies.
    "num_workers": 8,
    "prefetch_factor": 2,
    "decode_threads": 1,
    "pin_memory": True,
    "checkpointing_steps": 500,
    "eval_split": "test",
}

RECIPES = {
    "synthetic": ("the demo's recipe", SYNTHETIC_RECIPE),
    "kinetics2babel": (
        "the paper's recipe (SPEC §7)",
        {**PAPER_RECIPE, "output_dir": "outputs/k2b_i3d_glad"},
    ),
    "lists": ("the paper's recipe (SPEC §7)", {**PAPER_RECIPE, "output_dir": "outputs/glad_lists"}),
    "folders": ("the paper's recipe (SPEC §7)", {**PAPER_RECIPE, "output_dir": "outputs/glad_folders"}),
}

# How `--help`, the printed recipe and recipe.yaml group the flags; a flag not named here is listed under runtime.
GROUPS: dict[str, tuple[str, ...]] = {
    "data": (
        "dataset data_dir annotations cache_dir backgrounds_dir source_dir target_dir source_lists target_lists "
        "source_classes target_classes class_map media frame_template source_start_index target_start_index "
        "exclude_reports short_side crop_size"
    ).split(),
    "model": (
        "model_size backbone_type backbone_config init_model motion_pretraining pretrain_max_train_steps "
        "pretrain_batch_size pretrain_learning_rate pretrain_num_videos domain_alignment forward_target "
        "batch_norm_grouping test_view_aggregation grl_lambda domain_loss_weight"
    ).split(),
    "stage 1 (temporal-order learning)": (
        "tol_num_train_epochs tol_max_train_steps tol_per_device_train_batch_size tol_learning_rate "
        "tol_backbone_learning_rate_scale tol_lr_decay_epochs"
    ).split(),
    "stage 2 (GLAD)": (
        "num_train_epochs per_device_train_batch_size per_device_eval_batch_size optimizer learning_rate "
        "backbone_learning_rate_scale lr_scheduler_type grl_lambda_schedule weight_decay momentum max_grad_norm "
        "background_blend blend_prob blend_alpha labelled_domain compare_source_only"
    ).split(),
    "evaluation": "model split domain batch_size update_card".split(),
    "runtime": (
        "output_dir stage seed max_train_steps num_workers prefetch_factor pin_memory video_backend jpeg_backend "
        "decode_threads max_unreadable_fraction max_eval_samples video_cache_mb gradient_checkpointing "
        "gradient_accumulation_steps checkpointing_steps checkpoints_total_limit resume_from_checkpoint evaluate_every_epoch eval_split "
        "max_consecutive_nonfinite_steps logging_steps report_to push_to_hub hub_model_id hub_strategy hub_private "
        "hub_token"
    ).split(),
}
SECRET_FIELDS = ("hub_token",)


def recipe_name(dataset: str) -> str:
    return RECIPES[dataset][0] if dataset in RECIPES else "the defaults"


def recipe_defaults(dataset: str, names) -> dict:
    """The recipe's values for `dataset`, restricted to the flags `names` of the parser at hand."""
    values = RECIPES.get(dataset, ("", {}))[1]
    return {name: value for name, value in values.items() if name in set(names)}


def group_of(name: str) -> str:
    return next((group for group, names in GROUPS.items() if name in names), "runtime")


def grouped_fields(classes) -> dict[str, list[dataclasses.Field]]:
    """{group: [the dataclass fields of `classes` in it]} in the order of `GROUPS`."""
    fields = [field for cls in classes for field in dataclasses.fields(cls)]
    order = {
        name: position for position, name in enumerate(name for names in GROUPS.values() for name in names)
    }
    grouped = {group: [] for group in GROUPS}
    for field in sorted(fields, key=lambda f: order.get(f.name, len(order))):
        grouped[group_of(field.name)].append(field)
    return {group: fields for group, fields in grouped.items() if fields}


def grouped_values(*arguments) -> dict[str, dict]:
    """{group: {flag: value}} of parsed argument dataclasses (secrets left out)."""
    values = {}
    for group, fields in grouped_fields([type(a) for a in arguments]).items():
        owner = {f.name: a for a in arguments for f in dataclasses.fields(a)}
        values[group] = {
            f.name: getattr(owner[f.name], f.name) for f in fields if f.name not in SECRET_FIELDS
        }
    return values


def describe_recipe(*arguments, width: int = 118) -> str:
    """The effective recipe of parsed arguments as one printable block, a few `flag=value` lines per group (unset
    flags left out)."""
    dataset = next(a.dataset for a in arguments if hasattr(a, "dataset"))
    lines = [f"recipe: {recipe_name(dataset)} for --dataset {dataset}, with --config and flags over it"]
    for group, values in grouped_values(*arguments).items():
        text = "  ".join(f"{name}={_show(value)}" for name, value in values.items() if value is not None)
        lines += textwrap.wrap(text, width, initial_indent=f"  {group}: ", subsequent_indent="      ")
    return "\n".join(lines)


def _show(value) -> str:
    if isinstance(value, list | tuple):
        return ",".join(map(str, value)) or "[]"
    return str(value)


def write_recipe(path: str | Path, *arguments) -> Path:
    """Save the effective recipe as YAML grouped by comments; `--config` reads it back (every value set)."""
    dataset = next(a.dataset for a in arguments if hasattr(a, "dataset"))
    parts = [f"# The effective recipe of this run: {recipe_name(dataset)} with --config and flags over it.\n"]
    for group, values in grouped_values(*arguments).items():
        values = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
        parts.append(f"# {group}\n" + yaml.safe_dump(values, sort_keys=False, width=1000))
    path = Path(path)
    atomic_write_text(path, "".join(parts))
    return path


def recipe_help(classes, description: str, recipe_fields) -> str:
    """`--help` grouped like the printed recipe, each flag with its default per recipe where they differ (for the
    `recipe_fields`, those the recipe sets; the others show their own default). Built here with argparse from the
    same fields because `HfArgumentParser` groups flags by dataclass, and a reader's groups cut across the three."""
    parser = argparse.ArgumentParser(
        usage="%(prog)s [--config FILE.yaml|json] [--flag value ...]",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="--config FILE.yaml|json sets any of these; flags override the file, the file the recipe.",
    )
    for group, fields in grouped_fields(classes).items():
        arguments = parser.add_argument_group(group)
        for field in fields:
            help = _field_help(field, with_recipes=field.name in recipe_fields)
            arguments.add_argument(f"--{field.name}", help=help, metavar=field.name.upper())
    return parser.format_help()


def _field_help(field: dataclasses.Field, *, with_recipes: bool) -> str:
    default = field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default
    if default is dataclasses.MISSING:
        return f"{field.metadata.get('help', '')} (required)".replace("%", "%%")
    by_value: dict[str, list[str]] = {}
    for dataset, (_, values) in RECIPES.items() if with_recipes else ():
        by_value.setdefault(_show(values.get(field.name, default)), []).append(dataset)
    text = field.metadata.get("help", "").replace("%", "%%")
    if len(by_value) <= 1:
        value = next(iter(by_value), _show(default))
        return text if value == "None" else f"{text} (default: {value})"
    per_recipe = "; ".join(f"{', '.join(datasets)}: {value}" for value, datasets in by_value.items())
    return f"{text} ({per_recipe})"
