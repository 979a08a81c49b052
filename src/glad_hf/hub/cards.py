"""Model cards: what every GLAD card shares (templates in `model_cards/`, citation, headline metrics and their
`model-index` entries) and the card of a trained checkpoint (Hub metadata from `huggingface_hub.ModelCardData`, body
from the Jinja template `model_cards/glad_model_card.md`). Cards of converted checkpoints: `converted_card`; results
added to a card later: `card_results`."""

import json
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from glad_hf.atomic import atomic_write_text
from glad_hf.labels import K2B_LABELS

MODEL_CARD_TEMPLATE_NAME = "glad_model_card.md"
CONVERTED_MODEL_CARD_TEMPLATE_NAME = "converted_model_card.md"

# `scripts/evaluate_glad.py --update_card` writes its results table between these two lines (a converted card holds
# them from the start, around "not evaluated yet"; other cards get them at the end of their Evaluation section).
EVALUATION_RESULTS_START = "<!-- glad_hf:evaluation-results:start -->"
EVALUATION_RESULTS_END = "<!-- glad_hf:evaluation-results:end -->"

GLAD_CITATION = """@inproceedings{leebae2024glad,
  title={{GLAD}: Global-Local View Alignment and Background Debiasing for Video Domain Adaptation},
  author={Lee, Hyogun and Bae, Kyungho and Ha, Seong Jong and Ko, Yumin and Park, Gyeong-Moon and Choi, Jinwoo},
  booktitle={Proceedings of the IEEE Winter Conference on Applications of Computer Vision (WACV)},
  year={2024}
}"""

# (key in the metric results, model-index metric type, pretty name); values are fractions, reported in percent.
HEADLINE_METRICS = (
    ("mean_class_accuracy", "mean_class_accuracy", "Mean class accuracy (MCA)"),
    ("top1_accuracy", "accuracy", "Top-1 accuracy"),
    ("top5_accuracy", "top_5_accuracy", "Top-5 accuracy"),
)

# The data the card's Kinetics->BABEL text is about (the synthetic data stands in for it).
K2B_DATASETS = ("kinetics2babel", "synthetic")
K2B_EVAL_NAME = "Kinetics→BABEL, target test (BABEL val)"
# What each split of each Kinetics->BABEL domain is (the target test list is BABEL's val split).
_K2B_SPLIT_NAMES = {
    ("source", "train"): "Kinetics-400 train",
    ("source", "test"): "Kinetics-400 val",
    ("target", "train"): "BABEL train",
    ("target", "test"): "BABEL val",
}

_BACKBONE_DESCRIPTIONS = {
    "resnet3d": "I3D ResNet3d-50 with non-local blocks (mmaction `ResNet3d`), features average-pooled to 2048",
    "tsm": "TSM ResNet-50 (temporal shift), features average-pooled to 2048",
}

_DOMAIN_CLASSIFIER_INPUTS = {
    "local": "the local feature (mean of the two local clips)",
    "global": "the global feature",
    "cross": "crossed pairs (source local with target global, source global with target local)",
    "video": "the mean of the three view features (plain DANN)",
}


def find_model_card_template(name: str = MODEL_CARD_TEMPLATE_NAME) -> Path:
    """Path of a model card template: `glad_hf/model_cards/<name>` when the package was installed with its data,
    else `model_cards/<name>` at the root of the source checkout this module runs from."""
    installed = resources.files("glad_hf") / "model_cards" / name
    checkout = Path(__file__).resolve().parents[3] / "model_cards" / name
    for candidate in (installed, checkout):
        if candidate.is_file():
            return Path(str(candidate))
    raise FileNotFoundError(f"Model card template {name!r} not found in {installed} nor in {checkout}.")


def card_from_template(
    card_data: ModelCardData,
    *,
    template_path: str | os.PathLike | None,
    default_template: str,
    model_id: str,
    model_name: str,
    base_model: str | None,
    **values,
) -> ModelCard:
    """A GLAD card: `template_path` (or `model_cards/<default_template>`) rendered with `values` and what every card
    shows (the model's id and name, its base model, the citation)."""
    template = (
        Path(template_path) if template_path is not None else find_model_card_template(default_template)
    )
    return ModelCard.from_template(
        card_data,
        template_path=str(template),
        model_id=model_id,
        model_name=model_name,
        base_model=base_model,
        citation=GLAD_CITATION,
        **values,
    )


