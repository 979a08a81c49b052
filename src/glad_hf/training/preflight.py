"""Checks that need no training, run before stage 0 or 1 starts, so that a mistake costs seconds, not a finished
stage 1 (300 epochs in the paper's recipe): `check_arguments` before the data is read (the starting model, switches
that contradict each other, trackers, the backbone config, the input size, the Hub, BackgroundBlend's images),
`check_data` once it is (splits, classes, the starting model's
labels). Each error names the flag, file or folder and what was expected."""

from __future__ import annotations

import difflib
import importlib.util
import json
from collections import Counter
from pathlib import Path

import torch
from accelerate.logging import get_logger
from transformers import PreTrainedConfig

from ..backbones.registry import backbone_spec, build_backbone
from ..configuration_glad import GladConfig
from ..data.background import BACKGROUND_SUFFIXES
from ..hub.push import check_repo_id, hub_is_offline, missing_token
from .arguments import DataArguments, GladTrainingArguments, ModelArguments
from .stage_models import build_config, check_model_source

logger = get_logger(__name__)

# What --report_to names, and the package each tracker needs.
TRACKER_PACKAGES = {"tensorboard": ("tensorboard", "tensorboardX"), "wandb": ("wandb",)}


def trains_stage_1(train_args: GladTrainingArguments) -> bool:
    return train_args.stage in ("tol", "both")


def trains_stage_2(train_args: GladTrainingArguments) -> bool:
    return train_args.stage in ("glad", "both")


def check_arguments(
    data_args: DataArguments, model_args: ModelArguments, train_args: GladTrainingArguments
) -> None:
    """Everything that can be checked from the arguments and the files they name, before the data is read."""
    check_model_source(model_args.init_model, "--init_model")
    check_motion_pretraining(data_args, model_args, train_args)
    check_combinations(model_args, train_args)
    check_trackers(train_args.report_to)
    check_resume_folder(train_args)
    check_schedule(train_args)
    check_backbone_config(model_args)
    check_hub_model(model_args.init_model)
    check_input_size(model_args, data_args)
    check_hub(train_args)
    if trains_stage_2(train_args) and train_args.background_blend and train_args.labelled_domain == "source":
        check_backgrounds(data_args)


def check_combinations(model_args: ModelArguments, train_args: GladTrainingArguments) -> None:
    """Switches of different argument groups that contradict each other."""
    if train_args.labelled_domain == "target" and (model_args.domain_alignment or model_args.forward_target):
        raise ValueError(
            "--labelled_domain target trains on the target's labels alone: pass --domain_alignment none and "
            "--forward_target false with it"
        )


def check_motion_pretraining(
    data_args: DataArguments, model_args: ModelArguments, train_args: GladTrainingArguments
) -> None:
    """Motion pre-training only where it applies."""
    if not model_args.motion_pretraining:
        if train_args.stage == "pretrain":
            raise ValueError("--stage pretrain needs --motion_pretraining true")
        return
    if data_args.dataset != "synthetic":
        raise ValueError(
            "--motion_pretraining is the synthetic dataset's stand-in for Kinetics pre-training; with --dataset "
            f"{data_args.dataset} pass --motion_pretraining false (and --init_model, e.g. a converted I3D)"
        )
    if model_args.init_model:
        raise ValueError(
            f"--init_model {model_args.init_model} and --motion_pretraining both choose the starting weights; "
            "pass --motion_pretraining false to start from --init_model"
        )


def check_resume_folder(train_args: GladTrainingArguments) -> None:
    """An explicit --resume_from_checkpoint FOLDER is a checkpoint (progress.json) of a stage this run trains."""
    resume = train_args.resume_from_checkpoint
    if resume in (None, "latest", "hub"):
        return
    folder = Path(resume)
    if not (folder / "progress.json").is_file():
        raise ValueError(
            f"--resume_from_checkpoint {resume} is not a checkpoint folder (no progress.json there); checkpoints are "
            "OUTPUT_DIR/<stage>/checkpoints/step_*, or pass --resume_from_checkpoint latest"
        )
    stage = folder.parent.parent.name if folder.parent.name == "checkpoints" else None
    trained = [name for name, runs in (("tol", trains_stage_1(train_args)), ("glad", trains_stage_2(train_args)),
                                       ("source_only", trains_stage_2(train_args))) if runs]  # fmt: skip
    if stage is not None and stage not in trained:
        raise ValueError(
            f"--resume_from_checkpoint {resume} is a checkpoint of the {stage!r} stage, which --stage "
            f"{train_args.stage} does not train"
        )


