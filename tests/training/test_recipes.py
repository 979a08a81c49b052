"""The recipe follows the data: the synthetic dataset resolves to the demo's recipe, Kinetics->BABEL, `lists` and
`folders` to the paper's (SPEC §7) unless a config or a flag says otherwise; the recipe is printed, saved and
read back, and `--help` is grouped like it."""

import dataclasses
from pathlib import Path

import pytest

from glad_hf.training.arguments import ARGUMENT_CLASSES, parse_arguments
from glad_hf.training.evaluation import EvaluationArguments
from glad_hf.training.recipes import GROUPS, PAPER_RECIPE, describe_recipe, write_recipe

REPO = Path(__file__).resolve().parents[2]

# configs/synthetic_demo.yaml as it was before recipes (every value written out): `make demo` must resolve to it.
OLD_DEMO = dict(
    dataset="synthetic", model_size="tiny", motion_pretraining=True, pretrain_max_train_steps=600,
    pretrain_batch_size=32, pretrain_learning_rate=0.002, short_side=32, crop_size=32, optimizer="adamw",
    tol_num_train_epochs=8, tol_per_device_train_batch_size=16, tol_learning_rate=0.001,
    per_device_train_batch_size=16, learning_rate=0.001, backbone_learning_rate_scale=0.3,
    lr_scheduler_type="cosine", domain_loss_weight=0.3, grl_lambda_schedule="dann", num_train_epochs=4,
    background_blend=True, compare_source_only=True, output_dir="outputs/glad_synthetic",
    num_workers=0, pin_memory=False, video_cache_mb=2048, pretrain_num_videos=10_500,
)  # fmt: skip
# The paper's values (SPEC §7), as configs/k2b_i3d_paper.yaml wrote them out before recipes.
PAPER = dict(
    model_size="i3d_r50_nl", motion_pretraining=False, short_side=256, crop_size=224, num_workers=8,
    prefetch_factor=2, pin_memory=True, domain_alignment=["local", "global", "cross"], optimizer="sgd",
    lr_scheduler_type="constant", grl_lambda_schedule="constant", domain_loss_weight=1.0,
    backbone_learning_rate_scale=1.0, tol_per_device_train_batch_size=18, tol_learning_rate=0.002,
    tol_num_train_epochs=300, tol_lr_decay_epochs=[285], per_device_train_batch_size=4, per_device_eval_batch_size=4,
    learning_rate=0.000875, num_train_epochs=3, weight_decay=0.0001, momentum=0.9, max_grad_norm=40.0,
    background_blend=True, blend_prob=0.25, blend_alpha=0.75, compare_source_only=False, eval_split="test",
    checkpointing_steps=500, video_cache_mb=0,
)  # fmt: skip


def _flat(args) -> dict:
    return {key: value for group in args for key, value in dataclasses.asdict(group).items()}


def _resolved(args, expected: dict) -> dict:
    flat = _flat(args)
    return {key: flat[key] for key in expected}


def test_the_synthetic_dataset_resolves_to_the_demo_recipe():
    assert _resolved(parse_arguments([]), OLD_DEMO) == OLD_DEMO
    demo = parse_arguments(["--config", str(REPO / "configs" / "synthetic_demo.yaml")])
    assert _resolved(demo, OLD_DEMO) == OLD_DEMO
    assert demo == parse_arguments([])


def test_kinetics2babel_without_a_config_resolves_to_the_papers_recipe(tmp_path):
    args = parse_arguments(["--dataset", "kinetics2babel", "--data_dir", str(tmp_path)])
    assert _resolved(args, PAPER) == PAPER
    assert args[2].output_dir == "outputs/k2b_i3d_glad"


@pytest.mark.parametrize("spelling", [["--dataset", "folders"], ["--dataset=folders"]])
def test_folders_without_a_config_resolves_to_the_papers_recipe(tmp_path, spelling):
    args = parse_arguments([*spelling, "--source_dir", str(tmp_path), "--target_dir", str(tmp_path)])
    assert _resolved(args, PAPER) == PAPER


def test_the_papers_config_is_the_recipe_plus_where_data_and_model_are(tmp_path):
    from_file = parse_arguments(["--config", str(REPO / "configs" / "k2b_i3d_paper.yaml"), "--data_dir",
                                 str(tmp_path)])  # fmt: skip
    plain = parse_arguments(["--dataset", "kinetics2babel", "--data_dir", str(tmp_path), "--init_model",
                             "checkpoints/i3d_r50_nl_k400"])  # fmt: skip
    assert from_file == plain


