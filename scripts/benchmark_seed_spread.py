"""Where does a method's spread over seeds on the synthetic benchmark come from? One seed sets both the new heads'
initialisation and the training's randomness (sample order, crops, flips, blending); this separates them.

    python scripts/benchmark_seed_spread.py                      # source-only, 4 head inits x 4 training seeds
    python scripts/benchmark_seed_spread.py --preset quick --init_seeds 2 --training_seeds 2   # smoke test

For each head seed `i`, the motion-pretrained model with heads initialised under `torch.manual_seed(i)` is saved
once (`<output_dir>/seed_spread/heads<i>/init`); stage 2 then starts from it (its heads are loaded, not drawn) with
`--seed t` for every training seed `t`. The target MCA grid is split like a two-way ANOVA without replication: the
spread of the head-seed means, of the training-seed means and the residual (interaction). Beside it, the test-set
noise of one score: the binomial standard error of the MCA from each run's target confusion matrix (each class's
recall over its test clips). Writes `<output_dir>/seed_spread.{json,md}`; finished runs are reused.
"""

import argparse
import dataclasses
import json
import math
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from glad_hf.atomic import atomic_write_folder, atomic_write_json, atomic_write_text
from glad_hf.modeling_glad import GladForVideoClassification
from glad_hf.training.benchmark import prepare_benchmark
from glad_hf.training.benchmark_presets import PRESETS
from glad_hf.training.experiments import run_experiments
from glad_hf.training.methods import METHODS, method_arguments
from glad_hf.training.stage_datasets import class_names, load_domains
from glad_hf.training.stage_models import build_config, load_model


def save_initial_model(model_args, train_args, data_args, method: str, seed: int, folder: Path) -> Path:
    """The run's starting model with its new heads drawn under `seed`, saved once to `folder`, atomically
    (`glad_hf.atomic.atomic_write_folder`: an interrupted save is never reused)."""
    if (folder / "config.json").is_file():
        return folder
    method_model, _ = method_arguments(method, model_args, train_args)
    config = build_config(method_model, method_model.init_model, labels=class_names(load_domains(data_args)))
    torch.manual_seed(seed)
    model = load_model(GladForVideoClassification, config, method_model.init_model)
    atomic_write_folder(folder, model.save_pretrained)
    return folder


def decompose(grid: np.ndarray) -> dict:
    """Two-way split of a [heads, training seeds] grid of scores: the standard deviation of all cells, of the row
    means (heads), of the column means (training seeds), and of the residual (cell - row - column + grand mean,
    with (r - 1)(c - 1) degrees of freedom)."""
    rows, cols = grid.shape
    residual = grid - grid.mean(1, keepdims=True) - grid.mean(0, keepdims=True) + grid.mean()
    return {
        "all_runs_std": float(grid.std(ddof=1)),
        "head_seed_means_std": float(grid.mean(1).std(ddof=1)),
        "training_seed_means_std": float(grid.mean(0).std(ddof=1)),
        "residual_std": float(math.sqrt((residual**2).sum() / ((rows - 1) * (cols - 1)))),
    }


def mca_standard_error(confusion_matrix) -> float:
    """Binomial standard error of a mean class accuracy (percent) from its confusion matrix [C, C]."""
    counts = np.asarray(confusion_matrix, dtype=float)
    present = counts.sum(1) > 0  # the MCA averages the classes with test clips
    totals = counts.sum(1)[present]
    recall = np.diag(counts)[present] / totals
    return float(100 * math.sqrt((recall * (1 - recall) / totals).sum()) / len(totals))


