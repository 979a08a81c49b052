"""Optimisers and schedules of SPEC §7."""

from __future__ import annotations

import torch
from torch import nn


def glad_parameter_groups(model: nn.Module, learning_rate: float, weight_decay: float) -> list[dict]:
    """TSM-style groups (SPEC §7): weights at lr with weight decay; biases at 2x lr without decay; norm parameters
    without decay; the video classifier's last linear layer: weight 5x lr, bias 10x lr (both with decay as weights,
    none for the bias)."""
    head = {id(p): name for name, p in model.classifier.fc.named_parameters()}
    groups = {
        "weights": dict(params=[], lr=learning_rate, weight_decay=weight_decay),
        "biases": dict(params=[], lr=2 * learning_rate, weight_decay=0.0),
        "norms": dict(params=[], lr=learning_rate, weight_decay=0.0),
        "head_weight": dict(params=[], lr=5 * learning_rate, weight_decay=weight_decay),
        "head_bias": dict(params=[], lr=10 * learning_rate, weight_decay=0.0),
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


def make_sgd(parameter_groups, momentum: float) -> torch.optim.SGD:
    """SGD with momentum; each group's `lr` is its base learning rate."""
    return torch.optim.SGD(parameter_groups, lr=parameter_groups[0]["lr"], momentum=momentum)


def step_decay_schedule(optimizer, decay_steps: list[int], gamma: float = 0.1):
    """Multiply every group's learning rate by `gamma` at each optimiser step in `decay_steps` (empty = constant)."""
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=sorted(decay_steps), gamma=gamma)
