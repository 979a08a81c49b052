import socket

import numpy as np
import pytest
import torch

from glad_hf.metrics import MEAN_CLASS_ACCURACY_PATH, compute_video_classification_metrics, load_glad_metric


def one_hot_scores(predicted, num_labels):
    """Scores [N, num_labels] whose argmax is `predicted`."""
    scores = np.zeros((len(predicted), num_labels), dtype=np.float32)
    scores[np.arange(len(predicted)), predicted] = 1.0
    return scores


def test_imbalanced_classes_mca_differs_from_top1():
    # class 0: 6 videos, all right; class 1: 2 videos, 1 right; class 2: 2 videos, both called 3; class 3 absent.
    references = [0, 0, 0, 0, 0, 0, 1, 1, 2, 2]
    predicted = [0, 0, 0, 0, 0, 0, 1, 0, 3, 3]
    results = compute_video_classification_metrics(one_hot_scores(predicted, 4), references, num_labels=4)

    assert results["top1_accuracy"] == pytest.approx(7 / 10)
    assert results["mean_class_accuracy"] == pytest.approx((1.0 + 0.5 + 0.0) / 3)
    assert results["per_class_accuracy"] == [1.0, 0.5, 0.0, None]
    assert results["confusion_matrix"] == [[6, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 2], [0, 0, 0, 0]]


def test_top5_counts_the_true_class_within_the_five_highest_scores():
    scores = np.array(
        [
            [0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1],  # true class 0 ranked 1st
            [0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1],  # true class 4 ranked 5th
            [0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1],  # true class 5 ranked 6th
        ]
    )
    results = compute_video_classification_metrics(scores, [0, 4, 5], num_labels=7)
    assert results["top1_accuracy"] == pytest.approx(1 / 3)
    assert results["top5_accuracy"] == pytest.approx(2 / 3)


def test_top5_with_fewer_than_five_classes_is_one():
    results = compute_video_classification_metrics(one_hot_scores([1, 2, 0], 3), [0, 1, 2], num_labels=3)
    assert results["top1_accuracy"] == 0.0
    assert results["top5_accuracy"] == 1.0


def test_ties_break_towards_the_lower_class_id_like_argmax():
    scores = np.array([[0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]])
    results = compute_video_classification_metrics(scores, [0, 6], num_labels=7)
    assert results["confusion_matrix"][0][0] == 1
    assert results["confusion_matrix"][6][1] == 1
    # classes 1..6 tie; class 6 loses the tie to 1..5 and ranks 6th: outside the top 5.
    assert results["top5_accuracy"] == pytest.approx(1 / 2)


def test_matches_the_reference_formula_when_every_class_is_present():
    # mmaction2 0.x `mean_class_accuracy`: confusion matrix over the classes seen, mean of hit / count.
    rng = np.random.default_rng(0)
    num_labels = 12
    references = np.concatenate([np.arange(num_labels), rng.integers(0, num_labels, 200)])
    scores = rng.normal(size=(len(references), num_labels))
    scores[np.arange(len(references)), references] += 1.0

    predicted = scores.argmax(axis=1)
    recalls = [(predicted[references == c] == c).mean() for c in range(num_labels)]
    results = compute_video_classification_metrics(scores, references, num_labels)

    assert results["mean_class_accuracy"] == pytest.approx(np.mean(recalls))
    assert results["top1_accuracy"] == pytest.approx((predicted == references).mean())
    top5 = np.argsort(scores, axis=1)[:, -5:]
    assert results["top5_accuracy"] == pytest.approx((top5 == references[:, None]).any(axis=1).mean())
    assert np.array(results["confusion_matrix"]).sum(axis=1).tolist() == np.bincount(references).tolist()


@pytest.mark.parametrize(
    "scores, references, message",
    [
        (np.zeros((3, 5)), [0, 1, 2], r"shape \[N, 4\]"),
        (np.zeros((3, 4)), [0, 1], r"shape \[3\]"),
        (np.zeros((2, 4)), [0, 4], r"\[0, 4\)"),
        (np.zeros((2, 4)), [0.0, 1.0], "integer class ids"),
        (np.zeros((0, 4)), [], "zero videos"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_error(scores, references, message):
    with pytest.raises(ValueError, match=message):
        compute_video_classification_metrics(scores, np.asarray(references), num_labels=4)


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_evaluate_module_loads_offline_and_accumulates_gathered_batches(no_network):
    metric = load_glad_metric(keep_in_memory=True)
    assert type(metric).__name__ == "MeanClassAccuracy"

    rng = np.random.default_rng(1)
    scores = rng.normal(size=(10, 12)).astype(np.float32)
    references = rng.integers(0, 12, 10)
    # Accelerate's gather_for_metrics yields tensors or numpy arrays depending on the caller: take both.
    metric.add_batch(predictions=torch.from_numpy(scores[:6]), references=torch.from_numpy(references[:6]))
    metric.add_batch(predictions=scores[6:], references=references[6:])
    results = metric.compute()

    expected = compute_video_classification_metrics(scores, references, num_labels=12)
    assert results["confusion_matrix"] == expected["confusion_matrix"]
    assert results["mean_class_accuracy"] == pytest.approx(expected["mean_class_accuracy"])
    assert results["top5_accuracy"] == pytest.approx(expected["top5_accuracy"])
    assert results["per_class_accuracy"] == pytest.approx(expected["per_class_accuracy"])


def test_evaluate_module_checks_num_labels_against_the_score_width(no_network):
    metric = load_glad_metric(keep_in_memory=True)
    with pytest.raises(ValueError, match=r"shape \[N, 12\]"):
        metric.compute(predictions=[[0.1, 0.9]], references=[1], num_labels=12)


def test_module_folder_follows_the_evaluate_layout():
    assert (MEAN_CLASS_ACCURACY_PATH / "mean_class_accuracy.py").is_file()
    assert (MEAN_CLASS_ACCURACY_PATH / "README.md").is_file()
