"""Scoring a GLAD classifier on a Kinetics->BABEL split: the metric module, the JSON and the confusion-matrix PNG
written by `scripts/evaluate_glad.py` and at the end of training."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..atomic import atomic_write_json
from ..data.synthetic import METADATA_FILENAME
from ..data.transforms import finish_batch
from ..metrics import load_glad_metric
from ..modeling_glad import GladForVideoClassification
from ..video_processing_glad import GladVideoProcessor
from .arguments import DataArguments
from .options import check_choices, check_numbers, option
from .outputs import save_confusion_matrix
from .stage_datasets import evaluation_dataset, load_domains
from .stage_models import check_model_source


@dataclass
class EvaluationArguments:
    """What `scripts/evaluate_glad.py` scores and where the results go; the data come from `DataArguments`, the same
    flags (and recipe) as training's."""

    model: str = option(help="save_pretrained folder or Hub id of a GLAD classifier.")
    split: str = option("test", help="train | test")
    domain: str = option("target", help="source | target")
    batch_size: int = option(8, help="Videos per forward pass.")
    output_dir: str | None = option(
        None,
        help="Where metrics.json and confusion_matrix.png go (default: <model>/eval_<domain>_<split> for "
        "a local model folder, else ./eval).",
    )
    update_card: bool = option(
        False,
        help="Add the results to the model folder's card (README.md): model-index metadata and a results table.",
    )

    def __post_init__(self):
        check_choices(self, split=("train", "test"), domain=("source", "target"))
        check_numbers(self, at_least_1="batch_size")
        if self.update_card and not Path(self.model).is_dir():
            raise ValueError(f"--update_card needs a local model folder, and --model {self.model} is not one")
        if self.output_dir is None:
            local = Path(self.model).is_dir()
            self.output_dir = str(Path(self.model) / f"eval_{self.domain}_{self.split}" if local else "eval")


def check_label_sets(model_labels: list[str], data_labels: list[str], *, model: str, data: str) -> None:
    """Refuse, before the pass, a model whose classes (names, in label order) are not the dataset's."""
    if model_labels == data_labels:
        return
    only_model = [name for name in model_labels if name not in data_labels]
    only_data = [name for name in data_labels if name not in model_labels]
    detail = (
        f"only the model has {only_model}, only the data has {only_data}"
        if only_model or only_data
        else "the same names in another order"
    )
    raise ValueError(
        f"--model {model} classifies {len(model_labels)} classes {model_labels}, but {data} has {len(data_labels)} "
        f"classes {data_labels} ({detail}): score a model on the data it was trained for"
    )


@torch.no_grad()
def predict(model, loader, accelerator: Accelerator, description: str) -> tuple[np.ndarray, np.ndarray]:
    """Class scores [N, C] and labels [N] of a prepared evaluation loader, gathered once from every process."""
    was_training = model.training
    model.eval()
    scores, labels = [], []
    for batch in tqdm(loader, desc=description, disable=not accelerator.is_local_main_process, leave=False):
        batch = finish_batch(batch)
        logits = model(batch["pixel_values"]).logits
        logits, batch_labels = accelerator.gather_for_metrics((logits, batch["labels"]))
        scores.append(logits.float().softmax(-1).cpu())
        labels.append(batch_labels.cpu())
    model.train(was_training)
    return torch.cat(scores).numpy(), torch.cat(labels).numpy()


def classification_metrics(scores: np.ndarray, labels: np.ndarray, num_labels: int) -> dict:
    """MCA, top-1, top-5, per-class accuracy and confusion matrix from the shipped `evaluate` module."""
    return load_glad_metric(keep_in_memory=True).compute(
        predictions=scores, references=labels, num_labels=num_labels
    )


def evaluate_checkpoint(
    model_name_or_path: str,
    data_args: DataArguments,
    split: str = "test",
    domain: str = "target",
    output_dir: str | Path | None = None,
    batch_size: int = 8,
    accelerator: Accelerator | None = None,
) -> dict:
    """Score a saved classifier on one split of one domain; writes `metrics.json` and `confusion_matrix.png` to
    `output_dir` when given. Frame sizes default to the model's saved processor."""
    check_model_source(str(model_name_or_path), "--model")
    accelerator = accelerator or Accelerator()
    model = GladForVideoClassification.from_pretrained(model_name_or_path)
    try:
        processor = GladVideoProcessor.from_pretrained(model_name_or_path)
        data_args = dataclasses.replace(
            data_args, short_side=processor.size["shortest_edge"], crop_size=processor.crop_size["height"]
        )
    except OSError:
        pass  # no processor saved: keep the sizes given in data_args
    if data_args.dataset == "synthetic" and data_args.data_dir:
        if not (Path(data_args.data_dir) / METADATA_FILENAME).is_file():
            raise ValueError(
                f"--data_dir {data_args.data_dir}: no synthetic dataset there (no {METADATA_FILENAME}); evaluation "
                "scores an existing dataset and generates none (training does): check the path"
            )
    with accelerator.main_process_first():
        domains = load_domains(data_args)
    if domain not in domains or split not in domains[domain]:
        raise ValueError(f"no split {split!r} in domain {domain!r}; available: {sorted(domains[domain])}")
    check_label_sets(
        [str(model.config.id2label[i]) for i in range(model.config.num_labels)],
        list(domains[domain][split].features["label"].names),
        model=str(model_name_or_path),
        data=f"--dataset {data_args.dataset} ({domain} {split})",
    )
    dataset = evaluation_dataset(domains[domain][split], model.config, data_args)
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=data_args.num_workers)
    model, loader = accelerator.prepare(model, loader)
    scores, labels = predict(model, loader, accelerator, f"{domain} {split}")
    config = accelerator.unwrap_model(model).config
    metrics = classification_metrics(scores, labels, config.num_labels)
    metrics.update(
        model=str(model_name_or_path),
        domain=domain,
        split=split,
        num_videos=int(len(labels)),
        short_side=data_args.short_side,
        crop_size=data_args.crop_size,
    )
    if output_dir is not None and accelerator.is_main_process:
        output_dir = Path(output_dir)
        atomic_write_json(output_dir / "metrics.json", metrics)
        title = f"{domain} {split}: MCA {100 * metrics['mean_class_accuracy']:.1f}"
        save_confusion_matrix(metrics, config, output_dir / "confusion_matrix.png", title)
    return metrics
