"""The paper's comparison (source-only, DANN, GLA, GLA+BG, GLA+TOL, full GLAD; and a target-forward-only control)
over several seeds on one configuration, reported as mean ± std of target mean class accuracy."""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass
from pathlib import Path

from .arguments import DataArguments, GladTrainingArguments, ModelArguments
from .checkpointing import atomic_write_json, atomic_write_text
from .run import run_training

GLA = ("local", "global", "cross")


@dataclass(frozen=True)
class Method:
    """One row of the comparison: which stage-2 switches it sets."""

    label: str
    domain_alignment: tuple[str, ...]
    forward_target: bool
    background_blend: bool
    temporal_order: bool  # stage 2 starts from a stage-1 (TOL) model


METHODS: dict[str, Method] = {
    "source_only": Method("source-only", (), False, False, False),
    # Control: target batches go through the network (batch-norm statistics) but no domain loss.
    "target_forward": Method("target forward only", (), True, False, False),
    "dann": Method("DANN", ("video",), True, False, False),
    "gla": Method("GLA", GLA, True, False, False),
    "gla_bg": Method("GLA + BG", GLA, True, True, False),
    "gla_tol": Method("GLA + TOL", GLA, True, False, True),
    "glad": Method("GLAD (GLA + BG + TOL)", GLA, True, True, True),
}
PAPER_METHODS = ("source_only", "dann", "gla", "gla_bg", "gla_tol", "glad")


def check_methods(methods) -> None:
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(METHODS)}")


def motion_pretrained_arguments(data_args, model_args: ModelArguments, train_args, output_dir: Path):
    """`model_args` starting from the motion-pretrained model when it asks for motion pre-training (trained once
    here, or reused from the cache), so that every run of a comparison starts from the same weights."""
    if not model_args.motion_pretraining:
        return model_args, None
    pretrain_args = dataclasses.replace(
        train_args, stage="pretrain", output_dir=str(output_dir), report_to="none", push_to_hub=False
    )
    result = run_training(data_args, model_args, pretrain_args)["pretrain"]
    return dataclasses.replace(model_args, init_model=str(result.model_dir), motion_pretraining=False), result


def run_temporal_order(data_args, model_args, train_args, seed: int, output_dir: Path) -> str:
    """Stage 1 for one seed (reused when finished); returns the model folder stage 2 starts from."""
    tol_args = dataclasses.replace(
        train_args,
        stage="tol",
        seed=seed,
        output_dir=str(output_dir),
        report_to="none",
        push_to_hub=False,
        resume_from_checkpoint="latest",
    )
    return str(run_training(data_args, model_args, tol_args)["tol"].model_dir)


def run_method(
    data_args, model_args, train_args, method: str, seed: int, output_dir: Path, tol_dir: str | None = None
) -> dict:
    """Stage 2 of one method and seed under `output_dir` (reused when finished; `tol_dir` for the TOL methods);
    returns its scores."""
    spec = METHODS[method]
    if spec.temporal_order and tol_dir is None:
        raise ValueError(f"method {method} starts from a stage-1 model: pass tol_dir")
    method_model = dataclasses.replace(
        model_args,
        domain_alignment=list(spec.domain_alignment),
        forward_target=spec.forward_target,
        init_model=tol_dir if spec.temporal_order else model_args.init_model,
    )
    method_train = dataclasses.replace(
        train_args,
        stage="glad",
        seed=seed,
        background_blend=spec.background_blend,
        compare_source_only=False,
        output_dir=str(output_dir),
        report_to="none",
        push_to_hub=False,
        resume_from_checkpoint="latest",
    )
    result = run_training(data_args, method_model, method_train)["glad"]
    return {
        "method": method,
        "seed": seed,
        "target_mca": result.metrics["target"]["mean_class_accuracy"],
        "source_mca": result.metrics["source"]["mean_class_accuracy"],
        "target_top1": result.metrics["target"]["top1_accuracy"],
        "seconds": result.seconds,
    }


def run_ablation(
    data_args: DataArguments,
    model_args: ModelArguments,
    train_args: GladTrainingArguments,
    seeds: list[int],
    methods: list[str] | None = None,
) -> dict:
    """Train every method for every seed (stage 1 once per seed, shared by the TOL methods; motion pre-training
    once); write `ablation.json` and `ablation.md` under `train_args.output_dir` and return the summary."""
    methods = methods or list(PAPER_METHODS)
    check_methods(methods)
    root = Path(train_args.output_dir)
    model_args, _ = motion_pretrained_arguments(data_args, model_args, train_args, root / "pretrain")
    runs: dict[str, list[dict]] = {m: [] for m in methods}
    for seed in seeds:
        tol_dir = None
        for method in methods:
            if METHODS[method].temporal_order and tol_dir is None:
                tol_dir = run_temporal_order(data_args, model_args, train_args, seed, root / f"seed{seed}")
            runs[method].append(
                run_method(
                    data_args, model_args, train_args, method, seed, root / f"seed{seed}" / method, tol_dir
                )
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
