import math

import pytest
import torch

from glad_hf import GladConfig, GladForVideoClassification
from glad_hf.training.arguments import GladTrainingArguments
from glad_hf.training.optim import (
    glad_parameter_groups,
    make_optimizer,
    one_cycle_schedule,
    stage_optimizer,
    stage_schedule,
    step_decay_schedule,
)
from glad_hf.training.stages import grl_ramp


@pytest.fixture(scope="module")
def model():
    return GladForVideoClassification(GladConfig.tiny())


def _groups(groups):
    return {g["name"]: g for g in groups}


def test_paper_groups_and_the_backbone_scale(model):
    groups = _groups(glad_parameter_groups(model, 0.1, 1e-4, backbone_lr_scale=0.3))
    backbone = {id(p) for p in model.glad.backbone.parameters()}
    for name, group in groups.items():
        assert all((id(p) in backbone) == name.startswith("backbone_") for p in group["params"])
    assert groups["backbone_weights"]["lr"] == pytest.approx(0.03)
    assert (
        groups["backbone_biases"]["lr"] == pytest.approx(0.06)
        and groups["backbone_biases"]["weight_decay"] == 0
    )
    assert groups["backbone_norms"]["weight_decay"] == 0
    assert groups["head_weight"]["lr"] == pytest.approx(0.5) and groups["head_bias"]["lr"] == pytest.approx(
        1.0
    )
    assert groups["weights"]["lr"] == pytest.approx(0.1)  # the domain classifiers keep the base rate
    assert sum(len(g["params"]) for g in groups.values()) == len(list(model.parameters()))
    adamw = make_optimizer(model, "adamw", learning_rate=1e-3, weight_decay=1e-4, backbone_lr_scale=0.5)
    rates = {g["name"]: g["lr"] for g in adamw.param_groups}
    assert rates["backbone_biases"] == pytest.approx(5e-4) and rates["head_bias"] == pytest.approx(1e-3)


def _rates(scheduler, optimizer, steps):
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_momentum_reaches_sgd_only(model):
    sgd = stage_optimizer(
        model, GladTrainingArguments(optimizer="sgd", momentum=0.8), learning_rate=0.1, backbone_lr_scale=1.0
    )
    assert isinstance(sgd, torch.optim.SGD) and {g["momentum"] for g in sgd.param_groups} == {0.8}
    adamw = stage_optimizer(
        model,
        GladTrainingArguments(optimizer="adamw", momentum=0.8),
        learning_rate=0.1,
        backbone_lr_scale=1.0,
    )
    assert isinstance(adamw, torch.optim.AdamW)
    with pytest.raises(ValueError, match="AdamW has no momentum"):
        make_optimizer(model, "adamw", learning_rate=0.1, weight_decay=0.0, momentum=0.9)
    with pytest.raises(ValueError, match="SGD optimizer needs a momentum"):
        make_optimizer(model, "sgd", learning_rate=0.1, weight_decay=0.0)


def test_schedules():
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=1.0)
    cosine = _rates(stage_schedule(optimizer, "cosine", 10), optimizer, 10)
    assert cosine[0] == pytest.approx(1.0) and cosine[5] == pytest.approx(0.5) and cosine[-1] < 0.03
    optimizer = torch.optim.SGD([parameter], lr=1.0)
    assert set(_rates(stage_schedule(optimizer, "constant", 10), optimizer, 10)) == {1.0}
    optimizer = torch.optim.SGD([parameter], lr=1.0)
    # two processes: a prepared scheduler steps twice per optimiser step, so the decay comes at scheduler step 6
    decay = _rates(step_decay_schedule(optimizer, [3], num_processes=2), optimizer, 8)
    assert decay[5] == pytest.approx(1.0) and decay[6] == pytest.approx(0.1)
    optimizer = torch.optim.SGD([parameter], lr=2.0)
    cycle = _rates(one_cycle_schedule(optimizer, 20), optimizer, 20)
    assert max(cycle) == pytest.approx(2.0) and cycle[0] < 0.1 and cycle[-1] < 1e-3
    with pytest.raises(ValueError, match="lr scheduler"):
        stage_schedule(optimizer, "linear", 10)


def test_grl_ramp():
    assert grl_ramp("constant", 0.0) == 1.0 == grl_ramp("constant", 0.7)
    assert grl_ramp("dann", 0.0) == 0.0
    assert grl_ramp("dann", 0.5) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert 0.999 < grl_ramp("dann", 1.0) <= grl_ramp("dann", 3.0) < 1.0
    with pytest.raises(ValueError, match="grl_lambda_schedule"):
        grl_ramp("linear", 0.5)
