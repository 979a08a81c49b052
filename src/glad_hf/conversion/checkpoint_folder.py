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
from pathlib import Path

from ..configuration_glad import GladConfig
from ..hub.converted_card import write_converted_model_card
from ..hub.provenance import conversion_provenance
from ..hub.push import check_repo_id, push_model_folder
from ..video_processing_glad import GladVideoProcessor
from .keys import is_torchvision_resnet_state_dict
from .state_dicts import (
    ConversionReport,
    convert_mmaction_state_dict,
    convert_torchvision_resnet_state_dict,
    load_mmaction_state_dict,
)


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
