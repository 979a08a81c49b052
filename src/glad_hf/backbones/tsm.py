"""TSM: a 2D ResNet run on every frame with the temporal shift module, as mmaction2's `ResNetTSM` computes it
(SPEC §4b; Lin et al., "TSM: Temporal Shift Module for Efficient Video Understanding", 2019).

Frames of a view are folded into the batch ([B, C, T, H, W] -> [B*T, C, H, W], frames of one video adjacent), so
every BatchNorm2d normalises over all frames of one backbone call: the batch-norm grouping of SPEC §3 holds as for
I3D. Module names follow mmaction's checkpoint layout (`conv1.conv`, `conv1.bn`, `layer{L}.{b}.conv{n}`,
`downsample`), except that the shift is a parameter-free step of the block rather than a wrapper around its first
conv, so mmaction's `conv1.conv.net.weight` is our `conv1.conv.weight` (the converter's table says so).
"""

from __future__ import annotations

import torch
from torch import nn
from transformers.modeling_layers import GradientCheckpointingLayer

from .configuration_tsm import TSMConfig


def temporal_shift(x: torch.Tensor, num_segments: int, shift_div: int) -> torch.Tensor:
    """Shift channels across frames. x [B*T, C, H, W] with T = num_segments -> same shape.

    With fold = C // shift_div: channels [0, fold) take the next frame's values (the last frame gets zeros), channels
    [fold, 2*fold) take the previous frame's values (the first frame gets zeros), the rest stay (mmaction's
    `TemporalShift.shift`).
    """
    frames, channels, height, width = x.shape
    x = x.view(frames // num_segments, num_segments, channels, height, width)
    fold = channels // shift_div
    out = torch.zeros_like(x)
    out[:, :-1, :fold] = x[:, 1:, :fold]
    out[:, 1:, fold : 2 * fold] = x[:, :-1, fold : 2 * fold]
    out[:, :, 2 * fold :] = x[:, :, 2 * fold :]
    return out.view(frames, channels, height, width)


class ConvBnAct2d(nn.Module):
    """Bias-free Conv2d -> BatchNorm2d -> optional ReLU. [N, C_in, H, W] -> [N, C_out, H', W']."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, *, act=True, config):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=config.norm_eps, momentum=config.norm_momentum)
        self.act = nn.ReLU(inplace=True) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class BasicBlockTSM(GradientCheckpointingLayer):
    """3x3 (stride) -> 3x3, + shortcut, ReLU; the residual branch's input is temporally shifted when `shift`."""

    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int, shift: bool, config: TSMConfig):
        super().__init__()
        self.shift = shift
        self.num_segments, self.shift_div = config.num_segments, config.shift_div
        self.conv1 = ConvBnAct2d(in_channels, planes, 3, stride, 1, config=config)
        self.conv2 = ConvBnAct2d(planes, planes, 3, 1, 1, act=False, config=config)
        self.downsample = _shortcut(in_channels, planes, stride, config)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        residual = temporal_shift(x, self.num_segments, self.shift_div) if self.shift else x
        return self.relu(self.conv2(self.conv1(residual)) + identity)


class BottleneckTSM(GradientCheckpointingLayer):
    """1x1 -> 3x3 (stride, pytorch style) -> 1x1 to 4*planes, + shortcut, ReLU; the residual branch's input is
    temporally shifted when `shift` (mmaction's shift_place="blockres")."""

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int, shift: bool, config: TSMConfig):
        super().__init__()
        self.shift = shift
        self.num_segments, self.shift_div = config.num_segments, config.shift_div
        out_channels = planes * self.expansion
        self.conv1 = ConvBnAct2d(in_channels, planes, 1, config=config)
        self.conv2 = ConvBnAct2d(planes, planes, 3, stride, 1, config=config)
        self.conv3 = ConvBnAct2d(planes, out_channels, 1, act=False, config=config)
        self.downsample = _shortcut(in_channels, out_channels, stride, config)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        residual = temporal_shift(x, self.num_segments, self.shift_div) if self.shift else x
        return self.relu(self.conv3(self.conv2(self.conv1(residual))) + identity)


def _shortcut(in_channels: int, out_channels: int, stride: int, config: TSMConfig) -> nn.Module | None:
    """1x1 strided conv + BN when the residual changes shape (mmaction's rule), else identity (None)."""
    if in_channels == out_channels and stride == 1:
        return None
    return ConvBnAct2d(in_channels, out_channels, 1, stride, act=False, config=config)


class ResNetTSM(nn.Module):
    """TSM ResNet (spatial strides 1, 2, 2, 2 per stage). `forward`: one view [B, 3, T, H, W] (T = num_segments) ->
    feature map [B, D, T, H/32, W/32]."""

    def __init__(self, config: TSMConfig):
        super().__init__()
        self.config = config
        block_class = BasicBlockTSM if config.depth < 50 else BottleneckTSM
        self.conv1 = ConvBnAct2d(config.in_channels, config.base_channels, 7, 2, 3, config=config)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        in_channels = config.base_channels
        self.layers = nn.ModuleList()
        for stage, num_blocks in enumerate(config.stage_blocks):
            planes = config.base_channels * 2**stage
            stride = 1 if stage == 0 else 2
            blocks = []
            for index in range(num_blocks):
                shift = index % config.shift_block_interval == 0
                blocks.append(block_class(in_channels, planes, stride if index == 0 else 1, shift, config))
                in_channels = planes * block_class.expansion
            self.layers.append(nn.Sequential(*blocks))
        self.num_features = in_channels

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        if pixel_values.ndim != 5 or pixel_values.shape[2] != self.config.num_segments:
            raise ValueError(
                f"the TSM backbone takes views [B, C, T={self.config.num_segments}, H, W] (num_segments="
                f"{self.config.num_segments}), got shape {tuple(pixel_values.shape)}"
            )
        batch, _, frames = pixel_values.shape[:3]
        x = pixel_values.transpose(1, 2).flatten(0, 1)  # [B*T, C, H, W], frames of a video adjacent
        x = self.maxpool(self.conv1(x))
        for layer in self.layers:
            x = layer(x)
        return x.view(batch, frames, *x.shape[1:]).transpose(1, 2)

    def extract_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """One view [B, 3, T, H, W] -> feature averaged over space and frames [B, D] (TSMHead's average consensus)."""
        return self(pixel_values).mean(dim=(2, 3, 4))
