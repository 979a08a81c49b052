"""The data-path benchmark scripts run end to end on tiny settings (their tables are measured by running them, not
here): the GPU benchmark as a CPU dry run, so that a lent accelerator only has to run it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from glad_hf.data.readers import decoder_available

REPO = Path(__file__).resolve().parents[2]


def _run(script: str, *argv: str, cwd: Path) -> str:
    env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / script), *argv], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_gpu_benchmark_dry_runs_on_the_cpu(tmp_path):
    out = _run(
        "benchmark_gpu.py", "--device", "cpu", "--model-size", "tiny", "--size", "32", "--steps", "2", "--batch-size", "2",
        "--num-videos", "2", "--workers", "1", "--prefetch-factor", "2", "--output", str(tmp_path / "gpu.json"),
        cwd=tmp_path,
    )  # fmt: skip
    result = json.loads((tmp_path / "gpu.json").read_text())
    assert result["model_only_steps_per_s"] > 0 and result["with_loader_steps_per_s"] > 0
    assert 0 < result["loader_fraction_of_model_only"]
    if decoder_available("torchcodec"):
        assert result["jpeg_frames_per_s"]["cpu"] > 0
    assert "| model only steps/s |" in out


@pytest.mark.parametrize("script", ["benchmark_data_path.py", "benchmark_decoding.py"])
def test_the_data_path_benchmarks_print_their_tables(tmp_path, script):
    argv = ["--num-videos", "1", "--repeats", "1", "--chart", str(tmp_path / "chart.png")]
    argv += (
        ["--batches", "1", "--steps", "1", "--pairs", "2"]
        if script == "benchmark_data_path.py"
        else ["--num-samples", "2"]
    )
    out = _run(script, *argv, cwd=tmp_path)
    assert (tmp_path / "chart.png").stat().st_size > 0
    header = "| media | grid MB / sample |" if script == "benchmark_data_path.py" else "| media | decoder |"
    assert header in out
    if script == "benchmark_data_path.py":
        assert "| repeat | pair ms | decode-only ms | pair / decode-only |" in out


def test_the_pair_cost_table_times_a_pair_against_decoding_its_files(tmp_path):
    out = _run(
        "benchmark_data_path.py", "--pair-cost-only", "--num-videos", "1", "--pairs", "3", "--repeats", "2",
        cwd=tmp_path,
    )  # fmt: skip
    rows = [line.split("|") for line in out.splitlines() if line.startswith("| ") and "pair ms" not in line]
    assert [row[1].strip() for row in rows] == ["0", "1", "median"]
    for row in rows:  # figures only (timings are the script's to report, not the tests' to judge)
        assert float(row[2]) > 0 and float(row[3]) > 0 and float(row[4].split()[0]) > 0
    assert "(spread " in rows[-1][4]
    assert "grid MB" not in out  # the loader tables are not run


def test_the_pretraining_benchmark_times_rendering_and_the_network(tmp_path):
    out = _run(
        "benchmark_pretraining.py", "--steps", "2", "--repeats", "1", "--batch_size", "4", cwd=tmp_path
    )
    rows = {line.split("|")[1].strip(): line for line in out.splitlines() if line.startswith("| ")}
    assert {"render", "data", "network", "loader, 0 workers", "loader, 1 worker"} <= set(rows)
    assert float(rows["render"].split("|")[2]) > 0 and float(rows["network"].split("|")[2]) > 0
    assert (
        float(rows["loader, 0 workers"].split("|")[3]) == 1.0
    )  # the ratios are against the in-process loader


def test_the_seed_spread_benchmark_separates_head_initialisation_from_training_seed(tmp_path):
    import numpy as np
    from safetensors.torch import load_file

    out = _run(
        "benchmark_seed_spread.py", "--preset", "quick", "--init_seeds", "2", "--training_seeds", "2",
        "--num_workers", "0", "--output_dir", str(tmp_path / "bench"), cwd=tmp_path,
    )  # fmt: skip
    report = json.loads((tmp_path / "bench" / "seed_spread.json").read_text())
    grid = np.array(report["target_mca_grid"])
    assert grid.shape == (2, 2) and len(report["runs"]) == 4
    split = report["split"]
    assert split["all_runs_std"] == pytest.approx(grid.std(ddof=1))
    assert split["head_seed_means_std"] == pytest.approx(grid.mean(1).std(ddof=1))
    assert split["training_seed_means_std"] == pytest.approx(grid.mean(0).std(ddof=1))
    assert split["test_set_standard_error_mean"] >= 0
    root = tmp_path / "bench" / "seed_spread" / "source_only"
    heads = [load_file(str(root / f"heads{h}" / "init" / "model.safetensors")) for h in (0, 1)]
    new_head = [k for k in heads[0] if not k.startswith("glad.backbone.")]
    backbone = [k for k in heads[0] if k.startswith("glad.backbone.")]
    assert any(not heads[0][k].equal(heads[1][k]) for k in new_head)  # the heads differ by head seed
    assert all(heads[0][k].equal(heads[1][k]) for k in backbone)  # the pre-trained backbone does not
    for h in (0, 1):
        for t in (0, 1):
            arguments = json.loads(
                (root / f"heads{h}" / f"seed{t}" / "source_only" / "run_arguments.json").read_text()
            )
            assert arguments["model"]["init_model"] == str(root / f"heads{h}" / "init")
            assert arguments["training"]["seed"] == t
    assert "training-seed means" in out
