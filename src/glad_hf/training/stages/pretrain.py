"""Stage 0, synthetic dataset only: supervised pre-training on synthetic motions that are none of the classes
(`glad_hf.data.synthetic_motions`), the stand-in for the paper's Kinetics I3D. AdamW on a one-cycle schedule. Trained
once per recipe into `<cache>/pretrained/synthetic-motions-<recipe hash>` and reused by every later run."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from accelerate.logging import get_logger
from accelerate.utils import set_seed

from ...data import SyntheticMotionConfig
from ...modeling_glad import GladForVideoClassification
from ..arguments import DataArguments, GladTrainingArguments, ModelArguments
from ..evaluation import classification_metrics, predict
from ..loop import TrainingPlan, train
from ..optim import make_optimizer, one_cycle_schedule
from ..outputs import (
    StageResult,
    completed_stage,
    config_summary,
    finish_stage,
    load_stage_result,
    model_id,
    save_model,
)
from ..stage_datasets import glad_cache_dir, motion_pretraining_config, motion_pretraining_datasets
from ..stage_models import build_config
from .context import StageContext

logger = get_logger(__name__)

# Bump when the motion pre-training recipe changes, so that cached models of the old recipe are not reused.
MOTION_PRETRAINING_VERSION = 2  # 2: the batch is global, the folder independent of the process count


def _motion_config(data_args: DataArguments, train_args: GladTrainingArguments) -> SyntheticMotionConfig:
    return motion_pretraining_config(data_args, train_args.pretrain_num_videos)


def motion_pretraining_dir(
    data_args: DataArguments, model_args: ModelArguments, train_args: GladTrainingArguments
) -> Path:
    """The cache folder of one pre-training recipe: `<cache>/pretrained/synthetic-motions-<content hash>`, the hash
    of everything that defines the recipe (motions, architecture, optimisation with its global batch, input size,
    seed) and not how many processes ran it. The synthetic root must exist (`load_domains` generates it)."""
    recipe = {
        "version": MOTION_PRETRAINING_VERSION,
        "motions": _motion_config(data_args, train_args).config_hash(),
        "model": _architecture(model_args),
        "steps": train_args.pretrain_max_train_steps,
        "batch": train_args.pretrain_batch_size,
        "learning_rate": train_args.pretrain_learning_rate,
        "weight_decay": train_args.weight_decay,
        "max_grad_norm": train_args.max_grad_norm,
        "seed": train_args.seed,
        "input": [data_args.short_side, data_args.crop_size],
    }
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
    return glad_cache_dir() / "pretrained" / f"synthetic-motions-{digest}"


def _architecture(model_args: ModelArguments) -> dict:
    """The run's model configuration without what does not shape the network (versions, stage-2 switches)."""
    config = build_config(model_args, None).to_dict()
    for key in ("transformers_version", "domain_alignment", "grl_lambda", "domain_loss_weight"):
        config.pop(key, None)
    return config


def pretrain_on_motions(context: StageContext, stage_dir: Path) -> StageResult:
    """The motion-pretrained model of this recipe (`stage_dir`, its cache folder): reused when it exists, trained (or
    an interrupted training resumed) there otherwise."""
    if completed_stage(stage_dir):
        logger.info(f"motion pre-training: reusing {stage_dir}", main_process_only=True)
        return load_stage_result(stage_dir, "pretrain")
    train_args = context.train_args
    logger.warning(
        f"stage 0: the motion pre-training of this recipe is not cached yet, so it is trained once now: "
        f"{train_args.pretrain_max_train_steps} steps x {train_args.pretrain_batch_size} videos (the default recipe "
        "took about 2 min on a 2-core CPU; the progress bar shows the time left), into "
        f"{stage_dir}, which every later run reuses. To skip it: --motion_pretraining false (random initialisation) or "
        "a shorter --pretrain_max_train_steps (another recipe, another cache folder).",
        main_process_only=True,
    )
    set_seed(train_args.seed)
    return train_motion_pretraining_stage(context, stage_dir)


def per_device_batch_size(global_batch_size: int, num_processes: int) -> int:
    """The per-process share of the pre-training batch, which is global so that the recipe (and its cache folder)
    is the same however many processes run it."""
    if global_batch_size % num_processes:
        raise ValueError(
            f"--pretrain_batch_size {global_batch_size} (the global batch) must be divisible by the number of "
            f"processes, {num_processes}"
        )
    return global_batch_size // num_processes


def train_motion_pretraining_stage(context: StageContext, stage_dir: Path) -> StageResult:
    """The run's architecture with one class per motion, trained `pretrain_max_train_steps` steps (resuming from its
    own checkpoints); writes `last/` and the validation accuracy."""
    start = time.time()
    accelerator, data_args, train_args = context.accelerator, context.data_args, context.train_args
    motion_config = _motion_config(data_args, train_args)
    motions = dict(enumerate(motion_config.motions))
    config = build_config(
        context.model_args,
        None,
        domain_alignment=(),
        id2label=motions,
        label2id={m: i for i, m in motions.items()},
    )
    model = GladForVideoClassification(config)
    train_set, val_set = motion_pretraining_datasets(motion_config, config, data_args, train_args.seed)
    num_processes = accelerator.num_processes

    def compute_loss(model, batch, progress):
        out = model(batch["pixel_values"], labels=batch["labels"])
        return out.loss, {"loss": out.loss}

    plan = TrainingPlan(
        name="pretrain",
        description="stage 0: motion pre-training",
        model=model,
        optimizer=make_optimizer(
            model,
            "adamw",
            learning_rate=train_args.pretrain_learning_rate,
            weight_decay=train_args.weight_decay,
        ),
        make_scheduler=lambda optimizer, steps, _: one_cycle_schedule(optimizer, steps, num_processes),
        train_dataset=train_set,
        batch_size=per_device_batch_size(train_args.pretrain_batch_size, num_processes),
        compute_loss=compute_loss,
        num_epochs=None,
        max_steps=train_args.pretrain_max_train_steps,
        eval_datasets={"validation": val_set},
        eval_batch_size=train_args.per_device_eval_batch_size,
    )
    trained = train(accelerator, plan, data_args, train_args, stage_dir, resume="latest")
    scores, labels = predict(
        trained.model, trained.eval_loaders["validation"], accelerator, "motion validation"
    )
    metrics = classification_metrics(scores, labels, config.num_labels)
    metrics.update(steps=trained.progress.global_step, motions=list(motion_config.motions))
    summary = {
        "stage": "0: supervised pre-training on synthetic motions (stand-in for Kinetics)",
        "motions": ", ".join(motion_config.motions),
        "training videos": motion_config.num_train_videos,
        "optimizer steps": trained.progress.global_step,
        "global batch": train_args.pretrain_batch_size,
        "peak learning rate (one cycle)": train_args.pretrain_learning_rate,
        "validation accuracy": f"{100 * metrics['top1_accuracy']:.1f}%",
    }
    card = dict(
        model_id=model_id(train_args, stage_dir),
        dataset_name="synthetic motions",
        training_summary=summary,
        config_summary=config_summary(config),
    )
    save_model(accelerator, trained.model, data_args, stage_dir / "last", card)
    label = "motion pre-training"
    seconds = finish_stage(
        accelerator, stage_dir, trained.progress.history, metrics, label=label, start=start
    )
    model = accelerator.unwrap_model(trained.model)
    return StageResult("pretrain", label, stage_dir / "last", metrics, seconds, model)
