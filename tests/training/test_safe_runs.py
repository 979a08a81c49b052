"""A real run is safe: the same command run again resumes it, a finished run or another recipe is refused before any
work, nothing a run did not write is deleted without --overwrite_output_dir, a run never writes into its own
--init_model (`glad_hf.training.output_dir`, `glad_hf.training.stage_recipe`)."""

import hashlib
import json
import logging
from pathlib import Path

import pytest
import torch
from accelerate import PartialState
from test_train_glad import synthetic_root, tiny_run_args  # noqa: F401  (the module's tiny synthetic K->B)

from glad_hf.training import loop
from glad_hf.training.arguments import parse_arguments
from glad_hf.training.output_dir import (
    OutputDirError,
    apply_output_plan,
    output_dir_lock,
    plan_output_dir,
    record_run_arguments,
)
from glad_hf.training.run import run_training, stage_recipes
from glad_hf.training.stage_recipe import (
    RecipeMismatchError,
    read_stage_recipe,
    recipe_differences,
    write_stage_recipe,
)
from helpers import crash_at_step


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _recipes(root, output, *extra):
    return stage_recipes(*parse_arguments(tiny_run_args(root, output, *extra)))


# -- the same command, run again ------------------------------------------------------------------------------------


def test_the_same_command_after_a_kill_mid_stage_2_resumes_it(synthetic_root, tmp_path, monkeypatch, caplog):  # noqa: F811
    command = ["--stage", "both", "--tol_max_train_steps", "2", "--max_train_steps", "5", "--num_train_epochs", "3",
               "--checkpointing_steps", "2", "--compare_source_only", "false", "--evaluate_every_epoch", "false"]  # fmt: skip
    straight = run_training(*parse_arguments(tiny_run_args(synthetic_root, tmp_path / "straight", *command)))
    expected = _weights(straight["glad"].model)

    run = tmp_path / "run"
    original = loop._log_step
    monkeypatch.setattr(loop, "_log_step", crash_at_step(3, original, "simulated kill"))
    with pytest.raises(KeyboardInterrupt):
        run_training(*parse_arguments(tiny_run_args(synthetic_root, run, *command)))
    monkeypatch.setattr(loop, "_log_step", original)
    assert (run / "tol" / "complete.json").is_file() and not (run / "glad" / "complete.json").exists()
    tol_files = {p: _md5(p) for p in (run / "tol").rglob("*") if p.is_file()}
    assert [p.name for p in (run / "glad" / "checkpoints").iterdir()] == ["step_00000002"]

    with caplog.at_level(logging.WARNING):  # the identical command, no --resume_from_checkpoint
        resumed = run_training(*parse_arguments(tiny_run_args(synthetic_root, run, *command)))
    said = [r.getMessage() for r in caplog.records if "holds an unfinished run" in r.getMessage()]
    assert (
        len(said) == 1
        and "tol finished (reused)" in said[0]
        and "glad from glad/checkpoints/step_00000002" in said[0]
    )
    assert resumed["tol"].model is None  # stage 1 reused, not trained again
    assert {p: _md5(p) for p in (run / "tol").rglob("*") if p.is_file()} == tol_files
    assert resumed["glad"].metrics["steps"] == 5
    for key, value in _weights(resumed["glad"].model).items():
        torch.testing.assert_close(value, expected[key], rtol=1e-5, atol=1e-6, msg=key)
    record = json.loads((run / "run_arguments.json").read_text())
    assert record["training"]["resume_from_checkpoint"] is None
    assert record["later_invocations"][0]["changed"] == {"training.resume_from_checkpoint": "latest"}

    # a third time: the run is finished, nothing is trained or written
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}
    with pytest.raises(
        OutputDirError, match=r"already holds a finished run of this recipe .*--overwrite_output_dir"
    ):
        run_training(*parse_arguments(tiny_run_args(synthetic_root, run, *command)))
    # another recipe into the finished folder: refused, naming each setting that differs
    with pytest.raises(RecipeMismatchError) as refused:
        run_training(*parse_arguments(tiny_run_args(synthetic_root, run, *command, "--learning_rate", "0.05",
                                                    "--per_device_train_batch_size", "2")))  # fmt: skip
    message = str(refused.value)
    assert f"{run / 'glad'} holds a run started with another recipe" in message
    assert "--learning_rate: recorded 0.001, now 0.05" in message
    assert "--per_device_train_batch_size: recorded 4, now 2" in message
    # a run into the folder of its own --init_model
    with pytest.raises(OutputDirError, match="would overwrite the model it starts from"):
        run_training(*parse_arguments(tiny_run_args(synthetic_root, run, *command, "--init_model",
                                                    str(run / "tol" / "last"))))  # fmt: skip
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()} == before


# -- the recipe --------------------------------------------------------------------------------------------------


