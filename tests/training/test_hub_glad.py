"""The GLAD model through the Hub client against the local fake Hub: push, then from_pretrained from a fresh
cache; a training run whose uploads all fail still finishes; --hub_strategy every_save and checkpoint, and a killed
run resumed from the Hub on another machine."""
# ruff: noqa: F811  (test functions take the module-scoped `synthetic_root` fixture imported from test_train_glad)

import pytest
import torch
from test_train_glad import synthetic_root, tiny_run_args  # noqa: F401  (module-scoped fixture)

from glad_hf import GladForVideoClassification, GladVideoProcessor
from glad_hf.hub.background import BackgroundHubUploader
from glad_hf.hub.retry import RetryPolicy
from glad_hf.training import loop, run
from glad_hf.training.arguments import parse_arguments
from glad_hf.training.run import run_training
from helpers import clip_grid, crash_at_step, tiny_config


def test_push_then_from_pretrained_gives_the_same_logits(fake_hub, tmp_path):
    model = GladForVideoClassification(tiny_config()).eval()
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    GladVideoProcessor(size={"shortest_edge": 40}, crop_size={"height": 32, "width": 32}).save_pretrained(
        folder
    )
    uploader = BackgroundHubUploader("glad-org/glad-tiny", retries=RetryPolicy(backoff=0.01))
    uploader.submit(folder, commit_message="model")
    status = uploader.close(timeout=60)
    assert status.failed == 0 and status.done == 1
    loaded = GladForVideoClassification.from_pretrained(
        "glad-org/glad-tiny", cache_dir=tmp_path / "fresh_cache"
    )
    pixel_values = clip_grid()
    with torch.no_grad():
        torch.testing.assert_close(loaded.eval()(pixel_values).logits, model(pixel_values).logits)
    processor = GladVideoProcessor.from_pretrained("glad-org/glad-tiny", cache_dir=tmp_path / "fresh_cache")
    assert processor.crop_size["height"] == 32


def test_training_finishes_when_every_upload_fails(fake_hub, synthetic_root, tmp_path, monkeypatch):
    fake_hub.fail_requests("", times=10_000, status=500)
    uploaders = []

    def quick_uploader(*args, **kwargs):  # the real uploader, with short waits between its retries
        uploaders.append(BackgroundHubUploader(*args, **kwargs, retries=RetryPolicy(backoff=0.01)))
        return uploaders[-1]

    monkeypatch.setattr(run, "BackgroundHubUploader", quick_uploader)
    args = parse_arguments(
        tiny_run_args(synthetic_root, tmp_path / "run", "--stage", "glad", "--max_train_steps", "1",
                      "--compare_source_only", "false", "--push_to_hub", "true", "--hub_model_id", "glad-org/x",
                      "--hub_strategy", "end")
    )  # fmt: skip
    results = run_training(*args)
    assert (results["glad"].model_dir / "model.safetensors").is_file()
    status = uploaders[0].status()
    assert (
        status.submitted == 2 and status.failed == 2 and "500" in status.last_error
    )  # the stage folder, the root


@pytest.fixture
def quick_uploads(monkeypatch):
    """The real uploader with short waits between retries; yields the uploaders the runs create."""
    uploaders = []

    def quick_uploader(*args, **kwargs):
        uploaders.append(BackgroundHubUploader(*args, **kwargs, retries=RetryPolicy(backoff=0.01)))
        return uploaders[-1]

    monkeypatch.setattr(run, "BackgroundHubUploader", quick_uploader)
    return uploaders


def test_every_save_pushes_each_saved_model_into_the_stage_folder(
    fake_hub, synthetic_root, tmp_path, quick_uploads
):
    args = tiny_run_args(synthetic_root, tmp_path / "run", "--stage", "glad", "--max_train_steps", "2",
                         "--compare_source_only", "false", "--push_to_hub", "true", "--hub_model_id", "glad-org/run",
                         "--hub_strategy", "every_save")  # fmt: skip
    run_training(*parse_arguments(args))
    status = quick_uploads[0].status()
    # saved: best/ after the validation, last/; then the finished stage folder and the headline model at the root
    assert status.submitted == 4 and status.done == 4
    files = fake_hub.files("glad-org/run")
    for path in (
        "glad/best/model.safetensors",
        "glad/model.safetensors",
        "glad/complete.json",
        "model.safetensors",
    ):
        assert path in files, sorted(files)
    assert not any(path.startswith("glad/last-checkpoint") for path in files)  # not with every_save
    assert (
        "modeling_glad.py" in files and "glad/modeling_glad.py" in files
    )  # loadable with transformers alone
    assert '"AutoModelForVideoClassification"' in files["config.json"].decode()


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_a_run_killed_on_one_machine_resumes_from_the_hub_on_another(
    fake_hub,
    synthetic_root,
    tmp_path,
    monkeypatch,
    quick_uploads,  # noqa: F811
):
    common = ["--stage", "glad", "--max_train_steps", "5", "--num_train_epochs", "3", "--checkpointing_steps", "2",
              "--compare_source_only", "false", "--evaluate_every_epoch", "false"]  # fmt: skip
    straight = run_training(*parse_arguments(tiny_run_args(synthetic_root, tmp_path / "straight", *common)))
    expected = _weights(straight["glad"].model)

    original = loop._log_step
    monkeypatch.setattr(loop, "_log_step", crash_at_step(3, original, "the machine died"))
    pushing = ["--push_to_hub", "true", "--hub_model_id", "glad-org/run", "--hub_strategy", "checkpoint"]
    with pytest.raises(KeyboardInterrupt):
        run_training(
            *parse_arguments(tiny_run_args(synthetic_root, tmp_path / "machine_a", *common, *pushing))
        )
    monkeypatch.setattr(loop, "_log_step", original)
    assert quick_uploads[0].wait(timeout=60)
    assert "glad/last-checkpoint/progress.json" in fake_hub.files("glad-org/run")

    elsewhere = tmp_path / "machine_b"  # nothing of the first run on this disk
    resumed = run_training(
        *parse_arguments(tiny_run_args(synthetic_root, elsewhere, *common, "--resume_from_checkpoint", "hub",
                                       "--hub_model_id", "glad-org/run"))
    )  # fmt: skip
    assert resumed["glad"].metrics["steps"] == 5
    assert (elsewhere / "glad" / "checkpoints").is_dir()
    for key, value in _weights(resumed["glad"].model).items():
        torch.testing.assert_close(value, expected[key], rtol=1e-5, atol=1e-6, msg=key)
