"""Score a GLAD classifier on a split of the data it was trained for: MCA, top-1, top-5, per-class accuracy,
confusion matrix. The data flags are training's (`--dataset synthetic | kinetics2babel | lists | folders` and the
rest, with the same recipe), so any model `scripts/train_glad.py` trains can be scored; a training `--config` gives
them. The model's classes are checked against the dataset's before the pass.

    python scripts/evaluate_glad.py --model outputs/glad_synthetic/glad/last --split test
    python scripts/evaluate_glad.py --model ORG/glad-k2b-i3d --dataset kinetics2babel --data_dir data --output_dir eval/
    python scripts/evaluate_glad.py --model outputs/ucf2hmdb_i3d_glad/glad/best --config configs/ucf2hmdb_i3d.yaml

Writes <output_dir>/metrics.json and <output_dir>/confusion_matrix.png (default: beside the model if it is a
local folder, else ./eval). With --update_card (a local model folder), the results are added to the folder's model
card: its `model-index` metadata and a results table (the rest of the card is kept; written atomically).
"""

from pathlib import Path

from glad_hf.hub.card_results import update_model_card_results
from glad_hf.modeling_glad import check_classifier_folder
from glad_hf.training.arguments import DataArguments, parse_arguments
from glad_hf.training.evaluation import EvaluationArguments, evaluate_checkpoint


def main(argv: list[str] | None = None) -> None:
    data_args, args = parse_arguments(argv, classes=(DataArguments, EvaluationArguments), description=__doc__)
    check_classifier_folder(args.model)  # a stage-1 model is refused before the data is read
    metrics = evaluate_checkpoint(
        args.model, data_args, args.split, args.domain, args.output_dir, args.batch_size
    )
    print(f"{args.domain} {args.split}: {metrics['num_videos']} videos")
    print(
        f"mean class accuracy {100 * metrics['mean_class_accuracy']:.2f}  top-1 {100 * metrics['top1_accuracy']:.2f}"
        f"  top-5 {100 * metrics['top5_accuracy']:.2f}"
    )
    print(
        f"wrote {Path(args.output_dir) / 'metrics.json'} and {Path(args.output_dir) / 'confusion_matrix.png'}"
    )
    if args.update_card:
        card = update_model_card_results(args.model, metrics, dataset_name=data_args.dataset)
        print(f"added the results to {card}")


if __name__ == "__main__":
    main()
