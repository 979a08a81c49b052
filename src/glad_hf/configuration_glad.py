"""GLAD model configuration: every architectural number of SPEC §4/§4a, with the reference's values as defaults."""

from __future__ import annotations

from typing import Any, ClassVar

from transformers import PreTrainedConfig

from .labels import K2B_LABELS

DOMAIN_ALIGNMENTS = ("local", "global", "cross", "video")
TEST_VIEW_AGGREGATIONS = ("reference", "all_views")
BATCH_NORM_GROUPINGS = ("per_group", "fused")


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
    DEPTH_TO_STAGE_BLOCKS: ClassVar[dict[int, tuple[int, ...]]] = {
        18: (2, 2, 2, 2),
        34: (3, 4, 6, 3),
        50: (3, 4, 6, 3),
        101: (3, 4, 23, 3),
    }

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
        if self.depth not in self.DEPTH_TO_STAGE_BLOCKS:
            raise ValueError(f"depth must be one of {sorted(self.DEPTH_TO_STAGE_BLOCKS)}, got {self.depth}")
        if self.stage_blocks is None:
            self.stage_blocks = self.DEPTH_TO_STAGE_BLOCKS[self.depth]
        self.stage_blocks = tuple(int(b) for b in self.stage_blocks)
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


BACKBONE_CONFIG_CLASSES: dict[str, type[PreTrainedConfig]] = {"resnet3d": ResNet3dConfig}


