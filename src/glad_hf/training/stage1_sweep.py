"""How hard stage 1 pushes the backbone, swept on the synthetic K->B: does a gentler temporal-order learning make
GLAD's stage 1 help?

On the default benchmark, stage 1 at the full learning rate (1,000 steps) learns clip order and costs stage 2 about
30 points. This runs GLA + TOL and GLAD after stage 1 at several strengths (`STAGE1_SETTINGS`: the backbone's
learning rate in stage 1 at 1, 0.1 and 0.01 times the head's) beside the controls they are judged against (source-only, GLA, GLA + BG), on the default
benchmark's data, network and stage-2 recipe. The controls and the full-strength setting are the default benchmark's
own runs (`<output_dir>/runs`, reused when that benchmark ran into the same folder); every other setting goes to
`<output_dir>/stage1_sweep/<setting>`. After every setting the report is rewritten (`stage1_sweep.{json,md,png}`),
so an interrupted sweep leaves the settings it finished, and running it again resumes. Results and what they say:
docs/benchmark_synthetic/stage1_sweep.md, dataset_scripts/kinetics2babel/SYNTHETIC.md.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..atomic import atomic_write_json, atomic_write_text
from ..metrics.plots import save_scatter_png
from .benchmark import benchmark_arguments, prepare_benchmark
from .benchmark_presets import PRESETS
from .experiments import permutation_p_value, run_experiments
from .methods import METHODS

SWEEP_CONTROLS = ("source_only", "gla", "gla_bg")
SWEEP_METHODS = ("gla_tol", "glad")


@dataclass(frozen=True)
class Stage1Setting:
    """One strength of stage 1: `train` holds the `GladTrainingArguments` fields it changes (empty: the preset's)."""

    name: str
    label: str
    train: dict


# In the order they run: an interrupted sweep keeps the first ones (the preset's own stage 1 runs with the controls).
STAGE1_SETTINGS = (
    Stage1Setting("backbone_lr_1", "backbone LR x 1 (the benchmark's)", {}),
    Stage1Setting("backbone_lr_0.1", "backbone LR x 0.1", {"tol_backbone_learning_rate_scale": 0.1}),
    Stage1Setting("backbone_lr_0.01", "backbone LR x 0.01", {"tol_backbone_learning_rate_scale": 0.01}),
)


def _setting_dir(output_dir: Path, setting: Stage1Setting) -> Path:
    # The preset's own stage 1 is the default benchmark's: same folder, so either reuses the other's runs.
    return output_dir / "runs" if not setting.train else output_dir / "stage1_sweep" / setting.name


def summarize_sweep(runs: list[dict]) -> list[dict]:
    """One row per (setting, method) in order of first appearance (the controls have setting None): target / source
    MCA mean and std and per-seed values (percent), stage-1 clip-order accuracy, and the gain and two-sided
    permutation p-value of target MCA against GLA + BG, source-only and (for GLA + TOL) GLA."""
    keys = list(dict.fromkeys((r.get("setting"), r["method"]) for r in runs))
    target = {
        key: [
            100 * r["target_mca"]
            for r in sorted(runs, key=lambda r: r["seed"])
            if (r.get("setting"), r["method"]) == key
        ]
        for key in keys
    }
    rows = []
    for key in keys:
        setting, method = key
        chosen = sorted((r for r in runs if (r.get("setting"), r["method"]) == key), key=lambda r: r["seed"])
        values = target[key]
        row = {
            "setting": setting,
            "method": method,
            "label": chosen[0]["label"],
            "seeds": [r["seed"] for r in chosen],
            "target_mca_mean": statistics.fmean(values),
            "target_mca_std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "source_mca_mean": statistics.fmean(100 * r["source_mca"] for r in chosen),
            "per_seed_target_mca": values,
            "per_seed_source_mca": [100 * r["source_mca"] for r in chosen],
        }
        if all("tol_target_accuracy" in r for r in chosen):
            row["per_seed_tol_source_accuracy"] = [100 * r["tol_source_accuracy"] for r in chosen]
            row["per_seed_tol_target_accuracy"] = [100 * r["tol_target_accuracy"] for r in chosen]
        comparisons = ["gla_bg", "source_only"] + (["gla"] if method == "gla_tol" else [])
        for control in comparisons:
            reference = target.get((None, control))
            if reference and (setting, method) != (None, control):
                row[f"gain_vs_{control}"] = row["target_mca_mean"] - statistics.fmean(reference)
                row[f"p_vs_{control}"] = permutation_p_value(values, reference)
        rows.append(row)
    return rows


def sweep_table(rows: list[dict], settings: dict[str, str]) -> str:
    """The markdown table of `summarize_sweep`'s rows (`settings`: setting name -> label)."""

    def cell(row, key, fmt):
        value = row.get(key)
        return "–" if value is None or value != value else format(value, fmt)

    lines = [
        "| stage 1 | method | stage-1 clip order, source / target | target MCA | source MCA | Δ vs GLA + BG | "
        "p vs GLA + BG | Δ vs source-only | p vs source-only | Δ, p vs GLA | per-seed target MCA |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        clip_order = (
            f"{statistics.fmean(row['per_seed_tol_source_accuracy']):.1f} / "
            f"{statistics.fmean(row['per_seed_tol_target_accuracy']):.1f}"
            if "per_seed_tol_target_accuracy" in row
            else "–"
        )
        versus_gla = (
            f"{row['gain_vs_gla']:+.1f}, {cell(row, 'p_vs_gla', '.3g')}" if "gain_vs_gla" in row else "–"
        )
        lines.append(
            f"| {settings.get(row['setting'], '–')} | {row['label']} | {clip_order} | "
            f"{row['target_mca_mean']:.1f} ± {row['target_mca_std']:.1f} | {row['source_mca_mean']:.1f} | "
            f"{cell(row, 'gain_vs_gla_bg', '+.1f')} | {cell(row, 'p_vs_gla_bg', '.3g')} | "
            f"{cell(row, 'gain_vs_source_only', '+.1f')} | {cell(row, 'p_vs_source_only', '.3g')} | {versus_gla} | "
            f"{', '.join(f'{v:.1f}' for v in row['per_seed_target_mca'])} |"
        )
    return "\n".join(lines) + "\n"


def save_sweep_chart(rows: list[dict], settings: dict[str, str], path: Path) -> Path:
    """Target MCA against stage-1 clip-order accuracy on the target test clips, one point per run, the controls'
    means as lines."""
    swept = [row for row in rows if "per_seed_tol_target_accuracy" in row]
    names = list(dict.fromkeys(row["setting"] for row in swept))
    points, styles = {}, {}
    for row in swept:  # a colour per setting, a marker per method
        name = f"{row['label']}, {settings[row['setting']]}"
        points[name] = (row["per_seed_tol_target_accuracy"], row["per_seed_target_mca"])
        styles[name] = {
            "color": f"C{names.index(row['setting'])}",
            "marker": "o" if row["method"] == "gla_tol" else "^",
        }
    lines = {row["label"]: row["target_mca_mean"] for row in rows if row["setting"] is None}
    return save_scatter_png(
        points,
        path,
        xlabel="stage-1 clip-order accuracy, target test clips (%; chance 16.7)",
        ylabel="target test MCA (%)",
        title="synthetic K->B: stage-2 target MCA against how much stage 1 learned (one point per seed)",
        reference_lines=lines,
        styles=styles,
    )


def run_stage1_sweep(
    output_dir: str | os.PathLike,
    base_preset: str = "default",
    seeds: int | None = None,
    source_only_seeds: int | None = None,
    settings: list[str] | None = None,
    num_workers: int = 2,
    data_dir: str | os.PathLike | None = None,
    reuse_report: str | os.PathLike | None = None,
) -> dict:
    """Run the sweep on `base_preset`'s recipe; writes `stage1_sweep.{json,md,png}` under `output_dir` after every
    setting and returns {"rows", "runs", "timings"}.

    Args:
        seeds, source_only_seeds: seeds per (setting, method) and of source-only (default: the preset's, 5 and 10).
        settings: names of `STAGE1_SETTINGS` (default: all, in their order).
        num_workers: worker processes with one thread each; 0 = every run in this process.
        reuse_report: a `benchmark.json` of `base_preset` (e.g. docs/benchmark_synthetic/benchmark.json) whose
            controls and own stage-1 runs are taken instead of running them again (refused unless its recipe is
            the preset's and it holds every seed needed).
    """
    if base_preset not in PRESETS:
        raise ValueError(f"base_preset must be one of {sorted(PRESETS)}, got {base_preset!r}")
    known = {s.name: s for s in STAGE1_SETTINGS}
    unknown = [name for name in settings or [] if name not in known]
    if unknown:
        raise ValueError(f"unknown stage-1 settings {unknown}; choose from {list(known)}")
    chosen = [known[name] for name in settings] if settings else list(STAGE1_SETTINGS)
    spec = PRESETS[base_preset]
    seeds = spec.seeds if seeds is None else seeds
    source_only_seeds = spec.source_only_seeds if source_only_seeds is None else source_only_seeds
    if seeds < 1 or source_only_seeds < 1:
        raise ValueError(f"seeds and source_only_seeds must be >= 1, got {seeds} and {source_only_seeds}")
    output_dir = Path(output_dir)
    # A misspelt or out-of-range field fails here, before the data and the pre-training.
    for setting in chosen:
        dataclasses.replace(benchmark_arguments(spec, output_dir, output_dir)[2], **setting.train)
    controls = [
        (m, seed)
        for m in SWEEP_CONTROLS
        for seed in range(source_only_seeds if m == "source_only" else seeds)
    ]
    runs: list[dict] = []
    done: list[Stage1Setting] = []
    pending_controls = controls
    if reuse_report is not None:
        stored = reused_runs(
            reuse_report, base_preset, controls + [(m, s) for m in SWEEP_METHODS for s in range(seeds)]
        )
        own = [setting for setting in chosen if not setting.train]
        for record in stored:
            if not METHODS[record["method"]].temporal_order:
                runs.append(dict(record, setting=None))
            elif own:
                runs.append(dict(record, setting=own[0].name))
        done, chosen, pending_controls = own, [setting for setting in chosen if setting.train], []

    started = time.time()
    methods = list(SWEEP_CONTROLS + SWEEP_METHODS)
    data_args, model_args, train_args, timings, pretrain = prepare_benchmark(
        spec, output_dir, methods, data_dir
    )
    setting_args = {s.name: dataclasses.replace(train_args, **s.train) for s in chosen}

    def write() -> dict:
        timings["runs_seconds"] = (
            time.time() - started - timings["data_seconds"] - timings["pretrain_seconds"]
        )
        timings["total_seconds"] = time.time() - started
        return write_sweep_report(
            output_dir,
            runs,
            base_preset=base_preset,
            settings=[dataclasses.asdict(s) for s in done],
            reused_from=None if reuse_report is None else str(reuse_report),
            seeds=seeds,
            source_only_seeds=source_only_seeds,
            num_workers=num_workers,
            machine={
                "cpu_count": os.cpu_count(),
                "platform": platform.platform(),
                "torch": torch.__version__,
                "device": "cpu",
            },
            timings=timings,
            pretrain={"model_dir": str(pretrain.model_dir), "metrics": pretrain.metrics},
        )

    report = write() if runs else {"rows": []}
    for setting in chosen:
        jobs = [(m, seed) for m in SWEEP_METHODS for seed in range(seeds)]
        setting_dir = _setting_dir(output_dir, setting)
        records = []
        # The controls are the default benchmark's runs (its folder), so either reuses the other's.
        if pending_controls and setting_dir != output_dir / "runs":
            records += run_experiments(
                data_args, model_args, train_args, pending_controls, output_dir / "runs", num_workers
            )
        elif pending_controls:
            jobs = pending_controls + jobs  # they fill the pool while stage 1 trains
        pending_controls = []
        records += run_experiments(
            data_args, model_args, setting_args[setting.name], jobs, setting_dir, num_workers
        )
        for record in records:
            tol = METHODS[record["method"]].temporal_order
            runs.append(dict(record, setting=setting.name if tol else None))
        done.append(setting)
        report = write()
    return {"rows": report["rows"], "runs": runs, "timings": timings}


def reused_runs(path: str | os.PathLike, base_preset: str, needed: list[tuple[str, int]]) -> list[dict]:
    """The run records `needed` ((method, seed) pairs) from a finished `benchmark.json` at `path`, which must have
    been run with `base_preset`'s recipe as it is now."""
    report = json.loads(Path(path).read_text())
    expected = json.loads(json.dumps(dataclasses.asdict(PRESETS[base_preset])))
    stored = report.get("preset_config", {})
    if report.get("preset") != base_preset or stored != expected:
        differing = sorted(k for k in expected if stored.get(k) != expected[k])
        raise ValueError(
            f"{path} was run with preset {report.get('preset')!r} and another recipe than --preset "
            f"{base_preset!r} now (differing: {differing}): its runs cannot stand for this sweep's"
        )
    by_key = {(r["method"], r["seed"]): r for r in report["runs"]}
    missing = [key for key in needed if key not in by_key]
    if missing:
        raise ValueError(f"{path} lacks the runs (method, seed) {missing} this sweep needs")
    return [by_key[key] for key in needed]


def write_sweep_report(output_dir: Path, runs: list[dict], **extra) -> dict:
    """`stage1_sweep.json` (every run, the rows, `extra`), `.md` (the table) and `.png` (the chart); returns the
    JSON's content."""
    order = {s["name"]: i for i, s in enumerate(extra["settings"])}
    controls = [r for r in runs if r["setting"] is None]
    controls.sort(key=lambda r: (SWEEP_CONTROLS.index(r["method"]), r["seed"]))
    swept = sorted(
        (r for r in runs if r["setting"] is not None),
        key=lambda r: (order[r["setting"]], SWEEP_METHODS.index(r["method"]), r["seed"]),
    )
    runs = controls + swept
    rows = summarize_sweep(runs)
    labels = {s["name"]: s["label"] for s in extra["settings"]}
    report = {**extra, "runs": runs, "rows": rows}
    atomic_write_json(output_dir / "stage1_sweep.json", report)
    atomic_write_text(output_dir / "stage1_sweep.md", sweep_table(rows, labels))
    save_sweep_chart(rows, labels, output_dir / "stage1_sweep.png")
    return report
