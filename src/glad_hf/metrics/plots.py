"""PNG plots of evaluation results and training curves (matplotlib, Agg backend, no pyplot global state)."""

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from glad_hf.atomic import atomic_path


def _save_figure_atomically(figure: Figure, path: str | os.PathLike) -> Path:
    FigureCanvasAgg(figure)
    with atomic_path(path) as temporary, open(temporary, "xb") as file:
        figure.savefig(file, format="png", dpi=120, bbox_inches="tight")
    return Path(path)


def save_confusion_matrix_png(
    matrix,
    class_names: Sequence[str],
    path: str | os.PathLike,
    title: str | None = None,
    normalize: bool = True,
) -> Path:
    """Draw a confusion matrix [C, C] (rows = true class, columns = predicted class) as a PNG.

    With `normalize`, cells are coloured by the fraction of their row (the per-class recall on the diagonal) and
    show the count and that percentage; otherwise they are coloured by and show the count. Returns the path.
    """
    counts = np.asarray(matrix, dtype=np.int64)
    num_classes = len(class_names)
    if counts.shape != (num_classes, num_classes):
        raise ValueError(
            f"The confusion matrix must be square with one row per class name ({num_classes}), got {counts.shape}."
        )
    row_totals = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, row_totals, out=np.zeros(counts.shape), where=row_totals > 0)
    colours = fractions if normalize else counts
    colour_max = 1.0 if normalize else max(1, counts.max())

    size = max(4.0, 0.6 * num_classes + 2.0)
    figure = Figure(figsize=(size + 1.0, size))
    axes = figure.add_subplot()
    image = axes.imshow(colours, cmap="Blues", vmin=0.0, vmax=colour_max)
    figure.colorbar(
        image, ax=axes, fraction=0.046, pad=0.04, label="fraction of true class" if normalize else "count"
    )
    axes.set_xticks(range(num_classes), labels=class_names, rotation=45, ha="right", rotation_mode="anchor")
    axes.set_yticks(range(num_classes), labels=class_names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    if title is not None:
        axes.set_title(title)

    font_size = 8 if num_classes <= 12 else 6
    for row in range(num_classes):
        for column in range(num_classes):
            text = str(counts[row, column])
            if normalize and row_totals[row, 0] > 0:
                text += f"\n{100.0 * fractions[row, column]:.0f}%"
            colour = "white" if colours[row, column] > 0.5 * colour_max else "black"
            axes.text(column, row, text, ha="center", va="center", color=colour, fontsize=font_size)
    return _save_figure_atomically(figure, path)


def save_curves_png(
    history: Mapping[str, Sequence[tuple[int, float]]], path: str | os.PathLike, title: str | None = None
) -> Path:
    """Draw training curves as a PNG, one panel per series.

    Args:
        history: series name (e.g. "train/loss", "eval/mean_class_accuracy") -> list of (step, value).
        path: where to write the PNG.
        title: optional title above the panels.

    Returns the path. Series without points are skipped; at least one series must have points.
    """
    series = {name: points for name, points in history.items() if len(points) > 0}
    if not series:
        raise ValueError("`history` holds no (step, value) points to plot.")
    num_columns = min(3, len(series))
    num_rows = math.ceil(len(series) / num_columns)
    figure = Figure(figsize=(4.5 * num_columns, 3.2 * num_rows), layout="constrained")
    for index, (name, points) in enumerate(series.items()):
        steps, values = zip(*points, strict=True)
        axes = figure.add_subplot(num_rows, num_columns, index + 1)
        axes.plot(steps, values, marker="o" if len(points) <= 20 else None, markersize=3)
        axes.set_title(name)
        axes.set_xlabel("step")
        axes.grid(alpha=0.3)
    if title is not None:
        figure.suptitle(title)
    return _save_figure_atomically(figure, path)


def save_grouped_bars_png(
    group_names: Sequence[str],
    series: Mapping[str, Sequence[Sequence[float]]],
    path: str | os.PathLike,
    ylabel: str,
    title: str | None = None,
    ylim: tuple[float, float] | None = (0, 100),
) -> Path:
    """Draw, for every group, one bar per series at the mean of its values with a ±std error bar and each value
    as a dot (e.g. target and source accuracy per method, over seeds) as a PNG.

    Args:
        group_names: the groups along the x axis (e.g. methods).
        series: series name (e.g. "target test") -> one list of values per group (e.g. one per seed).
        path: where to write the PNG.
    """
    if not series or any(len(values) != len(group_names) for values in series.values()):
        raise ValueError("every series needs one list of values per group")
    positions = np.arange(len(group_names))
    width = 0.8 / len(series)
    figure = Figure(figsize=(1.3 * len(group_names) + 2, 4.2), layout="constrained")
    axes = figure.add_subplot()
    for index, (name, groups) in enumerate(series.items()):
        offsets = positions + (index - (len(series) - 1) / 2) * width
        means = [float(np.mean(values)) for values in groups]
        stds = [float(np.std(values, ddof=1)) if len(values) > 1 else 0.0 for values in groups]
        axes.bar(offsets, means, width * 0.95, yerr=stds, capsize=3, alpha=0.8, label=name)
        for offset, values in zip(offsets, groups, strict=True):
            axes.scatter(np.full(len(values), offset), values, s=8, color="black", zorder=3)
    axes.set_xticks(positions, [name.replace(" (", "\n(") for name in group_names], fontsize=8)
    axes.set_ylabel(ylabel)
    if ylim is not None:
        axes.set_ylim(*ylim)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    if title is not None:
        axes.set_title(title, fontsize=9)
    return _save_figure_atomically(figure, path)


def save_scatter_png(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    path: str | os.PathLike,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    reference_lines: Mapping[str, float] | None = None,
    styles: Mapping[str, dict] | None = None,
) -> Path:
    """Draw each series' points (name -> (xs, ys)) in its own colour and marker (or matplotlib's `scatter` keywords
    from `styles[name]`), and each reference value as a labelled horizontal line (e.g. a control's mean), as a PNG."""
    if not series or any(len(xs) != len(ys) for xs, ys in series.values()):
        raise ValueError("every series needs as many x values as y values")
    figure = Figure(figsize=(10, 4.8), layout="constrained")
    axes = figure.add_subplot()
    markers = "o^sDvP*X"
    for index, (name, (xs, ys)) in enumerate(series.items()):
        style = {"marker": markers[index % len(markers)], **(styles or {}).get(name, {})}
        axes.scatter(xs, ys, s=30, alpha=0.85, label=name, **style)
    for index, (name, value) in enumerate((reference_lines or {}).items()):
        dashes = ("--", ":", "-.", (0, (5, 1)))[index % 4]
        axes.axhline(value, linestyle=dashes, linewidth=1.2, color="0.35", label=f"{name} (mean)")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    if title is not None:
        axes.set_title(title, fontsize=9)
    return _save_figure_atomically(figure, path)
