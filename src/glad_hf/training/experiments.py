"""Methods × seeds: running the comparison (`methods.METHODS`), aggregating it, and the one table and chart every
report uses — `scripts/ablate.py`, the synthetic benchmark and a training run's closing comparison.

A run record is {"method", "label", "seed", "target_mca", "target_top1", "source_mca", "seconds"}, and for a method
that starts from stage 1 its clip-order accuracies "tol_source_accuracy" and "tol_target_accuracy". Runs are
resumable: each goes to its own folder and a finished one is reused.
"""

from __future__ import annotations

import dataclasses
import statistics
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from ..atomic import atomic_write_json, atomic_write_text
from ..metrics.plots import save_grouped_bars_png
from .arguments import DataArguments, GladTrainingArguments, ModelArguments
from .methods import METHODS, PAPER_METHODS, check_methods, method_arguments
from .outputs import StageResult
from .run import run_training

BASELINES = ("source_only", "dann")


def _isolated(train_args: GladTrainingArguments, **changes) -> GladTrainingArguments:
    """Arguments of one run of a comparison: its own folder, no trackers or uploads, resumed when interrupted."""
    changes = {"resume_from_checkpoint": "latest", **changes}
    return dataclasses.replace(train_args, report_to="none", push_to_hub=False, **changes)


def motion_pretrained_arguments(data_args, model_args: ModelArguments, train_args, output_dir: Path):
    """`model_args` starting from the motion-pretrained model when it asks for motion pre-training (trained once, or
    reused from the cache), so that every run of a comparison starts from the same weights; and that stage's result."""
    if not model_args.motion_pretraining:
        return model_args, None
    pretrain_args = _isolated(
        train_args, stage="pretrain", output_dir=str(output_dir), resume_from_checkpoint=None
    )
    result = run_training(data_args, model_args, pretrain_args)["pretrain"]
    return dataclasses.replace(model_args, init_model=str(result.model_dir), motion_pretraining=False), result


def run_temporal_order(data_args, model_args, train_args, seed: int, output_dir: Path) -> StageResult:
    """Stage 1 for one seed (reused when finished); its model folder is where stage 2 starts."""
    tol_args = _isolated(train_args, stage="tol", seed=seed, output_dir=str(output_dir))
    return run_training(data_args, model_args, tol_args)["tol"]


def with_temporal_order(record: dict, tol_metrics: dict) -> dict:
    """A TOL method's run record with its stage 1's clip-order accuracy on the source and target test clips."""
    return {
        **record,
        "tol_source_accuracy": tol_metrics["source_accuracy"],
        "tol_target_accuracy": tol_metrics["target_accuracy"],
    }


def run_record(method: str, seed: int, result: StageResult) -> dict:
    """The record of a finished stage-2 run."""
    target, source = result.metrics["target"], result.metrics["source"]
    return {
        "method": method,
        "label": result.label,
        "seed": seed,
        "target_mca": target["mean_class_accuracy"],
        "target_top1": target["top1_accuracy"],
        "source_mca": source["mean_class_accuracy"],
        "seconds": result.seconds,
    }


def run_method(
    data_args, model_args, train_args, method: str, seed: int, output_dir: Path, tol_dir=None
) -> dict:
    """Stage 2 of one method and seed under `output_dir` (reused when finished; `tol_dir` for the TOL methods)."""
    if METHODS[method].temporal_order and tol_dir is None:
        raise ValueError(f"method {method} starts from a stage-1 model: pass tol_dir")
    method_model, method_train = method_arguments(method, model_args, train_args)
    if METHODS[method].temporal_order:
        method_model = dataclasses.replace(method_model, init_model=tol_dir)
    method_train = _isolated(
        method_train, stage="glad", seed=seed, compare_source_only=False, output_dir=str(output_dir)
    )
    result = run_training(data_args, method_model, method_train)["glad"]
    return run_record(method, seed, dataclasses.replace(result, label=METHODS[method].label))


def _init_worker() -> None:
    torch.set_num_threads(1)


def _tol_job(args: tuple) -> tuple[int, str, dict]:
    data_args, model_args, train_args, seed, output_dir = args
    result = run_temporal_order(data_args, model_args, train_args, seed, output_dir)
    return seed, str(result.model_dir), result.metrics


