"""Convert mmaction2 (GLAD reference) checkpoints into `save_pretrained` folders (SPEC §4a/§4b key layouts).

Handles the Kinetics-400 I3D initialisation (backbone + 400-class head), TOL checkpoints (backbone + `neck.fc_cop*`)
and GLAD checkpoints (backbone + 12-class head + three domain classifiers), as `{'state_dict': ...}` or bare state
dicts, with or without DDP's `module.` prefix; the backbone is mmaction's I3D `ResNet3d` or its `ResNetTSM` (told
apart by the shifted conv's `conv1.conv.net.weight` keys). A torchvision ImageNet ResNet state dict (the usual TSM
initialisation) becomes a TSM GLAD with new heads. Each folder gets a model card and a `provenance.json` (source
file, sha256, model-zoo identity, keys used / ignored / newly initialised; `glad_hf.hub`); `--push_to_hub
ORG/NAME` pushes it.
"""

from __future__ import annotations

import argparse
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .backbones import TSMConfig
from .configuration_glad import GladConfig
from .hub.converted_card import write_converted_model_card
from .hub.provenance import conversion_provenance
from .hub.push import check_repo_id, push_model_folder
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
# mmaction's ResNetTSM wraps each shifted conv in `TemporalShift(net=conv)`; ours shifts inside the block
_TSM_SHIFTED_CONV = re.compile(r"backbone\.layer(\d+)\.(\d+)\.conv1\.conv\.net\.(weight)$")
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
    match = _TSM_SHIFTED_CONV.match(key)
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
            is_tsm = any(_TSM_SHIFTED_CONV.match(k) for k in state_dict)
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
        return None if key.startswith(_IGNORED_PREFIXES) else key_to_glad(key, config.domain_num_layers)

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


def check_conversion_output(output_dir: str | Path, *, overwrite: bool) -> None:
    """Refuse an output folder that is a file, or that holds files (unless `overwrite`): a converted model is
    never written over another silently."""
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"--output {output_dir} is a file; give a folder to write the converted model to")
    if not overwrite and output_dir.is_dir() and any(output_dir.iterdir()):
        names = sorted(p.name for p in output_dir.iterdir())[:5]
        raise ValueError(
            f"--output {output_dir} already holds files ({', '.join(names)}); choose an empty or new folder, or pass "
            "--overwrite to write over them"
        )


def convert_mmaction_checkpoint(
    checkpoint: str | Path,
    output_dir: str | Path,
    num_labels: int | None = None,
    config: GladConfig | None = None,
    backbone_type: str | None = None,
    *,
    model_card: bool = True,
    model_id: str | None = None,
    base_model: str | None = None,
    license: str | None = None,
    overwrite: bool = False,
) -> ConversionReport:
    """Convert `checkpoint` and write a `from_pretrained` folder (model + `GladVideoProcessor`) to `output_dir`, which
    must be absent or empty unless `overwrite` (then its files of the same names are replaced).

    An mmaction checkpoint (I3D or TSM, see `convert_mmaction_state_dict`) or a torchvision ImageNet ResNet state
    dict (a TSM GLAD with new heads, see `convert_torchvision_resnet_state_dict`). With `model_card`, also writes
    `provenance.json` (source file name, sha256 and model-zoo identity, the keys used, ignored and newly
    initialised) and a model card (README.md, `glad_hf.hub.render_converted_model_card`) naming the model
    `model_id` (its Hub id; default: `output_dir`), with `base_model` and `license` in its metadata.
    """
    check_conversion_output(output_dir, overwrite=overwrite)
    if num_labels is not None and num_labels < 1:
        raise ValueError(f"--num-labels must be >= 1 (the classes of the head), got {num_labels}")
    state_dict = load_mmaction_state_dict(checkpoint)
    if is_torchvision_resnet_state_dict(state_dict):
        if backbone_type not in (None, "tsm"):
            raise ValueError(
                f"{checkpoint}: a torchvision ImageNet ResNet initialises the 'tsm' backbone, not {backbone_type!r}"
            )
        model, report = convert_torchvision_resnet_state_dict(state_dict, config, num_labels)
    else:
        model, report = convert_mmaction_state_dict(state_dict, config, num_labels, backbone_type)
    model.save_pretrained(output_dir)
    GladVideoProcessor(num_clips=model.config.num_clips, clip_len=model.config.clip_len).save_pretrained(
        output_dir
    )
    if model_card:
        write_converted_model_card(
            output_dir,
            conversion_provenance(checkpoint, report.to_dict()),
            model_id=model_id or str(output_dir),
            base_model=base_model,
            license=license,
        )
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkpoint",
        required=True,
        help="mmaction .pth checkpoint, or a torchvision ImageNet ResNet state dict",
    )
    parser.add_argument("--output", required=True, help="folder to write (save_pretrained layout)")
    parser.add_argument(
        "--num-labels", type=int, default=None, help="classes of the head (default: checkpoint's)"
    )
    parser.add_argument(
        "--backbone",
        choices=("auto", "resnet3d", "tsm"),
        default="auto",
        help="the checkpoint's backbone: I3D ResNet3d or TSM (default: TSM when it has 'conv1.conv.net' keys "
        "or is a torchvision ResNet, else I3D)",
    )
    parser.add_argument(
        "--push_to_hub",
        "--push-to-hub",
        metavar="ORG/NAME",
        default=None,
        help="push the converted folder to this Hub model repo (created if missing) in one commit",
    )
    parser.add_argument("--private", action="store_true", help="with --push_to_hub: create the repo private")
    parser.add_argument(
        "--overwrite", action="store_true", help="write into an --output folder that already holds files"
    )
    parser.add_argument(
        "--base_model",
        "--base-model",
        default=None,
        help="Hub id of the model these weights come from, for the card's metadata",
    )
    parser.add_argument(
        "--license",
        default=None,
        help="licence id for the card's metadata (default: apache-2.0 for mmaction2 zoo files, bsd-3-clause for "
        "torchvision's, none otherwise)",
    )
    args = parser.parse_args(argv)
    if args.num_labels is not None and args.num_labels < 1:
        parser.error(f"--num-labels must be >= 1 (the classes of the head), got {args.num_labels}")
    try:
        check_conversion_output(args.output, overwrite=args.overwrite)
    except ValueError as error:
        parser.error(str(error))
    if args.push_to_hub is not None:
        try:
            check_repo_id(args.push_to_hub)  # before the conversion's work
        except ValueError as error:
            parser.error(f"--push_to_hub: {error}")
    elif args.private:
        parser.error("--private applies to --push_to_hub")
    backbone_type = None if args.backbone == "auto" else args.backbone
    report = convert_mmaction_checkpoint(
        args.checkpoint,
        args.output,
        num_labels=args.num_labels,
        backbone_type=backbone_type,
        model_id=args.push_to_hub,
        base_model=args.base_model,
        license=args.license,
        overwrite=args.overwrite,
    )
    print(report.summary())
    print(f"wrote {args.output}")
    if args.push_to_hub is not None:
        commit = push_model_folder(
            args.output,
            args.push_to_hub,
            private=args.private,
            commit_message=f"Convert {Path(args.checkpoint).name} with glad_hf",
        )
        print(f"pushed {args.output} to {args.push_to_hub}: {commit.commit_url}")