def check_schedule(train_args: GladTrainingArguments) -> None:
    """Stage 1's learning-rate decays fall within its epochs (a decay past the last epoch never happens)."""
    if not trains_stage_1(train_args):
        return
    late = [epoch for epoch in train_args.tol_lr_decay_epochs if epoch >= train_args.tol_num_train_epochs]
    if late:
        raise ValueError(
            f"--tol_lr_decay_epochs {late} lie at or past the end of stage 1 (--tol_num_train_epochs "
            f"{train_args.tol_num_train_epochs}): those decays would never happen"
        )


def check_trackers(report_to: str) -> None:
    """--report_to names a tracker whose package is installed (else the run would log nothing)."""
    if report_to == "none":
        return
    if report_to not in (*TRACKER_PACKAGES, "all"):
        raise ValueError(f"--report_to must be one of tensorboard | wandb | all | none, got {report_to!r}")
    wanted = list(TRACKER_PACKAGES) if report_to == "all" else [report_to]
    if not any(importlib.util.find_spec(p) for name in wanted for p in TRACKER_PACKAGES[name]):
        install = " or ".join(f"`pip install {TRACKER_PACKAGES[name][0]}`" for name in wanted)
        raise ValueError(
            f"--report_to {report_to}: {' nor '.join(wanted)} is not installed, so nothing would be logged; "
            f"{install}, or pass --report_to none"
        )


def check_backbone_config(model_args: ModelArguments) -> None:
    """--backbone_config applies (with --backbone_type, without --init_model) and has only keys its config knows,
    a typo named with the nearest known key."""
    if not model_args.backbone_config:
        return
    if model_args.init_model:
        check_backbone_config_matches(model_args)
        return
    if not model_args.backbone_type:
        raise ValueError(
            "--backbone_config is read only with --backbone_type (resnet3d | tsm | transformers | torchvision): "
            "add e.g. --backbone_type resnet3d"
        )
    given = json.loads(model_args.backbone_config)
    if not isinstance(given, dict):
        raise ValueError(f"--backbone_config must be a JSON object, got {model_args.backbone_config}")
    built = backbone_spec(model_args.backbone_type).build_config(given)
    try:
        known = set(type(built)().to_dict())
    except Exception:  # a config class that needs arguments: its built config's own keys are all it reports
        return
    known |= {"model_type", "transformers_version"}
    own = sorted(known - set(PreTrainedConfig().to_dict()))  # the backbone's settings, not every config's
    for key in sorted(set(given) - known):
        nearest = difflib.get_close_matches(key, own, n=1) or difflib.get_close_matches(
            key, sorted(known), n=1
        )
        hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
        raise ValueError(
            f"--backbone_config: {key!r} is not a setting of the {model_args.backbone_type} backbone "
            f"({type(built).__name__}){hint} Its settings: {', '.join(own)}"
        )


def check_backbone_config_matches(model_args: ModelArguments) -> None:
    """With --init_model the architecture is the starting model's: --backbone_type / --backbone_config may only
    repeat it (as a comparison's runs from a pre-trained model do), never ask for another one that is ignored."""
    config_file = Path(model_args.init_model).expanduser() / "config.json"
    if not config_file.is_file():
        return
    saved = json.loads(config_file.read_text())
    given = json.loads(model_args.backbone_config)
    differs = [
        f"{key}: given {value!r}, the model's {saved.get('backbone_config', {}).get(key)!r}"
        for key, value in (given.items() if isinstance(given, dict) else [])
        if saved.get("backbone_config", {}).get(key) != value
    ]
    if model_args.backbone_type and model_args.backbone_type != saved.get("backbone_type", "resnet3d"):
        differs.insert(
            0,
            f"backbone_type: given {model_args.backbone_type!r}, the model's {saved.get('backbone_type')!r}",
        )
    if differs:
        raise ValueError(
            f"--backbone_config asks for another architecture than --init_model {model_args.init_model} ({config_file}): "
            f"{'; '.join(differs)}. The architecture is the starting model's; drop --backbone_config"
        )


