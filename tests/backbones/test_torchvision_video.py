"""torchvision video networks as GLAD backbones (weights=None; loading is checked with a stand-in for the download).

The families' fixed architectures are heavy on CPU: each runs one forward at a small input; MViT-v2-S, whose
positional embeddings fix its input at 16x224x224, runs one forward of one view at that size.
"""

import pytest
import torch
from torch import nn
from torchvision.models import get_model
from torchvision.models._api import WeightsEnum

from backbones.backbone_checks import check_round_trip, check_stage2_step, check_temporal_order_step
from glad_hf import GladConfig, GladForVideoClassification, GladModel, TorchvisionVideoConfig
from glad_hf.backbones import TorchvisionVideoBackbone, build_backbone

# a 4x4 clip grid keeps the 3D networks' CPU steps short
SMALL_GRID = dict(num_clips=4, clip_len=4, local_clip_indices=(2, 3), global_frame_index=1)


def mc3_config(**backbone_fields) -> GladConfig:
    """GLAD over torchvision's mc3_18 (the lightest of the video ResNets) on a 4x4 clip grid."""
    return GladConfig.tiny(
        "torchvision", backbone_config={"model_name": "mc3_18", **backbone_fields}, **SMALL_GRID
    )


@pytest.mark.parametrize(
    "model_name, size, features, head",
    [
        ("r3d_18", 16, 512, "fc"),
        ("mc3_18", 16, 512, "fc"),
        ("r2plus1d_18", 16, 512, "fc"),
        ("s3d", 24, 1024, "classifier"),
        ("swin3d_t", 16, 768, "head"),
    ],
)
def test_forward_shape_per_view(model_name, size, features, head):
    backbone = build_backbone("torchvision", TorchvisionVideoConfig(model_name=model_name)).eval()
    assert backbone.num_features == features == TorchvisionVideoConfig(model_name=model_name).hidden_size
    assert isinstance(getattr(backbone.model, head), nn.Identity)  # the classification layer is gone
    with torch.no_grad():
        out = backbone.extract_features(torch.randn(1, 3, 8, size, size))
    assert out.shape == (1, features) and torch.isfinite(out).all()


def test_mvit_v2_s_takes_its_fixed_16x224x224_views():
    backbone = build_backbone("torchvision", TorchvisionVideoConfig(model_name="mvit_v2_s")).eval()
    assert isinstance(backbone.model.head, nn.Identity)  # MViT's forward ends with its normalised class token
    with pytest.raises(
        ValueError, match=r"mvit_v2_s takes views \[B, 3, T, H, W\] with \(T, H, W\) = \(16, 224, 224\)"
    ):
        backbone.extract_features(torch.zeros(1, 3, 8, 224, 224))
    with torch.no_grad():
        assert backbone.extract_features(torch.randn(1, 3, 16, 224, 224)).shape == (1, 768)
    config = GladConfig.for_backbone("torchvision", {"model_name": "mvit_v2_s"})
    assert (config.num_clips, config.clip_len, config.local_clip_indices, config.global_frame_index) == (
        16,
        16,
        (8, 9),
        7,
    )
    with pytest.raises(ValueError, match="takes views of 16 frames"):
        GladConfig(backbone_type="torchvision", backbone_config={"model_name": "mvit_v2_s"})


def test_s3d_refuses_views_smaller_than_its_strides_allow():
    backbone = build_backbone("torchvision", TorchvisionVideoConfig(model_name="s3d"))
    with pytest.raises(
        ValueError, match=r"s3d takes views .* >= \(5, 17, 17\), got shape \(1, 3, 4, 32, 32\)"
    ):
        backbone.extract_features(torch.zeros(1, 3, 4, 32, 32))


def test_pooled_feature_is_the_input_of_torchvision_classification_layer():
    torch.manual_seed(0)
    reference = get_model("mc3_18").eval()
    seen = {}
    reference.fc.register_forward_hook(lambda module, args, out: seen.__setitem__("x", args[0]))
    backbone = TorchvisionVideoBackbone(TorchvisionVideoConfig(model_name="mc3_18")).eval()
    missing, unexpected = backbone.model.load_state_dict(reference.state_dict(), strict=False)
    assert missing == [] and sorted(unexpected) == ["fc.bias", "fc.weight"]
    view = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        reference(view)
        torch.testing.assert_close(backbone.extract_features(view), seen["x"])


def test_torchvision_initialisation_survives_post_init():
    torch.manual_seed(0)
    expected = get_model("mc3_18").state_dict()
    torch.manual_seed(0)
    model = GladModel(mc3_config())
    ours = model.backbone.model.state_dict()
    assert set(expected) - set(ours) == {"fc.weight", "fc.bias"}
    for name, tensor in ours.items():
        torch.testing.assert_close(tensor, expected[name], msg=name)


def test_named_weights_are_loaded_at_construction_but_not_by_from_pretrained(tmp_path, monkeypatch):
    torch.manual_seed(3)
    downloaded = get_model("mc3_18").state_dict()
    requests = []

    def fake_download(weights, *args, **kwargs):  # stands in for torchvision's download of weights.url
        requests.append(weights.url)
        return downloaded

    monkeypatch.setattr(WeightsEnum, "get_state_dict", fake_download)
    config = mc3_config(weights="KINETICS400_V1")
    model = GladForVideoClassification(config)
    assert requests == ["https://download.pytorch.org/models/mc3_18-a90a0ba3.pth"]
    for name, tensor in model.glad.backbone.model.state_dict().items():
        torch.testing.assert_close(tensor, downloaded[name], msg=name)  # GLAD's post_init kept them
    model.save_pretrained(tmp_path)
    loaded = GladForVideoClassification.from_pretrained(tmp_path)
    assert len(requests) == 1 and loaded.config.backbone_config.weights == "KINETICS400_V1"
    torch.testing.assert_close(loaded.glad.backbone.model.stem[0].weight, downloaded["stem.0.weight"])


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"model_name": "resnet50"}, "model_name must be one of"),
        ({"weights": "IMAGENET1K_V1"}, "weights for r3d_18"),
    ],
)
def test_bad_torchvision_configs_name_the_field(fields, message):
    with pytest.raises(ValueError, match=message):
        TorchvisionVideoConfig(**fields)


def test_stage2_training_step():
    check_stage2_step(mc3_config(), size=16)


def test_temporal_order_training_step():
    check_temporal_order_step(mc3_config(), size=16)


def test_save_and_load_round_trip(tmp_path):
    stored = check_round_trip(mc3_config(), tmp_path, size=16, backbone_model_type="glad_torchvision_video")
    assert (
        stored["backbone_config"]["model_name"] == "mc3_18" and stored["backbone_config"]["weights"] is None
    )
