"""`scripts/evaluate_glad.py` scores what training can train: a model of a *folders* pair and of a *lists* pair, with
training's data flags (or its --config); a model of other classes, or a mistyped synthetic --data_dir, is refused
before the pass."""

import json
import runpy
from pathlib import Path

import pytest
from test_any_two_domains import _common, folders_pair, lists_pair  # noqa: F401  (module-scoped fixtures)

from glad_hf.training import evaluation
from glad_hf.training.arguments import parse_arguments
from glad_hf.training.run import run_training

REPO = Path(__file__).resolve().parents[2]


def evaluate_glad(argv):
    return runpy.run_path(str(REPO / "scripts" / "evaluate_glad.py"))["main"](argv)


def _folders_flags(pair) -> list[str]:
    return ["--dataset", "folders", "--source_dir", str(pair / "source"), "--target_dir", str(pair / "target"),
            "--class_map", str(pair / "class_map.json")]  # fmt: skip


def _lists_flags(pair) -> list[str]:
    return ["--dataset", "lists", "--source_dir", str(pair / "source"), "--target_dir", str(pair / "target"),
            "--source_classes", str(pair / "classes.txt"), "--source_lists", str(pair / "source_train.txt"),
            str(pair / "source_test.txt"), "--target_lists", str(pair / "target_train.txt"),
            str(pair / "target_test.txt"), "--media", "video"]  # fmt: skip


def _train(data_flags, output: Path) -> Path:
    args = _common(output, *data_flags, "--stage", "glad", "--max_train_steps", "1")
    return run_training(*parse_arguments(args))["glad"].model_dir


@pytest.fixture(scope="module")
def folders_model(folders_pair, tmp_path_factory):  # noqa: F811
    return _train(_folders_flags(folders_pair), tmp_path_factory.mktemp("folders_run"))


@pytest.fixture(scope="module")
def lists_model(lists_pair, tmp_path_factory):  # noqa: F811
    return _train(_lists_flags(lists_pair), tmp_path_factory.mktemp("lists_run"))


def test_evaluate_glad_scores_a_folders_pair(folders_pair, folders_model, tmp_path, capsys):  # noqa: F811
    evaluate_glad(["--model", str(folders_model), *_folders_flags(folders_pair), "--num_workers", "0",
                   "--output_dir", str(tmp_path / "eval")])  # fmt: skip
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert (
        metrics["num_videos"] == 6 and len(metrics["confusion_matrix"]) == 3
    )  # 3 shared classes x 2 target tests
    assert metrics["crop_size"] == 24  # the model's processor, not the recipe's 224
    # the scores are those training's final evaluation wrote for the same model and split
    final = json.loads((folders_model.parent / "metrics.json").read_text())["target"]
    assert metrics["mean_class_accuracy"] == pytest.approx(final["mean_class_accuracy"])
    assert "target test: 6 videos" in capsys.readouterr().out


def test_a_run_saves_its_recipe_which_reproduces_its_arguments(folders_pair, folders_model):  # noqa: F811
    run = folders_model.parents[1]
    again = parse_arguments(["--config", str(run / "recipe.yaml")])
    original = parse_arguments(
        _common(run, *_folders_flags(folders_pair), "--stage", "glad", "--max_train_steps", "1")
    )
    assert again == original


def test_evaluate_glad_scores_a_lists_pair_from_a_training_config(lists_pair, lists_model, tmp_path):  # noqa: F811
    flags = _lists_flags(lists_pair)
    config = {flags[i][2:]: flags[i + 1] for i in range(0, len(flags) - 1) if flags[i].startswith("--")}
    config.update(source_lists=flags[flags.index("--source_lists") + 1 : flags.index("--source_lists") + 3],
                  target_lists=flags[flags.index("--target_lists") + 1 : flags.index("--target_lists") + 3],
                  output_dir=str(tmp_path / "training_output"), learning_rate=0.5, num_workers=0)  # fmt: skip
    (tmp_path / "run.json").write_text(json.dumps(config))
    evaluate_glad(["--config", str(tmp_path / "run.json"), "--model", str(lists_model), "--domain", "source"])
    metrics = json.loads((lists_model / "eval_source_test" / "metrics.json").read_text())
    assert metrics["num_videos"] == 2 and metrics["domain"] == "source"
    assert not (
        tmp_path / "training_output"
    ).exists()  # the config's output_dir is training's, not evaluation's


def test_a_model_of_other_classes_is_refused_before_the_pass(
    folders_pair,  # noqa: F811
    lists_model,
    tmp_path,
    monkeypatch,
):
    def no_pass(*args, **kwargs):
        raise AssertionError("the evaluation pass started")

    monkeypatch.setattr(evaluation, "predict", no_pass)
    with pytest.raises(ValueError, match=r"classifies 2 classes \['push', 'pull'\], but --dataset folders \(target "
                       r"test\) has 3 classes \['wave', 'clap', 'spin'\]"):  # fmt: skip
        evaluate_glad(["--model", str(lists_model), *_folders_flags(folders_pair), "--num_workers", "0",
                       "--output_dir", str(tmp_path / "eval")])  # fmt: skip
    assert not (tmp_path / "eval").exists()


def test_the_same_classes_in_another_order_are_refused():
    with pytest.raises(ValueError, match="the same names in another order"):
        evaluation.check_label_sets(["a", "b"], ["b", "a"], model="m", data="d")


def test_a_mistyped_synthetic_data_dir_is_refused_not_generated(folders_model, tmp_path):
    typo = tmp_path / "synthetic_k2bb"
    with pytest.raises(ValueError, match=f"--data_dir {typo}: no synthetic dataset there"):
        evaluate_glad(
            ["--model", str(folders_model), "--data_dir", str(typo), "--output_dir", str(tmp_path / "e")]
        )
    assert not typo.exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "the following arguments are required: --model"),
        (["--model", "m", "--split", "val"], "--split must be one of"),
        (["--model", "m", "--batch_size", "0"], "--batch_size must be >= 1"),
    ],
)
def test_bad_evaluation_flags_are_named(argv, message, capsys):
    with pytest.raises((ValueError, SystemExit)) as refused:
        evaluate_glad(argv)
    assert message in str(refused.value) + capsys.readouterr().err


def test_max_eval_samples_scores_a_fixed_subset(folders_pair, folders_model, tmp_path):  # noqa: F811
    for name in ("a", "b"):
        evaluate_glad(["--model", str(folders_model), *_folders_flags(folders_pair), "--num_workers", "0",
                       "--max_eval_samples", "4", "--output_dir", str(tmp_path / name)])  # fmt: skip
    first, second = (json.loads((tmp_path / name / "metrics.json").read_text()) for name in ("a", "b"))
    assert first["num_videos"] == 4 and first["confusion_matrix"] == second["confusion_matrix"]
