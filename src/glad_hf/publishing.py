"""Publishing GLAD model folders: model cards (and `provenance.json`) of converted checkpoints, and pushing any
`save_pretrained` folder to the Hugging Face Hub.

Used by the converter (model side) and by training and evaluation alike, so it imports no `glad_hf.training` or
`glad_hf.data` code. The card templates are `model_cards/*.md` (`find_model_card_template`).

    python scripts/push_to_hub.py --folder outputs/run/glad/last --repo_id ORG/glad-k2b [--private]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from huggingface_hub import EvalResult, HfApi, ModelCard, ModelCardData
from huggingface_hub import constants as hf_constants
from huggingface_hub.errors import HfHubHTTPError, HFValidationError
from huggingface_hub.utils import validate_repo_id

from .atomic import atomic_write_text
from .remote_code import add_remote_code as write_remote_code

logger = logging.getLogger(__name__)

MODEL_CARD_TEMPLATE_NAME = "glad_model_card.md"
CONVERTED_MODEL_CARD_TEMPLATE_NAME = "converted_model_card.md"
PROVENANCE_FILE_NAME = "provenance.json"

# `scripts/evaluate_glad.py --update_card` writes its results table between these two lines (a converted card holds
# them from the start, around "not evaluated yet"; other cards get them at the end of their Evaluation section).
EVALUATION_RESULTS_START = "<!-- glad_hf:evaluation-results:start -->"
EVALUATION_RESULTS_END = "<!-- glad_hf:evaluation-results:end -->"

GLAD_CITATION = """@inproceedings{leebae2024glad,
  title={{GLAD}: Global-Local View Alignment and Background Debiasing for Video Domain Adaptation},
  author={Lee, Hyogun and Bae, Kyungho and Ha, Seong Jong and Ko, Yumin and Park, Gyeong-Moon and Choi, Jinwoo},
  booktitle={Proceedings of the IEEE Winter Conference on Applications of Computer Vision (WACV)},
  year={2024}
}"""

# (key in the metric results, model-index metric type, pretty name); values are fractions, reported in percent.
HEADLINE_METRICS = (
    ("mean_class_accuracy", "mean_class_accuracy", "Mean class accuracy (MCA)"),
    ("top1_accuracy", "accuracy", "Top-1 accuracy"),
    ("top5_accuracy", "top_5_accuracy", "Top-5 accuracy"),
)

# mmaction2's `publish_model` names a file `<config>_<YYYYMMDD>-<first 8 hex of its sha256>.pth`; torchvision's
# weights are `<arch>-<first 8+ hex of the sha256>.pth`.
_MMACTION_ZOO_NAME = re.compile(r"^(?P<config>.+)_(?P<date>\d{8})-(?P<hash>[0-9a-f]{8})\.pth$")
_TORCHVISION_ZOO_NAME = re.compile(r"^(?P<arch>[a-z][a-z0-9_]*)-(?P<hash>[0-9a-f]{8,64})\.pth$")
_MMACTION_DOWNLOAD = (
    "https://download.openmmlab.com/mmaction/v1.0/recognition/{algorithm}/{config}/{file_name}"
)
_TORCHVISION_DOWNLOAD = "https://download.pytorch.org/models/{file_name}"

_BACKBONE_NAMES = {
    "resnet3d": "I3D ResNet3d-50 with non-local blocks",
    "tsm": "TSM ResNet (temporal shift)",
}

# The Kinetics->BABEL training recipes of the repository, by backbone (the stage-1 / stage-2 commands of the cards).
_RECIPES = {"resnet3d": "configs/k2b_i3d_paper.yaml", "tsm": "configs/k2b_tsm_r50_ablation.yaml"}

_RETRY_NOTHING_ON = (400, 401, 403, 422)  # HTTP answers a retry cannot change: bad request, no permission


class HubPushError(RuntimeError):
    """Pushing a model folder to the Hub failed after every attempt; the message names the repo and the last error."""


def find_model_card_template(name: str = MODEL_CARD_TEMPLATE_NAME) -> Path:
    """Path of a model card template: `glad_hf/model_cards/<name>` when the package was installed with its data,
    else `model_cards/<name>` at the root of the source checkout this module runs from."""
    installed = resources.files("glad_hf") / "model_cards" / name
    checkout = Path(__file__).resolve().parents[2] / "model_cards" / name
    for candidate in (installed, checkout):
        if candidate.is_file():
            return Path(str(candidate))
    raise FileNotFoundError(f"Model card template {name!r} not found in {installed} nor in {checkout}.")


def percent(value: float) -> float:
    """A fraction as a percentage rounded to two decimals, the unit of the cards' results."""
    return round(100.0 * float(value), 2)


def eval_results_from_metrics(
    metrics: Mapping,
    *,
    dataset_type: str,
    dataset_name: str,
    split: str,
    dataset_config: str | None = None,
) -> list[EvalResult]:
    """`model-index` entries (MCA, top-1, top-5 in percent) of the `mean_class_accuracy` metric's output `metrics`;
    metrics it lacks are left out."""
    results = []
    for key, metric_type, pretty_name in HEADLINE_METRICS:
        if metrics.get(key) is None:
            continue
        results.append(
            EvalResult(
                task_type="video-classification",
                task_name="Video Classification",
                dataset_type=dataset_type,
                dataset_name=dataset_name,
                dataset_config=dataset_config,
                dataset_split=split,
                metric_type=metric_type,
                metric_name=pretty_name,
                metric_value=percent(metrics[key]),
            )
        )
    return results


