"""Training and evaluating GLAD end to end on two generated domain pairs that are not Kinetics->BABEL — a *folders*
pair and a *lists* pair with other class names and counts — and the supervised-target upper bound."""

import json
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from glad_hf import GladForVideoClassification
from glad_hf.training.arguments import parse_arguments
from glad_hf.training.evaluation import evaluate_checkpoint
from glad_hf.training.guards import UnreadableVideosError
from glad_hf.training.run import run_training
from glad_hf.training.stage_datasets import load_domains
from helpers import write_mp4

FOLDER_CLASSES = {
    "source": ["Waving", "Clapping", "Spinning", "Juggling"],
    "target": ["wave", "clap", "spin"],
}
CLASS_MAP = {
    "source": {"Waving": "wave", "Clapping": "clap", "Spinning": "spin", "Juggling": None},
    "target": {"wave": "wave", "clap": "clap", "spin": "spin"},
}


def _video(path: Path, seed: int, frames: int = 24) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_mp4(path, num_frames=frames, height=32, width=40, seed=seed)


@pytest.fixture(scope="module")
def folders_pair(tmp_path_factory):
    """Two domains as <root>/<split>/<class>/<video>.mp4; the source has a fourth class the target lacks."""
    root = tmp_path_factory.mktemp("folders_pair")
    seed = 0
    for domain, classes in FOLDER_CLASSES.items():
        for split, count in (("train", 3), ("test", 2)):
            for name in classes:
                for index in range(count):
                    seed += 1
                    _video(root / domain / split / name / f"{name}_{index}.mp4", seed)
    (root / "class_map.json").write_text(json.dumps(CLASS_MAP))
    return root


@pytest.fixture(scope="module")
def lists_pair(tmp_path_factory):
    """Two domains as mmaction lists over videos: source rows `path total_frames label`, target rows
    `path offset total_frames label` (segments of longer videos); two classes."""
    root = tmp_path_factory.mktemp("lists_pair")
    (root / "classes.txt").write_text("push\npull\n")
    seed = 100
    for domain in ("source", "target"):
        for split, count in (("train", 4), ("test", 2)):
            rows = []
            for index in range(count):
                label = index % 2
                seed += 1
                name = f"{split}/v{index}.mp4"
                _video(root / domain / name, seed, frames=30)
                rows.append(f"{name} 30 {label}" if domain == "source" else f"{name} 4 20 {label}")
            (root / f"{domain}_{split}.txt").write_text("\n".join(rows) + "\n")
    return root


def _common(output: Path, *extra) -> list[str]:
    return [
        "--output_dir", str(output), "--short_side", "32", "--crop_size", "24", "--per_device_train_batch_size", "2",
        "--per_device_eval_batch_size", "4", "--tol_per_device_train_batch_size", "2", "--report_to", "none",
        "--motion_pretraining", "false", "--max_train_steps", "2", "--background_blend", "false",
        "--compare_source_only", "false", "--video_cache_mb", "0", "--model_size", "tiny", "--num_workers", "0",
        "--pin_memory", "false", *extra,
    ]  # fmt: skip


def _check_run(results, output: Path, labels: list[str], num_target_test: int) -> None:
    assert set(results) == {"tol", "glad"}
    model = GladForVideoClassification.from_pretrained(output / "glad" / "last")
    assert list(model.config.id2label.values()) == labels
    metrics = json.loads((output / "glad" / "metrics.json").read_text())
    assert metrics["steps"] == 2 and sum(map(sum, metrics["target"]["confusion_matrix"])) == num_target_test
    assert len(metrics["target"]["confusion_matrix"]) == len(labels)
    card = ModelCard.load(output / "glad" / "last" / "README.md")
    assert all(name in card.text for name in labels) and "BABEL" not in card.text.split("## Citation")[0]


def test_glad_on_a_folders_pair_end_to_end(folders_pair, tmp_path):
    output = tmp_path / "run"
    args = _common(output, "--dataset", "folders", "--source_dir", str(folders_pair / "source"),
                   "--target_dir", str(folders_pair / "target"), "--class_map", str(folders_pair / "class_map.json"))  # fmt: skip
    results = run_training(*parse_arguments(args))
    _check_run(results, output, ["wave", "clap", "spin"], num_target_test=6)
    data_args = parse_arguments(args)[0]
    metrics = evaluate_checkpoint(
        str(output / "glad" / "last"), data_args, "test", "source", tmp_path / "eval"
    )
    assert metrics["num_videos"] == 6  # the source's Juggling videos are not among the shared classes


def test_glad_on_a_lists_pair_end_to_end(lists_pair, tmp_path):
    output = tmp_path / "run"
    args = _common(
        output, "--dataset", "lists", "--source_dir", str(lists_pair / "source"),
        "--target_dir", str(lists_pair / "target"), "--source_classes", str(lists_pair / "classes.txt"),
        "--source_lists", str(lists_pair / "source_train.txt"), str(lists_pair / "source_test.txt"),
        "--target_lists", str(lists_pair / "target_train.txt"), str(lists_pair / "target_test.txt"),
        "--media", "video",
    )  # fmt: skip
    results = run_training(*parse_arguments(args))
    _check_run(results, output, ["push", "pull"], num_target_test=2)


