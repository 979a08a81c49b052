"""Synthetic Kinetics->BABEL benchmark: source-only, target-forward-only, DANN, GLA, GLA+BG, GLA+TOL, GLAD and the
supervised-target upper bound over seeds.

    python scripts/benchmark_synthetic.py                       # the README's table (default preset)
    python scripts/benchmark_synthetic.py --preset quick        # smoke test, about 30 s on 2 cores
    python scripts/benchmark_synthetic.py --preset strong_cue   # shifts tried for GLAD's own parts (README)
    python scripts/benchmark_synthetic.py --preset stage1_sweep # GLA + TOL and GLAD at several stage-1 strengths

Writes <output_dir>/benchmark.{json,md,png} (stage1_sweep: <output_dir>/stage1_sweep.{json,md,png}, reusing the
default preset's runs in the same folder) and prints the table. Re-running reuses finished runs and cached
data and pre-training (see glad_hf.training.benchmark and glad_hf.training.stage1_sweep).
"""

import argparse

from glad_hf.training.benchmark import run_synthetic_benchmark, timing_line
from glad_hf.training.benchmark_presets import PRESETS
from glad_hf.training.experiments import results_table
from glad_hf.training.methods import METHODS
from glad_hf.training.stage1_sweep import STAGE1_SETTINGS, run_stage1_sweep, sweep_table

SWEEP = "stage1_sweep"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default", choices=sorted(PRESETS) + [SWEEP])
    parser.add_argument("--output_dir", default="outputs/benchmark_synthetic")
    parser.add_argument(
        "--seeds", type=int, default=None, help="Seeds per method (default: the preset's, 5)."
    )
    parser.add_argument(
        "--source_only_seeds",
        type=int,
        default=None,
        help="Seeds of source-only (default: the preset's, 10).",
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        default=None,
        choices=list(METHODS),
        help="Default: the preset's (all eight for default).",
    )
    parser.add_argument(
        "--settings",
        nargs="+",
        default=None,
        choices=[s.name for s in STAGE1_SETTINGS],
        help=f"--preset {SWEEP} only: the stage-1 strengths to run (default: all, in this order).",
    )
    parser.add_argument(
        "--reuse_report",
        default=None,
        help=f"--preset {SWEEP} only: a default-preset benchmark.json whose controls and own stage-1 runs are "
        "taken instead of run again (e.g. docs/benchmark_synthetic/benchmark.json; refused if its recipe differs).",
    )
    parser.add_argument("--num_workers", type=int, default=2, help="Worker processes (0 = in this process).")
    parser.add_argument("--data_dir", default=None, help="Where to generate the data (default: the cache).")
    args = parser.parse_args()
    if args.preset == SWEEP:
        if args.methods:
            parser.error(
                f"--preset {SWEEP} runs its own methods (GLA + TOL and GLAD, and the controls): drop --methods"
            )
        report = run_stage1_sweep(
            args.output_dir,
            seeds=args.seeds,
            source_only_seeds=args.source_only_seeds,
            settings=args.settings,
            num_workers=args.num_workers,
            data_dir=args.data_dir,
            reuse_report=args.reuse_report,
        )
        labels = {s.name: s.label for s in STAGE1_SETTINGS}
        print(sweep_table(report["rows"], labels))
        print(timing_line(report["timings"], args.num_workers))
        return
    if args.settings or args.reuse_report:
        parser.error(f"--settings and --reuse_report are for --preset {SWEEP}")
    report = run_synthetic_benchmark(
        args.output_dir,
        preset=args.preset,
        seeds=args.seeds,
        source_only_seeds=args.source_only_seeds,
        methods=args.methods,
        num_workers=args.num_workers,
        data_dir=args.data_dir,
    )
    print(results_table(report["summary"]))
    print(timing_line(report["timings"], args.num_workers))


if __name__ == "__main__":
    main()
