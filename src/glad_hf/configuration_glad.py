"""GLAD model configuration: every architectural number of SPEC §4/§4a, with the reference's values as defaults.

`GladConfig.backbone_type` names the backbone and `backbone_config` holds that backbone's own configuration:
`ResNet3dConfig` (I3D, the paper's), `TSMConfig` (TSM-R50, the paper's ablation backbone), `TorchvisionVideoConfig`
(a `torchvision.models.video` network) or, for `backbone_type="transformers"`, any transformers config of a video
encoder (`VideoMAEConfig`, `TimesformerConfig`, ...). Each sub-configuration is serialised inside config.json.
"""

from __future__ import annotations

from typing import Any, ClassVar

from transformers import AutoConfig, PreTrainedConfig

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


def _stage_blocks(depth: int, stage_blocks, depth_table: dict[int, tuple[int, ...]]) -> tuple[int, ...]:
    """Blocks per stage: as given, or the standard ResNet layout of `depth`."""
    if depth not in depth_table:
        raise ValueError(f"depth must be one of {sorted(depth_table)}, got {depth}")
    return tuple(int(b) for b in (depth_table[depth] if stage_blocks is None else stage_blocks))


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
        self.stage_blocks = _stage_blocks(self.depth, self.stage_blocks, self.DEPTH_TO_STAGE_BLOCKS)
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
    DEPTH_TO_STAGE_BLOCKS: ClassVar[dict[int, tuple[int, ...]]] = ResNet3dConfig.DEPTH_TO_STAGE_BLOCKS

    depth: int = 50
    stage_blocks: tuple[int, ...] | list[int] | None = None
    base_channels: int = 64
    in_channels: int = 3
    num_segments: int = 8
    shift_div: int = 8
    norm_eps: float = 1e-5
    norm_momentum: float = 0.1

    def __post_init__(self, **kwargs):
        self.stage_blocks = _stage_blocks(self.depth, self.stage_blocks, self.DEPTH_TO_STAGE_BLOCKS)
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


class TorchvisionVideoConfig(PreTrainedConfig):
    r"""
    A `torchvision.models.video` network used as a feature extractor (its classification layer removed).

    model_name (`str`, defaults to `"r3d_18"`): one of r3d_18, mc3_18, r2plus1d_18, s3d, mvit_v2_s, swin3d_t.
    weights (`str`, *optional*): a member of the model's torchvision weights enum (e.g. "KINETICS400_V1" or
        "DEFAULT"), downloaded by torchvision and loaded when the model is built (not by `from_pretrained`, which
        reads the GLAD checkpoint instead). None = torchvision's random initialisation.
    """

    model_type = "glad_torchvision_video"
    FEATURE_SIZES: ClassVar[dict[str, int]] = {
        "r3d_18": 512,
        "mc3_18": 512,
        "r2plus1d_18": 512,
        "s3d": 1024,
        "mvit_v2_s": 768,
        "swin3d_t": 768,
    }
    # (T, H, W) a network's positional embeddings are built for, and the smallest views the others' strides allow
    FIXED_INPUT_SIZES: ClassVar[dict[str, tuple[int, int, int]]] = {"mvit_v2_s": (16, 224, 224)}
    MIN_INPUT_SIZES: ClassVar[dict[str, tuple[int, int, int]]] = {"s3d": (5, 17, 17)}

    model_name: str = "r3d_18"
    weights: str | None = None

    def __post_init__(self, **kwargs):
        if self.model_name not in self.FEATURE_SIZES:
            raise ValueError(
                f"model_name must be one of {sorted(self.FEATURE_SIZES)}, got {self.model_name!r}"
            )
        if self.weights is not None:
            from torchvision.models import get_model_weights

            available = [w.name for w in get_model_weights(self.model_name)] + ["DEFAULT"]
            if self.weights not in available:
                raise ValueError(
                    f"weights for {self.model_name} must be one of {available}, got {self.weights!r}"
                )
        super().__post_init__(**kwargs)

    @property
    def hidden_size(self) -> int:
        """Size of the pooled feature (the input of the removed classification layer)."""
        return self.FEATURE_SIZES[self.model_name]

    @property
    def fixed_input_size(self) -> tuple[int, int, int] | None:
        """(T, H, W) every view must have, or None."""
        return self.FIXED_INPUT_SIZES.get(self.model_name)

    @property
    def min_input_size(self) -> tuple[int, int, int]:
        """Smallest (T, H, W) of a view."""
        return self.MIN_INPUT_SIZES.get(self.model_name, (1, 1, 1))


