"""mmaction2 and torchvision state-dict keys to GLAD's (SPEC §4a/§4b), one key at a time, and what a state dict's
keys tell about its network (a torchvision ResNet, its depth)."""

from __future__ import annotations

import re

import torch

from ..backbones import TSMConfig

# mmaction non-local sub-module -> ours
_NON_LOCAL_NAMES = {
    "theta.conv": "query",
    "phi.0.conv": "key",
    "g.0.conv": "value",
    "conv_out.conv": "output.conv",
    "conv_out.bn": "output.bn",
}
# GLAD's neck order (configs/glad.py): 0 local, 1 global, 2 cross
_NECK_NAMES = ("local", "global", "cross")
IGNORED_PREFIXES = ("data_preprocessor.",)
# mmaction's ResNetTSM wraps each shifted conv in `TemporalShift(net=conv)`; ours shifts inside the block
TSM_SHIFTED_CONV = re.compile(r"backbone\.layer(\d+)\.(\d+)\.conv1\.conv\.net\.(weight)$")
# torchvision ResNet module -> ours (SPEC §4b); `fc.*` has no counterpart
_TORCHVISION_RESNET_NAMES = {"conv1": "conv1.conv", "bn1": "conv1.bn"}
_TORCHVISION_BLOCK_NAMES = {
    "conv1": "conv1.conv",
    "bn1": "conv1.bn",
    "conv2": "conv2.conv",
    "bn2": "conv2.bn",
    "conv3": "conv3.conv",
    "bn3": "conv3.bn",
    "downsample.0": "downsample.conv",
    "downsample.1": "downsample.bn",
}


def mmaction_key_to_glad(key: str, domain_num_layers: int = 4) -> str | None:
    """Our state-dict key for one mmaction key, or None for keys with no counterpart."""
    if key.startswith("backbone."):
        rest = key[len("backbone.") :]
        match = re.match(r"layer(\d+)\.(\d+)\.(.*)", rest)
        if match is None:
            return "glad.backbone." + rest if rest.startswith("conv1.") else None
        stage, block, tail = int(match.group(1)) - 1, match.group(2), match.group(3)
        if tail.startswith("non_local_block."):
            tail = tail[len("non_local_block.") :]
            for theirs, ours in _NON_LOCAL_NAMES.items():
                if tail.startswith(theirs + "."):
                    tail = "non_local." + ours + tail[len(theirs) :]
                    break
            else:
                return None
        return f"glad.backbone.layers.{stage}.{block}.{tail}"
    if key.startswith("cls_head.fc_cls."):
        return "classifier.fc." + key[len("cls_head.fc_cls.") :]
    match = re.match(r"neck\.(\d+)\.fc_domain\.(\d+)\.0\.(weight|bias)$", key)
    if match is not None:
        neck, layer, leaf = int(match.group(1)), int(match.group(2)), match.group(3)
        if neck >= len(_NECK_NAMES):
            return None
        name = _NECK_NAMES[neck]
        part = "output" if layer == domain_num_layers else f"blocks.{layer}.0"
        return f"domain_classifiers.{name}.{part}.{leaf}"
    match = re.match(r"neck\.fc_cop([12])\.(weight|bias)$", key)
    if match is not None:
        part = "pair_projection" if match.group(1) == "1" else "classifier"
        return f"temporal_order_head.{part}.{match.group(2)}"
    return None


def mmaction_tsm_key_to_glad(key: str, domain_num_layers: int = 4) -> str | None:
    """Our key for one key of an mmaction `ResNetTSM` recognizer, or None: the I3D table (same 2D-ResNet module
    names), with the shifted conv's wrapper dropped (`layer{L}.{b}.conv1.conv.net.weight` -> `conv1.conv.weight`)."""
    match = TSM_SHIFTED_CONV.match(key)
    if match is not None:
        stage, block, leaf = int(match.group(1)) - 1, match.group(2), match.group(3)
        return f"glad.backbone.layers.{stage}.{block}.conv1.conv.{leaf}"
    if ".non_local_block." in key:
        return None  # TSM with non-local blocks (mmaction's NL3DWrapper) is not built here
    return mmaction_key_to_glad(key, domain_num_layers)


def torchvision_resnet_key_to_glad(key: str) -> str | None:
    """Our TSM backbone key for one key of a torchvision ImageNet ResNet (SPEC §4b), or None (`fc.*`)."""
    match = re.match(r"layer(\d+)\.(\d+)\.(conv\d|bn\d|downsample\.[01])\.(.+)$", key)
    if match is not None:
        stage, block, module, leaf = int(match.group(1)) - 1, match.group(2), match.group(3), match.group(4)
        return f"glad.backbone.layers.{stage}.{block}.{_TORCHVISION_BLOCK_NAMES[module]}.{leaf}"
    module, _, leaf = key.partition(".")
    if module in _TORCHVISION_RESNET_NAMES:
        return f"glad.backbone.{_TORCHVISION_RESNET_NAMES[module]}.{leaf}"
    return None


def is_torchvision_resnet_state_dict(state_dict: dict[str, torch.Tensor]) -> bool:
    """A torchvision `resnet*` state dict (`conv1.weight`, `bn1.*`, `layer1.0.conv1.weight`, ...)."""
    return "conv1.weight" in state_dict and "layer1.0.conv1.weight" in state_dict


def resnet_depth(state_dict: dict[str, torch.Tensor], prefix: str = "") -> int:
    """The ResNet depth (18/34/50/101) whose blocks per stage and block kind the keys under `prefix` show."""
    blocks = {}
    for key in state_dict:
        match = re.match(re.escape(prefix) + r"layer(\d+)\.(\d+)\.", key)
        if match is not None:
            stage, block = int(match.group(1)), int(match.group(2))
            blocks[stage] = max(blocks.get(stage, 0), block + 1)
    stage_blocks = tuple(blocks[stage] for stage in sorted(blocks))
    bottleneck = any(re.match(re.escape(prefix) + r"layer\d+\.\d+\.conv3\.", key) for key in state_dict)
    for depth, expected in TSMConfig.DEPTH_TO_STAGE_BLOCKS.items():
        if expected == stage_blocks and (depth >= 50) == bottleneck:
            return depth
    raise ValueError(
        f"the checkpoint's ResNet has {stage_blocks} {'bottleneck' if bottleneck else 'basic'} blocks per stage: "
        f"not a ResNet of depth {sorted(TSMConfig.DEPTH_TO_STAGE_BLOCKS)}"
    )
