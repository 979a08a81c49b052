"""Conversion of TSM checkpoints (SPEC §4b): state dicts this test builds in mmaction's `ResNetTSM` layout (checked
against mmaction2's resnet.py / resnet_tsm.py: ConvModule `conv` / `bn` pairs, the shifted conv wrapped as
`conv1.conv.net`) and torchvision ImageNet ResNet state dicts."""

import pytest
import torch
from torchvision.models import resnet18, resnet50

from glad_hf import GladConfig, GladForTemporalOrderLearning, GladForVideoClassification, GladVideoProcessor
from glad_hf.conversion import (
    convert_mmaction_state_dict,
    convert_torchvision_resnet_state_dict,
    main,
    mmaction_tsm_key_to_glad,
    torchvision_resnet_key_to_glad,
)
from test_conversion import mmaction_head_shapes, random_state_dict

R50_BLOCKS, R18_BLOCKS = (3, 4, 6, 3), (2, 2, 2, 2)


def mmaction_tsm_shapes(stage_blocks=R50_BLOCKS, head_classes=None, domain_classifiers=False, tol_head=False):
    """Every key of an mmaction ResNetTSM recognizer (shift_place="blockres") with its shape."""
    bottleneck = stage_blocks != R18_BLOCKS
    expansion = 4 if bottleneck else 1
    shapes = {}

    def conv_bn(prefix, out_channels, in_channels, kernel, conv_name="conv"):
        shapes[f"{prefix}.{conv_name}.weight"] = (out_channels, in_channels, kernel, kernel)
        for leaf in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.bn.{leaf}"] = (out_channels,)
        shapes[f"{prefix}.bn.num_batches_tracked"] = ()

    conv_bn("backbone.conv1", 64, 3, 7)
    in_channels = 64
    for stage, num_blocks in enumerate(stage_blocks):
        planes = 64 * 2**stage
        for block in range(num_blocks):
            prefix = f"backbone.layer{stage + 1}.{block}"
            if bottleneck:
                conv_bn(f"{prefix}.conv1", planes, in_channels, 1, conv_name="conv.net")
                conv_bn(f"{prefix}.conv2", planes, planes, 3)
                conv_bn(f"{prefix}.conv3", planes * 4, planes, 1)
            else:
                conv_bn(f"{prefix}.conv1", planes, in_channels, 3, conv_name="conv.net")
                conv_bn(f"{prefix}.conv2", planes, planes, 3)
            if block == 0 and (stage > 0 or in_channels != planes * expansion):
                conv_bn(f"{prefix}.downsample", planes * expansion, in_channels, 1)
            in_channels = planes * expansion
    shapes.update(mmaction_head_shapes(in_channels, head_classes, domain_classifiers, tol_head))
    return shapes


def test_key_tables():
    assert mmaction_tsm_key_to_glad("backbone.layer3.5.conv1.conv.net.weight") == (
        "glad.backbone.layers.2.5.conv1.conv.weight"
    )
    assert mmaction_tsm_key_to_glad("backbone.layer3.5.conv1.bn.running_mean") == (
        "glad.backbone.layers.2.5.conv1.bn.running_mean"
    )
    assert mmaction_tsm_key_to_glad("backbone.layer1.0.downsample.conv.weight") == (
        "glad.backbone.layers.0.0.downsample.conv.weight"
    )
    assert torchvision_resnet_key_to_glad("bn1.running_var") == "glad.backbone.conv1.bn.running_var"
    assert torchvision_resnet_key_to_glad("layer2.0.downsample.1.weight") == (
        "glad.backbone.layers.1.0.downsample.bn.weight"
    )
    assert torchvision_resnet_key_to_glad("layer4.2.bn3.bias") == "glad.backbone.layers.3.2.conv3.bn.bias"
    assert torchvision_resnet_key_to_glad("fc.weight") is None


def test_tsm_glad_checkpoint_maps_every_key_to_the_right_tensor():
    shapes = mmaction_tsm_shapes(head_classes=12, domain_classifiers=True)
    assert len(shapes) == 318 + 2 + 30
    state = random_state_dict(shapes)
    model, report = convert_mmaction_state_dict(state)  # TSM told apart by its `conv1.conv.net` keys
    assert isinstance(model, GladForVideoClassification) and model.config.backbone_type == "tsm"
    assert model.config.backbone_config.depth == 50 and model.config.clip_len == 8
    assert len(report.used) == len(shapes) and report.ignored == [] and report.initialised == []
    ours = model.state_dict()
    pairs = {
        "backbone.conv1.conv.weight": "glad.backbone.conv1.conv.weight",
        "backbone.layer1.0.conv1.conv.net.weight": "glad.backbone.layers.0.0.conv1.conv.weight",
        "backbone.layer3.4.conv1.conv.net.weight": "glad.backbone.layers.2.4.conv1.conv.weight",
        "backbone.layer2.0.downsample.bn.running_var": "glad.backbone.layers.1.0.downsample.bn.running_var",
        "backbone.layer4.2.conv3.conv.weight": "glad.backbone.layers.3.2.conv3.conv.weight",
        "cls_head.fc_cls.weight": "classifier.fc.weight",
        "neck.2.fc_domain.4.0.weight": "domain_classifiers.cross.output.weight",
    }
    for theirs, mine in pairs.items():
        torch.testing.assert_close(ours[mine], state[theirs])
    assert sorted(float(t.double().sum()) for t in state.values()) == pytest.approx(
        sorted(float(t.double().sum()) for t in ours.values())
    )


