"""Reading a reference checkpoint safely (`weights_only=True`) and loading its state dict into the GLAD model it
matches, with a report of the keys used, ignored and newly initialised."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..configuration_glad import GladConfig
from ..modeling_glad import GladForTemporalOrderLearning, GladForVideoClassification
from .keys import (
    IGNORED_PREFIXES,
    TSM_SHIFTED_CONV,
    is_torchvision_resnet_state_dict,
    mmaction_key_to_glad,
    mmaction_tsm_key_to_glad,
    resnet_depth,
    torchvision_resnet_key_to_glad,
)

_KIND_DESCRIPTIONS = {
    "backbone": "an mmaction2 recognizer's backbone alone",
    "classifier": "an mmaction2 recognizer: backbone and a {source_num_labels}-class head",
    "tol": "a GLAD stage-1 (TOL) checkpoint: backbone and clip-order head",
    "glad": "a GLAD checkpoint: backbone, {source_num_labels}-class head and three domain classifiers",
    "imagenet_resnet": "a torchvision ImageNet ResNet state dict",
}


@dataclass
class ConversionReport:
    """What a conversion used, ignored and had to initialise, and what the checkpoint was: `kind` is "backbone",
    "classifier" (backbone + action head, e.g. Kinetics-400), "tol", "glad" or "imagenet_resnet";
    `source_num_labels` is the size of the checkpoint's action head (None without one)."""

    used: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    initialised: list[str] = field(default_factory=list)
    architecture: str = ""
    kind: str = ""
    backbone_type: str = ""
    num_labels: int | None = None
    source_num_labels: int | None = None

    @property
    def kind_description(self) -> str:
        return _KIND_DESCRIPTIONS.get(self.kind, self.kind).format(source_num_labels=self.source_num_labels)

    def to_dict(self) -> dict:
        """Everything in the report, for `provenance.json`."""
        return {
            "kind": self.kind,
            "kind_description": self.kind_description,
            "architecture": self.architecture,
            "backbone_type": self.backbone_type,
            "num_labels": self.num_labels,
            "source_num_labels": self.source_num_labels,
            "counts": {
                "used": len(self.used),
                "ignored": len(self.ignored),
                "initialised": len(self.initialised),
            },
            "used": list(self.used),
            "ignored": list(self.ignored),
            "initialised": list(self.initialised),
        }

    def summary(self) -> str:
        lines = [f"checkpoint: {self.kind_description}"] if self.kind else []
        lines += [f"architecture: {self.architecture}", f"used {len(self.used)} checkpoint keys"]
        lines.append(
            f"ignored {len(self.ignored)} keys" + (f": {', '.join(self.ignored)}" if self.ignored else "")
        )
        lines.append(
            f"newly initialised {len(self.initialised)} parameters"
            + (f": {', '.join(self.initialised)}" if self.initialised else "")
        )
        return "\n".join(lines)


