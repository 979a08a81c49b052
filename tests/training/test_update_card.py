"""`scripts/evaluate_glad.py --update_card`: evaluation results added to a model folder's card (`model-index` and a
results table), the rest of the card kept."""

import runpy
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from test_train_glad import synthetic_root, tiny_run_args  # noqa: F401  (module-scoped fixture)

from glad_hf.hub.card_results import update_model_card_results
from glad_hf.hub.cards import EVALUATION_RESULTS_END, EVALUATION_RESULTS_START, K2B_EVAL_NAME
from glad_hf.hub.push import push_model_folder
from glad_hf.hub.retry import RetryPolicy
from glad_hf.training.arguments import parse_arguments
from glad_hf.training.run import run_training

REPO = Path(__file__).resolve().parents[2]


def evaluate_glad(argv):
    return runpy.run_path(str(REPO / "scripts" / "evaluate_glad.py"))["main"](argv)


def results_by_key(card):
    return {
        (result.dataset_config, result.dataset_split, result.metric_type): result
        for result in card.data.eval_results
    }


def test_update_card_adds_results_to_a_trained_models_card(synthetic_root, tmp_path, capsys):  # noqa: F811
    args = parse_arguments(tiny_run_args(synthetic_root, tmp_path / "run", "--stage", "glad", "--max_train_steps",
                                         "1", "--compare_source_only", "false"))  # fmt: skip
    folder = run_training(*args)["glad"].model_dir
    trained = ModelCard.load(folder / "README.md")
    assert {(r.dataset_config, r.dataset_split) for r in trained.data.eval_results} == {(None, "test")}

    evaluate_glad(["--model", str(folder), "--data_dir", str(synthetic_root), "--domain", "source",
                   "--output_dir", str(tmp_path / "eval_source"), "--update_card"])  # fmt: skip
    assert f"added the results to {folder / 'README.md'}" in capsys.readouterr().out
    card = ModelCard.load(folder / "README.md")
    results = results_by_key(card)
    assert len(card.data.eval_results) == 6  # training's target test results kept, the source test ones added
    source = results[("source", "test", "mean_class_accuracy")]
    assert source.dataset_type == "synthetic" and source.task_type == "video-classification"
    assert source.dataset_name == "Kinetics→BABEL, source test (Kinetics-400 val)"
    assert results[("source", "test", "accuracy")].metric_value <= 100.0
    assert card.data.model_name == trained.data.model_name and card.data.library_name == "glad_hf"
    # the body keeps everything it had and gains the table, inside the Evaluation section
    text = card.text
    assert text.startswith(trained.text.split("### Evaluation protocol")[0])
    for kept in (
        "### Evaluation protocol",
        "## Training",
        "## Data and licences",
        "@inproceedings{leebae2024glad,",
    ):
        assert kept in text
    assert (
        text.index("### Evaluation protocol")
        < text.index(EVALUATION_RESULTS_START)
        < text.index("## Training")
    )
    section = text[text.index(EVALUATION_RESULTS_START) : text.index(EVALUATION_RESULTS_END)]
    source_row = f"| Kinetics→BABEL, source test (Kinetics-400 val) | test | {source.metric_value:.2f} |"
    assert source_row in section and f"| {K2B_EVAL_NAME} | test |" in section
    assert "the source test split of `synthetic`" in section

    # evaluating the target test split again replaces training's entries instead of adding more
    evaluate_glad(["--model", str(folder), "--data_dir", str(synthetic_root),
                   "--output_dir", str(tmp_path / "eval_target"), "--update_card"])  # fmt: skip
    again = ModelCard.load(folder / "README.md")
    assert len(again.data.eval_results) == 6 and again.text.count(EVALUATION_RESULTS_START) == 1
    assert results_by_key(again)[("source", "test", "accuracy")].metric_value == (
        results[("source", "test", "accuracy")].metric_value
    )
    assert "the target test split of `synthetic`" in again.text
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_update_card_needs_a_local_folder(tmp_path):
    with pytest.raises(ValueError, match="--update_card needs a local model folder"):
        evaluate_glad(["--model", "glad-org/glad-k2b", "--update_card"])


def metrics(mca=0.5, domain="target", split="test"):
    return {"mean_class_accuracy": mca, "top1_accuracy": 0.6, "top5_accuracy": 0.9, "domain": domain,
            "split": split, "num_videos": 10}  # fmt: skip


def test_the_results_replace_the_placeholder_between_the_markers(tmp_path):
    text = (
        "---\nlibrary_name: glad_hf\nlicense: apache-2.0\nmodel_name: i3d\n---\n\n# i3d\n\n## Evaluation\n\n"
        f"{EVALUATION_RESULTS_START}\nNot evaluated at conversion.\n{EVALUATION_RESULTS_END}\n\n## Licences\n\n- x\n"
    )
    (tmp_path / "README.md").write_text(text)
    update_model_card_results(tmp_path, metrics(0.25), dataset_name="kinetics2babel")
    card = ModelCard.load(tmp_path / "README.md")
    assert card.data.license == "apache-2.0"
    assert results_by_key(card)[(None, "test", "mean_class_accuracy")].metric_value == 25.0
    assert "Not evaluated at conversion." not in card.text
    assert f"| {K2B_EVAL_NAME} | test | 25.00 | 60.00 | 90.00 |" in card.text
    assert card.text.endswith("## Licences\n\n- x\n") and "`kinetics2babel`, 10 videos" in card.text


def test_a_folder_without_a_card_gets_one(tmp_path):
    folder = tmp_path / "glad-model"
    folder.mkdir()
    update_model_card_results(folder, metrics(domain="source", split="train"), dataset_name="ucf-to-hmdb")
    card = ModelCard.load(folder / "README.md")
    assert card.data.library_name == "glad_hf" and card.data.model_name == "glad-model"
    (result,) = [r for r in card.data.eval_results if r.metric_type == "mean_class_accuracy"]
    assert (result.dataset_type, result.dataset_name, result.dataset_config) == (
        "ucf-to-hmdb",
        "ucf-to-hmdb, source train",
        "source",
    )
    assert "## Evaluation" in card.text and EVALUATION_RESULTS_START in card.text
    with pytest.raises(ValueError, match="nothing to add"):
        update_model_card_results(folder, {"split": "test"}, dataset_name="x")


def test_a_trained_model_is_pushed_evaluated_and_its_card_updated_on_the_hub(
    fake_hub,
    synthetic_root,  # noqa: F811
    tmp_path,
):
    args = parse_arguments(tiny_run_args(synthetic_root, tmp_path / "run", "--stage", "glad", "--max_train_steps",
                                         "1", "--compare_source_only", "false"))  # fmt: skip
    folder = run_training(*args)["glad"].model_dir
    evaluate_glad(["--model", str(folder), "--data_dir", str(synthetic_root), "--output_dir", str(tmp_path / "eval"),
                   "--update_card"])  # fmt: skip
    push_model_folder(folder, "glad-org/glad-synthetic-tiny", retries=RetryPolicy(backoff=0.01))
    card = ModelCard.load("glad-org/glad-synthetic-tiny")
    assert card.data.library_name == "glad_hf" and card.data.pipeline_tag == "video-classification"
    assert EVALUATION_RESULTS_START in card.text  # the evaluation's table travelled with the card
    assert ("test", "mean_class_accuracy") in {
        (r.dataset_split, r.metric_type) for r in card.data.eval_results
    }
    assert "modeling_glad.py" in fake_hub.files("glad-org/glad-synthetic-tiny")
