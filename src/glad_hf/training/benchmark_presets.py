"""The synthetic benchmark's presets: each a `BenchmarkPreset` holding everything a table depends on (data, network,
every stage's recipe, methods, seeds). `default` is the benchmark, `quick` its smoke test; `v2`, `strong_cue` and
`short_target` reproduce the historical tables of generator version 2 (docs/benchmark_synthetic/v2/), kept apart at
the end. What the default preset measured is kept here too, for the demo's one-seed table."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..data.synthetic import SyntheticK2BConfig

BENCHMARK_METHODS = (
    "source_only", "target_forward", "dann", "gla", "gla_bg", "gla_tol", "glad", "target_supervised"
)  # fmt: skip
# A ResNet3d-10 (one basic block per stage), 8 channels wide: 0.16 M parameters with the tiny GLAD heads.
SMALL_RESNET3D = {
    "depth": 18,
    "stage_blocks": [1, 1, 1, 1],
    "base_channels": 8,
    "conv1_kernel": [3, 7, 7],
    "conv1_stride_t": 1,
    "pool1_stride_t": 1,
    "inflate": [[1], [1], [1], [1]],
    "non_local": [[0], [0], [0], [0]],
}


@dataclass(frozen=True)
class BenchmarkPreset:
    """Everything a benchmark table depends on: the data, the network, every stage's recipe, the methods and
    how many seeds.

    `train` holds `GladTrainingArguments` fields (stages 2 and 1, motion pre-training), `model` `ModelArguments`
    fields, `data` the synthetic K->B knobs. Frames are used at their size (`short_side = crop_size =
    data.frame_size`).
    """

    data: SyntheticK2BConfig
    backbone_config: dict
    train: dict
    seeds: int
    source_only_seeds: int
    description: str = ""
    model: dict = field(default_factory=dict)
    methods: tuple[str, ...] = BENCHMARK_METHODS


PRESETS = {
    "default": BenchmarkPreset(
        description=(
            "generator version 3 (one-shot actions), 5 classes at 32x32; 1,000 train + 500 test videos per domain; "
            "600 pre-training steps x 32, 1,000 TOL steps x 16, 250 stage-2 steps x (16 + 16)"
        ),
        data=SyntheticK2BConfig(),  # the defaults are this benchmark's data
        backbone_config=SMALL_RESNET3D,
        model=dict(domain_loss_weight=0.3),
        train=dict(
            max_train_steps=250,
            num_train_epochs=1000,
            per_device_train_batch_size=16,
            per_device_eval_batch_size=50,
            learning_rate=1e-3,
            backbone_learning_rate_scale=0.3,
            lr_scheduler_type="cosine",
            grl_lambda_schedule="dann",
            tol_max_train_steps=1000,
            tol_num_train_epochs=1000,
            tol_per_device_train_batch_size=16,
            pretrain_max_train_steps=600,
            pretrain_batch_size=32,
            pretrain_learning_rate=2e-3,
            pretrain_num_videos=10_500,
        ),
        seeds=5,
        source_only_seeds=10,
    ),
    "quick": BenchmarkPreset(
        description="smoke test: 3 classes at 16x16, a handful of videos and steps",
        data=SyntheticK2BConfig(
            seed=0,
            num_classes=3,
            frame_size=16,
            source_train_per_class=4,
            source_test_per_class=2,
            source_num_frames=(24, 32),
            background_cue_fraction=0.9,
            target_train_sequences=2,
            target_test_sequences=1,
            segments_per_sequence=(3, 4),
            target_segment_median=20.0,
            target_segment_range=(16, 40),
            target_action_fraction=(0.6, 1.0),
        ),
        backbone_config=SMALL_RESNET3D,
        model=dict(domain_loss_weight=0.3),
        train=dict(
            max_train_steps=2,
            num_train_epochs=1000,
            per_device_train_batch_size=4,
            per_device_eval_batch_size=8,
            backbone_learning_rate_scale=0.3,
            lr_scheduler_type="cosine",
            grl_lambda_schedule="dann",
            tol_max_train_steps=2,
            tol_per_device_train_batch_size=4,
            pretrain_max_train_steps=3,
            pretrain_batch_size=4,
            pretrain_num_videos=20,
        ),
        seeds=2,
        source_only_seeds=2,
    ),
}


# History: generator version 2 (periodic motions) with the recipe of its tables (docs/benchmark_synthetic/v2).
PRESETS["v2"] = dataclasses.replace(
    PRESETS["default"],
    description="generator version 2 (periodic motions, clip order not learnable): the benchmark before version 3",
    data=SyntheticK2BConfig(
        version=2,
        source_num_frames=(150, 150),
        period_frames=30.0,
        background_texture_contrast=14.0,
        target_action_fraction=(0.6, 1.0),
    ),
    train={**PRESETS["default"].train, "tol_max_train_steps": 200, "pretrain_max_train_steps": 1500},
)
# Version-2 shifts tried in search of one where GLAD's own parts (views beyond DANN, background blending) matter
# (docs/benchmark_synthetic/v2/explorations).
PRESETS["strong_cue"] = dataclasses.replace(
    PRESETS["v2"],
    description="the background cue on every source video at 3x the contrast; blending at p 0.5, alpha 0.5",
    data=dataclasses.replace(
        PRESETS["v2"].data, background_cue_fraction=1.0, background_texture_contrast=42.0
    ),
    train={**PRESETS["v2"].train, "blend_prob": 0.5, "blend_alpha": 0.5},
    methods=("source_only", "gla", "gla_bg"),
    seeds=3,
    source_only_seeds=3,
)
PRESETS["short_target"] = dataclasses.replace(
    PRESETS["v2"],
    description="target segments 3x shorter than BABEL's (median 18 frames, 15-40) and faster (speed 1-2.5)",
    data=dataclasses.replace(
        PRESETS["v2"].data,
        target_segment_median=18.0,
        target_segment_range=(15, 40),
        target_speed_range=(1.0, 2.5),
        segments_per_sequence=(16, 24),
        target_train_sequences=50,
        target_test_sequences=25,
    ),
    methods=("source_only", "dann", "gla"),
    seeds=3,
    source_only_seeds=3,
)


# What the default preset measured (docs/benchmark_synthetic/benchmark.json; tests/training/test_benchmark.py keeps
# them equal): target MCA mean, std, min, max over seeds and how many. The demo runs this recipe on these data with
# one seed, and prints them beside its own numbers.
DEFAULT_PRESET_TARGET_MCA = {
    "source_only": (60.9, 11.9, 36.7, 73.7, 10),
    "glad": (44.9, 13.1, 29.8, 62.4, 5),
}


def seed_spread_reference() -> dict[str, str]:
    """{method: "mean ± std (min–max, N seeds)"} of `DEFAULT_PRESET_TARGET_MCA`, for a one-seed table."""
    return {
        method: f"{mean:.1f} ± {std:.1f} ({low:.1f}–{high:.1f}, {n} seeds)"
        for method, (mean, std, low, high, n) in DEFAULT_PRESET_TARGET_MCA.items()
    }
