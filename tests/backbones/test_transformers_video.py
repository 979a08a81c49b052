"""transformers video encoders (VideoMAE, TimeSformer) as GLAD backbones, on tiny random configurations, offline."""

import json

import pytest
import torch
from transformers import AutoModel, TimesformerConfig, VideoMAEConfig, VideoMAEModel, pipeline

from backbones.backbone_checks import (
    check_round_trip,
    check_stage2_step,
    check_temporal_order_step,
    views_of,
)
from glad_hf import GladConfig, GladForVideoClassification, GladModel, GladVideoProcessor
from glad_hf.backbones import TransformersVideoBackbone, build_backbone
from helpers import write_mp4

TINY = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, image_size=32)


def tiny_videomae(**overrides) -> VideoMAEConfig:
    return VideoMAEConfig(**{**TINY, "patch_size": 16, "num_frames": 8, "tubelet_size": 2, **overrides})


def tiny_timesformer(**overrides) -> TimesformerConfig:
    return TimesformerConfig(**{**TINY, "patch_size": 16, "num_frames": 8, **overrides})


def test_videomae_pools_the_mean_patch_token_through_fc_norm():
    backbone = build_backbone("transformers", tiny_videomae()).eval()
    assert isinstance(backbone.encoder, VideoMAEModel) and backbone.num_features == 32
    view = torch.randn(2, 3, 8, 32, 32)
    with torch.no_grad():
        features = backbone.extract_features(view)
        tokens = backbone.encoder(pixel_values=view.permute(0, 2, 1, 3, 4)).last_hidden_state
    assert tokens.shape == (2, 4 * 2 * 2, 32)  # 8 / tubelet 2 x (32 / 16)^2 patches
    torch.testing.assert_close(features, backbone.fc_norm(tokens.mean(1)))


def test_timesformer_pools_the_class_token():
    backbone = build_backbone("transformers", tiny_timesformer()).eval()
    assert backbone.fc_norm is None
    view = torch.randn(2, 3, 8, 32, 32)
    with torch.no_grad():
        features = backbone.extract_features(view)
        tokens = backbone.encoder(pixel_values=view.permute(0, 2, 1, 3, 4)).last_hidden_state
    assert features.shape == (2, 32)
    torch.testing.assert_close(features, tokens[:, 0])


def test_the_encoder_keeps_its_own_initialisation():
    config = GladConfig.for_backbone("transformers", tiny_timesformer())
    torch.manual_seed(0)
    expected = AutoModel.from_config(config.backbone_config).state_dict()
    torch.manual_seed(0)
    model = GladModel(config)
    for name, tensor in model.backbone.encoder.state_dict().items():
        torch.testing.assert_close(tensor, expected[name], msg=name)


@pytest.mark.parametrize("make_config", [tiny_videomae, tiny_timesformer])
def test_frame_count_comes_from_the_encoder_config(make_config):
    config = GladConfig.for_backbone("transformers", make_config(num_frames=4).to_dict())
    assert (config.num_clips, config.clip_len, config.local_clip_indices, config.global_frame_index) == (
        4,
        4,
        (2, 3),
        1,
    )
    assert type(config.backbone_config) is type(make_config())
    with pytest.raises(ValueError, match="takes views of 16 frames"):
        GladConfig(backbone_type="transformers", backbone_config=make_config(num_frames=16))
    backbone = TransformersVideoBackbone(make_config())
    with pytest.raises(ValueError, match=r"T=8"):
        backbone.extract_features(torch.zeros(1, 3, 4, 32, 32))


@pytest.mark.parametrize(
    "backbone_config, message",
    [
        (None, "backbone_config for backbone_type 'transformers'"),
        ({"hidden_size": 32}, "needs a 'model_type'"),
        ({"model_type": "no_such_model"}, "does not describe a transformers model"),
        ({"model_type": "glad_tsm"}, "transformers video encoder"),
    ],
)
def test_bad_encoder_configs_are_explained(backbone_config, message):
    with pytest.raises(ValueError, match=message):
        GladConfig.for_backbone("transformers", backbone_config)


def test_unknown_backbone_type_is_refused():
    with pytest.raises(ValueError, match="backbone_type must be one of"):
        GladConfig.for_backbone("c3d")


@pytest.mark.parametrize("make_config", [tiny_videomae, tiny_timesformer])
def test_stage2_training_step(make_config):
    check_stage2_step(GladConfig.tiny("transformers", backbone_config=make_config()), size=32)


@pytest.mark.parametrize("make_config", [tiny_videomae, tiny_timesformer])
def test_temporal_order_training_step(make_config):
    check_temporal_order_step(GladConfig.tiny("transformers", backbone_config=make_config()), size=32)


@pytest.mark.parametrize(
    "make_config, model_type", [(tiny_videomae, "videomae"), (tiny_timesformer, "timesformer")]
)
def test_save_and_load_round_trip(make_config, model_type, tmp_path):
    config = GladConfig.tiny("transformers", backbone_config=make_config())
    stored = check_round_trip(config, tmp_path, size=32, backbone_model_type=model_type)
    assert stored["backbone_config"]["hidden_size"] == 32 and stored["backbone_config"]["num_frames"] == 8


def test_encoder_weights_come_from_a_pretrained_folder_and_are_not_needed_to_reload(tmp_path):
    torch.manual_seed(1)
    encoder = VideoMAEModel(tiny_videomae())
    encoder.save_pretrained(tmp_path / "encoder")
    config = GladConfig.for_backbone(
        "transformers",
        {"pretrained_model_name_or_path": str(tmp_path / "encoder"), "hidden_dropout_prob": 0.0},
    )
    assert config.backbone_config.hidden_size == 32 and config.backbone_config.hidden_dropout_prob == 0.0
    model = GladForVideoClassification(config)
    for name, tensor in encoder.state_dict().items():
        torch.testing.assert_close(model.glad.backbone.encoder.state_dict()[name], tensor, msg=name)
    model.save_pretrained(tmp_path / "glad")
    stored = json.loads((tmp_path / "glad" / "config.json").read_text())
    assert stored["backbone_config"]["pretrained_model_name_or_path"] == str(tmp_path / "encoder")
    (tmp_path / "encoder" / "model.safetensors").unlink()  # from_pretrained reads the GLAD checkpoint only
    loaded = GladForVideoClassification.from_pretrained(tmp_path / "glad").eval()
    pixel_values = views_of(config, 1, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(pixel_values).logits, model.eval()(pixel_values).logits)


def test_pipeline_on_an_mp4(tmp_path):
    config = GladConfig.tiny("transformers", backbone_config=tiny_videomae())
    GladForVideoClassification(config).save_pretrained(tmp_path / "glad")
    GladVideoProcessor(
        num_clips=config.num_clips,
        clip_len=config.clip_len,
        size={"shortest_edge": 36},
        crop_size={"height": 32, "width": 32},
    ).save_pretrained(tmp_path / "glad")
    video = write_mp4(tmp_path / "clip.mp4", num_frames=30)
    results = pipeline("video-classification", model=str(tmp_path / "glad"))(str(video), top_k=3)
    assert len(results) == 3 and all(result["label"] in config.label2id for result in results)
    assert results[0]["score"] >= results[1]["score"] >= results[2]["score"]
