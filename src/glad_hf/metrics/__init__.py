"""Evaluation metrics of the Kinetics->BABEL benchmark (SPEC §1) and the plots that go with them."""

from pathlib import Path

import evaluate

from glad_hf.metrics.mean_class_accuracy.mean_class_accuracy import (
    MeanClassAccuracy,
    compute_video_classification_metrics,
)

MEAN_CLASS_ACCURACY_PATH = Path(__file__).parent / "mean_class_accuracy"


def load_glad_metric(**kwargs) -> evaluate.EvaluationModule:
    """Load the shipped `mean_class_accuracy` module with `evaluate.load` from its folder (no network).

    `kwargs` go to `evaluate.load` (e.g. `keep_in_memory=True`, `experiment_id=...`).
    """
    return evaluate.load(str(MEAN_CLASS_ACCURACY_PATH), **kwargs)


__all__ = [
    "MEAN_CLASS_ACCURACY_PATH",
    "MeanClassAccuracy",
    "compute_video_classification_metrics",
    "load_glad_metric",
]