def test_the_supervised_target_upper_bound_trains_on_target_labels(folders_pair, tmp_path):
    args = _common(tmp_path / "run", "--dataset", "folders", "--source_dir", str(folders_pair / "source"),
                   "--target_dir", str(folders_pair / "target"), "--class_map", str(folders_pair / "class_map.json"),
                   "--stage", "glad", "--labelled_domain", "target", "--domain_alignment", "none",
                   "--forward_target", "false")  # fmt: skip
    result = run_training(*parse_arguments(args))["glad"]
    assert result.label == "supervised target" and result.metrics["steps"] == 2


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--labelled_domain", "target", "--background_blend", "true"], "--background_blend false"),
        (["--labelled_domain", "target"], "--domain_alignment none and --forward_target false"),
    ],
)
def test_supervised_target_contradictions_fail_before_any_work(folders_pair, tmp_path, extra, message):
    args = _common(tmp_path / "run", "--dataset", "folders", "--source_dir", str(folders_pair / "source"),
                   "--target_dir", str(folders_pair / "target"), *extra)  # fmt: skip
    with pytest.raises(ValueError, match=message):
        run_training(*parse_arguments(args))
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--dataset", "folders", "--target_dir", "."], "--dataset folders needs --source_dir"),
        (
            ["--dataset", "folders", "--source_dir", "/nonexistent/ucf", "--target_dir", "."],
            "no such file or folder",
        ),
        (
            ["--dataset", "folders", "--source_dir", ".", "--target_dir", ".", "--data_dir", "."],
            "--source_dir",
        ),
        (
            ["--dataset", "lists", "--source_dir", ".", "--target_dir", "."],
            "--source_lists TRAIN_LIST TEST_LIST",
        ),
    ],
)
def test_two_domain_flags_are_checked_before_any_work(argv, message):
    with pytest.raises(ValueError, match=message):
        parse_arguments(argv)


@pytest.mark.parametrize("config", ["ucf2hmdb_i3d.yaml", "hmdb2ucf_i3d.yaml"])
def test_the_ucf_hmdb_configs_parse(config, tmp_path):
    repo = Path(__file__).resolve().parents[2]
    data_args, model_args, train_args = parse_arguments(
        ["--config", str(repo / "configs" / config), "--source_dir", str(tmp_path), "--target_dir", str(tmp_path),
         "--class_map", str(repo / "configs" / "class_maps" / config.replace("_i3d.yaml", "_full.yaml"))]
    )  # fmt: skip
    assert (
        data_args.dataset == "folders"
        and model_args.model_size == "i3d_r50_nl"
        and train_args.optimizer == "sgd"
    )


def test_videos_that_prepare_rawframes_reported_are_left_out(folders_pair, tmp_path):
    import shutil

    from glad_hf.data.prepare import prepare_rawframes

    target = tmp_path / "target"
    shutil.copytree(folders_pair / "target", target)
    (target / "train" / "wave" / "broken.mp4").write_bytes(b"not a video at all")
    report = prepare_rawframes(target, tmp_path / "frames", short_side=0, progress=False)
    assert report.counts["unreadable"] == 1
    argv = ["--dataset", "folders", "--source_dir", str(folders_pair / "source"), "--target_dir", str(target),
            "--class_map", str(folders_pair / "class_map.json"), "--motion_pretraining", "false"]  # fmt: skip
    every = load_domains(parse_arguments(argv)[0])
    kept = load_domains(parse_arguments([*argv, "--exclude_reports", str(tmp_path / "frames")])[0])
    assert len(every["target"]["train"]) == 10 and len(kept["target"]["train"]) == 9
    assert not any("broken" in path for path in kept["target"]["train"]["path"])
    assert len(kept["source"]["train"]) == len(every["source"]["train"])


def _corrupt_copy(folders_pair, tmp_path) -> Path:
    """The pair's source with its second Clapping training video (a row in the middle of the split) truncated."""
    import shutil

    source = tmp_path / "source"
    shutil.copytree(folders_pair / "source", source)
    video = source / "train" / "Clapping" / "Clapping_1.mp4"
    video.write_bytes(video.read_bytes()[:300])
    return source


def test_a_video_that_fails_to_decode_mid_epoch_is_replaced_and_counted(folders_pair, tmp_path):
    source = _corrupt_copy(folders_pair, tmp_path)
    output = tmp_path / "run"
    args = _common(output, "--dataset", "folders", "--source_dir", str(source), "--target_dir",
                   str(folders_pair / "target"), "--class_map", str(folders_pair / "class_map.json"),
                   "--stage", "glad", "--max_train_steps", "5", "--max_unreadable_fraction", "0.2")  # fmt: skip
    result = run_training(*parse_arguments(args))["glad"]
    # 9 source rows, batches of 2: every row is drawn in the 4 steps of epoch 0
    assert result.metrics["steps"] == 5
    checkpoint = sorted((output / "glad" / "checkpoints").glob("step_*"))[-1]
    progress = json.loads((checkpoint / "progress.json").read_text())
    [(key, row)] = progress["unreadable_rows"]
    assert key == "decode_failures"
    rows = load_domains(parse_arguments(args)[0])["source"]["train"]
    assert rows[row]["path"].endswith("Clapping_1.mp4")


def test_too_many_unreadable_videos_stop_the_run_with_their_list(folders_pair, tmp_path):
    source = _corrupt_copy(folders_pair, tmp_path)
    args = _common(tmp_path / "run", "--dataset", "folders", "--source_dir", str(source), "--target_dir",
                   str(folders_pair / "target"), "--class_map", str(folders_pair / "class_map.json"),
                   "--stage", "glad", "--max_train_steps", "5")  # fmt: skip
    with pytest.raises(UnreadableVideosError, match=r"1 training rows failed to decode .*Clapping_1\.mp4"):
        run_training(*parse_arguments(args))
