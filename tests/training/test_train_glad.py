"""End-to-end training on a tiny synthetic Kinetics->BABEL: both stages, resume, DDP on two CPU processes,
bad arguments."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard

from glad_hf import GladForTemporalOrderLearning, GladForVideoClassification
from glad_hf.data import SyntheticMotionConfig, generate_synthetic_k2b
from glad_hf.training import loop
from glad_hf.training.arguments import parse_arguments
from glad_hf.training.run import run_training
from helpers import TINY_DATA, crash_at_step

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    return generate_synthetic_k2b(tmp_path_factory.mktemp("synthetic"), TINY_DATA, progress=False)


def tiny_run_args(root, output_dir, *extra):
    return [
        "--data_dir", str(root), "--output_dir", str(output_dir), "--short_side", "32", "--crop_size", "24",
        "--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "8",
        "--tol_per_device_train_batch_size", "4", "--report_to", "none", "--seed", "3",
        "--motion_pretraining", "false", *extra,
    ]  # fmt: skip


def test_both_stages_end_to_end(synthetic_root, tmp_path):
    output = tmp_path / "run"
    args = parse_arguments(
        tiny_run_args(synthetic_root, output, "--max_train_steps", "2", "--report_to", "tensorboard")
    )
    results = run_training(*args)
    assert set(results) == {"tol", "glad", "source_only"}
    for stage in ("tol", "glad", "source_only"):
        assert (output / stage / "complete.json").is_file() and (output / stage / "metrics.json").is_file()
        assert (output / stage / "last" / "model.safetensors").is_file()
        assert (output / stage / "last" / "video_preprocessor_config.json").is_file()
    glad = json.loads((output / "glad" / "metrics.json").read_text())
    assert glad["steps"] == 2 and 0.0 <= glad["target"]["mean_class_accuracy"] <= 1.0
    tol = json.loads(
        (output / "tol" / "metrics.json").read_text()
    )  # clip order scored per domain and together
    from glad_hf.data.annotations import read_annotation_tar

    lists = read_annotation_tar(synthetic_root / "kinetics2babel.tar")
    assert tol["source_num_videos"] == len(lists["k400_test"]) and tol["target_num_videos"] == len(
        lists["babel_test"]
    )
    together = (
        tol["source_accuracy"] * tol["source_num_videos"] + tol["target_accuracy"] * tol["target_num_videos"]
    )
    assert tol["num_videos"] == tol["source_num_videos"] + tol["target_num_videos"]
    assert tol["accuracy"] == pytest.approx(together / tol["num_videos"])
    from glad_hf.data.annotations import read_annotation_tar

    num_target_test = len(read_annotation_tar(synthetic_root / "kinetics2babel.tar")["babel_test"])
    assert sum(map(sum, glad["target"]["confusion_matrix"])) == num_target_test
    assert json.loads((output / "results.json").read_text())["glad"] == glad
    assert (output / "glad" / "confusion_matrix.png").stat().st_size > 1000
    card = ModelCard.load(output / "glad" / "last" / "README.md")
    assert card.data.library_name == "glad_hf" and card.data.eval_results
    assert any(path.name.startswith("events.out.tfevents") for path in (output / "logs").rglob("*"))
    # stage 2 started from stage 1's backbone and the classifier reloads from its folder
    model = GladForVideoClassification.from_pretrained(output / "glad" / "last")
    assert model.config.domain_alignment == ("local", "global", "cross")
    source_only = GladForVideoClassification.from_pretrained(output / "source_only" / "last")
    assert source_only.config.domain_alignment == ()
    # a resumed run reuses finished stages instead of training them again
    again = run_training(
        *parse_arguments(
            tiny_run_args(
                synthetic_root, output, "--max_train_steps", "2", "--resume_from_checkpoint", "latest"
            )
        )
    )
    assert again["glad"].model is None and again["glad"].metrics["steps"] == 2


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_resume_after_a_kill_gives_the_same_weights(synthetic_root, tmp_path, monkeypatch):
    common = ["--stage", "glad", "--max_train_steps", "5", "--num_train_epochs", "3", "--checkpointing_steps", "2",
              "--compare_source_only", "false", "--evaluate_every_epoch", "false"]  # fmt: skip
    straight = run_training(*parse_arguments(tiny_run_args(synthetic_root, tmp_path / "straight", *common)))
    expected = _weights(straight["glad"].model)

    original = loop._log_step
    monkeypatch.setattr(loop, "_log_step", crash_at_step(3, original, "simulated kill"))
    with pytest.raises(KeyboardInterrupt):
        run_training(*parse_arguments(tiny_run_args(synthetic_root, tmp_path / "killed", *common)))
    monkeypatch.setattr(loop, "_log_step", original)
    assert [p.name for p in (tmp_path / "killed" / "glad" / "checkpoints").iterdir()] == ["step_00000002"]
    resumed = run_training(
        *parse_arguments(
            tiny_run_args(synthetic_root, tmp_path / "killed", *common, "--resume_from_checkpoint", "latest")
        )
    )
    assert resumed["glad"].metrics["steps"] == 5
    for key, value in _weights(resumed["glad"].model).items():
        torch.testing.assert_close(value, expected[key], rtol=1e-5, atol=1e-6, msg=key)


def test_two_cpu_processes(synthetic_root, tmp_path):
    output = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        str(REPO / "tests" / "training" / "ddp_worker.py"),
        *tiny_run_args(synthetic_root, output, "--stage", "glad", "--max_train_steps", "3",
                       "--compare_source_only", "false"),
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    ranks = [json.loads((output / f"rank{i}.json").read_text()) for i in range(2)]
    assert [r["world"] for r in ranks] == [2, 2]
    assert ranks[0]["checksum"] == pytest.approx(ranks[1]["checksum"], rel=1e-9)  # DDP kept replicas equal
    first_epoch = [set(r["rows"][:4]) for r in ranks]  # one batch of 4 per rank in the first epoch
    assert first_epoch[0] and not first_epoch[0] & first_epoch[1]  # each rank loads its own shard
    metrics = json.loads((output / "glad" / "metrics.json").read_text())
    num_target_test = sum(map(sum, metrics["target"]["confusion_matrix"]))
    from glad_hf.data.annotations import read_annotation_tar

    assert num_target_test == len(read_annotation_tar(synthetic_root / "kinetics2babel.tar")["babel_test"])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--dataset", "kinetics2babel"], "needs --data_dir"),
        (["--dataset", "kinetics2babel", "--data_dir", "/nonexistent/k2b"], "is not a folder"),
        (["--stage", "zero"], "--stage must be one of"),
        (["--model_size", "huge"], "--model_size must be one of"),
        (["--push_to_hub", "true"], "--hub_model_id"),
        (["--no_such_flag", "1"], "unknown arguments"),
        (["--learning_rate", "-0.1"], r"--learning_rate must be > 0, got -0.1"),
        (["--tol_learning_rate", "0"], r"--tol_learning_rate must be > 0"),
        (["--blend_prob", "1.5"], r"--blend_prob must be in \[0, 1\]"),
        (["--momentum", "-0.5"], r"--momentum must be in \[0, 1\]"),
        (["--per_device_train_batch_size", "0"], "--per_device_train_batch_size must be >= 1"),
        (["--max_train_steps", "0"], "--max_train_steps must be >= 1"),
        (["--max_grad_norm", "0"], "--max_grad_norm must be > 0"),
        (["--weight_decay", "-1"], "--weight_decay must be >= 0"),
        (["--num_workers", "-2"], "--num_workers must be >= 0"),
        (["--domain_loss_weight", "-0.3"], "--domain_loss_weight must be >= 0"),
        (["--tol_lr_decay_epochs", "-1"], "--tol_lr_decay_epochs must be epochs >= 0"),
        (["--forward_target", "false"], "--domain_alignment local global cross .*--forward_target false"),
    ],
)
def test_bad_arguments_fail_before_any_work(argv, message):
    with pytest.raises((ValueError, SystemExit), match=message):
        parse_arguments(argv)


def test_unknown_config_key(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("dataset: synthetic\nlearning_rat: 0.1\n")
    with pytest.raises(ValueError, match=r"unknown configuration keys \['learning_rat'\]"):
        parse_arguments(["--config", str(config)])


@pytest.mark.parametrize("init", ["./outputs/no_such_run/tol/last", "no_such_run/tol/last", "~/typo"])
def test_a_mistyped_init_model_path_is_named(synthetic_root, tmp_path, init):
    with pytest.raises(ValueError, match=f"--init_model: no model folder at {init}"):
        run_training(*parse_arguments(tiny_run_args(synthetic_root, tmp_path / "out", "--init_model", init)))
    assert not (tmp_path / "out").exists()


def test_stage2_init_folder_without_a_backbone(synthetic_root, tmp_path):
    folder = tmp_path / "not_glad"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ValueError, match="not_glad"):
        run_training(
            *parse_arguments(
                tiny_run_args(
                    synthetic_root, tmp_path / "out", "--stage", "glad", "--init_model", str(folder)
                )
            )
        )
    assert not (tmp_path / "out" / "glad").exists()


def test_the_synthetic_demo_config_file_is_the_synthetic_recipe():
    from_file = parse_arguments(["--config", str(REPO / "configs" / "synthetic_demo.yaml")])
    assert from_file == parse_arguments([]) == parse_arguments(["--domain_loss_weight", "0.3"])


PRETRAIN_ARGS = ("--motion_pretraining", "true", "--pretrain_max_train_steps", "2", "--pretrain_batch_size", "4",
                 "--pretrain_num_videos", "18")  # fmt: skip


def test_motion_pretraining_is_trained_once_and_stage_1_starts_from_it(synthetic_root, tmp_path):
    first = run_training(*parse_arguments(tiny_run_args(synthetic_root, tmp_path / "a", "--stage", "pretrain",
                                                        *PRETRAIN_ARGS)))  # fmt: skip
    assert set(first) == {"pretrain"}
    pretrain = first["pretrain"]
    stage_dir = pretrain.model_dir.parent
    assert stage_dir.parent == Path(os.environ["GLAD_HF_CACHE"]) / "pretrained"
    assert stage_dir.name.startswith("synthetic-motions-") and pretrain.metrics["steps"] == 2
    model = GladForVideoClassification.from_pretrained(pretrain.model_dir)
    motions = SyntheticMotionConfig.disjoint_from(TINY_DATA.labels).motions
    assert tuple(model.config.id2label.values()) == motions and len(motions) == 9
    written = (stage_dir / "complete.json").stat().st_mtime_ns

    later = run_training(*parse_arguments(tiny_run_args(synthetic_root, tmp_path / "b", "--stage", "tol",
                                                        "--tol_max_train_steps", "1", *PRETRAIN_ARGS)))  # fmt: skip
    assert later["pretrain"].model_dir == pretrain.model_dir and later["pretrain"].seconds > 0
    assert (stage_dir / "complete.json").stat().st_mtime_ns == written  # reused, not trained again
    tol = GladForTemporalOrderLearning.from_pretrained(later["tol"].model_dir)
    start = dict(model.glad.backbone.named_parameters())
    # one AdamW step at lr 1e-3 moves a weight by about 1e-3; a fresh initialisation is far from the start
    assert all(torch.allclose(p, start[k], atol=5e-3) for k, p in tol.glad.backbone.named_parameters())
    fresh = dict(GladForTemporalOrderLearning(tol.config).glad.backbone.named_parameters())
    assert not all(torch.allclose(p, start[k], atol=5e-3) for k, p in fresh.items())
    assert json.loads((tmp_path / "b" / "run_arguments.json").read_text())["model"]["motion_pretraining"]

    # another recipe is another folder
    other = run_training(*parse_arguments(tiny_run_args(synthetic_root, tmp_path / "c", "--stage", "pretrain",
                                                        *PRETRAIN_ARGS, "--pretrain_max_train_steps", "1")))  # fmt: skip
    assert other["pretrain"].model_dir != pretrain.model_dir and other["pretrain"].metrics["steps"] == 1


@pytest.mark.parametrize(
    "extra, message",
    [
        (("--motion_pretraining", "true", "--init_model", "some/model"), "both choose the starting weights"),
        (("--stage", "pretrain"), "--stage pretrain needs --motion_pretraining true"),
        (("--init_model", "./missing"), "no model folder at ./missing"),
    ],
)
def test_motion_pretraining_conflicts_fail_before_any_work(synthetic_root, tmp_path, extra, message):
    with pytest.raises(ValueError, match=message):
        run_training(*parse_arguments(tiny_run_args(synthetic_root, tmp_path / "out", *extra)))
    assert not (tmp_path / "out").exists()


def test_motion_pretraining_is_synthetic_only(tmp_path):
    args = parse_arguments(["--dataset", "kinetics2babel", "--data_dir", str(tmp_path), "--output_dir",
                            str(tmp_path / "out"), "--report_to", "none", "--motion_pretraining", "true"])  # fmt: skip
    with pytest.raises(ValueError, match="stand-in for Kinetics pre-training.*--motion_pretraining false"):
        run_training(*args)


def _launch(argv, precision: str, processes: int = 1, timeout: int = 600):
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(processes), "--num_machines", "1",
        "--mixed_precision", precision, "--dynamo_backend", "no", *(["--multi_gpu"] if processes > 1 else []),
        str(REPO / "scripts" / "train_glad.py"), *argv,
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def test_bf16_mixed_precision_on_cpu(synthetic_root, tmp_path):
    output = tmp_path / "bf16"
    done = _launch(
        tiny_run_args(synthetic_root, output, "--max_train_steps", "2", "--compare_source_only", "false",
                      "--logging_steps", "1", "--checkpointing_steps", "1"),
        "bf16",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    for stage in ("tol", "glad"):
        progress = json.loads(
            sorted((output / stage / "checkpoints").glob("step_*/progress.json"))[-1].read_text()
        )
        losses = [value for _, value in progress["history"]["train/loss"]]
        assert len(losses) == 2 and all(math.isfinite(v) for v in losses) and progress["skipped_steps"] == 0
        model_class = GladForTemporalOrderLearning if stage == "tol" else GladForVideoClassification
        model = model_class.from_pretrained(output / stage / "last")
        assert {p.dtype for p in model.parameters()} == {torch.float32}  # saved in float32
    assert "| GLAD |" in done.stdout
    # one seed of the synthetic toy is printed beside the benchmark's spread over seeds
    assert "synthetic benchmark, target MCA over seeds |" in done.stdout and "44.9 ± 13.1" in done.stdout


def test_fp16_on_cpu_is_refused_with_the_alternative(synthetic_root, tmp_path):
    done = _launch(tiny_run_args(synthetic_root, tmp_path / "fp16", "--max_train_steps", "1"), "fp16")
    assert done.returncode != 0 and "fp16 needs a GPU" in done.stderr and "bf16" in done.stderr
    assert not (tmp_path / "fp16" / "tol").exists()


def test_two_processes_reuse_the_single_process_motion_pre_training(synthetic_root, tmp_path):
    single = run_training(*parse_arguments(tiny_run_args(synthetic_root, tmp_path / "a", "--stage", "pretrain",
                                                         *PRETRAIN_ARGS)))  # fmt: skip
    complete = single["pretrain"].model_dir.parent / "complete.json"
    written = complete.stat().st_mtime_ns
    done = _launch(
        tiny_run_args(
            synthetic_root, tmp_path / "b", "--stage", "tol", "--tol_max_train_steps", "1", *PRETRAIN_ARGS
        ),
        "no",
        processes=2,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    # once: the two processes are joined (each believed it was the main process when the script made Accelerate's
    # state before the run, and both wrote the same checkpoint folders)
    assert done.stdout.count(f"model in {single['pretrain'].model_dir}") == 1
    assert complete.stat().st_mtime_ns == written  # not trained again


def test_the_motion_pre_training_batch_is_global():
    from glad_hf.training.stages.pretrain import per_device_batch_size

    assert per_device_batch_size(32, 1) == 32 and per_device_batch_size(32, 2) == 16
    with pytest.raises(
        ValueError, match="--pretrain_batch_size 32 .* divisible by the number of processes, 3"
    ):
        per_device_batch_size(32, 3)
