"""Stage 1 (SPEC §6): temporal-order learning on both domains — three clips per video in a random order, classify the
permutation. Its backbone is where stage 2 starts."""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
from accelerate import Accelerator

from ...data.transforms import finish_batch
from ...modeling_glad import GladForTemporalOrderLearning
from ..loop import TrainingPlan, train
from ..optim import stage_optimizer, step_decay_schedule
from ..outputs import StageResult, config_summary, finish_stage, model_id, save_model
from ..stage_datasets import EpochConcatDataset, class_names, dataset_name, temporal_order_datasets
from ..stage_models import build_config, load_model
from .context import StageContext


def evaluate_temporal_order_domains(model, loaders: dict, accelerator: Accelerator, seed: int) -> dict:
    """Clip-order accuracy on each domain's loader (`loaders` = {"source": …, "target": …}) and on both together:
    {"accuracy", "num_videos", "source_accuracy", "source_num_videos", "target_accuracy", …}."""
    per_domain = {
        domain: evaluate_temporal_order(model, loader, accelerator, seed)
        for domain, loader in loaders.items()
    }
    total = sum(m["num_videos"] for m in per_domain.values())
    metrics = {
        "accuracy": sum(m["accuracy"] * m["num_videos"] for m in per_domain.values()) / total
        if total
        else float("nan"),
        "num_videos": total,
    }
    for domain, m in per_domain.items():
        metrics.update({f"{domain}_accuracy": m["accuracy"], f"{domain}_num_videos": m["num_videos"]})
    return metrics


@torch.no_grad()
def evaluate_temporal_order(model, loader, accelerator: Accelerator, seed: int) -> dict:
    """Clip-order accuracy with permutations drawn from a fixed generator (comparable across runs)."""
    generator = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    correct = []
    for batch in loader:
        pixel_values = finish_batch(batch)["pixel_values"]
        num_orders = math.factorial(pixel_values.shape[1])
        permutation = torch.randint(num_orders, (pixel_values.shape[0],), generator=generator)
        out = model(pixel_values, permutation=permutation.to(pixel_values.device))
        hits = (out.logits.argmax(-1) == out.permutation).long()
        correct.append(accelerator.gather_for_metrics(hits).cpu())
    model.train(was_training)
    hits = torch.cat(correct) if correct else torch.zeros(0)
    return {
        "accuracy": float(hits.float().mean()) if hits.numel() else float("nan"),
        "num_videos": hits.numel(),
    }


def train_temporal_order_stage(context: StageContext, stage_dir: Path) -> StageResult:
    """Train TOL from --init_model; writes `last/` and the clip-order accuracy on both domains' test splits."""
    start = time.time()
    accelerator, domains, data_args = context.accelerator, context.domains, context.data_args
    model_args, train_args = context.model_args, context.train_args
    config = build_config(model_args, model_args.init_model, labels=class_names(domains))
    model = load_model(
        GladForTemporalOrderLearning,
        config,
        model_args.init_model,
        gradient_checkpointing=model_args.gradient_checkpointing,
    )
    num_processes = accelerator.num_processes

    def compute_loss(model, batch, progress):
        out = model(batch["pixel_values"])
        return out.loss, {"loss": out.loss, "accuracy": out.accuracy}

    def make_scheduler(optimizer, max_steps, steps_per_epoch):
        decay_steps = [epoch * steps_per_epoch for epoch in train_args.tol_lr_decay_epochs]
        return step_decay_schedule(optimizer, decay_steps, num_processes=num_processes)

    plan = TrainingPlan(
        name="tol",
        description="stage 1: TOL",
        model=model,
        optimizer=stage_optimizer(
            model,
            train_args,
            learning_rate=train_args.tol_learning_rate,
            backbone_lr_scale=train_args.tol_backbone_learning_rate_scale,
        ),
        make_scheduler=make_scheduler,
        train_dataset=EpochConcatDataset(
            list(temporal_order_datasets(domains, "train", config, data_args, train_args.seed).values())
        ),
        batch_size=train_args.tol_per_device_train_batch_size,
        compute_loss=compute_loss,
        num_epochs=train_args.tol_num_train_epochs,
        max_steps=train_args.tol_max_train_steps,
        eval_datasets=temporal_order_datasets(domains, "test", config, data_args, train_args.seed),
        eval_batch_size=train_args.per_device_eval_batch_size,
        on_checkpoint=context.publisher and context.publisher.checkpoint_saved,
    )
    trained = train(accelerator, plan, data_args, train_args, stage_dir, train_args.resume_from_checkpoint)
    progress = trained.progress
    metrics = evaluate_temporal_order_domains(
        trained.model, trained.eval_loaders, accelerator, train_args.seed
    )
    accelerator.log({f"tol/test_{k}": v for k, v in metrics.items()}, step=progress.global_step)
    summary = {
        "stage": "1: temporal-order learning (SPEC §6)",
        "optimizer steps": progress.global_step,
        "batch per device": train_args.tol_per_device_train_batch_size,
        "learning rate": train_args.tol_learning_rate,
        "backbone learning-rate scale": train_args.tol_backbone_learning_rate_scale,
        "seed": train_args.seed,
        "clip-order accuracy on the test splits (chance 1/6)": (
            f"{100 * metrics['accuracy']:.1f}% (source {100 * metrics['source_accuracy']:.1f}%, "
            f"target {100 * metrics['target_accuracy']:.1f}%)"
        ),
    }
    card = dict(
        model_id=model_id(train_args, stage_dir),
        dataset_name=dataset_name(data_args),
        training_summary=summary,
        config_summary=config_summary(config),
        base_model=model_args.init_model,
    )
    save_model(accelerator, trained.model, data_args, stage_dir / "last", card, context.publisher)
    metrics["steps"] = progress.global_step
    metrics["train_steps_per_second"] = trained.steps_per_second  # this process's steps
    label = "temporal-order learning"
    seconds = finish_stage(accelerator, stage_dir, progress.history, metrics, label=label, start=start)
    return StageResult(
        "tol", label, stage_dir / "last", metrics, seconds, accelerator.unwrap_model(trained.model)
    )
