"""The backbone registry: one row per `GladConfig.backbone_type`, read by everything that depends on the type
(GladConfig's validation and presets, `build_backbone`). Imports configs only; a network's module is imported when
the network is first built."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from transformers import PreTrainedConfig

from .configuration_resnet3d import ResNet3dConfig
from .configuration_torchvision_video import TorchvisionVideoConfig
from .configuration_transformers_video import (
    tiny_video_encoder_config,
    video_encoder_config,
    video_encoder_num_frames,
)
from .configuration_tsm import TSMConfig

if TYPE_CHECKING:
    from torch import nn

_NOT_CONFIG_FIELDS = ("model_type", "transformers_version")


def _any_num_frames(config: PreTrainedConfig) -> int | None:
    return None


@dataclass(frozen=True)
class BackboneSpec:
    """One backbone family.

    config_class: its config class (for "transformers", any video encoder's transformers config).
    network: "module:Class" of its network in `glad_hf.backbones`, built from the config; `extract_features` maps
        one view [B, 3, T, H, W] to [B, num_features].
    tiny_config: a small config for tests and demos.
    num_frames: frames per view the network needs (config -> int), None when it takes any number.
    config_from: config, dict (as read from config.json) or None (defaults) -> config; None = `config_class`'s.
    """

    config_class: type[PreTrainedConfig]
    network: str
    tiny_config: Callable[[], PreTrainedConfig]
    num_frames: Callable[[PreTrainedConfig], int | None] = _any_num_frames
    config_from: Callable[[PreTrainedConfig | dict | None], PreTrainedConfig] | None = None

    def build_config(self, value: PreTrainedConfig | dict | None) -> PreTrainedConfig:
        """The backbone's config from a config, its dict or None (the defaults)."""
        if self.config_from is not None:
            return self.config_from(value)
        if value is None:
            return self.config_class()
        if isinstance(value, dict):
            return self.config_class(**{k: v for k, v in value.items() if k not in _NOT_CONFIG_FIELDS})
        if not isinstance(value, self.config_class):
            raise ValueError(
                f"backbone_config must be a {self.config_class.__name__} or dict, got {type(value).__name__}"
            )
        return value

    def network_class(self) -> type[nn.Module]:
        """The network class, importing its module."""
        module, name = self.network.split(":")
        return getattr(importlib.import_module(f"{__package__}.{module}"), name)


BACKBONES: dict[str, BackboneSpec] = {
    "resnet3d": BackboneSpec(
        config_class=ResNet3dConfig,
        network="resnet3d:ResNet3d",
        tiny_config=ResNet3dConfig.tiny,
    ),
    "tsm": BackboneSpec(
        config_class=TSMConfig,
        network="tsm:ResNetTSM",
        tiny_config=TSMConfig.tiny,
        num_frames=lambda config: config.num_segments,
    ),
    "torchvision": BackboneSpec(
        config_class=TorchvisionVideoConfig,
        network="torchvision_video:TorchvisionVideoBackbone",
        tiny_config=TorchvisionVideoConfig.tiny,
        num_frames=lambda config: None if config.fixed_input_size is None else config.fixed_input_size[0],
    ),
    "transformers": BackboneSpec(
        config_class=PreTrainedConfig,
        network="transformers_video:TransformersVideoBackbone",
        tiny_config=tiny_video_encoder_config,
        num_frames=video_encoder_num_frames,
        config_from=video_encoder_config,
    ),
}


def backbone_spec(backbone_type: str) -> BackboneSpec:
    """The registry row of `backbone_type`."""
    if backbone_type not in BACKBONES:
        raise ValueError(f"backbone_type must be one of {sorted(BACKBONES)}, got {backbone_type!r}")
    return BACKBONES[backbone_type]


def build_backbone_config(
    backbone_type: str, backbone_config: PreTrainedConfig | dict | None
) -> PreTrainedConfig:
    """The config of a `backbone_type` backbone from a config, its dict (e.g. read from config.json) or None."""
    return backbone_spec(backbone_type).build_config(backbone_config)


def build_backbone(backbone_type: str, backbone_config: PreTrainedConfig) -> nn.Module:
    """The `backbone_type` network built from its config."""
    return backbone_spec(backbone_type).network_class()(backbone_config)
