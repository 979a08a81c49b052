"""The GLAD model through the Hub client against the local fake Hub: push, then from_pretrained from a fresh
cache; and a training run whose uploads all fail still finishes."""

import torch
from test_train_glad import synthetic_root, tiny_run_args  # noqa: F401  (module-scoped fixture)

from glad_hf import GladForVideoClassification, GladVideoProcessor
from glad_hf.training import run
from glad_hf.training.arguments import parse_arguments
from glad_hf.training.hub import BackgroundHubUploader
from glad_hf.training.run import run_training
from helpers import clip_grid, tiny_config


def test_push_then_from_pretrained_gives_the_same_logits(fake_hub, tmp_path):
    model = GladForVideoClassification(tiny_config()).eval()
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    GladVideoProcessor(size={"shortest_edge": 40}, crop_size={"height": 32, "width": 32}).save_pretrained(
        folder
    )
    uploader = BackgroundHubUploader("glad-org/glad-tiny", endpoint=fake_hub.endpoint, backoff=0.01)
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


def test_training_finishes_when_every_upload_fails(fake_hub, synthetic_root, tmp_path, monkeypatch):  # noqa: F811
    fake_hub.fail_requests("", times=10_000, status=500)
    uploaders = []

    def quick_uploader(*args, **kwargs):  # the real uploader, with short waits between its retries
        uploaders.append(BackgroundHubUploader(*args, **kwargs, backoff=0.01))
        return uploaders[-1]

    monkeypatch.setattr(run, "BackgroundHubUploader", quick_uploader)
    args = parse_arguments(
        tiny_run_args(synthetic_root, tmp_path / "run", "--stage", "glad", "--max_train_steps", "1",
                      "--compare_source_only", "false", "--push_to_hub", "true", "--hub_model_id", "glad-org/x")
    )  # fmt: skip
    results = run_training(*args)
    assert (results["glad"].model_dir / "model.safetensors").is_file()
    status = uploaders[0].status()
    assert status.submitted == 1 and status.failed == 1 and "500" in status.last_error
