import json
import logging
import time

import pytest
import torch
from huggingface_hub import snapshot_download
from safetensors.torch import load_file, save_file

from fake_hub import free_local_port, patch_hub_client
from glad_hf import GladForVideoClassification
from glad_hf.hub.background import BackgroundHubUploader
from glad_hf.hub.retry import RetryPolicy
from helpers import tiny_config

# huggingface_hub's LFS upload passes a file object as `data=`, which its HTTP client deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

REPO_ID = "glad-org/glad-tiny"


def write_checkpoint(folder, value=1.0):
    """A small checkpoint: safetensors weights (binary: pushed through LFS), config.json and a nested text file
    (committed inline)."""
    folder.mkdir(parents=True, exist_ok=True)
    save_file({"weight": torch.full((4, 3), value), "bias": torch.arange(4.0)}, folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps({"model_type": "glad", "value": value}))
    (folder / "logs").mkdir(exist_ok=True)
    (folder / "logs" / "eval.json").write_text(json.dumps({"mean_class_accuracy": 0.5}))
    return folder


def wait_until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def folder_bytes(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_pushed_folder_downloads_back_identical(fake_hub, tmp_path):
    checkpoint = write_checkpoint(tmp_path / "checkpoint")
    with BackgroundHubUploader(REPO_ID) as uploader:
        job = uploader.submit(checkpoint, commit_message="epoch 1")
    assert job.state == "done" and job.attempts == 1
    assert job.commit_url.startswith(f"{fake_hub.endpoint}/{REPO_ID}/commit/")
    assert any(method == "PUT" and path.startswith("/fake-lfs/") for method, path in fake_hub.requests)

    downloaded = snapshot_download(REPO_ID, cache_dir=tmp_path / "fresh_cache")
    downloaded_files = folder_bytes(type(checkpoint)(downloaded))
    downloaded_files.pop(".gitattributes")
    assert downloaded_files == folder_bytes(checkpoint)
    weights = load_file(f"{downloaded}/model.safetensors")
    assert torch.equal(weights["weight"], torch.full((4, 3), 1.0))


def test_submit_snapshots_the_folder_and_returns_while_the_hub_hangs(fake_hub, tmp_path):
    checkpoint = write_checkpoint(tmp_path / "checkpoint", value=1.0)
    expected = folder_bytes(checkpoint)
    uploader = BackgroundHubUploader(REPO_ID)
    fake_hub.pause()
    job = uploader.submit(checkpoint)
    assert job.state in ("queued", "uploading")
    assert uploader.status().done == 0

    write_checkpoint(checkpoint, value=2.0)  # training overwrites the checkpoint while the upload waits
    fake_hub.resume()
    status = uploader.close()

    assert status.done == 1 and status.failed == 0
    pushed = fake_hub.files(REPO_ID)
    pushed.pop(".gitattributes")
    assert pushed == expected


def test_a_failing_upload_is_retried_and_logged(fake_hub, tmp_path, caplog):
    fake_hub.fail_requests("/commit/", times=2, status=500)
    uploader = BackgroundHubUploader(REPO_ID, retries=RetryPolicy(max_retries=3, backoff=0.01))
    with caplog.at_level(logging.WARNING, logger="glad_hf.hub"):
        job = uploader.submit(write_checkpoint(tmp_path / "checkpoint"))
        uploader.close()

    assert job.state == "done" and job.attempts == 3
    retries = [record for record in caplog.records if "retrying" in record.getMessage()]
    assert len(retries) == 2 and all("500" in record.getMessage() for record in retries)
    assert "model.safetensors" in fake_hub.files(REPO_ID)


@pytest.mark.parametrize("failure", ["server_down", "server_error"])
def test_an_upload_that_keeps_failing_is_given_up_without_raising(fake_hub, tmp_path, caplog, failure):
    if failure == "server_down":
        endpoint = f"http://127.0.0.1:{free_local_port()}"
    else:
        endpoint = fake_hub.endpoint
        fake_hub.fail_requests("/api/repos/create", times=100, status=500)
    with patch_hub_client(endpoint), caplog.at_level(logging.WARNING, logger="glad_hf.hub"):
        uploader = BackgroundHubUploader(REPO_ID, retries=RetryPolicy(max_retries=2, backoff=0.01))
        job = uploader.submit(write_checkpoint(tmp_path / "checkpoint"))
        status = uploader.close()

    assert job.state == "failed" and job.attempts == 3
    assert status.failed == 1 and status.done == 0 and status.last_error
    assert any(
        record.levelno == logging.ERROR and "after 3 attempts" in record.getMessage()
        for record in caplog.records
    )
    assert REPO_ID not in fake_hub.repos


def test_a_newer_submission_supersedes_a_queued_one(fake_hub, tmp_path):
    uploader = BackgroundHubUploader(REPO_ID)
    fake_hub.pause()
    first = uploader.submit(write_checkpoint(tmp_path / "a", value=1.0), path_in_repo="last")
    wait_until(lambda: first.state == "uploading")  # the worker took it and hangs on the paused hub
    second = uploader.submit(write_checkpoint(tmp_path / "b", value=2.0), path_in_repo="last")
    best = uploader.submit(write_checkpoint(tmp_path / "c", value=3.0), path_in_repo="best")
    third = uploader.submit(write_checkpoint(tmp_path / "d", value=4.0), path_in_repo="last")
    fake_hub.resume()
    status = uploader.close()

    assert first.state == "done"  # already uploading when the others came
    assert second.state == "superseded"
    assert best.state == third.state == "done"
    assert (status.done, status.superseded) == (3, 1)
    pushed = fake_hub.files(REPO_ID)
    assert json.loads(pushed["last/config.json"])["value"] == 4.0
    assert json.loads(pushed["best/config.json"])["value"] == 3.0


def test_the_repo_is_created_private_when_asked(fake_hub, tmp_path):
    with BackgroundHubUploader(REPO_ID, private=True) as uploader:
        uploader.submit(write_checkpoint(tmp_path / "checkpoint"))
    assert fake_hub.repos[REPO_ID].private


def test_a_missing_folder_is_logged_not_raised(fake_hub, tmp_path, caplog):
    with BackgroundHubUploader(REPO_ID) as uploader:
        with caplog.at_level(logging.ERROR, logger="glad_hf.hub"):
            job = uploader.submit(tmp_path / "missing")
    assert job.state == "failed" and "could not snapshot" in job.error
    assert "not queued" in caplog.text


def test_repo_id_must_name_an_organisation():
    with pytest.raises(ValueError, match="ORG/NAME"):
        BackgroundHubUploader("glad-tiny")


def test_from_pretrained_reads_a_pushed_model_from_a_fresh_cache(fake_hub, tmp_path):
    torch.manual_seed(0)
    model = GladForVideoClassification(tiny_config())
    model.save_pretrained(tmp_path / "checkpoint")
    with BackgroundHubUploader(REPO_ID) as uploader:
        uploader.submit(tmp_path / "checkpoint")

    loaded = GladForVideoClassification.from_pretrained(REPO_ID, cache_dir=tmp_path / "fresh_cache")
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
