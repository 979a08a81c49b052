"""Scoring a GLAD classifier on a Kinetics->BABEL split: the metric module, the JSON and the confusion-matrix PNG
written by `scripts/evaluate_glad.py` and at the end of training."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..data.transforms import finish_batch
from ..metrics import load_glad_metric
from ..modeling_glad import GladForVideoClassification
from ..video_processing_glad import GladVideoProcessor
from .arguments import DataArguments
from .checkpointing import atomic_write_json
from .data import evaluation_dataset, load_domains
from .models import check_model_source
from .outputs import save_confusion_matrix


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
    with accelerator.main_process_first():
        domains = load_domains(data_args)
    if domain not in domains or split not in domains[domain]:
        raise ValueError(f"no split {split!r} in domain {domain!r}; available: {sorted(domains[domain])}")
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
