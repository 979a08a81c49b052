"""I3D ResNet3d with non-local blocks, exactly as mmaction2 0.x's `ResNet3d` computes it (SPEC §4a).

Built from a block table through the shared blocks of `blocks.py`, like torchvision's video ResNet:
`ResNet3dConfig.stage_blocks` gives blocks per stage, `inflate` / `non_local` give per-block flags. Module names
follow mmaction's checkpoint layout where it reads well (`conv1.conv`, `conv1.bn`, `layer{L}.{b}.conv{n}`,
`downsample`), so conversion is a short, explicit table.
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import BlockSpec, ConvBnAct, make_stages
from .configuration_resnet3d import ResNet3dConfig


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
        self.output = ConvBnAct(inner, channels, 1, dims=3, act=False, config=config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, t, h, w = x.shape
        query = self.query(x).flatten(2).transpose(1, 2)  # [B, THW, C']
        key = self.pool(self.key(x)).flatten(2)  # [B, C', T(H/2)(W/2)]
        value = self.pool(self.value(x)).flatten(2).transpose(1, 2)  # [B, T(H/2)(W/2), C']
        attention = torch.matmul(query, key) / key.shape[-1]
        y = torch.matmul(attention, value).transpose(1, 2).reshape(batch, -1, t, h, w)
        return x + self.output(y)


def block_table(config: ResNet3dConfig) -> list[list[BlockSpec]]:
    """Per stage, per block: the first block of a stage takes the stage's strides; `inflate` / `non_local` flags."""
    return [
        [
            BlockSpec(
                spatial_stride=config.spatial_strides[stage] if index == 0 else 1,
                temporal_stride=config.temporal_strides[stage] if index == 0 else 1,
                temporal_kernel=3 if config.inflate[stage][index] else 1,
                non_local=bool(config.non_local[stage][index]),
            )
            for index in range(num_blocks)
        ]
        for stage, num_blocks in enumerate(config.stage_blocks)
    ]


class ResNet3d(nn.Module):
    """I3D ResNet3d. `forward`: [B, 3, T, H, W] -> last-stage feature map [B, D, T/8, H/32, W/32] (R50-NL)."""

    def __init__(self, config: ResNet3dConfig):
        super().__init__()
        self.config = config
        kt, kh, kw = config.conv1_kernel
        self.conv1 = ConvBnAct(
            config.in_channels,
            config.base_channels,
            config.conv1_kernel,
            (config.conv1_stride_t, config.conv1_stride_s, config.conv1_stride_s),
            (kt // 2, kh // 2, kw // 2),
            dims=3,
            config=config,
        )
        self.maxpool = nn.MaxPool3d(
            (1, 3, 3), (config.pool1_stride_t, config.pool1_stride_s, config.pool1_stride_s), (0, 1, 1)
        )
        self.pool2 = nn.MaxPool3d((2, 1, 1), (2, 1, 1)) if config.with_pool2 else nn.Identity()
        self.layers, self.num_features = make_stages(
            block_table(config),
            dims=3,
            config=config,
            non_local=lambda channels: NonLocalBlock3d(channels, config),
        )

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
