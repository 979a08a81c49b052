"""The training stages, each a `TrainingPlan` for `glad_hf.training.loop.train` plus what it saves: motion
pre-training (stage 0, synthetic only), temporal-order learning (stage 1), GLAD and its ablations (stage 2)."""

from .context import StageContext
from .glad import grl_ramp, train_glad_stage
from .pretrain import motion_pretraining_dir, pretrain_on_motions, train_motion_pretraining_stage
from .temporal_order import evaluate_temporal_order, train_temporal_order_stage

__all__ = [
    "StageContext",
    "evaluate_temporal_order",
    "grl_ramp",
    "motion_pretraining_dir",
    "pretrain_on_motions",
    "train_glad_stage",
    "train_motion_pretraining_stage",
    "train_temporal_order_stage",
]
