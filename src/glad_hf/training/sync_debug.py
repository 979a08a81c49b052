"""Host-device synchronisations of CUDA work counted by the line that caused them (`make gpu-check`)."""

from __future__ import annotations

import contextlib
import traceback
import warnings
from collections import Counter
from pathlib import Path

import torch


class SyncRecorder:
    """Every host-device synchronisation of CUDA work while active (`torch.cuda.set_sync_debug_mode("warn")`), counted
    by the innermost glad_hf line that caused it, and whether it ran inside an optimiser step of the loop or around
    it (checkpoints, validation, evaluation)."""

    # Frames under which a sync inside `loop.train` is not part of an optimiser step: setting up, resuming, saving,
    # validating.
    LOOP_EXTRAS = (
        "prepare", "resume_checkpoint", "free_memory", "save_checkpoint", "validate", "predict", "evaluate_temporal_order",
        "finish_stage",
    )  # fmt: skip

    def __init__(self) -> None:
        self.sites: Counter = Counter()
        self.in_steps: Counter = Counter()

    def _record(self, message, category, filename, lineno, file=None, line=None) -> None:
        if "synchronizing" not in str(message):
            self._previous(message, category, filename, lineno, file, line)
            return
        frames = [f for f in traceback.extract_stack()[:-1] if not f.filename.endswith("warnings.py")]
        ours = [f for f in frames if "glad_hf" in f.filename and not f.filename.endswith("gpu_check.py")]
        site = ours[-1] if ours else frames[-1]
        name = f"{Path(site.filename).name}:{site.lineno} {site.name}: {(site.line or '').strip()[:80]}"
        self.sites[name] += 1
        in_loop = any(f.name == "train" and f.filename.endswith("loop.py") for f in frames)
        if in_loop and not any(f.name in self.LOOP_EXTRAS for f in frames):
            self.in_steps[name] += 1

    @contextlib.contextmanager
    def recording(self):
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            self._previous, warnings.showwarning = warnings.showwarning, self._record
            torch.cuda.set_sync_debug_mode("warn")
            try:
                yield self
            finally:
                torch.cuda.set_sync_debug_mode("default")
                warnings.showwarning = self._previous
