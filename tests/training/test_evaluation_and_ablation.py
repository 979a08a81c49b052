"""scripts/evaluate_glad.py's library function and the ablation runner, on the tiny synthetic dataset."""

import json

import numpy as np
import pytest
from test_train_glad import synthetic_root, tiny_run_args  # noqa: F401  (module-scoped fixture)

from glad_hf.training.arguments import DataArguments, parse_arguments
from glad_hf.training.evaluation import evaluate_checkpoint
from glad_hf.training.experiments import run_ablation
from glad_hf.training.run import run_training


def test_evaluate_a_trained_checkpoint(synthetic_root, tmp_path):  # noqa: F811
    args = parse_arguments(tiny_run_args(synthetic_root, tmp_path / "run", "--stage", "glad", "--max_train_steps",
                                         "1", "--compare_source_only", "false"))  # fmt: skip
    trained = run_training(*args)["glad"]
    data_args = DataArguments(dataset="synthetic", data_dir=str(synthetic_root))
    metrics = evaluate_checkpoint(str(trained.model_dir), data_args, "test", "target", tmp_path / "eval")
    assert metrics["num_videos"] == int(np.sum(metrics["confusion_matrix"]))
    # the model's own processor sizes were used, and the scores equal those written at the end of training
    assert metrics["crop_size"] == 24 and metrics["short_side"] == 32
    final = json.loads((tmp_path / "run" / "glad" / "metrics.json").read_text())["target"]
    assert (
        metrics["mean_class_accuracy"] == final["mean_class_accuracy"]
    )  # one step: best and last are the same
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["split"] == "test"
    assert (tmp_path / "eval" / "confusion_matrix.png").stat().st_size > 1000


def test_ablation_runs_each_method_per_seed_and_writes_a_table(synthetic_root, tmp_path):  # noqa: F811
    args = parse_arguments(tiny_run_args(synthetic_root, tmp_path / "ablation", "--max_train_steps", "1",
                                         "--tol_max_train_steps", "1"))  # fmt: skip
    summary = run_ablation(*args, seeds=[0, 1], methods=["source_only", "glad"])
    assert set(summary) == {"source_only", "glad"}
    assert all(s["runs"] == 2 and len(s["per_seed_target_mca"]) == 2 for s in summary.values())
    table = (tmp_path / "ablation" / "ablation.md").read_text()
    assert "| source-only |" in table and "| GLAD (GLA + BG + TOL) |" in table and "±" in table
    assert (tmp_path / "ablation" / "ablation.png").stat().st_size > 1000
    stored = json.loads((tmp_path / "ablation" / "ablation.json").read_text())
    assert stored["seeds"] == [0, 1] and [r["method"] for r in stored["runs"]].count("glad") == 2
    assert (
        tmp_path / "ablation" / "seed1" / "tol" / "last" / "config.json"
    ).is_file()  # stage 1 once per seed


def test_evaluating_a_mistyped_model_path_names_it(synthetic_root, tmp_path):  # noqa: F811
    data_args = DataArguments(dataset="synthetic", data_dir=str(synthetic_root))
    with pytest.raises(ValueError, match="--model: no model folder at outputs/typo/glad/last"):
        evaluate_checkpoint("outputs/typo/glad/last", data_args, "test", "target", tmp_path / "eval")
