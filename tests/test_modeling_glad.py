import itertools

import pytest
import torch
import torch.nn.functional as F
from transformers import AutoConfig, AutoModel, AutoModelForVideoClassification

from glad_hf import GladConfig, GladForTemporalOrderLearning, GladForVideoClassification, GladModel
from glad_hf.modeling_glad import LocalGlobalViewSampler, TemporalOrderHead
from helpers import clip_grid, tiny_config


def count_backbone_inputs(model):
    """Record the batch size of every backbone call."""
    calls = []
    model.glad.backbone.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    return calls


def test_full_recognizer_has_the_reference_parameter_count():
    model = GladForVideoClassification(GladConfig())
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    assert count(model) == 84_965_199
    assert count(model.domain_classifiers) == 50_362_371
    assert count(model.classifier) == 24_588


def test_views_against_a_hand_built_grid():
    # value of cell (row n, column t) = 10 * n + t, so every view is readable by hand
    grid = torch.zeros(1, 8, 3, 8, 2, 2)
    for n, t in itertools.product(range(8), range(8)):
        grid[0, n, :, t] = 10 * n + t
    local, global_view = LocalGlobalViewSampler(8, 8, 3, (4, 5))(grid, (4, 5))
    assert local.shape == (1, 2, 3, 8, 2, 2) and global_view.shape == (1, 3, 8, 2, 2)
    assert local[0, 0, 0, :, 0, 0].tolist() == [40, 41, 42, 43, 44, 45, 46, 47]
    assert local[0, 1, 0, :, 0, 0].tolist() == [50, 51, 52, 53, 54, 55, 56, 57]
    assert global_view[0, 0, :, 0, 0].tolist() == [3, 13, 23, 33, 43, 53, 63, 73]
    # the global view shares exactly two frames with the local clips: 22 distinct frames in all
    used = {int(v) for v in local[0, :, 0, :, 0, 0].flatten()} | {int(v) for v in global_view[0, 0, :, 0, 0]}
    assert len(used) == 22


def test_glad_model_output_shapes_and_pooling():
    model = GladModel(tiny_config()).eval()
    with torch.no_grad():
        out = model(clip_grid())
    assert out.local_features.shape == (2, 2, 64) and out.global_features.shape == (2, 64)
    expected = (out.local_features.sum(1) + out.global_features) / 3
    torch.testing.assert_close(out.pooled_output, expected)


def test_reference_inference_computes_only_the_last_local_clip_and_the_global_view():
    config = tiny_config()
    model = GladForVideoClassification(config).eval()
    pixel_values = clip_grid()
    calls = count_backbone_inputs(model)
    with torch.no_grad():
        logits = model(pixel_values).logits
    assert logits.shape == (2, 12)
    assert calls == [4]  # per video: the local clip of row 5 and the global view, in one eval-mode call
    with torch.no_grad():
        features = model.glad(pixel_values, local_clip_indices=(5,))
        expected = model.classifier((features.local_features[:, 0] + features.global_features) / 2)
    torch.testing.assert_close(logits, expected)


def test_all_views_aggregation_is_an_option():
    model = GladForVideoClassification(tiny_config(test_view_aggregation="all_views")).eval()
    pixel_values = clip_grid()
    calls = count_backbone_inputs(model)
    with torch.no_grad():
        logits = model(pixel_values).logits
        expected = model.classifier(model.glad(pixel_values).pooled_output)
    torch.testing.assert_close(logits, expected)
    assert calls[0] == 6  # per video: both local clips and the global view
    reference = GladForVideoClassification(tiny_config()).eval()
    reference.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert not torch.allclose(reference(pixel_values).logits, logits)


def test_fused_and_per_group_batch_norm_agree_in_eval_and_differ_in_training():
    torch.manual_seed(0)
    per_group = GladForVideoClassification(tiny_config())
    fused = GladForVideoClassification(tiny_config(batch_norm_grouping="fused"))
    fused.load_state_dict(per_group.state_dict())
    source, target = clip_grid(seed=1), clip_grid(seed=2) * 2 + 1
    per_group_calls, fused_calls = count_backbone_inputs(per_group), count_backbone_inputs(fused)
    with torch.no_grad():
        torch.testing.assert_close(per_group.eval()(source).logits, fused.eval()(source).logits)
        per_group.train(), fused.train()
        labels = torch.tensor([0, 1])
        a = per_group(source, labels=labels, target_pixel_values=target)
        b = fused(source, labels=labels, target_pixel_values=target)
    assert per_group_calls[-4:] == [4, 2, 4, 2]  # source-local, source-global, target-local, target-global
    assert fused_calls[-1] == 12  # every view of both domains in one call
    assert not torch.allclose(a.logits, b.logits)


