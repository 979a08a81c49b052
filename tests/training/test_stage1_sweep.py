"""Stage 1's strength: the backbone learning-rate scale reaches the optimiser, and the synthetic benchmark's stage-1
sweep (quick preset) runs, reports after every setting, resumes and shares its controls with the benchmark."""

import json

import pytest
from safetensors.torch import load_file

from glad_hf.data import generate_synthetic_k2b
from glad_hf.training import stage1_sweep
from glad_hf.training.arguments import parse_arguments
from glad_hf.training.benchmark import run_synthetic_benchmark
from glad_hf.training.experiments import permutation_p_value
from glad_hf.training.run import run_training
from glad_hf.training.stage1_sweep import (
    STAGE1_SETTINGS,
    Stage1Setting,
    run_stage1_sweep,
    summarize_sweep,
    sweep_table,
)
from helpers import TINY_DATA


def _tol_weights(root, output_dir, scale: str, steps: str) -> dict:
    args = parse_arguments(
        [
            "--data_dir", str(root), "--output_dir", str(output_dir), "--short_side", "32", "--crop_size", "24",
            "--tol_per_device_train_batch_size", "4", "--per_device_eval_batch_size", "8", "--report_to", "none",
            "--seed", "3", "--motion_pretraining", "false", "--stage", "tol", "--tol_max_train_steps", steps,
            "--tol_backbone_learning_rate_scale", scale,
        ]
    )  # fmt: skip
    run_training(*args)
    return load_file(str(output_dir / "tol" / "last" / "model.safetensors"))


def test_the_stage_1_backbone_scale_sets_how_far_the_backbone_moves(tmp_path):
    root = generate_synthetic_k2b(tmp_path / "data", TINY_DATA, progress=False)
    frozen_1 = _tol_weights(root, tmp_path / "frozen1", "0", "1")
    frozen_3 = _tol_weights(root, tmp_path / "frozen3", "0", "3")
    full_3 = _tol_weights(root, tmp_path / "full3", "1", "3")
    # batch-norm running statistics are buffers, updated whatever the learning rate: only parameters are compared
    backbone = [
        k
        for k in frozen_1
        if k.startswith("glad.backbone.") and "running" not in k and "num_batches" not in k
    ]
    head = [k for k in frozen_1 if not k.startswith("glad.backbone.")]
    assert backbone and head
    assert all(frozen_1[k].equal(frozen_3[k]) for k in backbone)  # scale 0: the backbone never moved
    assert any(not frozen_1[k].equal(frozen_3[k]) for k in head)  # while the head trained
    assert any(not frozen_3[k].equal(full_3[k]) for k in backbone)  # scale 1: it moves
    arguments = json.loads((tmp_path / "frozen3" / "run_arguments.json").read_text())
    assert arguments["training"]["tol_backbone_learning_rate_scale"] == 0


def test_a_negative_stage_1_backbone_scale_is_refused():
    with pytest.raises(ValueError, match="tol_backbone_learning_rate_scale"):
        parse_arguments(["--tol_backbone_learning_rate_scale", "-0.1"])


def _record(method, seed, target, setting=None, tol=None):
    record = {
        "method": method, "label": method, "seed": seed, "target_mca": target, "target_top1": target,
        "source_mca": 0.9, "seconds": 1.0, "setting": setting,
    }  # fmt: skip
    if tol is not None:
        record.update(tol_source_accuracy=tol, tol_target_accuracy=tol / 2)
    return record


def test_the_sweep_rows_compare_each_setting_with_the_controls():
    controls = {"source_only": [0.5, 0.6, 0.7], "gla": [0.7, 0.72, 0.74], "gla_bg": [0.8, 0.82, 0.84]}
    runs = [_record(m, s, v) for m, values in controls.items() for s, v in enumerate(values)]
    runs += [_record("gla_tol", s, v, "a", 0.6) for s, v in enumerate([0.4, 0.5, 0.45])]
    runs += [_record("glad", s, v, "a", 0.6) for s, v in enumerate([0.9, 0.88, 0.86])]
    rows = summarize_sweep(runs)
    assert [(r["setting"], r["method"]) for r in rows] == [
        (None, "source_only"), (None, "gla"), (None, "gla_bg"), ("a", "gla_tol"), ("a", "glad")
    ]  # fmt: skip
    glad = rows[-1]
    assert glad["target_mca_mean"] == pytest.approx(88.0)
    assert glad["gain_vs_gla_bg"] == pytest.approx(88.0 - 82.0)
    assert glad["p_vs_gla_bg"] == permutation_p_value([90, 88, 86], [80, 82, 84])
    assert glad["gain_vs_source_only"] == pytest.approx(88.0 - 60.0)
    assert "gain_vs_gla" not in glad and rows[3]["gain_vs_gla"] == pytest.approx(45.0 - 72.0)
    assert rows[3]["per_seed_tol_target_accuracy"] == pytest.approx([30.0] * 3)
    assert "p_vs_gla_bg" not in rows[2]  # a control is not compared with itself
    table = sweep_table(rows, {"a": "setting A"})
    assert "| setting A | glad | 60.0 / 30.0 | 88.0 ± 2.0 |" in table
    assert "| – | gla_bg | – | 82.0 ± 2.0 |" in table


