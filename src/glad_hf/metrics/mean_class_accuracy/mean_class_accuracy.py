"""Mean class accuracy, top-1, top-5 and the confusion matrix of a video classifier, as an `evaluate` module.

Loadable offline by path (`evaluate.load("<this folder>")`, or `glad_hf.metrics.load_glad_metric()`), so the
file imports only numpy, datasets and evaluate: `evaluate` copies it alone into its modules cache.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """
Video classification metrics of the Kinetics->BABEL benchmark (GLAD, WACV 2024). The headline is the mean class
accuracy (MCA): the mean over classes of per-class recall, which the imbalanced BABEL target split calls for.
Top-1, top-5 and the confusion matrix are reported beside it.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `float`, or array [N, C]): per-class scores of each video (logits or
        probabilities; only their order matters). Scores rather than predicted ids, because top-5 needs them.
    references (`list` of `int`, or array [N]): the true class id of each video, in [0, C).
    num_labels (`int`, *optional*): number of classes C; defaults to the width of `predictions`, which must
        match it.
Returns:
    mean_class_accuracy (`float`): mean of the per-class recalls over the classes present in `references`.
    top1_accuracy (`float`): fraction of videos whose highest score is the true class.
    top5_accuracy (`float`): fraction of videos whose true class is among the min(5, C) highest scores.
    per_class_accuracy (`list` of `float` or `None`, length C): recall of each class; `None` for a class
        absent from `references` (so the list holds no NaN).
    confusion_matrix (`list` of `list` of `int`, C x C): entry [i][j] counts videos of true class i predicted
        as class j (rows = true class, columns = predicted class).
Examples:
    >>> metric = evaluate.load("src/glad_hf/metrics/mean_class_accuracy")
    >>> metric.compute(predictions=[[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], references=[0, 1, 1])["mean_class_accuracy"]
    0.75
"""

_CITATION = """
@inproceedings{leebae2024glad,
  title={{GLAD}: Global-Local View Alignment and Background Debiasing for Video Domain Adaptation},
  author={Lee, Hyogun and Bae, Kyungho and Ha, Seong Jong and Ko, Yumin and Park, Gyeong-Moon and Choi, Jinwoo},
  booktitle={Proceedings of the IEEE Winter Conference on Applications of Computer Vision (WACV)},
  year={2024}
}
"""

TOP_K = 5


def compute_video_classification_metrics(scores, references, num_labels: int) -> dict:
    """Compute MCA, top-1, top-5, per-class accuracy and the confusion matrix.

    Args:
        scores: per-class scores [N, num_labels] (numpy array, CPU tensor or nested list).
        references: true class ids [N].
        num_labels: number of classes C.

    Returns:
        A dict of plain Python values (JSON-serialisable), keys as in the module's description.

    The mean class accuracy averages over the classes present in `references`. The reference code (mmaction
    `mean_class_accuracy`) also counts a class that is predicted but absent from the labels, as 0; the two agree
    whenever every class appears in the labels, as in the BABEL val list.
    """
    scores = np.asarray(scores, dtype=np.float64)
    references = np.asarray(references)
    if scores.ndim != 2 or scores.shape[1] != num_labels:
        raise ValueError(
            f"`predictions` must be per-class scores of shape [N, {num_labels}], got {scores.shape}."
        )
    if references.shape != (scores.shape[0],):
        raise ValueError(
            f"`references` must be class ids of shape [{scores.shape[0]}] (one per row of `predictions`), "
            f"got {references.shape}."
        )
    if scores.shape[0] == 0:
        raise ValueError("Cannot compute metrics on zero videos.")
    if not np.issubdtype(references.dtype, np.integer):
        raise ValueError(f"`references` must be integer class ids, got dtype {references.dtype}.")
    if references.min() < 0 or references.max() >= num_labels:
        raise ValueError(
            f"`references` must lie in [0, {num_labels}), got values in [{references.min()}, {references.max()}]."
        )

    # A stable sort of the negated scores ranks ties by class id, so the top-1 of the ranking is np.argmax.
    ranking = np.argsort(-scores, axis=1, kind="stable")
    predicted = ranking[:, 0]
    top_k = min(TOP_K, num_labels)
    in_top_k = (ranking[:, :top_k] == references[:, None]).any(axis=1)

    confusion = np.zeros((num_labels, num_labels), dtype=np.int64)
    np.add.at(confusion, (references, predicted), 1)
    support = confusion.sum(axis=1)
    present = support > 0
    recall = np.diag(confusion)[present] / support[present]
    per_class = [None] * num_labels
    for class_id, value in zip(np.flatnonzero(present), recall, strict=True):
        per_class[class_id] = float(value)

    return {
        "mean_class_accuracy": float(recall.mean()),
        "top1_accuracy": float((predicted == references).mean()),
        "top5_accuracy": float(in_top_k.mean()),
        "per_class_accuracy": per_class,
        "confusion_matrix": confusion.tolist(),
    }


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class MeanClassAccuracy(evaluate.Metric):
    """`evaluate` wrapper of `compute_video_classification_metrics`; feed it `accelerator.gather_for_metrics`
    outputs (numpy arrays or CPU tensors) through `add_batch`, then `compute` on the main process."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.List(datasets.Value("float32")),
                    "references": datasets.Value("int64"),
                }
            ),
        )

    def _compute(self, predictions, references, num_labels=None):
        scores = np.asarray(predictions, dtype=np.float64)
        if scores.ndim != 2:
            raise ValueError(f"`predictions` must be per-class scores of shape [N, C], got {scores.shape}.")
        if num_labels is None:
            num_labels = scores.shape[1]
        return compute_video_classification_metrics(scores, references, num_labels)
