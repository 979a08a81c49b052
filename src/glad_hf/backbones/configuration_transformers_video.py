"""Configuration of the transformers video-encoder backbones (`transformers_video.py`): the encoder's own
transformers config (`VideoMAEConfig`, `TimesformerConfig`, ...), built from a config, a dict or a pretrained
folder. Imports no network code."""

from __future__ import annotations

from transformers import AutoConfig, PreTrainedConfig


def video_encoder_config(value: PreTrainedConfig | dict | None) -> PreTrainedConfig:
    """The encoder's config from a transformers config, or a dict with its `model_type` (rebuilt with
    `AutoConfig.for_model`) or a `pretrained_model_name_or_path` (a local folder, or a Hub id when online: its config
    is read with `AutoConfig.from_pretrained`, the other entries override it, and the encoder's weights are loaded
    from there when the model is built)."""
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


def video_encoder_num_frames(config: PreTrainedConfig) -> int | None:
    """Frames per view the encoder's positional embeddings are built for (its `num_frames`), None if it has none."""
    return getattr(config, "num_frames", None)


def tiny_video_encoder_config() -> PreTrainedConfig:
    """A one-layer VideoMAE of width 64 on 8 frames of 32x32, for tests."""
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
