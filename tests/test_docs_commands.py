"""Every `train_glad.py` and `evaluate_glad.py` command of the README and docs/ parses as written (flags that exist,
values in range, the recipe its --dataset names), in a folder where the paths it names exist; a command left
incomplete on purpose (`...`, shell variables) is skipped. Running them needs the data they name: the runnable ones
(the demo, the smoke run, evaluation of its model) are run by hand (docs/training.md states the figures)."""

import re
import shlex
import shutil
from pathlib import Path

import pytest

from glad_hf.training.arguments import DataArguments, parse_arguments
from glad_hf.training.evaluation import EvaluationArguments

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PATH_FLAGS = ("--data_dir", "--source_dir", "--target_dir", "--backgrounds_dir")


def documented_commands() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for block in re.findall(r"```bash\n(.*?)```", page.read_text(), re.S):
            for line in re.sub(r"\\\n\s*", " ", block).splitlines():
                line = line.split(" # ")[0].strip()
                if (
                    re.search(r"scripts/(train|evaluate)_glad\.py", line)
                    and "..." not in line
                    and "$" not in line
                ):
                    found.append((page.name, line))
    return found


COMMANDS = documented_commands()


def test_the_pages_hold_the_commands_checked_here():
    scripts = {re.search(r"scripts/(\w+)\.py", line).group(1) for _, line in COMMANDS}
    assert scripts == {"train_glad", "evaluate_glad"} and len(COMMANDS) >= 10


@pytest.mark.parametrize(
    "page, command", COMMANDS, ids=[f"{page}:{i}" for i, (page, _) in enumerate(COMMANDS)]
)
def test_a_documented_command_parses(page, command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(REPO / "configs", tmp_path / "configs")
    for folder in ("data/ucf101", "data/hmdb51", "data/median/k400"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    tokens = shlex.split(command)
    script = next(i for i, token in enumerate(tokens) if re.search(r"scripts/\w+\.py$", token))
    argv = tokens[script + 1 :]
    for flag, value in zip(argv, argv[1:], strict=False):
        if flag in PATH_FLAGS:
            (tmp_path / value).mkdir(parents=True, exist_ok=True)
    if tokens[script].endswith("train_glad.py"):
        data_args, model_args, _ = parse_arguments(argv)
    else:
        data_args, _ = parse_arguments(argv, classes=(DataArguments, EvaluationArguments))
    if data_args.dataset != "synthetic" and tokens[script].endswith("train_glad.py"):
        assert model_args.model_size == "i3d_r50_nl"  # the paper's recipe, without a config