def test_the_recipe_holds_what_changes_the_result_and_per_stage(synthetic_root, tmp_path):  # noqa: F811
    base = _recipes(synthetic_root, tmp_path / "a")
    assert set(base) == {"tol", "glad", "source_only"}
    # workers, logging, checkpoints, evaluation batch and the output folder do not change the result
    same = _recipes(synthetic_root, tmp_path / "b", "--num_workers", "2", "--logging_steps", "1",
                    "--checkpointing_steps", "3", "--per_device_eval_batch_size", "2", "--report_to", "tensorboard")  # fmt: skip
    assert same == base
    stage2 = _recipes(synthetic_root, tmp_path / "a", "--learning_rate", "0.01")
    assert stage2["tol"] == base["tol"] and recipe_differences(base["glad"], stage2["glad"]) == [
        "--learning_rate: recorded 0.001, now 0.01"
    ]
    stage1 = _recipes(synthetic_root, tmp_path / "a", "--tol_learning_rate", "0.01")
    assert stage1["glad"] == base["glad"] and stage1["tol"] != base["tol"]
    shared = _recipes(synthetic_root, tmp_path / "a", "--seed", "4")
    assert shared["tol"] != base["tol"] and shared["glad"] != base["glad"]
    # stage 2 of --stage both and --stage glad --init_model OUT/tol/last are one recipe
    (tmp_path / "a" / "tol" / "last").mkdir(parents=True)
    split = _recipes(
        synthetic_root,
        tmp_path / "a",
        "--stage",
        "glad",
        "--init_model",
        str(tmp_path / "a" / "tol" / "last"),
    )
    assert split["glad"] == base["glad"] and base["glad"]["init_model"] == "tol/last"


# -- the output-folder policy, on folders made by hand ------------------------------------------------------------


def _stage(folder: Path, settings: dict, *, finished: bool, checkpoint: int | None = None) -> Path:
    folder.mkdir(parents=True)
    write_stage_recipe(folder, settings)
    if checkpoint is not None:
        step = folder / "checkpoints" / f"step_{checkpoint:08d}"
        step.mkdir(parents=True)
        (step / "progress.json").write_text(json.dumps({"global_step": checkpoint, "max_steps": 10}))
    if finished:
        (folder / "complete.json").write_text("{}")
    return folder


RECIPE = {"learning_rate": 0.001, "seed": 0}


def test_a_new_or_empty_folder_starts_from_scratch(tmp_path):
    (tmp_path / "empty").mkdir()
    for output in (tmp_path / "new", tmp_path / "empty"):
        plan = plan_output_dir(output, {"glad": RECIPE}, resume=None, overwrite=False, init_model=None)
        assert plan.resume is None and plan.note is None and plan.delete == []


def test_an_interrupted_run_is_resumed_and_says_where(tmp_path):
    _stage(tmp_path / "tol", RECIPE, finished=True)
    _stage(tmp_path / "glad", RECIPE, finished=False, checkpoint=4)
    plan = plan_output_dir(
        tmp_path, {"tol": RECIPE, "glad": RECIPE}, resume=None, overwrite=False, init_model=None
    )
    assert plan.resume == "latest"
    assert plan.note == (
        f"{tmp_path} holds an unfinished run of this recipe; resuming tol finished (reused); "
        "glad from glad/checkpoints/step_00000004 (step 4 of 10)"
    )


def test_a_finished_run_is_refused_unless_resumed(tmp_path):
    _stage(tmp_path / "glad", RECIPE, finished=True)
    with pytest.raises(OutputDirError, match=f"{tmp_path} already holds a finished run of this recipe"):
        plan_output_dir(tmp_path, {"glad": RECIPE}, resume=None, overwrite=False, init_model=None)
    plan = plan_output_dir(tmp_path, {"glad": RECIPE}, resume="latest", overwrite=False, init_model=None)
    assert plan.resume == "latest" and "glad finished (reused)" in plan.note


def test_another_recipe_is_refused_naming_each_setting(tmp_path):
    _stage(tmp_path / "glad", RECIPE, finished=False, checkpoint=2)
    other = {"learning_rate": 0.05, "seed": 0, "per_device_train_batch_size": 2}
    with pytest.raises(RecipeMismatchError) as refused:
        plan_output_dir(tmp_path, {"glad": other}, resume="latest", overwrite=False, init_model=None)
    assert "--learning_rate: recorded 0.001, now 0.05" in str(refused.value)
    assert "--per_device_train_batch_size: recorded unset, now 2" in str(refused.value)
    assert str(tmp_path / "glad" / "recipe.json") in str(refused.value)


def test_a_folder_without_a_recorded_recipe_is_refused_or_adopted_on_request(tmp_path):
    (tmp_path / "glad" / "checkpoints" / "step_00000002").mkdir(parents=True)
    with pytest.raises(OutputDirError, match=r"holds files \(checkpoints\) but no glad/recipe.json"):
        plan_output_dir(tmp_path, {"glad": RECIPE}, resume=None, overwrite=False, init_model=None)
    plan = plan_output_dir(tmp_path, {"glad": RECIPE}, resume="latest", overwrite=False, init_model=None)
    assert "glad recorded no recipe" in plan.note and "resumed on your word" in plan.note
    PartialState()  # apply_output_plan logs through Accelerate, as in a run
    apply_output_plan(plan)
    assert read_stage_recipe(tmp_path / "glad") == RECIPE