def test_cli_on_a_ddp_kinetics_tsm_checkpoint_keeps_its_400_class_head(tmp_path, capsys):
    state = random_state_dict(mmaction_tsm_shapes(head_classes=400), seed=1)
    state["data_preprocessor.mean"] = torch.zeros(3, 1, 1)
    path = tmp_path / "tsm_k400.pth"
    torch.save({"meta": {}, "state_dict": {f"module.{k}": v for k, v in state.items()}}, path)
    main(["--checkpoint", str(path), "--output", str(tmp_path / "k400")])
    assert "used 320 checkpoint keys" in capsys.readouterr().out
    model = GladForVideoClassification.from_pretrained(tmp_path / "k400")
    assert model.config.backbone_type == "tsm" and model.config.num_labels == 400
    torch.testing.assert_close(
        model.glad.backbone.layers[1][3].conv1.conv.weight, state["backbone.layer2.3.conv1.conv.net.weight"]
    )
    assert GladVideoProcessor.from_pretrained(tmp_path / "k400").clip_len == 8


def test_tsm_r18_depth_is_read_from_the_keys():
    state = random_state_dict(mmaction_tsm_shapes(stage_blocks=R18_BLOCKS, head_classes=12), seed=2)
    model, report = convert_mmaction_state_dict(state, backbone_type="tsm")
    assert model.config.backbone_config.depth == 18 and model.config.hidden_size == 512
    assert report.ignored == [] and all(k.startswith("domain_classifiers.") for k in report.initialised)


def test_tsm_temporal_order_checkpoint(tmp_path):
    state = random_state_dict(mmaction_tsm_shapes(tol_head=True), seed=3)
    torch.save({"state_dict": state}, tmp_path / "tol.pth")
    main(["--checkpoint", str(tmp_path / "tol.pth"), "--output", str(tmp_path / "tol"), "--backbone", "tsm"])
    tol = GladForTemporalOrderLearning.from_pretrained(tmp_path / "tol")
    assert tol.config.backbone_type == "tsm"
    torch.testing.assert_close(tol.temporal_order_head.pair_projection.weight, state["neck.fc_cop1.weight"])


def test_a_tsm_checkpoint_does_not_load_into_i3d():
    state = random_state_dict(mmaction_tsm_shapes(stage_blocks=R18_BLOCKS), seed=4)
    with pytest.raises(ValueError, match=r"'backbone\.conv1\.conv\.weight' has shape \(64, 3, 7, 7\)"):
        convert_mmaction_state_dict(state, config=GladConfig())
    with pytest.raises(ValueError, match="does not match the config"):
        convert_mmaction_state_dict(state, config=GladConfig(), backbone_type="tsm")


def test_cli_on_an_imagenet_torchvision_resnet50(tmp_path, capsys):
    torch.manual_seed(5)
    imagenet = {k: v for k, v in resnet50().state_dict().items() if not k.endswith("num_batches_tracked")}
    assert len(imagenet) == 267  # the layout of torchvision's resnet50-19c8e357.pth
    torch.save(imagenet, tmp_path / "resnet50.pth")
    main(["--checkpoint", str(tmp_path / "resnet50.pth"), "--output", str(tmp_path / "tsm")])
    printed = capsys.readouterr().out
    assert "used 265 checkpoint keys" in printed and "ignored 2 keys: fc.weight, fc.bias" in printed
    model = GladForVideoClassification.from_pretrained(tmp_path / "tsm")
    assert model.config.backbone_type == "tsm" and model.config.num_labels == 12
    torch.testing.assert_close(model.glad.backbone.conv1.bn.weight, imagenet["bn1.weight"])
    torch.testing.assert_close(
        model.glad.backbone.layers[3][0].downsample.conv.weight, imagenet["layer4.0.downsample.0.weight"]
    )
    with pytest.raises(ValueError, match="initialises the 'tsm' backbone"):
        main(
            [
                "--checkpoint",
                str(tmp_path / "resnet50.pth"),
                "--output",
                str(tmp_path / "x"),
                "--backbone",
                "resnet3d",
            ]
        )


def test_imagenet_resnet18_gives_a_basic_block_tsm():
    model, report = convert_torchvision_resnet_state_dict(resnet18().state_dict())
    assert model.config.backbone_config.depth == 18 and report.ignored == ["fc.weight", "fc.bias"]
    assert not [k for k in report.initialised if k.startswith("glad.backbone.")]
