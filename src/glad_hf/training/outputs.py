"""What training and evaluation leave on disk, written in one place: model folders (`save_pretrained` + processor +
model card), `metrics.json`, `curves.png`, `confusion_matrix.png` and a stage's `complete.json`.

A stage folder holds `checkpoints/step_*` (training state), `last/` (the headline model: the one training ended
with), `best/` (stage 2 with validation: the best validation MCA, labelled with the split it was selected on),
`metrics.json`, the plots, and `complete.json` once finished (a resumed run then reuses the stage).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator

from ..atomic import atomic_write_json
from ..configuration_glad import GladConfig
from ..hub.cards import write_model_card
from ..metrics.plots import save_confusion_matrix_png, save_curves_png
from ..video_processing_glad import GladVideoProcessor
from .arguments import DataArguments, GladTrainingArguments
from .checkpointing import atomic_save_pretrained


@dataclass
class StageResult:
    """A finished stage: its key (`stage`: "pretrain", "tol", or a stage-2 run's folder name), its human label, the
    folder of its headline model (`last/`), metrics, wall time and (when trained in this process) the model."""

    stage: str
    label: str
    model_dir: Path
    metrics: dict
    seconds: float
    model: torch.nn.Module | None = None


def completed_stage(stage_dir: Path) -> bool:
    return (stage_dir / "complete.json").is_file()


def load_stage_result(stage_dir: Path, stage: str) -> StageResult:
    """The result a finished stage wrote (`complete.json`, `metrics.json`)."""
    complete = json.loads((stage_dir / "complete.json").read_text())
    metrics = json.loads((stage_dir / "metrics.json").read_text())
    return StageResult(stage, complete.get("label", stage), stage_dir / "last", metrics, complete["seconds"])


def finish_stage(
    accelerator: Accelerator, stage_dir: Path, history: dict, metrics: dict, *, label: str, start: float
) -> float:
    """Write the stage's metrics, curves and `complete.json`; returns the stage's wall time (the one recorded)."""
    seconds = time.time() - start
    if accelerator.is_main_process:
        atomic_write_json(stage_dir / "metrics.json", metrics)
        if history:
            save_curves_png(history, stage_dir / "curves.png", title=stage_dir.name)
        atomic_write_json(stage_dir / "complete.json", {"seconds": seconds, "label": label})
    accelerator.wait_for_everyone()
    return seconds


def processor_for(config: GladConfig, data_args: DataArguments) -> GladVideoProcessor:
    """The video processor saved beside a model: the run's clip grid and frame sizes."""
    return GladVideoProcessor(
        num_clips=config.num_clips,
        clip_len=config.clip_len,
        size={"shortest_edge": data_args.short_side},
        crop_size={"height": data_args.crop_size, "width": data_args.crop_size},
    )


def save_model(
    accelerator: Accelerator, model, data_args: DataArguments, folder: Path, card: dict, publisher=None
) -> None:
    """`save_pretrained` folder (float32 weights, processor, model card `card`), written by the main process and
    handed to `publisher` (a `hub_sync.HubPublisher`, or None)."""
    if accelerator.is_main_process:
        unwrapped = accelerator.unwrap_model(model)
        atomic_save_pretrained(unwrapped, processor_for(unwrapped.config, data_args), folder)
        write_model_card(folder, **card, input_size=(data_args.short_side, data_args.crop_size))
        if publisher is not None:
            publisher.model_saved(folder.parent, folder)
    accelerator.wait_for_everyone()


def save_confusion_matrix(metrics: dict, config: GladConfig, path: Path, title: str) -> Path:
    names = [config.id2label[i] for i in range(config.num_labels)]
    return save_confusion_matrix_png(np.asarray(metrics["confusion_matrix"]), names, path, title=title)


def model_id(train_args: GladTrainingArguments, stage_dir: Path) -> str:
    """The Hub id a card documents: --hub_model_id (stage 2) or a name from the output folder."""
    if train_args.hub_model_id:
        suffix = "" if stage_dir.name == "glad" else f"-{stage_dir.name}"
        return f"{train_args.hub_model_id}{suffix}"
    return f"{Path(train_args.output_dir).name}-{stage_dir.name}"


def config_summary(config: GladConfig) -> dict:
    """What a model card states about the architecture, read from the model's own config."""
    backbone = config.backbone_config
    return {
        "backbone_type": config.backbone_type,
        "backbone": backbone_description(config),
        "feature size": config.hidden_size,
        "views": f"local rows {list(config.local_clip_indices)}, global column {config.global_frame_index}",
        "num_clips": config.num_clips,
        "clip_len": config.clip_len,
        "local_clip_indices": list(config.local_clip_indices),
        "global_frame_index": config.global_frame_index,
        "classifier_dropout": config.classifier_dropout,
        "domain_hidden_size": config.domain_hidden_size,
        "domain_num_layers": config.domain_num_layers,
        "tol_hidden_size": config.tol_hidden_size,
        "domain_alignment": list(config.domain_alignment),
        "domain_loss_weight": config.domain_loss_weight,
        "test_view_aggregation": config.test_view_aggregation,
        "batch_norm_grouping": config.batch_norm_grouping,
        "id2label": config.id2label,
        **({"backbone depth": backbone.depth} if hasattr(backbone, "depth") else {}),
    }


def backbone_description(config: GladConfig) -> str:
    """The backbone as a card names it: family, depth, non-local blocks, feature size."""
    backbone = config.backbone_config
    depth = getattr(backbone, "depth", None)
    if config.backbone_type == "resnet3d":
        non_local = any(any(stage) for stage in getattr(backbone, "non_local", ()) or ())
        blocks = " with non-local blocks" if non_local else ""
        name = f"I3D ResNet3d-{depth}{blocks} (mmaction `ResNet3d`)"
    elif config.backbone_type == "tsm":
        name = f"TSM ResNet-{depth} (temporal shift)"
    else:
        name = f"`{config.backbone_type}` ({getattr(backbone, 'model_type', 'video encoder')})"
    return f"{name}, features average-pooled to {config.hidden_size}"


def selection_note(split: str) -> str:
    """How `best/` was chosen: on the target split the final scores are computed on as well."""
    note = f"best validation MCA on the target {split} split, checked after every epoch"
    if split == "test":
        note += " (as the reference does: selection on the test split, so its score is optimistic)"
    return note
