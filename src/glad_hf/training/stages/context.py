"""What every stage of a run reads: the accelerator, the two domains and the run's arguments."""

from __future__ import annotations

from dataclasses import dataclass

from accelerate import Accelerator

from ...hub.run_sync import HubPublisher
from ..arguments import DataArguments, GladTrainingArguments, ModelArguments


@dataclass(frozen=True)
class StageContext:
    """`domains`: {"source", "target"} DatasetDicts; `model_args` / `train_args`: the stage's own, resolved by
    `run.resolve_stages` (e.g. a stage-2 method's, the starting model after motion pre-training)."""

    accelerator: Accelerator
    domains: dict
    data_args: DataArguments
    model_args: ModelArguments
    train_args: GladTrainingArguments
    publisher: HubPublisher | None = None  # --push_to_hub, in the main process
