"""The dataset plan (names, labels, lengths, speeds), drawn in the main process from the config alone, and the
temporal gap it makes between the domains."""

from dataclasses import dataclass

import numpy as np

from glad_hf.data.synthetic.config import YOUTUBE_ID_ALPHABET, SyntheticK2BConfig
from glad_hf.data.synthetic.one_shot import source_action_frames
from glad_hf.labels import K400_CLASSES_PER_LABEL


@dataclass(frozen=True)
class SourceItem:
    split: str  # "train" | "val"
    rel_path: str  # "<kinetics class>/<ytid>_<start:06d>_<end:06d>"
    label: int
    num_frames: int
    speed: float
    with_cue: bool
    seed: tuple[int, ...]


@dataclass(frozen=True)
class TargetItem:
    split: str  # "train" | "val"
    sid: str
    segments: tuple[tuple[int, int, float], ...]  # (label, num_frames, speed)
    transitions: tuple[int, ...]
    seed: tuple[int, ...]
    rows: tuple[tuple[int, int, int], ...]  # (offset, num_frames, label) of each segment


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def plan_source(config: SyntheticK2BConfig, split: str) -> list[SourceItem]:
    per_class = config.source_train_per_class if split == "train" else config.source_test_per_class
    split_code = 0 if split == "train" else 1
    rng = np.random.default_rng([config.seed, 0, split_code])
    items = []
    for label in range(config.num_classes):
        kinetics_classes = K400_CLASSES_PER_LABEL[config.labels[label]]
        for index in range(per_class):
            ytid = "".join(rng.choice(YOUTUBE_ID_ALPHABET, 11))
            start = int(rng.integers(0, 290))
            rel_path = (
                f"{kinetics_classes[index % len(kinetics_classes)]}/{ytid}_{start:06d}_{start + 10:06d}"
            )
            items.append(
                SourceItem(
                    split=split,
                    rel_path=rel_path,
                    label=label,
                    num_frames=int(
                        rng.integers(config.source_num_frames[0], config.source_num_frames[1] + 1)
                    ),
                    speed=_log_uniform(rng, *config.source_speed_range),
                    with_cue=bool(rng.uniform() < config.background_cue_fraction),
                    seed=(config.seed, 0, split_code, label, index),
                )
            )
    return items


def plan_target(config: SyntheticK2BConfig, split: str, first_sid: int) -> list[TargetItem]:
    num_sequences = config.target_train_sequences if split == "train" else config.target_test_sequences
    split_code = 0 if split == "train" else 1
    rng = np.random.default_rng([config.seed, 1, split_code])
    counts = rng.integers(config.segments_per_sequence[0], config.segments_per_sequence[1] + 1, num_sequences)
    # Balanced classes over the split, in random order.
    labels = rng.permutation(np.resize(np.arange(config.num_classes), int(counts.sum())))
    low, high = config.target_segment_range
    items, cursor = [], 0
    for index, count in enumerate(counts):
        segments, transitions, rows, offset = [], [], [], 0
        for label in labels[cursor : cursor + count]:
            length = config.target_segment_median * np.exp(rng.normal(0, config.target_segment_sigma))
            length = int(np.clip(round(length), low, high))
            gap = int(rng.integers(config.transition_frames[0], config.transition_frames[1] + 1))
            segments.append((int(label), length, _log_uniform(rng, *config.target_speed_range)))
            transitions.append(gap)
            rows.append((offset + gap, length, int(label)))
            offset += gap + length
        cursor += count
        items.append(
            TargetItem(
                split=split,
                sid=f"{first_sid + index:06d}",
                segments=tuple(segments),
                transitions=tuple(transitions),
                seed=(config.seed, 1, split_code, index),
                rows=tuple(rows),
            )
        )
    return items


def temporal_gap(config: SyntheticK2BConfig, view_span: int = 15) -> dict:
    """How long one action lasts in each domain's train split, and how much of it a dense local view of
    ``view_span`` frames (stage 2: 8 frames, interval 2) sees; the sparse global view spans a whole source clip or
    target segment. Version 3 only (in version 2 an action repeats throughout). Returns {"source": {...},
    "target": {...}}, each {"action_frames": [p10, p50, p90], "local_view_share": [p10, p50, p90]}; a target
    action fills ``target_action_fraction`` of its segment, so its length is the segment's times that share (mean
    of the range)."""
    if config.version != 3:
        raise ValueError("temporal_gap describes one-shot actions (version 3)")
    fill = float(np.mean(config.target_action_fraction))
    lengths = {
        "source": np.array(
            [source_action_frames(config, i.num_frames, i.speed) for i in plan_source(config, "train")]
        ),
        "target": fill * np.array([n for i in plan_target(config, "train", 0) for _, n, _ in i.rows]),
    }
    quantiles = (10, 50, 90)
    return {
        domain: {
            "action_frames": np.percentile(frames, quantiles).round(1).tolist(),
            "local_view_share": np.percentile(np.minimum(1.0, view_span / frames), quantiles)
            .round(3)
            .tolist(),
        }
        for domain, frames in lengths.items()
    }
