"""Which classes two domains share: their common names, or those a class map (a dict or a JSON/YAML file) gives,
and each domain class's index in the shared set (None: its rows are dropped, and counted in the index's
description: `dropped_rows`)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass

import datasets
import yaml

from glad_hf.data.builder import DOMAIN_NAMES

logger = logging.getLogger(__name__)

# the line of a two-domain index's description that counts its dropped rows (JSON)
DROPPED_PREFIX = "dropped_rows: "


@dataclass
class SharedClasses:
    """The shared class names and, per domain, its class names and their shared index (None: dropped)."""

    names: list[str]
    domain_names: dict[str, list[str]]
    to_shared: dict[str, list[int | None]]


def load_class_map(class_map: dict | str | os.PathLike) -> tuple[dict[str, dict[str, str | None]], str]:
    """`{"source": {...}, "target": {...}}` of a dict or a JSON/YAML file, and its name for error messages."""
    if isinstance(class_map, dict):
        where, data = "class_map", class_map
    else:
        where = os.fspath(class_map)
        if not os.path.isfile(where):
            raise FileNotFoundError(f"class map {where} does not exist")
        suffix = os.path.splitext(where)[1].lower()
        if suffix not in (".json", ".yaml", ".yml"):
            raise ValueError(f"class map {where}: expected a .json, .yaml or .yml file")
        with open(where, encoding="utf-8") as f:
            try:
                data = json.load(f) if suffix == ".json" else yaml.safe_load(f)
            except (json.JSONDecodeError, yaml.YAMLError) as error:
                raise ValueError(f"class map {where}: not valid {suffix[1:].upper()}: {error}") from None
    if not isinstance(data, dict) or not data or set(data) - set(DOMAIN_NAMES):
        raise ValueError(
            f"{where}: expected {{'source': {{class: shared name or null}}, 'target': {{...}}}}, got "
            f"{list(data) if isinstance(data, dict) else type(data).__name__}"
        )
    for domain, mapping in data.items():
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in mapping.items()
        ):
            raise ValueError(
                f"{where}: {domain!r} must map class names to a shared name or null, got {mapping!r}"
            )
    return data, where


def shared_classes(
    domain_names: dict[str, list[str]], class_map=None, *, described: dict[str, str] | None = None
) -> SharedClasses:
    """Shared class names (the class map's order, else the source's) and each domain class's shared index."""
    described = described or {d: f"{d} classes {domain_names[d]}" for d in DOMAIN_NAMES}
    if class_map is None:
        mappings = {d: {name: name for name in domain_names[d]} for d in DOMAIN_NAMES}
        where = None
    else:
        data, where = load_class_map(class_map)
        mappings = {}
        for domain in DOMAIN_NAMES:
            if domain not in data:
                mappings[domain] = {name: name for name in domain_names[domain]}
                continue
            unknown = [name for name in data[domain] if name not in domain_names[domain]]
            if unknown:
                raise ValueError(f"{where}: {domain} classes {unknown} are not among the {described[domain]}")
            mappings[domain] = data[domain]
    targets = set(mappings["target"].values())
    names = list(dict.fromkeys(v for v in mappings["source"].values() if v is not None and v in targets))
    if not names:
        raise ValueError(
            f"the two domains share no class: {described['source']}; {described['target']}"
            + (f"; mapped by {where}" if where else "")
        )
    one_sided = sorted({v for m in mappings.values() for v in m.values() if v is not None} - set(names))
    if where is not None and one_sided:
        logger.warning(
            "%s: shared names %s have classes in one domain only; their rows are dropped", where, one_sided
        )
    index = {name: position for position, name in enumerate(names)}
    to_shared = {d: [index.get(mappings[d].get(name)) for name in domain_names[d]] for d in DOMAIN_NAMES}
    return SharedClasses(names, {d: list(domain_names[d]) for d in DOMAIN_NAMES}, to_shared)


def describe_dropped(dropped: dict[str, dict[str, dict[str, int]]]) -> str:
    """One line: rows dropped per domain and split because their class is outside the shared set."""
    parts = []
    for domain, splits in dropped.items():
        for split, counts in splits.items():
            total = sum(counts.values())
            detail = f" ({', '.join(f'{name}: {n}' for name, n in counts.items())})" if counts else ""
            parts.append(f"{domain} {split} {total}{detail}")
    return f"Rows dropped because their class is outside the shared set: {'; '.join(parts)}."


def dropped_rows(dataset) -> dict[str, dict[str, dict[str, int]]]:
    """`{domain: {split: {class: rows}}}` dropped from a two-domain index (class outside the shared set).

    `dataset`: what `load_two_domains` returns, a `DatasetDict` or a `Dataset` of a `TwoDomainVideos` index.
    """
    if isinstance(dataset, dict) and not isinstance(dataset, datasets.DatasetDict):
        dataset = dataset["source"]
    if isinstance(dataset, datasets.DatasetDict):
        dataset = next(iter(dataset.values()))
    for line in dataset.info.description.splitlines():
        if line.startswith(DROPPED_PREFIX):
            return json.loads(line[len(DROPPED_PREFIX) :])
    raise ValueError(
        "this dataset was not built by TwoDomainVideos (its description holds no dropped_rows line)"
    )
