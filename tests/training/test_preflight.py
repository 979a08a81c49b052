"""Mistakes fail before stage 0 or 1 starts, naming what is wrong (`glad_hf.training.preflight`); models are what they
say (a temporal-order model is never scored as a classifier); every error names its file."""

from pathlib import Path

import pytest
from huggingface_hub import constants
from test_train_glad import synthetic_root, tiny_run_args  # noqa: F401  (the module's tiny synthetic K->B)
from transformers import pipeline

from glad_hf import GladConfig, GladForTemporalOrderLearning, GladForVideoClassification
from glad_hf.conversion import main as convert_main
from glad_hf.hub.card_results import update_model_card_results
from glad_hf.modeling_glad import TemporalOrderModelError
from glad_hf.training import preflight
from glad_hf.training.arguments import parse_arguments
from glad_hf.training.evaluation import evaluate_checkpoint
from glad_hf.training.run import run_training
from helpers import write_mp4


def _refused_before_any_work(argv, message, output: Path, error=ValueError):
    with pytest.raises(error, match=message):
        run_training(*parse_arguments(argv))
    assert not any((output / stage).exists() for stage in ("tol", "glad", "source_only"))


# -- checked from the arguments --------------------------------------------------------------------------------------


def test_a_backbone_config_typo_is_named_with_the_nearest_key(tmp_path):
    _refused_before_any_work(
        [
            "--output_dir",
            str(tmp_path / "out"),
            "--backbone_type",
            "resnet3d",
            "--backbone_config",
            '{"depht": 18}',
        ],
        r"--backbone_config: 'depht' is not a setting of the resnet3d backbone \(ResNet3dConfig\); did you mean 'depth'",
        tmp_path / "out",
    )


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "--backbone_config is read only with --backbone_type"),
        (
            ["--backbone_type", "resnet3d", "--init_model", "INIT"],
            r"--backbone_config asks for another architecture than --init_model .*depth: given 50, the model's 18",
        ),
    ],
)
def test_a_backbone_config_that_would_be_ignored_is_refused(tmp_path, extra, message):
    init = tmp_path / "init"
    GladForVideoClassification(GladConfig.tiny()).save_pretrained(init)  # a depth-18 backbone
    extra = [str(init) if value == "INIT" else value for value in extra]
    argv = ["--output_dir", str(tmp_path / "out"), "--backbone_config", '{"depth": 50}', "--motion_pretraining",
            "false", *extra]  # fmt: skip
    _refused_before_any_work(argv, message, tmp_path / "out")
    if extra:  # repeating the starting model's own architecture is no mistake (a comparison's runs do it)
        preflight.check_backbone_config(parse_arguments([*argv[:3], '{"depth": 18}', *argv[4:]])[1])


def test_a_crop_too_small_for_the_backbone_is_named(tmp_path):
    _refused_before_any_work(
        ["--output_dir", str(tmp_path / "out"), "--crop_size", "7", "--short_side", "8"],
        r"--crop_size 7 is too small for the resnet3d backbone .*Output size is too small",
        tmp_path / "out",
    )


def test_a_tracker_that_is_not_installed_is_refused(tmp_path, monkeypatch):
    real = preflight.importlib.util.find_spec
    monkeypatch.setattr(
        preflight.importlib.util, "find_spec", lambda name: None if name == "wandb" else real(name)
    )
    _refused_before_any_work(
        ["--output_dir", str(tmp_path / "out"), "--report_to", "wandb"],
        r"--report_to wandb: wandb is not installed, so nothing would be logged; `pip install wandb`",
        tmp_path / "out",
    )
    with pytest.raises(ValueError, match="--report_to must be one of"):
        preflight.check_trackers("tensorbord")


def test_pushing_offline_or_without_a_token_is_refused_at_once(tmp_path, monkeypatch):
    argv = ["--output_dir", str(tmp_path / "out"), "--push_to_hub", "true", "--hub_model_id", "me/glad"]
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    _refused_before_any_work(
        argv, "--push_to_hub needs the Hub, but HF_HUB_OFFLINE=1 is set", tmp_path / "out"
    )
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "https://huggingface.co")
    monkeypatch.setattr("glad_hf.hub.push.get_token", lambda: None)
    _refused_before_any_work(argv, "--push_to_hub me/glad: no Hub token", tmp_path / "out")
    with pytest.raises(ValueError, match="--hub_model_id: repo id 'me/glad/x' is not of the form ORG/NAME"):
        preflight.check_hub(parse_arguments([*argv[:-1], "me/glad/x"])[2])


def test_an_empty_backgrounds_dir_fails_before_stage_1(synthetic_root, tmp_path):  # noqa: F811
    empty = tmp_path / "backgrounds"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image")
    _refused_before_any_work(
        tiny_run_args(synthetic_root, tmp_path / "out", "--backgrounds_dir", str(empty)),
        f"--backgrounds_dir {empty} holds no background images",
        tmp_path / "out",
    )


