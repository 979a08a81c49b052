"""The model card of a converted checkpoint (`glad_hf.conversion`), from its provenance: what the weights are and
what they are for, where they come from (file, sha256, model zoo), which keys were used, ignored or newly
initialised, and the licences of the weights and data behind them."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from huggingface_hub import ModelCard, ModelCardData

from glad_hf.atomic import atomic_write_text

from .cards import (
    CONVERTED_MODEL_CARD_TEMPLATE_NAME,
    EVALUATION_RESULTS_END,
    EVALUATION_RESULTS_START,
    card_from_template,
)
from .provenance import PROVENANCE_FILE_NAME

_BACKBONE_NAMES = {
    "resnet3d": "I3D ResNet3d-50 with non-local blocks",
    "tsm": "TSM ResNet (temporal shift)",
}

# The Kinetics->BABEL training recipes of the repository, by backbone (the stage-1 / stage-2 commands of the cards).
_RECIPES = {"resnet3d": "configs/k2b_i3d_paper.yaml", "tsm": "configs/k2b_tsm_r50_ablation.yaml"}


def _is_kinetics(provenance: Mapping) -> bool:
    zoo = provenance["source"].get("zoo") or {}
    return provenance["conversion"].get("source_num_labels") == 400 or "kinetics400" in zoo.get("config", "")


def _purpose(provenance: Mapping, model_id: str) -> tuple[str, str, str]:
    """(what the checkpoint is, what it is for, the command that uses it) for its kind."""
    conversion = provenance["conversion"]
    kind = conversion["kind"]
    backbone = _BACKBONE_NAMES.get(conversion["backbone_type"], f"`{conversion['backbone_type']}`")
    zoo = provenance["source"].get("zoo") or {}
    stage1 = (
        "**Stage-1 initialisation.** GLAD's stage 1 (temporal-order learning on both domains) starts from this "
        "backbone, as the paper's runs start from the Kinetics-400 I3D; stage 2 then starts from stage 1. The "
        "heads of a GLAD model (classifier, domain classifiers, clip-order head) are new."
    )
    recipe = _RECIPES.get(conversion["backbone_type"], _RECIPES["resnet3d"])
    train = (
        f"accelerate launch scripts/train_glad.py --config {recipe} --data_dir data --init_model {model_id}"
    )
    if kind == "imagenet_resnet":
        what = f"A torchvision ImageNet {zoo.get('arch', 'ResNet')} as the backbone of a TSM GLAD"
        return what, stage1, train
    if kind == "backbone" or (kind == "classifier" and _is_kinetics(provenance)):
        data = "Kinetics-400" if _is_kinetics(provenance) else "its pre-training data"
        what = f"The {backbone} of an mmaction2 recognizer trained on {data}"
        if conversion["num_labels"] == conversion.get("source_num_labels"):
            what += f", with its {conversion['num_labels']}-class head"
        return what, stage1, train
    if kind == "tol":
        what = f"A GLAD stage-1 model (temporal-order learning) with the {backbone}"
        purpose = (
            "**Stage-2 initialisation.** GLAD's stage 2 (global-local view alignment and background debiasing) "
            "starts from this backbone; it is not an action classifier itself."
        )
        return what, purpose, f"{train} --stage glad"
    what = f"A GLAD action classifier ({conversion['num_labels']} classes) with the {backbone}"
    if kind == "glad":
        what += " and its three domain classifiers (local, global, cross)"
    purpose = (
        "**Evaluation of a published GLAD model.** Score it on the Kinetics→BABEL target test list (BABEL val) "
        "with the reference's test protocol, or classify videos with it; on a local copy of this folder, "
        "`--update_card` adds the scores to this card."
    )
    evaluate = f"python scripts/evaluate_glad.py --model {model_id} --dataset kinetics2babel --data_dir data"
    return what, purpose, evaluate


def _licences(provenance: Mapping) -> tuple[str | None, list[str]]:
    """(licence id for the metadata or None when unknown, the card's licence lines)."""
    zoo = provenance["source"].get("zoo") or {}
    kind = provenance["conversion"]["kind"]
    lines = []
    if zoo.get("zoo") == "mmaction2":
        license_id = "apache-2.0"
        lines.append(
            "**Weights**: from the mmaction2 model zoo, released under the Apache License 2.0 (OpenMMLab)."
        )
    elif zoo.get("zoo") == "torchvision":
        license_id = "bsd-3-clause"
        lines.append(
            "**Weights**: torchvision's, BSD-3-Clause. They were trained on ImageNet-1k, whose terms restrict "
            "the images to non-commercial research; check them for your use."
        )
    else:
        license_id = None
        lines.append(
            "**Weights**: the licence of whoever published the checkpoint; it is not recorded here (set it with "
            "the converter's `--license`)."
        )
    if kind != "imagenet_resnet":
        lines.append(
            "**Kinetics-400**: annotations CC BY 4.0 (Google); the videos belong to their YouTube uploaders."
        )
    if kind in ("tol", "glad") or (kind == "classifier" and not _is_kinetics(provenance)):
        lines.append(
            "**BABEL / AMASS** (the target domain of Kinetics→BABEL): for non-commercial scientific research only, "
            "not to be redistributed. Weights trained on it (even without its labels) should be used accordingly."
        )
    lines.append(
        "**Code**: glad_hf and the GLAD reference code are BSD-3-Clause; mmaction2, whose checkpoint layout "
        "this converts, is Apache-2.0."
    )
    return license_id, lines


def _datasets(provenance: Mapping) -> list[str]:
    kind = provenance["conversion"]["kind"]
    zoo = provenance["source"].get("zoo") or {}
    if kind == "imagenet_resnet":
        return ["imagenet-1k"]
    if kind in ("tol", "glad"):
        return ["kinetics2babel"]
    datasets = ["imagenet-1k"] if "imagenet-pretrained" in zoo.get("config", "") else []
    if _is_kinetics(provenance):
        datasets.append("kinetics-400")
    return datasets


def _key_groups(keys: Sequence[str]) -> str:
    counts: dict[str, int] = {}
    for key in keys:
        prefix = key.split(".", 1)[0] if "." in key else key
        counts[prefix] = counts.get(prefix, 0) + 1
    return ", ".join(f"{count} `{prefix}.*`" for prefix, count in counts.items()) or "none"


def render_converted_model_card(
    provenance: Mapping,
    *,
    model_id: str,
    base_model: str | None = None,
    license: str | None = None,
    datasets: Sequence[str] | None = None,
    template_path: str | os.PathLike | None = None,
) -> ModelCard:
    """The model card of a converted checkpoint, from its `provenance` (what `glad_hf.conversion` writes to
    `provenance.json`: `source` = `describe_checkpoint_file`, `conversion` = the converter's report).

    Args:
        model_id: Hub id ("ORG/NAME") or local folder of the converted model, for its name and the usage snippets.
        base_model: Hub id of the model these weights come from, when it is on the Hub.
        license: licence id for the metadata; default: apache-2.0 for mmaction2 zoo files, bsd-3-clause for
            torchvision's, none otherwise.
        datasets: the `datasets` metadata; default from the checkpoint's kind (Kinetics-400, ImageNet-1k,
            kinetics2babel).
        template_path: Jinja template to use instead of `model_cards/converted_model_card.md`.
    """
    source, conversion = provenance["source"], provenance["conversion"]
    zoo = source.get("zoo") or {}
    model_name = str(model_id).rstrip("/").split("/")[-1]
    what, purpose, command = _purpose(provenance, model_id)
    default_license, licence_lines = _licences(provenance)
    classifier = conversion["architecture"] == "GladForVideoClassification"
    tags = ["glad", "video-domain-adaptation", "converted-checkpoint", conversion["backbone_type"]]
    tags.append("torchvision" if conversion["kind"] == "imagenet_resnet" else "mmaction2")
    if _is_kinetics(provenance) and conversion["kind"] != "imagenet_resnet":
        tags.append("kinetics-400")
    card_data = ModelCardData(
        model_name=model_name,
        base_model=base_model,
        datasets=list(datasets) if datasets is not None else _datasets(provenance) or None,
        library_name="glad_hf",
        pipeline_tag="video-classification" if classifier else None,
        license=license or default_license,
        tags=tags,
    )
    provenance_rows = [
        ("source file", f"`{source['file_name']}` ({source['size_bytes']:,} bytes)"),
        ("sha256", f"`{source['sha256']}`"),
    ]
    if zoo.get("zoo") == "mmaction2":
        provenance_rows.append(
            (
                "model zoo",
                f"mmaction2, config `{zoo['config']}`, published {zoo['date']}, id `{zoo['zoo_id']}`",
            )
        )
    elif zoo.get("zoo") == "torchvision":
        provenance_rows.append(("model zoo", f"torchvision, `{zoo['arch']}`, id `{zoo['zoo_id']}`"))
    if zoo:
        matches = zoo.get("sha256_matches_hash_suffix")
        check = (
            "the file's sha256 starts with it: this is the published file"
            if matches
            else "the file's sha256 does **not** start with it: not the published file (renamed or re-saved)"
        )
        provenance_rows.append(("hash suffix", f"`{zoo['hash_suffix']}`: {check}"))
        provenance_rows.append(("zoo download", zoo["url"]))
    else:
        provenance_rows.append(("model zoo", "none recognised from the file name"))
    provenance_rows.append(("checkpoint", conversion["kind_description"]))
    provenance_rows.append(
        (
            "converted to",
            f"`{conversion['architecture']}`, backbone `{conversion['backbone_type']}`, "
            f"{conversion['num_labels']} labels",
        )
    )
    converter = provenance.get("converter", {})
    provenance_rows.append(
        ("converted with", f"glad_hf {converter.get('version', '?')}, {converter.get('converted_at', '?')}")
    )
    return card_from_template(
        card_data,
        template_path=template_path,
        default_template=CONVERTED_MODEL_CARD_TEMPLATE_NAME,
        model_id=model_id,
        model_name=model_name,
        base_model=base_model,
        what=what,
        purpose=purpose,
        command=command,
        classifier=classifier,
        provenance_rows=provenance_rows,
        num_used=len(conversion["used"]),
        used_groups=_key_groups(conversion["used"]),
        ignored=conversion["ignored"],
        initialised=conversion["initialised"],
        provenance_file=PROVENANCE_FILE_NAME,
        evaluation_start=EVALUATION_RESULTS_START,
        evaluation_end=EVALUATION_RESULTS_END,
        licence_lines=licence_lines,
    )


def write_converted_model_card(folder: str | os.PathLike, provenance: Mapping, **kwargs) -> Path:
    """Write `provenance.json` and the card (`render_converted_model_card(provenance, **kwargs)`, as README.md) to
    `folder`, each atomically; returns the card's path."""
    folder = Path(folder)
    card = render_converted_model_card(provenance, **kwargs)
    atomic_write_text(folder / PROVENANCE_FILE_NAME, json.dumps(provenance, indent=2) + "\n")
    return atomic_write_text(folder / "README.md", str(card))
