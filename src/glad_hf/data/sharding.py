"""Shards: N machines split one sorted list of work items with no coordination, shard ``(K, N)`` taking the items
at positions K mod N (``--shard K/N`` of ``glad-prepare-rawframes`` and ``scripts/extract_backgrounds.py``)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> ``(K, N)`` with 0 <= K < N; ValueError naming the text otherwise."""
    try:
        index, count = (int(part) for part in str(text).split("/"))
    except ValueError:  # not two parts, or not integers
        raise ValueError(
            f"--shard must be K/N with integers 0 <= K < N (e.g. 0/4, or "
            f"$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT), got {text!r}"
        ) from None
    return check_shard((index, count))


def check_shard(shard: tuple[int, int] | None) -> tuple[int, int] | None:
    """Validate ``shard=(K, N)`` (None = everything): integers, N >= 1, 0 <= K < N."""
    if shard is None:
        return None
    try:
        index, count = shard
    except (TypeError, ValueError):
        raise ValueError(f"shard must be a pair (K, N) or None, got {shard!r}") from None
    if not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in (index, count)):
        raise ValueError(f"shard (K, N) must be integers, got {shard!r}")
    if count < 1:
        raise ValueError(f"shard {index}/{count}: the number of shards N must be >= 1")
    if not 0 <= index < count:
        raise ValueError(f"shard {index}/{count}: K must be in 0..{count - 1} (K is 0-based, K < N)")
    return int(index), int(count)


def shard_items(items: Sequence[T], shard: tuple[int, int] | None) -> list[T]:
    """The items whose position is K mod N (all of them for None): N shards partition ``items``."""
    shard = check_shard(shard)
    if shard is None:
        return list(items)
    index, count = shard
    return list(items[index::count])


def shard_argument(text: str) -> tuple[int, int]:
    """``parse_shard`` as an argparse ``type`` (its message shown as the usage error)."""
    try:
        return parse_shard(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