def test_a_config_overrides_the_recipe_and_a_flag_the_config(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(f"dataset: folders\nsource_dir: {tmp_path}\ntarget_dir: {tmp_path}\nshort_side: 128\n"
                      "crop_size: 112\noptimizer: adamw\n")  # fmt: skip
    data_args, model_args, train_args = parse_arguments(["--config", str(config), "--crop_size", "96"])
    assert (data_args.short_side, data_args.crop_size, train_args.optimizer) == (128, 96, "adamw")
    assert (
        model_args.model_size == "i3d_r50_nl" and train_args.lr_scheduler_type == "constant"
    )  # the recipe's
    # a flag's --dataset picks the recipe over the file's
    synthetic = parse_arguments(["--config", str(config), "--dataset", "synthetic", "--source_dir", "",
                                 "--target_dir", ""])  # fmt: skip
    assert synthetic[1].model_size == "tiny" and synthetic[0].short_side == 128


def test_an_abbreviated_flag_is_refused_so_the_recipe_is_the_datasets(tmp_path):
    with pytest.raises(ValueError, match=r"unknown arguments \['--datase', 'folders'\]"):
        parse_arguments(["--datase", "folders"])


def test_the_recipe_is_saved_with_the_run_and_read_back(tmp_path):
    args = parse_arguments(["--dataset", "folders", "--source_dir", str(tmp_path), "--target_dir", str(tmp_path),
                            "--learning_rate", "0.01", "--hub_token", "secret"])  # fmt: skip
    path = write_recipe(tmp_path / "recipe.yaml", *args)
    text = path.read_text()
    assert "secret" not in text and "hub_token" not in text
    headers = [line for line in text.splitlines() if line.startswith("# ")][1:]
    assert headers == [f"# {g}" for g in GROUPS if g != "evaluation"]
    again = parse_arguments(["--config", str(path)])
    assert _flat(again) == {**_flat(args), "hub_token": None}


def test_the_printed_recipe_is_grouped():
    text = describe_recipe(*parse_arguments([]))
    assert text.splitlines()[0].startswith("recipe: the demo's recipe for --dataset synthetic")
    lines = text.splitlines()
    starts = [
        next(i for i, line in enumerate(lines) if line.startswith(f"  {g}: "))
        for g in GROUPS
        if g != "evaluation"
    ]
    assert starts == sorted(starts)
    assert "short_side=32" in text and "optimizer=adamw" in text and "data_dir=" not in text  # unset left out


def test_help_is_grouped_with_each_recipes_default(capsys):
    with pytest.raises(SystemExit) as stopped:
        parse_arguments(["--help"])
    assert stopped.value.code == 0
    text = capsys.readouterr().out
    positions = [text.index(f"\n{group}:\n") for group in GROUPS if group != "evaluation"]
    assert positions == sorted(positions)
    short_side = text[text.index("--short_side") :]
    assert "(synthetic: 32; kinetics2babel, lists, folders: 256)" in " ".join(short_side.split()[:40])
    model = text.index("\nmodel:\n")
    assert model < text.index("--init_model") < text.index("\nstage 1 (temporal-order learning):\n")


def test_the_groups_name_known_flags_once():
    known = {
        field.name for cls in (*ARGUMENT_CLASSES, EvaluationArguments) for field in dataclasses.fields(cls)
    }
    named = [name for names in GROUPS.values() for name in names]
    assert len(named) == len(set(named)) and set(named) <= known
    assert set(PAPER_RECIPE) <= known


@pytest.mark.parametrize("config", sorted(path.name for path in (REPO / "configs").glob("*.yaml")))
def test_every_config_resolves(config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for folder in ("data/ucf101", "data/hmdb51"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    (tmp_path / "configs" / "class_maps").mkdir(parents=True)
    for class_map in (REPO / "configs" / "class_maps").iterdir():
        (tmp_path / "configs" / "class_maps" / class_map.name).write_text(class_map.read_text())
    data_args, model_args, train_args = parse_arguments(["--config", str(REPO / "configs" / config)])
    if data_args.dataset != "synthetic":  # the paper's heads, not the tiny ones, on every real-data config
        assert model_args.model_size == "i3d_r50_nl" and train_args.optimizer == "sgd"