def test_source_only_training_loss():
    model = GladForVideoClassification(tiny_config(domain_alignment=())).train()
    labels = torch.tensor([3, 7])
    out = model(clip_grid(), labels=labels)
    assert out.logits.shape == (2, 12)
    torch.testing.assert_close(out.loss, F.cross_entropy(out.logits, labels))
    out.loss.backward()
    assert model.glad.backbone.conv1.conv.weight.grad.abs().sum() > 0


def test_domain_adaptation_losses_and_target_labels_never_used():
    torch.manual_seed(0)
    model = GladForVideoClassification(tiny_config()).train()
    labels = torch.tensor([1, 4])
    source = clip_grid(seed=3)
    out = model(source, labels=labels, target_pixel_values=clip_grid(seed=4))
    assert set(out.domain_losses) == {"local", "global", "cross"} == set(out.domain_accuracies)
    assert all(0.0 <= float(acc) <= 1.0 for acc in out.domain_accuracies.values())
    torch.testing.assert_close(out.classification_loss, F.cross_entropy(out.logits, labels))
    torch.testing.assert_close(out.domain_loss, sum(out.domain_losses.values()))
    torch.testing.assert_close(out.loss, out.classification_loss + out.domain_loss)
    # per-group batch norm: the source classification does not depend on the target batch at all
    other = model(source, labels=labels, target_pixel_values=clip_grid(seed=5) * 3)
    torch.testing.assert_close(other.classification_loss, out.classification_loss)
    assert not torch.allclose(other.domain_loss, out.domain_loss)


def test_domain_classifier_inputs_follow_the_spec():
    model = GladForVideoClassification(
        tiny_config(domain_alignment=("local", "global", "cross", "video"))
    ).train()
    rows = {}
    for name, classifier in model.domain_classifiers.items():
        classifier.register_forward_hook(
            lambda m, args, out, name=name: rows.__setitem__(name, args[0].shape[0])
        )
    model(clip_grid(batch=3), labels=torch.tensor([0, 1, 2]), target_pixel_values=clip_grid(batch=3, seed=9))
    assert rows == {"local": 6, "global": 6, "cross": 12, "video": 6}


def test_gradient_reversal_negates_the_domain_gradient_reaching_the_backbone():
    torch.manual_seed(0)
    model = GladForVideoClassification(tiny_config(domain_alignment=("global",))).train()
    source, target = clip_grid(seed=6), clip_grid(seed=7)

    def domain_grads(grl_lambda):
        model.zero_grad()
        model(source, target_pixel_values=target, grl_lambda=grl_lambda).domain_loss.backward()
        head = model.domain_classifiers["global"].output.weight.grad.clone()
        return model.glad.backbone.conv1.conv.weight.grad.clone(), head

    reversed_backbone, reversed_head = domain_grads(1.0)
    plain_backbone, plain_head = domain_grads(-1.0)  # lambda = -1 undoes the reversal
    assert reversed_backbone.abs().sum() > 0
    torch.testing.assert_close(reversed_backbone, -plain_backbone)
    torch.testing.assert_close(reversed_head, plain_head)  # the classifier itself is trained normally


def test_temporal_order_learning_reorders_clips_by_the_given_permutation():
    model = GladForTemporalOrderLearning(tiny_config()).train()
    assert [tuple(p) for p in model.permutations.tolist()] == list(itertools.permutations(range(3)))
    seen = {}
    model.temporal_order_head.register_forward_hook(
        lambda m, args, out: seen.__setitem__("features", args[0])
    )
    pixel_values = clip_grid(batch=4, num_clips=3)
    permutation = torch.tensor([0, 1, 4, 5])
    out = model(pixel_values, permutation=permutation)
    assert out.logits.shape == (4, 6) and 0 <= float(out.accuracy) <= 1
    torch.testing.assert_close(out.loss, F.cross_entropy(out.logits, permutation))
    features = model.glad.backbone.extract_features(pixel_values.flatten(0, 1)).view(4, 3, -1)
    orders = list(itertools.permutations(range(3)))
    for b, p in enumerate(permutation.tolist()):
        for k in range(3):
            torch.testing.assert_close(seen["features"][b, k], features[b, orders[p][k]])
    drawn = model(pixel_values).permutation
    assert drawn.shape == (4,) and int(drawn.max()) < 6


def test_temporal_order_head_pairs():
    head = TemporalOrderHead(in_features=5, num_clips=3, hidden_size=7, dropout=0.0)
    assert head.pairs == [(0, 1), (0, 2), (1, 2)]
    assert head.pair_projection.weight.shape == (7, 10) and head.classifier.weight.shape == (6, 21)


@pytest.mark.parametrize(
    "shape, message",
    [
        ((2, 3, 32, 32), "clip grid"),
        ((2, 3, 8, 32, 32), r"K in \[15, 22\] view cells"),
        ((2, 6, 3, 8, 32, 32), "num_clips=8"),
        ((2, 8, 3, 4, 32, 32), "clip_len=8"),
    ],
)
def test_bad_input_shapes_are_explained(shape, message):
    model = GladForVideoClassification(tiny_config()).eval()
    with pytest.raises(ValueError, match=message):
        model(torch.zeros(shape))


