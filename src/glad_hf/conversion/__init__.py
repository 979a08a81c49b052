"""Converting reference checkpoints (mmaction2 I3D / TSM: Kinetics-400, TOL, GLAD; torchvision ImageNet ResNets)
into `save_pretrained` folders: `keys` (one key at a time, SPEC §4a/§4b), `state_dicts` (a whole state dict into the
model it matches, with a report), `checkpoint_folder` (a checkpoint file into a model folder with its card and
provenance, optionally pushed; the `glad-convert-mmaction` command)."""

from .checkpoint_folder import check_conversion_output, convert_mmaction_checkpoint, main
from .keys import (
    is_torchvision_resnet_state_dict,
    mmaction_key_to_glad,
    mmaction_tsm_key_to_glad,
    resnet_depth,
    torchvision_resnet_key_to_glad,
)
from .state_dicts import (
    ConversionReport,
    convert_mmaction_state_dict,
    convert_torchvision_resnet_state_dict,
    load_mmaction_state_dict,
)

__all__ = [
    "ConversionReport",
    "check_conversion_output",
    "convert_mmaction_checkpoint",
    "convert_mmaction_state_dict",
    "convert_torchvision_resnet_state_dict",
    "is_torchvision_resnet_state_dict",
    "load_mmaction_state_dict",
    "main",
    "mmaction_key_to_glad",
    "mmaction_tsm_key_to_glad",
    "resnet_depth",
    "torchvision_resnet_key_to_glad",
]
