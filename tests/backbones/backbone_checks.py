"""GLAD-level checks every backbone family must pass: a stage-2 step, a temporal-order step, a save/load round
trip with the nested backbone config. Shared by the per-family test files."""

from __future__ import annotations

import json
import math

import torch
from transformers import AutoModelForVideoClassification

from glad_hf import GladConfig, GladForTemporalOrderLearning, GladForVideoClassification
from helpers import clip_grid


def views_of(config: GladConfig, batch: int, size: int, seed: int = 0) -> torch.Tensor:
    """A clip grid [B, N, 3, T, size, size] sized by the config."""
    return clip_grid(batch=batch, num_clips=config.num_clips, clip_len=config.clip_len, size=size, seed=seed)


def check_stage2_step(config: GladConfig, size: int) -> None:
    """One GLAD step: per-group backbone calls, finite losses of every domain classifier, gradients reaching the
    backbone, and an optimiser step that changes its weights."""
    torch.manual_seed(0)
    model = GladForVideoClassification(config).train()
    calls = []
    model.glad.backbone.extract_features = _recording(model.glad.backbone.extract_features, calls)
    source, target = views_of(config, 2, size, seed=1), views_of(config, 2, size, seed=2)
    out = model(source, labels=torch.tensor([0, 1]), target_pixel_values=target)
    num_local = len(config.local_clip_indices)
    assert calls == [2 * num_local, 2, 2 * num_local, 2]  # source-local, source-global, target-local, -global
    assert out.logits.shape == (2, config.num_labels)
    assert set(out.domain_losses) == set(config.domain_alignment)
    assert math.isfinite(out.loss.item())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = [p.detach().clone() for p in model.glad.backbone.parameters()]
    out.loss.backward()
    grads = [p.grad for p in model.glad.backbone.parameters() if p.grad is not None]
    assert grads and any(float(g.abs().sum()) > 0 for g in grads)
    optimizer.step()
    after = list(model.glad.backbone.parameters())
    assert any(not torch.equal(b, a) for b, a in zip(before, after))


def check_temporal_order_step(config: GladConfig, size: int) -> None:
    """One temporal-order-learning step on K clips of `clip_len` frames: logits over K! orders, backbone gradients."""
    torch.manual_seed(0)
    model = GladForTemporalOrderLearning(config).train()
    clips = clip_grid(batch=2, num_clips=config.tol_num_clips, clip_len=config.clip_len, size=size, seed=3)
    out = model(clips, permutation=torch.tensor([1, 4]))
    assert out.logits.shape == (2, math.factorial(config.tol_num_clips)) and math.isfinite(out.loss.item())
    out.loss.backward()
    assert any(float(p.grad.abs().sum()) > 0 for p in model.glad.backbone.parameters() if p.grad is not None)


def check_round_trip(config: GladConfig, tmp_path, size: int, backbone_model_type: str) -> dict:
    """save_pretrained / AutoModelForVideoClassification.from_pretrained: same class, nested config type and
    logits. Returns the stored config.json."""
    torch.manual_seed(0)
    model = GladForVideoClassification(config).eval()
    model.save_pretrained(tmp_path)
    stored = json.loads((tmp_path / "config.json").read_text())
    assert stored["backbone_type"] == config.backbone_type
    assert stored["backbone_config"]["model_type"] == backbone_model_type
    loaded = AutoModelForVideoClassification.from_pretrained(tmp_path).eval()
    assert type(loaded) is GladForVideoClassification
    assert type(loaded.config.backbone_config) is type(config.backbone_config)
    assert loaded.config.backbone_config.to_dict() == config.backbone_config.to_dict()
    pixel_values = views_of(config, 1, size, seed=4)
    with torch.no_grad():
        torch.testing.assert_close(loaded(pixel_values).logits, model(pixel_values).logits)
    return stored


def _recording(extract_features, calls: list):
    def wrapped(pixel_values):
        calls.append(pixel_values.shape[0])
        return extract_features(pixel_values)

    return wrapped