def test_the_quick_sweep_reports_each_setting_resumes_and_shares_the_benchmark_runs(tmp_path, monkeypatch):
    out, data = tmp_path / "bench", tmp_path / "data"
    settings = ["backbone_lr_1", "backbone_lr_0.01"]
    real = stage1_sweep.run_experiments

    def interrupted(data_args, model_args, train_args, jobs, output_dir, num_workers):
        if "backbone_lr_0.01" in str(output_dir):
            raise KeyboardInterrupt
        return real(data_args, model_args, train_args, jobs, output_dir, num_workers)

    sweep = dict(
        base_preset="quick", seeds=2, source_only_seeds=2, settings=settings, num_workers=0, data_dir=data
    )
    monkeypatch.setattr(stage1_sweep, "run_experiments", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_stage1_sweep(out, **sweep)
    partial = json.loads((out / "stage1_sweep.json").read_text())
    assert [s["name"] for s in partial["settings"]] == ["backbone_lr_1"]  # the finished setting was written
    assert {(r["setting"], r["method"]) for r in partial["rows"]} == {
        (None, "source_only"), (None, "gla"), (None, "gla_bg"), ("backbone_lr_1", "gla_tol"), ("backbone_lr_1", "glad")
    }  # fmt: skip

    monkeypatch.setattr(stage1_sweep, "run_experiments", real)
    report = run_stage1_sweep(out, **sweep)
    first = [r for r in report["runs"] if r["setting"] in (None, "backbone_lr_1")]
    assert first == partial["runs"]  # read back, not trained again
    assert [(r["setting"], r["method"]) for r in report["rows"]][-2:] == [
        ("backbone_lr_0.01", "gla_tol"), ("backbone_lr_0.01", "glad")
    ]  # fmt: skip
    swept = out / "stage1_sweep" / "backbone_lr_0.01" / "seed1"
    assert (
        json.loads((swept / "run_arguments.json").read_text())["training"]["tol_backbone_learning_rate_scale"]
        == 0.01
    )
    assert (
        json.loads((out / "runs" / "seed1" / "run_arguments.json").read_text())["training"][
            "tol_backbone_learning_rate_scale"
        ]
        == 1.0
    )
    glad = json.loads((swept / "glad" / "run_arguments.json").read_text())
    assert glad["model"]["init_model"] == str(swept / "tol" / "last")
    for row in report["rows"]:
        if row["setting"] is not None:
            assert {"p_vs_gla_bg", "p_vs_source_only", "per_seed_tol_target_accuracy"} <= set(row)
    assert "backbone LR x 0.01" in (out / "stage1_sweep.md").read_text()
    assert (out / "stage1_sweep.png").stat().st_size > 10_000

    # the default benchmark in the same folder reuses the controls and the preset's own stage 1
    methods = ["source_only", "gla", "gla_bg", "gla_tol", "glad"]
    benchmark = run_synthetic_benchmark(out, preset="quick", methods=methods, num_workers=0, data_dir=data)
    shared = {(r["method"], r["seed"]): r for r in report["runs"] if r["setting"] in (None, "backbone_lr_1")}
    for run in benchmark["runs"]:
        assert run["target_mca"] == shared[run["method"], run["seed"]]["target_mca"]
        assert (
            run["seconds"] == shared[run["method"], run["seed"]]["seconds"]
        )  # the stored run, not a new one

    # and its report stands for those runs in a sweep elsewhere, without running them
    elsewhere = run_stage1_sweep(
        tmp_path / "elsewhere", base_preset="quick", settings=["backbone_lr_1"], num_workers=0, data_dir=data,
        reuse_report=out / "benchmark.json",
    )  # fmt: skip
    assert elsewhere["rows"] == [r for r in report["rows"] if r["setting"] in (None, "backbone_lr_1")]
    assert not (tmp_path / "elsewhere" / "runs").exists()
    assert json.loads((tmp_path / "elsewhere" / "stage1_sweep.json").read_text())["reused_from"] == str(
        out / "benchmark.json"
    )


def test_a_reused_report_must_have_the_recipe_and_the_seeds(tmp_path):
    from dataclasses import asdict

    from glad_hf.training.benchmark_presets import PRESETS

    config = json.loads(json.dumps(asdict(PRESETS["quick"])))
    runs = [_record(m, s, 0.5) for m in ("source_only", "gla", "gla_bg", "gla_tol", "glad") for s in range(2)]
    report = tmp_path / "benchmark.json"
    report.write_text(json.dumps({"preset": "quick", "preset_config": config, "runs": runs[:-1]}))
    with pytest.raises(ValueError, match=r"lacks the runs \(method, seed\) \[\('glad', 1\)\]"):
        run_stage1_sweep(
            tmp_path / "out", base_preset="quick", reuse_report=report, data_dir=tmp_path / "data"
        )
    config["train"]["tol_max_train_steps"] = 7
    report.write_text(json.dumps({"preset": "quick", "preset_config": config, "runs": runs}))
    with pytest.raises(ValueError, match=r"another recipe .*differing: \['train'\]"):
        run_stage1_sweep(
            tmp_path / "out", base_preset="quick", reuse_report=report, data_dir=tmp_path / "data"
        )
    assert not (tmp_path / "data").exists()  # refused before the data were generated


def test_bad_sweep_arguments_fail_before_any_work(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown stage-1 settings"):
        run_stage1_sweep(
            tmp_path / "out", base_preset="quick", settings=["backbone_lr_7"], data_dir=tmp_path / "data"
        )
    with pytest.raises(ValueError, match="base_preset"):
        run_stage1_sweep(tmp_path / "out", base_preset="huge")
    bad = Stage1Setting("bad", "bad", {"tol_backbone_learning_rate_scale": -1.0})
    monkeypatch.setattr(stage1_sweep, "STAGE1_SETTINGS", (*STAGE1_SETTINGS, bad))
    with pytest.raises(ValueError, match="tol_backbone_learning_rate_scale"):
        run_stage1_sweep(tmp_path / "out", base_preset="quick", settings=["bad"], data_dir=tmp_path / "data")
    assert not (tmp_path / "data").exists()  # refused before the data were generated
