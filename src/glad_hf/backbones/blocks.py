"""Residual building blocks shared by the ResNet backbones (I3D `resnet3d.py`, TSM `tsm.py`), the way torchvision's
video ResNet (`torchvision/models/video/resnet.py`) shares `BasicBlock` / `Bottleneck` between its networks.

One block definition serves both families: kernels and strides are written as (T, H, W) and a 2D network
(`dims=2`, TSM) runs every frame as an image, so its blocks must have temporal kernel and stride 1 and drop the T.
The two families' temporal steps are injected, as torchvision injects its `conv_builder`: TSM's parameter-free shift
of the residual branch's input (`shift`), I3D's non-local block after the residual sum (`non_local`). A network is a
table of `BlockSpec` rows per stage, turned into layers by `make_stages`. Module names follow mmaction's checkpoint
layout (`conv1.conv`, `conv1.bn`, `layer{L}.{b}.conv{n}`, `downsample`, `non_local`); the converter relies on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from transformers.modeling_layers import GradientCheckpointingLayer

_CONV = {2: nn.Conv2d, 3: nn.Conv3d}
_NORM = {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}


def _per_frame(value, name: str):
    """A (T, H, W) kernel / stride / padding as a 2D conv takes it: (H, W); T must be neutral (1, or 0 for padding)."""
    if isinstance(value, int):
        return value
    if value[0] != (0 if name == "padding" else 1):
        raise ValueError(
            f"a 2D (per-frame) conv cannot have a temporal {name} of {value[0]} (got {tuple(value)})"
        )
    return tuple(value[1:])


class ConvBnAct(nn.Module):
    """Bias-free conv -> batch norm -> optional ReLU, in 2 or 3 dimensions (`dims`); kernel, stride and padding are
    ints or (T, H, W) (a 2D conv drops the T, which must be neutral). [N, C_in, (T,) H, W] -> [N, C_out, (T',) H', W'].
    `config` gives `norm_eps` and `norm_momentum`."""

    def __init__(
        self, in_channels, out_channels, kernel_size, stride=1, padding=0, *, dims: int, act=True, config
    ):
        super().__init__()
        if dims == 2:
            kernel_size, stride = _per_frame(kernel_size, "kernel"), _per_frame(stride, "stride")
            padding = _per_frame(padding, "padding")
        self.conv = _CONV[dims](in_channels, out_channels, kernel_size, stride, padding, bias=False)
        self.bn = _NORM[dims](out_channels, eps=config.norm_eps, momentum=config.norm_momentum)
        self.act = nn.ReLU(inplace=True) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


def downsample(
    in_channels: int, out_channels: int, stride: tuple[int, int, int], *, dims: int, config
) -> ConvBnAct | None:
    """The shortcut: a strided 1x1(x1) conv + BN when the residual changes shape (mmaction's rule), else None
    (identity). `stride` is (T, H, W)."""
    if in_channels == out_channels and stride == (1, 1, 1):
        return None
    return ConvBnAct(in_channels, out_channels, 1, stride, dims=dims, act=False, config=config)


@dataclass(frozen=True)
class BlockSpec:
    """One row of a network's block table.

    spatial_stride / temporal_stride: the block's strides (the first block of a stage downsamples).
    temporal_kernel: 3 for an I3D "inflated" block (first conv 3x1x1 in a bottleneck, 3x3x3 in a basic block), else 1.
    shift: TSM's temporal shift on the residual branch's input.
    non_local: I3D's non-local block after the block.
    """

    spatial_stride: int = 1
    temporal_stride: int = 1
    temporal_kernel: int = 1
    shift: bool = False
    non_local: bool = False


class _ResidualBlock(GradientCheckpointingLayer):
    """out = non_local(ReLU(branch(shift(x)) + shortcut(x))); `shift` and `non_local` are optional. A subclass
    builds its convs in `_add_branch`; the shortcut, `shift()` and `non_local(out_channels)` come after them (the
    order of mmaction's checkpoints and of its random initialisation)."""

    expansion: int

    def __init__(
        self,
        in_channels: int,
        planes: int,
        spec: BlockSpec,
        *,
        dims: int,
        config,
        shift: Callable[[], nn.Module] | None = None,
        non_local: Callable[[int], nn.Module] | None = None,
    ):
        super().__init__()
        out_channels = planes * self.expansion
        self._add_branch(in_channels, planes, spec, dims=dims, config=config)
        stride = (spec.temporal_stride, spec.spatial_stride, spec.spatial_stride)
        self.downsample = downsample(in_channels, out_channels, stride, dims=dims, config=config)
        self.relu = nn.ReLU(inplace=True)
        self.shift = None if shift is None else shift()
        self.non_local = None if non_local is None else non_local(out_channels)

    def _add_branch(self, in_channels: int, planes: int, spec: BlockSpec, *, dims: int, config) -> None:
        raise NotImplementedError

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        residual = x if self.shift is None else self.shift(x)
        out = self.relu(self.branch(residual) + identity)
        return out if self.non_local is None else self.non_local(out)


class BasicBlock(_ResidualBlock):
    """Two convs (depths 18/34): (t)x3x3 with the block's strides -> 1x3x3, t = `spec.temporal_kernel`."""

    expansion = 1

    def _add_branch(self, in_channels, planes, spec, *, dims, config):
        t, s = spec.temporal_kernel, spec.spatial_stride
        stride = (spec.temporal_stride, s, s)
        self.conv1 = ConvBnAct(
            in_channels, planes, (t, 3, 3), stride, (t // 2, 1, 1), dims=dims, config=config
        )
        self.conv2 = ConvBnAct(planes, planes, (1, 3, 3), 1, (0, 1, 1), dims=dims, act=False, config=config)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x))


class Bottleneck(_ResidualBlock):
    """(t)x1x1 (temporal stride) -> 1x3x3 (spatial stride, pytorch style) -> 1x1x1 to 4 * planes (depths 50/101),
    t = `spec.temporal_kernel`."""

    expansion = 4

    def _add_branch(self, in_channels, planes, spec, *, dims, config):
        t, s = spec.temporal_kernel, spec.spatial_stride
        self.conv1 = ConvBnAct(
            in_channels,
            planes,
            (t, 1, 1),
            (spec.temporal_stride, 1, 1),
            (t // 2, 0, 0),
            dims=dims,
            config=config,
        )
        self.conv2 = ConvBnAct(planes, planes, (1, 3, 3), (1, s, s), (0, 1, 1), dims=dims, config=config)
        self.conv3 = ConvBnAct(planes, planes * self.expansion, 1, dims=dims, act=False, config=config)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.conv2(self.conv1(x)))


def residual_block(depth: int) -> type[_ResidualBlock]:
    """The block of a ResNet depth: basic below 50, bottleneck from 50."""
    return BasicBlock if depth < 50 else Bottleneck


def make_stages(
    table: list[list[BlockSpec]],
    *,
    dims: int,
    config,
    shift: Callable[[], nn.Module] | None = None,
    non_local: Callable[[int], nn.Module] | None = None,
) -> tuple[nn.ModuleList, int]:
    """The stages of a ResNet from its block table (one list of `BlockSpec` per stage), as torchvision's
    `VideoResNet._make_layer`. `config` gives the block (`residual_block(config.depth)`) and the widths: the stem's
    output `base_channels` enters stage 0, stage i has `base_channels * 2**i` planes. `shift()` builds a block's
    shift and `non_local(channels)` its non-local module, in the blocks whose row asks for one.
    Returns (layers, output channels)."""
    block = residual_block(config.depth)
    in_channels = config.base_channels
    layers = nn.ModuleList()
    for stage, specs in enumerate(table):
        planes = config.base_channels * 2**stage
        blocks = []
        for spec in specs:
            if (spec.shift and shift is None) or (spec.non_local and non_local is None):
                raise ValueError(f"block table row {spec} asks for a module this network does not build")
            blocks.append(
                block(
                    in_channels,
                    planes,
                    spec,
                    dims=dims,
                    config=config,
                    shift=shift if spec.shift else None,
                    non_local=non_local if spec.non_local else None,
                )
            )
            in_channels = planes * block.expansion
        layers.append(nn.Sequential(*blocks))
    return layers, in_channels