# ---------------------------------------------------------------------------------------------------------------
# Provenance and cards of converted checkpoints
# ---------------------------------------------------------------------------------------------------------------


def sha256_of_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def parse_zoo_file_name(file_name: str, sha256: str | None = None) -> dict | None:
    """The model-zoo identity a checkpoint's file name carries, or None.

    mmaction2 (`<config>_<YYYYMMDD>-<hash>.pth`): `{"zoo": "mmaction2", "config", "date", "hash_suffix",
    "zoo_id": "<YYYYMMDD>-<hash>", "url"}`; torchvision (`<arch>-<hash>.pth`): `{"zoo": "torchvision", "arch",
    "hash_suffix", "zoo_id", "url"}`. With `sha256` (the file's), `sha256_matches_hash_suffix` says whether the
    file is the one the name claims (both zoos name a file by the start of its sha256).
    """
    name = Path(file_name).name
    match = _MMACTION_ZOO_NAME.match(name)
    if match is not None:
        config, date, suffix = match.group("config"), match.group("date"), match.group("hash")
        algorithm = config.split("_", 1)[0]
        identity = {
            "zoo": "mmaction2",
            "config": config,
            "date": f"{date[:4]}-{date[4:6]}-{date[6:]}",
            "hash_suffix": suffix,
            "zoo_id": f"{date}-{suffix}",
            "url": _MMACTION_DOWNLOAD.format(algorithm=algorithm, config=config, file_name=name),
        }
    else:
        match = _TORCHVISION_ZOO_NAME.match(name)
        if match is None:
            return None
        identity = {
            "zoo": "torchvision",
            "arch": match.group("arch"),
            "hash_suffix": match.group("hash"),
            "zoo_id": f"{match.group('arch')}-{match.group('hash')}",
            "url": _TORCHVISION_DOWNLOAD.format(file_name=name),
        }
    if sha256 is not None:
        identity["sha256_matches_hash_suffix"] = sha256.startswith(identity["hash_suffix"])
    return identity


def describe_checkpoint_file(path: str | os.PathLike) -> dict:
    """Name, size, sha256 and model-zoo identity (`parse_zoo_file_name`) of a checkpoint file."""
    path = Path(path)
    sha256 = sha256_of_file(path)
    return {
        "file_name": path.name,
        "size_bytes": path.stat().st_size,
        "sha256": sha256,
        "zoo": parse_zoo_file_name(path.name, sha256),
    }


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
    template = (
        Path(template_path)
        if template_path is not None
        else find_model_card_template(CONVERTED_MODEL_CARD_TEMPLATE_NAME)
    )
    return ModelCard.from_template(
        card_data,
        template_path=str(template),
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
        citation=GLAD_CITATION,
    )


def write_converted_model_card(folder: str | os.PathLike, provenance: Mapping, **kwargs) -> Path:
    """Write `provenance.json` and the card (`render_converted_model_card(provenance, **kwargs)`, as README.md) to
    `folder`, each atomically; returns the card's path."""
    folder = Path(folder)
    card = render_converted_model_card(provenance, **kwargs)
    atomic_write_text(folder / PROVENANCE_FILE_NAME, json.dumps(provenance, indent=2) + "\n")
    return atomic_write_text(folder / "README.md", str(card))


