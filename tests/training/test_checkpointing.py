import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from accelerate import Accelerator

from glad_hf import GladForVideoClassification
from glad_hf.atomic import atomic_write_folder, atomic_write_json, recover_interrupted_save
from glad_hf.training.checkpointing import atomic_accelerator_save_state, atomic_save_pretrained
from helpers import tiny_config


class TinyProcessor:
    """Stands in for the video processor: `save_pretrained` writes one JSON file."""

    def __init__(self, size=224):
        self.size = size

    def save_pretrained(self, folder):
        Path(folder, "preprocessor_config.json").write_text(json.dumps({"size": self.size}))


def tiny_model(value):
    torch.manual_seed(0)
    model = GladForVideoClassification(tiny_config())
    with torch.no_grad():
        model.classifier.fc.weight.fill_(value)
    return model


def assert_checkpoint_holds(folder, value, size):
    loaded = GladForVideoClassification.from_pretrained(folder)
    assert torch.all(loaded.classifier.fc.weight == value)
    assert json.loads((folder / "preprocessor_config.json").read_text()) == {"size": size}


def test_save_replaces_the_previous_checkpoint_and_leaves_no_siblings(tmp_path):
    folder = tmp_path / "best"
    atomic_save_pretrained(tiny_model(1.0), TinyProcessor(224), folder)
    atomic_save_pretrained(tiny_model(2.0), TinyProcessor(112), folder)

    assert_checkpoint_holds(folder, 2.0, 112)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]


def test_a_save_that_raises_half_way_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    folder = tmp_path / "best"
    atomic_save_pretrained(tiny_model(1.0), TinyProcessor(224), folder)

    def broken_processor_save(self, folder):
        Path(folder, "preprocessor_config.json").write_text('{"si')
        raise OSError("disk full")

    monkeypatch.setattr(TinyProcessor, "save_pretrained", broken_processor_save)
    with pytest.raises(OSError, match="disk full"):
        atomic_save_pretrained(tiny_model(2.0), TinyProcessor(112), folder)

    assert_checkpoint_holds(folder, 1.0, 224)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]


def save_and_die(folder, stage):
    """In a forked child: save a checkpoint of 2.0 over `folder` and die (os._exit, no clean-up) at `stage`."""
    if stage == "writing":

        def die_while_writing(self, folder):
            Path(folder, "preprocessor_config.json").write_text('{"si')
            os._exit(17)

        TinyProcessor.save_pretrained = die_while_writing
    else:
        real_replace = os.replace
        calls = []

        def die_between_renames(source, destination):
            calls.append(source)
            if len(calls) == 2:  # after `folder` -> `folder.old`, before `folder.tmp` -> `folder`
                os._exit(17)
            real_replace(source, destination)

        os.replace = die_between_renames
    atomic_save_pretrained(tiny_model(2.0), TinyProcessor(112), folder)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork to kill a save half-way")
@pytest.mark.parametrize("stage", ["writing", "between_renames"])
def test_a_killed_save_is_recovered_to_the_previous_checkpoint(tmp_path, stage):
    folder = tmp_path / "best"
    atomic_save_pretrained(tiny_model(1.0), TinyProcessor(224), folder)

    child = os.fork()
    if child == 0:
        try:
            save_and_die(folder, stage)
        finally:
            os._exit(99)  # reached only if the save did not die where it should
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 17
    assert (tmp_path / "best.tmp").is_dir()
    if stage == "between_renames":
        assert not folder.exists() and (tmp_path / "best.old").is_dir()

    assert recover_interrupted_save(folder)
    assert_checkpoint_holds(folder, 1.0, 224)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]


def test_recovery_deletes_an_old_folder_left_after_the_swap(tmp_path):
    folder = tmp_path / "best"
    atomic_save_pretrained(tiny_model(2.0), TinyProcessor(112), folder)
    (tmp_path / "best.old").mkdir()
    (tmp_path / "best.old" / "half_deleted.bin").write_bytes(b"x")

    assert recover_interrupted_save(folder)
    assert_checkpoint_holds(folder, 2.0, 112)
    assert not (tmp_path / "best.old").exists()


def test_recovery_without_any_checkpoint_reports_none(tmp_path):
    (tmp_path / "best.tmp").mkdir()
    assert not recover_interrupted_save(tmp_path / "best")
    assert not (tmp_path / "best.tmp").exists()


def test_a_write_that_writes_nothing_is_refused(tmp_path):
    folder = atomic_write_folder(tmp_path / "ckpt", lambda temporary: (temporary / "a.txt").write_text("a"))
    with pytest.raises(RuntimeError, match="Nothing was written"):
        atomic_write_folder(folder, lambda temporary: None)
    assert (folder / "a.txt").read_text() == "a"


def test_atomic_write_json_replaces_the_file_and_converts_numpy_and_torch(tmp_path):
    path = tmp_path / "results" / "eval.json"
    atomic_write_json(path, {"old": True})
    atomic_write_json(
        path, {"mca": np.float32(0.5), "matrix": np.eye(2, dtype=np.int64), "loss": torch.tensor(1.5)}
    )

    assert json.loads(path.read_text()) == {"mca": 0.5, "matrix": [[1, 0], [0, 1]], "loss": 1.5}
    assert sorted(p.name for p in path.parent.iterdir()) == ["eval.json"]
    with pytest.raises(TypeError, match="not JSON serialisable"):
        atomic_write_json(path, {"bad": object()})
    assert json.loads(path.read_text())["mca"] == 0.5


def test_accelerator_state_survives_a_failed_save(tmp_path, monkeypatch):
    accelerator = Accelerator(cpu=True)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model, optimizer = accelerator.prepare(model, optimizer)
    with torch.no_grad():
        model.weight.fill_(1.0)
    folder = tmp_path / "state"
    atomic_accelerator_save_state(accelerator, folder)
    assert (folder / "model.safetensors").is_file()

    real_save_state = accelerator.save_state

    def save_half_then_fail(output_dir, **kwargs):
        real_save_state(output_dir, **kwargs)
        (Path(output_dir) / "model.safetensors").write_bytes(b"truncated")
        raise OSError("killed")

    with torch.no_grad():
        model.weight.fill_(2.0)
    monkeypatch.setattr(accelerator, "save_state", save_half_then_fail)
    with pytest.raises(OSError, match="killed"):
        atomic_accelerator_save_state(accelerator, folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]

    accelerator.load_state(str(folder))
    assert torch.all(model.weight == 1.0)
    monkeypatch.undo()

    with torch.no_grad():
        model.weight.fill_(2.0)
    atomic_accelerator_save_state(accelerator, folder)
    with torch.no_grad():
        model.weight.fill_(3.0)
    accelerator.load_state(str(folder))
    assert torch.all(model.weight == 2.0)