def load_mmaction_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a checkpoint with `weights_only=True`; unwrap `state_dict` and strip a DDP `module.` prefix."""
    with open(path, "rb") as file:  # FileNotFoundError names the path
        head = file.read(2)
    # torch.save writes a zip archive ("PK"); PyTorch < 1.6 (and `_use_new_zipfile_serialization=False`) a pickle,
    # which starts with the PROTO opcode 0x80.
    if not zipfile.is_zipfile(path) and head[:1] != b"\x80":
        raise ValueError(
            f"{path}: not a PyTorch checkpoint (neither the zip archive torch.save writes nor a legacy pickle); "
            "expected an mmaction2 .pth file"
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:
        raise ValueError(
            f"{path}: cannot be read as a PyTorch checkpoint with weights_only=True ({err}). Re-save its "
            "'state_dict' alone (torch.save(torch.load(path)['state_dict'], new_path)) from a trusted environment."
        ) from err
    state_dict = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ValueError(f"{path}: expected a state dict of tensors or a dict with a 'state_dict' entry")
    if state_dict and all(k.startswith("module.") for k in state_dict):
        state_dict = {k[len("module.") :]: v for k, v in state_dict.items()}
    return state_dict


def convert_mmaction_state_dict(
    state_dict: dict[str, torch.Tensor],
    config: GladConfig | None = None,
    num_labels: int | None = None,
    backbone_type: str | None = None,
) -> tuple[GladForVideoClassification | GladForTemporalOrderLearning, ConversionReport]:
    """Build the matching model and load `state_dict` (mmaction layout) into it.

    A TOL checkpoint (`neck.fc_cop*` keys) becomes `GladForTemporalOrderLearning`, anything else
    `GladForVideoClassification`. `num_labels` defaults to the checkpoint's head size (12 without a head).
    `backbone_type` ("resnet3d" or "tsm") defaults to the config's, else to "tsm" when the keys hold TSM's shifted
    convs (`conv1.conv.net.weight`); a TSM config defaults to TSM-R50 (or the depth the keys show). Shape mismatches
    raise ValueError naming the key.
    """
    if not any(k.startswith("backbone.") for k in state_dict):
        raise ValueError("the checkpoint has no 'backbone.*' keys: not an mmaction recognizer checkpoint")
    if backbone_type is None:
        if config is not None:
            backbone_type = config.backbone_type
        else:
            is_tsm = any(TSM_SHIFTED_CONV.match(k) for k in state_dict)
            backbone_type = "tsm" if is_tsm else "resnet3d"
    if backbone_type not in ("resnet3d", "tsm"):
        raise ValueError(
            f"mmaction checkpoints hold a 'resnet3d' or 'tsm' backbone, got backbone_type {backbone_type!r}"
        )
    if config is not None and config.backbone_type != backbone_type:
        raise ValueError(
            f"backbone_type {backbone_type!r} does not match the config's {config.backbone_type!r}"
        )
    head = state_dict.get("cls_head.fc_cls.weight")
    if num_labels is None:
        num_labels = head.shape[0] if head is not None else 12
    if config is None:
        labels = {} if num_labels == 12 else {"num_labels": num_labels}
        if backbone_type == "tsm":
            depth = resnet_depth(state_dict, prefix="backbone.")
            config = GladConfig.for_backbone("tsm", {"depth": depth}, **labels)
        else:
            config = GladConfig(**labels)
    elif config.num_labels != num_labels:
        config.num_labels = num_labels
    is_tol = any(k.startswith("neck.fc_cop") for k in state_dict)
    model_class = GladForTemporalOrderLearning if is_tol else GladForVideoClassification
    model = model_class(config)
    key_to_glad = mmaction_tsm_key_to_glad if backbone_type == "tsm" else mmaction_key_to_glad

    def convert_key(key: str) -> str | None:
        return None if key.startswith(IGNORED_PREFIXES) else key_to_glad(key, config.domain_num_layers)

    report = _load_converted(model, state_dict, convert_key, head)
    if is_tol:
        report.kind = "tol"
    elif any(re.match(r"neck\.\d+\.fc_domain\.", k) for k in state_dict):
        report.kind = "glad"
    else:
        report.kind = "classifier" if head is not None else "backbone"
    report.source_num_labels = int(head.shape[0]) if head is not None else None
    return model, report


def convert_torchvision_resnet_state_dict(
    state_dict: dict[str, torch.Tensor], config: GladConfig | None = None, num_labels: int | None = None
) -> tuple[GladForVideoClassification, ConversionReport]:
    """A TSM GLAD whose backbone starts from a torchvision ImageNet ResNet (SPEC §4b); the heads are new.

    `config` defaults to `GladConfig.for_backbone("tsm")` at the depth the keys show (50 for `resnet50`), with
    `num_labels` classes (default 12, the K->B labels).
    """
    if not is_torchvision_resnet_state_dict(state_dict):
        raise ValueError(
            "the state dict has no 'conv1.weight' and 'layer1.0.conv1.weight': not a torchvision ResNet"
        )
    if config is None:
        labels = {} if num_labels in (None, 12) else {"num_labels": num_labels}
        config = GladConfig.for_backbone("tsm", {"depth": resnet_depth(state_dict)}, **labels)
    elif config.backbone_type != "tsm":
        raise ValueError(
            f"an ImageNet ResNet initialises the 'tsm' backbone, got backbone_type {config.backbone_type!r}"
        )
    model = GladForVideoClassification(config)
    # torchvision's older ImageNet files lack BatchNorm's `num_batches_tracked` counters: they start at 0
    report = _load_converted(
        model,
        state_dict,
        torchvision_resnet_key_to_glad,
        head=None,
        optional_suffixes=("num_batches_tracked",),
    )
    report.kind = "imagenet_resnet"
    return model, report


def _load_converted(model, state_dict, convert_key, head, optional_suffixes=()) -> ConversionReport:
    """Load the tensors `convert_key` maps into `model`; a checkpoint head of another label set is ignored. Every
    backbone tensor must be loaded, but those ending in `optional_suffixes`."""
    model_class = type(model)
    num_labels = model.config.num_labels
    target = model.state_dict()
    report = ConversionReport(
        architecture=model_class.__name__, backbone_type=model.config.backbone_type, num_labels=num_labels
    )
    converted = {}
    for key, tensor in state_dict.items():
        ours = convert_key(key)
        if ours is None or ours not in target:
            report.ignored.append(key)
            continue
        if tuple(tensor.shape) != tuple(target[ours].shape):
            if ours.startswith("classifier.") and head is not None and num_labels != head.shape[0]:
                # a head of another label set (e.g. Kinetics-400 -> 12 K->B classes)
                report.ignored.append(key)
                continue
            raise ValueError(
                f"checkpoint key {key!r} has shape {tuple(tensor.shape)} but {ours!r} in {model_class.__name__} "
                f"expects {tuple(target[ours].shape)}: the checkpoint does not match the configuration"
            )
        converted[ours] = tensor.to(target[ours].dtype)
        report.used.append(key)
    missing = [k for k in target if k not in converted]
    model.load_state_dict(converted, strict=False)
    report.initialised = missing
    backbone_missing = [
        k for k in missing if k.startswith("glad.backbone.") and not k.endswith(optional_suffixes)
    ]
    if backbone_missing:
        raise ValueError(
            f"the checkpoint lacks {len(backbone_missing)} backbone tensors, e.g. {backbone_missing[:3]}: "
            "it does not match the configured backbone"
        )
    return report