def conversion_provenance(checkpoint: str | os.PathLike, conversion: Mapping) -> dict:
    """The provenance record of a conversion: converter, source file (`describe_checkpoint_file`) and `conversion`
    (the converter's report: kind, architecture, used / ignored / newly initialised keys)."""
    from . import __version__

    return {
        "converter": {
            "library": "glad_hf",
            "version": __version__,
            "converted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
        "source": describe_checkpoint_file(checkpoint),
        "conversion": dict(conversion),
    }


# ---------------------------------------------------------------------------------------------------------------
# Pushing a model folder
# ---------------------------------------------------------------------------------------------------------------


def check_repo_id(repo_id: str) -> str:
    """`repo_id` if it is a valid Hub model id of the form ORG/NAME; ValueError naming it otherwise."""
    if not isinstance(repo_id, str) or repo_id.count("/") != 1:
        raise ValueError(f"repo id {repo_id!r} is not of the form ORG/NAME (e.g. my-org/glad-k2b-i3d)")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise ValueError(f"repo id {repo_id!r} is not a valid Hub model id (ORG/NAME): {error}") from error
    return repo_id


def check_model_folder(folder: str | os.PathLike) -> Path:
    """`folder` if it is a GLAD `save_pretrained` folder (config.json with model_type "glad", *.safetensors
    weights); ValueError naming the folder otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: no model folder there")
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise ValueError(f"{folder} is not a GLAD model folder: it has no config.json")
    try:
        model_type = json.loads(config_file.read_text()).get("model_type")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as error:
        raise ValueError(
            f"{folder} is not a GLAD model folder: its config.json cannot be read ({error})"
        ) from error
    if model_type != "glad":
        raise ValueError(
            f"{folder} is not a GLAD model folder (config.json with model_type 'glad' expected, found "
            f"{model_type!r}); convert mmaction checkpoints with scripts/convert_mmaction_checkpoint.py"
        )
    if not any(folder.glob("*.safetensors")):
        raise ValueError(f"{folder} is not a GLAD model folder: it holds no *.safetensors weights")
    return folder


def _retryable(error: Exception) -> bool:
    response = getattr(error, "response", None) if isinstance(error, HfHubHTTPError) else None
    return getattr(response, "status_code", None) not in _RETRY_NOTHING_ON


def push_model_folder(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    commit_message: str | None = None,
    max_retries: int = 3,
    backoff: float = 5.0,
    max_backoff: float = 120.0,
    endpoint: str | None = None,
    add_remote_code: bool = True,
):
    """Push a GLAD model folder to the Hub model repo `repo_id` in one commit; return the `CommitInfo`.

    Before any request, checks that `folder` is a GLAD model (`check_model_folder`) and that `repo_id` is ORG/NAME
    (`check_repo_id`). Uploads a staged copy of the folder (the folder itself is never modified), to which
    `glad_hf.remote_code.add_remote_code` adds the custom-code files (so the pushed repo loads without glad_hf). Creates the repo (`private` applies to a new repo only) and uploads with one
    `HfApi.upload_folder` commit, so the repo never shows a half-pushed model. A failed attempt is retried
    `max_retries` times after `backoff` seconds, doubled each time up to `max_backoff`, except for answers a retry
    cannot change (HTTP 400, 401, 403, 422); then `HubPushError` names the repo and the last error.
    """
    folder = check_model_folder(folder)
    check_repo_id(repo_id)
    if hf_constants.HF_HUB_OFFLINE:  # every attempt would fail the same way: say so instead of retrying
        raise HubPushError(
            f"pushing {folder} to the Hub repo {repo_id}: HF_HUB_OFFLINE=1 is set, so no upload can succeed; "
            "unset it and push again"
        )
    if not (folder / "README.md").is_file():
        logger.warning("%s has no README.md: the repo %s will have no model card.", folder, repo_id)
    commit_message = commit_message or f"Upload {folder.name} with glad_hf"
    api = HfApi(endpoint=endpoint, token=token)
    with tempfile.TemporaryDirectory(prefix="glad-push-") as staging:
        staged = Path(staging) / folder.name
        shutil.copytree(folder, staged, ignore=shutil.ignore_patterns(".*.tmp", "__pycache__"))
        if add_remote_code:
            write_remote_code(staged)
        created, last_error, attempts = False, None, 0
        for attempt in range(max_retries + 1):
            attempts = attempt + 1
            try:
                if not created:
                    api.create_repo(repo_id, private=private, exist_ok=True)
                    created = True
                commit = api.upload_folder(repo_id=repo_id, folder_path=staged, commit_message=commit_message)
            except Exception as error:  # HTTP, network, disk: retried, then raised with the repo's name
                last_error = error
                if attempt == max_retries or not _retryable(error):
                    break
                delay = min(backoff * 2**attempt, max_backoff)
                logger.warning(
                    "Pushing %s to %s failed (attempt %d of %d), retrying in %.1f s: %s",
                    folder,
                    repo_id,
                    attempts,
                    max_retries + 1,
                    delay,
                    error,
                )
                time.sleep(delay)
            else:
                logger.info("Pushed %s to %s (%s).", folder, repo_id, commit.commit_url)
                return commit
    raise HubPushError(
        f"pushing {folder} to the Hub repo {repo_id} failed after {attempts} attempt"
        f"{'s' if attempts > 1 else ''}: {type(last_error).__name__}: {last_error}"
    ) from last_error


def main(argv: list[str] | None = None) -> None:
    """`scripts/push_to_hub.py`: push a model folder written by the converter, training or evaluation."""
    parser = argparse.ArgumentParser(
        description="Push a GLAD model folder (save_pretrained layout) to the Hub."
    )
    parser.add_argument(
        "--folder", required=True, help="the model folder (config.json, *.safetensors, README.md)"
    )
    parser.add_argument("--repo_id", required=True, help="Hub model repo ORG/NAME (created if missing)")
    parser.add_argument("--private", action="store_true", help="create the repo private (a new repo only)")
    parser.add_argument("--commit_message", default=None, help="default: 'Upload <folder name> with glad_hf'")
    parser.add_argument("--max_retries", type=int, default=3, help="retries of a failed upload (default 3)")
    args = parser.parse_args(argv)
    try:
        check_model_folder(args.folder)
        check_repo_id(args.repo_id)
    except ValueError as error:
        parser.error(str(error))
    commit = push_model_folder(
        args.folder,
        args.repo_id,
        private=args.private,
        commit_message=args.commit_message,
        max_retries=args.max_retries,
    )
    print(f"pushed {args.folder} to {args.repo_id}: {commit.commit_url}")
