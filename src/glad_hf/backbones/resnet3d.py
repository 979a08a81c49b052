"""I3D ResNet3d with non-local blocks, exactly as mmaction2 0.x's `ResNet3d` computes it (SPEC §4a).

Built from a block table like torchvision's video ResNet: `ResNet3dConfig.stage_blocks` gives blocks per stage,
`inflate` / `non_local` give per-block flags. Module names follow mmaction's checkpoint layout where it reads
well (`conv1.conv`, `conv1.bn`, `layer{L}.{b}.conv{n}`, `downsample`), so conversion is a short, explicit table.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers.modeling_layers import GradientCheckpointingLayer

from .configuration_resnet3d import ResNet3dConfig


class ConvBnAct3d(nn.Module):
    """Bias-free Conv3d -> BatchNorm3d -> optional ReLU. [B, C_in, T, H, W] -> [B, C_out, T', H', W']."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, *, act=True, config):
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
        self.bn = nn.BatchNorm3d(out_channels, eps=config.norm_eps, momentum=config.norm_momentum)
        self.act = nn.ReLU(inplace=True) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class NonLocalBlock3d(nn.Module):
    """Embedded dot-product non-local block (Wang et al. 2018) as mmaction's `NonLocal3d(mode="dot_product")`.

    attention = query^T key / (number of key positions), no softmax, no sqrt(d) scaling; keys and values are
    spatially max-pooled (1, 2, 2) when `sub_sample`; out = x + BN(conv(attention @ value)). [B, C, T, H, W] -> same.
    """

    def __init__(self, channels: int, config: ResNet3dConfig):
        super().__init__()
        inner = channels // config.non_local_reduction
        self.query = nn.Conv3d(channels, inner, 1)
        self.key = nn.Conv3d(channels, inner, 1)
        self.value = nn.Conv3d(channels, inner, 1)
        self.pool = nn.MaxPool3d((1, 2, 2)) if config.non_local_sub_sample else nn.Identity()
        self.output = ConvBnAct3d(inner, channels, 1, act=False, config=config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, t, h, w = x.shape
        query = self.query(x).flatten(2).transpose(1, 2)  # [B, THW, C']
        key = self.pool(self.key(x)).flatten(2)  # [B, C', T(H/2)(W/2)]
        value = self.pool(self.value(x)).flatten(2).transpose(1, 2)  # [B, T(H/2)(W/2), C']
        attention = torch.matmul(query, key) / key.shape[-1]
        y = torch.matmul(attention, value).transpose(1, 2).reshape(batch, -1, t, h, w)
        return x + self.output(y)


class BasicBlock3d(GradientCheckpointingLayer):
    """Two-conv residual block (depths 18/34); an inflated block's first conv is 3x3x3, else 1x3x3."""

    expansion = 1

    def __init__(self, in_channels, planes, spatial_stride, temporal_stride, inflate, non_local, config):
        super().__init__()
        t = 3 if inflate else 1
        stride = (temporal_stride, spatial_stride, spatial_stride)
        self.conv1 = ConvBnAct3d(in_channels, planes, (t, 3, 3), stride, (t // 2, 1, 1), config=config)
        self.conv2 = ConvBnAct3d(planes, planes, (1, 3, 3), 1, (0, 1, 1), act=False, config=config)
        self.downsample = _shortcut(in_channels, planes, stride, config)
        self.relu = nn.ReLU(inplace=True)
        self.non_local = NonLocalBlock3d(planes, config) if non_local else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.conv2(self.conv1(x)) + identity)
        return out if self.non_local is None else self.non_local(out)


class Bottleneck3d(GradientCheckpointingLayer):
    """1x1x1 (3x1x1 when inflated) -> 1x3x3 (spatial stride) -> 1x1x1 to 4*planes, + shortcut, ReLU, non-local."""

    expansion = 4

    def __init__(self, in_channels, planes, spatial_stride, temporal_stride, inflate, non_local, config):
        super().__init__()
        t = 3 if inflate else 1
        out_channels = planes * self.expansion
        self.conv1 = ConvBnAct3d(
            in_channels, planes, (t, 1, 1), (temporal_stride, 1, 1), (t // 2, 0, 0), config=config
        )
        self.conv2 = ConvBnAct3d(
            planes, planes, (1, 3, 3), (1, spatial_stride, spatial_stride), (0, 1, 1), config=config
        )
        self.conv3 = ConvBnAct3d(planes, out_channels, 1, act=False, config=config)
        self.downsample = _shortcut(
            in_channels, out_channels, (temporal_stride, spatial_stride, spatial_stride), config
        )
        self.relu = nn.ReLU(inplace=True)
        self.non_local = NonLocalBlock3d(out_channels, config) if non_local else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.conv3(self.conv2(self.conv1(x))) + identity)
        return out if self.non_local is None else self.non_local(out)


def _shortcut(in_channels: int, out_channels: int, stride: tuple[int, int, int], config) -> nn.Module | None:
    """1x1x1 strided conv + BN when the residual changes shape (mmaction's rule), else identity (None)."""
    if in_channels == out_channels and stride == (1, 1, 1):
        return None
    return ConvBnAct3d(in_channels, out_channels, 1, stride, act=False, config=config)


class ResNet3d(nn.Module):
    """I3D ResNet3d. `forward`: [B, 3, T, H, W] -> last-stage feature map [B, D, T/8, H/32, W/32] (R50-NL)."""

    def __init__(self, config: ResNet3dConfig):
        super().__init__()
        self.config = config
        block_class = BasicBlock3d if config.depth < 50 else Bottleneck3d
        kt, kh, kw = config.conv1_kernel
        self.conv1 = ConvBnAct3d(
            config.in_channels,
            config.base_channels,
            config.conv1_kernel,
            (config.conv1_stride_t, config.conv1_stride_s, config.conv1_stride_s),
            (kt // 2, kh // 2, kw // 2),
            config=config,
        )
        self.maxpool = nn.MaxPool3d(
            (1, 3, 3), (config.pool1_stride_t, config.pool1_stride_s, config.pool1_stride_s), (0, 1, 1)
        )
        self.pool2 = nn.MaxPool3d((2, 1, 1), (2, 1, 1)) if config.with_pool2 else nn.Identity()
        in_channels = config.base_channels
        self.layers = nn.ModuleList()
        for stage, num_blocks in enumerate(config.stage_blocks):
            planes = config.base_channels * 2**stage
            blocks = []
            for index in range(num_blocks):
                blocks.append(
                    block_class(
                        in_channels,
                        planes,
                        config.spatial_strides[stage] if index == 0 else 1,
                        config.temporal_strides[stage] if index == 0 else 1,
                        config.inflate[stage][index],
                        config.non_local[stage][index],
                        config,
                    )
                )
                in_channels = planes * block_class.expansion
            self.layers.append(nn.Sequential(*blocks))
        self.num_features = in_channels

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.conv1(pixel_values))
        for stage, layer in enumerate(self.layers):
            x = layer(x)
            if stage == 0:
                x = self.pool2(x)
        return x

    def extract_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """One view [B, 3, T, H, W] -> spatio-temporally average-pooled feature [B, D]."""
        return self(pixel_values).mean(dim=(2, 3, 4))
