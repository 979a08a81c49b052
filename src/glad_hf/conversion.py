"""Convert mmaction2 (GLAD reference) checkpoints into `save_pretrained` folders (SPEC §4a key layout).

Handles the Kinetics-400 I3D initialisation (backbone + 400-class head), TOL checkpoints (backbone + `neck.fc_cop*`)
and GLAD checkpoints (backbone + 12-class head + three domain classifiers), as `{'state_dict': ...}` or bare state
dicts, with or without DDP's `module.` prefix.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .configuration_glad import GladConfig
from .modeling_glad import GladForTemporalOrderLearning, GladForVideoClassification
from .video_processing_glad import GladVideoProcessor

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
_IGNORED_PREFIXES = ("data_preprocessor.",)


@dataclass
class ConversionReport:
    """What a conversion used, ignored and had to initialise."""

    used: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    initialised: list[str] = field(default_factory=list)
    architecture: str = ""

    def summary(self) -> str:
        lines = [f"architecture: {self.architecture}", f"used {len(self.used)} checkpoint keys"]
        lines.append(
            f"ignored {len(self.ignored)} keys" + (f": {', '.join(self.ignored)}" if self.ignored else "")
        )
        lines.append(
            f"newly initialised {len(self.initialised)} parameters"
            + (f": {', '.join(self.initialised)}" if self.initialised else "")
        )
        return "\n".join(lines)


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


def load_mmaction_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a checkpoint with `weights_only=True`; unwrap `state_dict` and strip a DDP `module.` prefix."""
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
    state_dict: dict[str, torch.Tensor], config: GladConfig | None = None, num_labels: int | None = None
) -> tuple[GladForVideoClassification | GladForTemporalOrderLearning, ConversionReport]:
    """Build the matching model and load `state_dict` (mmaction layout) into it.

    A TOL checkpoint (`neck.fc_cop*` keys) becomes `GladForTemporalOrderLearning`, anything else
    `GladForVideoClassification`. `num_labels` defaults to the checkpoint's head size (12 without a head). Shape
    mismatches raise ValueError naming the key.
    """
    if not any(k.startswith("backbone.") for k in state_dict):
        raise ValueError("the checkpoint has no 'backbone.*' keys: not an mmaction recognizer checkpoint")
    head = state_dict.get("cls_head.fc_cls.weight")
    if num_labels is None:
        num_labels = head.shape[0] if head is not None else 12
    if config is None:
        config = GladConfig() if num_labels == 12 else GladConfig(num_labels=num_labels)
    elif config.num_labels != num_labels:
        config.num_labels = num_labels
    is_tol = any(k.startswith("neck.fc_cop") for k in state_dict)
    model_class = GladForTemporalOrderLearning if is_tol else GladForVideoClassification
    model = model_class(config)
    target = model.state_dict()
    report = ConversionReport(architecture=model_class.__name__)
    converted = {}
    for key, tensor in state_dict.items():
        ours = (
            None if key.startswith(_IGNORED_PREFIXES) else mmaction_key_to_glad(key, config.domain_num_layers)
        )
        if ours is None or ours not in target:
            report.ignored.append(key)
            continue
        if tuple(tensor.shape) != tuple(target[ours].shape):
            if ours.startswith("classifier.") and head is not None and num_labels != head.shape[0]:
                report.ignored.append(
                    key
                )  # a head of another label set (e.g. Kinetics-400 -> 12 K->B classes)
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
    backbone_missing = [k for k in missing if k.startswith("glad.backbone.")]
    if backbone_missing:
        raise ValueError(
            f"the checkpoint lacks {len(backbone_missing)} backbone tensors, e.g. {backbone_missing[:3]}: "
            "it does not match the configured backbone"
        )
    return model, report


def convert_mmaction_checkpoint(
    checkpoint: str | Path,
    output_dir: str | Path,
    num_labels: int | None = None,
    config: GladConfig | None = None,
) -> ConversionReport:
    """Convert `checkpoint` and write a `from_pretrained` folder (model + `GladVideoProcessor`) to `output_dir`."""
    model, report = convert_mmaction_state_dict(load_mmaction_state_dict(checkpoint), config, num_labels)
    model.save_pretrained(output_dir)
    GladVideoProcessor(num_clips=model.config.num_clips, clip_len=model.config.clip_len).save_pretrained(
        output_dir
    )
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="mmaction .pth checkpoint")
    parser.add_argument("--output", required=True, help="folder to write (save_pretrained layout)")
    parser.add_argument(
        "--num-labels", type=int, default=None, help="classes of the head (default: checkpoint's)"
    )
    args = parser.parse_args(argv)
    report = convert_mmaction_checkpoint(args.checkpoint, args.output, num_labels=args.num_labels)
    print(report.summary())
    print(f"wrote {args.output}")
