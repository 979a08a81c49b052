"""transformers video encoders (VideoMAE, TimeSformer, or any `AutoModel` taking `pixel_values [B, T, C, H, W]`) as
GLAD backbones, pooled as their own video-classification heads pool: VideoMAE averages the patch tokens and applies a
LayerNorm (`fc_norm`, when `use_mean_pooling`), TimeSformer takes the class token. Other encoders give their pooler
output when they have one, else the mean of their tokens."""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoModel, PreTrainedConfig

from .loading import building_on_meta_device


def pooling_of(config: PreTrainedConfig) -> str:
    """How the encoder's own classification head pools: "mean_norm", "first" token, or "auto" (pooler or mean)."""
    if config.model_type == "videomae":
        return "mean_norm" if config.use_mean_pooling else "first"
    if config.model_type == "timesformer":
        return "first"
    return "auto"


class TransformersVideoBackbone(nn.Module):
    """An `AutoModel` video encoder built from its config; its weights are read from
    `config.pretrained_model_name_or_path` when set (a local folder, or a Hub id when online), except inside
    `from_pretrained`, which loads the GLAD checkpoint instead. The encoder is a `PreTrainedModel`: transformers
    initialises it with its own `_init_weights`, once, so GLAD's `post_init` keeps its weights.
    `extract_features`: [B, 3, T, H, W] -> [B, D]."""

    def __init__(self, config: PreTrainedConfig):
        super().__init__()
        self.config = config
        source = getattr(config, "pretrained_model_name_or_path", None)
        if source and not building_on_meta_device():
            self.encoder = AutoModel.from_pretrained(source, config=config)
        else:
            self.encoder = AutoModel.from_config(config)
        self.pooling = pooling_of(config)
        self.fc_norm = nn.LayerNorm(config.hidden_size) if self.pooling == "mean_norm" else None
        self.num_features = config.hidden_size

    def extract_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """One view [B, 3, T, H, W] (T = the encoder's `num_frames`) -> pooled feature [B, D]."""
        frames = getattr(self.config, "num_frames", None)
        if pixel_values.ndim != 5 or (frames is not None and pixel_values.shape[2] != frames):
            raise ValueError(
                f"the {self.config.model_type} backbone takes views [B, C, T={frames}, H, W] (its num_frames), got "
                f"shape {tuple(pixel_values.shape)}"
            )
        outputs = self.encoder(pixel_values=pixel_values.transpose(1, 2))  # encoders take [B, T, C, H, W]
        tokens = outputs.last_hidden_state
        if self.pooling == "mean_norm":
            return self.fc_norm(tokens.mean(1))
        if self.pooling == "first":
            return tokens[:, 0]
        pooled = getattr(outputs, "pooler_output", None)
        return pooled if pooled is not None else tokens.mean(1)
