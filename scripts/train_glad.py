"""Train GLAD: stage 1 (temporal-order learning), then stage 2 (GLAD) from its backbone (on the synthetic dataset,
both start from the cached motion pre-training, stage 0).

    accelerate launch scripts/train_glad.py --config configs/synthetic_demo.yaml   # the demo (make demo)
    accelerate launch scripts/train_glad.py --config configs/k2b_i3d_paper.yaml --data_dir data
    python scripts/train_glad.py --stage glad --init_model outputs/run/tol/last --max_train_steps 10

The recipe follows the data: the synthetic dataset trains with the demo's recipe, kinetics2babel, lists and
folders with the paper's (SPEC §7); `--config FILE` (YAML/JSON) overrides the recipe and flags override the file.
The effective recipe is printed at start and saved as <output_dir>/recipe.yaml (`--config` reads it back).
"""

import time

from glad_hf.training.arguments import parse_arguments
from glad_hf.training.benchmark_presets import seed_spread_reference
from glad_hf.training.experiments import results_table, run_record, summarize, with_temporal_order
from glad_hf.training.recipes import describe_recipe
from glad_hf.training.run import process_state, run_training


def main() -> None:
    started = time.time()
    data_args, model_args, train_args = parse_arguments(description=__doc__)
    main_process = process_state().is_main_process
    if main_process:
        print(describe_recipe(data_args, model_args, train_args), flush=True)
    results = run_training(data_args, model_args, train_args)
    if not main_process:
        return
    if "pretrain" in results:
        pretrain = results["pretrain"]
        print(
            f"stage 0 (motion pre-training): validation accuracy {100 * pretrain.metrics['top1_accuracy']:.1f}% on "
            f"{len(pretrain.metrics['motions'])} motions, model in {pretrain.model_dir}"
        )
    if "tol" in results:
        tol = results["tol"].metrics
        print(
            f"stage 1 (TOL): clip-order accuracy on held-out clips: source {100 * tol['source_accuracy']:.1f}%, "
            f"target {100 * tol['target_accuracy']:.1f}% (chance 16.7%), model in {results['tol'].model_dir}"
        )
    stage2 = [
        run_record(name, train_args.seed, r) for name, r in results.items() if name not in ("pretrain", "tol")
    ]
    if "tol" in results:  # the GLAD row started from stage 1
        stage2 = [with_temporal_order(r, tol) if r["method"] == "glad" else r for r in stage2]
    if stage2:
        if data_args.dataset == "synthetic":  # one seed of a noisy toy: the benchmark's spread beside it
            print(results_table(summarize(stage2), reference=seed_spread_reference()))
            print(
                "One seed on one machine. On the synthetic benchmark (same data and recipe, "
                "docs/benchmark_synthetic) target MCA moves between seeds by the last column's spread, and this "
                "seed's table moved by 6 (GLAD) and 12 (source-only) points between two CPU models with AVX-512 "
                "(README). A gap between two rows of one run is not a result."
            )
        else:
            print(results_table(summarize(stage2)))
        for name, result in results.items():
            if name not in ("pretrain", "tol"):
                print(f"{result.label}: model in {result.model_dir}")
    times = [
        f"{name} {r.seconds:.0f} s" + (" (earlier, reused)" if r.model is None else "")
        for name, r in results.items()
    ]
    print(f"wall time: {', '.join(times)}; the whole run {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
