"""TSM: a 2D ResNet run on every frame with the temporal shift module, as mmaction2's `ResNetTSM` computes it
(SPEC §4b; Lin et al., "TSM: Temporal Shift Module for Efficient Video Understanding", 2019).

Frames of a view are folded into the batch ([B, C, T, H, W] -> [B*T, C, H, W], frames of one video adjacent), so
every BatchNorm2d normalises over all frames of one backbone call: the batch-norm grouping of SPEC §3 holds as for
I3D. The residual blocks are the shared ones of `blocks.py`, run per frame (`dims=2`), built from a block table.
Module names follow mmaction's checkpoint layout (`conv1.conv`, `conv1.bn`, `layer{L}.{b}.conv{n}`,
`downsample`), except that the shift is a parameter-free step of the block rather than a wrapper around its first
conv, so mmaction's `conv1.conv.net.weight` is our `conv1.conv.weight` (the converter's table says so).
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import BlockSpec, ConvBnAct, make_stages
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


class TemporalShift(nn.Module):
    """`temporal_shift` as a parameter-free module, the step a TSM block applies to its residual branch's input."""

    def __init__(self, num_segments: int, shift_div: int):
        super().__init__()
        self.num_segments, self.shift_div = num_segments, shift_div

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return temporal_shift(x, self.num_segments, self.shift_div)

    def extra_repr(self) -> str:
        return f"num_segments={self.num_segments}, shift_div={self.shift_div}"


def block_table(config: TSMConfig) -> list[list[BlockSpec]]:
    """Per stage, per block: spatial strides 1, 2, 2, 2 on a stage's first block; a shift on every
    `shift_block_interval`-th block (mmaction's shift_place="blockres")."""
    return [
        [
            BlockSpec(
                spatial_stride=2 if stage > 0 and index == 0 else 1,
                shift=index % config.shift_block_interval == 0,
            )
            for index in range(num_blocks)
        ]
        for stage, num_blocks in enumerate(config.stage_blocks)
    ]


class ResNetTSM(nn.Module):
    """TSM ResNet (spatial strides 1, 2, 2, 2 per stage). `forward`: one view [B, 3, T, H, W] (T = num_segments) ->
    feature map [B, D, T, H/32, W/32]."""

    def __init__(self, config: TSMConfig):
        super().__init__()
        self.config = config
        self.conv1 = ConvBnAct(config.in_channels, config.base_channels, 7, 2, 3, dims=2, config=config)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layers, self.num_features = make_stages(
            block_table(config),
            dims=2,
            config=config,
            shift=lambda: TemporalShift(config.num_segments, config.shift_div),
        )

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