def parse_args() -> argparse.Namespace:
    """The command line (see the module docstring); a spread needs at least two seeds of each kind."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default", choices=sorted(PRESETS))
    parser.add_argument(
        "--method", default="source_only", choices=[m for m, s in METHODS.items() if not s.temporal_order]
    )
    parser.add_argument("--init_seeds", type=int, default=4, help="Head initialisations.")
    parser.add_argument(
        "--training_seeds", type=int, default=4, help="Training seeds (--seed) per head init."
    )
    parser.add_argument("--output_dir", default="outputs/benchmark_synthetic")
    parser.add_argument("--num_workers", type=int, default=2, help="Worker processes (0 = in this process).")
    args = parser.parse_args()
    if args.init_seeds < 2 or args.training_seeds < 2:
        parser.error("--init_seeds and --training_seeds must be >= 2 (a spread needs two values)")
    return args


def run_grid(args: argparse.Namespace) -> tuple[np.ndarray, list[float], list[dict]]:
    """Trains every (head seed, training seed) run (finished runs are reused): the target MCA grid in percent
    [heads, training seeds], each run's test-set standard error, and each run's record with its head seed."""
    output_dir = Path(args.output_dir)
    root = output_dir / "seed_spread" / args.method
    data_args, model_args, train_args, _, _ = prepare_benchmark(
        PRESETS[args.preset], output_dir, [args.method]
    )
    grid = np.zeros((args.init_seeds, args.training_seeds))
    errors, runs = [], []
    for head in range(args.init_seeds):
        init = save_initial_model(
            model_args, train_args, data_args, args.method, head, root / f"heads{head}" / "init"
        )
        head_args = dataclasses.replace(model_args, init_model=str(init))
        jobs = [(args.method, seed) for seed in range(args.training_seeds)]
        records = run_experiments(
            data_args, head_args, train_args, jobs, root / f"heads{head}", args.num_workers
        )
        for record in records:
            grid[head, record["seed"]] = 100 * record["target_mca"]
            results = json.loads(
                (root / f"heads{head}" / f"seed{record['seed']}" / args.method / "results.json").read_text()
            )
            errors.append(mca_standard_error(results["glad"]["target"]["confusion_matrix"]))
            runs.append(dict(record, head_seed=head))
    return grid, errors, runs


def report_lines(grid: np.ndarray, split: dict, args: argparse.Namespace, started: float) -> list[str]:
    """The markdown report: the grid with row and column means, then the standard deviations and the wall clock."""
    label = METHODS[args.method].label
    lines = [
        f"{label}, target MCA over {args.init_seeds} head initialisations x {args.training_seeds} training seeds "
        f"({args.preset} preset; rows: head seed, columns: training seed):",
        "",
        "| head seed | " + " | ".join(f"training seed {t}" for t in range(args.training_seeds)) + " | mean |",
        "|---" * (args.training_seeds + 2) + "|",
    ]
    for head, row in enumerate(grid):
        lines.append(f"| {head} | " + " | ".join(f"{v:.1f}" for v in row) + f" | {row.mean():.1f} |")
    lines.append("| mean | " + " | ".join(f"{v:.1f}" for v in grid.mean(0)) + f" | {grid.mean():.1f} |")
    lines += [
        "",
        f"Standard deviation (points): all runs {split['all_runs_std']:.1f}; head-seed means "
        f"{split['head_seed_means_std']:.1f}; training-seed means {split['training_seed_means_std']:.1f}; "
        f"residual (interaction) {split['residual_std']:.1f}; test-set standard error of one score "
        f"{split['test_set_standard_error_mean']:.1f}.",
        f"Wall clock {(time.time() - started) / 60:.1f} min on {os.cpu_count()} CPU cores ({args.num_workers} workers).",
    ]
    return lines


def save_report(
    grid: np.ndarray,
    split: dict,
    runs: list[dict],
    lines: list[str],
    args: argparse.Namespace,
    started: float,
) -> None:
    """Writes `<output_dir>/seed_spread.json` (grid, split, runs, seconds) and `<output_dir>/seed_spread.md`."""
    output_dir = Path(args.output_dir)
    report = {
        "preset": args.preset,
        "method": args.method,
        "target_mca_grid": grid.tolist(),
        "split": split,
        "runs": runs,
        "seconds": time.time() - started,
    }
    atomic_write_json(output_dir / "seed_spread.json", report)
    atomic_write_text(output_dir / "seed_spread.md", "\n".join(lines) + "\n")


def main() -> None:
    """Runs the grid, splits its spread, writes the report and prints it."""
    args = parse_args()
    started = time.time()
    grid, errors, runs = run_grid(args)
    split = decompose(grid)
    split["test_set_standard_error_mean"] = statistics.fmean(errors)
    lines = report_lines(grid, split, args, started)
    save_report(grid, split, runs, lines, args, started)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