class GladConfig(PreTrainedConfig):
    r"""
    GLAD (global-local view alignment and background debiasing) for video classification.

    backbone_type (`str`, defaults to `"resnet3d"`): which backbone `backbone_config` describes.
    backbone_config (`ResNet3dConfig` or `dict`, *optional*): the backbone's own configuration (SPEC §4a defaults).
    num_clips (`int`, defaults to 8): clips sampled per video (rows N of `pixel_values [B, N, C, T, H, W]`).
    clip_len (`int`, defaults to 8): frames per clip (T).
    local_clip_indices (`tuple[int]`, defaults to `(4, 5)`): rows taken as the dense local views.
    global_frame_index (`int`, defaults to 3): column taken from every row to form the sparse global view.
    classifier_dropout (`float`, defaults to 0.5): dropout before the linear classifier.
    domain_alignment (`tuple[str]`, defaults to `("local", "global", "cross")`): domain classifiers to train;
        any of "local" (mean local feature), "global", "cross" (local vs global across domains) and "video"
        (DANN on the mean of all view features). Empty = no domain classifier (source-only).
    domain_hidden_size / domain_num_layers / domain_dropout (defaults 2048 / 4 / 0.5): the domain MLPs.
    grl_lambda (`float`, defaults to 1.0): gradient-reversal factor.
    domain_loss_weight (`float`, defaults to 1.0): weight of each domain loss.
    tol_num_clips (`int`, defaults to 3): clips per video for temporal-order learning (3! = 6 classes).
    tol_hidden_size / tol_dropout (defaults 512 / 0.5): the temporal-order head.
    test_view_aggregation (`str`, defaults to `"reference"`): "reference" averages the last local clip and the
        global view (the reference's test path, SPEC §4); "all_views" averages every local clip and the global view.
    batch_norm_grouping (`str`, defaults to `"per_group"`): "per_group" runs each (domain, view kind) group
        through the backbone in its own call (the reference); "fused" runs all views of a batch in one call.
    """

    model_type = "glad"

    backbone_type: str = "resnet3d"
    backbone_config: PreTrainedConfig | dict | None = None
    num_clips: int = 8
    clip_len: int = 8
    local_clip_indices: tuple[int, ...] | list[int] = (4, 5)
    global_frame_index: int = 3
    classifier_dropout: float = 0.5
    domain_alignment: tuple[str, ...] | list[str] = ("local", "global", "cross")
    domain_hidden_size: int = 2048
    domain_num_layers: int = 4
    domain_dropout: float = 0.5
    grl_lambda: float = 1.0
    domain_loss_weight: float = 1.0
    tol_num_clips: int = 3
    tol_hidden_size: int = 512
    tol_dropout: float = 0.5
    test_view_aggregation: str = "reference"
    batch_norm_grouping: str = "per_group"
    initializer_range: float = 0.01

    def __post_init__(self, **kwargs):
        if self.backbone_type not in BACKBONE_CONFIG_CLASSES:
            raise ValueError(
                f"backbone_type must be one of {sorted(BACKBONE_CONFIG_CLASSES)}, got {self.backbone_type!r}"
            )
        backbone_class = BACKBONE_CONFIG_CLASSES[self.backbone_type]
        if self.backbone_config is None:
            self.backbone_config = backbone_class()
        elif isinstance(self.backbone_config, dict):
            fields = {
                k: v
                for k, v in self.backbone_config.items()
                if k not in ("model_type", "transformers_version")
            }
            self.backbone_config = backbone_class(**fields)
        elif not isinstance(self.backbone_config, backbone_class):
            raise ValueError(
                f"backbone_config must be a {backbone_class.__name__} or dict for backbone_type "
                f"{self.backbone_type!r}, got {type(self.backbone_config).__name__}"
            )
        if self.id2label is None and kwargs.get("num_labels") in (None, len(K2B_LABELS)):
            self.id2label = dict(enumerate(K2B_LABELS))
            self.label2id = {name: i for i, name in self.id2label.items()}
        super().__post_init__(**kwargs)
        self._validate()

    def _validate(self) -> None:
        for name in ("num_clips", "clip_len", "tol_num_clips", "domain_hidden_size", "tol_hidden_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.domain_num_layers < 0:
            raise ValueError(f"domain_num_layers must be >= 0, got {self.domain_num_layers}")
        self.local_clip_indices = tuple(int(i) for i in self.local_clip_indices)
        if not self.local_clip_indices or any(not 0 <= i < self.num_clips for i in self.local_clip_indices):
            raise ValueError(
                f"local_clip_indices must be non-empty rows in [0, num_clips={self.num_clips}), "
                f"got {self.local_clip_indices}"
            )
        if not 0 <= self.global_frame_index < self.clip_len:
            raise ValueError(
                f"global_frame_index must be a column in [0, clip_len={self.clip_len}), got {self.global_frame_index}"
            )
        self.domain_alignment = tuple(self.domain_alignment)
        unknown = [d for d in self.domain_alignment if d not in DOMAIN_ALIGNMENTS]
        if unknown or len(set(self.domain_alignment)) != len(self.domain_alignment):
            raise ValueError(
                f"domain_alignment must be distinct names from {DOMAIN_ALIGNMENTS}, got {self.domain_alignment}"
            )
        if self.test_view_aggregation not in TEST_VIEW_AGGREGATIONS:
            raise ValueError(
                f"test_view_aggregation must be one of {TEST_VIEW_AGGREGATIONS}, got {self.test_view_aggregation!r}"
            )
        if self.batch_norm_grouping not in BATCH_NORM_GROUPINGS:
            raise ValueError(
                f"batch_norm_grouping must be one of {BATCH_NORM_GROUPINGS}, got {self.batch_norm_grouping!r}"
            )
        if self.batch_norm_grouping == "fused" and self.num_clips != self.clip_len:
            raise ValueError(
                "batch_norm_grouping='fused' stacks local and global views in one batch, so it needs "
                f"num_clips == clip_len, got {self.num_clips} and {self.clip_len}"
            )
        for name in ("classifier_dropout", "domain_dropout", "tol_dropout"):
            if not 0.0 <= float(getattr(self, name)) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        if self.tol_num_clips > 5:
            raise ValueError(
                f"tol_num_clips must be <= 5 (it has tol_num_clips! classes), got {self.tol_num_clips}"
            )

    @property
    def hidden_size(self) -> int:
        """Size of the pooled per-view feature."""
        return self.backbone_config.hidden_size

    @property
    def num_frames(self) -> int:
        """Frames sampled per video (`num_clips * clip_len`); read by the video-classification pipeline."""
        return self.num_clips * self.clip_len

    @classmethod
    def tiny(cls, **overrides) -> GladConfig:
        """A small GLAD (depth-18 layout, 8-channel stem, 64-d features) for tests and the synthetic demo."""
        backbone = ResNet3dConfig(
            depth=18,
            base_channels=8,
            conv1_kernel=(3, 7, 7),
            conv1_stride_t=1,
            pool1_stride_t=1,
            inflate=((1, 1), (1, 0), (1, 0), (0, 1)),
            non_local=((0, 0), (0, 1), (0, 0), (0, 0)),
        )
        settings = dict(
            backbone_config=backbone, domain_hidden_size=64, domain_num_layers=2, tol_hidden_size=32
        )
        settings.update(overrides)
        return cls(**settings)
