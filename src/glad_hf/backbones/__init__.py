"""Video backbones. Each maps one view [B, 3, T, H, W] to a pooled feature [B, D] via `extract_features` and
exposes `num_features` (= D); the GLAD heads size themselves from it. Backbones import no heads."""

from torch import nn

from .resnet3d import ResNet3d
from .torchvision_video import TorchvisionVideoBackbone
from .transformers_video import TransformersVideoBackbone
from .tsm import ResNetTSM

BACKBONE_TYPES = ("resnet3d", "tsm", "torchvision", "transformers")


def build_backbone(backbone_type: str, backbone_config) -> nn.Module:
    """The backbone named by `GladConfig.backbone_type`, built from its own config."""
    if backbone_type == "resnet3d":
        return ResNet3d(backbone_config)
    if backbone_type == "tsm":
        return ResNetTSM(backbone_config)
    if backbone_type == "torchvision":
        return TorchvisionVideoBackbone(backbone_config)
    if backbone_type == "transformers":
        return TransformersVideoBackbone(backbone_config)
    raise ValueError(f"unknown backbone_type {backbone_type!r}; expected one of {list(BACKBONE_TYPES)}")


__all__ = ["ResNet3d", "ResNetTSM", "TorchvisionVideoBackbone", "TransformersVideoBackbone", "build_backbone"]
