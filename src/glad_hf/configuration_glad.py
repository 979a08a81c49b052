"""GLAD model configuration: every architectural number of SPEC §4, with the reference's values as defaults.

`GladConfig.backbone_type` names a row of the backbone registry (`backbones/registry.py`) and `backbone_config`
holds that backbone's own configuration: `ResNet3dConfig` (I3D, the paper's), `TSMConfig` (TSM-R50, the paper's
ablation backbone), `TorchvisionVideoConfig` (a `torchvision.models.video` network) or, for
`backbone_type="transformers"`, any transformers config of a video encoder (`VideoMAEConfig`, ...). The backbone
configuration is serialised inside config.json.
"""

from __future__ import annotations

from transformers import PreTrainedConfig

from .backbones.registry import backbone_spec, build_backbone_config
from .labels import K2B_LABELS

DOMAIN_ALIGNMENTS = ("local", "global", "cross", "video")
TEST_VIEW_AGGREGATIONS = ("reference", "all_views")
BATCH_NORM_GROUPINGS = ("per_group", "fused")


class GladConfig(PreTrainedConfig):
    r"""
    GLAD (global-local view alignment and background debiasing) for video classification.

    backbone_type (`str`, defaults to `"resnet3d"`): which backbone `backbone_config` describes, a key of
        `backbones.registry.BACKBONES`: "resnet3d" (I3D), "tsm", "torchvision" or "transformers".
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
        if self.num_labels < 1:
            raise ValueError(f"num_labels must be >= 1 (the classifier's classes), got {self.num_labels}")
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
        return backbone_spec(self.backbone_type).num_frames(self.backbone_config)

    @classmethod
    def for_backbone(
        cls, backbone_type: str, backbone_config: PreTrainedConfig | dict | None = None, **overrides
    ) -> GladConfig:
        """GLAD over the named backbone (`backbone_config` as in `build_backbone_config`; None = its defaults).

        When the backbone needs a fixed number of frames per view F (TSM segments, a transformer's `num_frames`), the
        clip grid becomes F x F, with the middle two rows as local views and the middle column as global view (F = 8
        gives the reference's rows 4, 5 and column 3). `overrides` set any other GladConfig field.
        """
        spec = backbone_spec(backbone_type)
        backbone = spec.build_config(backbone_config)
        settings = dict(backbone_type=backbone_type, backbone_config=backbone)
        frames = spec.num_frames(backbone)
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
        """A small GLAD for tests and the synthetic demo: the backbone's registered tiny config (64-d features but for
        the fixed torchvision networks), 64-wide domain classifiers of two layers, a 32-wide temporal-order head."""
        backbone = overrides.pop("backbone_config", None) or backbone_spec(backbone_type).tiny_config()
        settings = dict(domain_hidden_size=64, domain_num_layers=2, tol_hidden_size=32)
        settings.update(overrides)
        return cls.for_backbone(backbone_type, backbone, **settings)
