"""The training loop on a tiny GLAD and random clips: non-finite steps are skipped without touching the weights or
the batch-norm statistics, too many in a row stop the run, and the last good checkpoint stays loadable."""

import json

import pytest
import torch
from accelerate import Accelerator
from torch.utils.data import Dataset

from glad_hf import GladForVideoClassification
from glad_hf.training.arguments import DataArguments, GladTrainingArguments
from glad_hf.training.checkpointing import checkpoint_dirs
from glad_hf.training.guards import NonFiniteLossError
from glad_hf.training.loop import TrainingPlan, train
from glad_hf.training.optim import make_optimizer, step_decay_schedule
from helpers import tiny_config


class RandomClips(Dataset):
    """Eight fixed random clip grids [2, 3, 2, 16, 16] with labels; `set_epoch` is accepted."""

    def __init__(self):
        generator = torch.Generator().manual_seed(0)
        self.pixel_values = torch.randn(8, 2, 3, 2, 16, 16, generator=generator)
        self.labels = torch.arange(8) % 2

    def __len__(self):
        return 8

    def set_epoch(self, epoch):
        pass

    def __getitem__(self, index):
        return {"pixel_values": self.pixel_values[index], "labels": self.labels[index]}


def _model():
    torch.manual_seed(0)
    config = tiny_config(num_clips=2, clip_len=2, local_clip_indices=(1,), global_frame_index=0, num_labels=2)
    return GladForVideoClassification(config)


def _plan(model, poison_steps: set, poison: str = "loss"):
    def compute_loss(model, batch, progress):
        out = model(batch["pixel_values"], labels=batch["labels"])
        loss = out.loss
        if progress.global_step + 1 in poison_steps:  # the step about to be taken
            if poison == "loss":
                loss = loss * float("nan")
            else:  # a finite loss whose gradient is NaN: d sqrt(x) / dx at 0 is inf, times 0
                loss = loss + torch.sqrt(0.0 * next(model.parameters()).sum())
        return loss, {"loss": loss, "classification_loss": out.loss}

    return TrainingPlan(
        name="toy",
        description="toy",
        model=model,
        optimizer=make_optimizer(model, "adamw", learning_rate=1e-2, weight_decay=0.0),
        make_scheduler=lambda optimizer, steps, per_epoch: step_decay_schedule(optimizer, []),
        train_dataset=RandomClips(),
        batch_size=4,
        compute_loss=compute_loss,
        num_epochs=None,
        max_steps=4,
    )


def _arguments(tmp_path, **changes):
    values = dict(output_dir=str(tmp_path), report_to="none", checkpointing_steps=1, logging_steps=1)
    return GladTrainingArguments(**{**values, **changes})


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("poison", ["loss", "gradient"])
def test_a_non_finite_step_is_skipped_and_leaves_weights_and_statistics_alone(tmp_path, poison):
    model = _model()
    states = []
    plan = _plan(model, poison_steps={3}, poison=poison)
    original = plan.compute_loss

    def recording(model, batch, progress):
        states.append(_state(model))  # the state before each step
        return original(model, batch, progress)

    plan.compute_loss = recording
    trained = train(Accelerator(cpu=True), plan, DataArguments(), _arguments(tmp_path), tmp_path, resume=None)
    assert trained.progress.global_step == 4 and trained.progress.skipped_steps == 1
    before_skip, after_skip = states[2], states[3]  # around step 3
    for key, value in before_skip.items():
        torch.testing.assert_close(
            after_skip[key], value, rtol=0, atol=0, msg=key
        )  # weights and BN statistics
    assert any(not torch.equal(states[1][k], states[2][k]) for k in states[1])  # a good step does move them
    assert all(torch.isfinite(v).all() for v in _state(trained.model).values() if v.is_floating_point())
    logged = dict(trained.progress.history["train/skipped_steps"])
    assert logged[2] == 0 and logged[3] == 1


def test_too_many_non_finite_steps_in_a_row_stop_the_run_with_the_last_good_checkpoint(tmp_path):
    plan = _plan(_model(), poison_steps={3, 4})
    arguments = _arguments(tmp_path, max_consecutive_nonfinite_steps=2)
    with pytest.raises(NonFiniteLossError, match=r"2 consecutive steps up to step 4.*classification_loss"):
        train(Accelerator(cpu=True), plan, DataArguments(), arguments, tmp_path, resume=None)
    last = checkpoint_dirs(tmp_path)[-1]
    progress = json.loads((last / "progress.json").read_text())
    assert progress["global_step"] == 3 and progress["skipped_steps"] == 1  # saved before the run stopped
    fresh = _plan(_model(), poison_steps=set())
    resumed = train(
        Accelerator(cpu=True), fresh, DataArguments(), _arguments(tmp_path), tmp_path, resume="latest"
    )
    assert resumed.progress.global_step == 4 and resumed.progress.skipped_steps == 1
