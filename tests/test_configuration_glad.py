import json
from pathlib import Path

import pytest
import torch
from transformers import AutoConfig

import glad_hf  # noqa: F401  (registers the GLAD configs with AutoConfig)
from glad_hf import GladConfig, GladForVideoClassification, ResNet3dConfig
from glad_hf.labels import K2B_LABELS
from helpers import clip_grid

# config.json files written by `save_pretrained` before the backbone configs moved out of configuration_glad.py
FIXTURES = Path(__file__).parent / "fixtures" / "configs"
SAVED_PRESETS = {
    "tiny": GladConfig.tiny,
    "i3d_r50_nl": GladConfig,
    "tiny_tsm": lambda: GladConfig.tiny("tsm"),
    "tiny_torchvision": lambda: GladConfig.tiny("torchvision"),
}


def test_defaults_are_the_reference_network():
    config = GladConfig()
    backbone = config.backbone_config
    assert (backbone.depth, backbone.stage_blocks, backbone.conv1_kernel) == (50, (3, 4, 6, 3), (5, 7, 7))
    assert (backbone.conv1_stride_t, backbone.pool1_stride_t, backbone.with_pool2) == (2, 2, True)
    assert backbone.inflate == ((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0))
    assert backbone.non_local == ((0, 0, 0), (0, 1, 0, 1), (0, 1, 0, 1, 0, 1), (0, 0, 0))
    assert (config.num_clips, config.clip_len, config.local_clip_indices, config.global_frame_index) == (
        8,
        8,
        (4, 5),
        3,
    )
    assert config.domain_alignment == ("local", "global", "cross")
    assert (config.domain_hidden_size, config.domain_num_layers, config.domain_dropout) == (2048, 4, 0.5)
    assert (config.grl_lambda, config.tol_num_clips, config.classifier_dropout) == (1.0, 3, 0.5)
    assert (config.test_view_aggregation, config.batch_norm_grouping) == ("reference", "per_group")
    assert config.hidden_size == 2048 and config.num_frames == 64
    assert [config.id2label[i] for i in range(12)] == list(K2B_LABELS)
    assert config.label2id["crawl"] == 9


def test_json_round_trip_keeps_nested_backbone(tmp_path):
    config = GladConfig.tiny(test_view_aggregation="all_views", domain_alignment=("video",))
    config.save_pretrained(tmp_path)
    stored = json.loads((tmp_path / "config.json").read_text())
    assert stored["model_type"] == "glad" and stored["backbone_config"]["model_type"] == "glad_resnet3d"
    loaded = GladConfig.from_pretrained(tmp_path)
    assert isinstance(loaded.backbone_config, ResNet3dConfig)
    assert loaded.backbone_config.non_local == config.backbone_config.non_local
    assert loaded.backbone_config.depth == 18 and loaded.hidden_size == 64
    assert loaded.domain_alignment == ("video",) and loaded.test_view_aggregation == "all_views"


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"test_view_aggregation": "mean"}, "test_view_aggregation"),
        ({"batch_norm_grouping": "sync"}, "batch_norm_grouping"),
        ({"domain_alignment": ("local", "temporal")}, "domain_alignment"),
        ({"local_clip_indices": (4, 8)}, "local_clip_indices"),
        ({"global_frame_index": 8}, "global_frame_index"),
        ({"backbone_type": "vgg"}, "backbone_type"),
        ({"classifier_dropout": 1.5}, "classifier_dropout"),
        (
            {"batch_norm_grouping": "fused", "num_clips": 6, "local_clip_indices": (4, 5)},
            "num_clips == clip_len",
        ),
    ],
)
def test_invalid_values_name_the_field(overrides, field):
    with pytest.raises(ValueError, match=field):
        GladConfig(**overrides)


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"depth": 42}, "depth"),
        ({"inflate": ((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0))}, "inflate"),
        ({"non_local": ((0, 0, 0), (0, 1, 0), (0, 1, 0, 1, 0, 1), (0, 0, 0))}, "non_local"),
        ({"conv1_kernel": (4, 7, 7)}, "conv1_kernel"),
    ],
)
def test_invalid_backbone_values_name_the_field(overrides, field):
    with pytest.raises(ValueError, match=field):
        ResNet3dConfig(**overrides)


def _without_version(config) -> dict:
    """`to_dict()` without the transformers version and the folder it was read from (`AutoConfig` records it)."""
    stored = config.to_dict()
    for fields in (stored, stored["backbone_config"]):
        fields.pop("transformers_version", None)
        fields.pop("_name_or_path", None)
    return stored


@pytest.mark.parametrize("name", sorted(SAVED_PRESETS))
@pytest.mark.parametrize("load", [GladConfig.from_pretrained, AutoConfig.from_pretrained])
def test_saved_configs_still_load(name, load):
    loaded = load(FIXTURES / name)
    expected = SAVED_PRESETS[name]()
    assert type(loaded) is GladConfig and type(loaded.backbone_config) is type(expected.backbone_config)
    assert _without_version(loaded) == _without_version(expected)


@pytest.mark.parametrize("name", [name for name in sorted(SAVED_PRESETS) if name.startswith("tiny")])
def test_models_build_from_saved_configs(name):
    config = AutoConfig.from_pretrained(FIXTURES / name)
    torch.manual_seed(0)
    model = GladForVideoClassification(config).eval()
    pixel_values = clip_grid(batch=1, num_clips=config.num_clips, clip_len=config.clip_len, size=16)
    with torch.no_grad():
        logits = model(pixel_values).logits
    assert logits.shape == (1, config.num_labels) and torch.isfinite(logits).all()
