"""Optimisers and schedules of SPEC §7."""

from __future__ import annotations

import torch
from torch import nn


def glad_parameter_groups(
    model: nn.Module, learning_rate: float, weight_decay: float, lr_multipliers: bool = True
) -> list[dict]:
    """TSM-style groups (SPEC §7): weights at lr with weight decay; biases at 2x lr without decay; norm parameters
    without decay; the video classifier's last linear layer (when the model has one): weight 5x lr, bias 10x lr.
    `lr_multipliers=False` keeps the weight-decay rules but one learning rate (for AdamW)."""
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
    norm_parameters = {
        id(p)
        for module in model.modules()
        if isinstance(module, nn.modules.batchnorm._NormBase | nn.GroupNorm | nn.LayerNorm)
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
        groups[key]["params"].append(parameter)
    return [dict(group, name=name) for name, group in groups.items() if group["params"]]


def make_optimizer(
    model: nn.Module, name: str, learning_rate: float, weight_decay: float, momentum: float
) -> torch.optim.Optimizer:
    """The paper's SGD (momentum, the TSM-style groups with their learning-rate multipliers), or AdamW with the same
    weight-decay groups and one learning rate: the synthetic demo trains tiny networks from scratch, which SGD at
    these settings does not move off the class prior within its budget, while AdamW does."""
    if name == "sgd":
        return torch.optim.SGD(
            glad_parameter_groups(model, learning_rate, weight_decay), lr=learning_rate, momentum=momentum
        )
    if name == "adamw":
        groups = glad_parameter_groups(model, learning_rate, weight_decay, lr_multipliers=False)
        return torch.optim.AdamW(groups, lr=learning_rate)
    raise ValueError(f"optimizer must be 'sgd' or 'adamw', got {name!r}")


def step_decay_schedule(optimizer, decay_steps: list[int], gamma: float = 0.1):
    """Multiply every group's learning rate by `gamma` at each optimiser step in `decay_steps` (empty = constant)."""
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=sorted(decay_steps), gamma=gamma)
