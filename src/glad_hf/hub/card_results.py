"""Adding evaluation results to an existing model card (`scripts/evaluate_glad.py --update_card`): `model-index`
entries and a results table in the body, the rest of the card kept."""

import os
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

from huggingface_hub import ModelCard, ModelCardData

from glad_hf.atomic import atomic_write_text
from glad_hf.modeling_glad import check_classifier_folder

from .cards import (
    EVALUATION_RESULTS_END,
    EVALUATION_RESULTS_START,
    HEADLINE_METRICS,
    eval_results_from_metrics,
    evaluation_dataset_name,
)


def _result_cell(value) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else str(value) if value is not None else "–"


def _results_section(results, *, dataset_name: str, domain: str, split: str, num_videos) -> str:
    """The body's results table: every result of the card's `model-index`, one row per evaluated split."""
    rows: dict[tuple, dict] = {}
    for result in results:
        key = (result.dataset_name, result.dataset_config, result.dataset_split)
        rows.setdefault(key, {})[result.metric_type] = result.metric_value
    lines = [
        EVALUATION_RESULTS_START,
        "### Evaluation results",
        "",
        "Every result in this card's metadata (`model-index`), in %:",
        "",
        "| data | split | " + " | ".join(name for _, _, name in HEADLINE_METRICS) + " |",
        "|---|---|" + "---|" * len(HEADLINE_METRICS),
    ]
    for (name, _, result_split), values in rows.items():
        cells = [_result_cell(values.get(metric_type)) for _, metric_type, _ in HEADLINE_METRICS]
        lines.append(f"| {name} | {result_split or '–'} | " + " | ".join(cells) + " |")
    videos = f", {num_videos} videos" if num_videos is not None else ""
    today = datetime.now(timezone.utc).date().isoformat()
    lines += [
        "",
        f"Last added by `scripts/evaluate_glad.py --update_card` on {today}: the {domain} {split} split of "
        f"`{dataset_name}`{videos}, with the model's own `test_view_aggregation` and video processor.",
        EVALUATION_RESULTS_END,
    ]
    return "\n".join(lines)


def _with_results_section(text: str, section: str) -> str:
    """`text` with `section` in place of an earlier one (between the markers), else at the end of its
    "## Evaluation" section, else in a new Evaluation section before "## Citation" or at the end."""
    start = text.find(EVALUATION_RESULTS_START)
    end = text.find(EVALUATION_RESULTS_END, start + 1)
    if start != -1 and end != -1:
        return text[:start] + section + text[end + len(EVALUATION_RESULTS_END) :]
    evaluation = re.search(r"^## Evaluation[ \t]*$", text, re.MULTILINE)
    if evaluation is not None:
        following = re.compile(r"^## ", re.MULTILINE).search(text, evaluation.end())
        position = following.start() if following is not None else len(text)
        before = text[:position].rstrip("\n")
        return f"{before}\n\n{section}\n\n{text[position:]}".rstrip("\n") + "\n"
    citation = re.search(r"^## Citation", text, re.MULTILINE)
    if citation is not None:
        position = citation.start()
        return f"{text[:position]}## Evaluation\n\n{section}\n\n{text[position:]}"
    return f"{text.rstrip()}\n\n## Evaluation\n\n{section}\n"


def update_model_card_results(
    folder: str | os.PathLike,
    metrics: Mapping,
    *,
    dataset_name: str,
    eval_dataset_name: str | None = None,
) -> Path:
    """Add the results of one evaluation to the model card of the model folder `folder` (its README.md; a minimal
    card if it has none) and write it back atomically; returns its path.

    `metrics` is what `evaluate_checkpoint` returns (`mean_class_accuracy`, `top1_accuracy`, `top5_accuracy` as
    fractions, `domain`, `split`, `num_videos`). They become `model-index` entries (in percent) of the data
    `dataset_name` (the `--dataset`), named `eval_dataset_name` (default `evaluation_dataset_name`); a source-domain
    result has the dataset config "source". Entries of the same task, data, config, split and metric are replaced,
    others kept. The body gets a results table of the whole `model-index` between `EVALUATION_RESULTS_START` and
    `EVALUATION_RESULTS_END` (replacing the earlier table); the rest of the card is kept as it was.
    """
    folder = Path(folder)
    check_classifier_folder(folder)  # a stage-1 model's card never gets an action-classification score
    path = folder / "README.md"
    domain, split = str(metrics.get("domain", "target")), str(metrics.get("split", "test"))
    new = eval_results_from_metrics(
        metrics,
        dataset_type=dataset_name,
        dataset_name=eval_dataset_name or evaluation_dataset_name(dataset_name, domain, split),
        split=split,
        dataset_config=None if domain == "target" else domain,
    )
    if not new:
        raise ValueError(
            "the metrics hold none of mean_class_accuracy, top1_accuracy, top5_accuracy: nothing to add to "
            f"{path}"
        )
    if path.is_file():
        card = ModelCard.load(path)
    else:
        data = ModelCardData(library_name="glad_hf", pipeline_tag="video-classification", tags=["glad"])
        card = ModelCard(f"---\n{data.to_yaml()}\n---\n\n# {folder.resolve().name}\n")
    replaced = {(result.unique_identifier, result.metric_type) for result in new}
    kept = [
        result
        for result in card.data.eval_results or []
        if (result.unique_identifier, result.metric_type) not in replaced
    ]
    card.data.eval_results = kept + new
    card.data.model_name = card.data.model_name or folder.resolve().name
    metric_types = list(card.data.metrics or [])
    card.data.metrics = metric_types + [
        metric_type for _, metric_type, _ in HEADLINE_METRICS if metric_type not in metric_types
    ]
    section = _results_section(
        card.data.eval_results,
        dataset_name=dataset_name,
        domain=domain,
        split=split,
        num_videos=metrics.get("num_videos"),
    )
    card.text = _with_results_section(card.text, section)
    return atomic_write_text(path, str(card))
