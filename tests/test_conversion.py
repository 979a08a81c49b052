"""Conversion of mmaction2 checkpoints, on state dicts this test builds in the mmaction layout (SPEC §4a)."""

import sys

import numpy as np
import pytest
import torch
from transformers import pipeline

from glad_hf import GladConfig, GladForTemporalOrderLearning, GladForVideoClassification, GladVideoProcessor
from glad_hf.conversion import convert_mmaction_state_dict, load_mmaction_state_dict, main
from helpers import write_mp4

INFLATE = ((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0))
NON_LOCAL = ((0, 0, 0), (0, 1, 0, 1), (0, 1, 0, 1, 0, 1), (0, 0, 0))


def mmaction_i3d_r50_shapes(head_classes=None, domain_classifiers=False, tol_head=False):
    """Every key of the reference's I3D R50-NL checkpoint with its shape, written from SPEC §4a."""
    shapes = {}

    def conv_bn(prefix, out_channels, in_channels, kernel):
        shapes[f"{prefix}.conv.weight"] = (out_channels, in_channels, *kernel)
        for leaf in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.bn.{leaf}"] = (out_channels,)
        shapes[f"{prefix}.bn.num_batches_tracked"] = ()

    conv_bn("backbone.conv1", 64, 3, (5, 7, 7))
    in_channels = 64
    for stage, num_blocks in enumerate((3, 4, 6, 3)):
        planes = 64 * 2**stage
        for block in range(num_blocks):
            prefix = f"backbone.layer{stage + 1}.{block}"
            conv_bn(f"{prefix}.conv1", planes, in_channels, (3 if INFLATE[stage][block] else 1, 1, 1))
            conv_bn(f"{prefix}.conv2", planes, planes, (1, 3, 3))
            conv_bn(f"{prefix}.conv3", planes * 4, planes, (1, 1, 1))
            if block == 0:
                conv_bn(f"{prefix}.downsample", planes * 4, in_channels, (1, 1, 1))
            in_channels = planes * 4
            if NON_LOCAL[stage][block]:
                inner = in_channels // 2
                for name in ("theta.conv", "g.0.conv", "phi.0.conv"):
                    shapes[f"{prefix}.non_local_block.{name}.weight"] = (inner, in_channels, 1, 1, 1)
                    shapes[f"{prefix}.non_local_block.{name}.bias"] = (inner,)
                conv_bn(f"{prefix}.non_local_block.conv_out", in_channels, inner, (1, 1, 1))
    shapes.update(mmaction_head_shapes(2048, head_classes, domain_classifiers, tol_head))
    return shapes


def mmaction_head_shapes(features: int, head_classes=None, domain_classifiers=False, tol_head=False):
    """Keys of the reference's heads: classifier, GLAD's three domain classifiers (necks), TOL's clip-order head."""
    shapes = {}
    if head_classes:
        shapes["cls_head.fc_cls.weight"] = (head_classes, features)
        shapes["cls_head.fc_cls.bias"] = (head_classes,)
    if domain_classifiers:
        for neck in range(3):
            for layer in range(5):
                out = 1 if layer == 4 else 2048
                shapes[f"neck.{neck}.fc_domain.{layer}.0.weight"] = (out, features if layer == 0 else 2048)
                shapes[f"neck.{neck}.fc_domain.{layer}.0.bias"] = (out,)
    if tol_head:
        shapes.update({"neck.fc_cop1.weight": (512, 2 * features), "neck.fc_cop1.bias": (512,)})
        shapes.update({"neck.fc_cop2.weight": (6, 1536), "neck.fc_cop2.bias": (6,)})
    return shapes


