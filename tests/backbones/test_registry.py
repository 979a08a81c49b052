"""The backbone registry: every row builds its tiny config and network, and GLAD's heads are sized by the network."""

import pytest

import glad_hf.backbones
from glad_hf import GladConfig, GladForTemporalOrderLearning, GladForVideoClassification
from glad_hf.backbones import BACKBONES, backbone_spec, build_backbone, build_backbone_config


@pytest.mark.parametrize("backbone_type", sorted(BACKBONES))
def test_each_row_builds_its_tiny_backbone(backbone_type):
    spec = BACKBONES[backbone_type]
    config = spec.tiny_config()
    assert isinstance(config, spec.config_class)
    assert build_backbone_config(backbone_type, config.to_dict()).to_dict() == config.to_dict()
    network = build_backbone(backbone_type, config)
    assert type(network) is spec.network_class() is getattr(glad_hf.backbones, spec.network.split(":")[1])
    assert network.num_features == config.hidden_size
    glad = GladConfig.tiny(backbone_type)
    assert glad.backbone_config.to_dict() == config.to_dict()
    assert glad.backbone_num_frames == spec.num_frames(config)


@pytest.mark.parametrize("backbone_type", ["tsm", "transformers"])
def test_heads_take_the_width_of_the_backbone(backbone_type):
    config = GladConfig.tiny(backbone_type)
    classifier = GladForVideoClassification(config)
    width = classifier.glad.backbone.num_features
    assert classifier.classifier.fc.in_features == width
    assert all(c.blocks[0][0].in_features == width for c in classifier.domain_classifiers.values())
    order = GladForTemporalOrderLearning(config)
    assert order.temporal_order_head.pair_projection.in_features == 2 * order.glad.backbone.num_features


def test_unknown_backbone_type_names_the_field():
    with pytest.raises(ValueError, match=r"backbone_type must be one of \['resnet3d', .*got 'c3d'"):
        backbone_spec("c3d")


def test_a_config_of_another_family_is_refused():
    with pytest.raises(ValueError, match="backbone_config must be a TSMConfig or dict, got ResNet3dConfig"):
        build_backbone_config("tsm", BACKBONES["resnet3d"].tiny_config())
