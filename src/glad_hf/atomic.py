"""Atomic writes of files and folders: a file or folder is its old content (or absent) until the new one is
complete, never half written, so an interrupted run leaves no truncated report, picture, checkpoint or background
behind for a later run to trust.

The new content goes to a temporary file beside the target (`.<name>.<random>.tmp`, same folder so same
filesystem), which `os.replace` then swaps in: atomic on POSIX and Windows. The temporary file is removed when
writing fails. Written here because the standard library stops short of it (`tempfile` leaves the swap to the
caller) and the libraries we use keep theirs private. It sits outside `data/`, `training/` and `metrics/` so that
every side of the package may use it (the model side and the Hub package included).

A folder `ckpt` is written as `ckpt.tmp`, then swapped in by renames on the same filesystem: `ckpt` -> `ckpt.old`,
`ckpt.tmp` -> `ckpt`, then `ckpt.old` is deleted. At every instant either `ckpt` or `ckpt.old` holds a complete
folder; `recover_interrupted_save` (run before every write, and by callers on start-up before resuming) puts the
folders back in order. A leftover `ckpt.tmp` is never trusted. This guards against the process dying (kill,
out-of-memory, pre-emption), not against power loss: folder contents are not fsync-ed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

logger = logging.getLogger(__name__)


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


def _to_json_value(value):
    # numpy and torch scalars/arrays reach JSON files through metric results and logged values.
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serialisable.")


def atomic_write_json(path: str | os.PathLike, obj, indent: int = 2) -> Path:
    """Write `obj` as JSON to `path` through a temporary file and `os.replace`. Numpy/torch values are
    converted with `.tolist()`. Returns `path`."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, default=_to_json_value) + "\n")


def temporary_folder(folder: Path) -> Path:
    """Where a new `folder` is written before `swap_in_folder`."""
    return folder.with_name(folder.name + ".tmp")


def _old_folder(folder: Path) -> Path:
    return folder.with_name(folder.name + ".old")


def recover_interrupted_save(folder: str | os.PathLike) -> bool:
    """Undo the traces of a save that was interrupted; return whether `folder` now holds a complete checkpoint.

    - `folder.tmp` (an unfinished or unswapped save) is deleted;
    - `folder.old` is restored as `folder` when `folder` is missing (the save died between its two renames),
      else deleted (the save died while deleting it).
    """
    folder = Path(folder)
    temporary, old = temporary_folder(folder), _old_folder(folder)
    if temporary.exists():
        logger.warning("Deleting %s, left by an interrupted save.", temporary)
        shutil.rmtree(temporary)
    if old.exists():
        if folder.exists():
            shutil.rmtree(old)
        else:
            logger.warning("Restoring %s from %s, left by an interrupted save.", folder, old)
            os.replace(old, folder)
    return folder.is_dir()


def atomic_write_folder(folder: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call `write(temporary_folder)` to fill a fresh folder, then swap it in place of `folder`.

    If `write` raises (or the process dies), `folder` keeps its previous content. Returns `folder`.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted_save(folder)
    temporary = temporary_folder(folder)
    temporary.mkdir()
    try:
        write(temporary)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    swap_in_folder(temporary, folder)
    return folder


def swap_in_folder(temporary: Path, folder: Path) -> None:
    """Put the complete `temporary` in place of `folder` (refused when nothing was written to it)."""
    if not any(temporary.iterdir()):
        shutil.rmtree(temporary)
        raise RuntimeError(f"Nothing was written to {temporary}; keeping {folder} as it was.")
    old = _old_folder(folder)
    if folder.exists():
        os.replace(folder, old)
    os.replace(temporary, folder)
    if old.exists():
        shutil.rmtree(old)