def check_hub_model(init_model: str | None) -> None:
    """An --init_model that is a Hub id has a GLAD config there (or in the cache offline): fetched now, named if
    not, instead of when its stage starts."""
    if not init_model or Path(init_model).expanduser().exists():
        return
    try:
        saved, _ = GladConfig.get_config_dict(init_model)
    except OSError as error:
        raise ValueError(f"--init_model {init_model}: cannot read its config.json ({error})") from error
    if saved.get("model_type") != "glad":
        raise ValueError(
            f"--init_model {init_model} is not a GLAD model (model_type {saved.get('model_type')!r}); convert "
            "mmaction checkpoints with scripts/convert_mmaction_checkpoint.py"
        )


def _starting_config(model_args: ModelArguments) -> GladConfig | None:
    """The run's architecture: the --init_model folder's, or the one the flags choose (None for a Hub id, read
    when it is loaded)."""
    init = model_args.init_model
    if init and not Path(init).expanduser().is_dir():
        return None
    return build_config(model_args, str(Path(init).expanduser()) if init else None)


@torch.no_grad()
def check_input_size(model_args: ModelArguments, data_args: DataArguments) -> None:
    """One clip of --crop_size through the backbone (random weights, on the CPU): a crop too small for its
    downsampling fails here, named, instead of at the first training step."""
    config = _starting_config(model_args)
    if config is None:
        return
    backbone = build_backbone(config.backbone_type, config.backbone_config).eval()
    size = data_args.crop_size
    clip = torch.zeros(1, 3, config.clip_len, size, size)
    try:
        backbone.extract_features(clip)
    except RuntimeError as error:
        raise ValueError(
            f"--crop_size {size} is too small for the {config.backbone_type} backbone (a {config.clip_len}-frame "
            f"clip of {size}x{size} fails in it: {str(error).splitlines()[0]}); use a larger --crop_size (and "
            "--short_side >= it)"
        ) from error


def check_hub(train_args: GladTrainingArguments) -> None:
    """--push_to_hub / --resume_from_checkpoint hub: a valid repo id, online, and (on huggingface.co) a token."""
    uses_hub = train_args.push_to_hub or train_args.resume_from_checkpoint == "hub"
    if not uses_hub:
        return
    flag = "--push_to_hub" if train_args.push_to_hub else "--resume_from_checkpoint hub"
    try:
        check_repo_id(train_args.hub_model_id)
    except ValueError as error:
        raise ValueError(f"--hub_model_id: {error}") from error
    if hub_is_offline():
        way = (
            "drop --push_to_hub and push the finished folder later with scripts/push_to_hub.py"
            if train_args.push_to_hub
            else "resume from this machine's folder with --resume_from_checkpoint latest"
        )
        raise ValueError(
            f"{flag} needs the Hub, but HF_HUB_OFFLINE=1 is set (no upload or download can succeed); unset it, or "
            f"{way}"
        )
    if train_args.push_to_hub and missing_token(train_args.hub_token):
        raise ValueError(
            f"--push_to_hub {train_args.hub_model_id}: no Hub token (none given with --hub_token, none saved by "
            "`hf auth login`, no HF_TOKEN); log in first, or drop --push_to_hub"
        )


def check_backgrounds(data_args: DataArguments) -> None:
    """BackgroundBlend's images exist: --backgrounds_dir holds some (the synthetic dataset extracts its own)."""
    if not data_args.backgrounds_dir:
        if data_args.dataset != "synthetic":
            raise ValueError(
                "--background_blend needs --backgrounds_dir (extract the median backgrounds with "
                "scripts/extract_backgrounds.py), or pass --background_blend false"
            )
        return
    folder = Path(data_args.backgrounds_dir)
    if not any(p.suffix.lower() in BACKGROUND_SUFFIXES and p.is_file() for p in folder.rglob("*")):
        raise ValueError(
            f"--backgrounds_dir {folder} holds no background images ({', '.join(BACKGROUND_SUFFIXES)}); extract "
            "them with scripts/extract_backgrounds.py, or pass --background_blend false"
        )


def _split_names(data_args: DataArguments, domain: str) -> str:
    """Where a domain's data comes from, for messages."""
    if data_args.dataset == "folders":
        return f" ({getattr(data_args, f'{domain}_dir')})"
    if data_args.dataset == "lists":
        return f" ({', '.join(getattr(data_args, f'{domain}_lists') or [])})"
    return f" (--dataset {data_args.dataset})"


