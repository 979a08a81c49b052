"""Score a GLAD classifier on a Kinetics->BABEL split: MCA, top-1, top-5, per-class accuracy, confusion matrix.

    python scripts/evaluate_glad.py --model outputs/glad_synthetic/glad/last --split test
    python scripts/evaluate_glad.py --model ORG/glad-k2b-i3d --dataset kinetics2babel --data_dir data \
        --output_dir eval/

Writes <output_dir>/metrics.json and <output_dir>/confusion_matrix.png (default: beside the model if it is a
local folder, else ./eval). With --update_card (a local model folder), the results are added to the folder's model
card: its `model-index` metadata and a results table (the rest of the card is kept; written atomically).
"""

import argparse
from pathlib import Path

from glad_hf.modeling_glad import check_classifier_folder
from glad_hf.training.arguments import DataArguments
from glad_hf.training.card_results import update_model_card_results
from glad_hf.training.evaluation import evaluate_checkpoint


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="save_pretrained folder or Hub id")
    parser.add_argument("--split", default="test", choices=["train", "test"])
    parser.add_argument("--domain", default="target", choices=["source", "target"])
    parser.add_argument("--dataset", default="synthetic", choices=["synthetic", "kinetics2babel"])
    parser.add_argument("--data_dir", default=None)
    parser.add_argument("--annotations", default=None)
    parser.add_argument("--cache_dir", default=None)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--num_workers", type=int, default=0)
    parser.add_argument("--output_dir", default=None)
    parser.add_argument(
        "--update_card",
        action="store_true",
        help="add the results to the model folder's card (README.md): model-index metadata and a results table",
    )
    args = parser.parse_args(argv)
    if args.update_card and not Path(args.model).is_dir():
        parser.error(f"--update_card needs a local model folder, and {args.model} is not one")
    check_classifier_folder(args.model)  # a stage-1 model is refused before the data is read
    data_args = DataArguments(
        dataset=args.dataset,
        data_dir=args.data_dir,
        annotations=args.annotations,
        cache_dir=args.cache_dir,
        num_workers=args.num_workers,
    )
    output_dir = args.output_dir
    if output_dir is None:
        output_dir = (
            Path(args.model) / f"eval_{args.domain}_{args.split}" if Path(args.model).is_dir() else "eval"
        )
    metrics = evaluate_checkpoint(args.model, data_args, args.split, args.domain, output_dir, args.batch_size)
    print(f"{args.domain} {args.split}: {metrics['num_videos']} videos")
    print(
        f"mean class accuracy {100 * metrics['mean_class_accuracy']:.2f}  top-1 {100 * metrics['top1_accuracy']:.2f}"
        f"  top-5 {100 * metrics['top5_accuracy']:.2f}"
    )
    print(f"wrote {Path(output_dir) / 'metrics.json'} and {Path(output_dir) / 'confusion_matrix.png'}")
    if args.update_card:
        card = update_model_card_results(args.model, metrics, dataset_name=args.dataset)
        print(f"added the results to {card}")


if __name__ == "__main__":
    main()
