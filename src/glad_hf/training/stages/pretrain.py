"""Stage 0, synthetic dataset only: supervised pre-training on synthetic motions that are none of the classes
(`glad_hf.data.synthetic_motions`), the stand-in for the paper's Kinetics I3D. AdamW on a one-cycle schedule."""

from __future__ import annotations

import time
from pathlib import Path

from accelerate import Accelerator

from ...data import SyntheticMotionConfig
from ...modeling_glad import GladForVideoClassification
from ..arguments import DataArguments, GladTrainingArguments, ModelArguments
from ..evaluation import classification_metrics, predict
from ..loop import TrainingPlan, train
from ..optim import make_optimizer, one_cycle_schedule
from ..outputs import StageResult, config_summary, finish_stage, model_id, save_model
from ..stage_datasets import motion_pretraining_datasets
from ..stage_models import build_config


def per_device_batch_size(global_batch_size: int, num_processes: int) -> int:
    """The per-process share of the pre-training batch, which is global so that the recipe (and its cache folder)
    is the same however many processes run it."""
    if global_batch_size % num_processes:
        raise ValueError(
            f"--pretrain_batch_size {global_batch_size} (the global batch) must be divisible by the number of "
            f"processes, {num_processes}"
        )
    return global_batch_size // num_processes


def train_motion_pretraining_stage(
    accelerator: Accelerator,
    motion_config: SyntheticMotionConfig,
    data_args: DataArguments,
    model_args: ModelArguments,
    train_args: GladTrainingArguments,
    stage_dir: Path,
) -> StageResult:
    """The run's architecture with one class per motion, trained `pretrain_max_train_steps` steps (resuming from its
    own checkpoints); writes `last/` and the validation accuracy."""
    start = time.time()
    motions = dict(enumerate(motion_config.motions))
    config = build_config(
        model_args, None, domain_alignment=(), id2label=motions, label2id={m: i for i, m in motions.items()}
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
