"""What every stage of a run reads: the accelerator, the two domains and the run's arguments."""

from __future__ import annotations

from dataclasses import dataclass

from accelerate import Accelerator

from ..arguments import DataArguments, GladTrainingArguments, ModelArguments


@dataclass(frozen=True)
class StageContext:
    """`domains`: {"source", "target"} DatasetDicts. A stage-2 method runs with its own `model_args` / `train_args`
    (`dataclasses.replace`)."""

    accelerator: Accelerator
    domains: dict
    data_args: DataArguments
    model_args: ModelArguments
    train_args: GladTrainingArguments
