import numpy as np
import pytest
from PIL import Image

from glad_hf.labels import K2B_LABELS
from glad_hf.metrics.plots import save_confusion_matrix_png, save_curves_png, save_grouped_bars_png


def confusion_matrix_12():
    matrix = np.full((12, 12), 2)
    matrix[np.arange(12), np.arange(12)] = np.arange(10, 130, 10)
    matrix[9] = 0  # a class absent from the evaluation set: no percentage, no division by zero
    return matrix


def test_confusion_matrix_png_is_written_atomically(tmp_path):
    path = save_confusion_matrix_png(
        confusion_matrix_12(), K2B_LABELS, tmp_path / "plots" / "cm.png", title="val"
    )
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width > 400 and image.height > 400
    assert [p.name for p in path.parent.iterdir()] == ["cm.png"]


def test_normalize_changes_the_drawing(tmp_path):
    normalized = save_confusion_matrix_png(confusion_matrix_12(), K2B_LABELS, tmp_path / "a.png")
    counts = save_confusion_matrix_png(confusion_matrix_12(), K2B_LABELS, tmp_path / "b.png", normalize=False)
    assert normalized.read_bytes() != counts.read_bytes()


def test_confusion_matrix_must_match_the_class_names(tmp_path):
    with pytest.raises(ValueError, match=r"one row per class name \(12\)"):
        save_confusion_matrix_png(np.zeros((3, 3)), K2B_LABELS, tmp_path / "cm.png")


def test_curves_png_draws_every_series_with_points(tmp_path):
    history = {
        "train/loss": [(step, 2.0 / (1 + step)) for step in range(0, 50, 5)],
        "eval/mean_class_accuracy": [(25, 0.2), (50, 0.3)],
        "eval/unused": [],
    }
    path = save_curves_png(history, tmp_path / "curves.png", title="stage 2")
    with Image.open(path) as image:
        assert image.format == "PNG"
        # two panels side by side: wider than tall
        assert image.width > image.height


def test_curves_png_needs_points(tmp_path):
    with pytest.raises(ValueError, match="no \\(step, value\\) points"):
        save_curves_png({"train/loss": []}, tmp_path / "curves.png")
    assert not (tmp_path / "curves.png").exists()


def test_grouped_bars_png(tmp_path):
    series = {
        "target test": [[40.0, 44.0, 38.0], [60.0, 58.0]],
        "source test": [[80.0, 79.0, 81.0], [77.0, 76.0]],
    }
    path = save_grouped_bars_png(
        ["source-only", "GLAD (GLA + BG + TOL)"], series, tmp_path / "bars.png", "MCA (%)"
    )
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 300
    with pytest.raises(ValueError, match="one list of values per group"):
        save_grouped_bars_png(["a", "b"], {"target": [[1.0]]}, tmp_path / "bad.png", "MCA")
    assert not (tmp_path / "bad.png").exists()