def random_state_dict(shapes, seed=0):
    """Random tensors scaled so that the network's activations stay finite (unit BN, 1/sqrt(fan_in) weights; the
    dot-product non-local block is cubic in its input, so its projections are damped further)."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in shapes.items():
        noise = torch.randn(shape, generator=generator)
        if key.endswith("num_batches_tracked"):
            state[key] = torch.zeros(shape, dtype=torch.long)
        elif key.endswith("running_var"):
            state[key] = 0.5 + noise.abs()
        elif key.endswith(("bn.weight",)):
            state[key] = 1 + 0.1 * noise
        elif len(shape) >= 2:
            fan_in = int(np.prod(shape[1:]))
            damping = fan_in**0.25 if any(f".{n}." in key for n in ("theta", "phi", "g")) else 1.0
            state[key] = noise / fan_in**0.5 / damping
        else:
            state[key] = 0.1 * noise
    return state


def test_glad_checkpoint_maps_every_key_to_the_right_tensor():
    shapes = mmaction_i3d_r50_shapes(head_classes=12, domain_classifiers=True)
    assert len(shapes) == 410
    state = random_state_dict(shapes)
    model, report = convert_mmaction_state_dict(state)
    assert isinstance(model, GladForVideoClassification)
    assert len(report.used) == 410 and report.ignored == [] and report.initialised == []
    ours = model.state_dict()
    pairs = {
        "backbone.conv1.conv.weight": "glad.backbone.conv1.conv.weight",
        "backbone.layer1.0.downsample.bn.running_var": "glad.backbone.layers.0.0.downsample.bn.running_var",
        "backbone.layer3.5.non_local_block.theta.conv.weight": "glad.backbone.layers.2.5.non_local.query.weight",
        "backbone.layer2.1.non_local_block.phi.0.conv.bias": "glad.backbone.layers.1.1.non_local.key.bias",
        "backbone.layer2.3.non_local_block.g.0.conv.weight": "glad.backbone.layers.1.3.non_local.value.weight",
        "backbone.layer3.1.non_local_block.conv_out.bn.weight": "glad.backbone.layers.2.1.non_local.output.bn.weight",
        "backbone.layer4.2.conv3.conv.weight": "glad.backbone.layers.3.2.conv3.conv.weight",
        "cls_head.fc_cls.weight": "classifier.fc.weight",
        "neck.0.fc_domain.0.0.weight": "domain_classifiers.local.blocks.0.0.weight",
        "neck.1.fc_domain.3.0.bias": "domain_classifiers.global.blocks.3.0.bias",
        "neck.2.fc_domain.4.0.weight": "domain_classifiers.cross.output.weight",
    }
    for theirs, mine in pairs.items():
        torch.testing.assert_close(ours[mine], state[theirs])
    # and in aggregate: every checkpoint tensor landed somewhere, unchanged
    assert sorted(float(t.double().sum()) for t in state.values()) == pytest.approx(
        sorted(float(t.double().sum()) for t in ours.values())
    )


def test_converted_reference_weights_reproduce_the_reference_test_path(shared_dir):
    sys.path.insert(0, str(shared_dir / "golden"))
    import detweights

    state = detweights.make_state_dict(str(shared_dir / "golden" / "manifest_recognizer.json"))
    model, report = convert_mmaction_state_dict(state)
    assert len(report.used) == 410
    with torch.no_grad():
        probs = model.eval()(detweights.make_named_input("rec_1x8x3x8x64x64")).logits.softmax(-1).numpy()
    expected = np.load(shared_dir / "golden" / "rec_1x8x3x8x64x64_probs_f64.npy")
    np.testing.assert_allclose(probs, expected, atol=1e-5)


def test_cli_on_a_ddp_kinetics_checkpoint_keeps_its_400_class_head(tmp_path, capsys):
    state = random_state_dict(mmaction_i3d_r50_shapes(head_classes=400), seed=1)
    state["data_preprocessor.mean"] = torch.zeros(3, 1, 1)
    path = tmp_path / "i3d_k400.pth"
    torch.save({"meta": {"epoch": 100}, "state_dict": {f"module.{k}": v for k, v in state.items()}}, path)
    main(["--checkpoint", str(path), "--output", str(tmp_path / "k400")])
    printed = capsys.readouterr().out
    assert "used 380 checkpoint keys" in printed and "data_preprocessor.mean" in printed
    model = GladForVideoClassification.from_pretrained(tmp_path / "k400")
    assert model.config.num_labels == 400
    torch.testing.assert_close(model.classifier.fc.weight, state["cls_head.fc_cls.weight"])
    assert GladVideoProcessor.from_pretrained(tmp_path / "k400").num_clips == 8


def test_cli_for_twelve_labels_ignores_a_kinetics_head(tmp_path, capsys):
    state = random_state_dict(mmaction_i3d_r50_shapes(head_classes=400), seed=2)
    path = tmp_path / "bare.pth"
    torch.save(state, path)
    main(["--checkpoint", str(path), "--output", str(tmp_path / "out"), "--num-labels", "12"])
    printed = capsys.readouterr().out
    assert "ignored 2 keys: cls_head.fc_cls.weight, cls_head.fc_cls.bias" in printed
    model = GladForVideoClassification.from_pretrained(tmp_path / "out")
    assert model.config.id2label[0] == "jump"
    torch.testing.assert_close(model.glad.backbone.conv1.conv.weight, state["backbone.conv1.conv.weight"])


def test_tol_checkpoint_becomes_a_temporal_order_model(tmp_path):
    state = random_state_dict(mmaction_i3d_r50_shapes(tol_head=True), seed=3)
    path = tmp_path / "tol.pth"
    torch.save({"state_dict": state}, path)
    main(["--checkpoint", str(path), "--output", str(tmp_path / "tol")])
    tol = GladForTemporalOrderLearning.from_pretrained(tmp_path / "tol")
    torch.testing.assert_close(tol.temporal_order_head.pair_projection.weight, state["neck.fc_cop1.weight"])
    torch.testing.assert_close(tol.temporal_order_head.classifier.bias, state["neck.fc_cop2.bias"])
    with pytest.raises(ValueError, match="holds a temporal-order model"):  # never scored as a classifier
        GladForVideoClassification.from_pretrained(tmp_path / "tol")
    # stage 2 starts from stage 1: a classifier config of its own (as training builds it), the backbone loaded
    config = GladConfig.from_pretrained(tmp_path / "tol", architectures=None)
    classifier = GladForVideoClassification.from_pretrained(tmp_path / "tol", config=config)
    torch.testing.assert_close(
        classifier.glad.backbone.layers[3][1].conv1.conv.weight, state["backbone.layer4.1.conv1.conv.weight"]
    )


def test_pipeline_runs_on_a_converted_checkpoint(tmp_path):
    state = random_state_dict(mmaction_i3d_r50_shapes(head_classes=12, domain_classifiers=True), seed=4)
    path = tmp_path / "glad.pth"
    torch.save({"state_dict": state}, path)
    main(["--checkpoint", str(path), "--output", str(tmp_path / "glad")])
    video = write_mp4(tmp_path / "clip.mp4", num_frames=30)
    results = pipeline("video-classification", model=str(tmp_path / "glad"))(str(video), top_k=3)
    assert len(results) == 3 and results[0]["label"] in GladForVideoClassification.config_class().label2id
    assert results[0]["score"] >= results[1]["score"] >= results[2]["score"]


def test_shape_mismatch_names_the_key():
    shapes = mmaction_i3d_r50_shapes(head_classes=12)
    shapes["backbone.layer2.0.conv1.conv.weight"] = (128, 256, 1, 1, 1)
    with pytest.raises(ValueError, match=r"backbone\.layer2\.0\.conv1\.conv\.weight.*\(128, 256, 1, 1, 1\)"):
        convert_mmaction_state_dict(random_state_dict(shapes))


def test_missing_backbone_tensors_are_refused():
    shapes = mmaction_i3d_r50_shapes(head_classes=12)
    del shapes["backbone.layer4.2.conv3.conv.weight"]
    with pytest.raises(ValueError, match="lacks 1 backbone tensors"):
        convert_mmaction_state_dict(random_state_dict(shapes))


def test_files_that_are_not_checkpoints(tmp_path):
    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint")
    with pytest.raises(ValueError, match=r"notes.pth: not a PyTorch checkpoint"):
        main(["--checkpoint", str(text), "--output", str(tmp_path / "x")])
    legacy = tmp_path / "legacy.pth"  # the pre-zip format is read
    torch.save({"state_dict": {"x": torch.zeros(1)}}, legacy, _use_new_zipfile_serialization=False)
    assert set(load_mmaction_state_dict(legacy)) == {"x"}
    no_backbone = tmp_path / "head_only.pth"
    torch.save({"cls_head.fc_cls.weight": torch.zeros(12, 2048)}, no_backbone)
    with pytest.raises(ValueError, match="no 'backbone"):
        main(["--checkpoint", str(no_backbone), "--output", str(tmp_path / "y")])
