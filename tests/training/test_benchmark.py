"""The synthetic benchmark runner on its quick preset, and its statistics."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from glad_hf.training.benchmark import run_synthetic_benchmark
from glad_hf.training.benchmark_presets import (
    BENCHMARK_METHODS,
    DEFAULT_PRESET_TARGET_MCA,
    PRESETS,
    seed_spread_reference,
)
from glad_hf.training.experiments import results_table, summarize
from glad_hf.training.methods import METHODS

REPO = Path(__file__).resolve().parents[2]


def test_quick_preset_runs_every_method_per_seed_and_reuses_finished_runs(tmp_path):
    report = run_synthetic_benchmark(
        tmp_path / "bench", preset="quick", num_workers=2, data_dir=tmp_path / "data"
    )
    quick = PRESETS["quick"]
    assert list(report["summary"]) == list(BENCHMARK_METHODS)
    pairs = sorted((r["method"], r["seed"]) for r in report["runs"])
    assert pairs == sorted((m, s) for m in BENCHMARK_METHODS for s in range(quick.seeds))
    assert all(0.0 <= r["target_mca"] <= 1.0 and r["seconds"] > 0 for r in report["runs"])
    assert all((tmp_path / "bench" / "runs" / f"seed{s}" / "tol" / "complete.json").is_file() for s in (0, 1))
    assert report["pretrain"]["metrics"]["steps"] == quick.train["pretrain_max_train_steps"]
    stored = json.loads((tmp_path / "bench" / "benchmark.json").read_text())
    assert stored["summary"] == json.loads(json.dumps(report["summary"]))
    for run in report["runs"]:  # the TOL methods carry their stage 1's clip-order accuracy per domain
        with_tol = METHODS[run["method"]].temporal_order
        assert ("tol_target_accuracy" in run) == with_tol and ("tol_source_accuracy" in run) == with_tol
        if with_tol:
            assert 0.0 <= run["tol_source_accuracy"] <= 1.0 and 0.0 <= run["tol_target_accuracy"] <= 1.0
    assert "tol_target_accuracy_mean" in report["summary"]["glad"]
    assert "tol_target_accuracy_mean" not in report["summary"]["dann"]
    table = (tmp_path / "bench" / "benchmark.md").read_text()
    assert "| target forward only |" in table and "p vs DANN" in table and "Wall clock" in table
    assert "stage-1 clip order, source / target" in table
    assert (tmp_path / "bench" / "benchmark.png").stat().st_size > 10_000
    # every run was trained from the motion-pretrained model, stage 2 of the TOL methods from their stage 1
    run_config = json.loads(
        (tmp_path / "bench" / "runs" / "seed1" / "glad" / "run_arguments.json").read_text()
    )
    assert run_config["model"]["init_model"] == str(tmp_path / "bench" / "runs" / "seed1" / "tol" / "last")
    plain = json.loads((tmp_path / "bench" / "runs" / "seed0" / "dann" / "run_arguments.json").read_text())
    assert plain["model"]["init_model"] == report["pretrain"]["model_dir"]

    again = run_synthetic_benchmark(
        tmp_path / "bench", preset="quick", num_workers=0, data_dir=tmp_path / "data"
    )
    assert again["runs"] == report["runs"]  # finished runs are read back, not trained again
    assert again["timings"]["runs_seconds"] < report["timings"]["runs_seconds"]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="preset"):
        run_synthetic_benchmark(tmp_path, preset="huge")
    with pytest.raises(ValueError, match="unknown methods"):
        run_synthetic_benchmark(tmp_path, preset="quick", methods=["dann", "mcd"])
    with pytest.raises(ValueError, match="seeds"):
        run_synthetic_benchmark(tmp_path, preset="quick", seeds=0)


def test_cli_help():
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "benchmark_synthetic.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--preset" in result.stdout and "quick" in result.stdout


def test_the_demo_reference_is_what_the_default_preset_measured():
    stored = json.loads((REPO / "docs" / "benchmark_synthetic" / "benchmark.json").read_text())
    assert stored["preset"] == "default"
    for method, (mean, std, low, high, n) in DEFAULT_PRESET_TARGET_MCA.items():
        entry = stored["summary"][method]
        values = entry["per_seed_target_mca"]
        assert (mean, std) == (round(entry["target_mca_mean"], 1), round(entry["target_mca_std"], 1))
        assert (low, high, n) == (round(min(values), 1), round(max(values), 1), len(values))
    reference = seed_spread_reference()
    assert reference["source_only"] == "60.9 ± 11.9 (36.7–73.7, 10 seeds)"
    runs = [
        {"method": "glad", "label": "GLAD", "seed": 0, "target_mca": 0.5, "target_top1": 0.5, "source_mca": 0.6, "seconds": 1.0},
        {"method": "dann", "label": "DANN", "seed": 0, "target_mca": 0.4, "target_top1": 0.4, "source_mca": 0.6, "seconds": 1.0},
    ]  # fmt: skip
    table = results_table(summarize(runs), reference=reference).splitlines()
    assert table[0].endswith("| synthetic benchmark, target MCA over seeds |")
    assert table[2].endswith(f"| {reference['glad']} |") and table[3].endswith("| – |")
    assert "synthetic benchmark" not in results_table(summarize(runs))
