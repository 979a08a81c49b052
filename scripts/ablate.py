"""The paper's comparison on one configuration over several seeds: source-only, DANN, GLA, GLA+BG, GLA+TOL, GLAD.

    python scripts/ablate.py --config configs/synthetic_demo.yaml --seeds 0 1 2 [--methods source_only glad]

Takes every flag of scripts/train_glad.py too. Writes <output_dir>/ablation.{json,md,png} and prints the table.
"""

import argparse

from glad_hf.training.arguments import parse_arguments
from glad_hf.training.experiments import results_table, run_ablation
from glad_hf.training.methods import METHODS, PAPER_METHODS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], add_help=False)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(PAPER_METHODS), choices=list(METHODS))
    parser.add_argument(
        "--num_workers", type=int, default=0, help="Runs in parallel (single-threaded processes)."
    )
    own, rest = parser.parse_known_args()
    data_args, model_args, train_args = parse_arguments(rest)
    summary = run_ablation(data_args, model_args, train_args, own.seeds, own.methods, own.num_workers)
    print(results_table(summary))


if __name__ == "__main__":
    main()
