"""Keeping a run on the Hub as it trains (`--hub_strategy`) and resuming it from there on another machine
(`--resume_from_checkpoint hub`)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from huggingface_hub import snapshot_download

from .background import BackgroundHubUploader
from .remote_code import add_remote_code

HUB_STRATEGIES = ("end", "every_save", "checkpoint", "all_checkpoints")
CHECKPOINT_IN_REPO = "last-checkpoint"
STAGE_FILES = ("metrics.json", "complete.json")


class HubPublisher:
    """What `--hub_strategy` pushes while a run trains (the transformers `Trainer`'s vocabulary), through one
    `BackgroundHubUploader`, so that nothing blocks the training loop.

    Repo layout: each stage in its own folder — `<stage>/` its finished model (`last/`) with `metrics.json` and
    `complete.json`, `<stage>/best/`, `<stage>/last-checkpoint/` (the newest training state), `<stage>/checkpoints/
    step_*` — and the headline GLAD model at the root as well, for `from_pretrained(repo_id)`.

    - "end": each stage's finished model, once the stage is done;
    - "every_save": also every model as it is saved (`best/` after each better validation, `last/`);
    - "checkpoint": also the newest training state to `<stage>/last-checkpoint`, so that `--resume_from_checkpoint
      hub` continues the run on another machine;
    - "all_checkpoints": also every training state to `<stage>/checkpoints/step_*`.
    """

    def __init__(self, uploader: BackgroundHubUploader, strategy: str):
        if strategy not in HUB_STRATEGIES:
            raise ValueError(f"hub_strategy must be one of {HUB_STRATEGIES}, got {strategy!r}")
        self.uploader = uploader
        self.strategy = strategy

    def model_saved(self, stage_dir: Path, folder: Path) -> None:
        if self.strategy != "end":
            where = stage_dir.name if folder.name == "last" else f"{stage_dir.name}/{folder.name}"
            self._submit_model(folder, where, f"{stage_dir.name}: {folder.name} model")

    def checkpoint_saved(self, stage_dir: Path, folder: Path) -> None:
        if self.strategy in ("checkpoint", "all_checkpoints"):
            self.uploader.submit(
                folder,
                path_in_repo=f"{stage_dir.name}/{CHECKPOINT_IN_REPO}",
                commit_message=f"{stage_dir.name}: training state at {folder.name}",
            )
        if self.strategy == "all_checkpoints":
            self.uploader.submit(folder, path_in_repo=f"{stage_dir.name}/checkpoints/{folder.name}")

    def stage_finished(self, stage_dir: Path, *, headline: bool) -> None:
        """The stage's model with its `metrics.json` and `complete.json` (which mark it finished for a resume)."""
        extra_files = [stage_dir / name for name in STAGE_FILES]
        self._submit_model(stage_dir / "last", stage_dir.name, stage_dir.name, extra_files)
        if headline:
            self._submit_model(stage_dir / "last", None, f"Headline model ({stage_dir.name}/last)")

    def _submit_model(self, folder: Path, path_in_repo: str | None, message: str, extra_files=()) -> None:
        """A model folder with `extra_files` and GLAD's code for `trust_remote_code` (`add_remote_code`), added to
        the uploader's snapshot."""
        self.uploader.submit(folder, path_in_repo, message, extra_files=extra_files, prepare=add_remote_code)


def download_stage_state(repo_id: str, stage_dir: Path, *, token: str | None = None) -> str | None:
    """Bring what the Hub holds of a stage (pushed by `HubPublisher`) into `stage_dir`: a finished stage (its model
    as `last/`, `metrics.json`, `complete.json`), else its newest training state as `checkpoints/step_*`. Returns
    "finished", "checkpoint" or None (nothing there)."""
    stage = stage_dir.name
    with tempfile.TemporaryDirectory(prefix="glad-hub-resume-") as download:
        snapshot_download(repo_id, allow_patterns=[f"{stage}/*"], local_dir=download, token=token)
        remote = Path(download) / stage
        if (remote / "complete.json").is_file():
            model = stage_dir / "last"
            shutil.rmtree(model, ignore_errors=True)
            model.mkdir(parents=True)
            for item in remote.iterdir():
                if item.is_file():
                    shutil.copy2(item, (stage_dir if item.name in STAGE_FILES else model) / item.name)
            return "finished"
        state = remote / CHECKPOINT_IN_REPO
        if (state / "progress.json").is_file():
            step = json.loads((state / "progress.json").read_text())["global_step"]
            target = stage_dir / "checkpoints" / f"step_{step:08d}"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(state, target)
            return "checkpoint"
    return None
