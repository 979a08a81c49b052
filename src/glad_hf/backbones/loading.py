"""Helpers for backbones that wrap a foreign network (torchvision, transformers) whose weights or initialisation
must survive GLAD's `post_init`."""

from __future__ import annotations

import torch
from torch import nn


def building_on_meta_device() -> bool:
    """True inside `from_pretrained`, which builds the model on the meta device and then reads the GLAD checkpoint:
    a backbone must not fetch its pretrained weights there."""
    return torch.empty(0).device.type == "meta"


def keep_own_initialisation(network: nn.Module) -> None:
    """Mark every module of a foreign network so that `GladPreTrainedModel._init_weights` leaves it as it is: the
    network's own initialisation, or the weights loaded into it, stand."""
    for module in network.modules():
        module.glad_keeps_own_initialisation = True


def keeps_own_initialisation(module: nn.Module) -> bool:
    """Whether `module` belongs to a network marked by `keep_own_initialisation`."""
    return getattr(module, "glad_keeps_own_initialisation", False)
