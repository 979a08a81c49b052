"""Crash-safe checkpoint writing: a process killed mid-save leaves the previous checkpoint complete.

A checkpoint folder `ckpt` is written as `ckpt.tmp`, then swapped in by renames on the same filesystem:
`ckpt` -> `ckpt.old`, `ckpt.tmp` -> `ckpt`, then `ckpt.old` is deleted. At every instant either `ckpt` or
`ckpt.old` holds a complete checkpoint; `recover_interrupted_save` (run before every save, and by callers on
start-up before resuming) puts the folders back in order. A leftover `ckpt.tmp` is never trusted.

This guards against the process dying (kill, out-of-memory, pre-emption), not against power loss: folder contents
are not fsync-ed. Multi-process runs need the checkpoint folder on a filesystem all processes share, as
`accelerate`'s own `save_state`/`load_state` do.
"""

import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from ..atomic import atomic_write_text

logger = logging.getLogger(__name__)


def _temporary_folder(folder: Path) -> Path:
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
    temporary, old = _temporary_folder(folder), _old_folder(folder)
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
    temporary = _temporary_folder(folder)
    temporary.mkdir()
    try:
        write(temporary)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    _swap_in(temporary, folder)
    return folder


def _swap_in(temporary: Path, folder: Path) -> None:
    if not any(temporary.iterdir()):
        shutil.rmtree(temporary)
        raise RuntimeError(f"Nothing was written to {temporary}; keeping {folder} as it was.")
    old = _old_folder(folder)
    if folder.exists():
        os.replace(folder, old)
    os.replace(temporary, folder)
    if old.exists():
        shutil.rmtree(old)


def atomic_save_pretrained(model, processor, folder: str | os.PathLike, **kwargs) -> Path:
    """`model.save_pretrained(folder, **kwargs)` and `processor.save_pretrained(folder)` (processor may be None),
    swapped in atomically. Call it on the main process only, with the unwrapped model. Returns `folder`."""

    def write(temporary: Path) -> None:
        model.save_pretrained(temporary, **kwargs)
        if processor is not None:
            processor.save_pretrained(temporary)

    return atomic_write_folder(folder, write)


def atomic_accelerator_save_state(
    accelerator, folder: str | os.PathLike, extra_files: dict[str, str] | None = None, **kwargs
) -> Path:
    """`accelerator.save_state(folder, **kwargs)` and the text files `extra_files` ({name: text}, written by the
    main process) swapped in atomically. Call it on every process, like `save_state`; the main process prepares and
    swaps the folders between barriers. Returns `folder`."""
    if accelerator.project_configuration.automatic_checkpoint_naming:
        raise ValueError(
            "atomic_accelerator_save_state needs an explicit folder: create the Accelerator without "
            "ProjectConfiguration(automatic_checkpoint_naming=True)."
        )
    folder = Path(folder)
    temporary = _temporary_folder(folder)
    if accelerator.is_main_process:
        folder.parent.mkdir(parents=True, exist_ok=True)
        recover_interrupted_save(folder)
        # Made before the barrier: every process writes its RNG state into it, and Accelerate creates the folder in
        # the main process only, so another process could otherwise write before it exists.
        temporary.mkdir()
    accelerator.wait_for_everyone()
    try:
        accelerator.save_state(str(temporary), **kwargs)
    except BaseException:
        if accelerator.is_main_process:
            shutil.rmtree(temporary, ignore_errors=True)
        raise
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        for name, text in (extra_files or {}).items():
            (temporary / name).write_text(text)
        _swap_in(temporary, folder)
    accelerator.wait_for_everyone()
    return folder


def _to_json_value(value):
    # numpy and torch scalars/arrays reach JSON files through metric results and logged values.
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serialisable.")


def atomic_write_json(path: str | os.PathLike, obj, indent: int = 2) -> Path:
    """Write `obj` as JSON to `path` through a temporary file and `os.replace`. Numpy/torch values are
    converted with `.tolist()`. Returns `path`."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, default=_to_json_value) + "\n")
