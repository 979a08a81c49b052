import sys

import numpy as np
import pytest
import torch

from glad_hf.backbones import ResNet3d, ResNet3dConfig, build_backbone


def test_r50_nl_matches_the_reference_size():
    backbone = ResNet3d(ResNet3dConfig())
    assert sum(p.numel() for p in backbone.parameters()) == 34_578_240
    assert len(backbone.state_dict()) == 378
    assert backbone.num_features == 2048
    non_local = [name for name, _ in backbone.named_modules() if name.endswith("non_local")]
    assert non_local == [f"layers.{s}.{b}.non_local" for s, b in [(1, 1), (1, 3), (2, 1), (2, 3), (2, 5)]]


def test_feature_map_shape_and_temporal_downsampling():
    backbone = ResNet3d(ResNet3dConfig()).eval()
    with torch.no_grad():
        out = backbone(torch.randn(1, 3, 8, 64, 64))
    assert out.shape == (1, 2048, 1, 2, 2)  # [B, 2048, T/8, H/32, W/32]


@pytest.mark.parametrize("depth, features", [(18, 512), (34, 512), (101, 2048)])
def test_other_depths(depth, features):
    stage_blocks = ResNet3dConfig.DEPTH_TO_STAGE_BLOCKS[depth]
    config = ResNet3dConfig(
        depth=depth,
        inflate=tuple((1,) * n for n in stage_blocks),
        non_local=tuple((0,) * n for n in stage_blocks),
    )
    backbone = build_backbone("resnet3d", config).eval()
    with torch.no_grad():
        features_out = backbone.extract_features(torch.randn(2, 3, 8, 32, 32))
    assert features_out.shape == (2, features) and backbone.num_features == features


def test_unknown_backbone_type():
    with pytest.raises(ValueError, match="backbone_type must be one of .*, got 'c3d'"):
        build_backbone("c3d", ResNet3dConfig())


def test_pooled_features_equal_the_reference_golden(shared_dir):
    """Backbone in eval mode on the golden clip vs the reference implementation's pooled layer4 output."""
    sys.path.insert(0, str(shared_dir / "golden"))
    import detweights

    state = detweights.make_state_dict(
        str(shared_dir / "golden" / "manifest_backbone.json"), strip_prefix="backbone."
    )
    from glad_hf.conversion import mmaction_key_to_glad

    backbone = ResNet3d(ResNet3dConfig()).double().eval()
    ours = {
        mmaction_key_to_glad("backbone." + k).removeprefix("glad.backbone."): v.double()
        for k, v in state.items()
    }
    ours = {k: (v.long() if k.endswith("num_batches_tracked") else v) for k, v in ours.items()}
    backbone.load_state_dict(ours, strict=True)
    with torch.no_grad():
        pooled = backbone.extract_features(detweights.make_named_input("clip_2x3x8x64x64").double()).numpy()
    expected = np.load(shared_dir / "golden" / "bb_eval_clip_2x3x8x64x64_pooled_f64.npy")
    np.testing.assert_allclose(pooled, expected, atol=1e-4, rtol=1e-4)