def needed_splits(
    model_args: ModelArguments, train_args: GladTrainingArguments
) -> list[tuple[str, str, str]]:
    """(domain, split, what reads it) of every split the run reads."""
    needed = []
    if trains_stage_1(train_args):
        needed += [(d, s, "stage 1") for d in ("source", "target") for s in ("train", "test")]
    if trains_stage_2(train_args):
        if train_args.labelled_domain == "target":
            needed.append(("target", "train", "stage 2 (--labelled_domain target)"))
        else:
            needed.append(("source", "train", "stage 2"))
            if model_args.forward_target:
                needed.append(("target", "train", "stage 2 (--forward_target)"))
        needed += [
            ("target", train_args.eval_split, f"stage 2's scores (--eval_split {train_args.eval_split})"),
            ("source", "test", "stage 2's source scores"),
        ]
    return list(dict.fromkeys(needed))


def check_data(
    domains: dict, data_args: DataArguments, model_args: ModelArguments, train_args: GladTrainingArguments
) -> None:
    """Once the data is read: every split the run reads exists and has rows; every class has training videos in
    the labelled domain; a starting classifier's labels are the dataset's."""
    for domain, split, reader in needed_splits(model_args, train_args):
        splits = domains[domain]
        if split not in splits:
            raise ValueError(
                f"{reader} reads the {domain} {split!r} split, which the {domain} domain{_split_names(data_args, domain)}"
                f" does not have; its splits are {sorted(splits)}"
            )
        if len(splits[split]) == 0:
            raise ValueError(
                f"{reader} reads the {domain} {split!r} split, which is empty{_split_names(data_args, domain)}"
            )
    if trains_stage_2(train_args):
        labelled = train_args.labelled_domain
        if (
            data_args.dataset != "synthetic"
        ):  # a synthetic root renders a subset of the 12 K->B labels by design
            check_classes(domains[labelled]["train"], data_args, labelled)
        check_starting_labels(model_args.init_model, list(domains["source"]["train"].features["label"].names))


def check_classes(rows, data_args: DataArguments, domain: str) -> None:
    """Refuse classes without a training video: the model could predict them but never learn them (an empty class
    folder, a class-list line without rows)."""
    names = rows.features["label"].names
    counts = Counter(rows["label"])
    empty = [name for index, name in enumerate(names) if counts.get(index, 0) == 0]
    if not empty:
        return
    where = ""
    if data_args.dataset == "folders":
        root = Path(getattr(data_args, f"{domain}_dir")) / "train"
        where = f" (empty folders: {', '.join(str(root / name) for name in empty)})"
    raise ValueError(
        f"{len(empty)} of {len(names)} classes have no {domain} training video: {', '.join(empty)}{where}. The model "
        "would get an output for each that it never learns; remove them (or add their videos) and run again"
    )


def check_starting_labels(init_model: str | None, labels: list[str]) -> None:
    """A stage-2 start that is a classifier of the same number of classes keeps its head: refuse it when its class
    names (or their order) are not the dataset's, since each output would then mean another class. A head of
    another size is replaced by a new one (said in the log)."""
    if not init_model or not Path(init_model).expanduser().is_dir():
        return
    config_file = Path(init_model).expanduser() / "config.json"
    saved = json.loads(config_file.read_text())
    if "GladForVideoClassification" not in (saved.get("architectures") or []):
        return  # a temporal-order model or a backbone: the classifier head is new anyway
    id2label = saved.get("id2label") or {}
    theirs = [id2label[str(i)] for i in range(len(id2label))] if id2label else []
    if len(theirs) != len(labels):
        logger.warning(
            f"--init_model {init_model} classifies {len(theirs)} classes, the dataset has {len(labels)}: its "
            "classifier head is replaced by a new one",
            main_process_only=True,
        )
        return
    if all(name == f"LABEL_{i}" for i, name in enumerate(theirs)) or theirs == labels:
        return
    pairs = [f"{i}: {a!r} vs {b!r}" for i, (a, b) in enumerate(zip(theirs, labels, strict=True)) if a != b]
    same_set = "the same classes in another order" if sorted(theirs) == sorted(labels) else "other classes"
    raise ValueError(
        f"--init_model {init_model} is a classifier of {same_set} ({config_file} id2label vs the dataset's labels: "
        f"{'; '.join(pairs[:5])}{' ...' if len(pairs) > 5 else ''}); its head would be kept and each output would "
        "mean another class. Start from a model of these classes, or from a stage-1 / backbone-only model"
    )