def test_a_malformed_config_file_is_named_with_its_line(tmp_path):
    broken = tmp_path / "run.yaml"
    broken.write_text("dataset: synthetic\nlearning_rate: [0.1\nseed: 1\n")
    with pytest.raises(ValueError, match=rf"--config {broken}, line \d+: not valid YAML"):
        parse_arguments(["--config", str(broken)])
    broken_json = tmp_path / "run.json"
    broken_json.write_text('{"seed": 1,\n "learning_rate": }\n')
    with pytest.raises(ValueError, match=rf"--config {broken_json}, line 2: not valid JSON"):
        parse_arguments(["--config", str(broken_json)])
    with pytest.raises(ValueError, match=rf"--config {tmp_path / 'missing.yaml'}: cannot be read"):
        parse_arguments(["--config", str(tmp_path / "missing.yaml")])


# -- checked once the data is read ---------------------------------------------------------------------------------


def test_a_bogus_eval_split_fails_before_stage_1(synthetic_root, tmp_path):  # noqa: F811
    _refused_before_any_work(
        tiny_run_args(synthetic_root, tmp_path / "out", "--eval_split", "validation"),
        r"stage 2's scores \(--eval_split validation\) reads the target 'validation' split, which the target domain "
        r"\(--dataset synthetic\) does not have; its splits are \['test', 'train'\]",
        tmp_path / "out",
    )


def _folders(root: Path, empty_class: str | None = None, empty_split: str | None = None) -> Path:
    seed = 0
    for domain in ("source", "target"):
        for split in ("train", "test"):
            for name in ("wave", "clap", "spin"):
                folder = root / domain / split / name
                folder.mkdir(parents=True)
                if (domain, split, name) == ("source", "train", empty_class) or (
                    domain,
                    split,
                ) == empty_split:
                    continue
                for index in range(2):
                    seed += 1
                    write_mp4(folder / f"{name}_{index}.mp4", num_frames=20, height=32, width=40, seed=seed)
    return root


def _folders_args(root: Path, output: Path, *extra) -> list[str]:
    return [
        "--dataset", "folders", "--source_dir", str(root / "source"), "--target_dir", str(root / "target"),
        "--output_dir", str(output), "--short_side", "32", "--crop_size", "24", "--report_to", "none",
        "--motion_pretraining", "false", "--background_blend", "false", "--video_cache_mb", "0", *extra,
    ]  # fmt: skip


def test_an_empty_class_folder_is_refused_naming_it(tmp_path):
    root = _folders(tmp_path / "pair", empty_class="spin")
    _refused_before_any_work(
        _folders_args(root, tmp_path / "out"),
        rf"1 of 3 classes have no source training video: spin \(empty folders: {root / 'source' / 'train' / 'spin'}\)",
        tmp_path / "out",
    )


def test_a_starting_classifier_of_other_classes_is_refused(synthetic_root, tmp_path):  # noqa: F811
    from glad_hf.labels import K2B_LABELS

    other = list(reversed(K2B_LABELS))  # the same 12 classes in another order: each output would mean another
    init = tmp_path / "classifier"
    GladForVideoClassification(
        GladConfig.tiny(id2label=dict(enumerate(other)), label2id={n: i for i, n in enumerate(other)})
    ).save_pretrained(init)
    _refused_before_any_work(
        tiny_run_args(synthetic_root, tmp_path / "out", "--stage", "glad", "--init_model", str(init)),
        rf"--init_model {init} is a classifier of the same classes in another order .*0: 'lift' vs 'jump'",
        tmp_path / "out",
    )


