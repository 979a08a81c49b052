"""The synthetic benchmark runner on its quick preset, and its statistics."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from glad_hf.training.benchmark import (
    BENCHMARK_METHODS,
    PRESETS,
    benchmark_table,
    permutation_p_value,
    run_synthetic_benchmark,
    summarize,
)

REPO = Path(__file__).resolve().parents[2]


def test_permutation_p_values_are_exact_for_few_seeds():
    assert permutation_p_value([4, 5, 6], [1, 2, 3]) == pytest.approx(2 / 20)  # 2 of C(6, 3) splits as extreme
    assert permutation_p_value([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert math.isnan(permutation_p_value([1.0], [2.0, 3.0]))  # one value: no test


def test_summary_and_table_from_runs():
    runs = [
        {"method": m, "seed": s, "target_mca": t, "source_mca": 0.9, "seconds": 10.0}
        for m, values in (("source_only", [0.5, 0.52, 0.48]), ("dann", [0.6, 0.62, 0.64]))
        for s, t in enumerate(values)
    ]
    summary = summarize(runs, ["source_only", "dann"])
    assert summary["dann"]["target_mca_mean"] == pytest.approx(62.0)
    assert summary["dann"]["gain_vs_source_only"] == pytest.approx(12.0)
    assert summary["dann"]["p_vs_source_only"] == pytest.approx(0.1)
    assert "p_vs_dann" not in summary["dann"] and "p_vs_source_only" not in summary["source_only"]
    table = benchmark_table(summary)
    assert "| DANN | 62.0 ± 2.0 | 90.0 ± 0.0 | +12.0 | 0.1 | – | 60.0, 62.0, 64.0 | 10 |" in table


def test_quick_preset_runs_every_method_per_seed_and_reuses_finished_runs(tmp_path):
    report = run_synthetic_benchmark(tmp_path / "bench", preset="quick", num_workers=2, data_dir=tmp_path / "data")
    quick = PRESETS["quick"]
    assert list(report["summary"]) == list(BENCHMARK_METHODS)
    pairs = sorted((r["method"], r["seed"]) for r in report["runs"])
    assert pairs == sorted((m, s) for m in BENCHMARK_METHODS for s in range(quick.seeds))
    assert all(0.0 <= r["target_mca"] <= 1.0 and r["seconds"] > 0 for r in report["runs"])
    assert set(report["tol_dirs"]) == {"0", "1"}
    assert report["pretrain"]["metrics"]["steps"] == quick.train["pretrain_max_train_steps"]
    stored = json.loads((tmp_path / "bench" / "benchmark.json").read_text())
    assert stored["summary"] == json.loads(json.dumps(report["summary"]))
    table = (tmp_path / "bench" / "benchmark.md").read_text()
    assert "| target forward only |" in table and "p vs DANN" in table and "Wall clock" in table
    assert (tmp_path / "bench" / "benchmark.png").stat().st_size > 10_000
    # every run was trained from the motion-pretrained model, stage 2 of the TOL methods from their stage 1
    run_config = json.loads((tmp_path / "bench" / "runs" / "seed1" / "glad" / "run_arguments.json").read_text())
    assert run_config["model"]["init_model"] == report["tol_dirs"]["1"]
    plain = json.loads((tmp_path / "bench" / "runs" / "seed0" / "dann" / "run_arguments.json").read_text())
    assert plain["model"]["init_model"] == report["pretrain"]["model_dir"]

    again = run_synthetic_benchmark(tmp_path / "bench", preset="quick", num_workers=0, data_dir=tmp_path / "data")
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
