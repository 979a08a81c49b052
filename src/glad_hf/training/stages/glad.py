"""Stage 2 (SPEC §3-§5, §7): GLAD — source clips with labels, target clips through the same network, the domain
classifiers behind gradient reversal, BackgroundBlend on the source. The same stage, with its switches off, is every
other method of the comparison (source-only, DANN, ...: `glad_hf.training.experiments.METHODS`)."""

from __future__ import annotations

import math
import time
from pathlib import Path

from ...modeling_glad import GladForVideoClassification
from ..arguments import GladTrainingArguments
from ..evaluation import classification_metrics, predict
from ..loop import TrainingPlan, train
from ..optim import stage_optimizer, stage_schedule
from ..outputs import (
    StageResult,
    config_summary,
    finish_stage,
    model_id,
    save_confusion_matrix,
    save_model,
    selection_note,
)
from ..stage_datasets import class_names, dataset_name, evaluation_dataset, glad_train_dataset
from ..stage_models import build_config, load_model
from .context import StageContext


def grl_ramp(schedule: str, progress: float) -> float:
    """Multiplier of the gradient-reversal factor at training progress `progress` in [0, 1]: 1 ("constant") or
    DANN's 2 / (1 + exp(-10 p)) - 1 ("dann", Ganin & Lempitsky 2015), from 0 to ~1."""
    if schedule == "constant":
        return 1.0
    if schedule == "dann":
        return 2.0 / (1.0 + math.exp(-10.0 * min(max(progress, 0.0), 1.0))) - 1.0
    raise ValueError(f"grl_lambda_schedule must be 'constant' or 'dann', got {schedule!r}")


def train_glad_stage(context: StageContext, stage_dir: Path, *, init: str | None, label: str) -> StageResult:
    """Train from `init`; validate on the target each epoch with --evaluate_every_epoch (`best/`); score the last
    model (`last/`, the headline) on the target and source test splits."""
    start = time.time()
    accelerator, domains, data_args = context.accelerator, context.domains, context.data_args
    model_args, train_args = context.model_args, context.train_args
    config = build_config(model_args, init, labels=class_names(domains))
    model = load_model(
        GladForVideoClassification, config, init, gradient_checkpointing=model_args.gradient_checkpointing
    )
    num_processes = accelerator.num_processes
    card_base = dict(
        model_id=model_id(train_args, stage_dir),
        dataset_name=dataset_name(data_args),
        base_model=init,
        config_summary=config_summary(config),
    )

    def compute_loss(model, batch, progress):
        ramp = grl_ramp(train_args.grl_lambda_schedule, progress.global_step / progress.max_steps)
        grl_lambda = config.grl_lambda * ramp
        out = model(
            batch["pixel_values"],
            labels=batch["labels"],
            target_pixel_values=batch.get("target_pixel_values"),
            grl_lambda=grl_lambda,
        )
        values = {"loss": out.loss, "classification_loss": out.classification_loss}
        if config.domain_alignment:
            values["grl_lambda"] = grl_lambda
        values.update({f"domain_loss_{k}": v for k, v in (out.domain_losses or {}).items()})
        values.update({f"domain_accuracy_{k}": v for k, v in (out.domain_accuracies or {}).items()})
        return out.loss, values

    def make_scheduler(optimizer, steps, steps_per_epoch):
        return stage_schedule(optimizer, train_args.lr_scheduler_type, steps, num_processes)

    def validate(model, eval_loaders, progress):
        scores, labels = predict(model, eval_loaders["target"], accelerator, "validation")
        metrics = classification_metrics(scores, labels, config.num_labels)
        progress.record("eval/mean_class_accuracy", metrics["mean_class_accuracy"])
        accelerator.log(
            {f"{stage_dir.name}/val_mca": metrics["mean_class_accuracy"]}, step=progress.global_step
        )
        if metrics["mean_class_accuracy"] > progress.best_metric:
            progress.best_metric = metrics["mean_class_accuracy"]
            summary = training_summary(
                train_args, progress, label, selected_by=selection_note(train_args.eval_split)
            )
            card = dict(
                card_base, eval_results=dict(metrics, split=train_args.eval_split), training_summary=summary
            )
            save_model(accelerator, model, data_args, stage_dir / "best", card, context.publisher)

    plan = TrainingPlan(
        name=stage_dir.name,
        description=f"stage 2: {label}",
        model=model,
        optimizer=stage_optimizer(
            model,
            train_args,
            learning_rate=train_args.learning_rate,
            backbone_lr_scale=train_args.backbone_learning_rate_scale,
        ),
        make_scheduler=make_scheduler,
        train_dataset=glad_train_dataset(
            domains, config, data_args, train_args, forward_target=model_args.forward_target
        ),
        batch_size=train_args.per_device_train_batch_size,
        compute_loss=compute_loss,
        num_epochs=train_args.num_train_epochs,
        max_steps=train_args.max_train_steps,
        eval_datasets={
            "target": evaluation_dataset(domains["target"][train_args.eval_split], config, data_args),
            "source": evaluation_dataset(domains["source"]["test"], config, data_args),
        },
        eval_batch_size=train_args.per_device_eval_batch_size,
        on_checkpoint=context.publisher and context.publisher.checkpoint_saved,
        validate=validate if train_args.evaluate_every_epoch else None,
    )
    trained = train(accelerator, plan, data_args, train_args, stage_dir, train_args.resume_from_checkpoint)
    progress = trained.progress

    scores = {
        domain: classification_metrics(
            *predict(trained.model, loader, accelerator, f"{domain} test"), config.num_labels
        )
        for domain, loader in trained.eval_loaders.items()
    }
    metrics = {
        **scores,
        "steps": progress.global_step,
        "method": label,
        "skipped_steps": progress.skipped_steps,
        "train_steps_per_second": trained.steps_per_second,  # this process's steps (a resumed run: since resuming)
    }
    if train_args.evaluate_every_epoch:
        metrics["best"] = {
            "model_dir": str(stage_dir / "best"),
            "validation_mean_class_accuracy": progress.best_metric,
            "selected_by": selection_note(train_args.eval_split),
        }
    accelerator.log(
        {f"{stage_dir.name}/{domain}_mca": m["mean_class_accuracy"] for domain, m in scores.items()},
        step=progress.global_step,
    )
    summary = training_summary(train_args, progress, label, selected_by="the last model (no selection)")
    card = dict(
        card_base, eval_results=dict(scores["target"], split=train_args.eval_split), training_summary=summary
    )
    save_model(accelerator, trained.model, data_args, stage_dir / "last", card, context.publisher)
    if accelerator.is_main_process:
        title = f"{label}: target {train_args.eval_split}, MCA {100 * scores['target']['mean_class_accuracy']:.1f}"
        save_confusion_matrix(scores["target"], config, stage_dir / "confusion_matrix.png", title)
    seconds = finish_stage(accelerator, stage_dir, progress.history, metrics, label=label, start=start)
    model = accelerator.unwrap_model(trained.model)
    return StageResult(stage_dir.name, label, stage_dir / "last", metrics, seconds, model)


def training_summary(train_args: GladTrainingArguments, progress, label: str, *, selected_by: str) -> dict:
    return {
        "stage": f"2: {label}",
        "model": selected_by,
        "optimizer steps": progress.global_step,
        "epochs completed": progress.epoch,
        "batch per device": f"{train_args.per_device_train_batch_size} source + "
        f"{train_args.per_device_train_batch_size} target",
        "learning rate": train_args.learning_rate,
        "background blend": train_args.background_blend,
        "seed": train_args.seed,
    }
