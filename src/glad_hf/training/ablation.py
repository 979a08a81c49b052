"""The paper's comparison (source-only, DANN, GLA, GLA+BG, GLA+TOL, full GLAD) over several seeds on one
configuration, reported as mean ± std of target mean class accuracy."""

from __future__ import annotations

import dataclasses
import statistics
from pathlib import Path

from .arguments import DataArguments, GladTrainingArguments, ModelArguments
from .checkpointing import atomic_write_json, atomic_write_text
from .run import run_training

GLA = ["local", "global", "cross"]

# method -> (domain_alignment, forward target batches, background blend, temporal-order pre-training)
METHODS: dict[str, tuple[list[str], bool, bool, bool]] = {
    "source_only": ([], False, False, False),
    "dann": (["video"], True, False, False),
    "gla": (GLA, True, False, False),
    "gla_bg": (GLA, True, True, False),
    "gla_tol": (GLA, True, False, True),
    "glad": (GLA, True, True, True),
}


def run_ablation(
    data_args: DataArguments,
    model_args: ModelArguments,
    train_args: GladTrainingArguments,
    seeds: list[int],
    methods: list[str] | None = None,
) -> dict:
    """Train every method for every seed (stage 1 once per seed, shared by the TOL methods); write
    `ablation.json` and `ablation.md` under `train_args.output_dir` and return the summary."""
    methods = methods or list(METHODS)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(METHODS)}")
    root = Path(train_args.output_dir)
    runs: dict[str, list[dict]] = {m: [] for m in methods}
    for seed in seeds:
        tol_dir = None
        for method in methods:
            alignment, forward_target, blend, use_tol = METHODS[method]
            if use_tol and tol_dir is None:
                tol_args = dataclasses.replace(
                    train_args,
                    stage="tol",
                    seed=seed,
                    output_dir=str(root / f"seed{seed}"),
                    report_to="none",
                    push_to_hub=False,
                )
                tol_dir = str(run_training(data_args, model_args, tol_args)["tol"].model_dir)
            method_model = dataclasses.replace(
                model_args,
                domain_alignment=alignment,
                forward_target=forward_target,
                init_model=tol_dir if use_tol else model_args.init_model,
            )
            method_train = dataclasses.replace(
                train_args,
                stage="glad",
                seed=seed,
                background_blend=blend,
                compare_source_only=False,
                output_dir=str(root / f"seed{seed}" / method),
                report_to="none",
                push_to_hub=False,
            )
            result = run_training(data_args, method_model, method_train)["glad"]
            runs[method].append(
                {
                    "seed": seed,
                    "target_mca": result.metrics["target"]["mean_class_accuracy"],
                    "source_mca": result.metrics["source"]["mean_class_accuracy"],
                    "target_top1": result.metrics["target"]["top1_accuracy"],
                    "seconds": result.seconds,
                }
            )
    summary = {method: _aggregate(values) for method, values in runs.items()}
    atomic_write_json(root / "ablation.json", {"seeds": seeds, "runs": runs, "summary": summary})
    atomic_write_text(root / "ablation.md", ablation_table(summary))
    return summary


def _aggregate(values: list[dict]) -> dict:
    def mean_std(key):
        series = [100 * v[key] for v in values]
        return statistics.fmean(series), statistics.stdev(series) if len(series) > 1 else 0.0

    target, source = mean_std("target_mca"), mean_std("source_mca")
    return {
        "target_mca_mean": target[0],
        "target_mca_std": target[1],
        "source_mca_mean": source[0],
        "source_mca_std": source[1],
        "per_seed_target_mca": [100 * v["target_mca"] for v in values],
        "runs": len(values),
    }


def ablation_table(summary: dict) -> str:
    lines = [
        "| method | target MCA (mean ± std) | source MCA (mean ± std) | per-seed target MCA |",
        "|---|---|---|---|",
    ]
    for method, s in summary.items():
        seeds = ", ".join(f"{v:.1f}" for v in s["per_seed_target_mca"])
        lines.append(
            f"| {method} | {s['target_mca_mean']:.1f} ± {s['target_mca_std']:.1f} | "
            f"{s['source_mca_mean']:.1f} ± {s['source_mca_std']:.1f} | {seeds} |"
        )
    return "\n".join(lines) + "\n"