def _method_job(args: tuple) -> dict:
    return run_method(*args)


def run_experiments(
    data_args: DataArguments,
    model_args: ModelArguments,
    train_args: GladTrainingArguments,
    jobs: list[tuple[str, int]],
    output_dir: Path,
    num_workers: int = 0,
) -> list[dict]:
    """Run every (method, seed) of `jobs` under `output_dir/seed<S>/<method>` (stage 1 once per seed under
    `output_dir/seed<S>/tol`, shared by the TOL methods); `model_args` gives the common start. With `num_workers`
    > 0, runs go to that many single-threaded spawn processes, each TOL method as soon as its seed's stage 1 is done.
    Returns the run records in `jobs` order."""
    check_methods({method for method, _ in jobs})
    tol_seeds = sorted({seed for method, seed in jobs if METHODS[method].temporal_order})
    tol_args = [(data_args, model_args, train_args, s, output_dir / f"seed{s}") for s in tol_seeds]

    def method_args(method: str, seed: int, tol_dir: str | None) -> tuple:
        return data_args, model_args, train_args, method, seed, output_dir / f"seed{seed}" / method, tol_dir

    records: dict[tuple[str, int], dict] = {}
    tol_metrics: dict[int, dict] = {}
    if num_workers == 0:
        tol_dirs = {}
        for seed, tol_dir, metrics in map(_tol_job, tol_args):
            tol_dirs[seed], tol_metrics[seed] = tol_dir, metrics
        for method, seed in jobs:
            records[method, seed] = _method_job(method_args(method, seed, tol_dirs.get(seed)))
    else:
        with ProcessPoolExecutor(
            num_workers, mp_context=get_context("spawn"), initializer=_init_worker
        ) as pool:
            pending = {pool.submit(_tol_job, args) for args in tol_args}
            waiting = [job for job in jobs if METHODS[job[0]].temporal_order]
            pending |= {
                pool.submit(_method_job, method_args(m, s, None)) for m, s in jobs if (m, s) not in waiting
            }
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    result = future.result()
                    if isinstance(result, dict):
                        records[result["method"], result["seed"]] = result
                        continue
                    seed, tol_dir, tol_metrics[seed] = result
                    for method, _ in [job for job in waiting if job[1] == seed]:
                        pending.add(pool.submit(_method_job, method_args(method, seed, tol_dir)))
    return [
        with_temporal_order(records[method, seed], tol_metrics[seed])
        if METHODS[method].temporal_order
        else records[method, seed]
        for method, seed in jobs
    ]


def permutation_p_value(a: list[float], b: list[float]) -> float:
    """Two-sided permutation test of equal means (exact when the splits are few enough, else 100,000 draws)."""
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    result = stats.permutation_test(
        (np.asarray(a), np.asarray(b)),
        lambda x, y: np.mean(x) - np.mean(y),
        permutation_type="independent",
        alternative="two-sided",
        n_resamples=100_000,
        random_state=0,
    )
    return float(result.pvalue)


def summarize(runs: list[dict]) -> dict:
    """Per method (in order of first appearance): target / source MCA mean, std and per-seed values (percent), target
    top-1, the gain and permutation p-value against source-only and DANN when they ran, mean run time."""
    methods = list(dict.fromkeys(run["method"] for run in runs))
    by_method = {m: sorted((r for r in runs if r["method"] == m), key=lambda r: r["seed"]) for m in methods}
    target = {m: [100 * r["target_mca"] for r in rows] for m, rows in by_method.items()}
    summary = {}
    for method, rows in by_method.items():
        source = [100 * r["source_mca"] for r in rows]
        top1 = [100 * r["target_top1"] for r in rows]
        entry = {
            "label": rows[0]["label"],
            "runs": len(rows),
            "seeds": [r["seed"] for r in rows],
            "target_mca_mean": statistics.fmean(target[method]),
            "target_mca_std": statistics.stdev(target[method]) if len(rows) > 1 else 0.0,
            "target_top1_mean": statistics.fmean(top1),
            "source_mca_mean": statistics.fmean(source),
            "source_mca_std": statistics.stdev(source) if len(rows) > 1 else 0.0,
            "per_seed_target_mca": target[method],
            "per_seed_source_mca": source,
            "mean_run_seconds": statistics.fmean(r["seconds"] for r in rows),
        }
        for domain in ("source", "target"):
            key = f"tol_{domain}_accuracy"
            if all(key in r for r in rows):
                entry[f"{key}_mean"] = statistics.fmean(100 * r[key] for r in rows)
        for baseline in BASELINES:
            if baseline != method and target.get(baseline):
                entry[f"gain_vs_{baseline}"] = entry["target_mca_mean"] - statistics.fmean(target[baseline])
                entry[f"p_vs_{baseline}"] = permutation_p_value(target[method], target[baseline])
        summary[method] = entry
    return summary