# backbone_type -> its config class; "transformers" takes the config of any transformers video encoder
BACKBONE_CONFIG_CLASSES: dict[str, type[PreTrainedConfig]] = {
    "resnet3d": ResNet3dConfig,
    "tsm": TSMConfig,
    "torchvision": TorchvisionVideoConfig,
    "transformers": PreTrainedConfig,
}
_NOT_CONFIG_FIELDS = ("model_type", "transformers_version")


def build_backbone_config(
    backbone_type: str, backbone_config: PreTrainedConfig | dict | None
) -> PreTrainedConfig:
    """The backbone's config object from a config, its dict (e.g. read from config.json) or None (defaults).

    For `backbone_type="transformers"` the dict needs the encoder's `model_type` (rebuilt with
    `AutoConfig.for_model`) or a `pretrained_model_name_or_path` (a local folder, or a Hub id when online: its config
    is read with `AutoConfig.from_pretrained`, the other entries override it, and the encoder's weights are loaded
    from there when the model is built).
    """
    if backbone_type not in BACKBONE_CONFIG_CLASSES:
        raise ValueError(
            f"backbone_type must be one of {sorted(BACKBONE_CONFIG_CLASSES)}, got {backbone_type!r}"
        )
    if backbone_type == "transformers":
        return _transformers_backbone_config(backbone_config)
    backbone_class = BACKBONE_CONFIG_CLASSES[backbone_type]
    if backbone_config is None:
        return backbone_class()
    if isinstance(backbone_config, dict):
        return backbone_class(**{k: v for k, v in backbone_config.items() if k not in _NOT_CONFIG_FIELDS})
    if not isinstance(backbone_config, backbone_class):
        raise ValueError(
            f"backbone_config must be a {backbone_class.__name__} or dict for backbone_type "
            f"{backbone_type!r}, got {type(backbone_config).__name__}"
        )
    return backbone_config


def _transformers_backbone_config(value: PreTrainedConfig | dict | None) -> PreTrainedConfig:
    if isinstance(value, PreTrainedConfig) and not value.model_type.startswith("glad"):
        return value
    if not isinstance(value, dict):
        raise ValueError(
            "backbone_config for backbone_type 'transformers' must be a transformers config of a video encoder "
            "(e.g. VideoMAEConfig) or a dict with its 'model_type' or a 'pretrained_model_name_or_path', "
            f"got {type(value).__name__}"
        )
    fields = {k: v for k, v in value.items() if k != "transformers_version"}
    model_type = fields.pop("model_type", None)
    source = fields.get("pretrained_model_name_or_path")
    if model_type is None and source is None:
        raise ValueError(
            "backbone_config for backbone_type 'transformers' needs a 'model_type' (e.g. 'videomae') or a "
            f"'pretrained_model_name_or_path', got keys {sorted(value)}"
        )
    try:
        if model_type is not None:
            config = AutoConfig.for_model(model_type, **fields)
        else:
            config = AutoConfig.from_pretrained(fields.pop("pretrained_model_name_or_path"), **fields)
            config.pretrained_model_name_or_path = source
    except (ValueError, OSError) as err:
        raise ValueError(f"backbone_config {value!r} does not describe a transformers model: {err}") from err
    if config.model_type.startswith("glad"):
        raise ValueError(
            f"backbone_config for backbone_type 'transformers' must describe a transformers video encoder, got "
            f"the GLAD config {config.model_type!r}"
        )
    return config


def backbone_num_frames(backbone_type: str, backbone_config: PreTrainedConfig) -> int | None:
    """Frames per view the backbone needs, or None when it takes any number its strides allow."""
    if backbone_type == "tsm":
        return backbone_config.num_segments
    if backbone_type == "torchvision":
        fixed = backbone_config.fixed_input_size
        return None if fixed is None else fixed[0]
    if backbone_type == "transformers":
        return getattr(backbone_config, "num_frames", None)
    return None