def test_overwrite_deletes_only_the_stage_folders_the_run_writes(tmp_path):
    _stage(tmp_path / "tol", RECIPE, finished=True)
    _stage(tmp_path / "glad", RECIPE, finished=True)
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "results.json").write_text(json.dumps({"tol": {"a": 1}, "glad": {"b": 2}}))
    plan = plan_output_dir(
        tmp_path, {"glad": {"learning_rate": 0.05}}, resume=None, overwrite=True, init_model=None
    )
    assert plan.delete == [tmp_path / "glad"] and "deleting" in plan.note
    PartialState()
    apply_output_plan(plan)
    assert (tmp_path / "tol" / "complete.json").is_file() and (tmp_path / "notes.txt").read_text() == "mine"
    assert read_stage_recipe(tmp_path / "glad") == {"learning_rate": 0.05}
    assert not (tmp_path / "glad" / "complete.json").exists()
    assert json.loads((tmp_path / "results.json").read_text()) == {"tol": {"a": 1}}


def test_an_output_dir_that_is_a_file_is_named(tmp_path):
    (tmp_path / "out").write_text("x")
    for output, what in ((tmp_path / "out", "is a file"), (tmp_path / "out" / "sub", "lies under")):
        with pytest.raises(OutputDirError, match=f"--output_dir {output} {what}"):
            plan_output_dir(output, {"glad": RECIPE}, resume=None, overwrite=False, init_model=None)


def test_a_run_never_writes_into_its_own_init_model_even_with_overwrite(tmp_path):
    init = tmp_path / "tol" / "last"
    init.mkdir(parents=True)
    for overwrite in (False, True):
        with pytest.raises(OutputDirError, match=f"--init_model {init} lies in {tmp_path / 'tol'}"):
            plan_output_dir(tmp_path, {"tol": RECIPE}, resume=None, overwrite=overwrite, init_model=str(init))
    assert init.is_dir()
    plan_output_dir(
        tmp_path, {"glad": RECIPE}, resume=None, overwrite=False, init_model=str(init)
    )  # stage 2 from it


def test_run_arguments_record_every_invocation(tmp_path):
    record_run_arguments(tmp_path, {"training": {"num_workers": 0, "seed": 1}}, stages=["glad"])
    record_run_arguments(tmp_path, {"training": {"num_workers": 4, "seed": 1}}, stages=["glad"])
    record = json.loads((tmp_path / "run_arguments.json").read_text())
    assert record["training"] == {"num_workers": 0, "seed": 1}
    assert record["later_invocations"][0]["changed"] == {"training.num_workers": 4}


def test_overwrite_and_resume_together_are_refused():
    with pytest.raises(
        ValueError, match="--overwrite_output_dir deletes what --resume_from_checkpoint latest"
    ):
        parse_arguments(["--overwrite_output_dir", "true", "--resume_from_checkpoint", "latest"])


def test_a_second_run_into_a_folder_in_use_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    with output_dir_lock(tmp_path / "out"):
        with pytest.raises(OutputDirError, match=f"another run is using {tmp_path / 'out'} now"):
            with output_dir_lock(tmp_path / "out"):
                pass
    with output_dir_lock(tmp_path / "out"):  # released when the first run ended
        pass


def test_an_empty_output_dir_is_refused():
    with pytest.raises(OutputDirError, match="--output_dir is empty"):
        plan_output_dir("", {"glad": RECIPE}, resume=None, overwrite=False, init_model=None)


def test_resuming_a_folder_without_a_run_says_so(tmp_path):
    plan = plan_output_dir(
        tmp_path / "new", {"glad": RECIPE}, resume="latest", overwrite=False, init_model=None
    )
    assert (
        plan.note
        == f"--resume_from_checkpoint latest: {tmp_path / 'new'} holds no run of these stages yet; starting them"
    )


def test_a_stage_that_never_started_takes_the_new_recipe(tmp_path):
    """A run killed in stage 1 recorded stage 2's recipe too; stage 2 had no work yet, so its settings may change."""
    _stage(tmp_path / "tol", RECIPE, finished=False, checkpoint=2)
    (tmp_path / "glad").mkdir()
    write_stage_recipe(tmp_path / "glad", RECIPE)
    new = {"learning_rate": 0.05, "seed": 0}
    plan = plan_output_dir(
        tmp_path, {"tol": RECIPE, "glad": new}, resume=None, overwrite=False, init_model=None
    )
    assert plan.resume == "latest" and "glad" not in plan.note
    PartialState()
    apply_output_plan(plan)
    assert read_stage_recipe(tmp_path / "glad") == new and read_stage_recipe(tmp_path / "tol") == RECIPE
