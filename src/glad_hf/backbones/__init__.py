"""Video backbones, one family per row of `registry.BACKBONES`. Each network maps one view [B, 3, T, H, W] to a
pooled feature [B, D] with `extract_features` and exposes `num_features` (= D), by which the GLAD heads are sized.
Backbones import no heads. Importing this package imports the configs only; a network class (`ResNet3d`,
`ResNetTSM`, `TorchvisionVideoBackbone`, `TransformersVideoBackbone`) is imported on first access."""

from .configuration_resnet3d import ResNet3dConfig
from .configuration_torchvision_video import TorchvisionVideoConfig
from .configuration_tsm import TSMConfig
from .registry import BACKBONES, BackboneSpec, backbone_spec, build_backbone, build_backbone_config

_NETWORKS = {spec.network.split(":")[1]: spec for spec in BACKBONES.values()}


def __getattr__(name: str):
    if name in _NETWORKS:
        return _NETWORKS[name].network_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BACKBONES",
    "BackboneSpec",
    "ResNet3d",
    "ResNet3dConfig",
    "ResNetTSM",
    "TSMConfig",
    "TorchvisionVideoBackbone",
    "TorchvisionVideoConfig",
    "TransformersVideoBackbone",
    "backbone_spec",
    "build_backbone",
    "build_backbone_config",
]
