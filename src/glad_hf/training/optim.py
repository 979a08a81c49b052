"""Optimisers and schedules of SPEC §7."""

from __future__ import annotations

import torch
from torch import nn
from transformers import get_scheduler

# The normalisation layers whose parameters get no weight decay (torch's common base class of the batch and instance
# norms is private, so they are named).
NORM_LAYERS = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
    nn.GroupNorm,
    nn.LayerNorm,
)


def glad_parameter_groups(
    model: nn.Module,
    learning_rate: float,
    weight_decay: float,
    lr_multipliers: bool = True,
    backbone_lr_scale: float = 1.0,
) -> list[dict]:
    """TSM-style groups (SPEC §7): weights at lr with weight decay; biases at 2x lr without decay; norm parameters
    without decay; the video classifier's last linear layer (when the model has one): weight 5x lr, bias 10x lr.
    `lr_multipliers=False` keeps the weight-decay rules but one learning rate (for AdamW). The backbone's groups
    (`backbone_*`) have their learning rate times `backbone_lr_scale` (fine-tuning a pre-trained backbone)."""
    head_layer = getattr(getattr(model, "classifier", None), "fc", None)
    head = {id(p): name for name, p in head_layer.named_parameters()} if head_layer is not None else {}
    scale = (lambda factor: factor * learning_rate) if lr_multipliers else (lambda factor: learning_rate)
    groups = {
        "weights": dict(params=[], lr=learning_rate, weight_decay=weight_decay),
        "biases": dict(params=[], lr=scale(2), weight_decay=0.0),
        "norms": dict(params=[], lr=learning_rate, weight_decay=0.0),
        "head_weight": dict(params=[], lr=scale(5), weight_decay=weight_decay),
        "head_bias": dict(params=[], lr=scale(10), weight_decay=0.0),
    }
    for kind in ("weights", "biases", "norms"):
        groups[f"backbone_{kind}"] = dict(groups[kind], params=[], lr=groups[kind]["lr"] * backbone_lr_scale)
    backbone = getattr(getattr(model, "glad", None), "backbone", None)
    backbone_parameters = {id(p) for p in backbone.parameters()} if backbone is not None else set()
    norm_parameters = {
        id(p)
        for module in model.modules()
        if isinstance(module, NORM_LAYERS)
        for p in module.parameters(recurse=False)
    }
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        if id(parameter) in head:
            key = "head_weight" if head[id(parameter)] == "weight" else "head_bias"
        elif id(parameter) in norm_parameters:
            key = "norms"
        elif name.endswith("bias"):
            key = "biases"
        else:
            key = "weights"
        if id(parameter) in backbone_parameters:
            key = f"backbone_{key}"
        groups[key]["params"].append(parameter)
    return [dict(group, name=name) for name, group in groups.items() if group["params"]]


def make_optimizer(
    model: nn.Module,
    name: str,
    *,
    learning_rate: float,
    weight_decay: float,
    momentum: float | None = None,
    backbone_lr_scale: float = 1.0,
) -> torch.optim.Optimizer:
    """The paper's SGD (with `momentum`, the TSM-style groups with their learning-rate multipliers), or AdamW with the
    same weight-decay groups and one learning rate (the synthetic recipe: tiny networks on short budgets, which SGD at
    the paper's settings does not move off the class prior from scratch, while AdamW does). AdamW takes no momentum."""
    if name == "sgd":
        if momentum is None:
            raise ValueError("the SGD optimizer needs a momentum")
        groups = glad_parameter_groups(
            model, learning_rate, weight_decay, backbone_lr_scale=backbone_lr_scale
        )
        return torch.optim.SGD(groups, lr=learning_rate, momentum=momentum)
    if name == "adamw":
        if momentum is not None:
            raise ValueError(f"AdamW has no momentum setting (got momentum={momentum}); momentum is SGD's")
        groups = glad_parameter_groups(
            model, learning_rate, weight_decay, lr_multipliers=False, backbone_lr_scale=backbone_lr_scale
        )
        return torch.optim.AdamW(groups, lr=learning_rate)
    raise ValueError(f"optimizer must be 'sgd' or 'adamw', got {name!r}")


def stage_optimizer(
    model: nn.Module, train_args, *, learning_rate: float, backbone_lr_scale: float
) -> torch.optim.Optimizer:
    """A stage's optimiser as --optimizer names it, with --weight_decay, and --momentum where it applies (SGD)."""
    return make_optimizer(
        model,
        train_args.optimizer,
        learning_rate=learning_rate,
        weight_decay=train_args.weight_decay,
        momentum=train_args.momentum if train_args.optimizer == "sgd" else None,
        backbone_lr_scale=backbone_lr_scale,
    )


# Schedules count scheduler steps. Once prepared by Accelerate, a scheduler steps once per process at every
# optimiser step (without `split_batches`), so these take `num_processes` and scale their step counts by it.


def step_decay_schedule(optimizer, decay_steps: list[int], gamma: float = 0.1, num_processes: int = 1):
    """Multiply every group's learning rate by `gamma` at each optimiser step in `decay_steps` (empty = constant)."""
    milestones = sorted(step * num_processes for step in decay_steps)
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=gamma)


def stage_schedule(optimizer, name: str, num_training_steps: int, num_processes: int = 1):
    """Stage 2: "constant" (SPEC §7) or "cosine" from each group's learning rate to 0 over `num_training_steps`."""
    if name == "constant":
        return step_decay_schedule(optimizer, [])
    if name == "cosine":
        return get_scheduler(
            "cosine", optimizer, num_warmup_steps=0, num_training_steps=num_training_steps * num_processes
        )
    raise ValueError(f"lr scheduler must be 'constant' or 'cosine', got {name!r}")


def one_cycle_schedule(optimizer, num_training_steps: int, num_processes: int = 1):
    """Motion pre-training: one cycle up to each group's learning rate and down (Smith & Topin)."""
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=[group["lr"] for group in optimizer.param_groups],
        total_steps=num_training_steps * num_processes,
    )
