from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import ModelCard

from glad_hf.hub.cards import find_model_card_template, render_model_card, write_model_card
from glad_hf.labels import K2B_LABELS

REPO_ROOT = Path(__file__).resolve().parents[2]


def metric_results():
    confusion = np.eye(12, dtype=int) * 4 + 1
    confusion[9] = 0  # "crawl" absent from this evaluation set
    return {
        "split": "babel_test",
        "mean_class_accuracy": 0.351234,
        "top1_accuracy": 0.4321,
        "top5_accuracy": 0.85,
        "per_class_accuracy": [0.5] * 9 + [None, 0.25, 0.75],
        "confusion_matrix": confusion.tolist(),
    }


def render(**overrides):
    arguments = {
        "model_id": "glad-org/glad-i3d-k2b",
        "base_model": "glad-org/glad-i3d-tol",
        "dataset_name": "glad-org/kinetics2babel",
        "eval_results": metric_results(),
        "training_summary": {"stage": "GLAD (stage 2)", "epochs": 3, "learning_rate": 0.000875},
        "config_summary": {
            "backbone_type": "resnet3d",
            "domain_alignment": ("local", "global", "cross"),
            "test_view_aggregation": "reference",
            "id2label": {str(i): name for i, name in enumerate(K2B_LABELS)},
        },
    }
    return render_model_card(**(arguments | overrides))


def test_metadata_has_the_hub_fields_and_a_model_index(tmp_path):
    card = render()
    card.save(tmp_path / "README.md")
    data = ModelCard.load(tmp_path / "README.md").data  # what the Hub would parse

    assert data.library_name == "glad_hf"
    assert data.pipeline_tag == "video-classification"
    assert data.datasets == ["glad-org/kinetics2babel"]
    assert data.base_model == "glad-org/glad-i3d-tol"
    assert data.model_name == "glad-i3d-k2b"
    results = {result.metric_type: result for result in data.eval_results}
    assert results["mean_class_accuracy"].metric_value == 35.12
    assert results["accuracy"].metric_value == 43.21
    assert results["top_5_accuracy"].metric_value == 85.0
    assert {result.dataset_split for result in data.eval_results} == {"babel_test"}
    assert {result.task_type for result in data.eval_results} == {"video-classification"}


def test_body_reports_results_protocol_training_and_citation():
    text = render().text

    assert "| Mean class accuracy (MCA) | 35.12 |" in text
    assert "| crawl | – | 0 |" in text  # absent class: no accuracy, no NaN
    assert "| lift | 75.00 | 16 |" in text
    assert "(176 videos)" in text  # 11 classes x 16
    assert "**last local clip** (clip 5) and the **global view**" in text
    assert "BABEL's *val* split" in text
    assert "| epochs | 3 |" in text
    assert "| `domain_alignment` | local, global, cross |" in text
    assert "`cross` on crossed pairs" in text
    assert "@inproceedings{leebae2024glad," in text
    assert 'pipeline("video-classification", model="glad-org/glad-i3d-k2b")' in text
    assert "{{ " not in text and "{%" not in text  # every template variable was filled


def test_all_views_aggregation_and_source_only_are_described():
    text = render(config_summary={"domain_alignment": (), "test_view_aggregation": "all_views"}).text
    assert "mean of all three view" in text and "not directly comparable" in text
    assert "**last local clip**" not in text
    assert "none (source-only training)" in text


def test_a_card_without_evaluation_has_no_model_index():
    card = render(eval_results=None)
    assert "model-index" not in card.data.to_dict()
    assert "No evaluation results were recorded" in card.text


def test_write_model_card_writes_readme_atomically(tmp_path):
    path = write_model_card(tmp_path, **{"model_id": "glad-org/glad-tiny", "dataset_name": "synthetic"})
    assert path == tmp_path / "README.md"
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]
    assert ModelCard.load(path).data.library_name == "glad_hf"


def test_the_template_is_found_at_the_repo_root_and_can_be_replaced(tmp_path):
    assert find_model_card_template().samefile(REPO_ROOT / "model_cards" / "glad_model_card.md")
    custom = tmp_path / "custom.md"
    custom.write_text("---\n{{ card_data }}\n---\n# {{ model_name }}: MCA {{ eval_rows[0][1] }}\n")
    card = render(template_path=custom)
    assert card.text.strip() == "# glad-i3d-k2b: MCA 35.12"
    with pytest.raises(FileNotFoundError, match="not_a_template.md"):
        find_model_card_template("not_a_template.md")
