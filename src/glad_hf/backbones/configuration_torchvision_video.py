"""Configuration of the torchvision video backbones (`torchvision_video.py`). Imports no network code."""

from __future__ import annotations

from typing import ClassVar

from transformers import PreTrainedConfig


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
            from torchvision.models import get_model_weights  # the weights enums only, no network is built

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

    @classmethod
    def tiny(cls) -> TorchvisionVideoConfig:
        """mc3_18, the lightest video ResNet (512-d features: torchvision's networks are fixed), for tests."""
        return cls(model_name="mc3_18")
