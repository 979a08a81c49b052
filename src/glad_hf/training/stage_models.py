"""From arguments to the model a stage trains: its `GladConfig`, its starting weights, and the checks that refuse a
starting point that is not a GLAD model before any work."""

from __future__ import annotations

import json
from pathlib import Path

from accelerate.logging import get_logger
from safetensors import SafetensorError, safe_open
from transformers.utils import logging as transformers_logging

from ..configuration_glad import GladConfig
from ..hub.push import check_model_folder, check_repo_id
from .arguments import ModelArguments

logger = get_logger(__name__)


def check_model_source(source: str | None, flag: str) -> None:
    """Refuse, before any work, a `flag` value that is neither a GLAD model folder nor a Hub id: a local path that
    does not exist ("no model folder at PATH"), a folder without a GLAD config.json or without backbone weights.
    A Hub id (`org/name`) is checked when it is loaded."""
    if not source:
        return
    folder = Path(source).expanduser()
    if not folder.exists():
        try:
            check_repo_id(source)  # ORG/NAME: a Hub id, checked when it is loaded
        except ValueError:
            raise ValueError(f"{flag}: no model folder at {source}") from None
        return
    try:
        check_model_folder(folder)
    except ValueError as error:
        hint = ""
        if (folder / "last" / "config.json").is_file():  # a stage folder given for its model
            hint = f"; did you mean {Path(source) / 'last'}?"
        raise ValueError(f"{flag}: {error}{hint}") from error
    weights = sorted(folder.glob("*.safetensors"))
    keys = []
    for shard in weights:
        try:
            with safe_open(str(shard), framework="pt") as handle:
                keys += list(handle.keys())
        except SafetensorError as error:
            raise ValueError(
                f"{flag}: {shard} cannot be read ({error}); the file is truncated or corrupt: copy or save it again"
            ) from error
    if not any(key.startswith("glad.backbone.") for key in keys):
        raise ValueError(f"{flag} {folder} has no backbone weights (no 'glad.backbone.*' tensors)")


def build_config(
    model_args: ModelArguments, init: str | None, labels: list[str] | None = None, **overrides
) -> GladConfig:
    """The run's GladConfig: the init folder's architecture (or the chosen size) with this run's switches and the
    dataset's class names `labels` (a classifier of other classes gets a new head); the loss numbers (`grl_lambda`,
    `domain_loss_weight`) are the config's unless the arguments set them."""
    settings = dict(
        domain_alignment=tuple(model_args.domain_alignment),
        batch_norm_grouping=model_args.batch_norm_grouping,
        test_view_aggregation=model_args.test_view_aggregation,
    )
    for name in ("grl_lambda", "domain_loss_weight"):
        if getattr(model_args, name) is not None:
            settings[name] = getattr(model_args, name)
    if labels is not None:
        settings.update(id2label=dict(enumerate(labels)), label2id={name: i for i, name in enumerate(labels)})
    settings.update(overrides)
    if init:
        saved, _ = GladConfig.get_config_dict(init)
        # validated as a new config is; `architectures` (what the init folder held) is not this model's
        return GladConfig.from_dict({**saved, "architectures": None, **settings})
    if model_args.backbone_type:
        backbone = json.loads(model_args.backbone_config) if model_args.backbone_config else None
        if model_args.model_size == "tiny":  # tiny heads, on the given backbone or the family's tiny one
            return GladConfig.tiny(model_args.backbone_type, backbone_config=backbone, **settings)
        return GladConfig.for_backbone(model_args.backbone_type, backbone, **settings)
    if model_args.model_size == "tiny":
        return GladConfig.tiny(**settings)
    return GladConfig(**settings)


def load_model(model_class, config: GladConfig, init: str | None, *, gradient_checkpointing: bool = False):
    """`model_class` from `init` (only the tensors that fit are loaded; new heads are initialised) or new."""
    if not init:
        model = model_class(config)
    else:
        verbosity = transformers_logging.get_verbosity()
        transformers_logging.set_verbosity_error()  # its load report lists every new head tensor; summarised below
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
    if gradient_checkpointing:
        model.activation_checkpointing_enable()
    return model