def test_bad_temporal_order_inputs_are_explained():
    model = GladForTemporalOrderLearning(tiny_config())
    with pytest.raises(ValueError, match="tol_num_clips=3"):
        model(clip_grid(num_clips=4))
    with pytest.raises(ValueError, match="permutation"):
        model(clip_grid(num_clips=3), permutation=torch.tensor([0, 6]))


def test_target_pixel_values_need_training_mode():
    model = GladForVideoClassification(tiny_config()).eval()
    with pytest.raises(ValueError, match="train"):
        model(clip_grid(), target_pixel_values=clip_grid())


def test_save_and_load_round_trip_with_auto_classes(tmp_path):
    model = GladForVideoClassification(tiny_config()).eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    assert type(AutoConfig.from_pretrained(tmp_path)) is GladConfig
    loaded = AutoModelForVideoClassification.from_pretrained(tmp_path).eval()
    assert type(loaded) is GladForVideoClassification
    pixel_values = clip_grid()
    with torch.no_grad():
        torch.testing.assert_close(loaded(pixel_values).logits, model(pixel_values).logits)
    base = AutoModel.from_pretrained(tmp_path)
    assert type(base) is GladModel
    torch.testing.assert_close(base.backbone.conv1.conv.weight, model.glad.backbone.conv1.conv.weight)


def test_classifier_starts_from_a_temporal_order_checkpoint(tmp_path):
    tol = GladForTemporalOrderLearning(tiny_config())
    tol.save_pretrained(tmp_path)
    # its head would be random: never scored
    with pytest.raises(ValueError, match="holds a temporal-order model"):
        GladForVideoClassification.from_pretrained(tmp_path)
    # a classifier to train from it: a config of its own (no `architectures` claim), as training builds it
    config = GladConfig.from_pretrained(tmp_path, architectures=None)
    model = GladForVideoClassification.from_pretrained(tmp_path, config=config)
    for name, tensor in tol.glad.state_dict().items():
        torch.testing.assert_close(model.glad.state_dict()[name], tensor)
    assert "temporal_order_head.classifier.weight" not in model.state_dict()


def test_gradient_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    model = GladForVideoClassification(tiny_config(domain_alignment=())).train()
    pixel_values, labels = clip_grid(), torch.tensor([0, 5])
    model(pixel_values, labels=labels).loss.backward()
    expected = model.glad.backbone.conv1.conv.weight.grad.clone()
    model.zero_grad()
    model.activation_checkpointing_enable()
    assert all(block.gradient_checkpointing for layer in model.glad.backbone.layers for block in layer)
    recomputed = []
    model.glad.backbone.layers[0][0].conv1.register_forward_hook(lambda *args: recomputed.append(1))
    model(pixel_values, labels=labels).loss.backward()
    assert len(recomputed) == 4  # local and global calls, each run again during backward
    torch.testing.assert_close(model.glad.backbone.conv1.conv.weight.grad, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("source_class", [GladForVideoClassification, GladForTemporalOrderLearning])
def test_temporal_order_model_from_a_checkpoint_has_its_permutation_table(tmp_path, source_class):
    # The table is a non-persistent buffer: from_pretrained creates it without values, _init_weights sets them.
    source_class(tiny_config()).save_pretrained(tmp_path)
    model = GladForTemporalOrderLearning.from_pretrained(tmp_path)
    assert model.permutations.tolist() == [list(p) for p in itertools.permutations(range(3))]
    out = model(clip_grid(batch=2, num_clips=3, size=32), permutation=torch.tensor([5, 0]))
    assert out.permutation.tolist() == [5, 0] and torch.isfinite(out.loss)


def test_activation_checkpointing_does_not_update_batch_norm_statistics_twice():
    """The backward pass recomputes checkpointed blocks; their batch norms must not count that batch again."""
    pixel_values, labels = clip_grid(batch=2, num_clips=8, clip_len=8, size=32), torch.tensor([0, 1])
    statistics = {}
    for checkpointing in (False, True):
        torch.manual_seed(0)
        model = GladForVideoClassification(tiny_config()).train()
        if checkpointing:
            model.activation_checkpointing_enable()
        model(pixel_values, labels=labels).loss.backward()
        statistics[checkpointing] = {
            k: v.clone() for k, v in model.state_dict().items() if "running" in k or "batches" in k
        }
    assert statistics[True] and statistics[True].keys() == statistics[False].keys()
    for key, value in statistics[False].items():
        torch.testing.assert_close(statistics[True][key], value, rtol=1e-5, atol=1e-6, msg=key)
    assert any(
        int(v) == 2 for k, v in statistics[True].items() if "num_batches_tracked" in k
    )  # local + global call
    assert not any(int(v) > 2 for k, v in statistics[True].items() if "num_batches_tracked" in k)