def tiny_backbone_config(backbone_type: str) -> PreTrainedConfig:
    """A small backbone of each family for tests and demos (64-d features except the fixed torchvision networks)."""
    if backbone_type == "resnet3d":
        return ResNet3dConfig(
            depth=18,
            base_channels=8,
            conv1_kernel=(3, 7, 7),
            conv1_stride_t=1,
            pool1_stride_t=1,
            inflate=((1, 1), (1, 0), (1, 0), (0, 1)),
            non_local=((0, 0), (0, 1), (0, 0), (0, 0)),
        )
    if backbone_type == "tsm":
        return TSMConfig(depth=18, stage_blocks=(1, 1, 1, 1), base_channels=8)
    if backbone_type == "torchvision":
        return TorchvisionVideoConfig(model_name="mc3_18")  # the lightest video ResNet; the networks are fixed
    if backbone_type == "transformers":
        return AutoConfig.for_model(
            "videomae",
            hidden_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=128,
            image_size=32,
            patch_size=16,
            num_frames=8,
            tubelet_size=2,
        )
    raise ValueError(f"backbone_type must be one of {sorted(BACKBONE_CONFIG_CLASSES)}, got {backbone_type!r}")


class GladConfig(PreTrainedConfig):
    r"""
    GLAD (global-local view alignment and background debiasing) for video classification.

    backbone_type (`str`, defaults to `"resnet3d"`): which backbone `backbone_config` describes: "resnet3d" (I3D),
        "tsm", "torchvision" or "transformers".
    backbone_config (`PreTrainedConfig` or `dict`, *optional*): the backbone's own configuration (`ResNet3dConfig`,
        `TSMConfig`, `TorchvisionVideoConfig` or a transformers video encoder's config; see `build_backbone_config`).
        None = the backbone type's defaults (for "resnet3d": GLAD's I3D R50-NL, SPEC §4a).
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
        self.backbone_config = build_backbone_config(self.backbone_type, self.backbone_config)
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
        frames = self.backbone_num_frames
        if frames is not None and (self.clip_len != frames or self.num_clips != frames):
            raise ValueError(
                f"the {self.backbone_type} backbone takes views of {frames} frames (backbone_config), but local views "
                f"have clip_len={self.clip_len} frames and the global view num_clips={self.num_clips}: set both "
                f"to {frames}"
            )

    @property
    def hidden_size(self) -> int:
        """Size of the pooled per-view feature."""
        return self.backbone_config.hidden_size

    @property
    def num_frames(self) -> int:
        """Frames sampled per video (`num_clips * clip_len`); read by the video-classification pipeline."""
        return self.num_clips * self.clip_len

    @property
    def backbone_num_frames(self) -> int | None:
        """Frames per view the backbone needs (TSM segments, a transformer's `num_frames`), None if any number."""
        return backbone_num_frames(self.backbone_type, self.backbone_config)

    @classmethod
    def for_backbone(
        cls, backbone_type: str, backbone_config: PreTrainedConfig | dict | None = None, **overrides
    ) -> GladConfig:
        """GLAD over the named backbone (`backbone_config` as in `build_backbone_config`; None = its defaults).

        When the backbone needs a fixed number of frames per view F (TSM segments, a transformer's `num_frames`), the
        clip grid becomes F x F, with the middle two rows as local views and the middle column as global view (F = 8
        gives the reference's rows 4, 5 and column 3). `overrides` set any other GladConfig field.
        """
        backbone = build_backbone_config(backbone_type, backbone_config)
        settings = dict(backbone_type=backbone_type, backbone_config=backbone)
        frames = backbone_num_frames(backbone_type, backbone)
        if frames is not None:
            settings.update(
                num_clips=frames,
                clip_len=frames,
                local_clip_indices=(frames // 2, frames // 2 + 1) if frames > 1 else (0,),
                global_frame_index=max(frames // 2 - 1, 0),
            )
        settings.update(overrides)
        return cls(**settings)

    @classmethod
    def tiny(cls, backbone_type: str = "resnet3d", **overrides) -> GladConfig:
        """A small GLAD for tests and the synthetic demo: `tiny_backbone_config(backbone_type)` (64-d features but for
        the fixed torchvision networks), 64-wide domain classifiers of two layers, a 32-wide temporal-order head."""
        backbone = overrides.pop("backbone_config", None) or tiny_backbone_config(backbone_type)
        settings = dict(domain_hidden_size=64, domain_num_layers=2, tol_hidden_size=32)
        settings.update(overrides)
        return cls.for_backbone(backbone_type, backbone, **settings)