def results_table(summary: dict, *, reference: dict[str, str] | None = None) -> str:
    """The markdown table of a `summarize` result (± std where a method has several seeds). `reference` (method ->
    text) adds a last column: what the benchmark measured for that method over seeds, beside one run's numbers."""

    def cell(entry, key, fmt):
        value = entry.get(key)
        return "–" if value is None or value != value else format(value, fmt)

    def mean_std(entry, key):
        spread = f" ± {entry[f'{key}_std']:.1f}" if entry["runs"] > 1 else ""
        return f"{entry[f'{key}_mean']:.1f}{spread}"

    lines = [
        "| method | target MCA | target top-1 | source MCA | Δ target vs source-only | p vs source-only | "
        "p vs DANN | stage-1 clip order, source / target | per-seed target MCA | s / run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    if reference is not None:
        lines = [lines[0] + " synthetic benchmark, target MCA over seeds |", lines[1] + "---|"]
    for method, entry in summary.items():
        seeds = ", ".join(f"{v:.1f}" for v in entry["per_seed_target_mca"])
        clip_order = (
            f"{entry['tol_source_accuracy_mean']:.1f} / {entry['tol_target_accuracy_mean']:.1f}"
            if "tol_target_accuracy_mean" in entry
            else "–"
        )
        lines.append(
            f"| {entry['label']} | {mean_std(entry, 'target_mca')} | {entry['target_top1_mean']:.1f} | "
            f"{mean_std(entry, 'source_mca')} | {cell(entry, 'gain_vs_source_only', '+.1f')} | "
            f"{cell(entry, 'p_vs_source_only', '.3g')} | {cell(entry, 'p_vs_dann', '.3g')} | {clip_order} | "
            f"{seeds} | {entry['mean_run_seconds']:.0f} |"
            + (f" {reference.get(method, '–')} |" if reference is not None else "")
        )
    return "\n".join(lines) + "\n"


def save_results_chart(summary: dict, path: Path, title: str) -> Path:
    """Bar chart of target and source MCA (mean ± std, seeds as dots) per method."""
    entries = list(summary.values())
    series = {
        f"{domain} test": [entry[f"per_seed_{domain}_mca"] for entry in entries]
        for domain in ("target", "source")
    }
    labels = [entry["label"] for entry in entries]
    return save_grouped_bars_png(labels, series, path, "mean class accuracy (%)", title)


def write_report(output_dir: Path, name: str, runs: list[dict], title: str, **extra) -> dict:
    """`<name>.json` (every run, the summary, `extra`), `<name>.md` (the table) and `<name>.png` (the chart) under
    `output_dir`; returns the summary."""
    summary = summarize(runs)
    atomic_write_json(output_dir / f"{name}.json", {**extra, "runs": runs, "summary": summary})
    atomic_write_text(output_dir / f"{name}.md", results_table(summary))
    save_results_chart(summary, output_dir / f"{name}.png", title)
    return summary


def run_ablation(
    data_args: DataArguments,
    model_args: ModelArguments,
    train_args: GladTrainingArguments,
    seeds: list[int],
    methods: list[str] | None = None,
    num_workers: int = 0,
) -> dict:
    """Every method for every seed on one configuration (motion pre-training once when asked for); writes
    `ablation.{json,md,png}` under `train_args.output_dir` and returns the summary."""
    methods = list(methods or PAPER_METHODS)
    check_methods(methods)
    root = Path(train_args.output_dir)
    model_args, _ = motion_pretrained_arguments(data_args, model_args, train_args, root / "pretrain")
    runs = run_experiments(
        data_args, model_args, train_args, [(m, s) for m in methods for s in seeds], root, num_workers
    )
    return write_report(root, "ablation", runs, "target and source test MCA over seeds", seeds=seeds)
