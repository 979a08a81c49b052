"""Pushing a GLAD model folder (any `save_pretrained` folder: converted, trained or evaluated) to the Hub in one
commit, with GLAD's code for `trust_remote_code`, and the checks every push makes before its first request.

    python scripts/push_to_hub.py --folder outputs/run/glad/last --repo_id ORG/glad-k2b [--private]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from huggingface_hub import HfApi, get_token
from huggingface_hub import constants as hf_constants
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

from .remote_code import add_remote_code as write_remote_code
from .retry import HubPushError, RetryPolicy

logger = logging.getLogger(__name__)

__all__ = [
    "HubPushError",
    "check_model_folder",
    "check_repo_id",
    "hub_is_offline",
    "main",
    "missing_token",
    "push_model_folder",
]

PUBLIC_HUB = "https://huggingface.co"  # where a push needs a token (other endpoints may not)


def check_repo_id(repo_id: str) -> str:
    """`repo_id` if it is a valid Hub model id of the form ORG/NAME; ValueError naming it otherwise."""
    if not isinstance(repo_id, str) or repo_id.count("/") != 1:
        raise ValueError(f"repo id {repo_id!r} is not of the form ORG/NAME (e.g. my-org/glad-k2b-i3d)")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise ValueError(f"repo id {repo_id!r} is not a valid Hub model id (ORG/NAME): {error}") from error
    return repo_id


def hub_is_offline() -> bool:
    """Whether `HF_HUB_OFFLINE` is set, so that no upload or download can succeed."""
    return bool(hf_constants.HF_HUB_OFFLINE)


def missing_token(token: str | None = None) -> bool:
    """Whether a push would go to the public Hub with no token (none given, none saved by `hf auth login`, no
    HF_TOKEN), which it refuses."""
    return hf_constants.ENDPOINT.rstrip("/") == PUBLIC_HUB and not (token or get_token())


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


def push_model_folder(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    commit_message: str | None = None,
    retries: RetryPolicy | None = None,
    add_remote_code: bool = True,
):
    """Push a GLAD model folder to the Hub model repo `repo_id` in one commit; return the `CommitInfo`.

    Before any request, checks that `folder` is a GLAD model (`check_model_folder`) and that `repo_id` is ORG/NAME
    (`check_repo_id`), and refuses offline mode. Uploads a staged copy of the folder (the folder itself is never
    modified), to which `remote_code.add_remote_code` adds the custom-code files (so the pushed repo loads without
    glad_hf). Creates the repo (`private` applies to a new repo only) and uploads with one `HfApi.upload_folder`
    commit, so the repo never shows a half-pushed model. Failed attempts are retried as `retries` says (default
    `RetryPolicy()`: 3 retries, 5 s then doubled up to 2 min; `retry.is_retryable`); then `HubPushError` names the
    repo and the last error.
    """
    folder = check_model_folder(folder)
    check_repo_id(repo_id)
    if hub_is_offline():  # every attempt would fail the same way: say so instead of retrying
        raise HubPushError(
            f"pushing {folder} to the Hub repo {repo_id}: HF_HUB_OFFLINE=1 is set, so no upload can succeed; "
            "unset it and push again"
        )
    if not (folder / "README.md").is_file():
        logger.warning("%s has no README.md: the repo %s will have no model card.", folder, repo_id)
    commit_message = commit_message or f"Upload {folder.name} with glad_hf"
    api = HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="glad-push-") as staging:
        staged = Path(staging) / folder.name
        shutil.copytree(folder, staged, ignore=shutil.ignore_patterns(".*.tmp", "__pycache__"))
        if add_remote_code:
            write_remote_code(staged)

        def push():
            api.create_repo(repo_id, private=private, exist_ok=True)
            return api.upload_folder(repo_id=repo_id, folder_path=staged, commit_message=commit_message)

        commit, _ = (retries or RetryPolicy()).call(push, what=f"pushing {folder} to the Hub repo {repo_id}")
    logger.info("Pushed %s to %s (%s).", folder, repo_id, commit.commit_url)
    return commit


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
        retries = RetryPolicy(max_retries=args.max_retries)
    except ValueError as error:
        parser.error(str(error))
    commit = push_model_folder(
        args.folder,
        args.repo_id,
        private=args.private,
        commit_message=args.commit_message,
        retries=retries,
    )
    print(f"pushed {args.folder} to {args.repo_id}: {commit.commit_url}")
