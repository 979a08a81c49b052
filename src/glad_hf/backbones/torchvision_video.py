"""`torchvision.models.video` networks as GLAD backbones: the torchvision model with its classification layer
removed, pooled as its own head pools (global average for the video ResNets, S3D and Swin3D; the class token for
MViT)."""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import get_model, get_model_weights

from .configuration_torchvision_video import TorchvisionVideoConfig
from .loading import building_on_meta_device, keep_own_initialisation


class TorchvisionVideoBackbone(nn.Module):
    """A torchvision video network. `extract_features`: one view [B, 3, T, H, W] -> pooled feature [B, D]."""

    def __init__(self, config: TorchvisionVideoConfig):
        super().__init__()
        self.config = config
        model = get_model(config.model_name, weights=None)
        if config.weights is not None and not building_on_meta_device():
            weights = get_model_weights(config.model_name)[config.weights]
            model.load_state_dict(weights.get_state_dict(progress=True, check_hash=True))
        if config.model_name == "s3d":
            # S3D's head averages (2, 7, 7) windows of its 16x224x224 input; a global average takes any view size.
            model.avgpool = nn.AdaptiveAvgPool3d(1)
            model.classifier = nn.Identity()
        elif config.model_name in ("mvit_v2_s", "swin3d_t"):
            model.head = nn.Identity()
        else:
            model.fc = nn.Identity()
        keep_own_initialisation(model)  # torchvision's own initialisation (or its weights), not GLAD's
        self.model = model
        self.num_features = config.hidden_size

    def extract_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """One view [B, 3, T, H, W] -> pooled feature [B, D]."""
        fixed, minimum = self.config.fixed_input_size, self.config.min_input_size
        size = tuple(pixel_values.shape[2:])
        if (
            pixel_values.ndim != 5
            or (fixed is not None and size != fixed)
            or any(n < m for n, m in zip(size, minimum))
        ):
            expected = f"(T, H, W) = {fixed}" if fixed is not None else f"(T, H, W) >= {minimum}"
            raise ValueError(
                f"torchvision {self.config.model_name} takes views [B, 3, T, H, W] with {expected}, got shape "
                f"{tuple(pixel_values.shape)}"
            )
        return self.model(pixel_values)