def percent(value: float) -> float:
    """A fraction as a percentage rounded to two decimals, the unit of the cards' results."""
    return round(100.0 * float(value), 2)


def eval_results_from_metrics(
    metrics: Mapping,
    *,
    dataset_type: str,
    dataset_name: str,
    split: str,
    dataset_config: str | None = None,
) -> list[EvalResult]:
    """`model-index` entries (MCA, top-1, top-5 in percent) of the `mean_class_accuracy` metric's output `metrics`;
    metrics it lacks are left out."""
    results = []
    for key, metric_type, pretty_name in HEADLINE_METRICS:
        if metrics.get(key) is None:
            continue
        results.append(
            EvalResult(
                task_type="video-classification",
                task_name="Video Classification",
                dataset_type=dataset_type,
                dataset_name=dataset_name,
                dataset_config=dataset_config,
                dataset_split=split,
                metric_type=metric_type,
                metric_name=pretty_name,
                metric_value=percent(metrics[key]),
            )
        )
    return results


def _format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_format_value(item) for item in value) if value else "(none)"
    if isinstance(value, Mapping):
        return f"`{json.dumps(value, sort_keys=True)}`"
    return str(value)


def _rows(summary: Mapping | None) -> list[tuple[str, str]]:
    return [(str(key), _format_value(value)) for key, value in (summary or {}).items()]


def _domain_alignment_description(domain_alignment, config_summary: Mapping) -> str:
    if domain_alignment is None:
        return "see the configuration below."
    if len(domain_alignment) == 0:
        return "none (source-only training)."
    inputs = "; ".join(
        f"`{name}` on {_DOMAIN_CLASSIFIER_INPUTS.get(name, name)}" for name in domain_alignment
    )
    width, layers = config_summary.get("domain_hidden_size"), config_summary.get("domain_num_layers")
    mlp = f"an MLP of {layers} {width}-wide layers" if width and layers is not None else "an MLP"
    return (
        f"{len(domain_alignment)} domain classifier{'s' if len(domain_alignment) > 1 else ''}, DANN style "
        f"(gradient reversal, then {mlp} and a source-vs-target logit, binary cross-entropy): {inputs}."
    )


