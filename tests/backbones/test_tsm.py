"""TSM backbone (SPEC §4b): the shift on a hand-computed example, the R50 layout, agreement with a torchvision
ResNet-50 wrapped the way mmaction's ResNetTSM wraps it, and GLAD training / round trip over it."""

import pytest
import torch
from torch import nn
from torchvision.models import resnet50

from backbones.backbone_checks import check_round_trip, check_stage2_step, check_temporal_order_step
from glad_hf import GladConfig, GladModel, TSMConfig
from glad_hf.backbones import ResNetTSM, build_backbone
from glad_hf.backbones.tsm import temporal_shift
from glad_hf.conversion import convert_torchvision_resnet_state_dict


def test_temporal_shift_against_a_hand_computed_example():
    # two videos of 3 frames, 4 channels, 1x1 pixels; value = 100 * video + 10 * frame + channel + 1
    x = torch.tensor(
        [[100 * v + 10 * t + c + 1 for c in range(4)] for v in range(2) for t in range(3)], dtype=torch.float
    ).view(6, 4, 1, 1)
    out = temporal_shift(x, num_segments=3, shift_div=4)[:, :, 0, 0]
    # fold = 1: channel 0 takes the next frame (zeros after the last), channel 1 the previous (zeros before the
    # first), channels 2-3 stay; nothing crosses from one video to the other
    expected = [
        [11, 0, 3, 4],
        [21, 2, 13, 14],
        [0, 12, 23, 24],
        [111, 0, 103, 104],
        [121, 102, 113, 114],
        [0, 112, 123, 124],
    ]
    assert out.tolist() == expected


def test_shift_moves_one_eighth_of_the_channels_each_way():
    x = torch.randn(8, 64, 2, 2)
    out = temporal_shift(x, num_segments=8, shift_div=8).view(1, 8, 64, 2, 2)
    frames = x.view(1, 8, 64, 2, 2)
    torch.testing.assert_close(out[:, :-1, :8], frames[:, 1:, :8])
    torch.testing.assert_close(out[:, 1:, 8:16], frames[:, :-1, 8:16])
    torch.testing.assert_close(out[:, :, 16:], frames[:, :, 16:])
    assert out[:, -1, :8].abs().sum() == 0 and out[:, 0, 8:16].abs().sum() == 0


def test_tsm_r50_layout():
    config = TSMConfig()
    assert (config.num_segments, config.shift_div, config.hidden_size) == (8, 8, 2048)
    backbone = ResNetTSM(config)
    # torchvision's ResNet-50 without its 1000-class layer
    assert sum(p.numel() for p in backbone.parameters()) == 23_508_032
    assert backbone.num_features == 2048 and len(backbone.state_dict()) == 318
    assert all(block.shift is not None for layer in backbone.layers for block in layer)
    assert TSMConfig(depth=101).shift_block_interval == 2  # mmaction shifts every second block of R101


def test_r101_layout_shifts_every_second_block():
    backbone = ResNetTSM(TSMConfig(depth=101, base_channels=8))
    shifted = [block.shift is not None for block in backbone.layers[2]]
    assert shifted == [index % 2 == 0 for index in range(23)]


class MmactionShiftedConv(nn.Module):
    """mmaction's `TemporalShift(net=conv)` (resnet_tsm.py), written with its split / concatenate steps."""

    def __init__(self, net, num_segments=8, shift_div=8):
        super().__init__()
        self.net, self.num_segments, self.shift_div = net, num_segments, shift_div

    def forward(self, x):
        n, c, h, w = x.size()
        x = x.view(-1, self.num_segments, c, h * w)
        fold = c // self.shift_div
        left, mid, right = x[:, :, :fold], x[:, :, fold : 2 * fold], x[:, :, 2 * fold :]
        left = torch.cat((left[:, 1:], torch.zeros_like(left[:, :1])), 1)
        mid = torch.cat((torch.zeros_like(mid[:, :1]), mid[:, :-1]), 1)
        return self.net(torch.cat((left, mid, right), 2).view(n, c, h, w))


def test_matches_a_torchvision_resnet50_with_mmaction_shifts_and_average_consensus():
    torch.manual_seed(0)
    reference = resnet50()
    for module in reference.modules():  # non-trivial batch-norm statistics
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.data.uniform_(0.5, 1.0)
    model, report = convert_torchvision_resnet_state_dict(reference.state_dict())
    assert report.ignored == ["fc.weight", "fc.bias"]
    for layer in (reference.layer1, reference.layer2, reference.layer3, reference.layer4):
        for block in layer:
            block.conv1 = MmactionShiftedConv(block.conv1)
    reference.fc = nn.Identity()
    backbone = model.glad.backbone.eval()
    video = torch.randn(2, 3, 8, 32, 32)
    with torch.no_grad():
        frames = video.transpose(1, 2).flatten(0, 1)  # mmaction's Recognizer2D: [B * T, C, H, W]
        expected = (
            reference.eval()(frames).view(2, 8, -1).mean(1)
        )  # TSMHead: spatial average, average consensus
        torch.testing.assert_close(backbone.extract_features(video), expected, rtol=1e-4, atol=1e-5)
        assert backbone(video).shape == (2, 2048, 8, 1, 1)


def test_a_view_of_another_length_is_refused():
    backbone = build_backbone("tsm", TSMConfig(depth=18, stage_blocks=(1, 1, 1, 1), base_channels=8))
    with pytest.raises(ValueError, match="num_segments=8"):
        backbone.extract_features(torch.zeros(1, 3, 4, 32, 32))


def test_glad_config_takes_its_clip_grid_from_the_segments():
    config = GladConfig.for_backbone("tsm")
    assert (config.num_clips, config.clip_len, config.local_clip_indices, config.global_frame_index) == (
        8,
        8,
        (4, 5),
        3,
    )
    assert config.hidden_size == 2048 and config.backbone_num_frames == 8
    four = GladConfig.for_backbone("tsm", {"depth": 18, "num_segments": 4})
    assert (four.num_clips, four.clip_len, four.local_clip_indices, four.global_frame_index) == (
        4,
        4,
        (2, 3),
        1,
    )
    with pytest.raises(ValueError, match="takes views of 8 frames.*clip_len=16"):
        GladConfig(backbone_type="tsm", clip_len=16)


def test_glad_model_output_per_view():
    config = GladConfig.tiny("tsm")
    model = GladModel(config).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 8, 3, 8, 32, 32))
    assert out.local_features.shape == (2, 2, 64) and out.global_features.shape == (2, 64)
    assert isinstance(model.backbone, ResNetTSM)


def test_stage2_training_step():
    check_stage2_step(GladConfig.tiny("tsm"), size=32)


def test_temporal_order_training_step():
    check_temporal_order_step(GladConfig.tiny("tsm"), size=32)


def test_save_and_load_round_trip(tmp_path):
    stored = check_round_trip(GladConfig.tiny("tsm"), tmp_path, size=32, backbone_model_type="glad_tsm")
    assert stored["backbone_config"]["num_segments"] == 8 and stored["backbone_config"]["stage_blocks"] == [
        1,
        1,
        1,
        1,
    ]


def test_invalid_tsm_values_name_the_field():
    with pytest.raises(ValueError, match="depth"):
        TSMConfig(depth=42)
    with pytest.raises(ValueError, match="num_segments"):
        TSMConfig(num_segments=0)
