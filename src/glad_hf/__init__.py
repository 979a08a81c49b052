"""glad_hf: GLAD (global-local view alignment and background debiasing, WACV 2024) for Hugging Face.

Importing the package registers the GLAD classes with transformers' auto classes, so that
`AutoModelForVideoClassification.from_pretrained(dir)` and `pipeline("video-classification", model=dir)` work
without `trust_remote_code`.
"""

from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForVideoClassification,
    AutoVideoProcessor,
)

from .backbones import BACKBONES, ResNet3dConfig, TorchvisionVideoConfig, TSMConfig
from .configuration_glad import GladConfig
from .modeling_glad import (
    GladForTemporalOrderLearning,
    GladForVideoClassification,
    GladModel,
    GladPreTrainedModel,
)
from .video_processing_glad import GladVideoProcessor

AutoConfig.register(GladConfig.model_type, GladConfig, exist_ok=True)
for _spec in BACKBONES.values():
    if _spec.config_class.model_type:  # "transformers" takes transformers' own, already registered, configs
        AutoConfig.register(_spec.config_class.model_type, _spec.config_class, exist_ok=True)
AutoModel.register(GladConfig, GladModel, exist_ok=True)
AutoModelForVideoClassification.register(GladConfig, GladForVideoClassification, exist_ok=True)
AutoVideoProcessor.register(GladConfig, video_processor_class=GladVideoProcessor, exist_ok=True)

__version__ = "0.1.0"

__all__ = [
    "GladConfig",
    "GladForTemporalOrderLearning",
    "GladForVideoClassification",
    "GladModel",
    "GladPreTrainedModel",
    "GladVideoProcessor",
    "ResNet3dConfig",
    "TSMConfig",
    "TorchvisionVideoConfig",
]
