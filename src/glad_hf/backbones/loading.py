"""Helpers for backbones that wrap a foreign network (torchvision, transformers) whose weights or initialisation
must survive GLAD's `post_init`."""

from __future__ import annotations

import torch
from torch import nn


def building_on_meta_device() -> bool:
    """True inside `from_pretrained`, which builds the model on the meta device and then reads the GLAD checkpoint:
    a backbone must not fetch its pretrained weights there."""
    return torch.empty(0).device.type == "meta"


def mark_as_initialised(module: nn.Module) -> None:
    """Flag every parameter and buffer so that transformers' weight initialisation (it skips tensors flagged
    `_is_hf_initialized`) keeps their values: a foreign network's own initialisation or loaded weights stand."""
    for tensor in (*module.parameters(), *module.buffers()):
        tensor._is_hf_initialized = True
