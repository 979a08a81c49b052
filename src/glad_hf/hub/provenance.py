"""Where a converted checkpoint comes from: its file (size, sha256) and the model-zoo identity its name carries
(mmaction2, torchvision), recorded with the converter's report in the `provenance.json` of the converted folder."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

PROVENANCE_FILE_NAME = "provenance.json"

# mmaction2's `publish_model` names a file `<config>_<YYYYMMDD>-<first 8 hex of its sha256>.pth`; torchvision's
# weights are `<arch>-<first 8+ hex of the sha256>.pth`.
_MMACTION_ZOO_NAME = re.compile(r"^(?P<config>.+)_(?P<date>\d{8})-(?P<hash>[0-9a-f]{8})\.pth$")
_TORCHVISION_ZOO_NAME = re.compile(r"^(?P<arch>[a-z][a-z0-9_]*)-(?P<hash>[0-9a-f]{8,64})\.pth$")
_MMACTION_DOWNLOAD = (
    "https://download.openmmlab.com/mmaction/v1.0/recognition/{algorithm}/{config}/{file_name}"
)
_TORCHVISION_DOWNLOAD = "https://download.pytorch.org/models/{file_name}"


def sha256_of_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def parse_zoo_file_name(file_name: str, sha256: str | None = None) -> dict | None:
    """The model-zoo identity a checkpoint's file name carries, or None.

    mmaction2 (`<config>_<YYYYMMDD>-<hash>.pth`): `{"zoo": "mmaction2", "config", "date", "hash_suffix",
    "zoo_id": "<YYYYMMDD>-<hash>", "url"}`; torchvision (`<arch>-<hash>.pth`): `{"zoo": "torchvision", "arch",
    "hash_suffix", "zoo_id", "url"}`. With `sha256` (the file's), `sha256_matches_hash_suffix` says whether the
    file is the one the name claims (both zoos name a file by the start of its sha256).
    """
    name = Path(file_name).name
    match = _MMACTION_ZOO_NAME.match(name)
    if match is not None:
        config, date, suffix = match.group("config"), match.group("date"), match.group("hash")
        algorithm = config.split("_", 1)[0]
        identity = {
            "zoo": "mmaction2",
            "config": config,
            "date": f"{date[:4]}-{date[4:6]}-{date[6:]}",
            "hash_suffix": suffix,
            "zoo_id": f"{date}-{suffix}",
            "url": _MMACTION_DOWNLOAD.format(algorithm=algorithm, config=config, file_name=name),
        }
    else:
        match = _TORCHVISION_ZOO_NAME.match(name)
        if match is None:
            return None
        identity = {
            "zoo": "torchvision",
            "arch": match.group("arch"),
            "hash_suffix": match.group("hash"),
            "zoo_id": f"{match.group('arch')}-{match.group('hash')}",
            "url": _TORCHVISION_DOWNLOAD.format(file_name=name),
        }
    if sha256 is not None:
        identity["sha256_matches_hash_suffix"] = sha256.startswith(identity["hash_suffix"])
    return identity


def describe_checkpoint_file(path: str | os.PathLike) -> dict:
    """Name, size, sha256 and model-zoo identity (`parse_zoo_file_name`) of a checkpoint file."""
    path = Path(path)
    sha256 = sha256_of_file(path)
    return {
        "file_name": path.name,
        "size_bytes": path.stat().st_size,
        "sha256": sha256,
        "zoo": parse_zoo_file_name(path.name, sha256),
    }


def conversion_provenance(checkpoint: str | os.PathLike, conversion: Mapping) -> dict:
    """The provenance record of a conversion: converter, source file (`describe_checkpoint_file`) and `conversion`
    (the converter's report: kind, architecture, used / ignored / newly initialised keys)."""
    from glad_hf import __version__

    return {
        "converter": {
            "library": "glad_hf",
            "version": __version__,
            "converted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
        "source": describe_checkpoint_file(checkpoint),
        "conversion": dict(conversion),
    }