def render_model_card(
    *,
    model_id: str,
    dataset_name: str,
    eval_results: Mapping | None = None,
    training_summary: Mapping | None = None,
    config_summary: Mapping | None = None,
    base_model: str | None = None,
    eval_dataset_name: str | None = None,
    license: str | None = None,
    template_path: str | os.PathLike | None = None,
    input_size: tuple[int, int] | None = None,
) -> ModelCard:
    """Render the model card of a trained GLAD checkpoint.

    Args:
        model_id: Hub id of the model ("ORG/NAME"), used as its name and in the usage snippets.
        dataset_name: id of the training data (the Kinetics->BABEL lists), for the `datasets` metadata.
        eval_results: output of the `mean_class_accuracy` metric (`mean_class_accuracy`, `top1_accuracy`,
            `top5_accuracy` as fractions; optional `per_class_accuracy` and `confusion_matrix`), plus `split`
            (the evaluated split, default "test"). Reported in percent, in the body and in `model-index`.
        training_summary: what to show about the run (e.g. stage, epochs, steps, learning rate, batch size,
            number of processes, initialisation), one table row per key.
        config_summary: model configuration fields to show, one table row per key (`outputs.config_summary`);
            `backbone`, `backbone_type`, the clip grid (`num_clips`, `clip_len`, `local_clip_indices`,
            `global_frame_index`), the head sizes (`domain_hidden_size`, `domain_num_layers`, `classifier_dropout`),
            `domain_alignment`, `test_view_aggregation` and `id2label` also shape the text (absent: the paper's
            GLAD's, and no head widths).
        base_model: Hub id of the checkpoint training started from, if any.
        eval_dataset_name: pretty name of the evaluation data (default: Kinetics→BABEL's target test, BABEL val,
            for the "kinetics2babel" and "synthetic" data; "<dataset_name>, target test" otherwise).
        license: licence id for the metadata; None leaves it out (the card explains the data licences).
        template_path: Jinja template to use instead of `model_cards/glad_model_card.md`.
        input_size: (short side, crop size) of the saved processor (None: the paper's 256 and 224).
    """
    kinetics2babel = dataset_name.split("/")[-1] in K2B_DATASETS
    if eval_dataset_name is None:
        eval_dataset_name = K2B_EVAL_NAME if kinetics2babel else f"{dataset_name}, target test"
    eval_results = dict(eval_results or {})
    config_summary = dict(config_summary or {})
    split = eval_results.get("split", "test")
    model_name = model_id.split("/")[-1]

    model_index_results = eval_results_from_metrics(
        eval_results, dataset_type=dataset_name, dataset_name=eval_dataset_name, split=split
    )
    eval_rows = [(result.metric_name, f"{result.metric_value:.2f}") for result in model_index_results]

    id2label = config_summary.get("id2label")
    if id2label:
        class_names = [str(id2label.get(i, id2label.get(str(i), i))) for i in range(len(id2label))]
    else:
        class_names = list(K2B_LABELS)
    supports = None
    if eval_results.get("confusion_matrix") is not None:
        supports = [int(sum(row)) for row in eval_results["confusion_matrix"]]
    per_class_rows = []
    for index, accuracy in enumerate(eval_results.get("per_class_accuracy") or []):
        name = class_names[index] if index < len(class_names) else str(index)
        support = supports[index] if supports is not None else ""
        per_class_rows.append((name, "–" if accuracy is None else f"{percent(accuracy):.2f}", support))

    card_data = ModelCardData(
        model_name=model_name,
        base_model=base_model,
        datasets=[dataset_name],
        library_name="glad_hf",
        pipeline_tag="video-classification",
        license=license,
        metrics=[metric_type for _, metric_type, _ in HEADLINE_METRICS],
        tags=[
            "video-classification",
            "domain-adaptation",
            "unsupervised-domain-adaptation",
            "glad",
            *(["kinetics", "babel"] if kinetics2babel else []),
        ],
        eval_results=model_index_results or None,
    )
    backbone_type = config_summary.get("backbone_type")
    return card_from_template(
        card_data,
        template_path=template_path,
        default_template=MODEL_CARD_TEMPLATE_NAME,
        model_id=model_id,
        model_name=model_name,
        base_model=base_model,
        dataset_name=dataset_name,
        kinetics2babel=kinetics2babel,
        num_labels=len(class_names),
        backbone_description=config_summary.get("backbone")
        or _BACKBONE_DESCRIPTIONS.get(backbone_type or "resnet3d", f"`{backbone_type}`"),
        domain_alignment_description=_domain_alignment_description(
            config_summary.get("domain_alignment"), config_summary
        ),
        num_clips=config_summary.get("num_clips", 8),
        clip_len=config_summary.get("clip_len", 8),
        local_clip_indices=list(config_summary.get("local_clip_indices", (4, 5))),
        global_frame_index=config_summary.get("global_frame_index", 3),
        classifier_dropout=config_summary.get("classifier_dropout", 0.5),
        short_side=(input_size or (256, 224))[0],
        crop_size=(input_size or (256, 224))[1],
        label_list=", ".join(f"{index} {name}" for index, name in enumerate(class_names)),
        eval_dataset_name=eval_dataset_name,
        eval_split=split,
        eval_num_videos=sum(supports) if supports is not None else None,
        eval_rows=eval_rows,
        per_class_rows=per_class_rows,
        test_view_aggregation=config_summary.get("test_view_aggregation", "reference"),
        training_rows=_rows(training_summary),
        config_rows=[
            row for row in _rows(config_summary) if row[0] not in ("id2label", "label2id", "backbone")
        ],
    )


def write_model_card(folder: str | os.PathLike, **kwargs) -> Path:
    """Render the model card (`render_model_card(**kwargs)`) and write it atomically to `folder/README.md`."""
    card = render_model_card(**kwargs)
    return atomic_write_text(Path(folder) / "README.md", str(card))


def evaluation_dataset_name(dataset_name: str, domain: str = "target", split: str = "test") -> str:
    """How cards name an evaluated split: for Kinetics->BABEL (and the synthetic data) the name training cards give
    the target test list, "Kinetics→BABEL, target test (BABEL val)", and likewise for the other splits;
    "<dataset_name>, <domain> <split>" otherwise."""
    if dataset_name.split("/")[-1] in K2B_DATASETS:
        if (domain, split) == ("target", "test"):
            return K2B_EVAL_NAME
        return f"Kinetics→BABEL, {domain} {split} ({_K2B_SPLIT_NAMES.get((domain, split), split)})"
    return f"{dataset_name}, {domain} {split}"
