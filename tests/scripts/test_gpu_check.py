"""`make gpu-check` as the test suite can run it: the CPU dry run of the whole sequence, and the sync recorder."""

import json
import subprocess
import sys
import warnings
from pathlib import Path

from glad_hf.training.gpu_check import GpuCheckSettings
from glad_hf.training.gpu_check_report import report_table
from glad_hf.training.sync_debug import SyncRecorder

REPO = Path(__file__).resolve().parents[2]


def test_the_gpu_check_dry_runs_on_the_cpu(tmp_path):
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gpu_check.py"), "--output-dir", str(tmp_path / "out"),
         "--work-dir", str(tmp_path / "work")],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "gpu_check.json").read_text())
    failed = {
        name: part["error"] for name, part in report.items() if isinstance(part, dict) and "error" in part
    }
    assert not failed
    assert report["dry_run"] and report["environment"]["device"] == "cpu"
    assert "pyav" in report["environment"]["video_decoders"]
    assert report["throughput_eager"]["model_only_steps_per_s"] > 0
    assert report["throughput_eager"]["with_loader_steps_per_s"] > 0
    cli = report["training_cli"]
    settings = GpuCheckSettings.for_device("cpu")
    # a process killed after a stage-2 checkpoint, then the same command finished it from there, stage 1 reused
    assert cli["killed_run"]["killed"] and cli["killed_run"]["checkpoints_at_kill"]
    assert cli["resumed_run"]["stage_1_reused"]
    assert cli["resumed_run"]["glad_steps"] == settings.glad_steps
    assert cli["resumed_run"]["glad_steps_per_s"] > 0
    assert cli["evaluation"]["videos"] == 3 * 6 and 0 <= cli["evaluation"]["mean_class_accuracy"] <= 1
    assert "Dry run on the CPU" in done.stdout and "| training CLI |" in done.stdout
    assert (tmp_path / "out" / "gpu_check.md").read_text().strip() == report_table(report).strip()


def test_the_sync_recorder_names_the_line_and_tells_steps_from_the_rest():
    recorder, others = SyncRecorder(), []
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        saved, warnings.showwarning = warnings.showwarning, recorder._record
        recorder._previous = lambda message, *args: others.append(str(message))
        try:
            warnings.warn("called a synchronizing CUDA operation", UserWarning, stacklevel=1)
            warnings.warn("something else", UserWarning, stacklevel=1)
        finally:
            warnings.showwarning = saved
    assert others == ["something else"]  # other warnings are shown as before
    (site,) = recorder.sites
    assert "test_gpu_check.py" in site and "synchronizing" in site
    assert not recorder.in_steps  # not inside the training loop
