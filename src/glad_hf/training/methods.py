"""The methods of the paper's comparison, defined once: which stage-2 switches each sets. Used by a training run's
closing comparison (`--compare_source_only`), `scripts/ablate.py` and the synthetic benchmark."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .arguments import GladTrainingArguments, ModelArguments

GLA = ("local", "global", "cross")


@dataclass(frozen=True)
class Method:
    """One row of the comparison."""

    label: str
    domain_alignment: tuple[str, ...]
    forward_target: bool  # target batches go through the network (their batch-norm statistics)
    background_blend: bool
    temporal_order: bool  # stage 2 starts from a stage-1 (TOL) model
    labelled_domain: str = "source"  # "target": trained on the target labels (an upper bound, not UDA)


METHODS: dict[str, Method] = {
    "source_only": Method("source-only", (), False, False, False),
    # Control: target batches go through the network (batch-norm statistics) but no domain loss.
    "target_forward": Method("target forward only", (), True, False, False),
    "dann": Method("DANN", ("video",), True, False, False),
    "gla": Method("GLA", GLA, True, False, False),
    "gla_bg": Method("GLA + BG", GLA, True, True, False),
    "gla_tol": Method("GLA + TOL", GLA, True, False, True),
    "glad": Method("GLAD (GLA + BG + TOL)", GLA, True, True, True),
    # Upper bound: the same network trained on the target's own labels (the paper's "supervised target" row).
    "target_supervised": Method("supervised target", (), False, False, False, labelled_domain="target"),
}
PAPER_METHODS = ("source_only", "dann", "gla", "gla_bg", "gla_tol", "glad")


def check_methods(methods) -> None:
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(METHODS)}")


def method_arguments(
    method: str, model_args: ModelArguments, train_args: GladTrainingArguments
) -> tuple[ModelArguments, GladTrainingArguments]:
    """The run's arguments with `method`'s stage-2 switches."""
    spec = METHODS[method]
    model_args = dataclasses.replace(
        model_args, domain_alignment=list(spec.domain_alignment), forward_target=spec.forward_target
    )
    train_args = dataclasses.replace(
        train_args, background_blend=spec.background_blend, labelled_domain=spec.labelled_domain
    )
    return model_args, train_args
