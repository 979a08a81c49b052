"""Configuration of the I3D ResNet3d backbone (`resnet3d.py`). Imports no network code."""

from __future__ import annotations

from typing import Any, ClassVar

from transformers import PreTrainedConfig

# blocks per stage of the standard ResNets (also TSM's, a 2D ResNet)
DEPTH_TO_STAGE_BLOCKS: dict[int, tuple[int, ...]] = {
    18: (2, 2, 2, 2),
    34: (3, 4, 6, 3),
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
}


def stage_blocks_of(depth: int, stage_blocks: Any = None) -> tuple[int, ...]:
    """Blocks per stage: `stage_blocks` as given, or the standard ResNet layout of `depth`."""
    if depth not in DEPTH_TO_STAGE_BLOCKS:
        raise ValueError(f"depth must be one of {sorted(DEPTH_TO_STAGE_BLOCKS)}, got {depth}")
    return tuple(int(b) for b in (DEPTH_TO_STAGE_BLOCKS[depth] if stage_blocks is None else stage_blocks))


def _as_table(name: str, value: Any) -> tuple[tuple[int, ...], ...]:
    """Turn a list-of-lists (as read from JSON) into a tuple-of-tuples of 0/1 flags."""
    try:
        table = tuple(tuple(int(v) for v in row) for row in value)
    except TypeError as err:
        raise ValueError(
            f"{name} must be a sequence of per-stage sequences of 0/1 flags, got {value!r}"
        ) from err
    if any(v not in (0, 1) for row in table for v in row):
        raise ValueError(f"{name} must only hold 0/1 flags, got {value!r}")
    return table


class ResNet3dConfig(PreTrainedConfig):
    r"""
    The I3D ResNet3d backbone (mmaction2 `ResNet3d`, SPEC §4a). Defaults are GLAD's I3D R50-NL.

    depth (`int`, defaults to 50): 18/34 use basic blocks, 50/101 bottlenecks.
    stage_blocks (`tuple[int]`, *optional*): blocks per stage; derived from `depth` when not given.
    base_channels (`int`, defaults to 64): width of the stem and of stage 1 (stage i has `base_channels * 2**i`).
    in_channels (`int`, defaults to 3).
    conv1_kernel (`tuple[int, int, int]`, defaults to `(5, 7, 7)`): stem kernel (T, H, W).
    conv1_stride_t / conv1_stride_s (`int`, defaults to 2 / 2): stem strides.
    pool1_stride_t / pool1_stride_s (`int`, defaults to 2 / 2): max-pool strides after the stem (kernel (1, 3, 3)).
    with_pool2 (`bool`, defaults to `True`): MaxPool3d (2, 1, 1) after stage 1.
    spatial_strides / temporal_strides (`tuple[int]`, defaults to `(1, 2, 2, 2)` / `(1, 1, 1, 1)`).
    inflate (`tuple[tuple[int]]`): per stage, per block, 1 = first conv is 3x1x1 (bottleneck) / 3x3x3 (basic).
    non_local (`tuple[tuple[int]]`): per stage, per block, 1 = a non-local block after the block.
    non_local_reduction (`int`, defaults to 2): inner channels = C / reduction.
    non_local_sub_sample (`bool`, defaults to `True`): spatial max-pool (1, 2, 2) of keys and values.
    norm_eps / norm_momentum (`float`, defaults to 1e-5 / 0.1): BatchNorm3d settings.
    """

    model_type = "glad_resnet3d"
    DEPTH_TO_STAGE_BLOCKS: ClassVar[dict[int, tuple[int, ...]]] = DEPTH_TO_STAGE_BLOCKS

    depth: int = 50
    stage_blocks: tuple[int, ...] | list[int] | None = None
    base_channels: int = 64
    in_channels: int = 3
    conv1_kernel: tuple[int, ...] | list[int] = (5, 7, 7)
    conv1_stride_t: int = 2
    conv1_stride_s: int = 2
    pool1_stride_t: int = 2
    pool1_stride_s: int = 2
    with_pool2: bool = True
    spatial_strides: tuple[int, ...] | list[int] = (1, 2, 2, 2)
    temporal_strides: tuple[int, ...] | list[int] = (1, 1, 1, 1)
    inflate: tuple | list = ((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0))
    non_local: tuple | list = ((0, 0, 0), (0, 1, 0, 1), (0, 1, 0, 1, 0, 1), (0, 0, 0))
    non_local_reduction: int = 2
    non_local_sub_sample: bool = True
    norm_eps: float = 1e-5
    norm_momentum: float = 0.1

    def __post_init__(self, **kwargs):
        self.stage_blocks = stage_blocks_of(self.depth, self.stage_blocks)
        num_stages = len(self.stage_blocks)
        self.conv1_kernel = tuple(int(k) for k in self.conv1_kernel)
        if len(self.conv1_kernel) != 3 or any(k % 2 == 0 for k in self.conv1_kernel):
            raise ValueError(f"conv1_kernel must be three odd sizes (T, H, W), got {self.conv1_kernel}")
        self.spatial_strides = tuple(int(s) for s in self.spatial_strides)
        self.temporal_strides = tuple(int(s) for s in self.temporal_strides)
        self.inflate = _as_table("inflate", self.inflate)
        self.non_local = _as_table("non_local", self.non_local)
        for name in ("spatial_strides", "temporal_strides", "inflate", "non_local"):
            if len(getattr(self, name)) != num_stages:
                raise ValueError(
                    f"{name} must have one entry per stage ({num_stages}), got {getattr(self, name)}"
                )
        for name in ("inflate", "non_local"):
            lengths = tuple(len(row) for row in getattr(self, name))
            if lengths != self.stage_blocks:
                raise ValueError(
                    f"{name} must have one flag per block {self.stage_blocks}, got rows of lengths {lengths}"
                )
        if self.base_channels < 1 or self.base_channels % self.non_local_reduction:
            raise ValueError(
                f"base_channels must be a positive multiple of non_local_reduction, got {self.base_channels}"
            )
        super().__post_init__(**kwargs)

    @property
    def block_expansion(self) -> int:
        return 1 if self.depth < 50 else 4

    @property
    def hidden_size(self) -> int:
        """Channels of the last stage = size of the pooled feature."""
        return self.base_channels * 2 ** (len(self.stage_blocks) - 1) * self.block_expansion

    @classmethod
    def tiny(cls) -> ResNet3dConfig:
        """An R18 of width 8 (64-d features) with one non-local block, keeping the frame count, for tests."""
        return cls(
            depth=18,
            base_channels=8,
            conv1_kernel=(3, 7, 7),
            conv1_stride_t=1,
            pool1_stride_t=1,
            inflate=((1, 1), (1, 0), (1, 0), (0, 1)),
            non_local=((0, 0), (0, 1), (0, 0), (0, 0)),
        )