def test_a_truncated_init_model_is_named_by_its_file(synthetic_root, tmp_path):  # noqa: F811
    init = tmp_path / "model"
    GladForVideoClassification(GladConfig.tiny()).save_pretrained(init)
    weights = init / "model.safetensors"
    with weights.open("r+b") as handle:
        handle.truncate(weights.stat().st_size // 2)
    _refused_before_any_work(
        tiny_run_args(synthetic_root, tmp_path / "out", "--stage", "glad", "--init_model", str(init)),
        rf"--init_model: {weights} cannot be read .*truncated or corrupt",
        tmp_path / "out",
    )
    with pytest.raises(OSError, match=rf"{weights}: the weights cannot be read"):
        GladForVideoClassification.from_pretrained(init)


def test_a_checkpoint_of_another_stage_is_named(synthetic_root, tmp_path):  # noqa: F811
    checkpoint = tmp_path / "run" / "tol" / "checkpoints" / "step_00000002"
    checkpoint.mkdir(parents=True)
    (checkpoint / "progress.json").write_text("{}")
    argv = tiny_run_args(synthetic_root, tmp_path / "out", "--stage", "glad", "--resume_from_checkpoint",
                         str(checkpoint), "--compare_source_only", "false")  # fmt: skip
    _refused_before_any_work(
        argv,
        f"{checkpoint} is a checkpoint of the 'tol' stage, which --stage glad does not train",
        tmp_path / "out",
    )
    _refused_before_any_work(
        [*argv[:-3], str(tmp_path / "run" / "tol"), *argv[-2:]],
        f"--resume_from_checkpoint {tmp_path / 'run' / 'tol'} is not a checkpoint folder",
        tmp_path / "out",
    )


def test_a_learning_rate_decay_past_the_last_epoch_is_refused(tmp_path):
    argv = [
        "--output_dir",
        str(tmp_path / "out"),
        "--tol_num_train_epochs",
        "8",
        "--tol_lr_decay_epochs",
        "4",
        "8",
    ]
    _refused_before_any_work(
        argv, r"--tol_lr_decay_epochs \[8\] lie at or past the end of stage 1", tmp_path / "out"
    )


def test_a_stage_folder_given_for_its_model_gets_a_hint(synthetic_root, tmp_path):  # noqa: F811
    GladForTemporalOrderLearning(GladConfig.tiny()).save_pretrained(tmp_path / "run" / "tol" / "last")
    init = str(tmp_path / "run" / "tol")
    _refused_before_any_work(
        tiny_run_args(synthetic_root, tmp_path / "out", "--stage", "glad", "--init_model", init),
        f"it has no config.json; did you mean {init}/last\\?",
        tmp_path / "out",
    )


# -- models are what they say --------------------------------------------------------------------------------------


@pytest.fixture
def temporal_order_folder(tmp_path):
    folder = tmp_path / "tol" / "last"
    GladForTemporalOrderLearning(GladConfig.tiny()).save_pretrained(folder)
    return folder


def test_a_temporal_order_model_is_never_loaded_as_a_classifier(temporal_order_folder):
    message = "holds a temporal-order model .*Train stage 2 from it"
    with pytest.raises(TemporalOrderModelError, match=message):
        GladForVideoClassification.from_pretrained(temporal_order_folder)
    with pytest.raises(ValueError, match="holds a temporal-order model"):
        pipeline("video-classification", model=str(temporal_order_folder))
    with pytest.raises(TemporalOrderModelError, match=message):
        evaluate_checkpoint(
            str(temporal_order_folder), None, "test", "target", temporal_order_folder / "eval", 2
        )
    card = temporal_order_folder / "README.md"
    with pytest.raises(TemporalOrderModelError, match=message):
        update_model_card_results(
            temporal_order_folder, {"mean_class_accuracy": 0.5}, dataset_name="synthetic"
        )
    assert not card.exists() and not (temporal_order_folder / "eval").exists()


def test_evaluate_glad_refuses_a_temporal_order_model_before_reading_data(temporal_order_folder):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "evaluate_glad", Path(__file__).resolve().parents[2] / "scripts" / "evaluate_glad.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    with pytest.raises(TemporalOrderModelError, match=str(temporal_order_folder)):
        script.main(["--model", str(temporal_order_folder), "--update_card", "--data_dir", "/no/such/data"])


def test_a_head_without_outputs_is_refused():
    with pytest.raises(ValueError, match="num_labels must be >= 1"):
        GladConfig.tiny(num_labels=0)


def test_the_converter_refuses_a_folder_that_holds_files(tmp_path, capsys):
    output = tmp_path / "converted"
    output.mkdir()
    (output / "model.safetensors").write_text("someone's model")
    with pytest.raises(SystemExit):
        convert_main(["--checkpoint", str(tmp_path / "any.pth"), "--output", str(output)])
    assert f"--output {output} already holds files (model.safetensors)" in capsys.readouterr().err
    assert (output / "model.safetensors").read_text() == "someone's model"
    with pytest.raises(SystemExit):
        convert_main(
            [
                "--checkpoint",
                str(tmp_path / "any.pth"),
                "--output",
                str(tmp_path / "new"),
                "--num-labels",
                "0",
            ]
        )
    assert "--num-labels must be >= 1" in capsys.readouterr().err


def test_the_pipeline_names_a_folder_or_a_missing_video(tmp_path):
    from glad_hf import GladVideoProcessor

    model = tmp_path / "model"
    GladForVideoClassification(GladConfig.tiny()).save_pretrained(model)
    GladVideoProcessor(num_clips=8, clip_len=8).save_pretrained(model)
    classify = pipeline("video-classification", model=str(model))
    with pytest.raises(ValueError, match=f"{model} is a folder; give a video file"):
        classify(str(model))
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'typo.mp4'}: no such video file"):
        classify(str(tmp_path / "typo.mp4"))


def test_a_hub_init_model_that_cannot_be_read_is_named_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    _refused_before_any_work(
        [
            "--output_dir",
            str(tmp_path / "out"),
            "--stage",
            "glad",
            "--init_model",
            "someone/glad-k2b",
            "--motion_pretraining",
            "false",
        ],  # fmt: skip
        "--init_model someone/glad-k2b: cannot read its config.json",
        tmp_path / "out",
    )


def test_resuming_from_the_hub_offline_is_refused_with_the_local_way(tmp_path, monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    argv = [
        "--output_dir",
        str(tmp_path / "out"),
        "--resume_from_checkpoint",
        "hub",
        "--hub_model_id",
        "me/glad",
    ]
    _refused_before_any_work(
        argv, "--resume_from_checkpoint hub needs the Hub.* --resume_from_checkpoint latest", tmp_path / "out"
    )


def test_a_negative_seed_is_named():
    with pytest.raises(ValueError, match="--seed must be >= 0, got -1"):
        parse_arguments(["--seed", "-1"])
