"""Configuration of the TSM backbone (`tsm.py`). Imports no network code."""

from __future__ import annotations

from typing import ClassVar

from transformers import PreTrainedConfig

from .configuration_resnet3d import DEPTH_TO_STAGE_BLOCKS, stage_blocks_of


class TSMConfig(PreTrainedConfig):
    r"""
    TSM: a 2D ResNet applied to every frame, with the temporal shift module, as mmaction2's `ResNetTSM` computes it
    (SPEC §4b). Defaults are TSM-R50: 8 segments, 1/8 of the channels shifted one frame forward and 1/8 one frame
    back in the residual branch before each block's first conv ("blockres"), no temporal pooling, no non-local.

    depth (`int`, defaults to 50): 18/34 use basic blocks, 50/101 bottlenecks.
    stage_blocks (`tuple[int]`, *optional*): blocks per stage; derived from `depth` when not given.
    base_channels (`int`, defaults to 64): width of the stem and of stage 1 (stage i has `base_channels * 2**i`).
    in_channels (`int`, defaults to 3).
    num_segments (`int`, defaults to 8): frames per view; the shift moves features between them.
    shift_div (`int`, defaults to 8): 1/shift_div of the channels shift forward, 1/shift_div backward.
    norm_eps / norm_momentum (`float`, defaults to 1e-5 / 0.1): BatchNorm2d settings.
    """

    model_type = "glad_tsm"
    DEPTH_TO_STAGE_BLOCKS: ClassVar[dict[int, tuple[int, ...]]] = DEPTH_TO_STAGE_BLOCKS

    depth: int = 50
    stage_blocks: tuple[int, ...] | list[int] | None = None
    base_channels: int = 64
    in_channels: int = 3
    num_segments: int = 8
    shift_div: int = 8
    norm_eps: float = 1e-5
    norm_momentum: float = 0.1

    def __post_init__(self, **kwargs):
        self.stage_blocks = stage_blocks_of(self.depth, self.stage_blocks)
        if not self.stage_blocks or any(b < 1 for b in self.stage_blocks):
            raise ValueError(f"stage_blocks must be positive block counts, got {self.stage_blocks}")
        for name in ("base_channels", "num_segments", "shift_div"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        super().__post_init__(**kwargs)

    @property
    def block_expansion(self) -> int:
        return 1 if self.depth < 50 else 4

    @property
    def shift_block_interval(self) -> int:
        """mmaction shifts every block, or every second block of each stage when stage 3 has >= 23 (R101)."""
        return 2 if len(self.stage_blocks) > 2 and self.stage_blocks[2] >= 23 else 1

    @property
    def hidden_size(self) -> int:
        """Channels of the last stage = size of the pooled feature."""
        return self.base_channels * 2 ** (len(self.stage_blocks) - 1) * self.block_expansion

    @classmethod
    def tiny(cls) -> TSMConfig:
        """An R18 of one block per stage and width 8 (64-d features), 8 segments, for tests."""
        return cls(depth=18, stage_blocks=(1, 1, 1, 1), base_channels=8)
