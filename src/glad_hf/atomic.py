"""Atomic file writes: a file is its old content (or absent) until the new one is complete, never half written, so
an interrupted run leaves no truncated report, picture or background behind for a later run to trust.

The new content goes to a temporary file beside the target (`.<name>.<random>.tmp`, same folder so same
filesystem), which `os.replace` then swaps in: atomic on POSIX and Windows. The temporary file is removed when
writing fails. Written here because the standard library stops short of it (`tempfile` leaves the swap to the
caller) and the libraries we use keep theirs private. It sits outside `data/`, `training/` and `metrics/` so that
every side of the package may use it (the model side's `publishing.py` included).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write `path`'s new content to (by any library: PIL, matplotlib, ...); when the
    block ends without error it replaces `path`, else it is deleted. The target's folder is created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` (UTF-8, newlines as given) to `path` atomically, flushed to disk (fsync) before the swap, so a
    document survives a power cut whole as well. Returns `path` as a Path."""
    path = Path(path)
    with atomic_path(path) as temporary, open(temporary, "x", encoding="utf-8", newline="") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    return path
